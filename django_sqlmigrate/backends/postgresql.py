"""PostgreSQL through psycopg 3.

A transactional file is sent as a few multi-statement queries (simple query protocol) inside
one transaction: one round trip for a small file instead of one per statement, as psql would
need. PostgreSQL answers with one result per statement, so the failing statement is still
known exactly, and the error position it reports maps back to the file. ``no-transaction``
files and ``COPY ... FROM STDIN`` go one statement at a time in autocommit.
"""

from __future__ import annotations

import datetime
import hashlib
import select
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import DatabaseError

from ..exceptions import LockTimeout
from .base import BaseBackend, DatabaseMessage, StatementFailed, poll, transaction_control

if TYPE_CHECKING:
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


class PostgreSQLBackend(BaseBackend):
    dialect: ClassVar[Dialect] = "postgresql"
    vendor = "postgresql"
    _restore: list[Tail] | None = None

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
    def lock_key(self) -> int:
        from ..models import SchemaMigration

        digest = hashlib.sha256(f"django_sqlmigrate:{SchemaMigration._meta.db_table}".encode())
        return int.from_bytes(digest.digest()[:8], "big", signed=True)

    @contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        # pg_advisory_lock() would block inside the lock manager, where it deadlocks against a
        # concurrent CREATE INDEX CONCURRENTLY (which waits for every open transaction and
        # session). Polling pg_try_advisory_lock() keeps this session idle between tries.
        key = self.lock_key()
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

    # -- what may run in a transaction -------------------------------------------------------
    def refused_in_transaction(self, words: tuple[str, ...], sql: bytes) -> str | None:
        first = words[:1]
        if first == ("VACUUM",):
            return "VACUUM cannot run inside a transaction block"
        if words[:2] == ("PREPARE", "TRANSACTION"):
            # It would end the migration's transaction with the file's changes left prepared,
            # not committed, and the history row written in a transaction of its own.
            return "PREPARE TRANSACTION would end the migration's own transaction"
        if "CONCURRENTLY" in words and first in (("CREATE",), ("DROP",), ("REINDEX",)):
            return f"{' '.join(words[:2])} ... CONCURRENTLY cannot run inside a transaction block"
        if first == ("REINDEX",) and words[1:2] in (("SYSTEM",), ("DATABASE",)):
            return f"REINDEX {words[1]} cannot run inside a transaction block"
        if words[:2] in (("CREATE", "DATABASE"), ("DROP", "DATABASE")):
            return f"{words[0]} DATABASE cannot run inside a transaction block"
        if words[:2] in (("CREATE", "TABLESPACE"), ("DROP", "TABLESPACE")):
            return f"{words[0]} TABLESPACE cannot run inside a transaction block"
        if words[:2] == ("ALTER", "SYSTEM"):
            return "ALTER SYSTEM cannot run inside a transaction block"
        if words[:2] in (("CREATE", "SUBSCRIPTION"), ("DROP", "SUBSCRIPTION")):
            return f"{words[0]} SUBSCRIPTION cannot run inside a transaction block"
        if words == ("CLUSTER",):
            return "CLUSTER without a table cannot run inside a transaction block"
        if words[:2] == ("DISCARD", "ALL"):
            return "DISCARD ALL cannot run inside a transaction block"
        if (
            first == ("ALTER",)
            and b"DETACH" in sql.upper()
            and sql.rstrip().upper().endswith(b"CONCURRENTLY")
        ):
            return "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY cannot run in a transaction"
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
        with self.connection.wrap_database_errors:
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
                    self._send_restore(restore)
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
        self, source: bytes, statements: Sequence[Statement], row: dict[str, Any]
    ) -> bool:
        # As psql -1 would, but in one query for a small file: BEGIN, the statements, the
        # session restore, the history INSERT and COMMIT. The server times the file
        # (transaction_timestamp() is when BEGIN ran) and stamps the row with its own clock.
        # A transaction already open is the caller's (transaction.atomic, a Django migration's
        # ApplySQLMigrations): then it decides when to commit, through the executor's path.
        from psycopg import pq

        self.connection.ensure_connection()
        pgconn: PGconn = self.connection.connection.pgconn
        if (
            self.connection.in_atomic_block
            or not self.connection.get_autocommit()
            or pgconn.transaction_status != pq.TransactionStatus.IDLE
        ):
            return False
        with self.connection.wrap_database_errors:
            tail = [*self._restore_statements(), (self._insert(pgconn, row), RECORD), COMMIT]
            try:
                self._execute(source, statements, transactional=True, tail=tail, tail_alone=True)
                if pgconn.transaction_status != pq.TransactionStatus.IDLE:
                    raise DatabaseError(
                        "The file's transaction was still open after its COMMIT was sent, so it "
                        "was rolled back and nothing is recorded."
                    )
            finally:
                # After a failure the transaction is aborted (or, interrupted, still open): roll
                # it back, and every SET of the file with it.
                if pgconn.transaction_status in (
                    pq.TransactionStatus.INTRANS,
                    pq.TransactionStatus.INERROR,
                ):
                    self._rollback(pgconn)
        return True

    def _insert(self, pgconn: PGconn, row: dict[str, Any]) -> bytes:
        from psycopg import pq

        from ..models import SchemaMigration

        quote = pq.Escaping(pgconn).escape_literal
        values = {
            **{column: _literal(quote, value) for column, value in row.items()},
            "applied_at": b"pg_catalog.clock_timestamp()",
            "execution_time_ms": (
                b"(extract(epoch FROM pg_catalog.clock_timestamp() - "
                b"pg_catalog.transaction_timestamp()) * 1000)::bigint"
            ),
        }
        table = self.connection.ops.quote_name(SchemaMigration._meta.db_table)
        columns = ", ".join(map(self.connection.ops.quote_name, values))
        return b"INSERT INTO %s (%s) VALUES (%s)" % (
            table.encode(),
            columns.encode(),
            b", ".join(values.values()),
        )

    def _rollback(self, pgconn: PGconn) -> None:
        try:
            self._run(pgconn, b"ROLLBACK", 0, 0)
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

    def _send_restore(self, restore: list[Tail]) -> None:
        from psycopg import pq

        conn = self.connection.connection
        if conn is None or conn.closed:
            return
        pgconn: PGconn = conn.pgconn
        # A failed transaction is rolled back, and every SET made inside it with it.
        if pgconn.transaction_status in (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS):
            self._run(pgconn, b"", 0, 0, tail=restore)

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
                self._run(pgconn, query, batch[0], first.start, BEGIN_PREFIX if begin else b"")
                batch, batch_bytes, begin = [], 0, False

        for index, statement in enumerate(statements):
            if statement.copy_data is not None:
                flush()
                if begin:
                    self._run(pgconn, b"BEGIN", 0, 0)
                    begin = False
                self._copy(conn, source, statement, index)
                continue
            if transactional and transaction_control(
                leading_words(source[statement.start : statement.end], 2)
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
        first_index: int,
        sent_start: int,
        prefix: bytes = b"",
        *,
        tail: Sequence[Tail] = (),
        count: int = 0,
    ) -> None:
        """Send one (multi-statement) query and raise at the first failed statement.

        ``prefix`` is one statement (BEGIN;) sent in front of ``query``, outside its numbering;
        ``tail``, statements of ours (the session restore, the history row, COMMIT), follow
        the ``count`` statements of ``query``.
        """
        from psycopg import pq

        if tail:
            # A newline first: the file's last statement may end in a -- comment, with no
            # semicolon, which would swallow what follows on its line.
            statements = [sql for sql, _ in tail]
            query = b"\n;".join([query, *statements] if query else statements)
        pgconn.send_query(prefix + query if prefix else query)
        done = -1 if prefix else 0
        failure: PGresult | None = None
        try:
            while pgconn.flush():
                select.select([pgconn.socket], [pgconn.socket], [])
                pgconn.consume_input()
            while True:
                while pgconn.is_busy():
                    select.select([pgconn.socket], [], [])
                    pgconn.consume_input()
                result = pgconn.get_result()
                if result is None:
                    break
                if result.status == pq.ExecStatus.FATAL_ERROR:
                    failure = failure or result
                elif failure is None:
                    done += 1
        except KeyboardInterrupt:
            self.connection.connection.cancel_safe()
            while pgconn.get_result() is not None:
                pass
            raise
        if failure is not None:
            message = self._result_message(failure)
            if tail and done >= count:  # the file's statements all ran; one of ours did not
                kind = tail[min(done - count, len(tail) - 1)][1]
                if kind == COMMITTING:
                    raise StatementFailed(first_index + count, sent_start, message)
                raise DatabaseError(f"{kind} failed: {message.text}")
            if prefix and message.position is not None:
                position = max(1, message.position - len(prefix))
                message = message._replace(position=position)
            raise StatementFailed(first_index + max(done, 0), sent_start, message)

    def _copy(self, conn: Any, source: bytes, statement: Statement, index: int) -> None:
        assert statement.copy_data is not None
        start, end = statement.copy_data
        try:
            with (
                conn.cursor() as cursor,
                cursor.copy(source[statement.start : statement.end]) as copy,
            ):
                view = memoryview(source)
                for chunk_start in range(start, end, BATCH_BYTES):
                    copy.write(view[chunk_start : min(end, chunk_start + BATCH_BYTES)])
        except Exception as exc:  # psycopg.Error; imported lazily
            raise StatementFailed(index, statement.start, self.message(exc)) from exc

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
