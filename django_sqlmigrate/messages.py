"""Every user-facing text the planner and the executor produce, in one place.

The planner decides *that* something is wrong and the executor *what happened*; the words, the
hints and the instructions are built here, from plain values. Nothing here reads or writes a
database or a file, so a rollback, a baseline or a retry that needs a new paragraph adds it
here, next to the ones it resembles.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .exceptions import MigrationFailed
from .loader import SourceError, SqlMigration, line_and_column
from .problems import Problem, display_path

if TYPE_CHECKING:
    from .backends import RunInterrupted, StatementFailed
    from .recorder import AppliedMigration
    from .splitter import SplitError, Statement

REPAIR = (
    "run `manage.py sqlmigrate_repair` (the file runs again from its first statement) or "
    "`manage.py sqlmigrate_repair --mark-applied {version}`"
)


def shorten(sql: bytes, limit: int = 200) -> str:
    """A statement in one line of at most ``limit`` characters, passwords scrubbed."""
    from .redact import redact  # before collapsing and cutting, which would hide a password

    # The start of a 50 MB statement is enough to show 200 characters of it.
    text = " ".join(redact(sql[: limit * 256].decode("utf-8", "replace")).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _when(row: AppliedMigration) -> str:
    return f"{row.applied_at:%Y-%m-%d %H:%M:%S %Z}"


# -- the history against the files (the planner's status) -------------------------------------
def failed(row: AppliedMigration, migration: SqlMigration | None) -> Problem:
    """E011: a row left failed by a run that could not be rolled back."""
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
        f"{row.version} failed on {_when(row)} and could not be rolled back: {progress}.{error}",
        hint=(
            "Finish or undo those statements by hand, then run `manage.py sqlmigrate_repair` "
            "to clear the failed record (the file runs again from its first statement), or "
            f"`manage.py sqlmigrate_repair --mark-applied {row.version}` if you completed it."
        ),
        path=migration.path if migration else None,
        version=row.version,
    )


def missing(version: str) -> Problem:
    """W002: an applied row whose file is in no folder."""
    return Problem(
        "W002",
        f"{version} is recorded as applied but its file is not in any migrations folder.",
        hint="Expected after deploying older code; otherwise restore the file.",
        version=version,
    )


def modified(row: AppliedMigration, migration: SqlMigration) -> Problem:
    """E009: an applied file whose text changed since."""
    return Problem(
        "E009",
        f"{row.version} was modified after it was applied (applied {row.checksum}, file now "
        f"{migration.checksum}).",
        hint=(
            "Applied migrations must not change: restore the file (git checkout) and put the "
            "change in a new migration. If the edit is cosmetic, accept it with `manage.py "
            "sqlmigrate_repair --update-checksums`."
        ),
        path=migration.path,
        version=row.version,
    )


def out_of_order(migration: SqlMigration, top: int) -> Problem:
    """E010: a pending file numbered below an applied one."""
    return Problem(
        "E010",
        f"{migration.version} is pending but numbered below {top}, which is already applied "
        "(usually two branches merged).",
        hint=(
            "Renumber it above the highest applied migration, or run "
            "sqlmigrate_apply --allow-out-of-order if it is independent."
        ),
        path=migration.path,
        version=migration.version,
    )


def reused_number(migration: SqlMigration, row: AppliedMigration, top: int) -> Problem:
    """E018: a pending file numbered like an applied row whose file is gone."""
    if row.checksum == migration.checksum:
        hint = (
            f"Its text is the same as {row.version}'s: if it is that file renamed, run "
            "`manage.py sqlmigrate_repair --accept-renames` to record the new name. If it is a "
            f"new migration, renumber it above {top}."
        )
    else:
        hint = (
            f"Its text differs from what {row.version} applied: if it is a new migration, "
            f"renumber it above {top}; if it is {row.version} renamed, restore its name (and "
            "its text)."
        )
    app = f" of app {migration.app_label!r}" if migration.app_label else ""
    return Problem(
        "E018",
        f"{migration.version} is pending, but number {migration.number}{app} is applied "
        f"already, as {row.version} ({_when(row).rstrip()}), whose file is gone. Applying it "
        "would run that number a second time.",
        hint=hint,
        path=migration.path,
        version=migration.version,
    )


# -- the SQL of a pending file (the planner's checks) -----------------------------------------
def unreadable(migration: SqlMigration, exc: SourceError) -> Problem:
    """E004/E017: a file that cannot be used as SQL text at all."""
    return Problem(exc.code, str(exc), path=migration.path, line=exc.line)


def unsplittable(migration: SqlMigration, source: bytes, exc: SplitError) -> Problem:
    """E007: an unterminated construct, or a client command no server understands."""
    line, column = line_and_column(source, exc.offset)
    return Problem(
        "E007",
        f"{exc.message} (starting at line {line}, column {column}).",
        hint=exc.hint or "Close it; psql/sqlite3/mysql would reject the file too.",
        path=migration.path,
        line=line,
        version=migration.version,
    )


def unencodable(migration: SqlMigration, source: bytes, offset: int, why: str) -> Problem:
    """E017: a character the connection cannot carry (``why``: "which ...")."""
    line, column = line_and_column(source, offset)
    character = source[offset:].decode("utf-8", "replace")[:1]
    return Problem(
        "E017",
        f"contains U+{ord(character):04X} ({character}) at line {line}, column {column}, {why}.",
        path=migration.path,
        line=line,
        version=migration.version,
    )


def empty(migration: SqlMigration) -> Problem:
    """E006: a file of comments and whitespace only."""
    return Problem(
        "E006",
        "contains no SQL statements (only comments or whitespace).",
        hint=(
            "Write the migration, or add the header line `-- sqlmigrate: allow-empty` if it "
            "is meant to be empty."
        ),
        path=migration.path,
        version=migration.version,
    )


def copy_to_stdout(migration: SqlMigration, line: int) -> Problem:
    """E019: PostgreSQL's ``COPY ... TO STDOUT``."""
    return Problem(
        "E019",
        "COPY ... TO STDOUT sends rows to the client, and a migration has nowhere to put them.",
        hint="Take the statement out of the migration.",
        path=migration.path,
        line=line,
        version=migration.version,
    )


def refused_in_transaction(migration: SqlMigration, line: int, reason: str) -> Problem:
    """E008: a statement the database refuses inside the file's transaction."""
    return Problem(
        "E008",
        f"{reason}, and this file runs in one.",
        hint=(
            "Add the header line `-- sqlmigrate: no-transaction` (then each statement commits "
            "on its own), or move the statement to a file of its own with that header."
        ),
        path=migration.path,
        line=line,
        version=migration.version,
    )


def never_committed(migration: SqlMigration, line: int, reason: str) -> Problem:
    """E019: a statement of a no-transaction file that would leave its work uncommitted."""
    return Problem(
        "E019",
        f"{reason}.",
        hint="Commit what the file does, or take the statement out.",
        path=migration.path,
        line=line,
        version=migration.version,
    )


# -- what a run did (the executor's failures) -------------------------------------------------
def vanished(migration: SqlMigration, exc: SourceError) -> MigrationFailed:
    """The file was removed, unreadable or changed between the plan and its turn."""
    return MigrationFailed(
        migration.version,
        f"{display_path(migration.path)}: the file {exc} Nothing of {migration.version} ran "
        "and nothing is recorded for it.",
    )


def unrecorded(error: MigrationFailed, record_error: Exception, version: str) -> MigrationFailed:
    """A failure whose history update failed too (the connection went with it)."""
    return MigrationFailed(
        version,
        f"{error}\nThe failure could not be recorded ({record_error}): the history keeps "
        f"{version} as interrupted, and sqlmigrate_apply refuses to continue until "
        "sqlmigrate_repair.",
    )


def statement_failed(
    migration: SqlMigration,
    source: bytes,
    statements: Sequence[Statement],
    exc: StatementFailed,
    *,
    rolled_back: bool,
    vendor: str,
) -> MigrationFailed:
    """A statement of the file failed: where (file:line:column), which, and what stays."""
    error = exc.error
    if exc.left_open:
        return left_open(migration, source, statements, exc)
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
        # A syntax error stops a whole multi-statement query before its first statement runs:
        # the statement at fault is the one the position points into, whatever the count of
        # results said.
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
    repair = REPAIR.format(version=migration.version)
    if rolled_back:
        outcome = (
            f"{migration.version} was rolled back and left no trace. Fix it and run "
            "sqlmigrate_apply again."
        )
    elif migration.transactional and exc.not_undone_reason:
        outcome = (
            f"It was rolled back, but {exc.not_undone_reason}: what statements 1-{exc.index} "
            f"of {len(statements)} did may stay in the database, so {migration.version} is "
            "recorded as failed and sqlmigrate_apply will refuse to continue. Check and undo "
            f"what stayed by hand, then {repair}."
        )
    elif exc.rolled_back_open:
        outcome = rolled_back_inside(migration, source, statements, exc)
    elif exc.index == 0:
        outcome = (
            f"No statement of {migration.version} had run, so nothing is recorded. Fix it and "
            "run sqlmigrate_apply again."
        )
    else:
        kind = (
            "no-transaction file"
            if not migration.transactional
            else "file with DDL or transaction control"
        )
        outcome = (
            f"Statements 1-{exc.index} of {len(statements)} had already run and stay in the "
            f"database (a {kind} on {vendor} cannot be rolled back), so {migration.version} is "
            "recorded as failed and sqlmigrate_apply will refuse to continue. Finish or undo "
            f"those statements by hand, then {repair}."
        )
    detail = f"in statement {index + 1} (line {statement_line}): {text}"
    if error.span is not None:  # which of several statements sent together is not known
        start, end, why = error.span
        first_line, last_line = line_and_column(source, start)[0], line_and_column(source, end)[0]
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


def rolled_back_inside(
    migration: SqlMigration, source: bytes, statements: Sequence[Statement], exc: StatementFailed
) -> str:
    """What stays after a no-transaction file failed inside a transaction it had opened
    (rolled back now, as the vendor's client does at the end of a session)."""
    repair = (
        "Finish or undo what stayed by hand, then run `manage.py sqlmigrate_repair` (the file "
        "runs again from its first statement) or `manage.py sqlmigrate_repair --mark-applied "
        f"{migration.version}`."
    )
    if exc.opened is None:
        return (
            "It failed inside a transaction the file had opened, which was rolled back; which "
            f"of statements 1-{exc.index} stay in the database could not be told, so "
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
            f"{rolled} {opened}: nothing of {migration.version} stays and nothing is recorded. "
            "Fix it and run sqlmigrate_apply again."
        )
    return (
        f"{rolled} {opened}; statements 1-{exc.opened} of {len(statements)} had already run and "
        f"stay in the database, so {migration.version} is recorded as failed and "
        f"sqlmigrate_apply will refuse to continue. {repair}"
    )


def left_open(
    migration: SqlMigration, source: bytes, statements: Sequence[Statement], exc: StatementFailed
) -> MigrationFailed:
    """A no-transaction file ended inside a transaction it opened and never committed: it was
    rolled back, as psql, sqlite3 and mariadb do when their input ends inside one."""
    path = display_path(migration.path)
    total = len(statements)
    fix = "Add the missing COMMIT at the end of the file"
    if exc.opened is None:
        where, head = path, "the file left a transaction open"
        what = (
            "the file left a transaction open at its end, which was rolled back (as psql, "
            f"sqlite3 and mariadb do when a file ends inside one); which of its {total} "
            f"statements stay in the database could not be told, so {migration.version} is "
            f"recorded as interrupted. {fix}, check what stayed, then run `manage.py "
            "sqlmigrate_repair` and sqlmigrate_apply again."
        )
    else:
        opener = statements[exc.opened]
        line, _ = line_and_column(source, opener.start)
        where = f"{path}:{line}"
        text = shorten(source[opener.start : opener.end], 60)
        head = (
            f"statement {exc.opened + 1} ({text}) opened a transaction that the file never commits"
        )
        what = (
            f"{head}. It was rolled back at the end of the file, as psql, sqlite3 and mariadb "
            f"do: statements {exc.opened + 1}-{total} of {total} left nothing in the database"
        )
        if exc.opened == 0:
            what += f", and nothing is recorded. {fix} and run sqlmigrate_apply again."
        else:
            what += (
                f"; statements 1-{exc.opened} had already run and stay, so {migration.version} "
                f"is recorded as failed and sqlmigrate_apply will refuse to continue. {fix}, "
                "then run `manage.py sqlmigrate_repair` (the file runs again from its first "
                "statement) and sqlmigrate_apply."
            )
    return MigrationFailed(
        migration.version,
        f"{where}: {what}",
        database_message=f"{where}: {head}; it was rolled back at the end of the file",
    )


def interrupted(
    migration: SqlMigration,
    source: bytes,
    statements: Sequence[Statement],
    exc: RunInterrupted,
    *,
    recorded: bool | None,
    unreadable: str | None,
    table: str,
) -> MigrationFailed:
    """A file whose run was cut short (the connection lost), and what it left: ``recorded`` is
    what its history row, read back afterwards, says (None: no row), ``unreadable`` why the
    history could not be read back at all."""
    version, total, index = migration.version, len(statements), exc.index
    where = display_path(migration.path)
    running = "after its last statement"
    if index < total and source:
        statement = statements[index]
        line, _ = line_and_column(source, statement.start)
        where = f"{where}:{line}"
        running = f"in statement {index + 1} (line {line}): {shorten(source[statement.start : statement.end])}"
    if exc.transactional:
        if unreadable is not None:
            outcome = (
                f"Whether {version} had been committed is not known: the history could not be "
                f"read again ({unreadable}). A row for {version} in {table} means it is "
                "applied; without one nothing of it stays. Then run sqlmigrate_apply again."
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
            f"{progress} The history keeps {version} as interrupted (its row is written before "
            "such a file starts), so sqlmigrate_apply refuses to continue until you have "
            f"checked the database and {REPAIR.format(version=version)}."
        )
    return MigrationFailed(
        version, f"{where}: {exc}\n  {running}\n{outcome}", database_message=f"{where}: {exc}"
    )
