"""Apply pending SQL migrations at the end of ``manage.py migrate``.

This is how test databases get the SQL schema: Django's test runner and pytest-django build
them with ``migrate``. The receiver listens to ``post_migrate`` for this app only, so it runs
once per ``migrate``. ``flush`` sends ``post_migrate`` too (after every TransactionTestCase),
but without a ``plan``: the receiver returns at once then, because flush empties tables and
leaves both the SQL schema and the history table in place.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from django.core.management.base import CommandError

from .conf import app_settings
from .exceptions import SqlMigrateError
from .loader import SqlMigration
from .routing import allowed


def apply_after_migrate(
    sender: object,
    *,
    using: str,
    verbosity: int = 1,
    stdout: TextIO | None = None,
    **kwargs: Any,
) -> None:
    if "plan" not in kwargs:  # sent by flush, not by migrate
        return
    if not app_settings.APPLY_ON_MIGRATE or not allowed(using):
        return
    from .api import apply

    out = stdout or sys.stdout

    def progress(event: str, migration: SqlMigration, duration_ms: float | None) -> None:
        if verbosity >= 1 and event == "apply_success":
            out.write(f"  Applying SQL {migration.version}... OK ({duration_ms or 0:.0f} ms)\n")

    try:
        result = apply(using, progress_callback=progress)
    except SqlMigrateError as exc:
        raise CommandError(f"SQL migrations of database {using!r}: {exc}") from None
    if verbosity >= 1 and result.applied:
        count = len(result.applied)
        out.write(f"  Applied {count} SQL migration{'s' if count != 1 else ''} to {using!r}.\n")
