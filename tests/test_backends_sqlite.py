"""SQLite: triggers with BEGIN ... END, and what cannot run in a transaction."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from .helpers import fails, history, run, scalar, tables, vendor

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


# -- connection settings: the `sqlite3` shell opens a new connection for each file ----------

PRAGMAS = "foreign_keys, legacy_alter_table, recursive_triggers, query_only"


def row(sql: str) -> tuple[Any, ...]:
    with connections["default"].cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def test_foreign_keys_off_in_one_file_do_not_reach_the_next(
    tmp_path: Path, settings: object
) -> None:
    # The 12-step ALTER TABLE recipe, without its final PRAGMA foreign_keys = ON. The pragma
    # does nothing inside a transaction, so the file runs with no-transaction.
    (tmp_path / "001-rebuild.sql").write_text(
        "-- sqlmigrate: no-transaction\n"
        "PRAGMA foreign_keys = OFF;\n"
        "BEGIN;\n"
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE child (id INTEGER PRIMARY KEY,\n"
        "  parent_id INTEGER NOT NULL REFERENCES parent (id));\n"
        "COMMIT;\n"
    )
    (tmp_path / "002-orphan.sql").write_text("INSERT INTO child VALUES (1, 999);\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-orphan.sql:1: FOREIGN KEY constraint failed" in message
    assert history() == [("001-rebuild", True)]
    assert scalar("SELECT COUNT(*) FROM child") == 0
    assert scalar("PRAGMA foreign_keys") == 1


@pytest.mark.parametrize(
    "header", ["", "-- sqlmigrate: no-transaction\n"], ids=["transaction", "no-transaction"]
)
def test_pragmas_do_not_leak_into_the_history_row_or_the_next_file(
    tmp_path: Path, settings: object, header: str
) -> None:
    # query_only would make the history row itself fail ("attempt to write a readonly
    # database"); the others change how later files behave.
    (tmp_path / "001-pragmas.sql").write_text(
        f"{header}CREATE TABLE first (id INTEGER);\n"
        "PRAGMA legacy_alter_table = ON;\nPRAGMA recursive_triggers = ON;\n"
        "PRAGMA case_sensitive_like = ON;\nPRAGMA query_only = ON;\n"
    )
    (tmp_path / "002-next.sql").write_text(
        "CREATE TABLE seen AS SELECT * FROM pragma_foreign_keys, pragma_legacy_alter_table,\n"
        "  pragma_recursive_triggers, pragma_query_only, (SELECT 'a' LIKE 'A' AS ci);\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    before = row(
        f"SELECT {PRAGMAS}, 'a' LIKE 'A' FROM pragma_foreign_keys, "
        "pragma_legacy_alter_table, pragma_recursive_triggers, pragma_query_only"
    )
    assert before == (1, 0, 0, 0, 1)
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-pragmas", True), ("002-next", True)]
    assert row(f"SELECT {PRAGMAS}, ci FROM seen") == before


def test_a_failed_file_does_not_leak_its_pragmas(tmp_path: Path, settings: object) -> None:
    (tmp_path / "001-fails.sql").write_text(
        "-- sqlmigrate: no-transaction\n"
        "PRAGMA foreign_keys = OFF;\nPRAGMA recursive_triggers = ON;\n"
        "CREATE TABLE made (id INTEGER);\nINSERT INTO nope VALUES (1);\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-fails.sql:5: no such table: nope" in message
    assert history() == [("001-fails", False)]
    assert row("SELECT * FROM pragma_foreign_keys, pragma_recursive_triggers") == (1, 0)


def test_a_database_a_file_attached_is_detached(tmp_path: Path, settings: object) -> None:
    side = tmp_path / "side.sqlite3"
    (tmp_path / "001-attach.sql").write_text(
        f"-- sqlmigrate: no-transaction\nATTACH DATABASE '{side}' AS side;\n"
        "CREATE TABLE side.kept (id INTEGER);\n"
    )
    (tmp_path / "002-next.sql").write_text(
        "CREATE TABLE seen AS SELECT COUNT(*) AS n FROM pragma_database_list WHERE name = 'side';\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    run("sqlmigrate_apply", interactive=False)
    assert scalar("SELECT n FROM seen") == 0
    assert scalar("SELECT COUNT(*) FROM pragma_database_list WHERE name = 'side'") == 0
    assert side.exists()


def test_a_transaction_left_open_with_foreign_keys_off_is_reported(
    tmp_path: Path, settings: object
) -> None:
    # SQLite ignores PRAGMA foreign_keys inside a transaction: it is turned back on only once
    # the transaction the file left open is rolled back.
    (tmp_path / "001-open.sql").write_text(
        "-- sqlmigrate: no-transaction\nPRAGMA foreign_keys = OFF;\nBEGIN;\n"
        "CREATE TABLE never_committed (id INTEGER);\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-open.sql:3: statement 2 (BEGIN) opened a transaction that the file never" in (
        message
    )
    assert "never_committed" not in tables()
    assert scalar("PRAGMA foreign_keys") == 1
    assert history() == [("001-open", False)]
    assert scalar("SELECT statements_applied FROM schema_migrations") == 1


@pytest.mark.parametrize(
    ("body", "opener", "rows"),
    [
        ("SAVEPOINT a;\nINSERT INTO t VALUES (1);\nSAVEPOINT b;\nRELEASE b;\n", 2, 0),
        ("SAVEPOINT a;\nINSERT INTO t VALUES (1);\nRELEASE a;\nSAVEPOINT b;\n", 5, 1),
        ("SAVEPOINT a;\nINSERT INTO t VALUES (1);\nSAVEPOINT b;\nRELEASE SAVEPOINT a;\n", None, 1),
    ],
    ids=["open", "open-after-release", "released"],
)
def test_a_savepoint_outside_a_transaction_opens_one(
    tmp_path: Path, settings: object, body: str, opener: int | None, rows: int
) -> None:
    # SAVEPOINT outside BEGIN opens a transaction; RELEASE of that outermost one commits it.
    (tmp_path / "001-savepoints.sql").write_text(
        "-- sqlmigrate: no-transaction\nCREATE TABLE t (id INTEGER);\n"
        + body
        + "INSERT INTO t VALUES (2);\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    if opener is None:
        run("sqlmigrate_apply", interactive=False)
        assert history() == [("001-savepoints", True)]
    else:
        message = fails("sqlmigrate_apply", interactive=False)
        assert f"001-savepoints.sql:{opener + 1}: statement {opener} (SAVEPOINT " in message
        assert history() == [("001-savepoints", False)]
        assert scalar("SELECT statements_applied FROM schema_migrations") == opener - 1
    connections["default"].close()
    assert scalar("SELECT COUNT(*) FROM t") == rows + (opener is None)
