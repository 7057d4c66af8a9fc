"""Real Django apps for the tests, installed only by the tests that use them.

``installed()`` adds them to INSTALLED_APPS for one test and, afterwards, forgets their rows in
``django_migrations``, so the next test's ``migrate`` starts from scratch (the ``clean_database``
fixture drops their tables).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.test import modify_settings

BILLING = "tests.apps.billing"
REPORTS = "tests.apps.reports"


@contextmanager
def installed(*names: str) -> Iterator[None]:
    labels = [name.rsplit(".", 1)[-1] for name in names]
    try:
        with modify_settings(INSTALLED_APPS={"append": list(names)}):
            yield
    finally:
        for alias in connections:
            recorder = MigrationRecorder(connections[alias])
            if recorder.has_table():
                recorder.migration_qs.filter(app__in=labels).delete()
