"""A read-only Django admin for the SQL migration history.

The changelist shows every history row with its state (OK, modified, missing, failed), a banner
when anything needs attention, and links to the pending files and to each migration's detail
page. Nothing in it writes: there is no add, change or delete for anyone (superusers included),
no action, and every request other than GET or HEAD is refused. Only users with the model's
``view`` permission see it.

Each page works on one database alias, chosen with ``?database=ALIAS`` (a selector appears when
more than one alias has a history table).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import BigIntegerField, Case, F, Model, OrderBy, QuerySet, Value, When
from django.db.models.functions import Cast, Left, StrIndex, Substr
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.http import urlencode

from .admin_views import (
    DATABASE_VAR,
    STATE_HELP,
    STATE_LABELS,
    detail_page,
    format_duration,
    history_for,
    no_history_page,
    page_context,
    pending_page,
    unavailable_page,
)
from .models import SchemaMigration
from .planner import OK

# -- Ordering by version number, in the database -------------------------------------------
# A version is ``NNN-description`` or, namespaced, ``app_label:NNN-description``. The sort key
# is (namespace, NNN as a number, version): 999 before 1000, and each app's files together.
# A hand-made version that doesn't have that shape gets no number and sorts last.
_COLON = StrIndex("version", Value(":"))
_DASH = StrIndex("version", Value("-"))
VERSION_NAMESPACE = Left("version", _COLON)
VERSION_NUMBER = Case(
    When(
        version__regex=r"^([A-Za-z_][A-Za-z0-9_]*:)?[0-9]{1,18}-",
        then=Cast(Substr("version", _COLON + 1, _DASH - _COLON - 1), BigIntegerField()),
    ),
    default=None,
    output_field=BigIntegerField(),
)


def version_ordering(descending: bool = False) -> list[OrderBy]:
    return [
        OrderBy(VERSION_NAMESPACE, descending=descending),
        OrderBy(VERSION_NUMBER, descending=descending, nulls_last=True),
        OrderBy(F("version"), descending=descending),
    ]


SAFE_METHODS = ("GET", "HEAD")
READ_ONLY = "The SQL migration history is read-only."

if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[SchemaMigration]
else:  # ModelAdmin is generic for type checkers only (django-stubs)
    ModelAdmin = admin.ModelAdmin


class HistoryChangeList(ChangeList):
    """The admin's changelist, with ``?database=`` kept out of the filters and in every link."""

    def get_filters_params(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        # Not a lookup: the queryset is already on that database. Left in self.params, so the
        # links for sorting, paging and filtering keep it, and "Clear all filters" does too.
        lookup_params: dict[str, Any] = super().get_filters_params(params)
        lookup_params.pop(DATABASE_VAR, None)
        return lookup_params

    def get_ordering(self, request: HttpRequest, queryset: QuerySet[Any]) -> list[Any]:
        # The version column sorts by VERSION_NUMBER; expand it to the full version ordering.
        ordering: list[Any] = []
        for part in super().get_ordering(request, queryset):
            if isinstance(part, OrderBy) and part.expression is VERSION_NUMBER:
                ordering.extend(version_ordering(part.descending))
            else:
                ordering.append(part)
        return ordering

    def get_ordering_field_columns(self) -> dict[int, Literal["desc", "asc"]]:
        if ORDER_VAR in self.params:
            return super().get_ordering_field_columns()
        return {0: "asc"}  # the default ordering is the version column's

    def url_for_result(self, result: Model) -> str:
        url: str = super().url_for_result(result)
        alias = self.params.get(DATABASE_VAR)
        return f"{url}?{urlencode({DATABASE_VAR: alias})}" if alias else url


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return list(STATE_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        state = self.value()
        if state not in STATE_LABELS:
            return queryset
        history = history_for(request)
        if state == OK:  # usually nearly every row: exclude the few that are not
            others = [v for s in STATE_LABELS if s != OK for v in history.versions(s)]
            return queryset.exclude(version__in=others)
        return queryset.filter(version__in=history.versions(state))


@admin.register(SchemaMigration)
class SchemaMigrationAdmin(ModelAdmin):
    # The state column is added per request by get_list_display (it needs the files on disk).
    list_display = ("version_column", "name", "applied_at", "duration")
    list_filter = (StateFilter, "applied_at")
    search_fields = ("version", "name")
    search_help_text = "Search by version or name."
    ordering = tuple(version_ordering())
    list_per_page = 100
    list_max_show_all = 1000
    show_facets = admin.ShowFacets.NEVER
    actions = None

    # -- read-only, for everyone ---------------------------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The view permission only: Django would also let the change permission in.
        codename = get_permission_codename("view", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    # -- one database per request (``?database=ALIAS``) --------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet[SchemaMigration]:
        history = history_for(request)
        queryset = super().get_queryset(request).using(history.alias)
        # A table made by 0.1 has no kind column until a command that writes adds it.
        return queryset if history.current_schema else queryset.defer("kind")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return HistoryChangeList

    # -- columns ---------------------------------------------------------------------------
    @admin.display(description="version", ordering=VERSION_NUMBER)
    def version_column(self, obj: SchemaMigration) -> str:
        return obj.version

    @admin.display(description="duration", ordering="execution_time_ms")
    def duration(self, obj: SchemaMigration) -> str:
        return format_duration(obj.execution_time_ms)

    def get_list_display(
        self, request: HttpRequest
    ) -> list[str | Callable[[SchemaMigration], str | bool]]:
        history = history_for(request)

        @admin.display(description="state")
        def state(obj: SchemaMigration) -> str:
            entry = history.by_version.get(obj.version)
            return state_badge(entry.state if entry else "")

        @admin.display(description="recorded as")
        def kind(obj: SchemaMigration) -> str:
            # From the history read, which a 0.1 table (no kind column) gives as "applied".
            entry = history.by_version.get(obj.version)
            return entry.row.kind if entry and entry.row.success else "\N{EM DASH}"

        return [*self.list_display, state, kind]

    # -- pages -----------------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        pending = path(
            "pending/",
            self.admin_site.admin_view(self.pending_view),
            name="{}_{}_pending".format(*info),
        )
        return [pending, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self.check_access(request)
        return self.reading(request, lambda: self._changelist(request, extra_context))

    def _changelist(
        self, request: HttpRequest, extra_context: dict[str, Any] | None
    ) -> HttpResponse:
        if not history_for(request).has_table:
            return no_history_page(self, request)
        context = {**page_context(self, request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self.check_access(request)
        return self.reading(request, lambda: self._detail(request, object_id))

    def _detail(self, request: HttpRequest, object_id: str) -> HttpResponse:
        history = history_for(request)
        if not history.has_table:
            return no_history_page(self, request)
        row = self.get_object(request, object_id)
        if row is None:
            raise Http404(f"No SQL migration with id {object_id!r} in database {history.alias!r}.")
        return detail_page(self, request, row)

    def reading(self, request: HttpRequest, view: Callable[[], HttpResponse]) -> HttpResponse:
        """Run a page that reads a database's history; the admin's own error page when the
        database (or a migration folder) cannot be read."""
        try:
            response = view()
            if isinstance(response, TemplateResponse):
                response.render()  # the changelist reads its rows while it renders
        except (DatabaseError, OSError) as exc:
            return unavailable_page(self, request, exc)
        return response

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        raise PermissionDenied(READ_ONLY)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        raise PermissionDenied(READ_ONLY)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The admin's change log of an object: nothing here is ever changed, so there is none.
        self.check_access(request)
        raise Http404("SQL migrations have no admin change history.")

    def pending_view(self, request: HttpRequest) -> HttpResponse:
        self.check_access(request)
        return self.reading(request, lambda: pending_page(self, request))

    def check_access(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method not in SAFE_METHODS:
            raise PermissionDenied(READ_ONLY)


def state_badge(state: str) -> str:
    if state not in STATE_LABELS:
        return "\N{EM DASH}"
    return format_html(
        '<span class="sqlmigrate-state sqlmigrate-state-{}" title="{}">{}</span>',
        state,
        STATE_HELP[state],
        STATE_LABELS[state],
    )
