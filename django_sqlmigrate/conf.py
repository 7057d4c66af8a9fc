"""Typed access to the flat ``SQLMIGRATE_*`` settings.

Every setting is read when it is used, so ``override_settings`` and pytest-django's ``settings``
fixture take effect at once, and every bad value is reported with the setting's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_TABLE = "schema_migrations"
# PostgreSQL names hold 63 bytes and MySQL's 64: the events table is "<table>_events".
MAX_TABLE_LENGTH = 56
DEFAULT_LOCK_TIMEOUT = 60.0


def _as_paths(value: object, setting: str) -> list[Path]:
    if isinstance(value, (str, PathLike)) or not isinstance(value, Sequence):
        raise ImproperlyConfigured(
            f"{setting} must be a list of folders (str or pathlib.Path), got {value!r}."
        )
    paths = []
    for item in value:
        if not isinstance(item, (str, PathLike)) or not str(item):
            raise ImproperlyConfigured(
                f"{setting} must contain folder paths (str or pathlib.Path), got {item!r}."
            )
        paths.append(Path(item))
    return paths


class Settings:
    """The app's settings, with their defaults and their checks in one place."""

    def dirs_for(self, alias: str) -> list[Path]:
        """The migration folders for database ``alias``, in the order they merge."""
        value = getattr(settings, "SQLMIGRATE_DIRS", None)
        if value is None:
            base_dir = getattr(settings, "BASE_DIR", None)
            if base_dir is None:
                raise ImproperlyConfigured(
                    "SQLMIGRATE_DIRS is not set and the settings define no BASE_DIR to derive "
                    "the default from. Add SQLMIGRATE_DIRS = [BASE_DIR / 'sql_migrations'] (or "
                    "the folders that hold your .sql files) to your settings."
                )
            return [Path(base_dir) / "sql_migrations"]
        if isinstance(value, Mapping):
            if alias not in value:
                return []
            return _as_paths(value[alias], f"SQLMIGRATE_DIRS[{alias!r}]")
        return _as_paths(value, "SQLMIGRATE_DIRS")

    @property
    def TABLE(self) -> str:
        value = getattr(settings, "SQLMIGRATE_TABLE", DEFAULT_TABLE)
        if (
            not isinstance(value, str)
            or not value.replace("_", "").isalnum()
            or len(value) > MAX_TABLE_LENGTH
        ):
            raise ImproperlyConfigured(
                f"SQLMIGRATE_TABLE must be a plain table name (letters, digits and "
                f"underscores, at most {MAX_TABLE_LENGTH} characters: its events table adds "
                f"'_events' to it), got {value!r}."
            )
        return value

    @property
    def LOCK_TIMEOUT(self) -> float:
        value = getattr(settings, "SQLMIGRATE_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ImproperlyConfigured(
                f"SQLMIGRATE_LOCK_TIMEOUT must be a number of seconds >= 0, got {value!r}."
            )
        return float(value)

    @property
    def MIGRATION_DATABASES(self) -> dict[str, str]:
        """``{alias: alias to run its migrations through}``, checked against DATABASES."""
        value = getattr(settings, "SQLMIGRATE_MIGRATION_DATABASES", None) or {}
        if not isinstance(value, Mapping):
            raise ImproperlyConfigured(
                "SQLMIGRATE_MIGRATION_DATABASES must be a dict from a database alias to the "
                f"alias to run its migrations through, got {value!r}."
            )
        known = settings.DATABASES
        for alias, direct in value.items():
            for name in (alias, direct):
                if not isinstance(name, str) or name not in known:
                    raise ImproperlyConfigured(
                        f"SQLMIGRATE_MIGRATION_DATABASES names {name!r}, which is not a database "
                        f"alias in DATABASES ({', '.join(map(repr, known))})."
                    )
            engines = {known[name].get("ENGINE") for name in (alias, direct)}
            if len(engines) != 1:
                raise ImproperlyConfigured(
                    f"SQLMIGRATE_MIGRATION_DATABASES routes {alias!r} through {direct!r}, but "
                    "they use different ENGINEs; both must reach the same database."
                )
        return dict(value)

    def migration_alias(self, alias: str) -> str:
        """The alias that runs ``alias``'s migrations and takes its lock."""
        return self.MIGRATION_DATABASES.get(alias, alias)

    @property
    def APPLY_ON_MIGRATE(self) -> bool:
        value = getattr(settings, "SQLMIGRATE_APPLY_ON_MIGRATE", True)
        if not isinstance(value, bool):
            raise ImproperlyConfigured(
                f"SQLMIGRATE_APPLY_ON_MIGRATE must be True or False, got {value!r}."
            )
        return value


app_settings = Settings()
