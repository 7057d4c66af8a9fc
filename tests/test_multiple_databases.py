"""Several databases: routers, SQLMIGRATE_DIRS per alias, and a separate migration alias."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.db import connections

import django_sqlmigrate
from django_sqlmigrate.checks import check_migration_files

from .helpers import fails, history, run, tables

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]
BASIC = ["001-create-users-table", "002-add-email-verification", "010-add-reset-token-fields"]
ANALYTICS = ["001-create-events", "002-add-event-index"]


class NoSqlOnOther:
    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if app_label == "django_sqlmigrate":
            return db != "other"
        return None


@pytest.mark.usefixtures("refuse_other")
class TestRouters:
    @pytest.fixture
    def refuse_other(self, settings: Any) -> None:
        # The settings fixture, like sql_scenario: overrides then unwind in order.
        settings.DATABASE_ROUTERS = [NoSqlOnOther()]

    def test_apply_skips_a_refused_database_and_says_so(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        out, _ = run("sqlmigrate_apply", database="other", interactive=False)
        assert out == (
            "  Database 'other' is skipped: the database routers do not allow migrating "
            "django_sqlmigrate there (allow_migrate returned False). No SQL migrations to apply.\n"
        )
        assert "app_users" not in tables("other")
        assert "schema_migrations" not in tables("other")
        run("sqlmigrate_apply", database="default", interactive=False)
        assert history("default") == [(version, True) for version in BASIC]

    def test_plan_and_fake_skip_it_too(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        out, _ = run("sqlmigrate_apply", "--plan", database="other")
        assert "is skipped: the database routers do not allow" in out
        run("sqlmigrate_apply", "--fake", database="other", interactive=False)
        assert history("other") == []

    def test_status_says_so(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        out, _ = run("sqlmigrate_status", "--check", database="other")
        assert out.splitlines()[1:] == [
            "  Database 'other' is skipped: the database routers do not allow migrating "
            "django_sqlmigrate there (allow_migrate returned False)."
        ]
        assert "(alias 'other')" in out.splitlines()[0]

    def test_api(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        result = django_sqlmigrate.apply("other")
        assert (result.allowed, result.applied) == (False, ())
        assert django_sqlmigrate.status("other").allowed is False
        assert django_sqlmigrate.apply("default").allowed is True
        assert "app_users" not in tables("other")


class TestDirsPerAlias:
    @pytest.fixture
    def per_alias(self, sql_scenario: Scenario, settings: Any) -> None:
        basic, analytics = sql_scenario("basic"), sql_scenario("analytics")
        settings.SQLMIGRATE_DIRS = {"default": [basic], "other": [analytics]}

    @pytest.mark.usefixtures("per_alias")
    def test_each_database_gets_its_own_files(self) -> None:
        run("sqlmigrate_apply", interactive=False)
        out, _ = run("sqlmigrate_apply", database="other", interactive=False)
        assert "Applied 2 SQL migrations to database 'other'" in out
        assert history("default") == [(version, True) for version in BASIC]
        assert history("other") == [(version, True) for version in ANALYTICS]
        assert "analytics_events" not in tables("default")
        assert "app_users" not in tables("other")

    @pytest.mark.usefixtures("per_alias")
    def test_status_and_validate_read_the_alias_folders(self) -> None:
        out, _ = run("sqlmigrate_status", database="other")
        assert [line for line in out.splitlines() if line.startswith("  [ ]")] == [
            f"  [ ] {version}" for version in ANALYTICS
        ]
        out, _ = run("sqlmigrate_validate", database="other")
        assert out == "2 SQL migration files valid.\n"

    def test_alias_missing_from_the_dict_has_none(
        self, sql_scenario: Scenario, settings: Any
    ) -> None:
        settings.SQLMIGRATE_DIRS = {"default": [sql_scenario("basic")]}
        out, _ = run("sqlmigrate_apply", database="other", interactive=False)
        assert out == "  No SQL migrations to apply.\n"


@pytest.fixture
def direct() -> Iterator[str]:
    """A second alias reaching the default database, as a direct connection beside PgBouncer."""
    connections.settings["direct"] = {**connections["default"].settings_dict}
    connections["direct"].connect()  # Django's test case only lets open connections through
    yield "direct"
    connections["direct"].close()
    del connections["direct"]
    del connections.settings["direct"]


class TestMigrationDatabases:
    def test_runs_and_locks_through_the_direct_alias(
        self, sql_scenario: Scenario, settings: Any, direct: str
    ) -> None:
        sql_scenario("basic")
        settings.SQLMIGRATE_MIGRATION_DATABASES = {"default": direct}
        sent: dict[str, list[str]] = {"default": [], direct: []}

        def spy(alias: str) -> Callable[..., Any]:
            def wrapper(execute: Any, sql: str, *args: Any) -> Any:
                sent[alias].append(sql)
                return execute(sql, *args)

            return wrapper

        with (
            connections["default"].execute_wrapper(spy("default")),
            connections[direct].execute_wrapper(spy(direct)),
        ):
            out, _ = run("sqlmigrate_apply", database="default", interactive=False)
        assert "Applied 3 SQL migrations to database 'default'" in out
        assert history("default") == [(version, True) for version in BASIC]  # one database
        assert sent["default"] == []
        # The history is read (and on other vendors written) through the direct alias.
        assert any("schema_migrations" in sql for sql in sent[direct])
        if connections["default"].vendor == "postgresql":
            assert any("pg_try_advisory_lock" in sql for sql in sent[direct])

    def test_status_names_both_aliases(
        self, sql_scenario: Scenario, settings: Any, direct: str
    ) -> None:
        sql_scenario("basic")
        settings.SQLMIGRATE_MIGRATION_DATABASES = {"default": direct}
        out, _ = run("sqlmigrate_status")
        assert out.splitlines()[0].endswith("(alias 'default' via 'direct')")

    def test_unknown_alias_names_the_setting(self, sql_scenario: Scenario, settings: Any) -> None:
        sql_scenario("basic")
        settings.SQLMIGRATE_MIGRATION_DATABASES = {"default": "pgbouncer_direct"}
        assert fails("sqlmigrate_apply", interactive=False) == (
            "Settings problem: SQLMIGRATE_MIGRATION_DATABASES names 'pgbouncer_direct', which "
            "is not a database alias in DATABASES ('default', 'other')."
        )
        (message,) = check_migration_files()
        assert message.id == "sqlmigrate.E013"
        assert message.level == checks.ERROR
        assert history() == []

    def test_not_a_dict(self, settings: Any) -> None:
        settings.SQLMIGRATE_MIGRATION_DATABASES = ["direct"]
        assert "SQLMIGRATE_MIGRATION_DATABASES must be a dict" in fails("sqlmigrate_status")

    def test_different_engines_are_refused(self, settings: Any, direct: str) -> None:
        engine = connections.settings[direct]["ENGINE"]
        other = "django.db.backends.sqlite3" if "sqlite" not in engine else "x.postgresql"
        connections.settings[direct]["ENGINE"] = other
        settings.SQLMIGRATE_MIGRATION_DATABASES = {"default": direct}
        assert "they use different ENGINEs" in fails("sqlmigrate_status")
