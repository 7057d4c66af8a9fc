"""Read and write the history table: the only module that knows its name, shape and SQL.

Rows are written with one plain ``INSERT``/``UPDATE`` on the connection that runs the migration,
so a transactional migration's row commits or rolls back with its SQL. Where a backend sends a
file, its history row and ``COMMIT`` together (PostgreSQL), the recorder writes that row's
``INSERT`` as text for it (``insert_sql``); the backend only sends it. Reads go through the ORM,
which converts ``applied_at`` the same way on every backend (PostgreSQL reads them faster, with
the same result: ``PostgreSQLBackend.fetch_as_orm``). The migration lock is named after the
table (``lock_name``), so two histories in one database never wait for each other.
"""

from __future__ import annotations

import socket
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from .backends import get_backend
from .conf import app_settings
from .exceptions import SqlMigrateError
from .frozen import Frozen, builder, frozen_dataclass
from .loader import SqlMigration
from .models import SchemaMigration

if TYPE_CHECKING:
    from .backends import BaseBackend


@frozen_dataclass
class AppliedMigration(Frozen):
    """One history row."""

    version: str
    name: str
    applied_at: datetime
    execution_time_ms: int | None
    checksum: str
    success: bool
    statements_applied: int | None
    statements_total: int | None
    applied_by: str
    error: str


FIELDS = [field.name for field in fields(AppliedMigration)]

# One row when the history table exists. Listing every table (Django's introspection) costs
# milliseconds in a schema of a few hundred tables, on every status and every deploy.
TABLE_EXISTS_SQL = {
    "postgresql": "SELECT 1 WHERE to_regclass(%s) IS NOT NULL",
    "mysql": (
        "SELECT 1 FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_name = %s"
    ),
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s",
}


@cache
def who() -> str:
    """``user@host`` of the process applying migrations (a release phase, a laptop)."""
    import getpass  # only a run that applies something needs it

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"[:255]


class MigrationRecorder:
    def __init__(self, connection: BaseDatabaseWrapper, backend: BaseBackend | None = None) -> None:
        self.connection = connection
        self.backend = backend or get_backend(connection)
        self._has_table = False

    @property
    def table(self) -> str:
        """``SQLMIGRATE_TABLE``, checked (the model's ``db_table`` follows it)."""
        return app_settings.TABLE

    @property
    def lock_name(self) -> str:
        """What the migration lock of this history is called (a backend makes its key of it)."""
        return f"django_sqlmigrate:{self.table}"

    def has_table(self) -> bool:
        if not self._has_table:
            sql = TABLE_EXISTS_SQL.get(self.connection.vendor)
            with self.connection.cursor() as cursor:
                if sql is None:
                    self._has_table = self.table in self.connection.introspection.table_names(
                        cursor
                    )
                else:
                    # to_regclass() takes a quoted name, as it would appear in SQL.
                    quoted = self.connection.vendor == "postgresql"
                    name = self.connection.ops.quote_name(self.table) if quoted else self.table
                    cursor.execute(sql, [name])
                    self._has_table = cursor.fetchone() is not None
        return self._has_table

    def ensure_schema(self) -> None:
        """Create the history table if it is missing (call with the migration lock held)."""
        if self.has_table():
            return
        try:
            with self.connection.schema_editor() as editor:
                editor.create_model(SchemaMigration)
        except DatabaseError as exc:
            raise SqlMigrateError(
                f"Could not create the history table {self.table!r} on database "
                f"{self.connection.alias!r}: {self.backend.message(exc).text}"
            ) from None
        self._has_table = True

    def applied(self) -> dict[str, AppliedMigration]:
        """Every history row by version, in the order they were applied."""
        if not self.has_table():
            return {}
        quote = self.connection.ops.quote_name
        rows = self.backend.fetch_as_orm(
            f"SELECT {', '.join(map(quote, FIELDS))} FROM {quote(self.table)} ORDER BY {quote('id')}"
        )
        if rows is None:
            rows = list(
                SchemaMigration.objects.using(self.connection.alias)
                .order_by("id")
                .values_list(*FIELDS)
            )
        make = builder(AppliedMigration)  # status builds thousands of them
        return {row[0]: make(*row) for row in rows}

    def checksums(self) -> dict[str, tuple[str, bool]]:
        """``{version: (checksum, success)}``: all a deploy with nothing to do needs to know.

        Three plain columns, no datetime conversion: a fraction of ``applied()``'s cost.
        """
        if not self.has_table():
            return {}
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT version, checksum, success FROM {self.connection.ops.quote_name(self.table)}"
            )
            return {version: (checksum, bool(success)) for version, checksum, success in cursor}

    def _now(self) -> Any:
        return self.connection.ops.adapt_datetimefield_value(timezone.now())

    def row(
        self,
        migration: SqlMigration,
        *,
        success: bool = True,
        statements_applied: int | None = None,
        statements_total: int | None = None,
        error: str = "",
    ) -> dict[str, Any]:
        """A history row's values, but ``applied_at`` and ``execution_time_ms``."""
        return {
            "version": migration.version,
            "name": migration.name[:255],
            "checksum": migration.checksum,
            "success": success,
            "statements_applied": statements_applied,
            "statements_total": statements_total,
            "applied_by": who(),
            "error": error,
        }

    def insert(
        self,
        migration: SqlMigration,
        *,
        execution_time_ms: int | None,
        success: bool = True,
        statements_applied: int | None = None,
        statements_total: int | None = None,
        error: str = "",
    ) -> None:
        row = self.row(
            migration,
            success=success,
            statements_applied=statements_applied,
            statements_total=statements_total,
            error=error,
        )
        self.insert_row(row, execution_time_ms=execution_time_ms)

    def insert_row(self, row: dict[str, Any], *, execution_time_ms: int | None) -> None:
        """Write ``row`` (from ``row()``), stamped now."""
        row = {**row, "applied_at": self._now(), "execution_time_ms": execution_time_ms}
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(self.table)} ({', '.join(map(quote, row))}) "
                f"VALUES ({', '.join(['%s'] * len(row))})",
                list(row.values()),
            )

    def insert_sql(self, row: dict[str, Any]) -> bytes:
        """The ``INSERT`` of ``row`` (from ``row()``) as SQL text, its values written inline,
        stamped and timed by the server's clock: for a backend that sends it in one query with
        the file and ``COMMIT`` (``BaseBackend.execute_recorded``)."""
        literal = self.backend.literal
        now, elapsed = self.backend.server_clock
        values = {
            **{column: literal(value) for column, value in row.items()},
            "applied_at": now,
            "execution_time_ms": elapsed,
        }
        quote = self.connection.ops.quote_name
        return b"INSERT INTO %s (%s) VALUES (%s)" % (
            quote(self.table).encode(),
            ", ".join(map(quote, values)).encode(),
            b", ".join(values.values()),
        )

    def update(
        self,
        version: str,
        *,
        success: bool,
        execution_time_ms: int | None,
        statements_applied: int | None,
        error: str = "",
    ) -> None:
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(self.table)} SET success = %s, execution_time_ms = %s, "
                "statements_applied = %s, error = %s WHERE version = %s",
                [success, execution_time_ms, statements_applied, error, version],
            )

    def rename(self, version: str, *, new_version: str, name: str) -> None:
        """Record that the file applied as ``version`` is now ``new_version`` (a renamed file)."""
        SchemaMigration.objects.using(self.connection.alias).filter(version=version).update(
            version=new_version, name=name[:255]
        )

    def set_checksum(self, version: str, checksum: str) -> None:
        SchemaMigration.objects.using(self.connection.alias).filter(version=version).update(
            checksum=checksum
        )

    def delete(self, version: str) -> None:
        SchemaMigration.objects.using(self.connection.alias).filter(version=version).delete()
