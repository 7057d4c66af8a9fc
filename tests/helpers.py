"""Small helpers shared by the database tests."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from django_sqlmigrate.models import SchemaMigration


def run(command: str, *args: str, **options: Any) -> tuple[str, str]:
    """Run a management command and return (stdout, stderr), with colours off."""
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err, no_color=True, **options)
    return out.getvalue(), err.getvalue()


def fails(command: str, *args: str, **options: Any) -> str:
    """Run a command that must fail with CommandError; return its message."""
    with pytest.raises(CommandError) as excinfo:
        run(command, *args, **options)
    return str(excinfo.value)


def history(alias: str = "default") -> list[tuple[str, bool]]:
    from django_sqlmigrate.recorder import MigrationRecorder

    if not MigrationRecorder(connections[alias]).has_table():
        return []
    return list(
        SchemaMigration.objects.using(alias).order_by("id").values_list("version", "success")
    )


def tables(alias: str = "default") -> set[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        return {name.lower() for name in connection.introspection.table_names(cursor)}


def scalar(sql: str, alias: str = "default") -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return row[0] if row else None


def vendor(alias: str = "default") -> str:
    return connections[alias].vendor
