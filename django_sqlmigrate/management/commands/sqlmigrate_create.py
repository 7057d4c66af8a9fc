from __future__ import annotations

import re
import unicodedata
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError, connections

from ...backends import get_backend
from ...conf import app_settings
from ...loader import MAX_VERSION_LENGTH, NO_TRANSACTION
from ...numbering import app_label_of, next_number
from ...splitter import split
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

FROM_DJANGO = """\
-- The SQL of Django migration {app_label}.{name} on {vendor}, as
-- `manage.py sqlmigrate {app_label} {name} --database {database}` printed it.
-- Make that migration state-only (migrations.SeparateDatabaseAndState with these operations
-- as state_operations), so Django records the model change without running this SQL too.

{sql}
"""


# The longest file name most file systems take, in bytes.
NAME_MAX = 255


def slugify(description: str) -> str:
    """Lowercase words of letters and digits joined by single dashes: safe as a file name.

    Accents are dropped rather than the letters (``Café`` -> ``cafe``).
    """
    ascii_text = unicodedata.normalize("NFKD", description).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text.lower()))


class Command(SqlMigrateCommand):
    help = "Create the next numbered SQL migration file from a description."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "description",
            nargs="?",
            help='What the migration does, e.g. "add user prefs" (with --from-django: optional).',
        )
        parser.add_argument(
            "--from-django",
            nargs=2,
            metavar=("APP_LABEL", "MIGRATION_NAME"),
            help="Fill the file with the SQL Django would run for this migration (sqlmigrate).",
        )
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
        description: str | None,
        dir: Path | None,
        no_transaction: bool,
        from_django: list[str] | None,
        **options: Any,
    ) -> None:
        body = ""
        if from_django is not None:
            body = self.django_sql(database, *from_django)
            description = description or " ".join(from_django)
        if description is None:
            raise CommandError("Give a description of the change, or --from-django APP NAME.")
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
        number, width = next_number(folder, dirs, database, warn=self.warn)
        path = folder / f"{number:0{width}d}-{slug}.sql"
        self.check_length(path, folder)
        title = slug.replace("-", " ").capitalize()
        text = TEMPLATE.format(
            directives=f"-- sqlmigrate: {NO_TRANSACTION}\n" if no_transaction else "",
            title=title,
            today=date.today().isoformat(),
            mode="statement by statement, outside a transaction"
            if no_transaction
            else "in one transaction",
        )
        text += body
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            raise CommandError(f"{path} already exists.") from None
        except OSError as exc:
            raise CommandError(
                f"Could not write {path}: {exc.strerror or exc}. Check that the folder "
                f"{folder} can be created and written by this user, or pass --dir."
            ) from None
        self.stdout.write(str(path))

    def warn(self, alias: str, exc: Exception) -> None:
        problem = (
            self.database_error(alias, exc)
            if isinstance(exc, DatabaseError)
            else f"Settings problem: {exc}"
        )
        self.stderr.write(
            self.style.WARNING(
                f"{problem}\nIts history was not read, so the new number is only above the "
                "files and the other databases' history."
            )
        )

    @staticmethod
    def check_length(path: Path, folder: Path) -> None:
        """A file name holds 255 bytes, and the history's version column 255 characters."""
        label = app_label_of(folder)
        version = f"{label}:{path.stem}" if label else path.stem
        over = max(len(path.name.encode()) - NAME_MAX, len(version) - MAX_VERSION_LENGTH)
        if over > 0:
            slug = path.stem.split("-", 1)[1]
            raise CommandError(
                f"The description is too long: as {path.name[:40]}... the file name would be "
                f"{over} character{'s' if over != 1 else ''} over the limit (file names hold "
                f"{NAME_MAX} bytes, and the version {MAX_VERSION_LENGTH} characters). Describe "
                f"the change in at most {len(slug) - over} characters."
            )

    def django_sql(self, database: str, app_label: str, name: str) -> str:
        """What ``manage.py sqlmigrate`` prints, without its BEGIN/COMMIT (files get their own)."""
        out = StringIO()
        call_command("sqlmigrate", app_label, name, database=database, stdout=out, no_color=True)
        lines = out.getvalue().strip().splitlines()
        if lines[:1] == ["BEGIN;"] and lines[-1:] == ["COMMIT;"]:
            lines = lines[1:-1]
        sql = "\n".join(lines).strip()
        connection = connections[database]
        if not list(split(sql.encode(), get_backend(connection).dialect)):
            raise CommandError(
                f"Django migration {app_label}.{name} has no SQL to move on database "
                f"{database!r} (only state changes or RunPython); no file was written."
            )
        return FROM_DJANGO.format(
            app_label=app_label, name=name, vendor=connection.vendor, database=database, sql=sql
        )
