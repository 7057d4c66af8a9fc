"""The read-only admin of the SQL migration history, through Django's test client.

The browser tests (tests/test_admin_browser.py) look at the same pages in Chromium.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import django_sqlmigrate
from django_sqlmigrate.admin import SchemaMigrationAdmin
from django_sqlmigrate.admin_views import MAX_SQL_SHOWN, format_duration
from django_sqlmigrate.loader import checksum, read_source
from django_sqlmigrate.models import SchemaMigration, SchemaMigrationEvent
from django_sqlmigrate.recorder import MigrationRecorder, who

from .conftest import REPO_ROOT
from .helpers import run, vendor

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]

V1, V2, V3, V4, V5 = (
    "001-create-widgets",
    "002-add-widget-color",
    "003-add-widget-name-index",
    "004-add-widget-size",
    "005-add-widget-notes",
)
# From the package as imported (the checkout, or the installed wheel under tox -e wheel).
ADMIN_CSS = Path(django_sqlmigrate.__file__).parent / "static/django_sqlmigrate/admin.css"


def url(name: str, *args: object, database: str | None = None) -> str:
    path = reverse(f"admin:django_sqlmigrate_schemamigration_{name}", args=args)
    return f"{path}?database={database}" if database else path


def pk(version: str, alias: str = "default") -> int:
    return SchemaMigration.objects.using(alias).get(version=version).pk


def table(alias: str = "default") -> list[tuple[Any, ...]]:
    """Every value of every history row: what a refused request must leave untouched."""
    return list(SchemaMigration.objects.using(alias).order_by("pk").values_list())


def listed(response: Any) -> list[tuple[str, str]]:
    """(version, state) of each changelist row, top to bottom, as rendered."""
    assert response.status_code == 200, response.status_code
    versions = [row.version for row in response.context["cl"].result_list]
    states = re.findall(r'class="sqlmigrate-state sqlmigrate-state-(\w+)"', _results(response))
    return list(zip(versions, states, strict=True))


def _results(response: Any) -> str:
    html: str = response.content.decode()
    start = html.index('id="result_list"')
    return html[start : html.index("</table>", start)]


def content_main(response: Any) -> str:
    html: str = response.content.decode()
    return html[html.index('<div id="content-main"') : html.index('<footer id="footer">')]


def add_rows(versions: list[str], alias: str = "default") -> None:
    """History rows without files, as an older or newer deploy would leave them."""
    MigrationRecorder(connections[alias]).ensure_schema()
    now = timezone.now()
    SchemaMigration.objects.using(alias).bulk_create(
        SchemaMigration(
            version=version,
            name=version,
            applied_at=now,
            execution_time_ms=5,
            checksum="sha256:" + "a" * 64,
            applied_by="deploy@host",
        )
        for version in versions
    )


# -- users -------------------------------------------------------------------------------------
def _staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="django_sqlmigrate", codename=codename)
        )
    return user


@pytest.fixture
def as_user() -> Callable[[str], Client]:
    """``as_user(kind)``: a client logged in as superuser, viewer, changer or staff."""

    def login(kind: str) -> Client:
        if kind == "superuser":
            user = User.objects.create_superuser("root", password="x")
        elif kind == "viewer":
            user = _staff("viewer", "view_schemamigration")
        elif kind == "changer":  # may change and delete, in Django's terms, but not view
            user = _staff("changer", "change_schemamigration", "delete_schemamigration")
        else:
            user = _staff("staff")
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def superuser(as_user: Callable[[str], Client]) -> Client:
    return as_user("superuser")


# -- histories ---------------------------------------------------------------------------------
@pytest.fixture
def no_files(tmp_path: Path, settings: Any) -> Path:
    """An empty migrations folder (for rows made by hand, or files a test writes)."""
    folder = tmp_path / "sql"
    folder.mkdir()
    settings.SQLMIGRATE_DIRS = [folder]
    return folder


@pytest.fixture
def applied(sql_scenario: Scenario) -> Path:
    """All five files applied: everything OK."""
    folder = sql_scenario("admin_history")
    run("sqlmigrate_apply", interactive=False)
    return folder


@pytest.fixture
def drifted(sql_scenario: Scenario) -> Path:
    """001 OK, 002 modified, 003 missing, 004 failed, 005 pending."""
    folder = sql_scenario("admin_history")
    run("sqlmigrate_apply", interactive=False, target="4")
    with (folder / f"{V2}.sql").open("a") as file:
        file.write("-- edited after it ran\n")
    (folder / f"{V3}.sql").unlink()
    SchemaMigration.objects.filter(version=V4).update(
        success=False,
        statements_applied=0,
        statements_total=1,
        error="004-add-widget-size.sql:1: the server went away",
    )
    return folder


# -- access ------------------------------------------------------------------------------------
class TestAccess:
    def test_anonymous_is_sent_to_login(self, applied: Path) -> None:
        client = Client()
        for page in (url("changelist"), url("pending"), url("change", pk(V1)), url("add")):
            response = client.get(page)
            assert response.status_code == 302, page
            assert response["Location"] == f"/admin/login/?next={page}"

    @pytest.mark.parametrize("kind", ["staff", "changer"])
    def test_staff_without_the_view_permission_is_refused(
        self, applied: Path, as_user: Callable[[str], Client], kind: str
    ) -> None:
        client = as_user(kind)
        for page in (url("changelist"), url("pending"), url("change", pk(V1))):
            assert client.get(page).status_code == 403, page
        index = client.get(reverse("admin:index"))
        assert url("changelist") not in index.content.decode()

    @pytest.mark.parametrize("kind", ["viewer", "superuser"])
    def test_view_permission_or_superuser_sees_the_pages(
        self, applied: Path, as_user: Callable[[str], Client], kind: str
    ) -> None:
        client = as_user(kind)
        changelist = client.get(url("changelist"))
        assert [version for version, _ in listed(changelist)] == [V1, V2, V3, V4, V5]
        assert client.get(url("pending")).status_code == 200
        assert client.get(url("change", pk(V1))).status_code == 200
        index = client.get(reverse("admin:index")).content.decode()
        assert "SQL migrations" in index
        assert url("changelist") in index
        assert url("add") not in index

    def test_nobody_may_add_change_or_delete(self, applied: Path, superuser: Client) -> None:
        response = superuser.get(url("changelist"))
        assert response.context["has_add_permission"] is False
        assert response.context["action_form"] is None  # no actions, so no bulk delete
        model_admin = response.context["cl"].model_admin
        assert isinstance(model_admin, SchemaMigrationAdmin)
        request = response.wsgi_request
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
        assert not model_admin.get_actions(request)

    @pytest.mark.parametrize("kind", ["viewer", "superuser"])
    def test_every_post_is_refused_and_the_table_is_unchanged(
        self, applied: Path, as_user: Callable[[str], Client], kind: str
    ) -> None:
        client = as_user(kind)
        before = table()
        first = pk(V1)
        row = {"version": "999-sneaky", "name": "Sneaky", "checksum": "sha256:0", "success": "on"}
        attempts = {
            "add": (url("add"), row),
            "change": (url("change", first), {**row, "version": V1}),
            "delete": (url("delete", first), {"post": "yes"}),
            "bulk delete": (
                url("changelist"),
                {"action": "delete_selected", "_selected_action": [first], "post": "yes"},
            ),
            "pending": (url("pending"), {"apply": "yes"}),
            "history": (url("history", first), {}),
        }
        for what, (page, data) in attempts.items():
            assert client.post(page, data).status_code == 403, what
        assert table() == before
        # And the add and delete pages are not even shown.
        assert client.get(url("add")).status_code == 403
        assert client.get(url("delete", first)).status_code == 403


# -- the changelist ----------------------------------------------------------------------------
class TestChangelist:
    def test_every_state_and_the_banner(self, drifted: Path, superuser: Client) -> None:
        response = superuser.get(url("changelist"))
        assert listed(response) == [
            (V1, "ok"),
            (V2, "modified"),
            (V3, "missing"),
            (V4, "failed"),
        ]
        html = response.content.decode()
        for label in ("OK", "Modified", "Missing", "Failed"):
            assert f">{label}</span>" in html
        banner = html[html.index("sqlmigrate-attention") :]
        banner = banner[: banner.index("</ul>")]
        assert f'<a href="{url("pending")}">1 file pending</a>' in banner
        assert (
            f'<a href="{url("changelist")}?state=modified">1 modified after it was applied</a>'
            in banner
        )
        assert f'<a href="{url("changelist")}?state=failed">1 failed</a>' in banner
        assert f'<a href="{url("pending")}">Pending files (1)</a>' in html

    def test_no_banner_when_up_to_date(self, applied: Path, superuser: Client) -> None:
        response = superuser.get(url("changelist"))
        assert {state for _, state in listed(response)} == {"ok"}
        assert "sqlmigrate-attention" not in response.content.decode()

    def test_a_missing_file_alone_raises_no_banner(self, applied: Path, superuser: Client) -> None:
        (applied / f"{V5}.sql").unlink()  # e.g. the app was rolled back to an older release
        response = superuser.get(url("changelist"))
        assert listed(response)[-1] == (V5, "missing")
        assert "sqlmigrate-attention" not in response.content.decode()

    def test_a_file_error_raises_the_banner(self, applied: Path, superuser: Client) -> None:
        (applied / "006-Bad Name.sql").write_text("SELECT 1;")
        html = superuser.get(url("changelist")).content.decode()
        assert f'<a href="{url("pending")}#problems">1 problem in the migration files</a>' in html

    @pytest.mark.parametrize(
        ("state", "versions"),
        [("ok", [V1]), ("modified", [V2]), ("missing", [V3]), ("failed", [V4])],
    )
    def test_filter_by_state(
        self, drifted: Path, superuser: Client, state: str, versions: list[str]
    ) -> None:
        response = superuser.get(url("changelist"), {"state": state})
        assert [version for version, _ in listed(response)] == versions

    def test_filter_by_date(self, applied: Path, superuser: Client) -> None:
        SchemaMigration.objects.filter(version=V1).update(
            applied_at=timezone.now() - timedelta(days=400)
        )
        changelist = superuser.get(url("changelist"))
        (date_filter,) = [
            spec for spec in changelist.context["cl"].filter_specs if spec.title == "applied at"
        ]
        choices = {
            c["display"]: c["query_string"] for c in date_filter.choices(changelist.context["cl"])
        }
        today = superuser.get(url("changelist") + choices["Today"])
        assert [version for version, _ in listed(today)] == [V2, V3, V4, V5]

    def test_search_by_version_and_name(self, applied: Path, superuser: Client) -> None:
        by_version = superuser.get(url("changelist"), {"q": "004"})
        assert [version for version, _ in listed(by_version)] == [V4]
        by_name = superuser.get(url("changelist"), {"q": "Add widget color"})
        assert [version for version, _ in listed(by_name)] == [V2]

    @pytest.mark.usefixtures("no_files")
    def test_ordered_by_version_number_in_the_database(self, superuser: Client) -> None:
        versions = [
            "1000-thousand",
            "app:010-y",
            "2-two",
            "legacy",
            "999-nines",
            "app:003-x",
            "010-ten",
        ]
        add_rows(versions)
        with CaptureQueriesContext(connections["default"]) as queries:
            ascending = superuser.get(url("changelist"))
        expected = [
            "2-two",
            "010-ten",
            "999-nines",
            "1000-thousand",
            "legacy",
            "app:003-x",
            "app:010-y",
        ]
        assert [version for version, _ in listed(ascending)] == expected
        orderings = [q["sql"].upper().partition("ORDER BY")[2] for q in queries.captured_queries]
        # Sorted by the database, on the number cast out of the version.
        assert any("CASE WHEN" in o and ("CAST(" in o or "::BIGINT" in o) for o in orderings)
        # The version column's header sorts the same way, both directions.
        assert [v for v, _ in listed(superuser.get(url("changelist"), {"o": "0"}))] == expected
        descending = superuser.get(url("changelist"), {"o": "-0"})
        assert [version for version, _ in listed(descending)] == [
            "app:010-y",
            "app:003-x",
            "1000-thousand",
            "999-nines",
            "010-ten",
            "2-two",
            "legacy",
        ]

    @pytest.mark.usefixtures("no_files")
    def test_query_count_does_not_grow_with_the_rows(
        self, as_user: Callable[[str], Client]
    ) -> None:
        client = as_user("viewer")
        add_rows([f"{n:03d}-step-{n}" for n in range(1, 6)])
        client.get(url("changelist"))  # warm up: content types, the template cache

        def count() -> tuple[int, Any]:
            with ExitStack() as stack:
                captures = [
                    stack.enter_context(CaptureQueriesContext(connections[alias]))
                    for alias in connections
                ]
                response = client.get(url("changelist"), {"all": ""})
            return sum(len(capture) for capture in captures), response

        five, _ = count()
        add_rows([f"{n:03d}-step-{n}" for n in range(6, 501)])
        five_hundred, response = count()
        assert len(listed(response)) == 500
        # session, user, the user's 2 kinds of permissions, "is there a history table?", every
        # history row (for the states), 2 counts (filtered, total), the page's rows, and "is
        # there a history table?" on the other alias (for the database selector).
        assert five_hundred == five == 10


# -- the pending page --------------------------------------------------------------------------
class TestPending:
    def test_lists_the_pending_files_in_apply_order_with_checksums(
        self, sql_scenario: Scenario, superuser: Client
    ) -> None:
        folder = sql_scenario("admin_history")
        run("sqlmigrate_apply", interactive=False, target="2")
        response = superuser.get(url("pending"))
        assert [row["migration"].version for row in response.context["rows"]] == [V3, V4, V5]
        html = response.content.decode()
        positions = [html.index(checksum(read_source(folder / f"{v}.sql"))) for v in (V3, V4, V5)]
        assert positions == sorted(positions)
        assert "3 files are not applied to this database yet" in html
        assert "<code>python manage.py sqlmigrate_apply</code>" in html

    def test_nothing_pending(self, applied: Path, superuser: Client) -> None:
        html = superuser.get(url("pending")).content.decode()
        assert "Nothing is pending" in html
        assert 'id="pending-migrations"' not in html

    def test_out_of_order_file_is_flagged(self, applied: Path, superuser: Client) -> None:
        SchemaMigration.objects.filter(version=V1).delete()
        html = superuser.get(url("pending")).content.decode()
        assert "Out of order" in html
        assert "sqlmigrate.E010" in html


# -- the detail page ---------------------------------------------------------------------------
class TestDetail:
    def test_shows_sql_duration_checksum_who_and_when(
        self, applied: Path, superuser: Client
    ) -> None:
        row = SchemaMigration.objects.get(version=V1)
        response = superuser.get(url("change", row.pk))
        html = response.content.decode()
        assert f"<h1>{V1}</h1>" in html
        assert "CREATE TABLE admin_widgets (" in html
        assert "The file is unchanged since it was applied: this is the SQL that ran." in html
        # When applied, the file now, and each of its events ("started" first where DDL runs
        # statement by statement: MySQL).
        events = SchemaMigrationEvent.objects.filter(version=V1).count()
        assert html.count(row.checksum) == 2 + events
        assert "<td>Applied</td>" in html
        assert "Recorded as</th><td>Applied: its SQL ran</td>" in html
        assert f"<td>{who()}</td>" in html
        assert f"<td>{format_duration(row.execution_time_ms)}</td>" in html
        assert f"<td>{timezone.localtime(row.applied_at):%Y-%m-%d %H:%M:%S %Z}</td>" in html
        assert "differs" not in html

    def test_a_modified_file_is_shown_as_it_is_now(self, drifted: Path, superuser: Client) -> None:
        row = SchemaMigration.objects.get(version=V2)
        html = superuser.get(url("change", row.pk)).content.decode()
        assert "This file has changed since it was applied" in html
        assert "-- edited after it ran" in html
        assert row.checksum in html
        assert checksum(read_source(drifted / f"{V2}.sql")) in html
        assert "<code>manage.py sqlmigrate_repair --update-checksums</code>" in html  # what to do

    def test_a_missing_file(self, drifted: Path, superuser: Client) -> None:
        html = superuser.get(url("change", pk(V3))).content.decode()
        assert "The file is not in any migrations folder. Its SQL cannot be shown." in html
        assert ">Missing</span>" in html

    def test_a_failed_migration_shows_its_error(self, drifted: Path, superuser: Client) -> None:
        html = superuser.get(url("change", pk(V4))).content.decode()
        assert ">Failed</span>" in html
        assert "the server went away" in html
        assert "0 of 1 ran" in html
        assert f"<code>manage.py sqlmigrate_repair --mark-applied {V4}</code>" in html

    def test_an_error_holding_a_password_is_scrubbed(
        self, drifted: Path, superuser: Client
    ) -> None:
        """A row written before passwords were scrubbed; the password is another alias's (its
        TEST password, which only Oracle uses: the alias connects as the default one does)."""
        default = connections["default"].settings_dict
        test = {**default["TEST"], "PASSWORD": SECRET}
        connections.settings["vault"] = {**default, "TEST": test}
        connections["vault"].connect()  # Django's test case only lets open connections through
        try:
            SchemaMigration.objects.filter(version=V4).update(error=f"bad value '{SECRET}'")
            html = superuser.get(url("change", pk(V4))).content.decode()
        finally:
            connections["vault"].close()
            del connections["vault"]
            del connections.settings["vault"]
        assert "bad value &#x27;********&#x27;" in html
        assert "Tr0ub4dor" not in html

    def test_a_large_file_is_cut_short(self, no_files: Path, superuser: Client) -> None:
        big = no_files / "002-big-comment.sql"
        big.write_text("-- " + "x" * MAX_SQL_SHOWN + "\nSELECT 1;\n")
        run("sqlmigrate_apply", interactive=False, fake=True)
        response = superuser.get(url("change", pk("002-big-comment")))
        assert len(response.context["source"].text) == MAX_SQL_SHOWN
        assert "Showing the first" in response.content.decode()

    def test_unknown_id_is_not_found(self, applied: Path, superuser: Client) -> None:
        assert superuser.get(url("change", 10_000)).status_code == 404


# -- a database without history ----------------------------------------------------------------
class TestFreshDatabase:
    def test_says_what_to_run_instead_of_failing(
        self, sql_scenario: Scenario, superuser: Client
    ) -> None:
        sql_scenario("admin_history")
        response = superuser.get(url("changelist"))
        assert response.status_code == 200
        html = response.content.decode()
        assert "its history table <code>schema_migrations</code> does not exist" in html
        assert "5 files are waiting" in html
        assert "python manage.py sqlmigrate_apply --noinput" in html
        assert content_main(superuser.get(url("change", 1))) == content_main(response)
        pending = superuser.get(url("pending"))
        assert [row["migration"].version for row in pending.context["rows"]] == [V1, V2, V3, V4, V5]
        # Refusals come before any query of the missing table.
        for page in (url("add"), url("delete", 1), url("history", 1)):
            assert superuser.post(page).status_code == 403, page

    @pytest.mark.usefixtures("no_files")
    def test_no_files_either(self, superuser: Client) -> None:
        html = superuser.get(url("changelist")).content.decode()
        assert "There are no migration files yet" in html
        assert 'python manage.py sqlmigrate_create "create users table"' in html


# -- several databases -------------------------------------------------------------------------
class OnlyDefault:
    """A router that keeps SQL migrations to the default database."""

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == "default" if app_label == "django_sqlmigrate" else None


class TestDatabases:
    def test_a_selector_when_two_databases_have_history(
        self, sql_scenario: Scenario, superuser: Client
    ) -> None:
        sql_scenario("admin_history")
        run("sqlmigrate_apply", interactive=False, target="2")
        run("sqlmigrate_apply", interactive=False, target="4", database="other")
        default = superuser.get(url("changelist"))
        assert [version for version, _ in listed(default)] == [V1, V2]
        html = default.content.decode()
        assert '<strong aria-current="page">default</strong>' in html
        assert '<a href="?database=other">other</a>' in html

        other = superuser.get(url("changelist"), {"database": "other"})
        assert [version for version, _ in listed(other)] == [V1, V2, V3, V4]
        # Each row links to its detail page on that database.
        links = re.findall(
            r'<th class="field-version_column"><a href="([^"]+)"', other.content.decode()
        )
        assert len(links) == 4
        assert all(link.endswith("&amp;database=other") for link in links)
        detail = superuser.get(links[-1].replace("&amp;", "&"))
        assert detail.context["original"].version == V4
        assert "<strong>other</strong>" in detail.content.decode()
        assert (
            f'<a href="{url("pending", database="other")}">Pending files (1)</a>'
            in other.content.decode()
        )
        # Sorting, filtering and paging keep the database.
        sorted_other = superuser.get(url("changelist"), {"database": "other", "o": "-0"})
        assert [version for version, _ in listed(sorted_other)] == [V4, V3, V2, V1]
        assert listed(superuser.get(url("changelist"), {"database": "other", "state": "ok"}))

        pending = superuser.get(url("pending"), {"database": "other"})
        assert [row["migration"].version for row in pending.context["rows"]] == [V5]

    def test_no_selector_with_one_history(self, applied: Path, superuser: Client) -> None:
        assert "?database=" not in superuser.get(url("changelist")).content.decode()
        # The other database is still reachable by name: it has no history yet.
        other = superuser.get(url("changelist"), {"database": "other"})
        assert "does not exist" in other.content.decode()

    def test_unknown_or_unserved_database_is_not_found(
        self, applied: Path, settings: Any, superuser: Client
    ) -> None:
        run("sqlmigrate_apply", interactive=False, database="other")
        assert superuser.get(url("changelist"), {"database": "nope"}).status_code == 404
        settings.DATABASE_ROUTERS = [f"{__name__}.{OnlyDefault.__qualname__}"]
        assert superuser.get(url("changelist"), {"database": "other"}).status_code == 404
        html = superuser.get(url("changelist")).content.decode()
        assert "?database=" not in html  # no selector for a database the routers refuse


# -- a database that cannot be read -----------------------------------------------------------
SECRET = "Tr0ub4dor  &3 it's"  # a run of spaces, and characters that HTML escapes


def broken_database(kind: str, tmp_path: Path) -> dict[str, Any]:
    """Settings for an alias whose server is down or whose password is wrong.

    SQLite has neither: its database is in a folder that does not exist.
    """
    database = {**connections["default"].settings_dict, "PASSWORD": SECRET}
    if vendor() == "sqlite":
        database["NAME"] = str(tmp_path / "missing" / "db.sqlite3")
    elif kind == "down":
        database["PORT"] = "1"
    return database


def fetch(
    env: dict[str, str], extra: dict[str, dict[str, Any]], *urls: str
) -> dict[str, dict[str, Any]]:
    """The pages as a browser gets them (DEBUG = True), from a process of their own."""
    User.objects.create_superuser("root", password="x")
    result = subprocess.run(
        [sys.executable, "-m", "tests.fetch_admin", "root", *urls],
        cwd=REPO_ROOT,
        env={**env, "SQLMIGRATE_TEST_EXTRA_DATABASES": json.dumps(extra, default=str)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pages: dict[str, dict[str, Any]] = json.loads(result.stdout)
    return pages


class TestUnreadableDatabase:
    @pytest.mark.parametrize(
        "kind",
        [
            "down",
            pytest.param(
                "password",
                marks=pytest.mark.skipif(
                    vendor() != "mysql",
                    reason="MariaDB checks the password; the test PostgreSQL trusts, SQLite has none",
                ),
            ),
        ],
    )
    def test_every_page_shows_the_admins_error_page(
        self,
        applied: Path,
        kind: str,
        tmp_path: Path,
        subprocess_env: Callable[[], dict[str, str]],
    ) -> None:
        database = broken_database(kind, tmp_path)
        pages = (
            url("changelist", database="broken"),
            url("pending", database="broken"),
            url("change", pk(V1), database="broken"),
        )
        problem = {
            "sqlite": "unable to open database file: the folder",
            "postgresql": "Connection refused",
            "mysql": "Can&#x27;t connect" if kind == "down" else "Access denied",
        }[vendor()]
        fetched = fetch(subprocess_env(), {"broken": database}, *pages, url("changelist"))
        for page in pages:
            response = fetched[page]
            assert response["status"] == 503, page
            templates = set(response["templates"])
            assert "admin/django_sqlmigrate/schemamigration/unavailable.html" in templates
            assert "admin/base_site.html" in templates
            html = response["content"]
            main = html[html.index('<div id="content-main"') :]
            assert "The SQL migration history of database <strong>broken</strong>" in main
            assert f"{vendor()} database &#x27;{database['NAME']}&#x27;" in main
            assert problem in main, page
            for form in (SECRET, " ".join(SECRET.split()), "Tr0ub4dor  &amp;3", "Tr0ub4dor"):
                assert form not in html, (page, form)
            # The databases that can be read are a click away.
            assert '<a href="?database=default">default</a>' in html
        assert fetched[url("changelist")]["status"] == 200  # the default database's pages work


# -- looks like the admin, and links nothing that writes ---------------------------------------
class _Forms(HTMLParser):
    """Every link, and the submit buttons of every POST form, of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.post_submits: list[str] = []
        self._form: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")
        elif tag == "form":
            self._form = (
                (attributes.get("method") or "get").lower(),
                attributes.get("action") or "",
            )
        elif tag in ("button", "input") and self._form and self._form[0] == "post":
            default = "submit" if tag == "button" else "text"
            if attributes.get("type", default) == "submit":
                self.post_submits.append(self._form[1])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


@pytest.fixture
def every_page(drifted: Path, superuser: Client) -> Iterator[tuple[str, Any]]:
    pages = [url("changelist"), url("pending"), *(url("change", pk(v)) for v in (V1, V2, V3, V4))]
    return ((page, superuser.get(page)) for page in pages)


class TestLooksLikeTheAdmin:
    def test_templates_extend_the_admins(self, every_page: Iterator[tuple[str, Any]]) -> None:
        for page, response in every_page:
            names = {template.name for template in response.templates}
            assert {"admin/base_site.html", "admin/base.html"} <= names, page

    def test_the_no_history_page_extends_the_admins(
        self, sql_scenario: Scenario, superuser: Client
    ) -> None:
        sql_scenario("admin_history")
        names = {t.name for t in superuser.get(url("changelist")).templates}
        assert "admin/base_site.html" in names

    def test_links_nothing_that_changes_state(self, every_page: Iterator[tuple[str, Any]]) -> None:
        for page, response in every_page:
            parser = _Forms()
            parser.feed(response.content.decode())
            ours = [link for link in parser.links if "/django_sqlmigrate/" in link]
            assert ours, page
            for link in ours:
                assert not re.search(r"/(add|delete|history)/", link), (page, link)
            # The admin's own log-out button is the only thing that posts.
            assert parser.post_submits == [reverse("admin:logout")], page

    def test_the_stylesheet_uses_the_admins_colours(self) -> None:
        css = ADMIN_CSS.read_text()
        assert "var(--message-error-bg)" in css
        assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(", css)
