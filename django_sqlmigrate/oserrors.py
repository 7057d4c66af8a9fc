"""An ``OSError`` as one sentence a user can act on: which path, what went wrong, what to do."""

from __future__ import annotations

import errno
import os
from functools import cache


@cache
def current_user() -> str:
    """The name of the user this process runs as (the one who needs the permission)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, OSError):  # Windows, or a uid without a passwd entry
        import getpass

        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "the current user"


def what_to_do(exc: OSError) -> str:
    """The usual way out of an OSError, by its errno; empty when there is none to suggest."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return (
            f"The user running the command ({current_user()}) lacks the permission: give that "
            "user access (chmod, chown), or run the command as the user who owns the files."
        )
    hints = {
        errno.ENOENT: "Check the path: it does not exist.",
        errno.ENOTDIR: "A part of the path is a file where a folder was expected.",
        errno.EISDIR: "It is a folder where a file was expected.",
        errno.ENAMETOOLONG: "The name is longer than the file system allows: shorten it.",
        errno.ENOSPC: "The disk is full: free some space and run the command again.",
        errno.EROFS: "The file system is mounted read-only.",
        errno.ELOOP: "Too many symbolic links: check for a link that points to itself.",
        errno.EMFILE: "The process has too many files open: raise its limit (ulimit -n).",
        errno.EPIPE: "The output was closed before the command finished (a pipe into head?).",
    }
    if hasattr(errno, "EDQUOT"):
        hints[errno.EDQUOT] = "The user's disk quota is full: free some space."
    return hints.get(code or 0, "")


def describe(exc: OSError, path: object = None) -> str:
    """``<path>: <what went wrong>. <what to do>`` in one sentence or two."""
    where = _shown(path if path is not None else exc.filename)
    if where and exc.filename2 is not None:
        where = f"{where} -> {_shown(exc.filename2)}"
    reason = exc.strerror or str(exc) or type(exc).__name__
    text = f"{where}: {reason}." if where else f"{reason}."
    hint = what_to_do(exc)
    return f"{text} {hint}" if hint else text


def _shown(path: object) -> str:
    if path is None:
        return ""
    if isinstance(path, (bytes, os.PathLike)):
        return os.fsdecode(path)
    return str(path)
