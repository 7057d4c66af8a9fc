"""The SQLMIGRATE_* settings, read when used: SQLMIGRATE_TABLE included."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import checks
from django.test import override_settings

from django_sqlmigrate import api
from django_sqlmigrate.models import SchemaMigration

from .helpers import fails, run, scalar, tables

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]


def write_basic(folder: Path) -> None:
    (folder / "001-create-t.sql").write_text("CREATE TABLE t (id INTEGER);\n")
    (folder / "002-fill-t.sql").write_text("INSERT INTO t (id) VALUES (1);\n")


def test_sqlmigrate_table_names_the_history_table(tmp_path: Path, settings: object) -> None:
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    settings.SQLMIGRATE_TABLE = "sql_history"  # type: ignore[attr-defined]
    write_basic(tmp_path)
    run("sqlmigrate_apply", interactive=False)
    assert "sql_history" in tables()
    assert "schema_migrations" not in tables()
    assert scalar("SELECT COUNT(*) FROM sql_history") == 2
    # The ORM (the admin, sqlmigrate_repair) reads the same table as the recorder's SQL.
    assert list(SchemaMigration.objects.values_list("version", flat=True)) == [
        "001-create-t",
        "002-fill-t",
    ]
    assert [entry.row.version for entry in api.status("default").applied] == [
        "001-create-t",
        "002-fill-t",
    ]
    with override_settings(SQLMIGRATE_TABLE="schema_migrations"):
        # Another table: nothing is applied there yet, so both files are pending again.
        assert [m.version for m in api.status("default").pending] == [
            "001-create-t",
            "002-fill-t",
        ]
    assert SchemaMigration._meta.db_table == "sql_history"


def test_a_bad_table_name_is_a_settings_problem(tmp_path: Path, settings: object) -> None:
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    settings.SQLMIGRATE_TABLE = "history; DROP TABLE t"  # type: ignore[attr-defined]
    message = fails("sqlmigrate_status")
    assert message.startswith("Settings problem: SQLMIGRATE_TABLE must be a plain table name")
    errors = [m for m in checks.run_checks() if m.id == "sqlmigrate.E013"]
    assert [m.msg for m in errors] == [
        "SQLMIGRATE_TABLE must be a plain table name (letters, digits and underscores, at most "
        "56 characters: its events table adds '_events' to it), got 'history; DROP TABLE t'."
    ]
