"""System checks: the loader's and the history's problems, as ``sqlmigrate.E0xx`` messages.

The file checks run on every ``manage.py`` command, so they only list folders and read the
header comments of each file: no SQL parsing, no database. The history checks need a
database and are tagged ``database``, so they run only when asked (``check --database
default``), the way Django's own database checks do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from .conf import app_settings
from .namespaces import load_all
from .problems import Problem
from .routing import allowed, planner_for

# Problems found from the history table; the rest come from the files alone.
HISTORY_CODES = frozenset({"E009", "E010", "E011", "E018", "W002"})


def as_check_message(problem: Problem, alias: str | None = None) -> checks.CheckMessage:
    """A Problem as Django reports a check: the code becomes ``sqlmigrate.<code>``."""
    level = checks.ERROR if problem.is_error else checks.WARNING
    message = f"{problem.location}: {problem.message}" if problem.location else problem.message
    if alias is not None:
        message = f"Database {alias!r}: {message}"
    return checks.CheckMessage(
        level, message, hint=problem.hint or None, id=f"sqlmigrate.{problem.code}"
    )


@checks.register("sqlmigrate")
def check_migration_files(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Bad file names, duplicate numbers, unknown header directives, missing folders."""
    problems: list[Problem] = []
    for alias in connections:
        try:
            folders = app_settings.dirs_for(alias)
            app_settings.migration_alias(alias)
            app_settings.TABLE  # noqa: B018 - validates the setting
        except ImproperlyConfigured as exc:
            return [checks.Error(str(exc), id="sqlmigrate.E013")]
        for problem in load_all(folders, alias, headers_only=True).problems:
            if problem not in problems:  # two aliases may share a folder
                problems.append(problem)
    return [as_check_message(problem) for problem in problems]


@checks.register("sqlmigrate", checks.Tags.database)
def check_migration_history(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Iterable[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """Pending files, applied files changed since, and failed runs, per database checked."""
    messages: list[checks.CheckMessage] = []
    for alias in databases or ():
        if not allowed(alias):
            continue
        status = planner_for(alias).status(events=False)  # a database is asked: imports the models
        messages += [
            as_check_message(problem, alias)
            for problem in status.problems
            if problem.code in HISTORY_CODES
        ]
        if status.pending:
            count = len(status.pending)
            messages.append(
                checks.Warning(
                    f"Database {alias!r}: {count} SQL migration{'s are' if count != 1 else ' is'} "
                    f"not applied: {', '.join(m.version for m in status.pending)}.",
                    hint=f"Run 'python manage.py sqlmigrate_apply --database {alias}'.",
                    id="sqlmigrate.W003",
                )
            )
    return messages
