"""System checks: file problems on every command, history problems with ``--database``."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command, load_command_class
from django.core.management.base import SystemCheckError
from django.core.management.commands.runserver import Command as CoreRunserver
from django.db import connections

from django_sqlmigrate.checks import check_migration_files, check_migration_history
from django_sqlmigrate.loader import MigrationLoader
from django_sqlmigrate.recorder import MigrationRecorder

from .helpers import run

Scenario = Callable[[str], Path]


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [message.id or "" for message in messages]


class TestFileChecks:
    def test_bad_file_names(self, sql_scenario: Scenario) -> None:
        sql_scenario("bad_names")
        messages = check_migration_files()
        assert ids(messages) == ["sqlmigrate.E001", "sqlmigrate.E001"]
        assert "'002-Add Thing.sql' is not a valid migration file name." in messages[0].msg
        assert messages[0].hint is not None
        assert "NNN-kebab-description.sql" in messages[0].hint
        assert messages[0].level == checks.ERROR

    def test_duplicate_numbers(self, sql_scenario: Scenario) -> None:
        sql_scenario("duplicate_numbers")
        messages = check_migration_files()
        assert ids(messages) == ["sqlmigrate.E002"]
        assert "migration number 6 is used twice" in messages[0].msg

    def test_unknown_directive_with_line(self, sql_scenario: Scenario) -> None:
        folder = sql_scenario("directives")
        messages = check_migration_files()
        assert ids(messages) == ["sqlmigrate.E003"]
        typo = folder / "002-typo.sql"
        assert messages[0].msg.endswith(f"{typo}:1: unknown sqlmigrate directive 'no-transactoin'.")

    def test_missing_folder(self, settings: object, tmp_path: Path) -> None:
        settings.SQLMIGRATE_DIRS = [tmp_path / "nowhere"]  # type: ignore[attr-defined]
        messages = check_migration_files()
        assert ids(messages) == ["sqlmigrate.E005"]
        assert messages[0].hint == "Create it (sqlmigrate_create does), or fix SQLMIGRATE_DIRS."

    def test_bad_setting_is_a_check_error(self, settings: object) -> None:
        settings.SQLMIGRATE_DIRS = "sql"  # type: ignore[attr-defined]
        assert ids(check_migration_files()) == ["sqlmigrate.E013"]

    def test_valid_folder_has_no_messages(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        assert check_migration_files() == []

    def test_reads_only_the_header(self, sql_scenario: Scenario) -> None:
        folder = sql_scenario("basic")
        # Invalid UTF-8 after the header is the business of validate and apply, not of a
        # check that runs on every manage.py command.
        path = folder / "010-add-reset-token-fields.sql"
        path.write_bytes(path.read_bytes() + b"\n-- \xff\n")
        assert check_migration_files() == []
        loaded = MigrationLoader([folder], headers_only=True).load()
        assert [m.checksum for m in loaded.migrations] == ["", "", ""]

    def test_registered_with_check_command(self, sql_scenario: Scenario) -> None:
        sql_scenario("duplicate_numbers")
        with pytest.raises(SystemCheckError) as excinfo:
            run("check")
        assert "?: (sqlmigrate.E002) " in str(excinfo.value)
        assert "HINT: This usually comes from two branches" in str(excinfo.value)


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.usefixtures("clean_database")
class TestHistoryChecks:
    def test_not_run_without_databases(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        assert check_migration_history(databases=None) == []
        out, err = run("check")
        assert "sqlmigrate.W003" not in out + err

    def test_pending(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        run("sqlmigrate_apply", interactive=False, target="002")
        messages = check_migration_history(databases=["default"])
        assert ids(messages) == ["sqlmigrate.W003"]
        assert messages[0].msg == (
            "Database 'default': 1 SQL migration is not applied: 010-add-reset-token-fields."
        )
        assert messages[0].hint == "Run 'python manage.py sqlmigrate_apply --database default'."

    def test_modified_and_failed(self, sql_scenario: Scenario) -> None:
        folder = sql_scenario("basic")
        run("sqlmigrate_apply", interactive=False, target="002")
        path = folder / "001-create-users-table.sql"
        path.write_bytes(path.read_bytes() + b"\n-- edited\n")
        pending = MigrationLoader([folder]).load().by_version["010-add-reset-token-fields"]
        MigrationRecorder(connections["default"]).insert(
            pending, execution_time_ms=None, success=False, error="boom"
        )
        messages = check_migration_history(databases=["default"])
        assert ids(messages) == ["sqlmigrate.E009", "sqlmigrate.E011"]
        assert "001-create-users-table was modified after it was applied" in messages[0].msg
        assert messages[1].hint is not None
        assert "sqlmigrate_repair" in messages[1].hint

    def test_registered_with_database_tag(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        err = StringIO()
        call_command("check", databases=["other"], stdout=StringIO(), stderr=err)
        assert "?: (sqlmigrate.W003) Database 'other': 3 SQL migrations are not applied" in (
            err.getvalue()
        )
        run("sqlmigrate_apply", interactive=False, database="other")
        err = StringIO()
        call_command("check", databases=["other"], stdout=StringIO(), stderr=err)
        assert "sqlmigrate" not in err.getvalue()


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.usefixtures("clean_database")
class TestRunserver:
    def command(self, out: StringIO | None = None) -> CoreRunserver:
        command_class = type(load_command_class("django_sqlmigrate", "runserver"))
        command = command_class(stdout=out or StringIO(), no_color=True)
        assert isinstance(command, CoreRunserver)
        return command

    def test_extends_the_runserver_django_would_use(self) -> None:
        # tests/settings.py lists staticfiles above this app, so Django's own comes next.
        assert type(self.command()).__mro__[1] is CoreRunserver

    def test_notice_for_pending_sql_migrations(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        run("sqlmigrate_apply", interactive=False, target="001")
        out = StringIO()
        command = self.command(out)
        command.check_migrations()
        assert out.getvalue() == (
            "\nYou have 2 unapplied SQL migration(s). Your project may not work properly until "
            "you apply them.\nRun 'python manage.py sqlmigrate_apply' to apply them.\n"
        )
        run("sqlmigrate_apply", interactive=False)
        out.truncate(0)
        out.seek(0)
        command.check_migrations()
        assert out.getvalue() == ""
