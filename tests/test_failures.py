"""Failures that cannot be rolled back: recorded exactly, refused next time, repaired by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from django_sqlmigrate.models import SchemaMigration
from django_sqlmigrate.signals import pre_apply

from .helpers import fails, history, run, scalar, tables, vendor

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]


def test_no_transaction_file_failing_part_way_is_recorded_and_blocks(
    sql_scenario: Scenario,
) -> None:
    folder = sql_scenario("partial")
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-split-the-table.sql:5" in message
    assert "Statements 1-2 of 4 had already run and stay in the database" in message
    assert "sqlmigrate_repair" in message
    assert {"part_a", "part_b"} <= tables()
    assert "part_c" not in tables()
    assert history() == [("001-create-users-table", True), ("002-split-the-table", False)]
    row = SchemaMigration.objects.get(version="002-split-the-table")
    assert (row.statements_applied, row.statements_total) == (2, 4)
    assert "missing_table" in row.error

    # The next deploy refuses, saying what ran and what to do, and runs nothing.
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-split-the-table failed on" in message
    assert "statements 1-2 of 4 had run" in message
    assert "sqlmigrate_repair --mark-applied 002-split-the-table" in message
    assert "after_partial" not in tables()
    out, _ = run("sqlmigrate_status")
    assert "[failed  ] 002-split-the-table" in out

    # Repair: the operator finishes by hand and fixes the file, the record is cleared.
    path = folder / "002-split-the-table.sql"
    path.write_text(
        "-- sqlmigrate: no-transaction\nCREATE TABLE IF NOT EXISTS part_a (id INTEGER);\n"
        "CREATE TABLE IF NOT EXISTS part_b (id INTEGER);\nCREATE TABLE part_c (id INTEGER);\n"
    )
    out, _ = run("sqlmigrate_repair")
    assert "Removed the failed record of 002-split-the-table" in out
    run("sqlmigrate_apply", interactive=False)
    assert history() == [
        ("001-create-users-table", True),
        ("002-split-the-table", True),
        ("003-after", True),
    ]


def test_mark_applied_after_finishing_by_hand(sql_scenario: Scenario) -> None:
    sql_scenario("partial")
    fails("sqlmigrate_apply", interactive=False)
    out, _ = run("sqlmigrate_repair", mark_applied="002-split-the-table")
    assert out == "Marked 002-split-the-table as applied.\n"
    run("sqlmigrate_apply", interactive=False)
    assert history()[-1] == ("003-after", True)


def test_mark_applied_needs_a_failed_migration(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    assert "'001-create-users-table' is not a failed migration" in fails(
        "sqlmigrate_repair", mark_applied="001-create-users-table"
    )


def test_failure_on_the_first_statement_records_nothing(sql_scenario: Scenario) -> None:
    folder = sql_scenario("partial")
    (folder / "002-split-the-table.sql").write_text(
        "-- sqlmigrate: no-transaction\nINSERT INTO missing_table VALUES (1);\n"
        "CREATE TABLE part_a (id INTEGER);\n"
    )
    message = fails("sqlmigrate_apply", interactive=False)
    assert "No statement of 002-split-the-table had run, so nothing is recorded" in message
    assert history() == [("001-create-users-table", True)]


def test_ddl_file_failing_part_way(sql_scenario: Scenario) -> None:
    """PostgreSQL and SQLite roll DDL back; MySQL commits each DDL statement at once."""
    sql_scenario("ddl_then_error")
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-tables-then-error.sql:4" in message
    if vendor() == "mysql":
        assert "Statements 1-2 of 3 had already run" in message
        assert history() == [("001-tables-then-error", False)]
        assert {"ddl_one", "ddl_two"} <= tables()
    else:
        assert "rolled back and left no trace" in message
        assert history() == []
        assert not {"ddl_one", "ddl_two"} & tables()


def test_update_checksums_accepts_an_edit(sql_scenario: Scenario) -> None:
    folder = sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    path = folder / "001-create-users-table.sql"
    path.write_text("-- reworded comment\n" + path.read_text())
    fails("sqlmigrate_apply", interactive=False)
    out, _ = run("sqlmigrate_repair", update_checksums=True)
    assert out.startswith("Accepted the edited 001-create-users-table (sha256:")
    assert run("sqlmigrate_apply", interactive=False)[0] == "  No SQL migrations to apply.\n"


# -- a no-transaction file that leaves its own transaction open (psql, sqlite3 and mariadb
# roll it back when the file ends) ------------------------------------------------------------


def _committed(sql: str) -> Any:
    """``sql``'s answer on a new connection: what is committed, not what this session sees."""
    connections["default"].close()
    return scalar(sql)


def _row(version: str) -> tuple[bool, int | None, int | None]:
    connections["default"].close()
    row = SchemaMigration.objects.get(version=version)
    return row.success, row.statements_applied, row.statements_total


def test_begin_without_commit_is_rolled_back_and_fails_the_file(
    tmp_path: Path, settings: Any
) -> None:
    path = tmp_path / "001-open.sql"
    path.write_text(
        "-- sqlmigrate: no-transaction\n"
        "CREATE TABLE kept (id INTEGER);\n"
        "INSERT INTO kept VALUES (1);\n"
        "BEGIN;\n"
        "INSERT INTO kept VALUES (2);\n"
        "INSERT INTO kept VALUES (3);\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-open.sql:4: statement 3 (BEGIN) opened a transaction that the file never " in (
        message
    )
    assert "statements 3-5 of 5 left nothing in the database" in message
    assert "statements 1-2 had already run and stay" in message
    assert "Add the missing COMMIT at the end of the file" in message
    # What the file did before its BEGIN is committed, the rest is not; so is the history row.
    assert _committed("SELECT COUNT(*) FROM kept") == 1
    assert _row("001-open") == (False, 2, 5)
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-open failed on" in message
    assert "statements 1-2 of 5 had run" in message

    # The fix: undo what stayed, add the COMMIT, repair, apply.
    with connections["default"].cursor() as cursor:
        cursor.execute("DROP TABLE kept")
    path.write_text(path.read_text() + "COMMIT;\n")
    run("sqlmigrate_repair")
    run("sqlmigrate_apply", interactive=False)
    assert _committed("SELECT COUNT(*) FROM kept") == 3
    assert history() == [("001-open", True)]


def test_begin_first_without_commit_leaves_nothing_and_records_nothing(
    tmp_path: Path, settings: Any
) -> None:
    (tmp_path / "001-table.sql").write_text("CREATE TABLE t (id INTEGER);\n")
    (tmp_path / "002-open.sql").write_text(
        "-- sqlmigrate: no-transaction\nBEGIN;\nINSERT INTO t VALUES (1);\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-open.sql:2: statement 1 (BEGIN) opened a transaction" in message
    assert "statements 1-2 of 2 left nothing in the database, and nothing is recorded" in message
    assert _committed("SELECT COUNT(*) FROM t") == 0
    assert history() == [("001-table", True)]


@pytest.mark.parametrize(
    ("end", "rows"), [("COMMIT", 2), ("ROLLBACK", 1)], ids=["commit", "rollback"]
)
def test_a_complete_transaction_in_a_no_transaction_file(
    tmp_path: Path, settings: Any, end: str, rows: int
) -> None:
    (tmp_path / "001-closed.sql").write_text(
        "-- sqlmigrate: no-transaction\nCREATE TABLE t (id INTEGER);\nINSERT INTO t VALUES (1);\n"
        f"BEGIN;\nINSERT INTO t VALUES (2);\n{end};\n"
    )
    (tmp_path / "002-next.sql").write_text("INSERT INTO t VALUES (3);\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]
    run("sqlmigrate_apply", interactive=False)
    assert _committed("SELECT COUNT(*) FROM t") == rows + 1
    assert history() == [("001-closed", True), ("002-next", True)]
    assert _row("001-closed") == (True, 5, 5)


def test_a_failure_inside_the_files_own_transaction(tmp_path: Path, settings: Any) -> None:
    (tmp_path / "001-table.sql").write_text("CREATE TABLE t (id INTEGER);\n")
    (tmp_path / "002-fails.sql").write_text(
        "-- sqlmigrate: no-transaction\n"
        "INSERT INTO t VALUES (1);\n"
        "BEGIN;\n"
        "INSERT INTO t VALUES (2);\n"
        "INSERT INTO missing_table VALUES (3);\n"
        "COMMIT;\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-fails.sql:5:" in message
    assert (
        "Statements 2-4 ran inside the transaction opened by statement 2 (line 3: BEGIN) and "
        "were rolled back with it; statements 1-1 of 5 had already run and stay" in message
    )
    assert _committed("SELECT COUNT(*) FROM t") == 1
    assert _row("002-fails") == (False, 1, 5)
    assert "002-fails failed on" in fails("sqlmigrate_apply", interactive=False)


def test_a_no_transaction_file_inside_a_callers_transaction_is_left_to_it(
    tmp_path: Path, settings: Any
) -> None:
    """Applied inside the caller's transaction.atomic, the open transaction is the caller's:
    it is neither rolled back nor taken for one the file left open."""
    from django.db import transaction

    from django_sqlmigrate import api

    (tmp_path / "001-table.sql").write_text("CREATE TABLE t (id INTEGER);\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]
    run("sqlmigrate_apply", interactive=False)
    (tmp_path / "002-rows.sql").write_text(
        "-- sqlmigrate: no-transaction\nINSERT INTO t VALUES (1);\n"
    )
    with transaction.atomic():
        with connections["default"].cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (0)")
        api.apply()
    assert _committed("SELECT COUNT(*) FROM t") == 2
    assert history() == [("001-table", True), ("002-rows", True)]


def test_a_file_gone_between_the_plan_and_its_turn(tmp_path: Path, settings: object) -> None:
    """Another deploy, or a checkout, removed the file while the one before it ran."""
    for name in ("001-first", "002-second"):
        (tmp_path / f"{name}.sql").write_text(f"CREATE TABLE t_{name[:3]} (id INTEGER);\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]

    def remove_the_next(sender: object, version: str, **kwargs: object) -> None:
        if version == "001-first":
            (tmp_path / "002-second.sql").unlink()

    pre_apply.connect(remove_the_next)
    try:
        message = fails("sqlmigrate_apply", interactive=False)
    finally:
        pre_apply.disconnect(remove_the_next)
    assert message == (
        f"{tmp_path / '002-second.sql'}: the file cannot be read: No such file or directory. "
        "Check the path: it does not exist. Nothing of 002-second ran and nothing is recorded "
        "for it."
    )
    assert history() == [("001-first", True)]
    assert "t_002" not in tables()
