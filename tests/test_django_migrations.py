"""One plan with Django's migrations: ``depends-on app.migration`` and ``ApplySQLMigrations``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management.base import CommandError
from django.db import connections
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.writer import MigrationWriter

from django_sqlmigrate import signals
from django_sqlmigrate.operations import ApplySQLMigrations
from django_sqlmigrate.problems import display_path

from .apps import BILLING, installed
from .helpers import fails, history, run, tables

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]
BILLING_SQL = Path(__file__).parent / "apps" / "billing" / "sql_migrations"


@pytest.fixture
def billing(clean_database: None, settings: Any) -> Iterator[None]:
    settings.SQLMIGRATE_DIRS = []
    with installed(BILLING):
        yield


def no_django_graph() -> Any:
    return mock.patch(
        "django.db.migrations.loader.MigrationLoader",
        side_effect=AssertionError("Django's migration graph was loaded"),
    )


class TestDependsOn:
    def test_unknown_django_migration(self, sql_scenario: Scenario) -> None:
        folder = sql_scenario("django_dependencies")
        message = fails("sqlmigrate_apply", interactive=False)
        assert message == (
            f"{folder / '002-needs-a-missing-migration.sql'}:2: 002-needs-a-missing-migration "
            "says `-- sqlmigrate: depends-on auth.0099_does_not_exist`, but there is no Django "
            "migration auth.0099_does_not_exist (no such migration in an installed app "
            "'auth'). Fix the depends-on line; `python manage.py showmigrations auth` lists "
            "the migrations there are."
        )
        assert history() == []

    def test_applied_dependency_runs_without_loading_the_graph(
        self, sql_scenario: Scenario
    ) -> None:
        folder = sql_scenario("django_dependencies")
        (folder / "002-needs-a-missing-migration.sql").unlink()
        with no_django_graph():
            out, _ = run("sqlmigrate_apply", "--plan")
            assert out.endswith("  001-create-user-notes (depends on auth.0001_initial)\n")
            run("sqlmigrate_apply", interactive=False)
        assert history() == [("001-create-user-notes", True)]

    def test_files_without_depends_on_do_not_read_django_history(
        self, sql_scenario: Scenario
    ) -> None:
        sql_scenario("basic")
        with mock.patch.object(MigrationRecorder, "applied_migrations") as applied:
            run("sqlmigrate_apply", interactive=False)
        applied.assert_not_called()
        assert len(history()) == 3

    @pytest.mark.usefixtures("billing")
    def test_refuses_while_the_django_migration_is_not_applied(self) -> None:
        message = fails("sqlmigrate_apply", interactive=False)
        first, second = message.splitlines()
        assert first == (
            f"{display_path(BILLING_SQL / '001-create-invoices.sql')}:1: billing:001-create-invoices says "
            "`-- sqlmigrate: depends-on billing.0001_initial`, but the Django migration "
            "billing.0001_initial is not applied to database 'default' yet, so "
            "billing:001-create-invoices cannot run. Run `python manage.py migrate billing "
            "0001_initial --database default` first, or plain `migrate`, which applies pending "
            "SQL migrations after Django's."
        )
        assert second.startswith(
            f"{display_path(BILLING_SQL / '003-index-customer-email.sql')}:1: "
        )
        assert "billing.0003_customer_email is not applied" in second
        assert history() == []
        assert "billing_invoices" not in tables()

    @pytest.mark.usefixtures("billing")
    def test_validate_reports_it(self) -> None:
        message = fails("sqlmigrate_validate")
        assert message == (
            "2 errors in the SQL migrations of database 'default'; nothing was changed."
        )


class TestOperation:
    @pytest.mark.usefixtures("billing")
    def test_migrate_runs_sql_at_that_point_of_its_plan(self, settings: Any) -> None:
        settings.SQLMIGRATE_APPLY_ON_MIGRATE = False
        seen: dict[str, set[str]] = {}

        def receiver(sender: object, version: str, using: str, **kwargs: Any) -> None:
            applied = MigrationRecorder(connections[using]).applied_migrations()
            seen[version] = {name for app, name in applied if app == "billing"}

        signals.pre_apply.connect(receiver, weak=False)
        try:
            out, _ = run("migrate", "billing")
        finally:
            signals.pre_apply.disconnect(receiver)
        assert "Applying billing.0002_apply_sql_migrations... OK" in out
        assert seen == {
            "billing:001-create-invoices": {"0001_initial"},
            "billing:002-add-invoice-lines": {"0001_initial"},
        }
        assert history() == [
            ("billing:001-create-invoices", True),
            ("billing:002-add-invoice-lines", True),
        ]
        assert {"billing_invoices", "billing_invoice_lines"} <= tables()
        out, _ = run("sqlmigrate_apply", "--plan")
        assert out.endswith(
            "  billing:003-index-customer-email (depends on billing.0003_customer_email)\n"
        )

    @pytest.mark.usefixtures("billing")
    def test_the_hook_applies_the_rest_after_migrate(self) -> None:
        out, _ = run("migrate", "billing")
        assert out.endswith(
            "  Applying SQL billing:003-index-customer-email... OK (" + out.rsplit("OK (", 1)[1]
        )
        assert history() == [
            ("billing:001-create-invoices", True),
            ("billing:002-add-invoice-lines", True),
            ("billing:003-index-customer-email", True),
        ]

    def test_a_failing_file_rolls_back_the_django_migration_where_ddl_is_transactional(
        self, settings: Any, tmp_path: Path
    ) -> None:
        settings.SQLMIGRATE_APPLY_ON_MIGRATE = False
        broken = tmp_path / "sql"
        broken.mkdir()
        (broken / "001-broken.sql").write_text("CREATE TABLE t_ok (id INTEGER);\nSELEC 1;\n")
        settings.SQLMIGRATE_DIRS = [broken]
        operation = ApplySQLMigrations(up_to="001-broken")
        connection = connections["default"]
        with (
            pytest.raises(CommandError) as excinfo,
            connection.schema_editor(atomic=True) as editor,
        ):
            operation.database_forwards("billing", editor, mock.Mock(), mock.Mock())
        message = str(excinfo.value)
        assert message.startswith(
            "SQL migrations up to 001-broken (run by a migration of 'billing'): "
        )
        assert "SELEC 1" in message
        assert "in statement 2 (line 2): SELEC 1" in message
        if connection.features.can_rollback_ddl:  # the savepoint and the migration roll back
            assert history() == []
            assert "t_ok" not in tables()
        else:  # MySQL: the CREATE TABLE committed; the file is recorded as failed
            assert history() == [("001-broken", False)]

    def test_no_transaction_file_inside_an_atomic_migration_is_refused(
        self, settings: Any, tmp_path: Path
    ) -> None:
        folder = tmp_path / "sql"
        folder.mkdir()
        (folder / "001-outside.sql").write_text("-- sqlmigrate: no-transaction\nSELECT 1;\n")
        settings.SQLMIGRATE_DIRS = [folder]
        connection = connections["default"]
        if not connection.features.can_rollback_ddl:
            pytest.skip("MySQL/MariaDB migrations do not run in a transaction")
        operation = ApplySQLMigrations(up_to="001")
        with (
            pytest.raises(CommandError) as excinfo,
            connection.schema_editor(atomic=True) as editor,
        ):
            operation.database_forwards("billing", editor, mock.Mock(), mock.Mock())
        assert str(excinfo.value) == (
            "SQL migrations up to 001 (run by a migration of 'billing'): 001-outside is a "
            "no-transaction file, but the migration of 'billing' that applies it runs in a "
            "transaction. Set `atomic = False` on that Django migration."
        )

    def test_is_a_deconstructible_irreversible_operation(self) -> None:
        operation = ApplySQLMigrations(up_to="004-add-usage-tracking")
        assert operation.describe() == "Apply SQL migrations up to 004-add-usage-tracking"
        assert operation.reversible is False
        assert operation.deconstruct() == (
            "ApplySQLMigrations",
            [],
            {"up_to": "004-add-usage-tracking"},
        )
        code, imports = MigrationWriter.serialize(operation)
        assert code.strip().splitlines() == [
            "django_sqlmigrate.operations.ApplySQLMigrations(",
            "    up_to='004-add-usage-tracking',",
            ")",
        ]
        assert imports == {"import django_sqlmigrate.operations"}
        with pytest.raises(IrreversibleError):
            operation.database_backwards("app", mock.Mock(), mock.Mock(), mock.Mock())
