"""What every sqlmigrate command shares: ``--database`` and turning failures into CommandError."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from ..exceptions import SqlMigrateError
from ..problems import Problem


class SqlMigrateCommand(BaseCommand):
    # Like ``migrate``: no blanket system checks, so a release phase with nothing to do stays
    # as cheap as Django's start-up plus a query.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            choices=tuple(connections),
            help='The database to use. Defaults to the "default" database.',
        )

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except SqlMigrateError as exc:
            raise CommandError(str(exc)) from None
        except ImproperlyConfigured as exc:
            raise CommandError(f"Settings problem: {exc}") from None
        except DatabaseError as exc:
            alias = options.get("database") or DEFAULT_DB_ALIAS
            raise CommandError(self.database_error(alias, exc)) from None

    @staticmethod
    def database_error(alias: str, exc: DatabaseError) -> str:
        settings = connections[alias].settings_dict
        where = (
            f"{settings.get('ENGINE', '?').rsplit('.', 1)[-1]} database {settings.get('NAME')!r}"
        )
        if settings.get("HOST"):
            where += f" on {settings['HOST']}" + (
                f":{settings['PORT']}" if settings.get("PORT") else ""
            )
        message = " ".join(str(exc).split()) or type(exc).__name__
        password = str(settings.get("PASSWORD") or "")
        if password:
            message = message.replace(password, "********")
        return f"Database {alias!r} ({where}) failed: {message}"

    def write_problems(self, problems: list[Problem]) -> None:
        for problem in problems:
            style = self.style.ERROR if problem.is_error else self.style.WARNING
            label = "error" if problem.is_error else "warning"
            self.stderr.write(style(f"{label} sqlmigrate.{problem.code}: {problem.format()}"))
