"""``depends-on <app>.<migration>``: a SQL file waits for a Django migration.

Checked against ``django_migrations`` on the database being migrated. Django's migration graph
is loaded only when a pending file names a Django migration that is not applied, to tell "not
applied yet" from "does not exist"; a deploy with nothing of the kind pays one query at most.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.backends.base.base import BaseDatabaseWrapper

from .loader import DEPENDS_ON, SourceError, SqlMigration, read_header
from .problems import Problem


def django_dependencies(migration: SqlMigration) -> list[tuple[str, str]]:
    """The ``(app_label, migration_name)`` pairs a file names in ``depends-on`` lines."""
    found = []
    for name in migration.depends_on:
        if ":" not in name:
            app_label, migration_name = name.split(".", 1)
            found.append((app_label, migration_name))
    return found


def header_line(migration: SqlMigration, dependency: str) -> tuple[int | None, str]:
    """Line number and text of the header line that names ``dependency``."""
    try:
        header = read_header(migration.path).decode("utf-8", "replace")
    except SourceError:
        return None, f"-- sqlmigrate: {DEPENDS_ON} {dependency}"
    for number, line in enumerate(header.splitlines(), 1):
        if DEPENDS_ON in line and dependency in line.split():
            return number, line.strip()
    return None, f"-- sqlmigrate: {DEPENDS_ON} {dependency}"


def unmet_dependencies(
    connection: BaseDatabaseWrapper, migrations: Sequence[SqlMigration]
) -> list[Problem]:
    """E014 for a Django migration not applied yet, E015 for one that does not exist."""
    wanted = [(m, key) for m in migrations for key in django_dependencies(m)]
    if not wanted:
        return []
    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder(connection).applied_migrations()
    missing = [(m, key) for m, key in wanted if key not in applied]
    if not missing:
        return []
    from django.db.migrations.loader import MigrationLoader

    on_disk = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    problems = []
    for migration, (app_label, name) in missing:
        dependency = f"{app_label}.{name}"
        line, text = header_line(migration, dependency)
        if (app_label, name) in on_disk:
            problems.append(
                Problem(
                    "E014",
                    f"{migration.version} says `{text}`, but the Django migration {dependency} "
                    f"is not applied to database {connection.alias!r} yet, so "
                    f"{migration.version} cannot run.",
                    hint=(
                        f"Run `python manage.py migrate {app_label} {name} --database "
                        f"{connection.alias}` first, or plain `migrate`, which applies pending "
                        "SQL migrations after Django's."
                    ),
                    path=migration.path,
                    line=line,
                    version=migration.version,
                )
            )
        else:
            problems.append(
                Problem(
                    "E015",
                    f"{migration.version} says `{text}`, but there is no Django migration "
                    f"{dependency} (no such migration in an installed app {app_label!r}).",
                    hint=(
                        f"Fix the depends-on line; `python manage.py showmigrations {app_label}` "
                        "lists the migrations there are."
                    ),
                    path=migration.path,
                    line=line,
                    version=migration.version,
                )
            )
    return problems
