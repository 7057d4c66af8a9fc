"""PostgreSQL through psycopg 3.

A transactional file is sent as a few multi-statement queries (simple query protocol) inside
one transaction: one round trip for a small file instead of one per statement, as psql would
need. PostgreSQL answers with one result per statement, so the failing statement is known from
the count of results before it (checked against the last command tag), or exactly from the
error position it reports, which maps back to the file. ``no-transaction`` files and
``COPY ... FROM STDIN`` go one statement at a time in autocommit.

Every query goes through the connection's ``execute_wrappers`` and is logged as Django's own
cursor logs it, when there are wrappers or queries are logged; otherwise straight to libpq.
Every result status libpq can return ends the file: the two COPY directions a batch may meet
are ended, anything else (a replication stream, a pipeline) closes the connection.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import re
import select
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import DatabaseError

from ..exceptions import LockTimeout
from .base import (
    BaseBackend,
    DatabaseMessage,
    RunInterrupted,
    StatementFailed,
    poll,
    transaction_control,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from psycopg.errors import Diagnostic
    from psycopg.pq.abc import PGconn, PGresult

    from ..splitter import Dialect, Statement

# Batches of statements up to this size go in one query; larger files are sent in several, so
# the client never holds a second copy of a big data file (libpq copies what it sends).
BATCH_BYTES = 1 << 20
# Sent in front of a transactional file's first batch, saving a round trip per file.
BEGIN_PREFIX = b"BEGIN;"
# Statements of ours sent after a file's own, and what to call each in an error.
Tail = tuple[bytes, str]
RESTORE = "Restoring the session after a file"
RECORD = "Recording the file in the history table"
COMMITTING = "COMMIT"
COMMIT: Tail = (b"COMMIT", COMMITTING)
# Ends a COPY ... FROM STDIN that reached the server inside a batch, without its rows.
COPY_IN_ABORT = b"sqlmigrate: COPY ... FROM STDIN without its rows"
COPY_IN_MESSAGE = (
    "ERROR: COPY ... FROM STDIN reached the server without its rows. Write them on the lines "
    "right after the statement, which must end its line, and end them with a line \\. as psql "
    "reads them; nothing of the COPY ran."
)
COPY_OUT_MESSAGE = (
    "ERROR: COPY ... TO STDOUT sends rows to the client, and a migration has nowhere to put "
    "them. Write them to a file on the server (COPY ... TO '/path/file') or leave the "
    "statement out."
)


class _Batch:
    """One query: ``size`` statements of the file from index ``first``, starting at byte
    ``start`` of the source and ``length`` bytes long, behind ``prefix`` bytes of ours
    (BEGIN;) and followed by ``tail``."""

    __slots__ = ("first", "length", "prefix", "size", "start", "tail")

    def __init__(
        self, first: int, start: int, *, length: int, prefix: int, size: int, tail: Sequence[Tail]
    ) -> None:
        self.first, self.start, self.length = first, start, length
        self.prefix, self.size, self.tail = prefix, size, tail


class PostgreSQLBackend(BaseBackend):
    dialect: ClassVar[Dialect] = "postgresql"
    vendor = "postgresql"
    records_with_file = True
    # The row's time is when it is written; the file's is since its BEGIN (transaction start).
    server_clock = (
        b"pg_catalog.clock_timestamp()",
        b"(extract(epoch FROM pg_catalog.clock_timestamp() - "
        b"pg_catalog.transaction_timestamp()) * 1000)::bigint",
    )
    _restore: list[Tail] | None = None

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        super().__init__(connection)
        # Notices received and not yet attributed to a statement: (severity, text).
        self._notices: list[tuple[str, str]] = []
        self._notice_error: Exception | None = None
        self._line_at = (0, 1)  # (byte offset, its line): lines of notices, counted onwards
        # The file being run: its source, statements and whether it is transactional.
        self._file: tuple[bytes, Sequence[Statement], bool] = (b"", (), True)

    # -- reading ---------------------------------------------------------------------------
    def fetch_as_orm(self, sql: str) -> list[tuple[Any, ...]] | None:
        # Django loads every timestamptz through a Python subclass of psycopg's loader that
        # swaps in the connection's tzinfo: 3 us a row, most of what reading 10 000 history
        # rows costs. In a UTC session (USE_TZ, the default TIME_ZONE) psycopg's own loader,
        # in C with psycopg[binary], returns the very same datetime.timezone.utc values.
        from psycopg import adapters, postgres, pq

        self.connection.ensure_connection()
        pgconn: PGconn = self.connection.connection.pgconn
        if not (
            self.connection.timezone is datetime.UTC
            and pgconn.parameter_status(b"TimeZone") == b"UTC"
        ):
            return None
        oid = postgres.types["timestamptz"].oid
        with self.connection.cursor() as cursor:
            cursor.cursor.adapters.register_loader(oid, adapters.get_loader(oid, pq.Format.TEXT))
            cursor.execute(sql)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows

    # -- locking ---------------------------------------------------------------------------
    @staticmethod
    def lock_key(name: str) -> int:
        """The advisory lock's 64-bit key for the lock called ``name``."""
        digest = hashlib.sha256(name.encode())
        return int.from_bytes(digest.digest()[:8], "big", signed=True)

    @contextmanager
    def lock(self, timeout: float, name: str) -> Iterator[None]:
        # pg_advisory_lock() would block inside the lock manager, where it deadlocks against a
        # concurrent CREATE INDEX CONCURRENTLY (which waits for every open transaction and
        # session). Polling pg_try_advisory_lock() keeps this session idle between tries.
        key = self.lock_key(name)
        with self.connection.cursor() as cursor:

            def attempt() -> bool:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                return bool(cursor.fetchone()[0])

            if not poll(attempt, timeout):
                raise LockTimeout(self._timeout_message(cursor, key, timeout))
        try:
            yield
        finally:
            self.release(f"SELECT pg_advisory_unlock({key})")

    def _timeout_message(self, cursor: Any, key: int, timeout: float) -> str:
        unsigned = key & 0xFFFFFFFFFFFFFFFF
        cursor.execute(
            "SELECT a.pid, a.application_name, a.usename, a.client_addr, a.backend_start, "
            "a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
            "AND l.objsubid = 1 AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            [unsigned >> 32, unsigned & 0xFFFFFFFF],
        )
        row = cursor.fetchone()
        if row:
            pid, application, user, address, since, state = row
            holder = (
                f"backend pid {pid} (application {application or '(none)'!r}, user {user}"
                + (f", from {address}" if address else "")
                + f", connected since {since:%Y-%m-%d %H:%M:%S %Z}, {state})"
            )
        else:
            holder = "another session"
        return (
            f"Could not get the migration lock on database {self.connection.alias!r} within "
            f"{timeout:g} s: it is held by {holder}. Another sqlmigrate_apply is probably "
            "running; wait for it, or raise --lock-timeout."
        )

    # -- what may run -------------------------------------------------------------------------
    def never_committed(self, words: tuple[str, ...]) -> str | None:
        if words == ("PREPARE", "TRANSACTION"):
            return (
                "PREPARE TRANSACTION would leave the file's changes prepared, not committed, "
                "holding their locks until someone runs COMMIT PREPARED"
            )
        return None

    def refused_in_transaction(self, words: tuple[str, ...], sql: bytes) -> str | None:
        # What PostgreSQL 15 refuses in a transaction block (PreventInTransactionBlock), read
        # from the statement's tokens: option lists in parentheses are seen through.
        first, second = words[:1], words[1:2]
        if first == ("VACUUM",):
            return "VACUUM cannot run inside a transaction block"
        if words[:2] == ("PREPARE", "TRANSACTION"):
            # It would end the migration's transaction with the file's changes left prepared,
            # not committed, and the history row written in a transaction of its own.
            return "PREPARE TRANSACTION would end the migration's own transaction"
        if second == ("PREPARED",) and first in (("COMMIT",), ("ROLLBACK",)):
            return f"{words[0]} PREPARED cannot run inside a transaction block"
        if first == ("CREATE",) and (
            words[1:3] == ("INDEX", "CONCURRENTLY")
            or words[1:4] == ("UNIQUE", "INDEX", "CONCURRENTLY")
        ):
            return "CREATE INDEX ... CONCURRENTLY cannot run inside a transaction block"
        if words[:3] == ("DROP", "INDEX", "CONCURRENTLY"):
            return "DROP INDEX ... CONCURRENTLY cannot run inside a transaction block"
        if first == ("REINDEX",):
            return _reindex_refusal(_tokens(sql, 6))
        if words[:2] in (("CREATE", "DATABASE"), ("DROP", "DATABASE")):
            return f"{words[0]} DATABASE cannot run inside a transaction block"
        if words[:2] == ("ALTER", "DATABASE") and _tokens(sql, 5)[3:5] == ["SET", "TABLESPACE"]:
            return "ALTER DATABASE ... SET TABLESPACE cannot run inside a transaction block"
        if words[:2] in (("CREATE", "TABLESPACE"), ("DROP", "TABLESPACE")):
            return f"{words[0]} TABLESPACE cannot run inside a transaction block"
        if words[:2] == ("ALTER", "SYSTEM"):
            return "ALTER SYSTEM cannot run inside a transaction block"
        if second == ("SUBSCRIPTION",):
            return _subscription_refusal(words[0], _tokens(sql, 64))
        if first == ("CLUSTER",) and _cluster_without_table(_tokens(sql, 3)):
            return "CLUSTER without a table cannot run inside a transaction block"
        if words[:2] == ("DISCARD", "ALL"):
            return "DISCARD ALL cannot run inside a transaction block"
        if words[:2] == ("ALTER", "TABLE") and re.search(rb"DETACH", sql, re.IGNORECASE):
            tokens = _tokens(sql, 64)
            if "DETACH" in tokens and tokens[-1] == "CONCURRENTLY":
                return (
                    "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY cannot run inside a "
                    "transaction block"
                )
        return None

    # -- running ---------------------------------------------------------------------------
    def execute(
        self,
        source: bytes,
        statements: Sequence[Statement],
        *,
        transactional: bool,
    ) -> None:
        # psycopg's own errors (a connection lost mid-file) become Django's DatabaseError,
        # which the commands report in one paragraph.
        with self.connection.wrap_database_errors, self._reporting():
            restore = self._restore_statements()
            restored = False
            left_open = False
            # In autocommit, a transaction open after the file is the file's (inside a caller's
            # transaction.atomic, the caller's).
            own = not transactional and self.connection.get_autocommit()
            try:
                # The session restore rides with the last batch, inside the file's transaction
                # and before its history row: no round trip of its own for every file.
                restored = self._execute(
                    source, statements, transactional=transactional, tail=restore, tail_alone=False
                )
                left_open = own and self._roll_back_left_open()
            except StatementFailed as failure:
                if own:
                    left_open = self._roll_back_left_open()
                    self.note_open_transaction(source, statements, failure, left_open)
                raise
            finally:
                if not restored:
                    self._send_restore(restore, len(statements))
        if left_open:
            self.check_open_transaction(source, statements, left_open)

    def _roll_back_left_open(self) -> bool:
        """Roll back a transaction a no-transaction file left open (its BEGIN without a
        COMMIT), as psql does at the end of its input. The status is a C attribute read."""
        from psycopg import pq

        pgconn: PGconn = self.connection.connection.pgconn
        if pgconn.transaction_status in (
            pq.TransactionStatus.INTRANS,
            pq.TransactionStatus.INERROR,
        ):
            self._rollback(pgconn)
            return True
        return False

    def execute_recorded(
        self, source: bytes, statements: Sequence[Statement], record: Sequence[bytes]
    ) -> bool:
        # As psql -1 would, but in one query for a small file: BEGIN, the statements, the
        # session restore, the history INSERT and COMMIT. The server times the file
        # (transaction_timestamp() is when BEGIN ran) and stamps the row with its own clock.
        # A transaction already open is the caller's (transaction.atomic, a Django migration's
        # ApplySQLMigrations): then it decides when to commit, through the executor's path.
        from psycopg import pq

        self.connection.ensure_connection()
        conn = self.connection.connection
        pgconn: PGconn = conn.pgconn
        if (
            self.connection.in_atomic_block
            or not self.connection.get_autocommit()
            or pgconn.transaction_status != pq.TransactionStatus.IDLE
        ):
            return False
        with self.connection.wrap_database_errors, self._reporting():
            tail = [*self._restore_statements(), *((sql, RECORD) for sql in record), COMMIT]
            try:
                self._execute(source, statements, transactional=True, tail=tail, tail_alone=True)
                if pgconn.transaction_status != pq.TransactionStatus.IDLE:
                    raise DatabaseError(
                        "The file's transaction was still open after its COMMIT was sent, so it "
                        "was rolled back and nothing is recorded."
                    )
            finally:
                # After a failure the transaction is aborted (or, interrupted, still open): roll
                # it back, and every SET of the file with it. A lost connection took it along.
                if not conn.closed and pgconn.transaction_status in (
                    pq.TransactionStatus.INTRANS,
                    pq.TransactionStatus.INERROR,
                ):
                    self._rollback(pgconn)
        return True

    def literal(self, value: object) -> bytes:
        from psycopg import pq

        self.connection.ensure_connection()
        return _literal(pq.Escaping(self.connection.connection.pgconn).escape_literal, value)

    def _rollback(self, pgconn: PGconn) -> None:
        try:
            self._run(pgconn, b"ROLLBACK", len(self._file[1]), 0)
        except Exception:  # the connection is gone, and the transaction with it
            if self.connection.is_usable():
                raise

    # -- session state ---------------------------------------------------------------------
    # psql runs each file in a session of its own, so a file's SET search_path, SET ROLE or
    # pg_dump's set_config('search_path', '', false) never reaches the next file (nor our
    # history row). Files here share one session: after each file its settings go back to
    # what the connection had before the first one (its startup options and Django's SETs).
    def _restore_statements(self) -> list[Tail]:
        """The statements that put the session back as it was before any file ran (built
        once)."""
        if self._restore is None:
            from psycopg import pq

            self.connection.ensure_connection()
            pgconn: PGconn = self.connection.connection.pgconn
            quote = pq.Escaping(pgconn).escape_literal
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_catalog.current_setting('role')")
                (role,) = cursor.fetchone()
                cursor.execute(
                    "SELECT name, setting FROM pg_catalog.pg_settings WHERE source = 'session'"
                )
                settings = cursor.fetchall()
            parts = [b"RESET ALL", b"SET SESSION AUTHORIZATION DEFAULT"]
            parts.append(
                b"SET ROLE NONE" if role == "none" else b"SET ROLE " + quote(role.encode())
            )
            parts += [
                b"SELECT pg_catalog.set_config(%s, %s, false)"
                % (quote(name.encode()), quote(value.encode()))
                for name, value in settings
            ]
            self._restore = [(part, RESTORE) for part in parts]
        return self._restore

    def _send_restore(self, restore: list[Tail], after: int) -> None:
        from psycopg import pq

        conn = self.connection.connection
        if conn is None or conn.closed:
            return
        pgconn: PGconn = conn.pgconn
        # A failed transaction is rolled back, and every SET made inside it with it.
        if pgconn.transaction_status in (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS):
            self._run(pgconn, b"", after, 0, tail=restore)

    def _execute(
        self,
        source: bytes,
        statements: Sequence[Statement],
        *,
        transactional: bool,
        tail: Sequence[Tail],
        tail_alone: bool,
    ) -> bool:
        """Run the statements, then ``tail``: with the last batch of a transactional file,
        or on its own when ``tail_alone``. True when ``tail`` was sent."""
        from ..splitter import leading_words

        self.connection.ensure_connection()
        conn = self.connection.connection
        pgconn: PGconn = conn.pgconn
        if pgconn.pipeline_status:
            raise DatabaseError(
                "The database connection is in libpq pipeline mode (a psycopg "
                "Connection.pipeline() block is open on it), where a migration cannot be sent; "
                "nothing was sent. Apply migrations outside the pipeline block."
            )
        self._file = (source, statements, transactional)
        # IDLE: open the atomic block, with the first statement sent (psycopg would only open
        # it for its own queries). Nothing sent at all: the history INSERT opens it.
        begin = transactional and pgconn.transaction_status == 0
        batch: list[int] = []
        batch_bytes = 0

        def flush() -> None:
            nonlocal batch, batch_bytes, begin
            if batch:
                first, last = statements[batch[0]], statements[batch[-1]]
                query = source[first.start : last.end]
                prefix = BEGIN_PREFIX if begin else b""
                self._run(pgconn, query, batch[0], first.start, prefix, count=len(batch))
                batch, batch_bytes, begin = [], 0, False

        for index, statement in enumerate(statements):
            if statement.copy_data is not None:
                flush()
                if begin:
                    self._run(pgconn, b"BEGIN", index, 0)
                    begin = False
                self._copy(conn, source, statement, index)
                continue
            if transactional and transaction_control(
                leading_words(source[statement.start : statement.end], 3)
            ):
                flush()  # the file's own BEGIN/COMMIT: the migration's transaction covers it
                continue
            batch.append(index)
            batch_bytes += statement.end - statement.start
            if not transactional or batch_bytes >= BATCH_BYTES:
                flush()
        if transactional and batch:
            first, last = statements[batch[0]], statements[batch[-1]]
            self._run(
                pgconn,
                source[first.start : last.end],
                batch[0],
                first.start,
                BEGIN_PREFIX if begin else b"",
                tail=tail,
                count=len(batch),
            )
            return True
        flush()
        if tail_alone:  # after COPY, the file's own COMMIT, or an empty file
            prefix = BEGIN_PREFIX if begin else b""
            self._run(pgconn, b"", len(statements), len(source), prefix, tail=tail)
            return True
        return False

    def _run(
        self,
        pgconn: PGconn,
        query: bytes,
        first: int,
        start: int,
        prefix: bytes = b"",
        *,
        tail: Sequence[Tail] = (),
        count: int = 0,
    ) -> None:
        """Send one (multi-statement) query and raise at the first failed statement.

        ``query`` holds the ``count`` statements of the file from index ``first``, found at
        byte ``start`` of it. ``prefix`` is one statement (BEGIN;) sent in front of them,
        outside their numbering; ``tail``, statements of ours (the session restore, the
        history row, COMMIT), follows them.
        """
        sent = query
        if tail:
            # A newline first: the file's last statement may end in a -- comment, with no
            # semicolon, which would swallow what follows on its line.
            ours = [sql for sql, _ in tail]
            sent = b"\n;".join([query, *ours] if query else ours)
        if prefix:
            sent = prefix + sent
        batch = _Batch(first, start, length=len(query), prefix=len(prefix), size=count, tail=tail)
        connection = self.connection
        if not (connection.execute_wrappers or connection.queries_logged):
            self._send(pgconn, sent, batch, 0)
            return
        text = sent.decode("utf-8")

        def send(sql: str) -> None:
            if sql == text:
                self._send(pgconn, sent, batch, 0)
            else:  # a wrapper added a comment (sqlcommenter), or more
                self._send(pgconn, sql.encode("utf-8"), batch, _shift(sql, text))

        self._observed(text, send)

    def _observed(self, sql: str, send: Callable[[str], None]) -> None:
        """Send ``sql`` with ``send`` as Django's cursor would: through the connection's
        ``execute_wrappers`` (``params`` None, ``many`` False, a Django cursor in
        ``context``), and timed and logged to ``django.db.backends`` and ``queries_log`` as
        CursorDebugWrapper logs what it sent, when queries are logged."""
        from django.db.backends.utils import logger

        connection = self.connection
        sent: list[str] = []
        failed: list[BaseException] = []

        def execute(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
            sent.append(sql)
            try:
                send(sql)
            except BaseException as exc:
                failed.append(exc)
                raise

        with connection.cursor() as cursor:
            run: Callable[..., Any] = execute
            for wrapper in reversed(connection.execute_wrappers):
                run = functools.partial(wrapper, run)
            started = time.monotonic()
            try:
                run(sql, None, False, {"connection": connection, "cursor": cursor})
            except BaseException as exc:
                if failed and exc is not failed[0]:  # our failure is the one to report
                    raise failed[0] from None
                raise
            finally:
                if connection.queries_logged:
                    duration = time.monotonic() - started
                    logged = sent[-1] if sent else sql
                    connection.queries_log.append({"sql": logged, "time": f"{duration:.3f}"})
                    logger.debug(
                        "(%.3f) %s; args=%s; alias=%s",
                        duration,
                        logged,
                        None,
                        connection.alias,
                        extra={
                            "duration": duration,
                            "sql": logged,
                            "params": None,
                            "alias": connection.alias,
                        },
                    )
        if failed:  # a wrapper swallowed the failure; the file failed all the same
            raise failed[0]
        if not sent:
            raise DatabaseError(
                "An execute_wrapper returned without running the query, so the migration "
                "cannot go on (nothing of this query ran)."
            )

    def _send(self, pgconn: PGconn, data: bytes, batch: _Batch, shift: int | None) -> None:
        """``shift``: characters a wrapper put in front of the query; None when it changed it
        more than that, so that errors cannot be mapped back to the file."""
        try:
            pgconn.send_query(data)
            while pgconn.flush():
                select.select([pgconn.socket], [pgconn.socket], [])
                pgconn.consume_input()
        except Exception as exc:
            lost = self._lost(exc, batch.first)
            if lost is None:
                raise
            raise lost from exc
        self._results(pgconn, batch, shift)

    def _results(self, pgconn: PGconn, batch: _Batch, shift: int | None) -> None:
        from psycopg import pq

        succeeded = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY)
        error = pq.ExecStatus.FATAL_ERROR
        notices = self._notices
        done = -1 if batch.prefix else 0  # results of the batch's statements so far
        failure: PGresult | None = None
        last: PGresult | None = None  # the last success, to check the count against its tag
        ended: tuple[int, DatabaseMessage] | None = None  # a COPY the batch met, and why
        try:
            while True:
                while pgconn.is_busy():
                    if notices:  # parsed while no result was complete: the next result's
                        self._settle(batch, done, 0)
                    select.select([pgconn.socket], [], [])
                    pgconn.consume_input()
                if notices:  # parsed once a result was complete: the statement after it
                    self._settle(batch, done, 1)
                result = pgconn.get_result()
                if notices:
                    self._settle(batch, done, 1)
                if result is None:
                    break
                status = result.status
                if status in succeeded:
                    if failure is None and ended is None:
                        done += 1
                        last = result
                elif status == error:
                    if failure is None:
                        failure = result
                else:  # every other status ends here: never a loop on a COPY result
                    message = self._end_copy(pgconn, status, batch.first + max(done, 0))
                    if failure is None and ended is None:
                        ended = (max(done, 0), message)
        except KeyboardInterrupt:
            self._interrupt(pgconn)
            raise
        except RunInterrupted:
            raise
        except Exception as exc:
            lost = self._lost(exc, batch.first + max(done, 0))
            if lost is None:
                raise
            raise lost from exc
        if ended is not None:
            self._copy_met(pgconn, batch, failure, *ended)
        if failure is not None:
            message = self._result_message(failure)
            if pgconn.status == pq.ConnStatus.BAD:  # the server ended the session (FATAL)
                raise RunInterrupted(
                    f"the connection to the database was lost: {message.text}",
                    batch.first + max(done, 0),
                    transactional=self._file[2],
                    lost=True,
                )
            raise self._failed(batch, shift, max(done, 0), last, message)

    def _end_copy(self, pgconn: PGconn, status: int, index: int) -> DatabaseMessage:
        """End a COPY a batch met (the server aborts COPY ... FROM STDIN; the rows of COPY ...
        TO STDOUT are read and dropped) and say why the file fails. Any other status (COPY_BOTH
        of a replication connection, a pipeline's, single-row mode's) cannot be continued from:
        the connection is closed, which ends the server's side and its transaction."""
        from psycopg import pq

        if status == pq.ExecStatus.COPY_IN:
            pgconn.put_copy_end(COPY_IN_ABORT)
            while pgconn.flush():
                select.select([], [pgconn.socket], [])
            return DatabaseMessage(COPY_IN_MESSAGE)
        if status == pq.ExecStatus.COPY_OUT:
            while True:
                size, _ = pgconn.get_copy_data(1)
                if size > 0:
                    continue
                if size < 0:  # -1: done, the COPY's own result follows; -2: an error result
                    return DatabaseMessage(COPY_OUT_MESSAGE)
                select.select([pgconn.socket], [], [])
                pgconn.consume_input()
        known = {int(member): member.name for member in pq.ExecStatus}
        name = known.get(status, str(status))
        self.connection.connection.close()
        raise RunInterrupted(
            f"the database answered statement {index + 1} with a {name} result, which a "
            "migration cannot go on from (a replication stream or a pipeline), so the "
            "connection was closed",
            index,
            transactional=self._file[2],
            lost=True,
        )

    def _interrupt(self, pgconn: PGconn) -> None:
        """Ctrl-C: cancel what runs and read what is left, so the connection stays usable."""
        from psycopg import pq

        conn = self.connection.connection
        conn.cancel_safe()
        while (result := pgconn.get_result()) is not None:
            if result.status in (pq.ExecStatus.COPY_IN, pq.ExecStatus.COPY_OUT):
                self._end_copy(pgconn, result.status, 0)
            elif result.status not in (
                pq.ExecStatus.COMMAND_OK,
                pq.ExecStatus.TUPLES_OK,
                pq.ExecStatus.EMPTY_QUERY,
                pq.ExecStatus.FATAL_ERROR,
            ):
                conn.close()
                return

    def _copy_met(
        self,
        pgconn: PGconn,
        batch: _Batch,
        failure: PGresult | None,
        at: int,
        message: DatabaseMessage,
    ) -> None:
        """A COPY that a batch met ended the file (see _end_copy)."""
        from psycopg import pq

        committed = (
            failure is None
            and any(kind == COMMITTING for _, kind in batch.tail)
            and pgconn.transaction_status == pq.TransactionStatus.IDLE
        )
        if committed:  # COPY ... TO STDOUT does not stop the server: the rest, COMMIT too, ran
            raise RunInterrupted(
                f"{message.text} The file's transaction, sent in the same query, had been "
                "committed before its rows were read.",
                batch.first + at,
                transactional=True,
                lost=False,
            )
        raise StatementFailed(batch.first + at, batch.start, message)

    def _lost(self, exc: BaseException, index: int) -> RunInterrupted | None:
        """The error to raise for ``exc`` if the connection is gone with it."""
        conn = self.connection.connection
        if conn is None or not conn.closed:
            return None
        text = " ".join(str(exc).split()) or type(exc).__name__
        return RunInterrupted(
            f"the connection to the database was lost: {text}",
            index,
            transactional=self._file[2],
            lost=True,
        )

    def _failed(
        self,
        batch: _Batch,
        shift: int | None,
        done: int,
        last: PGresult | None,
        message: DatabaseMessage,
    ) -> Exception:
        """What to raise for the failure that ended ``batch`` after ``done`` of its statements
        (and of ours after them) had succeeded.

        The server's error position, when it gives one, names the statement whatever the count
        says. Without it the count does; it is checked against the command tag of the last
        success, and a disagreement is reported as such rather than blaming a statement.
        """
        from ..splitter import leading_words

        source, statements, _ = self._file
        position = message.position
        if position is not None and shift is not None and position > shift + batch.prefix:
            position -= shift + batch.prefix
            sent = source[batch.start : batch.start + batch.length].decode("utf-8", "replace")
            if position <= len(sent):
                offset = batch.start + len(sent[: position - 1].encode())
                index = bisect_right(
                    statements,
                    offset,
                    batch.first,
                    batch.first + batch.size,
                    key=lambda statement: statement.start,
                )
                return StatementFailed(
                    max(index - 1, batch.first), batch.start, message._replace(position=position)
                )
            position -= len(sent) + (2 if batch.length else 0)  # "\n;" before each of ours
            for step, (sql, _) in enumerate(batch.tail):
                if position <= len(sql.decode("utf-8")):
                    return self._tail_failed(batch, step, message._replace(position=None))
                position -= len(sql.decode("utf-8")) + 2
        message = message._replace(position=None)

        def words(at: int) -> tuple[str, ...]:
            if at < batch.size:
                statement = statements[batch.first + at]
                return leading_words(source[statement.start : statement.end], 2)
            return leading_words(batch.tail[at - batch.size][0], 2)

        sent_count = batch.size + len(batch.tail)
        why = ""
        if shift is None:
            why = "an execute_wrapper changed the SQL sent, so the failing one cannot be told"
        elif done >= sent_count or (
            done and last is not None and not _tag_fits(last.command_status or b"", words(done - 1))
        ):
            why = (
                f"the database counted them differently from the splitter (its answer after "
                f"{done} of them does not fit the statement found there)"
            )
        if why and batch.size:
            first, final = statements[batch.first], statements[batch.first + batch.size - 1]
            return StatementFailed(
                batch.first, batch.start, message._replace(span=(first.start, final.end, why))
            )
        if done >= batch.size and batch.tail:
            return self._tail_failed(batch, min(done - batch.size, len(batch.tail) - 1), message)
        return StatementFailed(batch.first + done, batch.start, message)

    def _tail_failed(self, batch: _Batch, step: int, message: DatabaseMessage) -> Exception:
        """One of our statements after the file's failed: COMMIT, or the restore or history
        row (the file's statements all ran)."""
        kind = batch.tail[step][1]
        if kind == COMMITTING:
            return StatementFailed(batch.first + batch.size, batch.start, message)
        return DatabaseError(f"{kind} failed: {message.text}")

    def _copy(self, conn: Any, source: bytes, statement: Statement, index: int) -> None:
        assert statement.copy_data is not None
        start, end = statement.copy_data
        sql = source[statement.start : statement.end]

        def send(text: str | None) -> None:
            query = sql if text is None else text.encode("utf-8")
            try:
                with conn.cursor() as cursor, cursor.copy(query) as copy:
                    view = memoryview(source)
                    for chunk_start in range(start, end, BATCH_BYTES):
                        copy.write(view[chunk_start : min(end, chunk_start + BATCH_BYTES)])
            except Exception as exc:  # psycopg.Error; imported lazily
                lost = self._lost(exc, index)
                if lost is not None:
                    raise lost from exc
                message = self._copy_message(exc, source, statement)
                if query != sql:  # a wrapper changed it: its positions are not the file's
                    message = message._replace(position=None)
                raise StatementFailed(index, statement.start, message) from exc
            finally:
                if self._notices:
                    self._report(index)

        connection = self.connection
        if connection.execute_wrappers or connection.queries_logged:
            text = sql.decode("utf-8")
            self._observed(text, lambda sent: send(None if sent == text else sent))
        else:
            send(None)

    def _copy_message(
        self, exc: BaseException, source: bytes, statement: Statement
    ) -> DatabaseMessage:
        """The error of a COPY ... FROM STDIN, at the data line it names when it names one
        (CONTEXT: ``COPY t, line 3, column b: "x"``, counted from the first row)."""
        message = self.message(exc)
        context = getattr(getattr(exc, "diag", None), "context", None) or ""
        found = re.match(_COPY_CONTEXT, context)
        if found is None or statement.copy_data is None:
            return message
        rows_from = source.count(b"\n", statement.start, statement.copy_data[0])
        return message._replace(
            text=f"{message.text} CONTEXT: {context.splitlines()[0]}",
            line=rows_from + int(found.group(1)),
        )

    # -- notices ---------------------------------------------------------------------------
    @contextmanager
    def _reporting(self) -> Iterator[None]:
        """Collect the server's notices while a file runs (psql shows them), for
        ``notice_sink``; the handler is the connection's only while the file runs."""
        if self.notice_sink is None:
            yield
            return
        self.connection.ensure_connection()
        conn = self.connection.connection
        self._line_at = (0, 1)
        conn.add_notice_handler(self._on_notice)
        try:
            yield
        finally:
            conn.remove_notice_handler(self._on_notice)
            if self._notices:
                self._report(None)
        if self._notice_error is not None:  # raised once the file's results are all read
            error, self._notice_error = self._notice_error, None
            raise error

    def _on_notice(self, diag: Diagnostic) -> None:
        text = diag.message_primary or ""
        if diag.message_detail:
            text += f"\nDETAIL:  {diag.message_detail}"
        if diag.message_hint:
            text += f"\nHINT:  {diag.message_hint}"
        self._notices.append((diag.severity or "NOTICE", text))

    def _settle(self, batch: _Batch, done: int, ahead: int) -> None:
        """Report the notices received so far against the statement that was running: the one
        whose result is next, or (``ahead``) the one after the result just completed."""
        if batch.size:
            self._report(batch.first + min(max(done + ahead, 0), batch.size - 1))
        else:  # a query of ours
            self._report(None)

    def _report(self, index: int | None) -> None:
        sink = self.notice_sink
        line = None if index is None else self._line(index)
        pending = self._notices[:]
        del self._notices[:]
        if sink is None:
            return
        for severity, text in pending:
            try:
                sink(severity, text, line)
            except Exception as exc:  # raised after the file, not in the middle of its results
                self._notice_error = self._notice_error or exc

    def _line(self, index: int) -> int | None:
        source, statements, _ = self._file
        if index >= len(statements):
            return None
        offset = statements[index].start
        at, line = self._line_at
        if offset < at:
            at, line = 0, 1
        line += source.count(b"\n", at, offset)
        self._line_at = (offset, line)
        return line

    @staticmethod
    def _result_message(result: PGresult) -> DatabaseMessage:
        from psycopg import pq

        def field(code: pq.DiagnosticField) -> str:
            value = result.error_field(code)
            return value.decode("utf-8", "replace") if value else ""

        position = field(pq.DiagnosticField.STATEMENT_POSITION)
        return DatabaseMessage(
            _format(
                field(pq.DiagnosticField.SEVERITY) or "ERROR",
                field(pq.DiagnosticField.MESSAGE_PRIMARY),
                field(pq.DiagnosticField.MESSAGE_DETAIL),
                field(pq.DiagnosticField.MESSAGE_HINT),
                field(pq.DiagnosticField.SQLSTATE),
            ),
            position=int(position) if position else None,
        )

    def message(self, exc: BaseException) -> DatabaseMessage:
        cause = exc.__cause__ if isinstance(exc, DatabaseError) and exc.__cause__ else exc
        diag = getattr(cause, "diag", None)
        if diag is None or not diag.message_primary:
            return super().message(exc)
        return DatabaseMessage(
            _format(
                diag.severity or "ERROR",
                diag.message_primary,
                diag.message_detail or "",
                diag.message_hint or "",
                diag.sqlstate or "",
            ),
            position=int(diag.statement_position) if diag.statement_position else None,
        )


def _format(severity: str, primary: str, detail: str, hint: str, sqlstate: str) -> str:
    text = f"{severity}: {primary}"
    if detail:
        text += f" DETAIL: {detail}"
    if hint:
        text += f" HINT: {hint}"
    if sqlstate:
        text += f" (SQLSTATE {sqlstate})"
    return text


def _literal(quote: Callable[[bytes], bytes], value: object) -> bytes:
    """A history value as an SQL literal (the row travels inside a multi-statement query)."""
    if value is None:
        return b"NULL"
    if isinstance(value, bool):
        return b"TRUE" if value else b"FALSE"
    if isinstance(value, int):
        return str(value).encode()
    return quote(str(value).encode())


# The command tag a statement answers with, by its first word, where they differ; None: any.
_TAGS: dict[str, tuple[str, ...] | None] = {
    "WITH": None,
    "EXECUTE": None,
    "VALUES": ("SELECT",),
    "TABLE": ("SELECT",),
    "CREATE": ("CREATE", "SELECT"),  # CREATE TABLE AS, CREATE MATERIALIZED VIEW: SELECT n
    "END": ("COMMIT", "ROLLBACK"),
    "COMMIT": ("COMMIT", "ROLLBACK"),  # ROLLBACK: the transaction had failed
    "ABORT": ("ROLLBACK",),
    "ANALYSE": ("ANALYZE",),
}
_COPY_CONTEXT = r"COPY .*?, line (\d+)"


def _tag_fits(tag: bytes, words: tuple[str, ...]) -> bool:
    """Whether a command tag (b"INSERT 0 1") can answer a statement with these leading words
    (no words: it starts with a parenthesis or a quote, and any tag can)."""
    if not words:
        return True
    verb = tag.split(b" ", 1)[0].decode("ascii", "replace")
    expected = _TAGS.get(words[0], (words[0],))
    return expected is None or verb in expected


def _shift(sql: str, ours: str) -> int | None:
    """Where ``ours`` starts in ``sql``, what an execute_wrapper made of it, if it only put
    comments or whitespace around it (None: it changed it, or added statements)."""
    from ..splitter import SplitError, split

    found = sql.find(ours)
    if found < 0:
        return None
    for part in (sql[:found], sql[found + len(ours) :]):
        try:
            if part.strip() and next(split(part.encode("utf-8"), "postgresql"), None):
                return None
        except SplitError:
            return None
    return found


# -- reading a statement's tokens ---------------------------------------------------------------
# A statement's tokens, for the few whose options decide where they may run: bare words
# (upper-cased), quoted names, strings, numbers and single characters; comments are skipped.
# Compiled on first use (re caches it), not when a deploy with nothing to do imports this.
_TOKEN = (
    rb"(?P<gap>(?:\s++|--[^\n]*+)++)"
    rb"|(?P<estring>[Ee]'(?:[^'\\]++|\\[\s\S]|'')*+')"
    rb"|(?P<word>[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*+)"
    rb"|(?P<string>'(?:[^']++|'')*+')"
    rb"|(?P<name>\"(?:[^\"]++|\"\")*+\")"
    rb"|(?P<number>[0-9][0-9A-Za-z_.]*+)"
    rb"|(?P<dollar>\$(?:[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*+)?\$)"
    rb"|(?P<char>[\s\S])"
)
_COMMENT_MARK = rb"/\*|\*/"
# What PostgreSQL's defGetBoolean reads as false (a bare option name is true).
_FALSE = frozenset({"FALSE", "OFF", "0", "'false'", "'off'"})
Token = str | tuple["Token", ...]


def _tokens(sql: bytes, limit: int) -> list[Token]:
    """The first ``limit`` tokens of ``sql``; a parenthesised group is one token, the tuple of
    the tokens inside it (an unclosed one runs to the end)."""
    stack: list[list[Token]] = [[]]
    pos, end = 0, len(sql)
    while pos < end and len(stack[0]) < limit:
        if sql.startswith(b"/*", pos):  # nested, as PostgreSQL nests them
            depth = 0
            for mark in re.compile(_COMMENT_MARK).finditer(sql, pos):
                depth += 1 if mark.group() == b"/*" else -1
                if depth == 0:
                    pos = mark.end()
                    break
            else:
                pos = end
            continue
        found = re.compile(_TOKEN).match(sql, pos)
        assert found is not None  # the last alternative matches any byte
        kind, text, pos = found.lastgroup, found.group(), found.end()
        if kind == "gap":
            continue
        if kind == "dollar":  # a dollar-quoted string: skip its body
            close = sql.find(text, pos)
            pos = end if close < 0 else close + len(text)
        if text == b"(":
            stack.append([])
            continue
        token: Token
        if text == b")" and len(stack) > 1:
            token = tuple(stack.pop())
        elif kind == "word":
            token = text.decode("utf-8", "replace").upper()
        elif kind in ("string", "estring"):
            token = text.decode("utf-8", "replace").lower()
        else:
            token = text.decode("utf-8", "replace")
        stack[-1].append(token)
    while len(stack) > 1:
        group = tuple(stack.pop())
        stack[-1].append(group)
    return stack[0]


def _options(group: Token) -> dict[str, Token | None]:
    """``(name [value] [= value], ...)`` as {NAME: value or None}."""
    options: dict[str, Token | None] = {}
    if not isinstance(group, tuple):
        return options
    element: list[Token] = []
    for token in (*group, ","):
        if token != ",":
            element.append(token)
            continue
        if element and isinstance(element[0], str):
            values = [value for value in element[1:] if value != "="]
            options[element[0].upper()] = values[0] if values else None
        element = []
    return options


def _true(options: dict[str, Token | None], name: str, default: bool) -> bool:
    if name not in options:
        return default
    return options[name] not in _FALSE


def _reindex_refusal(tokens: list[Token]) -> str | None:
    # REINDEX [ ( option [, ...] ) ] { INDEX | TABLE | SCHEMA | DATABASE | SYSTEM }
    #   [ CONCURRENTLY ] [ name ]; options: CONCURRENTLY [ boolean ], TABLESPACE, VERBOSE
    rest = tokens[1:]
    options = _options(rest.pop(0)) if rest and isinstance(rest[0], tuple) else {}
    kind = rest[0] if rest and isinstance(rest[0], str) else ""
    if kind in ("SCHEMA", "DATABASE", "SYSTEM"):
        return f"REINDEX {kind} cannot run inside a transaction block"
    if rest[1:2] == ["CONCURRENTLY"] or _true(options, "CONCURRENTLY", False):
        return f"REINDEX {kind or '...'} ... CONCURRENTLY cannot run inside a transaction block"
    return None


def _cluster_without_table(tokens: list[Token]) -> bool:
    # CLUSTER [ VERBOSE | ( option [, ...] ) ] [ table_name [ USING index_name ] ]
    rest = tokens[1:]
    if rest and (rest[0] == "VERBOSE" or isinstance(rest[0], tuple)):
        rest = rest[1:]
    return not rest or rest[0] == ";"


def _subscription_refusal(verb: str, tokens: list[Token]) -> str | None:
    def options() -> dict[str, Token | None]:
        if "WITH" not in tokens:
            return {}
        after = tokens[tokens.index("WITH") + 1 : tokens.index("WITH") + 2]
        return _options(after[0]) if after else {}

    if verb == "CREATE":
        # It creates its replication slot unless connect or create_slot is false.
        found = options()
        if _true(found, "CONNECT", True) and _true(found, "CREATE_SLOT", True):
            return (
                "CREATE SUBSCRIPTION ... (create_slot = true) cannot run inside a transaction block"
            )
        return None
    if verb == "DROP":  # unless it has no slot (slot_name = NONE), which only the server knows
        return "DROP SUBSCRIPTION cannot run inside a transaction block"
    if verb == "ALTER":
        action = tokens[3:5]
        if action == ["REFRESH", "PUBLICATION"]:
            return "ALTER SUBSCRIPTION ... REFRESH cannot run inside a transaction block"
        if (
            action[:1] in (["SET"], ["ADD"], ["DROP"])
            and action[1:] == ["PUBLICATION"]
            and _true(options(), "REFRESH", True)
        ):
            return (
                f"ALTER SUBSCRIPTION ... {action[0]} PUBLICATION with refresh cannot run "
                "inside a transaction block"
            )
    return None
