"""SQLite: DDL is transactional, so a file and its history row share one transaction.

Statements go one at a time through ``cursor.execute``: ``executescript`` would commit first.
Whole runs are serialised by an OS file lock beside the database file.

The ``sqlite3`` shell opens a new connection for each file; here the files of a run share one.
After each file its connection settings are put back as they were before the first one: the
PRAGMAS below, ``case_sensitive_like``, and the databases the file attached.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

from django.db import DatabaseError

from ..exceptions import LockTimeout
from .base import BaseBackend, poll

if TYPE_CHECKING:
    from ..splitter import Dialect

# Connection-scoped pragmas a file may change that the next file and the history row must not
# inherit. Those this SQLite build lacks are left out. Not here: journal_mode (WAL is a property
# of the database file), locking_mode, mmap_size, and defer_foreign_keys (reset by every
# COMMIT and ROLLBACK).
PRAGMAS = (
    # What Django sets when it connects (foreign_keys: the 12-step ALTER TABLE turns it off).
    "foreign_keys",
    "legacy_alter_table",
    # How later statements behave; query_only would make the history row itself fail.
    "recursive_triggers",
    "ignore_check_constraints",
    "query_only",
    "writable_schema",
    "trusted_schema",
    "reverse_unordered_selects",
    "automatic_index",
    "cell_size_check",
    # Speed and durability, often changed for a bulk load (busy_timeout: Django's timeout).
    "synchronous",
    "secure_delete",
    "cache_size",
    "temp_store",
    "busy_timeout",
)
# case_sensitive_like cannot be read back; LIKE says how it is set.
LIKE_IS_CASE_INSENSITIVE = "'a' LIKE 'A'"


@dataclass(frozen=True)
class _SessionState:
    """The connection's settings before the first file, and the query that compares with them.

    ``check`` reads the ``pragmas``, LIKE's case sensitivity and how many databases are
    attached that were not before (those in ``attached``).
    """

    pragmas: tuple[str, ...]
    values: tuple[Any, ...]
    like: Any
    attached: frozenset[str]
    check: str


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class SQLiteBackend(BaseBackend):
    dialect: ClassVar[Dialect] = "sqlite"
    vendor = "sqlite"

    def lock_path(self) -> Path | None:
        name = str(self.connection.settings_dict.get("NAME") or "")
        if not name or name == ":memory:" or "mode=memory" in name:
            return None
        if name.startswith("file:"):
            name = name[len("file:") :].split("?", 1)[0]
        return Path(f"{name}.sqlmigrate.lock")

    @contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        path = self.lock_path()
        if path is None:  # an in-memory database belongs to this process alone
            yield
            return
        with open(path, "a+", encoding="utf-8") as handle:
            if not poll(lambda: _try_lock(handle), timeout):
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise LockTimeout(
                    f"Could not get the migration lock for database {self.connection.alias!r} "
                    f"within {timeout:g} s: {path} is locked by {holder}. Wait for that run to "
                    "finish, or raise --lock-timeout."
                )
            handle.seek(0)
            handle.truncate()
            started = time.strftime("%Y-%m-%d %H:%M:%S %z")
            handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {started}\n")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                handle.flush()
                # Closing the file releases the lock.

    def refused_in_transaction(self, words: tuple[str, ...], sql: bytes) -> str | None:
        if words[:1] == ("VACUUM",):
            return "SQLite cannot VACUUM inside a transaction"
        return None

    # -- running ---------------------------------------------------------------------------
    _session: _SessionState | None = None

    # Put back before the history row is written or updated. Pragmas are not undone by a
    # rollback; PRAGMA foreign_keys does nothing inside a transaction, so a transactional file
    # cannot change it, and after a no-transaction file none is left open.
    def snapshot_session(self) -> None:
        self._session_state()

    def _session_state(self) -> _SessionState:
        """The settings before the first file runs: read once per run."""
        if self._session is None:
            with self.connection.cursor() as cursor:
                pragmas = [name for name in PRAGMAS if _readable(cursor, name)]
                cursor.execute("SELECT name FROM pragma_database_list")
                attached = frozenset(name for (name,) in cursor.fetchall()) | {"main", "temp"}
                check = _check(pragmas, attached)
                cursor.execute(check)
                *values, like, _ = cursor.fetchone()
            self._session = _SessionState(tuple(pragmas), tuple(values), like, attached, check)
        return self._session

    def restore_session(self, source: bytes, *, transactional: bool) -> bool:
        """One query when the file changed nothing; a PRAGMA for each setting it changed."""
        session = self._session_state()
        # A transaction a no-transaction file left open (a BEGIN without its COMMIT) is rolled
        # back first, as the sqlite3 shell does at the end of its input: PRAGMA foreign_keys
        # does nothing inside one, and the history row must not be written in it.
        left_open = not transactional and self.connection.connection.in_transaction
        with self.connection.cursor() as cursor:
            if left_open:
                cursor.execute("ROLLBACK")
            cursor.execute(session.check)
            *now, like, attached = cursor.fetchone()
            for name, before, after in zip(session.pragmas, session.values, now, strict=True):
                if before != after:
                    cursor.execute(f"PRAGMA {name} = {int(before)}")
            if like != session.like and session.like in (0, 1):
                cursor.execute(f"PRAGMA case_sensitive_like = {1 - session.like}")
            if attached:
                cursor.execute("SELECT name FROM pragma_database_list")
                for (name,) in cursor.fetchall():
                    if name not in session.attached:
                        cursor.execute(f"DETACH DATABASE {_quote(name)}")
        return bool(left_open)

    def transaction_effect(self, words: tuple[str, ...], sql: bytes) -> str | None:
        if words[:1] == ("SAVEPOINT",):
            return "savepoint"
        if words[:1] == ("RELEASE",):
            return "release"
        return super().transaction_effect(words, sql)


def _readable(cursor: Any, pragma: str) -> bool:
    try:
        cursor.execute(f"SELECT * FROM pragma_{pragma}")
    except DatabaseError:  # not in this SQLite build
        return False
    return cursor.fetchone() is not None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check(pragmas: Sequence[str], attached: frozenset[str]) -> str:
    """One row: the pragmas, LIKE's case sensitivity, the databases attached since."""
    known = ", ".join("'" + name.replace("'", "''") + "'" for name in sorted(attached))
    columns = [f"p{index}.*" for index in range(len(pragmas))]  # busy_timeout's is "timeout"
    columns += [
        LIKE_IS_CASE_INSENSITIVE,
        f"(SELECT COUNT(*) FROM pragma_database_list WHERE name NOT IN ({known}))",
    ]
    tables = [f"pragma_{name} AS p{index}" for index, name in enumerate(pragmas)]
    return f"SELECT {', '.join(columns)}" + (f" FROM {', '.join(tables)}" if tables else "")
