"""Which other process holds a file lock, read from Linux's ``/proc/locks``.

For the messages that say what a run is waiting for. ``fcntl.F_GETLK`` would answer too, but it
needs a descriptor of the file, and closing any descriptor of a file drops every POSIX lock
this process holds on it: SQLite's own locks on the database, taken by this very connection
(SQLite's "How To Corrupt" page, section 2.2). ``/proc/locks`` needs no descriptor. Elsewhere
(macOS, Windows, a /proc this process may not read) nothing is found and the message says
"another process".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

PROC_LOCKS = "/proc/locks"
COMMAND_SHOWN = 120  # characters of a holder's command line


class FileLock(NamedTuple):
    """One line of /proc/locks (waiters, the "->" lines, are left out)."""

    kind: str  # POSIX, FLOCK, OFDLCK
    write: bool
    pid: int  # 0 or -1 when not known in this pid namespace (OFD locks have none)
    device: tuple[int, int]
    inode: int
    start: int
    end: float  # inclusive; inf for EOF


def _parse(line: str) -> FileLock | None:
    fields = line.split()
    if len(fields) < 8 or fields[1] == "->":  # noqa: PLR2004 - a waiter, or not a lock line
        return None
    try:
        major, minor, inode = fields[5].split(":")
        return FileLock(
            kind=fields[1],
            write=fields[3] == "WRITE",
            pid=int(fields[4]),
            device=(int(major, 16), int(minor, 16)),
            inode=int(inode),
            start=int(fields[6]),
            end=float("inf") if fields[7] == "EOF" else int(fields[7]),
        )
    except ValueError:
        return None


def locks_on(path: Path) -> list[FileLock]:
    """The locks other processes hold on ``path``; empty when that cannot be known."""
    try:
        stat = os.stat(path)
        with open(PROC_LOCKS, encoding="ascii", errors="replace") as file:
            text = file.read()
    except OSError:
        return []
    found = [lock for line in text.splitlines() if (lock := _parse(line)) is not None]
    found = [lock for lock in found if lock.inode == stat.st_ino and lock.pid != os.getpid()]
    # /proc/locks names the device of the file system's superblock; on btrfs (subvolumes)
    # that is not stat()'s st_dev: then the inode alone, in SQLite's own byte range, decides.
    device = (os.major(stat.st_dev), os.minor(stat.st_dev))
    same_device = [lock for lock in found if lock.device == device]
    return same_device or found


def holders(
    locks: Sequence[FileLock], first: int, last: float, *, write: bool | None = None
) -> list[int]:
    """Pids of the locks overlapping bytes ``first``..``last`` (of one access, if given)."""
    pids = []
    for lock in locks:
        overlaps = lock.start <= last and lock.end >= first
        if overlaps and write in (None, lock.write) and lock.pid > 0 and lock.pid not in pids:
            pids.append(lock.pid)
    return pids


def describe_process(pid: int) -> str:
    """``pid 1234 (user alice: sqlite3 db.sqlite3)``, with what /proc tells about it."""
    details = []
    try:
        import pwd

        details.append(f"user {pwd.getpwuid(os.stat(f'/proc/{pid}').st_uid).pw_name}")
    except (ImportError, KeyError, OSError):
        pass
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            argv = file.read().rstrip(b"\0").split(b"\0")
    except OSError:
        argv = []
    command = " ".join(os.fsdecode(arg) for arg in argv if arg)
    if command:
        from ..redact import redact  # a command line may carry a configured password

        command = " ".join(redact(command).split())
        if len(command) > COMMAND_SHOWN:
            command = command[: COMMAND_SHOWN - 3] + "..."
        details.append(command)
    return f"pid {pid}" + (f" ({': '.join(details)})" if details else "")
