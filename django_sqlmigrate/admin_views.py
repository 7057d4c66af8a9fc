"""The read side of the admin: one database's history next to its files, and the extra pages.

A page reads the history once (``MigrationPlanner.status()``, from ``routing.planner_for`` like
every command: one query for every row, one scan of the migration folders) and derives everything it shows from that snapshot: the state badge of
each row, the warning banner, the state filter and the pending files. Nothing here writes.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from .backends import get_backend
from .conf import app_settings
from .loader import SourceError, SqlMigration, checksum, read_source
from .models import SchemaMigration
from .oserrors import describe as describe_os_error
from .planner import FAILED, MISSING, MODIFIED, OK, AppliedState, Status
from .problems import Problem
from .recorder import (
    APPLIED,
    BASELINED,
    CHECKSUM_ACCEPTED,
    CLEARED,
    CURRENT,
    FAKED,
    MISSING_TABLE,
    RENAMED,
    REPAIRED,
    ROLLBACK_FAILED,
    ROLLED_BACK,
    STARTED,
)
from .recorder import FAILED as FAILED_EVENT
from .redact import redact, redactor
from .routing import allowed, planner_for

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

logger = logging.getLogger("django_sqlmigrate")

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
# How a row came to be, and what the events table records, as the admin words them.
KIND_LABELS = {
    APPLIED: "Applied: its SQL ran",
    FAKED: "Faked: recorded without running its SQL (sqlmigrate_apply --fake)",
    BASELINED: "Baselined: recorded without running, the database had it already",
    REPAIRED: "Repaired: a failed run, completed by hand and marked applied",
}
EVENT_LABELS = {
    STARTED: "Started",
    APPLIED: "Applied",
    FAKED: "Faked",
    BASELINED: "Baselined",
    REPAIRED: "Marked applied (repaired)",
    FAILED_EVENT: "Failed",
    CLEARED: "Failed record removed",
    RENAMED: "Renamed",
    CHECKSUM_ACCEPTED: "Edited text accepted",
    ROLLED_BACK: "Rolled back",
    ROLLBACK_FAILED: "Rollback failed",
}
# Problems that a row's state already shows; the others are about files.
_SHOWN_AS_STATE = {"E009", "E011", "W002"}


def served_aliases() -> list[str]:
    """The aliases the database routers let this app migrate, as the commands decide."""
    return [alias for alias in connections if allowed(alias)] or [DEFAULT_DB_ALIAS]


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
    current_schema: bool = True  # False: a 0.1 table, without the kind column

    @classmethod
    def read(cls, alias: str) -> History:
        planner = planner_for(alias)
        schema = planner.recorder.schema()
        # Its events are read where a page shows them: the detail page, a version's.
        status = planner.status(events=False)
        return cls(
            alias,
            schema != MISSING_TABLE,
            status,
            app_settings.dirs_for(alias),
            current_schema=schema == CURRENT,
        )

    @cached_property
    def by_version(self) -> dict[str, AppliedState]:
        return {entry.row.version: entry for entry in self.status.rows}

    @cached_property
    def counts(self) -> Counter[str]:
        return Counter(entry.state for entry in self.status.rows)

    @property
    def database(self) -> dict[str, str]:
        return self.status.database

    @property
    def pending(self) -> tuple[SqlMigration, ...]:
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
        return [entry.row.version for entry in self.status.rows if entry.state == state]

    def apply_command(self) -> str:
        command = "python manage.py sqlmigrate_apply"
        return command if self.alias == DEFAULT_DB_ALIAS else f"{command} --database {self.alias}"


def aliases_with_history(history: History) -> list[str]:
    """The served aliases whose history table exists (one look at each other database)."""
    return _aliases_with_history(history.alias, history.has_table)


def _aliases_with_history(current: str, current_has_table: bool) -> list[str]:
    found = []
    for alias in served_aliases():
        if alias == current:
            has_table = current_has_table
        else:
            try:
                has_table = planner_for(alias).recorder.has_table()
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
    return _choices(history.alias, aliases_with_history(history))


def _choices(current: str, aliases: list[str]) -> list[DatabaseChoice]:
    if len(aliases) <= 1:
        return []
    if current not in aliases:
        aliases.append(current)
    return [
        DatabaseChoice(alias, "?" + urlencode({DATABASE_VAR: alias}), alias == current)
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


def history_for(request: HttpRequest) -> History:
    """The requested database's history, read once per request however many parts ask."""
    cached = getattr(request, "_sqlmigrate_history", None)
    if not isinstance(cached, History):
        cached = History.read(requested_alias(request))
        request._sqlmigrate_history = cached  # type: ignore[attr-defined]
    return cached


def page_context(model_admin: ModelAdmin[SchemaMigration], request: HttpRequest) -> dict[str, Any]:
    """What every sqlmigrate admin page, the changelist included, has in its context."""
    history = history_for(request)
    alias = request.GET.get(DATABASE_VAR)
    database_query = "?" + urlencode({DATABASE_VAR: alias}) if alias else ""
    info = model_admin.opts.app_label, model_admin.opts.model_name
    site = model_admin.admin_site.name
    changelist = reverse("admin:{}_{}_changelist".format(*info), current_app=site)
    return {
        "title": "SQL migrations",
        "history": history,
        "database": history.database,
        "database_choices": database_choices(history),
        "changelist_url": changelist + database_query,
        "state_urls": {
            state: changelist
            + "?"
            + urlencode({**({DATABASE_VAR: alias} if alias else {}), "state": state})
            for state in STATE_LABELS
        },
        "pending_url": reverse("admin:{}_{}_pending".format(*info), current_app=site)
        + database_query,
    }


def render(
    model_admin: ModelAdmin[SchemaMigration],
    request: HttpRequest,
    template: str,
    **extra: Any,
) -> TemplateResponse:
    request.current_app = model_admin.admin_site.name
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        **page_context(model_admin, request),
        **extra,
    }
    return TemplateResponse(request, f"admin/django_sqlmigrate/schemamigration/{template}", context)


def pending_page(
    model_admin: ModelAdmin[SchemaMigration], request: HttpRequest
) -> TemplateResponse:
    history = history_for(request)
    out_of_order = {p.version for p in history.file_problems if p.code == "E010"}
    rows = [
        {"migration": migration, "out_of_order": migration.version in out_of_order}
        for migration in history.pending
    ]
    problems = [{"problem": p, "hint": hint_html(p.hint)} for p in history.file_problems]
    return render(
        model_admin,
        request,
        "pending.html",
        title="Pending SQL migrations",
        rows=rows,
        problems=problems,
    )


def no_history_page(
    model_admin: ModelAdmin[SchemaMigration], request: HttpRequest
) -> TemplateResponse:
    return render(model_admin, request, "no_history.html", table=SchemaMigration._meta.db_table)


def detail_page(
    model_admin: ModelAdmin[SchemaMigration], request: HttpRequest, row: SchemaMigration
) -> TemplateResponse:
    history = history_for(request)
    entry = history.by_version.get(row.version)
    migration = entry.migration if entry else None
    row_problem = next((p for p in history.status.problems if p.version == row.version), None)
    source = FileSource.read(migration)
    state = entry.state if entry else ""
    kind = entry.row.kind if entry else APPLIED  # from the history read (a 0.1 table has none)
    events = planner_for(history.alias).recorder.events(version=row.version)
    return render(
        model_admin,
        request,
        "detail.html",
        title=row.version,
        original=row,
        kind=kind,
        kind_label=KIND_LABELS.get(kind, kind),
        ran=kind in (APPLIED, REPAIRED),
        events=[
            {
                "event": event,
                "label": EVENT_LABELS.get(event.event, event.event),
                "detail": redact(event.detail),
            }
            for event in events
        ],
        error=redact(row.error) if row.error else "",
        state=state,
        state_label=STATE_LABELS.get(state, ""),
        state_help=STATE_HELP.get(state, ""),
        row_hint=hint_html(row_problem.hint) if row_problem else "",
        migration=migration,
        source=source,
        duration=format_duration(row.execution_time_ms),
        differs=bool(source.checksum) and source.checksum != row.checksum,
        preserved_filters=model_admin.get_preserved_filters(request),
    )


def unavailable_page(
    model_admin: ModelAdmin[SchemaMigration], request: HttpRequest, exc: Exception
) -> TemplateResponse:
    """The admin's own page for a history that cannot be read (a server down, a wrong password).

    503, not 500: the admin works, a service it depends on does not. Never Django's technical
    500 page, whose frame locals (DEBUG = True) hold the connection's settings, password
    included; the message is scrubbed of every configured password.
    """
    alias = requested_alias(request)
    backend = get_backend(connections[alias])
    database = backend.describe()
    if isinstance(exc, DatabaseError):
        text = backend.message(exc).text  # SQLite's names a missing folder, a lock's holder
    else:
        text = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
    scrub = redactor()
    problem = " ".join(scrub(text).split()) or type(exc).__name__
    where = f"{database['vendor']} database {database['name']!r}" + (
        f" on {database['host']}" if database["host"] else ""
    )
    logger.warning(
        "SQL migration admin: the history of database %r (%s) cannot be read: %s",
        alias,
        where,
        problem,
    )
    request.current_app = model_admin.admin_site.name
    info = model_admin.opts.app_label, model_admin.opts.model_name
    changelist = reverse(
        "admin:{}_{}_changelist".format(*info), current_app=model_admin.admin_site.name
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "SQL migrations",
        "alias": alias,
        "database": database,
        "where": where,
        "problem": problem,
        "is_database_error": isinstance(exc, DatabaseError),
        # The other databases stay one click away, if any has history.
        "database_choices": _choices(alias, [*_aliases_with_history(alias, False), alias]),
        "changelist_url": changelist + "?" + urlencode({DATABASE_VAR: alias}),
    }
    return TemplateResponse(
        request,
        "admin/django_sqlmigrate/schemamigration/unavailable.html",
        context,
        status=503,
    )


def hint_html(hint: str) -> SafeString:
    """A problem's hint, with its `backticked` commands set as code."""
    parts = hint.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: show the text as it is
        parts = [hint]
    pieces = [
        format_html("<code>{}</code>", part) if i % 2 else part for i, part in enumerate(parts)
    ]
    return format_html_join("", "{}", ((piece,) for piece in pieces))


def format_duration(milliseconds: int | None) -> str:
    """``850 ms``, ``12.4 s``, ``3 min 05 s``; an em dash when unknown."""
    if milliseconds is None:
        return "\N{EM DASH}"
    if milliseconds < 1000:  # noqa: PLR2004
        return f"{milliseconds} ms"
    seconds = milliseconds / 1000
    if seconds < 60:  # noqa: PLR2004
        return f"{seconds:.1f} s"
    minutes, whole_seconds = divmod(round(seconds), 60)
    return f"{minutes} min {whole_seconds:02d} s"
