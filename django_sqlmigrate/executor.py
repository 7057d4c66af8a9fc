"""Apply a plan on one database: run each file through its backend, record it.

Like Django's ``MigrationExecutor``, this module never prints: commands pass a progress
callback, and what a failure left is told by ``messages``. Applying is a double-checked
affair: the planner reads the history without the lock (a deploy with nothing pending costs
two queries and no lock), and again once the lock is held, so racing release phases apply each
file exactly once. The executor writes the history only through the recorder, and sends SQL
only through the backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.dispatch import Signal

from . import messages, signals
from .backends import RunInterrupted, StatementFailed
from .backends.base import NoticeSink
from .conf import app_settings
from .exceptions import InvalidMigrations, MigrationFailed
from .loader import SourceError, SqlMigration
from .planner import MigrationPlanner, Plan, without_gc
from .problems import display_path
from .recorder import FAILED, FAKED, STARTED

if TYPE_CHECKING:
    from .notices import Notice, NoticeCallback
    from .splitter import Statement

# callback(event, migration, duration_ms): "apply_start", "apply_success", "fake_success"
ProgressCallback = Callable[[str, SqlMigration, float | None], None]


class MigrationExecutor:
    def __init__(
        self,
        connection: BaseDatabaseWrapper | None = None,
        *,
        alias: str | None = None,
        dirs: Sequence[Path] | None = None,
        planner: MigrationPlanner | None = None,
        progress_callback: ProgressCallback | None = None,
        notice_callback: NoticeCallback | None = None,
    ) -> None:
        if planner is None:
            planner = MigrationPlanner(
                connection or connections[DEFAULT_DB_ALIAS], alias=alias, dirs=dirs
            )
        self.planner = planner
        self.connection = planner.connection
        self.alias = planner.alias  # its folders, routers and signals
        self.backend = planner.backend
        self.recorder = planner.recorder
        self.progress_callback = progress_callback
        # Called with each Notice as it arrives; all of the last apply() are in ``notices``.
        self.notice_callback = notice_callback
        self.notices: list[Notice] = []

    def plan(self, *, target: str | None = None, allow_out_of_order: bool = False) -> Plan:
        """What ``apply`` would run now (the planner's plan; InvalidMigrations on errors)."""
        return self.planner.plan(target=target, allow_out_of_order=allow_out_of_order)

    # -- applying --------------------------------------------------------------------------
    def apply(
        self,
        *,
        target: str | None = None,
        fake: bool = False,
        allow_out_of_order: bool = False,
        lock_timeout: float | None = None,
    ) -> list[SqlMigration]:
        """Apply (or fake) what is pending, under the lock. Returns the migrations applied."""
        if lock_timeout is None:  # read (and check) the setting before touching the database
            lock_timeout = app_settings.LOCK_TIMEOUT
        with without_gc():
            errors = self.planner.file_errors()
            if errors:  # broken files first, before the database is touched
                raise InvalidMigrations(errors)
            # Fast path for the common deploy: nothing pending, nothing wrong, no lock needed.
            if self.planner.up_to_date():
                return []
        self.notices = []
        with self.backend.lock(lock_timeout, self.recorder.lock_name):
            self.recorder.ensure_schema()
            plan = self.planner.plan(
                target=target,
                allow_out_of_order=allow_out_of_order,
                applied=self.recorder.applied(),
            )
            done = []
            for migration in plan.migrations:
                self._send(signals.pre_apply, migration, fake=fake)
                started = time.perf_counter()
                try:
                    if fake:
                        self.recorder.insert(migration, execution_time_ms=0, kind=FAKED)
                        self._progress("fake_success", migration, None)
                    else:
                        self._apply_reporting(migration, plan.statements[migration.version])
                except Exception as exc:
                    self._send(signals.apply_failed, migration, fake=fake, error=exc)
                    raise
                duration = time.perf_counter() - started
                self._send(signals.post_apply, migration, fake=fake, duration=duration)
                done.append(migration)
            return done

    def _send(self, signal: Signal, migration: SqlMigration, **kwargs: object) -> None:
        signal.send(
            sender=MigrationExecutor,
            migration=migration,
            version=migration.version,
            using=self.alias,
            **kwargs,
        )

    def _progress(self, event: str, migration: SqlMigration, duration_ms: float | None) -> None:
        if self.progress_callback is not None:
            self.progress_callback(event, migration, duration_ms)

    def _apply_reporting(self, migration: SqlMigration, statements: Sequence[Statement]) -> None:
        """``_apply_one``, with the database's notices reported and a run cut short (the
        connection lost) told as what it left."""
        self.backend.notice_sink = self._notice_sink(migration)
        try:
            self._apply_one(migration, statements)
        except RunInterrupted as exc:
            raise self._interrupted(migration, statements, exc) from None
        finally:
            self.backend.notice_sink = None

    def _notice_sink(self, migration: SqlMigration) -> NoticeSink:
        def sink(severity: str, message: str, line: int | None) -> None:
            from .notices import Notice

            notice = Notice(
                migration.version, severity, message, display_path(migration.path), line
            )
            self.notices.append(notice)
            if self.notice_callback is not None:
                self.notice_callback(notice)

        return sink

    def _apply_one(self, migration: SqlMigration, statements: Sequence[Statement]) -> None:
        self._progress("apply_start", migration, None)
        try:
            source = migration.read()
        except SourceError as exc:  # removed, unreadable or changed since the plan was made
            raise messages.vanished(migration, exc) from None
        transactional = migration.transactional and self.backend.runs_in_transaction(
            source, statements
        )
        started = time.perf_counter()
        total = len(statements)
        if transactional:
            row = self.recorder.row(migration, statements_applied=total, statements_total=total)
            try:
                # PostgreSQL sends the file, its history row and COMMIT together when no
                # transaction is open; otherwise (other vendors, the caller's transaction)
                # Django's atomic block holds the file and the row.
                if not (
                    self.backend.records_with_file
                    and self.backend.execute_recorded(
                        source, statements, self.recorder.insert_sql(row)
                    )
                ):
                    self._execute_atomic(source, statements, row, started)
            except StatementFailed as exc:
                error = self._failure(migration, source, statements, exc, rolled_back=exc.undone)
                if not exc.undone:  # what it did stays: recorded, as a no-transaction file's
                    self.recorder.insert(
                        migration,
                        execution_time_ms=round((time.perf_counter() - started) * 1000),
                        success=False,
                        statements_applied=exc.index,
                        statements_total=total,
                        error=error.database_message,
                        event=FAILED,
                    )
                raise error from None
        else:
            self.recorder.insert(
                migration,
                execution_time_ms=None,
                success=False,
                statements_total=total,
                error="Started, but the run ended before it finished.",
                event=STARTED,
            )
            try:
                self.backend.execute(source, statements, transactional=False)
            except StatementFailed as exc:
                error = self._failure(migration, source, statements, exc, rolled_back=False)
                elapsed = round((time.perf_counter() - started) * 1000)
                try:
                    if exc.applied == 0:  # nothing stays: nothing to repair
                        self.recorder.delete(
                            migration.version,
                            detail=f"nothing of it stayed: {error.database_message}",
                        )
                    else:
                        self.recorder.update(
                            migration.version,
                            success=False,
                            execution_time_ms=elapsed,
                            statements_applied=exc.applied,
                            error=error.database_message,
                            checksum=migration.checksum,
                        )
                except DatabaseError as record_error:  # the connection itself is gone
                    raise messages.unrecorded(error, record_error, migration.version) from None
                raise error from None
            elapsed = round((time.perf_counter() - started) * 1000)
            self.recorder.update(
                migration.version,
                success=True,
                execution_time_ms=elapsed,
                statements_applied=total,
                checksum=migration.checksum,
            )
        self._progress("apply_success", migration, (time.perf_counter() - started) * 1000)

    def _execute_atomic(
        self, source: bytes, statements: Sequence[Statement], row: dict[str, Any], started: float
    ) -> None:
        committing = False
        try:
            with transaction.atomic(using=self.connection.alias):
                self.backend.execute(source, statements, transactional=True)
                elapsed = round((time.perf_counter() - started) * 1000)
                self.recorder.insert_row(row, execution_time_ms=elapsed)
                committing = True
        except IntegrityError as exc:
            if not committing:
                raise
            # A deferred constraint fails only at COMMIT, which the database refused: the file
            # is rolled back. (Any other error there, a lost connection, leaves it unknown.)
            raise StatementFailed(len(statements), 0, self.backend.message(exc)) from exc

    def _failure(
        self,
        migration: SqlMigration,
        source: bytes,
        statements: Sequence[Statement],
        exc: StatementFailed,
        *,
        rolled_back: bool,
    ) -> MigrationFailed:
        return messages.statement_failed(
            migration,
            source,
            statements,
            exc,
            rolled_back=rolled_back,
            vendor=self.connection.vendor,
        )

    def _interrupted(
        self, migration: SqlMigration, statements: Sequence[Statement], exc: RunInterrupted
    ) -> MigrationFailed:
        """One paragraph for a file whose run was cut short, saying what it left: read back
        from the history on a new connection when the old one is gone, never written (the
        migration lock went with the old session)."""
        try:
            source = migration.read()
        except SourceError:  # gone since it ran: the message says less
            source = b""
        recorded, unreadable = self._read_back(migration.version, reconnect=exc.lost)
        return messages.interrupted(
            migration,
            source,
            statements,
            exc,
            recorded=recorded,
            unreadable=unreadable,
            table=self.recorder.table,
        )

    def _read_back(self, version: str, *, reconnect: bool) -> tuple[bool | None, str | None]:
        """(whether ``version``'s row says it succeeded, None without one; why it could not
        be read)."""
        try:
            if reconnect:
                if self.connection.in_atomic_block:  # the caller's transaction went with it
                    return None, "the connection was lost inside the caller's transaction"
                self.connection.close()
                self.connection.ensure_connection()
            row = self.recorder.checksums().get(version)
        except DatabaseError as exc:
            return None, " ".join(str(exc).split())
        return (None if row is None else row[1]), None
