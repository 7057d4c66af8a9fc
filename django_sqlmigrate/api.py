"""The Python API: what the commands do, as functions that return typed results.

For code that applies migrations itself (a deploy script, a test fixture, a Celery task)
without parsing command output. Nothing here prints; failures raise the narrow exceptions of
``django_sqlmigrate.exceptions``. Every argument after the database is keyword-only, and every
result is a frozen dataclass, so both can grow without breaking a caller.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS

from .frozen import Frozen, frozen_dataclass
from .loader import SqlMigration
from .planner import Plan, Status
from .problems import Problem
from .routing import allowed, executor_for, planner_for

if TYPE_CHECKING:
    from .executor import ProgressCallback
    from .notices import Notice, NoticeCallback

__all__ = ["ApplyResult", "Notice", "Plan", "Status", "apply", "plan", "status", "validate"]


def __getattr__(name: str) -> Any:
    # Imported on first use: a deploy with nothing to apply never builds the class.
    if name == "Notice":
        from .notices import Notice

        return Notice
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@frozen_dataclass
class ApplyResult(Frozen):
    """What one ``apply`` call did."""

    database: str
    applied: tuple[SqlMigration, ...]
    fake: bool
    duration: float  # seconds
    allowed: bool = True  # False: the routers refuse SQL migrations on this database
    notices: tuple[Notice, ...] = ()  # what the database said while the files ran, in order

    @property
    def versions(self) -> list[str]:
        return [migration.version for migration in self.applied]


def apply(
    database: str = DEFAULT_DB_ALIAS,
    *,
    target: str | None = None,
    fake: bool = False,
    allow_out_of_order: bool = False,
    lock_timeout: float | None = None,
    progress_callback: ProgressCallback | None = None,
    notice_callback: NoticeCallback | None = None,
) -> ApplyResult:
    """Apply what is pending on ``database``, like ``sqlmigrate_apply --noinput``.

    ``notice_callback`` gets each ``Notice`` (PostgreSQL's NOTICE and WARNING messages,
    MySQL's notes and warnings) as it arrives, those of a file that fails too;
    ``ApplyResult.notices`` has them all.

    A database the routers refuse (``allow_migrate(db, "django_sqlmigrate")`` is False) is left
    alone, as ``migrate`` leaves the apps it may not migrate there: ``allowed`` says so.
    """
    started = time.perf_counter()
    if not allowed(database):
        return ApplyResult(database, (), fake, 0.0, allowed=False)
    executor = executor_for(
        database, progress_callback=progress_callback, notice_callback=notice_callback
    )
    applied = executor.apply(
        target=target, fake=fake, allow_out_of_order=allow_out_of_order, lock_timeout=lock_timeout
    )
    duration = time.perf_counter() - started
    return ApplyResult(database, tuple(applied), fake, duration, notices=tuple(executor.notices))


def status(database: str = DEFAULT_DB_ALIAS) -> Status:
    """Applied rows with their state, pending files, and the problems found."""
    planner = planner_for(database)
    if not allowed(database):
        return Status(planner.describe(), (), (), (), allowed=False)
    return planner.status()


def plan(
    database: str = DEFAULT_DB_ALIAS,
    *,
    target: str | None = None,
    allow_out_of_order: bool = False,
) -> Plan:
    """What ``apply`` would run now, like ``sqlmigrate_apply --plan``, with every problem
    found: the plan is not refused here, its ``errors`` say why ``apply`` would refuse it."""
    return planner_for(database).assess(target=target, allow_out_of_order=allow_out_of_order)


def validate(database: str = DEFAULT_DB_ALIAS) -> list[Problem]:
    """Every problem ``sqlmigrate_validate`` reports, the SQL of pending files included."""
    return list(planner_for(database).assess(gaps=True).problems)
