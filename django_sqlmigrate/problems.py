"""Findings shared by ``sqlmigrate_validate``, ``sqlmigrate_apply`` and the system checks.

A problem's code is also its system check ID (``sqlmigrate.E002``), so a message reads the same
wherever it is reported.
"""

from __future__ import annotations

from pathlib import Path

from .frozen import Frozen, frozen_dataclass


def display_path(path: Path) -> str:
    """The path as a user would type it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except (ValueError, OSError):  # OSError: the working directory was removed
        return str(path)


# code -> short title, for documentation and JSON output.
CODES = {
    "E001": "invalid migration file name",
    "E002": "duplicate migration number",
    "E003": "unknown header directive",
    "E004": "file is not valid UTF-8 or cannot be read",
    "E005": "migration folder is missing",
    "E006": "file has no SQL statements",
    "E007": "file cannot be split into statements",
    "E008": "statement cannot run inside a transaction",
    "E009": "applied file was modified",
    "E010": "pending file is out of order",
    "E011": "migration failed earlier",
    "E012": "invalid header directive",
    "E013": "invalid setting",
    "E014": "Django migration it depends on is not applied",
    "E015": "depends on a migration that does not exist",
    "E016": "depends-on lines form a cycle",
    "E017": "file contains a character the database cannot take",
    "E018": "number is applied already under another name",
    "E019": "statement cannot run in a migration",
    "W001": "gap in migration numbers",
    "W002": "applied migration has no file",
    "W003": "pending migrations",
    "W004": "down file without its migration",
}


@frozen_dataclass
class Problem(Frozen):
    """A finding: what is wrong (or worth a warning), where, and what to do."""

    code: str
    message: str
    hint: str = ""
    path: Path | None = None
    line: int | None = None
    version: str | None = None

    @property
    def is_error(self) -> bool:
        return self.code.startswith("E")

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        where = display_path(self.path)
        return f"{where}:{self.line}" if self.line else where

    def format(self) -> str:
        """One paragraph: where, what, and what to do."""
        parts = [f"{self.location}: {self.message}" if self.location else self.message]
        if self.hint:
            parts.append(self.hint)
        return " ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": f"sqlmigrate.{self.code}",
            "level": "error" if self.is_error else "warning",
            "title": CODES.get(self.code, ""),
            "message": self.message,
            "hint": self.hint,
            "path": str(self.path) if self.path else None,
            "line": self.line,
            "version": self.version,
        }
