"""sqlmigrate_status, sqlmigrate_validate and sqlmigrate_create."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connections

from .helpers import fails, run

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]


class TestStatus:
    def test_text(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        run("sqlmigrate_apply", interactive=False, target="2")
        out, err = run("sqlmigrate_status")
        lines = out.splitlines()
        settings = connections["default"].settings_dict
        assert lines[0].startswith(f"Database: {connections['default'].vendor} ")
        assert repr(str(settings["NAME"])) in lines[0]
        assert lines[1] == "Applied (2):"
        assert re.fullmatch(
            r"  \[ok      \] 001-create-users-table      \d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d+ ms",
            lines[2],
        )
        assert lines[4:] == ["Pending (1):", "  [ ] 010-add-reset-token-fields"]
        assert err == ""

    def test_json(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        run("sqlmigrate_apply", interactive=False, target="1")
        out, _ = run("sqlmigrate_status", json=True)
        document = json.loads(out)
        assert set(document) == {
            "database",
            "allowed",
            "applied",
            "failed",
            "pending",
            "events",
            "problems",
        }
        assert set(document["database"]) == {"alias", "vendor", "host", "name"}
        (applied,) = document["applied"]
        assert set(applied) == {
            "version",
            "name",
            "kind",
            "applied_at",
            "execution_time_ms",
            "checksum",
            "state",
        }
        assert applied["state"] == "ok"
        assert applied["kind"] == "applied"
        assert applied["checksum"].startswith("sha256:")
        assert document["failed"] == []
        assert document["events"] == []
        assert [p["version"] for p in document["pending"]] == [
            "002-add-email-verification",
            "010-add-reset-token-fields",
        ]
        assert set(document["pending"][0]) == {"version", "name", "checksum"}

    def test_never_shows_the_password(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        connection = connections["default"]
        connection.ensure_connection()  # already connected: the fake password is never sent
        saved = connection.settings_dict.get("PASSWORD")
        connection.settings_dict["PASSWORD"] = "hunter2-secret"
        try:
            out, err = run("sqlmigrate_status")
            out_json, _ = run("sqlmigrate_status", json=True)
        finally:
            connection.settings_dict["PASSWORD"] = saved
        assert "hunter2" not in out + err + out_json

    def test_check_exit_status(self, sql_scenario: Scenario) -> None:
        folder = sql_scenario("basic")
        with pytest.raises(SystemExit) as exit_info:
            run("sqlmigrate_status", check=True)
        assert exit_info.value.code == 1
        run("sqlmigrate_apply", interactive=False)
        run("sqlmigrate_status", check=True)  # up to date: no exit
        (folder / "001-create-users-table.sql").write_text("SELECT 1;")
        with pytest.raises(SystemExit):
            run("sqlmigrate_status", check=True)
        out, err = run("sqlmigrate_status")
        assert "[modified] 001-create-users-table" in out
        assert "error sqlmigrate.E009" in err


class TestValidate:
    def test_valid(self, sql_scenario: Scenario) -> None:
        sql_scenario("basic")
        out, err = run("sqlmigrate_validate")
        assert out == "3 SQL migration files valid (1 warning).\n"
        assert "warning sqlmigrate.W001: migration numbers 3-9 are missing" in err

    def test_reports_every_error_and_exits_1(self, sql_scenario: Scenario) -> None:
        folder = sql_scenario("bad_names")
        (folder / "003-empty.sql").write_text("-- nothing yet\n")
        (folder / "004-unterminated.sql").write_text("SELECT 1;\nSELECT 'oops;\n")
        message = fails("sqlmigrate_validate")
        assert message.startswith("4 errors in the SQL migrations of database 'default'")
        assert "nothing was changed" in message

    def test_json(self, sql_scenario: Scenario) -> None:
        from io import StringIO

        from django.core.management import call_command
        from django.core.management.base import CommandError

        folder = sql_scenario("bad_names")
        (folder / "004-unterminated.sql").write_text("SELECT 1;\nSELECT 'oops;\n")
        out = StringIO()
        with pytest.raises(CommandError):
            call_command("sqlmigrate_validate", json=True, stdout=out)
        document = json.loads(out.getvalue())
        assert document["valid"] is False
        found = {
            (p["code"], Path(p["path"]).name, p["line"]) for p in document["problems"] if p["path"]
        }
        assert ("sqlmigrate.E001", "002-Add Thing.sql", None) in found
        assert ("sqlmigrate.E007", "004-unterminated.sql", 2) in found

    def test_warnings_exit_0(self, sql_scenario: Scenario) -> None:
        folder = sql_scenario("basic")
        run("sqlmigrate_apply", interactive=False)
        (folder / "010-add-reset-token-fields.sql").unlink()
        out, err = run("sqlmigrate_validate")
        assert "warning sqlmigrate.W002" in err
        assert out == "2 SQL migration files valid (1 warning).\n"


class TestCreate:
    def test_next_number_and_template(self, sql_scenario: Scenario) -> None:
        folder = sql_scenario("basic")
        out, _ = run("sqlmigrate_create", "Add user preferences!")
        path = Path(out.strip())
        assert path == folder / "011-add-user-preferences.sql"
        text = path.read_text()
        assert text.startswith("-- Add user preferences\n")
        assert "in one transaction" in text
        # A fresh template has no statements: apply refuses it until it is written.
        assert "contains no SQL statements" in fails("sqlmigrate_apply", interactive=False)

    def test_width_follows_existing_files(self, tmp_path: Path, settings: object) -> None:
        settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
        (tmp_path / "0099-old.sql").write_text("SELECT 1;")
        out, _ = run("sqlmigrate_create", "next")
        assert Path(out.strip()).name == "0100-next.sql"

    def test_first_file_and_folder_creation(self, tmp_path: Path, settings: object) -> None:
        settings.SQLMIGRATE_DIRS = [tmp_path / "new"]  # type: ignore[attr-defined]
        out, _ = run("sqlmigrate_create", "create users table", no_transaction=True)
        path = Path(out.strip())
        assert path == tmp_path / "new" / "001-create-users-table.sql"
        assert path.read_text().startswith("-- sqlmigrate: no-transaction\n-- Create users table")

    def test_description_is_made_safe(self, tmp_path: Path, settings: object) -> None:
        settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
        out, _ = run("sqlmigrate_create", "../../etc/passwd")
        assert Path(out.strip()) == tmp_path / "001-etc-passwd.sql"
        assert "has no letters or digits" in fails("sqlmigrate_create", "../..")
        assert "has no letters or digits" in fails("sqlmigrate_create", "   ")

    def test_dir_option(self, tmp_path: Path, settings: object) -> None:
        settings.SQLMIGRATE_DIRS = [tmp_path / "a"]  # type: ignore[attr-defined]
        out, _ = run("sqlmigrate_create", "x", dir=str(tmp_path / "b"))
        assert Path(out.strip()) == tmp_path / "b" / "001-x.sql"


class TestCreateNumbering:
    """A new file is numbered above every file and every number a database has applied."""

    def test_above_an_applied_number_whose_file_is_gone(
        self, tmp_path: Path, settings: object
    ) -> None:
        settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
        (tmp_path / "001-a.sql").write_text("SELECT 1;")
        (tmp_path / "0002-b.sql").write_text("SELECT 1;")
        run("sqlmigrate_apply", interactive=False)
        (tmp_path / "0002-b.sql").unlink()  # an older checkout, or deleted by mistake
        out, err = run("sqlmigrate_create", "c")
        assert Path(out.strip()).name == "0003-c.sql"
        assert err == ""

    def test_above_every_database_that_reads_the_folder(
        self, tmp_path: Path, settings: object
    ) -> None:
        settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
        (tmp_path / "001-a.sql").write_text("SELECT 1;")
        (tmp_path / "005-e.sql").write_text("SELECT 1;")
        run("sqlmigrate_apply", interactive=False, database="other")
        (tmp_path / "005-e.sql").unlink()
        out, _ = run("sqlmigrate_create", "f")  # --database default: other applied 005
        assert Path(out.strip()).name == "006-f.sql"

    def test_a_database_that_does_not_read_the_folder_does_not_count(
        self, tmp_path: Path, settings: object
    ) -> None:
        settings.SQLMIGRATE_DIRS = {  # type: ignore[attr-defined]
            "default": [tmp_path / "main"],
            "other": [tmp_path / "other"],
        }
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "007-x.sql").write_text("SELECT 1;")
        run("sqlmigrate_apply", interactive=False, database="other")
        out, _ = run("sqlmigrate_create", "first")
        assert Path(out.strip()) == tmp_path / "main" / "001-first.sql"

    def test_an_unreadable_history_is_a_warning(self, tmp_path: Path, settings: object) -> None:
        settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
        other = connections["other"]
        saved = dict(other.settings_dict)
        other.close()
        if other.vendor == "sqlite":
            other.settings_dict["NAME"] = str(tmp_path / "missing" / "db.sqlite3")
        else:
            other.settings_dict["PORT"] = "1"  # nothing listens there
        try:
            out, err = run("sqlmigrate_create", "g")
        finally:
            other.close()
            other.settings_dict.update(saved)
        assert Path(out.strip()).name == "001-g.sql"
        assert err.startswith("Database 'other' (")
        assert "Its history was not read, so the new number is only above the files" in err


class TestCreateRefusals:
    def test_a_description_too_long_for_a_file_name(self, tmp_path: Path, settings: object) -> None:
        settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
        message = fails("sqlmigrate_create", "word " * 60)  # 300 characters
        assert message.startswith("The description is too long: as 001-word-word")
        assert "Describe the change in at most 247 characters." in message
        assert list(tmp_path.iterdir()) == []
        out, _ = run("sqlmigrate_create", "w" * 247)  # the longest that fits: 255 bytes
        assert len(Path(out.strip()).name) == 255

    def test_a_folder_that_cannot_be_written(self, tmp_path: Path, settings: object) -> None:
        (tmp_path / "a-file").write_text("")
        settings.SQLMIGRATE_DIRS = [tmp_path / "a-file" / "sql"]  # type: ignore[attr-defined]
        message = fails("sqlmigrate_create", "x")
        assert message.startswith(f"Could not write {tmp_path / 'a-file' / 'sql' / '001-x.sql'}: ")
        assert "can be created and written by this user, or pass --dir." in message

    def test_accents_are_kept_as_letters(self, tmp_path: Path, settings: object) -> None:
        settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
        out, _ = run("sqlmigrate_create", "Ajouter la table café 🚀")
        assert Path(out.strip()).name == "001-ajouter-la-table-cafe.sql"
        assert "has no letters or digits" in fails("sqlmigrate_create", "🚀🚀")
