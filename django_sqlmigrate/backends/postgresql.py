"""PostgreSQL through psycopg 3.

A transactional file is sent as a few multi-statement queries (simple query protocol) inside
one transaction: one round trip for a small file instead of one per statement, as psql would
need. PostgreSQL answers with one result per statement, so the failing statement is still
known exactly, and the error position it reports maps back to the file. ``no-transaction``
files and ``COPY ... FROM STDIN`` go one statement at a time in autocommit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import select
from collections.abc import Iterator, Sequence
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


class PostgreSQLBackend(BaseBackend):
    dialect: ClassVar[Dialect] = "postgresql"
    vendor = "postgresql"
    _restore_sql: bytes | None = None

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
            restore = self._session_restore()
            restored = False
            try:
                restored = self._execute(
                    source, statements, transactional=transactional, restore=restore
                )
            finally:
                if not restored:
                    self._restore_session(restore)

    # -- session state ---------------------------------------------------------------------
    # psql runs each file in a session of its own, so a file's SET search_path, SET ROLE or
    # pg_dump's set_config('search_path', '', false) never reaches the next file (nor our
    # history row). Files here share one session: after each file its settings go back to
    # what the connection had before the first one (its startup options and Django's SETs).
    def _session_restore(self) -> bytes:
        """The query that puts the session back as it was before any file ran (built once)."""
        if self._restore_sql is None:
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
            self._restore_sql = b";".join(parts)
        return self._restore_sql

    def _restore_session(self, restore: bytes) -> None:
        from psycopg import pq

        conn = self.connection.connection
        if conn is None or conn.closed:
            return
        pgconn: PGconn = conn.pgconn
        # A failed transaction is rolled back, and every SET made inside it with it.
        if pgconn.transaction_status in (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS):
            self._run(pgconn, restore, 0, 0)

    def _execute(
        self,
        source: bytes,
        statements: Sequence[Statement],
        *,
        transactional: bool,
        restore: bytes,
    ) -> bool:
        """Run the statements; True when ``restore`` went with the last batch."""
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
            # The session restore rides with the last batch, inside the file's transaction and
            # before its history row: no round trip of its own for every file.
            first, last = statements[batch[0]], statements[batch[-1]]
            self._run(
                pgconn,
                source[first.start : last.end],
                batch[0],
                first.start,
                BEGIN_PREFIX if begin else b"",
                suffix=b";" + restore,
                count=len(batch),
            )
            return True
        flush()
        return False

    def _run(
        self,
        pgconn: PGconn,
        query: bytes,
        first_index: int,
        sent_start: int,
        prefix: bytes = b"",
        *,
        suffix: bytes = b"",
        count: int = 0,
    ) -> None:
        """Send one (multi-statement) query and raise at the first failed statement.

        ``prefix`` is one statement (BEGIN;) sent in front of ``query``, outside its numbering;
        ``suffix`` (the session restore) follows the ``count`` statements of ``query``.
        """
        from psycopg import pq

        pgconn.send_query(prefix + query + suffix if prefix or suffix else query)
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
            if suffix and done >= count:  # the file's statements all ran; the restore did not
                raise DatabaseError(f"Restoring the session after a file failed: {message.text}")
            if prefix and message.position is not None:
                position = max(1, message.position - len(prefix))
                message = dataclasses.replace(message, position=position)
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
