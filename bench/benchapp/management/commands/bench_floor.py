"""The floor: what any management command costs (Django's start-up) plus one query."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection


class Command(BaseCommand):
    help = "Run SELECT 1 on the default database (the benchmark's floor)."
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
