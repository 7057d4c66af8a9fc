"""Per-app SQL folders, and the one order every folder's files merge into.

A reusable app ships ``<app>/sql_migrations/``; its versions are namespaced by the app label
(``billing:003-add-invoices``) so two apps can both have a ``001``. Each namespace keeps its
numeric order; namespaces interleave only where a ``depends-on <app>:<version>`` line asks,
otherwise they follow INSTALLED_APPS, with the project's own folders (plain versions) last.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from pathlib import Path

from django.apps import apps
from django.db import router

from .loader import LoadResult, MigrationLoader, SqlMigration
from .problems import Problem

APP_FOLDER = "sql_migrations"


def app_folders(alias: str) -> list[tuple[str, Path]]:
    """``(app_label, folder)`` of installed apps with SQL migrations the router allows."""
    found = []
    for config in apps.get_app_configs():
        folder = Path(config.path) / APP_FOLDER
        if folder.is_dir() and router.allow_migrate(alias, config.label):
            found.append((config.label, folder))
    return found


def load_all(
    project_dirs: Sequence[Path], alias: str | None, *, headers_only: bool = False
) -> LoadResult:
    """The project's folders and (for a database alias) every app's folder, in one order."""
    parts = []
    if alias is not None:
        for label, folder in app_folders(alias):
            parts.append(MigrationLoader([folder], label, headers_only=headers_only).load())
    parts.append(MigrationLoader(project_dirs, headers_only=headers_only).load())
    return merge(parts)


def sql_dependencies(migration: SqlMigration) -> list[str]:
    """The ``app:version`` SQL migrations a file names in ``depends-on`` lines."""
    return [name for name in migration.depends_on if ":" in name]


def merge(parts: Sequence[LoadResult]) -> LoadResult:
    """Interleave namespaces: the first whose next file has its SQL dependencies placed."""
    result = LoadResult(problems=[p for part in parts for p in part.problems])
    if not any(sql_dependencies(m) for part in parts for m in part.migrations if m.depends_on):
        # Each namespace whole, in order: what the interleaving below would do.
        result.migrations = [m for part in parts for m in part.migrations]
        return result
    queues = [deque(part.migrations) for part in parts]  # popleft(): linear in the file count
    known = {m.version for queue in queues for m in queue}
    for queue in queues:
        for migration in queue:
            for name in sql_dependencies(migration):
                if name not in known:
                    result.problems.append(
                        Problem(
                            "E015",
                            f"{migration.version} depends on the SQL migration {name}, which "
                            "does not exist.",
                            hint="Fix the depends-on line, or add that app to INSTALLED_APPS.",
                            path=migration.path,
                            version=migration.version,
                        )
                    )
    placed: set[str] = set()
    while any(queues):
        for queue in queues:
            if queue and all(
                name in placed or name not in known for name in sql_dependencies(queue[0])
            ):
                migration = queue.popleft()
                result.migrations.append(migration)
                placed.add(migration.version)
                break
        else:
            stuck = ", ".join(queue[0].version for queue in queues if queue)
            result.problems.append(
                Problem(
                    "E016",
                    f"the depends-on lines of {stuck} form a cycle, so no order runs them all.",
                    hint="Remove one of the depends-on lines that lead back to the same file.",
                )
            )
            result.migrations += [m for queue in queues for m in queue]
            break
    return result
