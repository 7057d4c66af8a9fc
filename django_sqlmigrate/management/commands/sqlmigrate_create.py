from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connections

from ...conf import app_settings
from ...loader import FILE_NAME_RE, NO_TRANSACTION
from ..base import SqlMigrateCommand

TEMPLATE = """\
{directives}-- {title}
--
-- Created {today} by sqlmigrate_create. It runs once per database, {mode}.
-- Once applied, don't edit this file: put further changes in a new one.
-- Header directives go on their own lines at the very top, for example:
--   -- sqlmigrate: no-transaction    (run statement by statement, for CREATE INDEX CONCURRENTLY)
--   -- sqlmigrate: allow-empty       (allow a file with no statements)

"""


def slugify(description: str) -> str:
    """Lowercase words of letters and digits joined by single dashes: safe as a file name."""
    return "-".join(re.findall(r"[a-z0-9]+", description.lower()))


class Command(SqlMigrateCommand):
    help = "Create the next numbered SQL migration file from a description."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("description", help='What the migration does, e.g. "add user prefs".')
        parser.add_argument(
            "--dir",
            type=Path,
            help="The folder to write to (default: the first of SQLMIGRATE_DIRS).",
        )
        parser.add_argument(
            "--no-transaction",
            action="store_true",
            help="Start the file with the `-- sqlmigrate: no-transaction` header.",
        )

    def handle(
        self,
        *args: Any,
        database: str,
        description: str,
        dir: Path | None,
        no_transaction: bool,
        **options: Any,
    ) -> None:
        slug = slugify(description)
        if not slug:
            raise CommandError(
                f"The description {description!r} has no letters or digits to name a file with. "
                'Describe the change, e.g. sqlmigrate_create "add user preferences".'
            )
        dirs = app_settings.dirs_for(connections[database].alias)
        folder = Path(dir) if dir is not None else (dirs[0] if dirs else None)
        if folder is None:
            raise CommandError(
                f"SQLMIGRATE_DIRS lists no folder for database {database!r}; pass --dir."
            )
        if folder.exists() and not folder.is_dir():
            raise CommandError(f"--dir {folder} is a file, not a folder.")
        number, width = 1, 3
        for directory in {folder, *dirs}:
            if not directory.is_dir():
                continue
            for path in directory.glob("*.sql"):
                match = FILE_NAME_RE.fullmatch(path.name)
                if match:
                    number = max(number, int(match["number"]) + 1)
                    width = max(width, len(match["number"]))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{number:0{width}d}-{slug}.sql"
        title = slug.replace("-", " ").capitalize()
        text = TEMPLATE.format(
            directives=f"-- sqlmigrate: {NO_TRANSACTION}\n" if no_transaction else "",
            title=title,
            today=date.today().isoformat(),
            mode="statement by statement, outside a transaction"
            if no_transaction
            else "in one transaction",
        )
        try:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            raise CommandError(f"{path} already exists.") from None
        self.stdout.write(str(path))
