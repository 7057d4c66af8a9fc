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
    """Statement ``index`` failed; ``sent_start`` is the byte offset of the text it was sent in."""

    def __init__(self, index: int, sent_start: int, error: DatabaseMessage) -> None:
        super().__init__(error.text)
        self.index = index
        self.sent_start = sent_start
        self.error = error


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
    """'start', 'end' or 'abort' for BEGIN/COMMIT/ROLLBACK-like statements."""
    if words[:1] in TRANSACTION_START or words[:2] in TRANSACTION_START:
        # BEGIN ATOMIC / BEGIN NOT ATOMIC are blocks, not transactions.
        return None if words[1:2] in (("ATOMIC",), ("NOT",)) else "start"
    if words[:1] in TRANSACTION_END:
        return "end"
    if words[:1] in TRANSACTION_ABORT and words[1:2] != ("TO",):
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
    def lock(self, timeout: float) -> Iterator[None]:
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
    def refused(self, source: bytes, statement: Statement) -> str | None:
        """Why this statement cannot run in a migration at all, if it cannot (asked of every
        statement: a glance at its first bytes)."""
        return None

    def refused_in_transaction(self, words: tuple[str, ...], sql: bytes) -> str | None:
        """Why the database would refuse this statement inside a transaction, if it would."""
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
        try:
            self.run_statements(source, statements, transactional=transactional)
        except StatementFailed as failure:
            try:
                self.restore_session(source)
            except DatabaseError as exc:
                if self.connection.is_usable():
                    raise DatabaseError(
                        f"{failure.error.text} Then putting the session back as it was before "
                        f"the first file failed too: {exc}"
                    ) from exc
            raise
        try:
            self.restore_session(source)
        except DatabaseError as exc:
            raise DatabaseError(
                f"Putting the session back as it was before the first file failed: {exc}"
            ) from exc

    def snapshot_session(self) -> None:
        """Note the session's settings before the first file runs (once per run)."""

    def restore_session(self, source: bytes) -> None:
        """Put back what the file ``source`` changed in the session since the snapshot."""

    def run_statements(
        self,
        source: bytes,
        statements: Sequence[Statement],
        *,
        transactional: bool,
    ) -> None:
        from ..splitter import leading_words

        with self.connection.cursor() as cursor:
            for index, statement in enumerate(statements):
                sql = source[statement.start : statement.end]
                if transactional and transaction_control(leading_words(sql, 2)):
                    continue
                try:
                    cursor.execute(self.decode(sql))  # type: ignore[arg-type]  # bytes for MySQLdb
                except DatabaseError as exc:
                    raise StatementFailed(index, statement.start, self.message(exc)) from exc

    def execute_recorded(
        self, source: bytes, statements: Sequence[Statement], row: dict[str, Any]
    ) -> bool:
        """Run a transactional file with its history ``row`` in one transaction of its own,
        committed; False, having done nothing, when the vendor leaves that to the executor's
        ``transaction.atomic`` (``row`` lacks ``applied_at`` and ``execution_time_ms``)."""
        return False

    def decode(self, sql: bytes) -> str | bytes:
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
