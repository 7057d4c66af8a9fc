"""The Python API: what the commands do, as functions that return typed results.

For code that applies migrations itself (a deploy script, a test fixture, a Celery task)
without parsing command output. Nothing here prints; failures raise the narrow exceptions of
``django_sqlmigrate.exceptions``.
"""

from __future__ import annotations

import time
from itertools import groupby
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS

from .dependencies import unmet_dependencies
from .executor import MigrationExecutor, ProgressCallback, Status
from .loader import SqlMigration, numbering_gaps
from .problems import Problem
from .routing import allowed, executor_for

if TYPE_CHECKING:
    from .notices import Notice, NoticeCallback

__all__ = ["ApplyResult", "Notice", "Status", "apply", "status", "validate"]


def __getattr__(name: str) -> Any:
    # Imported on first use: a deploy with nothing to apply never builds the class.
    if name == "Notice":
        from .notices import Notice

        return Notice
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ApplyResult(NamedTuple):
    """What one ``apply`` call did."""

    database: str
    applied: list[SqlMigration]
    fake: bool
    duration: float  # seconds
    allowed: bool = True  # False: the routers refuse SQL migrations on this database
    notices: tuple[Notice, ...] = ()  # what the database said while the files ran, in order

    @property
    def versions(self) -> list[str]:
        return [migration.version for migration in self.applied]


def apply(
    database: str = DEFAULT_DB_ALIAS,
    target: str | None = None,
    fake: bool = False,
    allow_out_of_order: bool = False,
    lock_timeout: float | None = None,
    *,
    progress_callback: ProgressCallback | None = None,
    notice_callback: NoticeCallback | None = None,
) -> ApplyResult:
    """Apply what is pending on ``database``, like ``sqlmigrate_apply --noinput``.

    ``notice_callback`` gets each ``Notice`` (PostgreSQL's NOTICE and WARNING messages) as it
    arrives, those of a file that fails too; ``ApplyResult.notices`` has them all.

    A database the routers refuse (``allow_migrate(db, "django_sqlmigrate")`` is False) is left
    alone, as ``migrate`` leaves the apps it may not migrate there: ``allowed`` says so.
    """
    started = time.perf_counter()
    if not allowed(database):
        return ApplyResult(database, [], fake, 0.0, allowed=False)
    executor = executor_for(database, progress_callback, notice_callback)
    applied = executor.apply(
        target, fake=fake, allow_out_of_order=allow_out_of_order, lock_timeout=lock_timeout
    )
    duration = time.perf_counter() - started
    return ApplyResult(database, applied, fake, duration, notices=tuple(executor.notices))


def status(database: str = DEFAULT_DB_ALIAS) -> Status:
    """Applied rows with their state, pending files, and the problems found."""
    executor = executor_for(database)
    if not allowed(database):
        return Status(executor.describe(), [], [], [], allowed=False)
    return executor.status()


def validate(database: str = DEFAULT_DB_ALIAS) -> list[Problem]:
    """Every problem ``sqlmigrate_validate`` reports, the SQL of pending files included."""
    return validate_with(executor_for(database))


def validate_with(executor: MigrationExecutor) -> list[Problem]:
    """``validate`` on an executor the caller keeps (the command counts its files too)."""
    found = executor.status()
    problems = list(found.problems)
    by_app = sorted(executor.load().migrations, key=lambda m: m.app_label or "")
    for label, migrations in groupby(by_app, key=lambda m: m.app_label):
        problems += numbering_gaps(sorted(migrations, key=lambda m: m.number), label)
    problems += unmet_dependencies(executor.connection, found.pending)
    for migration in found.pending:
        problems.extend(executor.check_sql(migration)[1])
    return problems
