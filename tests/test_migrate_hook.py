"""``migrate`` applies pending SQL migrations afterwards (how test databases get them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_sqlmigrate import signals

from .helpers import history, run, tables

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]
BASIC = ["001-create-users-table", "002-add-email-verification", "010-add-reset-token-fields"]


class NoSqlOnOther:
    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if app_label == "django_sqlmigrate":
            return db != "other"
        return None


@pytest.fixture
def applied_versions() -> Iterator[list[str]]:
    seen: list[str] = []

    def receiver(sender: object, version: str, **kwargs: Any) -> None:
        seen.append(version)

    signals.post_apply.connect(receiver, weak=False)
    yield seen
    signals.post_apply.disconnect(receiver)


def test_migrate_applies_sql_on_the_database_it_migrates(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    out, _ = run("migrate", database="other")
    assert "app_users" in tables("other")
    assert history("other") == [(version, True) for version in BASIC]
    assert "app_users" not in tables("default")
    assert "  Applying SQL 001-create-users-table... OK (" in out
    assert out.endswith("  Applied 3 SQL migrations to 'other'.\n")


def test_quiet_at_verbosity_0_and_once_per_migrate(
    sql_scenario: Scenario, applied_versions: list[str]
) -> None:
    sql_scenario("basic")
    out, _ = run("migrate", verbosity=0)
    assert out == ""
    assert applied_versions == BASIC  # post_migrate is sent per app; applied once
    assert run("migrate", verbosity=0) == ("", "")
    assert applied_versions == BASIC


def test_setting_false_turns_it_off(sql_scenario: Scenario, settings: Any) -> None:
    sql_scenario("basic")
    settings.SQLMIGRATE_APPLY_ON_MIGRATE = False
    run("migrate", verbosity=0)
    assert "app_users" not in tables()
    assert history() == []


def test_router_refusal_skips_the_database(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    with override_settings(DATABASE_ROUTERS=[NoSqlOnOther()]):
        run("migrate", database="other", verbosity=0)
        assert "app_users" not in tables("other")
        run("migrate", database="default", verbosity=0)
    assert "app_users" in tables("default")


def test_flush_does_not_apply(sql_scenario: Scenario, applied_versions: list[str]) -> None:
    sql_scenario("basic")
    call_command("flush", interactive=False, verbosity=0)
    assert applied_versions == []
    assert history() == []


def test_plan_changes_nothing(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    run("migrate", plan=True)
    assert history() == []


def test_a_failure_stops_migrate_with_a_message(sql_scenario: Scenario) -> None:
    sql_scenario("failing")
    with pytest.raises(CommandError) as excinfo:
        run("migrate", verbosity=0)
    assert str(excinfo.value).startswith("SQL migrations of database 'default': ")
    assert "002-insert-then-fail.sql:" in str(excinfo.value)


def test_migrate_fake_runs_no_sql_and_says_how_to(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    out, _ = run("migrate", fake=True)
    assert "app_users" not in tables()
    assert history() == []
    assert out.endswith(
        "  3 pending SQL migrations were not applied to 'default': migrate --fake runs no SQL. "
        "Run `manage.py sqlmigrate_apply --database default` to apply them, or add --fake to "
        "record them as applied without running them.\n"
    )
    run("migrate", verbosity=0)  # without --fake the hook runs again
    assert history() == [(version, True) for version in BASIC]


def test_backwards_migrate_runs_no_sql(sql_scenario: Scenario, settings: object) -> None:
    sql_scenario("basic")
    try:
        out, _ = run("migrate", "sessions", "zero")
        assert "Unapplying sessions.0001_initial... OK" in out
        assert "not applied to 'default': SQL migrations only go forwards." in out
        assert "app_users" not in tables()
        assert history() == []
    finally:
        settings.SQLMIGRATE_APPLY_ON_MIGRATE = False  # type: ignore[attr-defined]
        run("migrate", "sessions", verbosity=0)
