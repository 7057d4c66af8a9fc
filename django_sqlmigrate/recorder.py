"""Read and write the history: the only module that knows its tables, their shape and SQL.

Two tables: the history table (``SQLMIGRATE_TABLE``), one row per version, what is applied or
failed now; and its events table (``<table>_events``), one row per thing that happened to a
version (applied, faked, failed, rolled back, repaired...), never changed afterwards. Every
write to the first writes an event to the second, in the same transaction.

Rows are written with plain ``INSERT``/``UPDATE`` statements on the connection that runs the
migration, so a transactional migration's row commits or rolls back with its SQL. Where a
backend sends a file, its history row and ``COMMIT`` together (PostgreSQL), the recorder writes
that row's statements as text for it (``insert_sql``); the backend only sends them. Reads go
through the ORM, which converts ``applied_at`` the same way on every backend (PostgreSQL reads
them faster, with the same result: ``PostgreSQLBackend.fetch_as_orm``). The migration lock is
named after the table (``lock_name``), so two histories in one database never wait for each
other.

A history table made by version 0.1 has no ``kind`` column and no events table: it is read as
it is (every row then counts as ``applied``), and brought up to date, with the lock held, by
the first command that writes (``ensure_schema``).
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
from .models import EVENTS_SUFFIX, SchemaMigration, SchemaMigrationEvent

if TYPE_CHECKING:
    from .backends import BaseBackend

# How a history row came to be.
APPLIED = "applied"  # its SQL ran
FAKED = "faked"  # recorded without running (sqlmigrate_apply --fake)
BASELINED = "baselined"  # recorded without running: the database had it already
REPAIRED = "repaired"  # a failed run, completed by hand (sqlmigrate_repair --mark-applied)
KINDS = (APPLIED, FAKED, BASELINED, REPAIRED)

# What the events table records (an applied, faked, baselined or repaired row's kind too).
STARTED = "started"  # a run that cannot be rolled back began (its outcome follows)
FAILED = "failed"  # a run failed and left part of itself in the database
CLEARED = "cleared"  # a failed row was removed: the file runs again from its start
RENAMED = "renamed"  # a file renamed with its number and text kept (detail: the old version)
CHECKSUM_ACCEPTED = "checksum_accepted"  # an edited file's text accepted as applied
ROLLED_BACK = "rolled_back"  # its down file ran and its row was removed
ROLLBACK_FAILED = "rollback_failed"  # its down file failed part-way
# Status lists these; the others (started, applied, faked, baselined) every row shows itself.
LIFECYCLE_EVENTS = (
    FAILED,
    CLEARED,
    REPAIRED,
    RENAMED,
    CHECKSUM_ACCEPTED,
    ROLLED_BACK,
    ROLLBACK_FAILED,
)


@frozen_dataclass
class AppliedMigration(Frozen):
    """One history row."""

    version: str
    name: str
    applied_at: datetime  # when it succeeded, or, failed, when it was attempted
    execution_time_ms: int | None
    checksum: str
    success: bool
    statements_applied: int | None
    statements_total: int | None
    applied_by: str
    error: str
    kind: str = APPLIED  # APPLIED, FAKED, BASELINED or REPAIRED


@frozen_dataclass
class HistoryEvent(Frozen):
    """One row of the events table: something that happened to a version."""

    id: int
    version: str
    event: str
    recorded_at: datetime
    recorded_by: str
    checksum: str
    execution_time_ms: int | None
    detail: str


FIELDS = [field.name for field in fields(AppliedMigration)]
EVENT_FIELDS = [field.name for field in fields(HistoryEvent)]

# One row, from the table's and the events table's names: (the history table's columns,
# whether one is ``kind``, whether the events table exists). Listing every table (Django's
# introspection) costs milliseconds in a schema of a few hundred tables, on every status and
# every deploy.
SCHEMA_SQL = {
    "postgresql": (
        "SELECT (SELECT COUNT(*) FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attnum > 0), (SELECT COUNT(*) FROM pg_catalog.pg_attribute WHERE attrelid = "
        "to_regclass(%s) AND attname = 'kind' AND NOT attisdropped), to_regclass(%s) IS NOT NULL"
    ),
    "mysql": (
        "SELECT COUNT(CASE WHEN table_name = %s THEN 1 END), "
        "COUNT(CASE WHEN table_name = %s AND column_name = 'kind' THEN 1 END), "
        "COUNT(CASE WHEN table_name = %s THEN 1 END) > 0 FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name IN (%s, %s)"
    ),
    "sqlite": (
        "SELECT (SELECT COUNT(*) FROM pragma_table_info(%s)), "
        "(SELECT COUNT(*) FROM pragma_table_info(%s) WHERE name = 'kind'), "
        "(SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = %s) > 0"
    ),
}
# What schema() says.
MISSING_TABLE, WITHOUT_KIND, CURRENT = 0, 1, 2


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
        self._schema: int | None = None
        self._events: bool = False  # whether the events table exists (read with the schema)

    @property
    def table(self) -> str:
        """``SQLMIGRATE_TABLE``, checked (the model's ``db_table`` follows it)."""
        return app_settings.TABLE

    @property
    def events_table(self) -> str:
        return self.table + EVENTS_SUFFIX

    @property
    def lock_name(self) -> str:
        """What the migration lock of this history is called (a backend makes its key of it)."""
        return f"django_sqlmigrate:{self.table}"

    # -- the tables ------------------------------------------------------------------------
    def schema(self) -> int:
        """MISSING_TABLE, WITHOUT_KIND (a table of version 0.1) or CURRENT: one query (asked
        again until CURRENT: another process may create or update the table meanwhile)."""
        if self._schema != CURRENT:
            self._schema = self._read_schema()
        return self._schema

    def _read_schema(self) -> int:
        vendor = self.connection.vendor
        sql = SCHEMA_SQL.get(vendor)
        table, events = self.table, self.events_table
        with self.connection.cursor() as cursor:
            if sql is None:  # another vendor: Django's introspection, slower but general
                names = self.connection.introspection.table_names(cursor)
                if table not in names:
                    return MISSING_TABLE
                self._events = events in names
                columns = self.connection.introspection.get_table_description(cursor, table)
                return CURRENT if any(c.name == "kind" for c in columns) else WITHOUT_KIND
            if vendor == "postgresql":  # to_regclass() takes a quoted name, as in SQL
                quote = self.connection.ops.quote_name
                cursor.execute(sql, [quote(table), quote(table), quote(events)])
            elif vendor == "mysql":
                cursor.execute(sql, [table, table, events, table, events])
            else:
                cursor.execute(sql, [table, table, events])
            columns, kind, self._events = cursor.fetchone()
        if not columns:
            return MISSING_TABLE
        return CURRENT if kind else WITHOUT_KIND

    def has_table(self) -> bool:
        return self.schema() != MISSING_TABLE

    def ensure_schema(self) -> None:
        """Create the history tables, or bring a table of an earlier version up to date
        (call with the migration lock held)."""
        schema = self.schema()
        if schema == CURRENT and self._events:
            return
        try:
            with self.connection.schema_editor() as editor:
                if schema == MISSING_TABLE:
                    editor.create_model(SchemaMigration)
                elif schema == WITHOUT_KIND:
                    # Plain SQL every vendor takes as it is (SQLite's table rebuild, which
                    # Django's add_field would do, copies a database default wrongly).
                    quote = self.connection.ops.quote_name
                    editor.execute(
                        f"ALTER TABLE {quote(self.table)} ADD COLUMN {quote('kind')} "
                        f"varchar(16) DEFAULT '{APPLIED}' NOT NULL"
                    )
                if not self._events:
                    editor.create_model(SchemaMigrationEvent)
        except DatabaseError as exc:
            raise SqlMigrateError(
                f"Could not create or update the history tables {self.table!r} and "
                f"{self.events_table!r} on database {self.connection.alias!r}: "
                f"{self.backend.message(exc).text}"
            ) from None
        self._schema = CURRENT
        self._events = True

    # -- reading ---------------------------------------------------------------------------
    def applied(self) -> dict[str, AppliedMigration]:
        """Every history row by version, in the order they were applied."""
        schema = self.schema()
        if schema == MISSING_TABLE:
            return {}
        columns = FIELDS if schema == CURRENT else FIELDS[:-1]  # a 0.1 table has no kind
        quote = self.connection.ops.quote_name
        rows = self.backend.fetch_as_orm(
            f"SELECT {', '.join(map(quote, columns))} FROM {quote(self.table)} "
            f"ORDER BY {quote('id')}"
        )
        if rows is None:
            rows = list(
                SchemaMigration.objects.using(self.connection.alias)
                .order_by("id")
                .values_list(*columns)
            )
        make = builder(AppliedMigration)  # status builds thousands of them
        if schema != CURRENT:
            return {row[0]: make(*row, APPLIED) for row in rows}
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

    def events(self, *, version: str | None = None, routine: bool = True) -> list[HistoryEvent]:
        """The events of ``version`` (all versions: None), oldest first; only those status lists
        (``LIFECYCLE_EVENTS``: not what every row shows by itself) unless ``routine``."""
        if self.schema() == MISSING_TABLE or not self._events:
            return []
        queryset = SchemaMigrationEvent.objects.using(self.connection.alias).order_by("id")
        if version is not None:
            queryset = queryset.filter(version=version)
        if not routine:
            queryset = queryset.filter(event__in=LIFECYCLE_EVENTS)
        make = builder(HistoryEvent)
        return [make(*row) for row in queryset.values_list(*EVENT_FIELDS)]

    # -- writing ---------------------------------------------------------------------------
    def _now(self) -> Any:
        return self.connection.ops.adapt_datetimefield_value(timezone.now())

    def row(
        self,
        migration: SqlMigration,
        *,
        kind: str = APPLIED,
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
            "kind": kind,
        }

    def insert(
        self,
        migration: SqlMigration,
        *,
        execution_time_ms: int | None,
        kind: str = APPLIED,
        success: bool = True,
        statements_applied: int | None = None,
        statements_total: int | None = None,
        error: str = "",
        event: str | None = None,
    ) -> None:
        """Write a history row for ``migration``, and its event (by default its kind)."""
        row = self.row(
            migration,
            kind=kind,
            success=success,
            statements_applied=statements_applied,
            statements_total=statements_total,
            error=error,
        )
        self.insert_row(row, execution_time_ms=execution_time_ms, event=event)

    def insert_row(
        self, row: dict[str, Any], *, execution_time_ms: int | None, event: str | None = None
    ) -> None:
        """Write ``row`` (from ``row()``), stamped now, and its event (by default its kind)."""
        row = {**row, "applied_at": self._now(), "execution_time_ms": execution_time_ms}
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(self.table)} ({', '.join(map(quote, row))}) "
                f"VALUES ({', '.join(['%s'] * len(row))})",
                list(row.values()),
            )
        self.record(
            row["version"],
            event or row["kind"],
            checksum=row["checksum"],
            execution_time_ms=execution_time_ms,
            detail=row["error"],
        )

    def insert_sql(self, row: dict[str, Any]) -> list[bytes]:
        """The ``INSERT`` of ``row`` (from ``row()``) and of its event, as SQL text with their
        values written inline, stamped and timed by the server's clock: for a backend that
        sends them in one query with the file and ``COMMIT`` (``execute_recorded``)."""
        now, elapsed = self.backend.server_clock
        event = {
            "version": row["version"],
            "event": row["kind"],
            "checksum": row["checksum"],
            "recorded_by": row["applied_by"],
            "detail": row["error"],
        }
        return [
            self._insert_text(self.table, row, applied_at=now, execution_time_ms=elapsed),
            self._insert_text(self.events_table, event, recorded_at=now, execution_time_ms=elapsed),
        ]

    def _insert_text(self, table: str, values: dict[str, Any], **expressions: bytes) -> bytes:
        literal = self.backend.literal
        columns = {**{name: literal(value) for name, value in values.items()}, **expressions}
        quote = self.connection.ops.quote_name
        return b"INSERT INTO %s (%s) VALUES (%s)" % (
            quote(table).encode(),
            ", ".join(map(quote, columns)).encode(),
            b", ".join(columns.values()),
        )

    def record(
        self,
        version: str,
        event: str,
        *,
        checksum: str = "",
        execution_time_ms: int | None = None,
        detail: str = "",
    ) -> None:
        """Add an event to the events table (a rollback, a repair...), stamped now."""
        values = {
            "version": version,
            "event": event,
            "recorded_at": self._now(),
            "recorded_by": who(),
            "checksum": checksum,
            "execution_time_ms": execution_time_ms,
            "detail": detail,
        }
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(self.events_table)} ({', '.join(map(quote, values))}) "
                f"VALUES ({', '.join(['%s'] * len(values))})",
                list(values.values()),
            )

    def update(
        self,
        version: str,
        *,
        success: bool,
        execution_time_ms: int | None,
        statements_applied: int | None,
        error: str = "",
        checksum: str = "",
        kind: str | None = None,
        event: str | None = None,
    ) -> None:
        """Change a row's outcome (and its kind), and record ``event`` (by default: its kind
        when it succeeded, FAILED when not)."""
        quote = self.connection.ops.quote_name
        assignments = "success = %s, execution_time_ms = %s, statements_applied = %s, error = %s"
        params: list[Any] = [success, execution_time_ms, statements_applied, error]
        if kind is not None:
            assignments += ", kind = %s"
            params.append(kind)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(self.table)} SET {assignments} WHERE version = %s",
                [*params, version],
            )
        self.record(
            version,
            event or (kind or APPLIED if success else FAILED),
            checksum=checksum,
            execution_time_ms=execution_time_ms,
            detail=error,
        )

    def rename(self, version: str, *, new_version: str, name: str, checksum: str) -> None:
        """Record that the file applied as ``version`` is now ``new_version`` (a renamed file)."""
        SchemaMigration.objects.using(self.connection.alias).filter(version=version).update(
            version=new_version, name=name[:255]
        )
        self.record(new_version, RENAMED, checksum=checksum, detail=f"was {version}")

    def set_checksum(self, version: str, checksum: str, *, was: str) -> None:
        """Accept an applied file's edited text: its row takes the new checksum."""
        SchemaMigration.objects.using(self.connection.alias).filter(version=version).update(
            checksum=checksum
        )
        self.record(version, CHECKSUM_ACCEPTED, checksum=checksum, detail=f"was {was}")

    def delete(self, version: str, *, event: str = CLEARED, detail: str = "") -> None:
        """Remove a version's row (its events stay), recording why."""
        SchemaMigration.objects.using(self.connection.alias).filter(version=version).delete()
        self.record(version, event, detail=detail)
