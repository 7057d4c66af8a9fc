"""Decide what would run on one database, and why not: the read side of a migration.

Like Django's ``MigrationLoader`` and graph, the planner only reads. ``status()`` compares the
files with the history; ``assess()`` adds what applying needs to know (a target, the Django
migrations files depend on, the SQL of each pending file) and returns a ``Plan`` with every
problem found; ``plan()`` is that plan, refused while it has errors. ``sqlmigrate_status``,
``sqlmigrate_validate``, ``sqlmigrate_apply`` (``--plan`` included), the system checks and the
admin all go through these, so a finding reads the same wherever it is reported. The words of
each finding are in ``messages``.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import field
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

from django.db.backends.base.base import BaseDatabaseWrapper

from . import messages
from .backends import BaseBackend, get_backend
from .backends.base import transaction_control
from .conf import app_settings
from .dependencies import unmet_dependencies
from .exceptions import InvalidMigrations, UnknownTarget
from .frozen import Frozen, builder, frozen_dataclass
from .loader import (
    LoadResult,
    MigrationLoader,
    SourceError,
    SqlMigration,
    line_and_column,
    numbering_gaps,
    version_number,
)
from .namespaces import load_all
from .problems import Problem
from .recorder import AppliedMigration, HistoryEvent, MigrationRecorder

if TYPE_CHECKING:
    # The splitter compiles its regexes on import: only commands that split SQL pay for it
    # (sqlmigrate_status and a no-op sqlmigrate_apply never do; see docs/performance.md).
    from .splitter import Statement

OK, MODIFIED, MISSING, FAILED = "ok", "modified", "missing", "failed"


@contextmanager
def without_gc() -> Iterator[None]:
    """Bulk reading builds tens of thousands of objects and no reference cycles; the cyclic
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


@frozen_dataclass
class AppliedState(Frozen):
    """A history row next to the file it came from (``migration`` is None when it is gone)."""

    row: AppliedMigration
    state: str  # OK, MODIFIED, MISSING or FAILED
    migration: SqlMigration | None


@frozen_dataclass
class Status(Frozen):
    """What ``sqlmigrate_status`` shows for one database."""

    database: dict[str, str]
    applied: tuple[AppliedState, ...]  # rows of runs that succeeded (or were recorded so)
    pending: tuple[SqlMigration, ...]
    problems: tuple[Problem, ...]
    allowed: bool = True  # False: the routers refuse SQL migrations on this database
    failed: tuple[AppliedState, ...] = ()  # rows of runs that failed part-way
    # What happened besides applying: failures, repairs, renames, rollbacks (oldest first).
    events: tuple[HistoryEvent, ...] = ()

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.is_error]

    @property
    def rows(self) -> tuple[AppliedState, ...]:
        """Every history row: the applied ones, then the failed ones."""
        return self.applied + self.failed


@frozen_dataclass
class Plan(Frozen):
    """What ``apply`` would run, in order, and everything found on the way.

    ``statements`` holds each planned file's statements, already split (the executor runs
    them); ``problems`` the errors that refuse the plan and the warnings that don't.
    """

    migrations: tuple[SqlMigration, ...]
    problems: tuple[Problem, ...] = ()
    statements: Mapping[str, Sequence[Statement]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if not problem.is_error]


class MigrationPlanner:
    """The files and the history of one database, compared. Never writes."""

    def __init__(
        self,
        connection: BaseDatabaseWrapper,
        *,
        alias: str | None = None,
        dirs: Sequence[Path] | None = None,
    ) -> None:
        self.connection = connection
        # The database migrated, when ``connection`` is another alias reaching it (a direct
        # connection beside a PgBouncer one): its folders and routers are this alias's.
        self.alias = alias or connection.alias
        self.dirs = list(dirs) if dirs is not None else None
        self.backend: BaseBackend = get_backend(connection)
        self.recorder = MigrationRecorder(connection, self.backend)
        self._loaded: LoadResult | None = None

    def describe(self) -> dict[str, str]:
        """Vendor, host and database name of the database (never the password)."""
        database = self.backend.describe()
        if self.alias != self.connection.alias:
            database = {**database, "alias": self.alias, "via": self.connection.alias}
        return database

    def load(self) -> LoadResult:
        """The migration files, read once per planner."""
        if self._loaded is None:
            if self.dirs is None:  # the settings: project folders and apps' folders
                self._loaded = load_all(app_settings.dirs_for(self.alias), self.alias)
            else:
                self._loaded = MigrationLoader(self.dirs).load()
        return self._loaded

    def file_errors(self) -> list[Problem]:
        """What is wrong with the files themselves (names, duplicates, encodings, headers)."""
        return [problem for problem in self.load().problems if problem.is_error]

    def up_to_date(self) -> bool:
        """No file pending, modified or failed (the errors ``status`` could add), read at the
        least cost: what a deploy with nothing to do pays.

        Rows of files no longer on disk are only a warning, as in ``status``.
        """
        recorded = self.recorder.checksums()
        for migration in self.load().migrations:
            row = recorded.get(migration.version)
            if row is None or row[0] != migration.checksum:
                return False
        return all(success for _, success in recorded.values())

    # -- the history against the files -----------------------------------------------------
    def status(
        self, applied: dict[str, AppliedMigration] | None = None, *, events: bool = True
    ) -> Status:
        """Applied and failed rows with their state, pending files, every problem found and,
        with ``events``, the history's events (``applied``: the history, when the caller has
        read it already; planning then reads no events)."""
        with without_gc():
            loaded = self.load()
            if applied is None:
                applied = self.recorder.applied()
            else:
                events = False
            found = tuple(self.recorder.events(routine=False)) if events else ()
            return self._compare(loaded, applied, found)

    def _compare(
        self,
        loaded: LoadResult,
        applied: dict[str, AppliedMigration],
        events: tuple[HistoryEvent, ...],
    ) -> Status:
        # One pass over the history: status on 10 000 files must stay close to the start-up.
        files = loaded.by_version
        problems = list(loaded.problems)
        rows = []
        failed = []
        highest: dict[str | None, int] = {}  # per namespace: an app's numbers are its own
        # Rows whose file is gone, by (namespace, number): a pending file with that number is
        # the same migration renamed, or a new one reusing the number; either way not to run.
        gone: dict[tuple[str | None, int], AppliedMigration] = {}
        make = builder(AppliedState)
        for version, row in applied.items():
            migration = files.get(version)
            if migration is None:
                key = version_number(version)
                if key is not None:
                    gone.setdefault(key, row)
            elif migration.number > highest.get(migration.app_label, 0):
                highest[migration.app_label] = migration.number
            if not row.success:
                problems.append(messages.failed(row, migration))
                failed.append(make(row, FAILED, migration))
                continue
            if migration is None:
                state = MISSING
                problems.append(messages.missing(version))
            elif migration.checksum != row.checksum:
                state = MODIFIED
                problems.append(messages.modified(row, migration))
            else:
                state = OK
            rows.append(make(row, state, migration))
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
                problems.append(messages.out_of_order(migration, top))
        return Status(
            self.describe(),
            tuple(rows),
            tuple(pending),
            tuple(problems),
            failed=tuple(failed),
            events=events,
        )

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
            top = max(
                [m.number for m in migrations if m.app_label == migration.app_label]
                + [number for label, number in gone if label == migration.app_label]
            )
            problems.append(messages.reused_number(migration, row, top))
        if not replaced:
            return problems
        return [p for p in problems if not (p.code == "W002" and p.version in replaced)]

    # -- what would run --------------------------------------------------------------------
    def assess(
        self,
        *,
        target: str | None = None,
        allow_out_of_order: bool = False,
        applied: dict[str, AppliedMigration] | None = None,
        gaps: bool = False,
    ) -> Plan:
        """The pending migrations up to ``target``, with every problem found on the way: the
        status's, skipped numbers (``gaps``, as sqlmigrate_validate reports them), Django
        migrations that files depend on, and the SQL of each planned file."""
        loaded = self.load()
        status = self.status(applied, events=False)
        problems = [p for p in status.problems if not (allow_out_of_order and p.code == "E010")]
        if gaps:
            problems += self.gaps()
        pending = list(status.pending)
        if target is not None:
            pending = self._up_to(target, loaded.migrations, pending)
        problems += unmet_dependencies(self.connection, pending)
        statements = {}
        for migration in pending:
            found, sql_problems = self.check_sql(migration)
            statements[migration.version] = found
            problems += sql_problems
        return Plan(tuple(pending), tuple(problems), statements)

    def plan(
        self,
        *,
        target: str | None = None,
        allow_out_of_order: bool = False,
        applied: dict[str, AppliedMigration] | None = None,
    ) -> Plan:
        """``assess()``, refused (InvalidMigrations) while it has errors."""
        found = self.assess(target=target, allow_out_of_order=allow_out_of_order, applied=applied)
        if found.errors:
            raise InvalidMigrations(found.errors)
        return found

    def gaps(self) -> list[Problem]:
        """W001 for numbers skipped in each namespace."""
        problems = []
        by_app = sorted(self.load().migrations, key=lambda m: m.app_label or "")
        for label, migrations in groupby(by_app, key=lambda m: m.app_label):
            problems += numbering_gaps(sorted(migrations, key=lambda m: m.number), label)
        return problems

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

    # -- the SQL of one file ---------------------------------------------------------------
    def check_sql(self, migration: SqlMigration) -> tuple[list[Statement], list[Problem]]:
        """Split a file and find what would make it fail before it runs."""
        from .splitter import SplitError, leading_words, split

        try:
            source = migration.read()
            statements = list(split(source, self.backend.dialect))
        except SourceError as exc:
            return [], [messages.unreadable(migration, exc)]
        except SplitError as exc:
            return [], [messages.unsplittable(migration, source, exc)]
        problems = []
        unencodable = self.backend.unencodable(source)
        if unencodable is not None:
            problems.append(messages.unencodable(migration, source, *unencodable))
        if not statements and not migration.allow_empty:
            problems.append(messages.empty(migration))
        for statement in statements:
            if statement.copy_to_stdout:  # the splitter tells (PostgreSQL only)
                line, _ = line_and_column(source, statement.start)
                problems.append(messages.copy_to_stdout(migration, line))
        if migration.transactional:
            for statement in statements:
                sql = source[statement.start : statement.end]
                words = leading_words(sql, 6)
                reason = self.backend.refused_in_transaction(words, sql)
                if reason is None and transaction_control(words) == "abort":
                    reason = f"{words[0]} would throw away the migration's own transaction"
                if reason:
                    line, _ = line_and_column(source, statement.start)
                    problems.append(messages.refused_in_transaction(migration, line, reason))
        else:
            for statement in statements:
                reason = self.backend.never_committed(
                    leading_words(source[statement.start : statement.end], 2)
                )
                if reason:
                    line, _ = line_and_column(source, statement.start)
                    problems.append(messages.never_committed(migration, line, reason))
        return statements, problems
