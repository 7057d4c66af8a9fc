"""What every vendor shares: running statements one by one and reporting where one failed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from django.db import DatabaseError

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    # Imported where SQL is split or classified: importing the splitter compiles its regexes.
    from ..splitter import Dialect, Statement

# Statements that open or close the transaction a migration already runs in.
TRANSACTION_START = frozenset({("BEGIN",), ("START", "TRANSACTION")})
TRANSACTION_END = frozenset({("COMMIT",), ("END",)})
TRANSACTION_ABORT = frozenset({("ROLLBACK",), ("ABORT",)})


class DatabaseMessage(NamedTuple):
    """A database error, reduced to what a user needs: the text and where it points."""

    text: str
    position: int | None = None  # 1-based character position in the text that was sent
    line: int | None = None  # 1-based line in the text that was sent, when only that is known
    # (start, end, why): the byte offsets of statements sent together, one of which failed,
    # when which one cannot be told (the database and the splitter disagree on where they end).
    span: tuple[int, int, str] | None = None


class StatementFailed(Exception):
    """Statement ``index`` failed; ``sent_start`` is the byte offset of the text it was sent in.

    A file run statement by statement can also fail after its last statement (``index`` is
    then the number of statements and ``left_open`` is set): it left a transaction open.
    """

    def __init__(self, index: int, sent_start: int, error: DatabaseMessage) -> None:
        super().__init__(error.text)
        self.index = index
        self.sent_start = sent_start
        self.error = error
        # A transaction the file opened itself (BEGIN, SET autocommit = 0...) was rolled back:
        # statements ``opened`` (0-based, None if it could not be told) to ``index`` with it.
        self.rolled_back_open = False
        self.opened: int | None = None
        self.left_open = False  # no statement failed: the file ended inside that transaction
        # A file run in one transaction: False when the rollback could not undo all it did.
        self.undone = True
        self.not_undone_reason = ""

    @property
    def applied(self) -> int | None:
        """How many of the file's first statements ran and stay (None: unknown)."""
        return self.opened if self.rolled_back_open else self.index


def transaction_effect(words: tuple[str, ...]) -> str | None:
    """What a statement run in autocommit does to the session's transaction: 'start' (it
    opens one, committing any open), 'end' (it commits or rolls back), or None.

    Vendors add their own (``BaseBackend.transaction_effect``). Used on the failure path only.
    """
    kind = transaction_control(words)
    if kind == "start" and words[:1] == ("START",) and words[1:2] != ("TRANSACTION",):
        return None
    if kind in ("end", "abort"):
        if words[1:2] == ("PREPARED",):  # PostgreSQL's COMMIT/ROLLBACK PREPARED 'gid'
            return None
        if "TO" in words[1:3]:  # ROLLBACK WORK TO SAVEPOINT x
            return None
        if "CHAIN" in words[1:4] and "NO" not in words[1:4]:  # a new one starts at once
            return "start"
        return "end"
    return kind


class RunInterrupted(DatabaseError):
    """A file's run ended without a statement of it failing: the connection was lost
    (``lost``: the server terminated it, or the backend closed it after an answer it cannot
    continue from; the session, its locks and its open transaction are gone with it), or the
    database answered in a way the file cannot go on from after its COMMIT had been sent.
    Statement ``index`` (0-based; the number of statements when it was after the last) was
    running or next."""

    def __init__(self, message: str, index: int, *, transactional: bool, lost: bool) -> None:
        super().__init__(message)
        self.index = index
        self.transactional = transactional
        self.lost = lost


# severity ("NOTICE", "WARNING"...), message, 1-based line in the file (None: none applies)
NoticeSink = Callable[[str, str, int | None], None]


def transaction_control(words: tuple[str, ...]) -> str | None:
    """'start', 'end' or 'abort' for BEGIN/COMMIT/ROLLBACK-like statements (``words``: their
    first three, from ``leading_words``)."""
    if words[:1] in TRANSACTION_START or words[:2] in TRANSACTION_START:
        # BEGIN ATOMIC / BEGIN NOT ATOMIC are blocks, not transactions.
        return None if words[1:2] in (("ATOMIC",), ("NOT",)) else "start"
    if words[:1] in TRANSACTION_END:
        return "end"
    if words[:1] in TRANSACTION_ABORT and "TO" not in words[1:3]:
        # ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] x undoes part of it and keeps it open.
        return "abort"
    return None


class BaseBackend:
    dialect: ClassVar[Dialect]
    vendor: ClassVar[str]
    # Where the database's notices and warnings for the file being run go; set by the executor
    # around each file. A backend reports them as they arrive, with the line they belong to.
    notice_sink: NoticeSink | None = None

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    # -- locking ---------------------------------------------------------------------------
    @contextmanager
    def lock(self, timeout: float, name: str) -> Iterator[None]:
        """Hold the migration lock called ``name`` (the recorder's ``lock_name``) while the
        block runs, waiting at most ``timeout`` seconds for it (LockTimeout)."""
        raise NotImplementedError

    def release(self, sql: str, params: list[str] | None = None) -> None:
        """Release a session lock; on a dead connection the lock went with the session.

        Raising then would hide the error that broke the connection, the one worth reporting.
        """
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(sql, params)
        except DatabaseError:
            if self.connection.is_usable():
                raise

    # -- reading ---------------------------------------------------------------------------
    def fetch_as_orm(self, sql: str) -> list[tuple[Any, ...]] | None:
        """The rows of ``sql`` with the values the ORM would return, if this vendor can do it
        faster than the ORM; None to let the ORM run the query."""
        return None

    # -- what may run where ----------------------------------------------------------------
    def never_committed(self, words: tuple[str, ...]) -> str | None:
        """Why a statement of a no-transaction file would leave its work uncommitted once the
        session is idle again (where no open transaction is left to notice), if it would."""
        return None

    def refused_in_transaction(self, words: tuple[str, ...], sql: bytes) -> str | None:
        """Why the database would refuse this statement inside a transaction, if it would."""
        return None

    def unencodable(self, source: bytes) -> tuple[int, str] | None:
        """The byte offset of the first character this connection cannot carry, and why
        (a clause: "which ...")."""
        return None

    def runs_in_transaction(self, source: bytes, statements: Sequence[Statement]) -> bool:
        """Whether a transactional file really gets atomic behaviour on this vendor."""
        return True

    # -- running ---------------------------------------------------------------------------
    def execute(
        self,
        source: bytes,
        statements: Sequence[Statement],
        *,
        transactional: bool,
    ) -> None:
        """Run ``statements`` in order; raise StatementFailed at the first failure.

        Then, failed or not, put the session back as it was before the first file
        (``restore_session``): the vendor's client would run each file in a session of its
        own, and the history row is written on this one next.
        """
        self.snapshot_session()
        # In autocommit, a transaction open after the file is the file's (inside a caller's
        # transaction.atomic, the caller's).
        own = not transactional and self.connection.get_autocommit()
        try:
            self.run_statements(source, statements, transactional=transactional)
        except StatementFailed as failure:
            try:
                left_open = self.restore_session(source, transactional=not own)
            except DatabaseError as exc:
                if self.connection.is_usable():
                    raise DatabaseError(
                        f"{failure.error.text} Then putting the session back as it was before "
                        f"the first file failed too: {exc}"
                    ) from exc
                raise failure from None
            if own:
                self.note_open_transaction(source, statements, failure, left_open)
            raise
        try:
            left_open = self.restore_session(source, transactional=not own)
        except DatabaseError as exc:
            raise DatabaseError(
                f"Putting the session back as it was before the first file failed: {exc}"
            ) from exc
        if own:
            self.check_open_transaction(source, statements, left_open)

    def snapshot_session(self) -> None:
        """Note the session's settings before the first file runs (once per run)."""

    def restore_session(self, source: bytes, *, transactional: bool) -> bool | None:
        """Put back what the file ``source`` changed in the session since the snapshot.

        First, after a file run statement by statement in autocommit (``transactional``
        False), roll back a transaction it left open, as the vendor's client does when a session ends: nothing is
        left uncommitted in the session the history row is written on. True when one was;
        None when this server cannot tell (then the file's statements are read instead).
        """
        return False

    # -- a transaction a file run statement by statement opened itself -----------------------
    def transaction_effect(self, words: tuple[str, ...], sql: bytes) -> str | None:
        """'start', 'end', or this vendor's own kinds (see ``opened_at``), for a statement run
        in autocommit."""
        return transaction_effect(words)

    def opened_at(self, source: bytes, statements: Sequence[Statement], ran: int) -> int | None:
        """The statement that opened the transaction still open after the first ``ran``
        statements ran in autocommit, read from their leading words (None: none is open;
        ``ran``: autocommit is off, so the next statement opens one).

        Kinds: 'start' opens one (committing any open), 'end' closes it, 'commit' commits
        implicitly (MySQL DDL), 'lock'/'unlock' (MySQL's LOCK TABLES commits; UNLOCK TABLES
        too, while tables are locked), 'autocommit_off'/'autocommit_on' (MySQL: with
        autocommit off the next statement opens one), 'savepoint'/'release' (SQLite: a
        SAVEPOINT outside a transaction opens one; releasing that outermost one commits it).
        """
        from ..splitter import leading_words

        opened: int | None = None
        autocommit = True
        locked = False  # MySQL: LOCK TABLES in force
        savepoints: list[str] = []  # SQLite: the savepoints of a transaction SAVEPOINT opened
        for index in range(ran):
            statement = statements[index]
            sql = source[statement.start : statement.end]
            words = leading_words(sql, 4)
            effect = self.transaction_effect(words, sql)
            if effect == "unlock":  # UNLOCK TABLES commits only while LOCK TABLES holds
                effect, locked = ("commit" if locked else None), False
            elif effect == "lock":
                effect, locked = "commit", True
            if effect == "start":  # (BEGIN releases table locks too)
                opened, savepoints, locked = index, [], False
            elif effect in ("end", "commit", "autocommit_on"):
                opened, savepoints = None, []
                autocommit = autocommit or effect == "autocommit_on"
            elif effect == "autocommit_off":
                autocommit = False
            elif effect == "savepoint":
                name = words[1] if len(words) > 1 else ""
                if opened is None:
                    opened, savepoints = index, [name]
                elif savepoints:
                    savepoints.append(name)
            elif effect == "release" and savepoints:
                name = words[-1] if len(words) > 1 else ""
                if name in savepoints:
                    del savepoints[savepoints.index(name) :]
                    if not savepoints:
                        opened = None
            if not autocommit and opened is None:
                # Autocommit off: the next statement opens a transaction (after a COMMIT or
                # DDL too, which commit the one before).
                opened = index + 1
        return opened

    def roll_back(self) -> None:
        """End the transaction a file left open, as the vendor's client would."""
        with self.connection.cursor() as cursor:
            cursor.execute("ROLLBACK")

    def note_open_transaction(
        self,
        source: bytes,
        statements: Sequence[Statement],
        failure: StatementFailed,
        left_open: bool | None,
    ) -> None:
        """A statement of a file run in autocommit failed: if it ran inside a transaction the
        file had opened, that transaction is gone (rolled back here, or by the server), and
        the statements since it opened with it."""
        opened = self.opened_at(source, statements, failure.index)
        if left_open is None and opened is not None:  # the server cannot tell: the file can
            self.roll_back()
        if opened is not None and opened >= failure.index:
            return  # autocommit off: the failed statement was the transaction's first
        if left_open or opened is not None:
            failure.rolled_back_open = True
            failure.opened = opened

    def check_open_transaction(
        self, source: bytes, statements: Sequence[Statement], left_open: bool | None
    ) -> None:
        """Fail a file run in autocommit that ended inside a transaction (rolled back by now):
        reporting it applied would be false, its last statements were never committed."""
        opened = None
        if left_open is not False:
            opened = self.opened_at(source, statements, len(statements))
            if opened == len(statements):  # autocommit off after the last statement
                opened = None
        if left_open is None:
            left_open = opened is not None
            if left_open:
                self.roll_back()
        if not left_open:
            return
        failure = StatementFailed(
            len(statements),
            len(source),
            DatabaseMessage("the file ended inside a transaction it had opened"),
        )
        failure.rolled_back_open = True
        failure.opened = opened
        failure.left_open = True
        raise failure

    def run_statements(
        self,
        source: bytes,
        statements: Sequence[Statement],
        *,
        transactional: bool,
    ) -> None:
        from ..splitter import leading_words

        sink = self.notice_sink
        with self.connection.cursor() as cursor:
            counted = self.warning_counter(cursor) if sink is not None else None
            for index, statement in enumerate(statements):
                sql = source[statement.start : statement.end]
                if transactional and transaction_control(leading_words(sql, 3)):
                    continue
                try:
                    cursor.execute(self.decode(sql))
                except DatabaseError as exc:
                    raise StatementFailed(index, statement.start, self.message(exc)) from exc
                if counted is not None and counted.warning_count:
                    assert sink is not None
                    line = source.count(b"\n", 0, statement.start) + 1
                    for severity, text in self.warnings(cursor):
                        sink(severity, text, line)

    def warning_counter(self, cursor: Any) -> Any:
        """The driver's cursor, if its ``warning_count`` says after each statement whether it
        left warnings (one attribute read a statement); None when the vendor has none."""
        return None

    def warnings(self, cursor: Any) -> list[tuple[str, str]]:
        """``(severity, text)`` of each warning the statement just run left."""
        return []

    # -- a file sent with its history row (records_with_file) ------------------------------
    # True where execute_recorded() sends a transactional file, the INSERT of its history row
    # and COMMIT together; the row is then stamped with the server's clock (server_clock: SQL
    # for "now" and "milliseconds since the file's BEGIN") and its values written as literals.
    records_with_file: ClassVar[bool] = False
    server_clock: ClassVar[tuple[bytes, bytes]] = (b"CURRENT_TIMESTAMP", b"NULL")

    def literal(self, value: object) -> bytes:
        """``value`` as an SQL literal, for a statement sent as text."""
        raise NotImplementedError

    def execute_recorded(
        self, source: bytes, statements: Sequence[Statement], record: Sequence[bytes]
    ) -> bool:
        """Run a transactional file, then ``record`` (the recorder's statements that record it),
        in one transaction of its own, committed; False, having done nothing, when a caller's
        transaction is open (it decides when to commit: the executor's atomic path runs)."""
        return False

    def decode(self, sql: bytes) -> str:
        # str on every vendor, as Django's own queries: execute_wrapper() functions and the
        # django.db.backends logger see what they would see for Django's migrate.
        return sql.decode("utf-8")

    def message(self, exc: BaseException) -> DatabaseMessage:
        cause = exc.__cause__ or exc
        return DatabaseMessage(str(cause).strip() or type(cause).__name__)

    # -- describing ------------------------------------------------------------------------
    def describe(self) -> dict[str, str]:
        """Vendor, host and database name, never the password."""
        settings = self.connection.settings_dict
        host = str(settings.get("HOST") or "")
        if settings.get("PORT"):
            host = f"{host}:{settings['PORT']}"
        if self.connection.vendor != "sqlite":
            host = host or "localhost"
        return {
            "alias": self.connection.alias,
            "vendor": self.connection.vendor,
            "host": host,
            "name": str(settings.get("NAME") or ""),
        }


def poll(try_once: Callable[[], bool], timeout: float) -> bool:
    """Call ``try_once`` until it returns True or ``timeout`` seconds pass, backing off."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while not try_once():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.5)
    return True
