"""Which databases get SQL migrations, and which connection runs them: the one way in.

Every command, the API, the system checks, runserver and the admin get their planner or
executor here, so the routers and ``SQLMIGRATE_MIGRATION_DATABASES`` are honoured alike.

Database routers decide, as they do for Django's migrations: ``allow_migrate(db,
"django_sqlmigrate")``. ``SQLMIGRATE_MIGRATION_DATABASES`` may name a second alias that
reaches the same database directly, for an application whose usual alias goes through a
transaction-pooling PgBouncer, where session advisory locks do not hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connections, router

from .conf import app_settings

if TYPE_CHECKING:
    from .executor import MigrationExecutor, ProgressCallback
    from .notices import NoticeCallback
    from .planner import MigrationPlanner

APP_LABEL = "django_sqlmigrate"


def allowed(alias: str) -> bool:
    """Whether the routers let SQL migrations run on database ``alias``."""
    return bool(router.allow_migrate(alias, APP_LABEL))


def refused_message(alias: str) -> str:
    return (
        f"Database {alias!r} is skipped: the database routers do not allow migrating "
        f"{APP_LABEL} there (allow_migrate returned False)."
    )


def planner_for(alias: str) -> MigrationPlanner:
    """A planner for database ``alias``, connected through its migration alias."""
    from .planner import MigrationPlanner

    return MigrationPlanner(connections[app_settings.migration_alias(alias)], alias=alias)


def executor_for(
    alias: str,
    *,
    progress_callback: ProgressCallback | None = None,
    notice_callback: NoticeCallback | None = None,
) -> MigrationExecutor:
    """An executor for database ``alias``, connected through its migration alias."""
    from .executor import MigrationExecutor

    return MigrationExecutor(
        planner=planner_for(alias),
        progress_callback=progress_callback,
        notice_callback=notice_callback,
    )
