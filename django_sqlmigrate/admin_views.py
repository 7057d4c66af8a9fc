"""The read side of the admin: one database's history next to its files, and the extra pages.

A page reads the history once (``MigrationExecutor.status()``: one query for every row, one scan
of the migration folders) and derives everything it shows from that snapshot: the state badge of
each row, the warning banner, the state filter and the pending files. Nothing here writes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.utils.http import urlencode

from .conf import app_settings
from .executor import FAILED, MISSING, MODIFIED, OK, AppliedState, MigrationExecutor, Status
from .loader import SourceError, SqlMigration, checksum, read_source
from .models import SchemaMigration
from .problems import Problem
from .recorder import MigrationRecorder

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

# The query string parameter that picks the database alias on every page.
DATABASE_VAR = "database"
# The detail page shows at most this much of a file (a data migration can be 50 MB).
MAX_SQL_SHOWN = 256 * 1024

STATE_LABELS = {OK: "OK", MODIFIED: "Modified", MISSING: "Missing", FAILED: "Failed"}
STATE_HELP = {
    OK: "Applied, and the file on disk is the one that ran.",
    MODIFIED: "The file changed after it was applied: the database ran an earlier version.",
    MISSING: "Applied, but the file is not in any migrations folder.",
    FAILED: "Failed part-way and could not be rolled back: it needs a hand before anything runs.",
}
# Problems that a row's state already shows; the others are about files.
_SHOWN_AS_STATE = {"E009", "E011", "W002"}


def served_aliases() -> list[str]:
    """The aliases SQLMIGRATE_DIRS gives files to (every alias for a plain list)."""
    served = [alias for alias in connections if app_settings.dirs_for(alias)]
    return served or [DEFAULT_DB_ALIAS]


def requested_alias(request: HttpRequest) -> str:
    """The alias named by ``?database=``; ``default`` (or the first one served) without it."""
    served = served_aliases()
    alias = request.GET.get(DATABASE_VAR)
    if alias is None:
        return DEFAULT_DB_ALIAS if DEFAULT_DB_ALIAS in served else served[0]
    if alias not in served:
        raise Http404(f"No database {alias!r} has SQL migrations.")
    return alias


@dataclass
class History:
    """One database's history rows with their states, and its pending files."""

    alias: str
    has_table: bool
    status: Status
    dirs: list[Path]

    @classmethod
    def read(cls, alias: str) -> History:
        executor = MigrationExecutor(connections[alias])
        has_table = executor.recorder.has_table()
        return cls(alias, has_table, executor.status(), app_settings.dirs_for(alias))

    @cached_property
    def by_version(self) -> dict[str, AppliedState]:
        return {entry.row.version: entry for entry in self.status.applied}

    @cached_property
    def counts(self) -> Counter[str]:
        return Counter(entry.state for entry in self.status.applied)

    @property
    def database(self) -> dict[str, str]:
        return self.status.database

    @property
    def pending(self) -> list[SqlMigration]:
        return self.status.pending

    @property
    def file_problems(self) -> list[Problem]:
        """Problems with the files themselves (names, duplicates, order, encoding)."""
        return [p for p in self.status.problems if p.code not in _SHOWN_AS_STATE]

    @property
    def file_errors(self) -> list[Problem]:
        return [p for p in self.file_problems if p.is_error]

    @property
    def needs_attention(self) -> bool:
        return bool(
            self.pending or self.counts[MODIFIED] or self.counts[FAILED] or self.file_errors
        )

    def versions(self, state: str) -> list[str]:
        return [entry.row.version for entry in self.status.applied if entry.state == state]

    def apply_command(self) -> str:
        command = "python manage.py sqlmigrate_apply"
        return command if self.alias == DEFAULT_DB_ALIAS else f"{command} --database {self.alias}"


def aliases_with_history(history: History) -> list[str]:
    """The served aliases whose history table exists (one look at each other database)."""
    found = []
    for alias in served_aliases():
        if alias == history.alias:
            has_table = history.has_table
        else:
            try:
                has_table = MigrationRecorder(connections[alias]).has_table()
            except DatabaseError:  # a database that is down only drops out of the selector
                has_table = False
        if has_table:
            found.append(alias)
    return found


@dataclass
class DatabaseChoice:
    alias: str
    url: str
    selected: bool


def database_choices(history: History) -> list[DatabaseChoice]:
    """The database selector: shown when more than one alias has history."""
    aliases = aliases_with_history(history)
    if len(aliases) <= 1:
        return []
    if history.alias not in aliases:
        aliases.append(history.alias)
    return [
        DatabaseChoice(alias, "?" + urlencode({DATABASE_VAR: alias}), alias == history.alias)
        for alias in aliases
    ]


@dataclass
class FileSource:
    """What the detail page shows of a migration's file."""

    path: Path | None
    text: str = ""
    checksum: str = ""
    size: int = 0
    truncated: bool = False
    problem: str = ""

    @classmethod
    def read(cls, migration: SqlMigration | None) -> FileSource:
        if migration is None:
            return cls(None, problem="The file is not in any migrations folder.")
        try:
            source = read_source(migration.path)
        except SourceError as exc:
            return cls(migration.path, problem=f"The file {exc}")
        shown = source[:MAX_SQL_SHOWN]
        return cls(
            migration.path,
            # The file is valid UTF-8; only a character cut at the limit can be incomplete.
            text=shown.decode("utf-8", "ignore"),
            checksum=checksum(source),
            size=len(source),
            truncated=len(shown) < len(source),
        )


@dataclass
class PageContext:
    """What every sqlmigrate admin page puts in its template context."""

    model_admin: ModelAdmin[SchemaMigration]
    request: HttpRequest
    history: History
    extra: dict[str, Any] = field(default_factory=dict)

    def render(self, template: str, title: str) -> TemplateResponse:
        admin_site = self.model_admin.admin_site
        self.request.current_app = admin_site.name
        context = {
            **admin_site.each_context(self.request),
            "opts": self.model_admin.opts,
            "title": title,
            "history": self.history,
            "database": self.history.database,
            "database_choices": database_choices(self.history),
            "database_query": _database_query(self.request),
            **self.extra,
        }
        return TemplateResponse(
            self.request, f"admin/django_sqlmigrate/schemamigration/{template}", context
        )


def _database_query(request: HttpRequest) -> str:
    """``?database=ALIAS`` when the page was asked for a database by name, else ``""``."""
    alias = request.GET.get(DATABASE_VAR)
    return "?" + urlencode({DATABASE_VAR: alias}) if alias else ""


def pending_page(
    model_admin: ModelAdmin[SchemaMigration], request: HttpRequest, history: History
) -> TemplateResponse:
    out_of_order = {p.version for p in history.file_problems if p.code == "E010"}
    rows = [
        {"position": position, "migration": migration, "out_of_order": migration.version in out_of_order}
        for position, migration in enumerate(history.pending, start=1)
    ]
    page = PageContext(model_admin, request, history, {"rows": rows})
    return page.render("pending.html", "Pending SQL migrations")


def no_history_page(
    model_admin: ModelAdmin[SchemaMigration], request: HttpRequest, history: History
) -> TemplateResponse:
    page = PageContext(model_admin, request, history, {"table": SchemaMigration._meta.db_table})
    return page.render("no_history.html", "SQL migrations")


def detail_page(
    model_admin: ModelAdmin[SchemaMigration],
    request: HttpRequest,
    history: History,
    row: SchemaMigration,
) -> TemplateResponse:
    entry = history.by_version.get(row.version)
    migration = entry.migration if entry else None
    source = FileSource.read(migration)
    state = entry.state if entry else ""
    page = PageContext(
        model_admin,
        request,
        history,
        {
            "original": row,
            "state": state,
            "state_label": STATE_LABELS.get(state, ""),
            "state_help": STATE_HELP.get(state, ""),
            "migration": migration,
            "source": source,
            "differs": bool(source.checksum) and source.checksum != row.checksum,
            "preserved_filters": model_admin.get_preserved_filters(request),
        },
    )
    return page.render("detail.html", row.version)
