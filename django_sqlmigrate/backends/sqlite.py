"""SQLite: DDL is transactional, so a file and its history row share one transaction.

Statements go one at a time through ``cursor.execute``: ``executescript`` would commit first.
Whole runs are serialised by an OS file lock beside the database file.

The ``sqlite3`` shell opens a new connection for each file; here the files of a run share one.
After each file its connection settings are put back as they were before the first one: the
PRAGMAS below, ``case_sensitive_like``, and the databases the file attached.
"""

from __future__ import annotations

import errno
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

from ..exceptions import LockTimeout, SqlMigrateError
from ..oserrors import current_user
from ..oserrors import describe as describe_os_error
from . import proclocks
from .base import BaseBackend, DatabaseMessage, poll

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
SQLITE_BUSY = 5
# os_unix.c's lock bytes: PENDING, RESERVED, then SHARED_SIZE (510) bytes for SHARED locks.
PENDING_BYTE = 0x40000000
SHARED_FIRST = PENDING_BYTE + 2
SHARED_LAST = SHARED_FIRST + 510 - 1
# WAL mode, in the -shm file: the write lock (120), checkpoint, recovery and read marks.
WAL_LOCKS = (120, 127)
MAX_BUSY_MS = 2**31 - 1

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
        # flock takes an exclusive lock on a read-only descriptor too.
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _missing(folder: Path) -> bool:
    """Whether ``folder`` does not exist (one this user may not reach is not missing)."""
    try:
        return not folder.is_dir()
    except OSError:
        return False


def _is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY ("database is locked"): another connection holds a conflicting lock."""
    for error in (exc, exc.__cause__):
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF == SQLITE_BUSY
    return str(exc).startswith("database is locked")


class SQLiteBackend(BaseBackend):
    dialect: ClassVar[Dialect] = "sqlite"
    vendor = "sqlite"

    def database_path(self) -> Path | None:
        """The database file; None for an in-memory database."""
        name = str(self.connection.settings_dict.get("NAME") or "")
        if not name or name == ":memory:" or "mode=memory" in name:
            return None
        if name.startswith("file:"):
            name = name[len("file:") :].split("?", 1)[0]
        return Path(name)

    def lock_path(self) -> Path | None:
        path = self.database_path()
        return None if path is None else Path(f"{path}.sqlmigrate.lock")

    @contextmanager
    def lock(self, timeout: float, name: str) -> Iterator[None]:
        # A file beside the database holds the lock: one per database file, whatever its name.
        path = self.lock_path()
        if path is None:  # an in-memory database belongs to this process alone
            yield
            return
        handle, writable = self._open_lock_file(path)
        with handle:
            if not poll(lambda: _try_lock(handle), timeout):
                raise LockTimeout(
                    f"Could not get the migration lock for database {self.connection.alias!r} "
                    f"within {timeout:g} s: {path} is locked by {_lock_holder(handle, path)}. "
                    "Wait for that run to finish, or raise --lock-timeout."
                )
            if writable:
                started = time.strftime("%Y-%m-%d %H:%M:%S %z")
                _write_holder(
                    handle, f"pid {os.getpid()} on {socket.gethostname()} since {started}"
                )
            try:
                with self._database_lock_timeout(timeout):
                    yield
            finally:
                if writable:
                    _write_holder(handle, "")
                # Closing the file releases the lock.

    def _open_lock_file(self, path: Path) -> tuple[IO[str], bool]:
        """The lock file, and whether this user may write the holder's line into it.

        A lock file another user created (a first deploy run as root) is only readable: the
        lock is taken on it all the same, without the line.
        """
        try:
            return open(path, "a+", encoding="utf-8"), True
        except OSError as exc:
            if _missing(path.parent):
                raise SqlMigrateError(
                    f"The folder {path.parent} of SQLite database {self.connection.alias!r} "
                    f"does not exist, so neither does the database {self.database_path()}. "
                    "Create the folder (SQLite creates the database file in it), or fix NAME "
                    f"in DATABASES[{self.connection.alias!r}]."
                ) from None
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise SqlMigrateError(self._lock_file_problem(path, exc)) from None
        try:
            return open(path, encoding="utf-8"), False
        except FileNotFoundError:  # it does not exist, and may not be created there
            user = current_user()
            raise SqlMigrateError(
                f"Cannot create the migration lock file {path}: user {user} may not create "
                f"files in {path.parent}, and SQLite needs to as well, for the database's "
                "journal. Run the command as the user who owns that folder, or give "
                f"{user} write access to it (chown, chmod)."
            ) from None
        except OSError as exc:
            raise SqlMigrateError(self._lock_file_problem(path, exc)) from None

    def _lock_file_problem(self, path: Path, exc: OSError) -> str:
        return (
            f"Cannot open the migration lock file of SQLite database "
            f"{self.connection.alias!r}: {describe_os_error(exc, path)} It holds nothing "
            "between runs: it may be deleted when no run is in progress."
        )

    @contextmanager
    def _database_lock_timeout(self, timeout: float) -> Iterator[None]:
        """Wait as long for SQLite's own database lock as for the migration lock.

        Another process's write transaction holds that lock. SQLite waits for it up to the
        busy timeout, but only where a transaction takes its write lock before reading: a
        deferred BEGIN that reads first gets "database is locked" at once. So while the
        migration lock is held, transactions begin IMMEDIATE and the busy timeout is the lock
        timeout. Both are set before the first file's session snapshot, so the pragmas put back
        after each file keep them; Django's (OPTIONS) come back at the end of the run.
        """
        connection = self.connection
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            (before,) = cursor.fetchone()
            cursor.execute(f"PRAGMA busy_timeout = {min(round(timeout * 1000), MAX_BUSY_MS)}")
        mode = connection.transaction_mode  # type: ignore[attr-defined]
        connection.transaction_mode = "IMMEDIATE"  # type: ignore[attr-defined]
        try:
            yield
        except DatabaseError as exc:
            if not _is_busy(exc):
                raise
            raise LockTimeout(
                f"SQLite database {connection.alias!r}: {self.message(exc).text}"
            ) from None
        finally:
            connection.transaction_mode = mode  # type: ignore[attr-defined]
            self._session = None  # the next run takes its own snapshot
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f"PRAGMA busy_timeout = {int(before)}")
            except DatabaseError:
                # A broken transaction of the caller's (migrate's atomic block) or a lost
                # connection: the error that caused it is the one to report.
                if connection.is_usable() and not connection.needs_rollback:
                    raise

    def message(self, exc: BaseException) -> DatabaseMessage:
        found = super().message(exc)
        if _is_busy(exc):
            return found._replace(text=f"{found.text}: {self._busy_holder()}")
        path = self.database_path()
        if found.text == "unable to open database file" and path and _missing(path.parent):
            return found._replace(
                text=f"{found.text}: the folder {path.parent} does not exist. Create it, "
                f"or fix NAME in DATABASES[{self.connection.alias!r}]."
            )
        return found

    def _busy_holder(self) -> str:
        """Who holds the lock SQLite waited for, how long it waited, and what to do."""
        path = self.database_path()
        what = "holds a write transaction on"
        pids: list[int] = []
        if path is not None:
            database = proclocks.locks_on(path)
            shm = proclocks.locks_on(Path(f"{path}-shm"))
            # Rollback journal: the PENDING, RESERVED and SHARED bytes of the database file.
            # WAL: the write, checkpoint, recovery and read-mark locks of the -shm file.
            pids = proclocks.holders(database, PENDING_BYTE, SHARED_LAST, write=True)
            pids += [p for p in proclocks.holders(shm, *WAL_LOCKS, write=True) if p not in pids]
            if not pids and not shm:  # rollback journal: readers keep a commit waiting
                pids = proclocks.holders(database, SHARED_FIRST, SHARED_LAST, write=False)
                what = "holds a read transaction (a commit waits for every reader) on"
        holder = ", ".join(map(proclocks.describe_process, pids)) or "another process"
        return (
            f"{holder} {what} {path or 'the database'}, and it did not end within "
            f"{self._busy_timeout()}. Let that process commit or roll back (or stop it) and "
            "run the command again, or raise --lock-timeout (SQLMIGRATE_LOCK_TIMEOUT)."
        )

    def _busy_timeout(self) -> str:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout")
                (milliseconds,) = cursor.fetchone()
        except DatabaseError:
            return "the busy timeout"
        return f"{milliseconds / 1000:g} s"

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


def _lock_holder(handle: IO[str], path: Path) -> str:
    """Who holds the migration lock: its line in the lock file, checked against /proc/locks.

    The line is stale when its process died without clearing it, or when the holder could
    not write (a lock file of another user).
    """
    handle.seek(0)
    line = handle.read().strip()
    pids = proclocks.holders(proclocks.locks_on(path), 0, float("inf"), write=True)
    if not pids or any(line.startswith(f"pid {pid} ") for pid in pids):
        return line or "another process"
    return ", ".join(map(proclocks.describe_process, pids))


def _write_holder(handle: IO[str], line: str) -> None:
    """Replace the lock file's line; it is only for the timeout message, so a full disk or
    any other failure to write it is no reason to fail the run."""
    try:
        handle.seek(0)
        handle.truncate()
        if line:
            handle.write(f"{line}\n")
        handle.flush()
    except OSError:
        pass
