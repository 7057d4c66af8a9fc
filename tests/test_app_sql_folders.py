"""Reusable apps ship ``<app>/sql_migrations/``: namespaced versions, one merged order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from django_sqlmigrate.checks import check_migration_files

from .apps import BILLING, REPORTS, installed
from .helpers import fails, history, run

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]
BASIC = ["001-create-users-table", "002-add-email-verification", "010-add-reset-token-fields"]


def pending(database: str = "default") -> list[str]:
    out, _ = run("sqlmigrate_status", database=database)
    return [line[6:] for line in out.splitlines() if line.startswith("  [ ] ")]


class NoBillingOnOther:
    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if app_label == "billing" and db == "other" else None


def test_depends_on_then_installed_apps_order_then_project_files(
    sql_scenario: Scenario,
) -> None:
    sql_scenario("basic")
    with installed(REPORTS, BILLING):
        assert pending() == [
            "reports:001-create-report-runs",
            "billing:001-create-invoices",
            "billing:002-add-invoice-lines",
            "reports:002-create-invoice-report",  # depends-on billing:002-add-invoice-lines
            "billing:003-index-customer-email",
            *BASIC,
        ]
    with installed(BILLING, REPORTS):
        assert pending()[:5] == [
            "billing:001-create-invoices",
            "billing:002-add-invoice-lines",
            "billing:003-index-customer-email",
            "reports:001-create-report-runs",
            "reports:002-create-invoice-report",
        ]


def test_migrate_applies_them_in_that_order(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    with installed(REPORTS, BILLING):
        run("migrate", verbosity=0)
        assert [version for version, _ in history()] == [
            # billing.0002_apply_sql_migrations runs up to billing:002 (and what precedes it)
            "reports:001-create-report-runs",
            "billing:001-create-invoices",
            "billing:002-add-invoice-lines",
            # the rest after migrate
            "reports:002-create-invoice-report",
            "billing:003-index-customer-email",
            *BASIC,
        ]
        out, _ = run("sqlmigrate_status")
    assert "  [ok      ] billing:001-create-invoices  " in out
    assert "Pending (0):" in out


def test_out_of_order_is_per_namespace(sql_scenario: Scenario) -> None:
    folder = sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)  # project files up to 010
    with installed(REPORTS, BILLING):
        # The apps' files are numbered below 010, but 010 is the project's: no E010.
        _, err = run("sqlmigrate_status")
        assert "E010" not in err
        run("sqlmigrate_apply", target="reports:001-create-report-runs", interactive=False)
        (folder / "005-late.sql").write_text("SELECT 1;\n")
        _, err = run("sqlmigrate_status")
    assert err.count("sqlmigrate.E010") == 1
    assert "005-late is pending but numbered below 10" in err


def test_router_decides_per_app_label(sql_scenario: Scenario, settings: Any) -> None:
    settings.SQLMIGRATE_DIRS = []
    settings.DATABASE_ROUTERS = [NoBillingOnOther()]
    with installed(BILLING):
        assert pending("default")[0] == "billing:001-create-invoices"
        assert pending("other") == []


def test_sql_dependency_on_a_missing_app_is_a_check_error(settings: Any) -> None:
    settings.SQLMIGRATE_DIRS = []
    with installed(REPORTS):
        messages = check_migration_files()
    assert [m.id for m in messages] == ["sqlmigrate.E015"]
    assert messages[0].msg.endswith(
        "reports:002-create-invoice-report depends on the SQL migration "
        "billing:002-add-invoice-lines, which does not exist."
    )


def test_target_takes_a_namespaced_version(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    with installed(REPORTS, BILLING):
        run("sqlmigrate_apply", target="reports:001-create-report-runs", interactive=False)
        assert history() == [("reports:001-create-report-runs", True)]


def test_a_number_applied_under_another_name_counts_per_app(sql_scenario: Scenario) -> None:
    from django_sqlmigrate.models import SchemaMigration

    sql_scenario("basic")
    with installed(BILLING):
        run("migrate", verbosity=0)
        # As if billing had shipped 002 under another name earlier: its row's file is gone.
        SchemaMigration.objects.filter(version="billing:002-add-invoice-lines").update(
            version="billing:002-invoice-lines"
        )
        message = fails("sqlmigrate_apply", interactive=False)
        assert (
            "billing:002-add-invoice-lines is pending, but number 2 of app 'billing' is applied "
            "already, as billing:002-invoice-lines" in message
        )
        out, _ = run("sqlmigrate_repair", accept_renames=True)
        assert out == (
            "Recorded billing:002-invoice-lines as renamed to billing:002-add-invoice-lines.\n"
        )
        assert run("sqlmigrate_apply", interactive=False)[0] == "  No SQL migrations to apply.\n"
