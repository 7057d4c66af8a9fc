"""The per-vendor layer: locking, executing a file, and reading a database's error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import BaseBackend, DatabaseMessage, RunInterrupted, StatementFailed

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = ["BaseBackend", "DatabaseMessage", "RunInterrupted", "StatementFailed", "get_backend"]


def get_backend(connection: BaseDatabaseWrapper) -> BaseBackend:
    from ..exceptions import SqlMigrateError

    vendor = connection.vendor
    if vendor == "postgresql":
        from .postgresql import PostgreSQLBackend

        return PostgreSQLBackend(connection)
    if vendor == "mysql":
        from .mysql import MySQLBackend

        return MySQLBackend(connection)
    if vendor == "sqlite":
        from .sqlite import SQLiteBackend

        return SQLiteBackend(connection)
    raise SqlMigrateError(
        f"Database {connection.alias!r} uses the {vendor!r} backend; django-sqlmigrate supports "
        "PostgreSQL, MySQL/MariaDB and SQLite."
    )
