"""Apply pending SQL migrations at the end of ``manage.py migrate``.

This is how test databases get the SQL schema: Django's test runner and pytest-django build
them with ``migrate``. The receiver listens to ``post_migrate`` for this app only, so it runs
once per ``migrate``. ``flush`` sends ``post_migrate`` too (after every TransactionTestCase),
but without a ``plan``: the receiver returns at once then, because flush empties tables and
leaves both the SQL schema and the history table in place.

Neither ``migrate --fake`` nor a backwards ``migrate`` (``migrate app zero``) runs SQL files:
the first records Django migrations without running them, and SQL files only go forwards.
Both say so when files are pending. ``--fake`` is known from this app's ``migrate`` command
(``faking``); ``post_migrate`` itself does not carry it.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from typing import Any, TextIO

from django.core.management.base import CommandError

from .conf import app_settings
from .exceptions import SqlMigrateError
from .loader import SqlMigration
from .routing import allowed

# Set by this app's ``migrate`` command while it runs with ``--fake``.
faking: ContextVar[bool] = ContextVar("sqlmigrate_migrate_fake", default=False)


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
    out = stdout or sys.stdout
    if faking.get():
        _say_skipped(using, out, verbosity, "migrate --fake runs no SQL")
        return
    if any(backwards for _, backwards in kwargs["plan"] or ()):
        _say_skipped(using, out, verbosity, "SQL migrations only go forwards")
        return
    from .api import apply

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


def _say_skipped(using: str, out: TextIO, verbosity: int, why: str) -> None:
    """Tell the user pending SQL files were left alone, and how to apply or record them."""
    from .api import status

    if verbosity < 1:
        return
    pending = status(using).pending
    if pending:
        count = len(pending)
        out.write(
            f"  {count} pending SQL migration{'s were' if count != 1 else ' was'} not applied "
            f"to {using!r}: {why}. Run `manage.py sqlmigrate_apply --database {using}` to apply "
            "them, or add --fake to record them as applied without running them.\n"
        )
