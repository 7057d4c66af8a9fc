"""What every sqlmigrate command shares: ``--database`` and turning failures into CommandError."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from ..backends import get_backend
from ..exceptions import SqlMigrateError
from ..oserrors import describe as describe_os_error
from ..problems import Problem
from ..redact import redact


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
        # Every message leaves through here scrubbed of every configured password, before
        # anything else is done to it (database_error collapses whitespace after).
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            raise CommandError(redact(str(exc)), returncode=exc.returncode) from None
        except SqlMigrateError as exc:
            raise CommandError(redact(str(exc))) from None
        except ImproperlyConfigured as exc:
            raise CommandError(redact(f"Settings problem: {exc}")) from None
        except DatabaseError as exc:
            alias = options.get("database") or DEFAULT_DB_ALIAS
            raise CommandError(self.database_error(alias, exc)) from None
        except OSError as exc:
            # The last resort: the places that read or write files say more themselves.
            raise CommandError(
                redact(f"{describe_os_error(exc)} Nothing after that point was done.")
            ) from None

    @staticmethod
    def database_error(alias: str, exc: DatabaseError) -> str:
        connection = connections[alias]
        settings = connection.settings_dict
        where = (
            f"{settings.get('ENGINE', '?').rsplit('.', 1)[-1]} database {settings.get('NAME')!r}"
        )
        if settings.get("HOST"):
            where += f" on {settings['HOST']}" + (
                f":{settings['PORT']}" if settings.get("PORT") else ""
            )
        if connection.vendor == "sqlite":  # names the process holding a lock, a missing folder
            text = get_backend(connection).message(exc).text
        else:
            text = str(exc)
        # Scrubbed first: collapsing whitespace would hide a password with a run of spaces.
        message = " ".join(redact(text).split()) or type(exc).__name__
        return redact(f"Database {alias!r} ({where}) failed: {message}")

    def write_problems(self, problems: Sequence[Problem]) -> None:
        for problem in problems:
            style = self.style.ERROR if problem.is_error else self.style.WARNING
            label = "error" if problem.is_error else "warning"
            self.stderr.write(style(f"{label} sqlmigrate.{problem.code}: {problem.format()}"))
