"""Narrow exceptions. Each carries a message a user can act on, without a traceback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .problems import Problem


class SqlMigrateError(Exception):
    """Base class: ``str(error)`` is the one-paragraph message a command prints."""


class InvalidMigrations(SqlMigrateError):
    """Validation found errors; nothing was run."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(problem.format() for problem in self.problems))


class MigrationFailed(SqlMigrateError):
    """A migration's SQL failed. Migrations applied before it in the run stay applied."""

    def __init__(self, version: str, message: str, database_message: str = "") -> None:
        from .redact import redactor

        # Scrubbed here: the message is printed, and database_message goes into the history.
        scrub = redactor()
        self.version = version
        self.database_message = scrub(database_message or message)
        super().__init__(scrub(message))


class LockTimeout(SqlMigrateError):
    """Another process held the migration lock for longer than the lock timeout."""


class UnknownTarget(SqlMigrateError):
    """``--target`` names no migration file."""
