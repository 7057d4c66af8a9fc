"""SQLite: DDL is transactional, so a file and its history row share one transaction.

Statements go one at a time through ``cursor.execute``: ``executescript`` would commit first.
Whole runs are serialised by an OS file lock beside the database file.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, ClassVar

from ..exceptions import LockTimeout
from .base import BaseBackend, poll

if TYPE_CHECKING:
    from ..splitter import Dialect


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
