"""MySQL/MariaDB: stored programs without DELIMITER, DELIMITER files, errors by line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import fails, history, run, scalar, vendor

pytestmark = [
    pytest.mark.skipif(vendor() != "mysql", reason="MySQL/MariaDB-only SQL and behaviour"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]


def test_stored_programs_with_and_without_delimiter(sql_scenario: Scenario) -> None:
    sql_scenario("mysql_features")
    run("sqlmigrate_apply", interactive=False)
    assert history() == [
        ("001-routines-without-delimiter", True),
        ("002-delimiter", True),
    ]
    assert scalar("SELECT n FROM counters WHERE id = 1") == 2  # bump() ran twice
    assert scalar("SELECT note FROM counters WHERE id = 1") == "it's fine"  # the trigger ran
    assert scalar("SELECT n FROM counters WHERE id = 2") == 42


def test_syntax_error_line_inside_a_statement(tmp_path: Path, settings: object) -> None:
    (tmp_path / "001-x.sql").write_text(
        "CREATE TABLE ok_t (id INT);\nSELECT id,\n  name\n  FORM ok_t WHERE;\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    # MySQL says "at line 3" of the statement, which starts on line 2 of the file.
    assert "001-x.sql:4: (1064) You have an error in your SQL syntax" in message


def test_dml_only_file_is_rolled_back(tmp_path: Path, settings: object) -> None:
    (tmp_path / "001-table.sql").write_text("CREATE TABLE dml_t (id INT PRIMARY KEY);")
    (tmp_path / "002-rows.sql").write_text(
        "INSERT INTO dml_t VALUES (1);\nINSERT INTO dml_t VALUES (1);\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-rows.sql:2: (1062) Duplicate entry" in message
    assert "002-rows was rolled back and left no trace" in message
    assert scalar("SELECT COUNT(*) FROM dml_t") == 0
    assert history() == [("001-table", True)]
