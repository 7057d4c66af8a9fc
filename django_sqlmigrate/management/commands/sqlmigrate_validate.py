from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from ...routing import planner_for
from ..base import SqlMigrateCommand


class Command(SqlMigrateCommand):
    help = (
        "Check migration files and history without changing anything: names, duplicates, "
        "header directives, encoding, checksums of applied files, order, and the SQL of "
        "pending files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON document."
        )

    def handle(self, *args: Any, database: str, as_json: bool, **options: Any) -> None:
        planner = planner_for(database)
        problems = planner.assess(gaps=True).problems  # api.validate(), keeping the planner
        errors = [problem for problem in problems if problem.is_error]
        checked = len(planner.load().migrations)
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "database": planner.backend.describe(),
                        "files": checked,
                        "valid": not errors,
                        "problems": [problem.as_dict() for problem in problems],
                    },
                    indent=2,
                )
            )
        else:
            self.write_problems(problems)
        if errors:
            raise CommandError(
                f"{len(errors)} error{'s' if len(errors) != 1 else ''} in the SQL migrations of "
                f"database {database!r}; nothing was changed."
            )
        if not as_json and options["verbosity"] >= 1:
            warnings = len(problems)
            self.stdout.write(
                self.style.SUCCESS(
                    f"{checked} SQL migration file{'s' if checked != 1 else ''} valid"
                    + (f" ({warnings} warning{'s' if warnings != 1 else ''})." if warnings else ".")
                )
            )
