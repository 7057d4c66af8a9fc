"""What the database said while a file ran, besides its errors.

PostgreSQL's ``NOTICE`` and ``WARNING`` messages (``RAISE NOTICE`` in a ``DO`` block, "table
... does not exist, skipping"), which psql prints as they arrive, and MySQL/MariaDB's notes and
warnings (``SHOW WARNINGS`` after a statement that left some: "Table 't' already exists",
"Data truncated for column").
"""

from __future__ import annotations

from collections.abc import Callable

from .frozen import Frozen, frozen_dataclass


@frozen_dataclass
class Notice(Frozen):
    """One message from the database, raised by a statement of a migration file."""

    version: str
    severity: str  # as the server names it: NOTICE, WARNING, INFO...
    message: str  # its text, with DETAIL and HINT lines as psql shows them
    path: str  # the file, as sqlmigrate_apply shows it
    line: int | None  # where the statement that raised it starts (None: not one of the file's)

    def __str__(self) -> str:
        """As psql prints a notice (``psql:FILE:LINE: NOTICE:  text``), without "psql:"."""
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.severity}:  {self.message}"


NoticeCallback = Callable[[Notice], None]
