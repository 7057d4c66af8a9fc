"""The next migration number: above every file on disk and every number any database applied.

A number names a migration for good: once a database has applied ``002``, a new ``002`` file
would be refused there (``sqlmigrate.E018``), even when the applied file is gone from disk (an
older checkout, a file deleted by mistake). So ``sqlmigrate_create`` numbers above the history
of every database that reads the folder, not only above the files it can see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, router

from .conf import app_settings
from .loader import FILE_NAME_RE, version_number
from .namespaces import APP_FOLDER
from .routing import allowed


def app_label_of(folder: Path) -> str | None:
    """The label of the installed app whose ``sql_migrations/`` ``folder`` is, if any."""
    resolved = folder.resolve()
    for config in apps.get_app_configs():
        if (Path(config.path) / APP_FOLDER).resolve() == resolved:
            return config.label
    return None


def readers(folder: Path, label: str | None, database: str) -> list[str]:
    """The database aliases whose migrations include ``folder`` (``database`` if none do)."""
    resolved = folder.resolve()
    found = []
    for alias in connections:
        if not allowed(alias):
            continue
        if label is not None:
            if router.allow_migrate(alias, label):
                found.append(alias)
        elif resolved in {path.resolve() for path in app_settings.dirs_for(alias)}:
            found.append(alias)
    return found or [database]


# Told about a database whose history could not be read (it is skipped).
Warn = Callable[[str, Exception], None]


def applied_versions(aliases: Iterable[str], warn: Warn) -> list[str]:
    """Every version in the history of those databases; one that can't be read is skipped."""
    from .recorder import MigrationRecorder

    versions: list[str] = []
    for alias in aliases:
        try:
            connection = connections[app_settings.migration_alias(alias)]
            versions += MigrationRecorder(connection).checksums()
        except (DatabaseError, ImproperlyConfigured) as exc:
            warn(alias, exc)
    return versions


def next_number(
    folder: Path, dirs: Sequence[Path], database: str, *, warn: Warn
) -> tuple[int, int]:
    """``(number, width)`` for a new file in ``folder``: one above the highest number in the
    folders and in every history that reads it, as wide as the widest number seen (``007``)."""
    label = app_label_of(folder)
    number, width = 1, 3
    for directory in {folder} if label is not None else {folder, *dirs}:
        if not directory.is_dir():
            continue
        for path in directory.glob("*.sql"):
            match = FILE_NAME_RE.fullmatch(path.name)
            if match:
                number = max(number, int(match["number"]) + 1)
                width = max(width, len(match["number"]))
    for version in applied_versions(readers(folder, label, database), warn):
        found = version_number(version)
        if found is not None and found[0] == label:
            number = max(number, found[1] + 1)
            width = max(width, len(version.rpartition(":")[2].partition("-")[0]))
    return number, width
