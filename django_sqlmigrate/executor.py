"""Plan and apply SQL migrations on one database.

Like Django's ``MigrationExecutor``, this module never prints: commands pass a progress
callback. Applying is a double-checked affair: history is read without the lock (a deploy with
nothing pending costs two queries and no lock), and re-read once the lock is held, so racing
release phases apply each file exactly once.
"""

from __future__ import annotations

import gc
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.dispatch import Signal

from . import signals
from .backends import BaseBackend, RunInterrupted, StatementFailed, get_backend
from .backends.base import NoticeSink, transaction_control
from .conf import app_settings
from .dependencies import unmet_dependencies
from .exceptions import InvalidMigrations, MigrationFailed, UnknownTarget
from .loader import (
    LoadResult,
    MigrationLoader,
    SourceError,
    SqlMigration,
    line_and_column,
    version_number,
)
from .namespaces import load_all
from .problems import Problem, display_path
from .recorder import AppliedMigration, MigrationRecorder

if TYPE_CHECKING:
    # Imported where used: sqlmigrate_status and a no-op sqlmigrate_apply never import them
    # (the splitter compiles its regexes on import; see docs/performance.md).
    from .notices import Notice, NoticeCallback
    from .splitter import Statement

# callback(event, migration, duration_ms): "apply_start", "apply_success", "fake_success"
ProgressCallback = Callable[[str, SqlMigration, float | None], None]

OK, MODIFIED, MISSING, FAILED = "ok", "modified", "missing", "failed"


@contextmanager
def without_gc() -> Iterator[None]:
    """Bulk reading builds tens of thousands of tuples and no reference cycles; the cyclic
    collector would walk them over and over for nothing (Mercurial's ``util.nogc``).

    The switch is process-wide, so it is only thrown when this is the process's only thread
    (a management command): in a threaded server (the admin) other requests keep their
    collector.
    """
    if not gc.isenabled() or threading.active_count() != 1:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def shorten(sql: bytes, limit: int = 200) -> str:
    from .redact import redact  # before collapsing and cutting, which would hide a password

    # The start of a 50 MB statement is enough to show 200 characters of it.
    text = " ".join(redact(sql[: limit * 256].decode("utf-8", "replace")).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class AppliedState(NamedTuple):
    """A history row next to the file it came from (``migration`` is None when it is gone)."""

    row: AppliedMigration
    state: str
    migration: SqlMigration | None


class Status(NamedTuple):
    """What ``sqlmigrate_status`` shows for one database."""

    database: dict[str, str]
    applied: list[AppliedState]
    pending: list[SqlMigration]
    problems: list[Problem]
    allowed: bool = True  # False: the routers refuse SQL migrations on this database

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.is_error]


class Plan(NamedTuple):
    """What ``apply`` would run, with the statements of each pending file already split."""

    migrations: list[SqlMigration]
    statements: dict[str, list[Statement]]
    warnings: list[Problem]


class MigrationExecutor:
    def __init__(
        self,
        connection: BaseDatabaseWrapper | None = None,
        progress_callback: ProgressCallback | None = None,
        dirs: Sequence[Path] | None = None,
        *,
        alias: str | None = None,
        notice_callback: NoticeCallback | None = None,
    ) -> None:
        self.connection = connection or connections[DEFAULT_DB_ALIAS]
        # The database migrated, when ``connection`` is another alias reaching it (a direct
        # connection beside a PgBouncer one): its folders, routers and signals are this alias's.
        self.alias = alias or self.connection.alias
        self.progress_callback = progress_callback
        # Called with each Notice as it arrives; all of the last apply() are in ``notices``.
        self.notice_callback = notice_callback
        self.notices: list[Notice] = []
        self.dirs = list(dirs) if dirs is not None else None
        self.backend: BaseBackend = get_backend(self.connection)
        self.recorder = MigrationRecorder(self.connection)
        self._loaded: LoadResult | None = None

    # -- reading ---------------------------------------------------------------------------
    def load(self) -> LoadResult:
        if self._loaded is None:
            if self.dirs is None:  # the settings: project folders and apps' folders
                self._loaded = load_all(app_settings.dirs_for(self.alias), self.alias)
            else:
                self._loaded = MigrationLoader(self.dirs).load()
        return self._loaded

    def status(self) -> Status:
        """Applied rows with their state, pending files, and every problem found."""
        with without_gc():
            loaded = self.load()
            return self._status(loaded, self.recorder.applied())

    def _status(self, loaded: LoadResult, applied: dict[str, AppliedMigration]) -> Status:
        # One pass over the history: status on 10 000 files must stay close to the start-up.
        files = loaded.by_version
        problems = list(loaded.problems)
        rows = []
        highest: dict[str | None, int] = {}  # per namespace: an app's numbers are its own
        # Rows whose file is gone, by (namespace, number): a pending file with that number is
        # the same migration renamed, or a new one reusing the number; either way not to run.
        gone: dict[tuple[str | None, int], AppliedMigration] = {}
        for version, row in applied.items():
            migration = files.get(version)
            if migration is None:
                key = version_number(version)
                if key is not None:
                    gone.setdefault(key, row)
            elif migration.number > highest.get(migration.app_label, 0):
                highest[migration.app_label] = migration.number
            if not row.success:
                state = FAILED
                problems.append(self._failed_problem(row, migration))
            elif migration is None:
                state = MISSING
                problems.append(
                    Problem(
                        "W002",
                        f"{version} is recorded as applied but its file is not in any "
                        "migrations folder.",
                        hint="Expected after deploying older code; otherwise restore the file.",
                        version=version,
                    )
                )
            elif migration.checksum != row.checksum:
                state = MODIFIED
                problems.append(
                    Problem(
                        "E009",
                        f"{version} was modified after it was applied (applied "
                        f"{row.checksum}, file now {migration.checksum}).",
                        hint=(
                            "Applied migrations must not change: restore the file (git checkout) "
                            "and put the change in a new migration. If the edit is cosmetic, "
                            "accept it with `manage.py sqlmigrate_repair --update-checksums`."
                        ),
                        path=migration.path,
                        version=version,
                    )
                )
            else:
                state = OK
            rows.append(AppliedState(row, state, migration))
        pending = [m for m in loaded.migrations if m.version not in applied]
        if gone and pending:
            problems = self._reused_numbers(pending, gone, loaded.migrations, problems)
        for migration in pending:
            top = highest.get(migration.app_label)
            if (
                top is not None
                and migration.number < top
                and (migration.app_label, migration.number) not in gone
            ):
                problems.append(
                    Problem(
                        "E010",
                        f"{migration.version} is pending but numbered below {top}, which "
                        "is already applied (usually two branches merged).",
                        hint=(
                            "Renumber it above the highest applied migration, or run "
                            "sqlmigrate_apply --allow-out-of-order if it is independent."
                        ),
                        path=migration.path,
                        version=migration.version,
                    )
                )
        return Status(self.describe(), rows, pending, problems)

    @staticmethod
    def _reused_numbers(
        pending: list[SqlMigration],
        gone: dict[tuple[str | None, int], AppliedMigration],
        migrations: list[SqlMigration],
        problems: list[Problem],
    ) -> list[Problem]:
        """E018 for a pending file numbered like an applied row whose file is gone; that row's
        W002 ("its file is missing") is replaced by it."""
        replaced: set[str] = set()
        for migration in pending:
            row = gone.get((migration.app_label, migration.number))
            if row is None:
                continue
            replaced.add(row.version)
            when = f"{row.applied_at:%Y-%m-%d %H:%M:%S %Z}".rstrip()
            top = max(
                [m.number for m in migrations if m.app_label == migration.app_label]
                + [number for label, number in gone if label == migration.app_label]
            )
            if row.checksum == migration.checksum:
                hint = (
                    f"Its text is the same as {row.version}'s: if it is that file renamed, run "
                    "`manage.py sqlmigrate_repair --accept-renames` to record the new name. If "
                    f"it is a new migration, renumber it above {top}."
                )
            else:
                hint = (
                    f"Its text differs from what {row.version} applied: if it is a new "
                    f"migration, renumber it above {top}; if it is {row.version} renamed, "
                    "restore its name (and its text)."
                )
            problems.append(
                Problem(
                    "E018",
                    f"{migration.version} is pending, but number {migration.number}"
                    + (f" of app {migration.app_label!r}" if migration.app_label else "")
                    + f" is applied already, as {row.version} ({when}), whose file is gone. "
                    "Applying it would run that number a second time.",
                    hint=hint,
                    path=migration.path,
                    version=migration.version,
                )
            )
        if not replaced:
            return problems
        return [p for p in problems if not (p.code == "W002" and p.version in replaced)]

    @staticmethod
    def _refuse_errors(loaded: LoadResult) -> None:
        errors = [p for p in loaded.problems if p.is_error]
        if errors:
            raise InvalidMigrations(errors)

    @staticmethod
    def _up_to_date(loaded: LoadResult, recorded: dict[str, tuple[str, bool]]) -> bool:
        """No file pending, modified or failed (the errors ``_status`` could add), cheaply.

        ``recorded`` is ``MigrationRecorder.checksums()``. Rows of files no longer on disk are
        only a warning, as in ``_status``.
        """
        for migration in loaded.migrations:
            row = recorded.get(migration.version)
            if row is None or row[0] != migration.checksum:
                return False
        return all(success for _, success in recorded.values())

    def describe(self) -> dict[str, str]:
        database = self.backend.describe()
        if self.alias != self.connection.alias:
            database = {**database, "alias": self.alias, "via": self.connection.alias}
        return database

    def _failed_problem(self, row: AppliedMigration, migration: SqlMigration | None) -> Problem:
        from .redact import redact  # a row written before passwords were scrubbed may hold one

        if row.statements_applied is None:
            progress = "it was interrupted before it finished; some of its statements may have run"
        else:
            total = f" of {row.statements_total}" if row.statements_total is not None else ""
            progress = f"statements 1-{row.statements_applied}{total} had run"
            if row.statements_applied == 0:
                progress = "none of its statements had run"
        error = f" The error was: {redact(row.error)}" if row.error else ""
        return Problem(
            "E011",
            f"{row.version} failed on {row.applied_at:%Y-%m-%d %H:%M:%S %Z} and could not be "
            f"rolled back: {progress}.{error}",
            hint=(
                "Finish or undo those statements by hand, then run `manage.py sqlmigrate_repair` "
                "to clear the failed record (the file runs again from its first statement), or "
                f"`manage.py sqlmigrate_repair --mark-applied {row.version}` if you completed it."
            ),
            path=migration.path if migration else None,
            version=row.version,
        )

    # -- validating ------------------------------------------------------------------------
    def check_sql(self, migration: SqlMigration) -> tuple[list[Statement], list[Problem]]:
        """Split a file and find what would make it fail before it runs."""
        from .splitter import SplitError, leading_words, split

        try:
            source = migration.read()
            statements = list(split(source, self.backend.dialect))
        except SourceError as exc:
            return [], [Problem(exc.code, str(exc), path=migration.path, line=exc.line)]
        except SplitError as exc:
            line, column = line_and_column(source, exc.offset)
            return [], [
                Problem(
                    "E007",
                    f"{exc.message} (starting at line {line}, column {column}).",
                    hint=exc.hint or "Close it; psql/sqlite3/mysql would reject the file too.",
                    path=migration.path,
                    line=line,
                    version=migration.version,
                )
            ]
        problems = []
        unencodable = self.backend.unencodable(source)
        if unencodable is not None:
            offset, why = unencodable
            line, column = line_and_column(source, offset)
            character = source[offset:].decode("utf-8", "replace")[:1]
            problems.append(
                Problem(
                    "E017",
                    f"contains U+{ord(character):04X} ({character}) at line {line}, column "
                    f"{column}, {why}.",
                    path=migration.path,
                    line=line,
                    version=migration.version,
                )
            )
        if not statements and not migration.allow_empty:
            problems.append(
                Problem(
                    "E006",
                    "contains no SQL statements (only comments or whitespace).",
                    hint=(
                        "Write the migration, or add the header line "
                        "`-- sqlmigrate: allow-empty` if it is meant to be empty."
                    ),
                    path=migration.path,
                    version=migration.version,
                )
            )
        for statement in statements:
            if statement.copy_to_stdout:  # the splitter tells (PostgreSQL only)
                line, _ = line_and_column(source, statement.start)
                problems.append(
                    Problem(
                        "E019",
                        "COPY ... TO STDOUT sends rows to the client, and a migration has "
                        "nowhere to put them.",
                        hint="Take the statement out of the migration.",
                        path=migration.path,
                        line=line,
                        version=migration.version,
                    )
                )
        if migration.transactional:
            for statement in statements:
                sql = source[statement.start : statement.end]
                words = leading_words(sql, 6)
                reason = self.backend.refused_in_transaction(words, sql)
                if reason is None and transaction_control(words) == "abort":
                    reason = f"{words[0]} would throw away the migration's own transaction"
                if reason:
                    line, _ = line_and_column(source, statement.start)
                    problems.append(
                        Problem(
                            "E008",
                            f"{reason}, and this file runs in one.",
                            hint=(
                                "Add the header line `-- sqlmigrate: no-transaction` (then each "
                                "statement commits on its own), or move the statement to a "
                                "file of its own with that header."
                            ),
                            path=migration.path,
                            line=line,
                            version=migration.version,
                        )
                    )
        else:
            for statement in statements:
                reason = self.backend.never_committed(
                    leading_words(source[statement.start : statement.end], 2)
                )
                if reason:
                    line, _ = line_and_column(source, statement.start)
                    problems.append(
                        Problem(
                            "E019",
                            f"{reason}.",
                            hint="Commit what the file does, or take the statement out.",
                            path=migration.path,
                            line=line,
                            version=migration.version,
                        )
                    )
        return statements, problems

    def plan(
        self,
        target: str | None = None,
        allow_out_of_order: bool = False,
        applied: dict[str, AppliedMigration] | None = None,
    ) -> Plan:
        """The pending migrations up to ``target``; raise InvalidMigrations on any error."""
        loaded = self.load()
        if applied is None:
            applied = self.recorder.applied()
        status = self._status(loaded, applied)
        problems = [p for p in status.problems if not (allow_out_of_order and p.code == "E010")]
        pending = status.pending
        if target is not None:
            pending = self._up_to(target, loaded.migrations, pending)
        problems += unmet_dependencies(self.connection, pending)
        statements = {}
        for migration in pending:
            found, sql_problems = self.check_sql(migration)
            statements[migration.version] = found
            problems.extend(sql_problems)
        errors = [p for p in problems if p.is_error]
        if errors:
            raise InvalidMigrations(errors)
        return Plan(pending, statements, [p for p in problems if not p.is_error])

    @staticmethod
    def _up_to(
        target: str, migrations: list[SqlMigration], pending: list[SqlMigration]
    ) -> list[SqlMigration]:
        def names(m: SqlMigration) -> set[str]:
            found = {m.version, m.path.name, f"{m.app_label}:{m.path.name}"}
            if m.app_label is None and target.isdigit() and m.number == int(target):
                found.add(target)
            return found

        matches = [index for index, m in enumerate(migrations) if target in names(m)]
        if not matches:
            raise UnknownTarget(
                f"--target {target!r} names no migration file. Give a version such as "
                f"{migrations[-1].version if migrations else '001-create-users-table'!r} "
                "or its number."
            )
        last = {m.version: index for index, m in enumerate(migrations)}
        return [m for m in pending if last[m.version] <= matches[0]]

    # -- applying --------------------------------------------------------------------------
    def apply(
        self,
        target: str | None = None,
        *,
        fake: bool = False,
        allow_out_of_order: bool = False,
        lock_timeout: float | None = None,
    ) -> list[SqlMigration]:
        """Apply (or fake) what is pending, under the lock. Returns the migrations applied."""
        if lock_timeout is None:  # read (and check) the setting before touching the database
            lock_timeout = app_settings.LOCK_TIMEOUT
        with without_gc():
            loaded = self.load()
            self._refuse_errors(loaded)  # broken files first, before the database is touched
            # Fast path for the common deploy: nothing pending, nothing wrong, no lock needed.
            if self._up_to_date(loaded, self.recorder.checksums()):
                return []
        self.notices = []
        with self.backend.lock(lock_timeout):
            self.recorder.ensure_schema()
            plan = self.plan(target, allow_out_of_order, applied=self.recorder.applied())
            done = []
            for migration in plan.migrations:
                self._send(signals.pre_apply, migration, fake=fake)
                started = time.perf_counter()
                try:
                    if fake:
                        self.recorder.insert(migration, execution_time_ms=0)
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

    def _apply_reporting(self, migration: SqlMigration, statements: list[Statement]) -> None:
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

    def _apply_one(self, migration: SqlMigration, statements: list[Statement]) -> None:
        self._progress("apply_start", migration, None)
        try:
            source = migration.read()
        except SourceError as exc:  # removed, unreadable or changed since the plan was made
            raise MigrationFailed(
                migration.version,
                f"{display_path(migration.path)}: the file {exc} Nothing of "
                f"{migration.version} ran and nothing is recorded for it.",
            ) from None
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
                if not self.backend.execute_recorded(source, statements, row):
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
                    )
                raise error from None
        else:
            self.recorder.insert(
                migration,
                execution_time_ms=None,
                success=False,
                statements_total=total,
                error="Started, but the run ended before it finished.",
            )
            try:
                self.backend.execute(source, statements, transactional=False)
            except StatementFailed as exc:
                error = self._failure(migration, source, statements, exc, rolled_back=False)
                elapsed = round((time.perf_counter() - started) * 1000)
                try:
                    if exc.applied == 0:
                        self.recorder.delete(migration.version)  # nothing stays: nothing to repair
                    else:
                        self.recorder.update(
                            migration.version,
                            success=False,
                            execution_time_ms=elapsed,
                            statements_applied=exc.applied,
                            error=error.database_message,
                        )
                except DatabaseError as record_error:  # the connection itself is gone
                    raise MigrationFailed(
                        migration.version,
                        f"{error}\nThe failure could not be recorded ({record_error}): the history "
                        f"keeps {migration.version} as interrupted, and sqlmigrate_apply refuses "
                        "to continue until sqlmigrate_repair.",
                    ) from None
                raise error from None
            elapsed = round((time.perf_counter() - started) * 1000)
            self.recorder.update(
                migration.version,
                success=True,
                execution_time_ms=elapsed,
                statements_applied=total,
            )
        self._progress("apply_success", migration, (time.perf_counter() - started) * 1000)

    def _execute_atomic(
        self, source: bytes, statements: list[Statement], row: dict[str, Any], started: float
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
        statements: list[Statement],
        exc: StatementFailed,
        *,
        rolled_back: bool,
    ) -> MigrationFailed:
        error = exc.error
        if exc.left_open:
            return self._left_open(migration, source, statements, exc)
        if exc.index >= len(statements):  # every statement ran; COMMIT failed
            return MigrationFailed(
                migration.version,
                f"{display_path(migration.path)}: {error.text}\n  when the transaction "
                "committed, after its last statement (a deferred constraint or trigger checks "
                f"the file's changes then)\n{migration.version} was rolled back and left no "
                "trace. Fix it and run sqlmigrate_apply again.",
                database_message=f"{display_path(migration.path)}: {error.text}",
            )
        index = exc.index
        offset = None
        if error.position is not None:
            sent = source[exc.sent_start : exc.sent_start + 4 * error.position]
            prefix = sent.decode("utf-8", "ignore")[: error.position - 1]
            offset = exc.sent_start + len(prefix.encode())
            # A syntax error stops a whole multi-statement query before its first statement
            # runs: the statement at fault is the one the position points into, whatever the
            # count of results said.
            index = max(bisect_right(statements, offset, key=lambda s: s.start) - 1, 0)
        statement = statements[index]
        statement_line, _ = line_and_column(source, statement.start)
        if offset is not None:
            line, column = line_and_column(source, offset)
            where = f"{display_path(migration.path)}:{line}:{column}"
        elif error.line is not None:
            where = f"{display_path(migration.path)}:{statement_line + error.line - 1}"
        else:
            where = f"{display_path(migration.path)}:{statement_line}"
        text = shorten(source[statement.start : statement.end])
        if rolled_back:
            outcome = (
                f"{migration.version} was rolled back and left no trace. Fix it and run "
                "sqlmigrate_apply again."
            )
        elif migration.transactional and exc.not_undone_reason:
            outcome = (
                f"It was rolled back, but {exc.not_undone_reason}: what statements 1-"
                f"{exc.index} of {len(statements)} did may stay in the database, so "
                f"{migration.version} is recorded as failed and sqlmigrate_apply will refuse to "
                "continue. Check and undo what stayed by hand, then run `manage.py "
                "sqlmigrate_repair` (the file runs again from its first statement) or `manage.py "
                f"sqlmigrate_repair --mark-applied {migration.version}`."
            )
        elif exc.rolled_back_open:
            outcome = self._rolled_back_outcome(migration, source, statements, exc)
        elif exc.index == 0:
            outcome = (
                f"No statement of {migration.version} had run, so nothing is recorded. Fix it "
                "and run sqlmigrate_apply again."
            )
        else:
            kind = (
                "no-transaction file"
                if not migration.transactional
                else "file with DDL or transaction control"
            )
            outcome = (
                f"Statements 1-{exc.index} of {len(statements)} had already run and stay in the "
                f"database (a {kind} on {self.connection.vendor} cannot be rolled back), so "
                f"{migration.version} is recorded as failed and sqlmigrate_apply will refuse to "
                "continue. Finish or undo those statements by hand, then run `manage.py "
                "sqlmigrate_repair` (the file runs again from its first statement) or `manage.py "
                f"sqlmigrate_repair --mark-applied {migration.version}`."
            )
        detail = f"in statement {index + 1} (line {statement_line}): {text}"
        if error.span is not None:  # which of several statements sent together is not known
            start, end, why = error.span
            first_line, last_line = (
                line_and_column(source, start)[0],
                line_and_column(source, end)[0],
            )
            where = f"{display_path(migration.path)}:{first_line}"
            last = bisect_right(statements, end - 1, key=lambda s: s.start)
            detail = (
                f"in one of statements {index + 1}-{last} (lines {first_line}-{last_line}), sent "
                f"together: {why}"
                if last > index + 1
                else f"in statement {index + 1} (line {first_line}) or what was sent with it: {why}"
            )
        return MigrationFailed(
            migration.version,
            f"{where}: {error.text}\n  {detail}\n{outcome}",
            database_message=f"{where}: {error.text}",
        )

    def _rolled_back_outcome(
        self,
        migration: SqlMigration,
        source: bytes,
        statements: list[Statement],
        exc: StatementFailed,
    ) -> str:
        """What stays after a no-transaction file failed inside a transaction it had opened
        (rolled back now, as the vendor's client does at the end of a session)."""
        repair = (
            "Finish or undo what stayed by hand, then run `manage.py sqlmigrate_repair` (the "
            "file runs again from its first statement) or `manage.py sqlmigrate_repair "
            f"--mark-applied {migration.version}`."
        )
        if exc.opened is None:
            return (
                f"It failed inside a transaction the file had opened, which was rolled back; "
                f"which of statements 1-{exc.index} stay in the database could not be told, so "
                f"{migration.version} is recorded as interrupted. {repair}"
            )
        opener = statements[exc.opened]
        line, _ = line_and_column(source, opener.start)
        rolled = f"Statements {exc.opened + 1}-{exc.index + 1}"
        opened = (
            f"ran inside the transaction opened by statement {exc.opened + 1} (line {line}: "
            f"{shorten(source[opener.start : opener.end], 60)}) and were rolled back with it"
        )
        if exc.opened == 0:
            return (
                f"{rolled} {opened}: nothing of {migration.version} stays and nothing is "
                "recorded. Fix it and run sqlmigrate_apply again."
            )
        return (
            f"{rolled} {opened}; statements 1-{exc.opened} of {len(statements)} had already "
            f"run and stay in the database, so {migration.version} is recorded as failed and "
            f"sqlmigrate_apply will refuse to continue. {repair}"
        )

    def _left_open(
        self,
        migration: SqlMigration,
        source: bytes,
        statements: list[Statement],
        exc: StatementFailed,
    ) -> MigrationFailed:
        """A no-transaction file ended inside a transaction it opened and never committed: it
        was rolled back, as psql, sqlite3 and mariadb do when their input ends inside one."""
        path = display_path(migration.path)
        total = len(statements)
        fix = "Add the missing COMMIT at the end of the file"
        if exc.opened is None:
            where, head = path, "the file left a transaction open"
            what = (
                "the file left a transaction open at its end, which was rolled back (as psql, "
                "sqlite3 and mariadb do when a file ends inside one); which of its "
                f"{total} statements stay in the database could not be told, so "
                f"{migration.version} is recorded as interrupted. {fix}, check what stayed, "
                "then run `manage.py sqlmigrate_repair` and sqlmigrate_apply again."
            )
        else:
            opener = statements[exc.opened]
            line, _ = line_and_column(source, opener.start)
            where = f"{path}:{line}"
            text = shorten(source[opener.start : opener.end], 60)
            head = (
                f"statement {exc.opened + 1} ({text}) opened a transaction that the file never "
                "commits"
            )
            what = (
                f"{head}. It was rolled back at the end of the file, as psql, sqlite3 and "
                f"mariadb do: statements {exc.opened + 1}-{total} of {total} left nothing in "
                "the database"
            )
            if exc.opened == 0:
                what += f", and nothing is recorded. {fix} and run sqlmigrate_apply again."
            else:
                what += (
                    f"; statements 1-{exc.opened} had already run and stay, so "
                    f"{migration.version} is recorded as failed and sqlmigrate_apply will refuse "
                    f"to continue. {fix}, then run `manage.py sqlmigrate_repair` (the file runs "
                    "again from its first statement) and sqlmigrate_apply."
                )
        return MigrationFailed(
            migration.version,
            f"{where}: {what}",
            database_message=f"{where}: {head}; it was rolled back at the end of the file",
        )

    def _interrupted(
        self, migration: SqlMigration, statements: list[Statement], exc: RunInterrupted
    ) -> MigrationFailed:
        """One paragraph for a file whose run was cut short, saying what it left: read back
        from the history on a new connection when the old one is gone, never written (the
        migration lock went with the old session)."""
        try:
            source = migration.read()
        except SourceError:  # gone since it ran: the message says less
            source = b""
        version, total, index = migration.version, len(statements), exc.index
        where = display_path(migration.path)
        running = "after its last statement"
        if index < total and source:
            statement = statements[index]
            line, _ = line_and_column(source, statement.start)
            where = f"{where}:{line}"
            text = shorten(source[statement.start : statement.end])
            running = f"in statement {index + 1} (line {line}): {text}"
        recorded, unreadable = self._read_back(version, reconnect=exc.lost)
        if exc.transactional:
            if unreadable is not None:
                outcome = (
                    f"Whether {version} had been committed is not known: the history could not be "
                    f"read again ({unreadable}). A row for {version} in {self.recorder.table} means "
                    "it is applied; without one nothing of it stays. Then run sqlmigrate_apply "
                    "again."
                )
            elif recorded:
                outcome = (
                    f"{version} had been committed and recorded as applied before that, and stays "
                    "applied. Run sqlmigrate_apply again for the files after it."
                )
            elif recorded is None:
                outcome = (
                    f"The database rolled {version} back: nothing of it stays and nothing is "
                    "recorded. Run sqlmigrate_apply again once the database can be reached."
                )
            else:
                outcome = f"{version} is recorded as failed: see sqlmigrate_status."
        else:
            if index >= total:
                progress = (
                    f"All {total} statements of {version} had run and stay in the database; its "
                    "history row could not be marked as successful."
                )
            else:
                ran = (
                    f"Statements 1-{index} of {total} had run and stay in the database"
                    if index
                    else f"None of the {total} statements had finished"
                )
                progress = f"{ran}; whether statement {index + 1} took effect is not known."
            outcome = (
                f"{progress} The history keeps {version} as interrupted (its row is written "
                "before such a file starts), so sqlmigrate_apply refuses to continue until you "
                "have checked the database and run `manage.py sqlmigrate_repair` (the file runs "
                f"again from its first statement) or `manage.py sqlmigrate_repair --mark-applied "
                f"{version}`."
            )
        return MigrationFailed(
            version, f"{where}: {exc}\n  {running}\n{outcome}", database_message=f"{where}: {exc}"
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
