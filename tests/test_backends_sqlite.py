"""SQLite: triggers with BEGIN ... END, and what cannot run in a transaction."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import fails, history, run, scalar, vendor

pytestmark = [
    pytest.mark.skipif(vendor() != "sqlite", reason="SQLite-only SQL and behaviour"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]


def test_trigger_body_is_one_statement(sql_scenario: Scenario) -> None:
    sql_scenario("sqlite_features")
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-trigger", True)]
    assert scalar("SELECT kind FROM notes") == "semi"


def test_vacuum_needs_no_transaction(tmp_path: Path, settings: object) -> None:
    (tmp_path / "001-vacuum.sql").write_text("CREATE TABLE v (id INTEGER);\nVACUUM;\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-vacuum.sql:2: SQLite cannot VACUUM inside a transaction" in message
    (tmp_path / "001-vacuum.sql").write_text(
        "-- sqlmigrate: no-transaction\nCREATE TABLE v (id INTEGER);\nVACUUM;\n"
    )
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-vacuum", True)]


def test_begin_commit_in_the_file_do_not_break_the_transaction(
    tmp_path: Path, settings: object
) -> None:
    (tmp_path / "001-wrapped.sql").write_text(
        "BEGIN TRANSACTION;\nCREATE TABLE w (id INTEGER);\nINSERT INTO w VALUES (1);\nCOMMIT;\n"
    )
    (tmp_path / "002-fails.sql").write_text(
        "BEGIN;\nINSERT INTO w VALUES (2);\nCOMMIT;\nINSERT INTO nope VALUES (1);\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-fails.sql:4: no such table: nope" in message
    # The file's own COMMIT did not commit: the whole file rolled back.
    assert scalar("SELECT COUNT(*) FROM w") == 1
    assert history() == [("001-wrapped", True)]
