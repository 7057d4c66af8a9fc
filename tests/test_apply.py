"""sqlmigrate_apply on the backend under test: order, history, failures, validation, flags."""

from __future__ import annotations

import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TransactionTestCase

from django_sqlmigrate.loader import checksum
from django_sqlmigrate.models import SchemaMigration

from .helpers import fails, history, run, scalar, tables, vendor

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]
BASIC = ["001-create-users-table", "002-add-email-verification", "010-add-reset-token-fields"]


def test_applies_in_numeric_order_and_records_history(sql_scenario: Scenario) -> None:
    folder = sql_scenario("basic")
    out, err = run("sqlmigrate_apply", interactive=False)
    assert re.findall(r"  Applying (\S+)\.\.\. OK \(\d+ ms\)", out) == BASIC
    assert "Applied 3 SQL migrations to database 'default'" in out
    assert err == ""
    assert history() == [(version, True) for version in BASIC]
    row = SchemaMigration.objects.get(version="002-add-email-verification")
    assert row.name == "Add email verification"
    assert row.checksum == checksum((folder / "002-add-email-verification.sql").read_bytes())
    assert row.execution_time_ms is not None
    assert row.statements_applied == row.statements_total == 3
    assert "@" in row.applied_by
    assert scalar("SELECT username FROM app_users WHERE id = 1") == "first; user"


def test_second_run_has_nothing_to_do(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    out, _ = run("sqlmigrate_apply", interactive=False)
    assert out == "  No SQL migrations to apply.\n"
    assert len(history()) == 3


def test_works_on_a_brand_new_database_without_migrate(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    assert "schema_migrations" not in tables()
    run("sqlmigrate_apply", interactive=False)
    assert "schema_migrations" in tables()


def test_history_survives_flush_and_transaction_test_case_teardown(
    sql_scenario: Scenario,
) -> None:
    sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    call_command("flush", interactive=False, verbosity=0)
    assert len(history()) == 3

    class Case(TransactionTestCase):
        databases = {"default"}

        def runTest(self) -> None:  # pragma: no cover - never run, only torn down
            pass

    Case()._fixture_teardown()  # type: ignore[attr-defined]
    assert len(history()) == 3
    assert run("sqlmigrate_apply", interactive=False)[0] == "  No SQL migrations to apply.\n"


def test_failed_transactional_file_leaves_no_trace(sql_scenario: Scenario) -> None:
    sql_scenario("failing")
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("sqlmigrate_apply", interactive=False, stdout=out, no_color=True)
    message = str(excinfo.value)
    assert out.getvalue().splitlines()[-1] == "  Applying 002-insert-then-fail... FAILED"
    location = {
        # PostgreSQL points at the missing table's name: line 6, column 8.
        "postgresql": '002-insert-then-fail.sql:6:8: ERROR: relation "missing_table" does not exist',
        # The others name the failing statement's first line.
        "sqlite": "002-insert-then-fail.sql:5: no such table: missing_table",
        "mysql": "002-insert-then-fail.sql:5: (1146) Table",
    }[vendor()]
    assert location in message
    assert "in statement 2 (line 5): SELECT id FROM missing_table" in message
    assert "002-insert-then-fail was rolled back and left no trace" in message
    assert history() == [("001-create-users-table", True)]
    assert scalar("SELECT COUNT(*) FROM app_users") == 0  # the INSERT was rolled back too
    assert "never_created" not in tables()


def test_refuses_an_applied_file_that_was_edited(sql_scenario: Scenario) -> None:
    folder = sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    path = folder / "002-add-email-verification.sql"
    path.write_text(path.read_text() + "\n-- an innocent-looking edit\n")
    (folder / "011-more.sql").write_text("CREATE TABLE more_things (id INTEGER);")
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-add-email-verification.sql: 002-add-email-verification was modified" in message
    assert "restore the file" in message
    assert "more_things" not in tables()


def test_windows_line_endings_do_not_count_as_an_edit(sql_scenario: Scenario) -> None:
    folder = sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    path = folder / "001-create-users-table.sql"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert run("sqlmigrate_apply", interactive=False)[0] == "  No SQL migrations to apply.\n"


def test_out_of_order_file_is_refused_unless_allowed(sql_scenario: Scenario) -> None:
    folder = sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    (folder / "005-from-another-branch.sql").write_text("CREATE TABLE branch_t (id INTEGER);")
    message = fails("sqlmigrate_apply", interactive=False)
    assert "005-from-another-branch is pending but numbered below 10" in message
    assert "--allow-out-of-order" in message
    out, _ = run("sqlmigrate_apply", interactive=False, allow_out_of_order=True)
    assert "Applying 005-from-another-branch... OK" in out
    assert "branch_t" in tables()


def test_target_stops_after_that_version(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    out, _ = run("sqlmigrate_apply", interactive=False, target="002-add-email-verification")
    assert re.findall(r"Applying (\S+)\.\.\.", out) == BASIC[:2]
    out, _ = run("sqlmigrate_apply", interactive=False, target="10")
    assert re.findall(r"Applying (\S+)\.\.\.", out) == BASIC[2:]


def test_unknown_target_is_an_error(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    assert "--target '7-nope' names no migration file" in fails(
        "sqlmigrate_apply", interactive=False, target="7-nope"
    )
    assert history() == []


def test_plan_lists_and_changes_nothing(sql_scenario: Scenario) -> None:
    folder = sql_scenario("basic")
    (folder / "011-concurrent.sql").write_text(
        "-- sqlmigrate: no-transaction\nCREATE TABLE x11 (id INTEGER);"
    )
    out, _ = run("sqlmigrate_apply", plan=True)
    assert out.splitlines() == [
        "Planned SQL migrations:",
        *(f"  {version}" for version in BASIC),
        "  011-concurrent (no-transaction)",
    ]
    assert "schema_migrations" not in tables()
    assert "app_users" not in tables()


def test_fake_records_without_running(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    out, _ = run("sqlmigrate_apply", interactive=False, fake=True)
    assert re.findall(r"Faking (\S+)\.\.\. FAKED", out) == BASIC
    assert history() == [(version, True) for version in BASIC]
    assert "app_users" not in tables()


def test_fake_asks_first(sql_scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    sql_scenario("basic")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    assert "--fake was not confirmed" in fails("sqlmigrate_apply", fake=True)
    assert history() == []


def test_file_without_statements_is_refused(sql_scenario: Scenario) -> None:
    sql_scenario("empty")
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-fresh-template.sql: contains no SQL statements" in message
    assert "-- sqlmigrate: allow-empty" in message
    assert history() == []


def test_allow_empty_file_is_recorded(sql_scenario: Scenario) -> None:
    folder = sql_scenario("directives")
    (folder / "002-typo.sql").unlink()
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-empty-on-purpose", True)]


def test_unknown_directive_is_refused(sql_scenario: Scenario) -> None:
    sql_scenario("directives")
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-typo.sql:1: unknown sqlmigrate directive 'no-transactoin'" in message
    assert history() == []


def test_bad_file_names_are_refused_before_anything_runs(sql_scenario: Scenario) -> None:
    sql_scenario("bad_names")
    message = fails("sqlmigrate_apply", interactive=False)
    assert "'002-Add Thing.sql' is not a valid migration file name" in message
    assert "'add-thing.sql' is not a valid migration file name" in message
    assert history() == []
    assert "ok_table" not in tables()


def test_duplicate_numbers_are_refused(sql_scenario: Scenario) -> None:
    sql_scenario("duplicate_numbers")
    message = fails("sqlmigrate_apply", interactive=False)
    assert "migration number 6 is used twice" in message
    assert history() == []


def test_missing_file_is_only_a_warning(sql_scenario: Scenario) -> None:
    folder = sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    (folder / "010-add-reset-token-fields.sql").unlink()
    (folder / "011-next.sql").write_text("CREATE TABLE next_t (id INTEGER);")
    out, err = run("sqlmigrate_apply", interactive=False)
    assert "Applying 011-next... OK" in out
    out, err = run("sqlmigrate_status")
    assert "[missing ] 010-add-reset-token-fields" in out
    assert "warning sqlmigrate.W002: 010-add-reset-token-fields is recorded as applied" in err


def test_missing_setting_without_base_dir_names_the_setting(settings: object) -> None:
    del settings.SQLMIGRATE_DIRS  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "SQLMIGRATE_DIRS is not set" in message


def test_default_folder_comes_from_base_dir(settings: object, tmp_path: Path) -> None:
    del settings.SQLMIGRATE_DIRS  # type: ignore[attr-defined]
    settings.BASE_DIR = tmp_path  # type: ignore[attr-defined]
    (tmp_path / "sql_migrations").mkdir()
    (tmp_path / "sql_migrations" / "001-a.sql").write_text("CREATE TABLE from_base (id INTEGER);")
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-a", True)]


def test_other_database_alias(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False, database="other")
    assert len(history("other")) == 3
    assert history("default") == []
    assert "app_users" in tables("other")


def test_database_choices_are_checked(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    message = fails("sqlmigrate_apply", "--database=nope")
    assert "invalid choice: 'nope'" in message


@pytest.mark.skipif(vendor() == "mysql", reason="MySQL has no deferred constraints")
def test_deferred_constraint_failing_at_commit(tmp_path: Path, settings: object) -> None:
    # Every statement runs; the foreign key is checked only at COMMIT, which fails. The file
    # is rolled back, and the error says so instead of blaming a statement.
    (tmp_path / "001-deferred.sql").write_text(
        "CREATE TABLE parent (id int PRIMARY KEY);\n"
        "CREATE TABLE child (id int PRIMARY KEY,\n"
        "  parent_id int REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);\n"
        "INSERT INTO child VALUES (1, 42);\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-deferred.sql: " in message
    assert "when the transaction committed, after its last statement" in message
    assert "001-deferred was rolled back and left no trace" in message
    assert history() == []
    assert "child" not in tables()


# -- a NUL byte: refused by the loader, before anything runs -------------------------------
def test_nul_byte_is_refused_before_anything_runs(tmp_path: Path, settings: object) -> None:
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    (tmp_path / "001-create-t.sql").write_text(
        "CREATE TABLE t (id INTEGER PRIMARY KEY);\nINSERT INTO t (id) VALUES (1), (999);\n"
    )
    run("sqlmigrate_apply", interactive=False)
    # libpq would cut this statement at the NUL and delete every row.
    (tmp_path / "002-delete-one.sql").write_bytes(
        b"-- sqlmigrate: no-transaction\nSELECT 1;\nDELETE FROM t \x00WHERE id = 999;\n"
    )
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-delete-one.sql:3: contains a NUL byte (0x00) at line 3, column 15" in message
    assert scalar("SELECT COUNT(*) FROM t") == 2
    assert history() == [("001-create-t", True)]

    _, err = run("sqlmigrate_status")
    assert "error sqlmigrate.E017:" in err
    with pytest.raises(CommandError, match="1 error"):
        run("sqlmigrate_validate")


# -- a number applied already under another name ---------------------------------------------
def seeded(folder: Path) -> None:
    (folder / "001-create-seeds.sql").write_text("CREATE TABLE seeds (id INTEGER);\n")
    (folder / "002-seed.sql").write_text("INSERT INTO seeds (id) VALUES (1);\n")
    run("sqlmigrate_apply", interactive=False)


@pytest.mark.parametrize("flags", [{}, {"allow_out_of_order": True}])
def test_renamed_applied_file_is_refused_not_run_again(
    tmp_path: Path, settings: object, flags: dict[str, bool]
) -> None:
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    seeded(tmp_path)
    (tmp_path / "002-seed.sql").rename(tmp_path / "002-seed-data.sql")

    message = fails("sqlmigrate_apply", interactive=False, **flags)
    assert "002-seed-data.sql: 002-seed-data is pending, but number 2 is applied already, as " in (
        message
    )
    assert "sqlmigrate_repair --accept-renames" in message
    assert scalar("SELECT COUNT(*) FROM seeds") == 1
    assert history() == [("001-create-seeds", True), ("002-seed", True)]
    with pytest.raises(CommandError):
        run("sqlmigrate_validate")

    out, _ = run("sqlmigrate_repair", accept_renames=True)
    assert out == "Recorded 002-seed as renamed to 002-seed-data.\n"
    assert history() == [("001-create-seeds", True), ("002-seed-data", True)]
    assert run("sqlmigrate_apply", interactive=False)[0] == "  No SQL migrations to apply.\n"
    assert scalar("SELECT COUNT(*) FROM seeds") == 1


def test_renamed_and_edited_file_is_not_accepted_as_a_rename(
    tmp_path: Path, settings: object
) -> None:
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    seeded(tmp_path)
    (tmp_path / "002-seed.sql").unlink()
    (tmp_path / "002-seed-more.sql").write_text("INSERT INTO seeds (id) VALUES (2);\n")
    message = fails("sqlmigrate_apply", interactive=False)
    assert "Its text differs from what 002-seed applied" in message
    assert "renumber it above 2" in message
    assert "accepted as a rename" in fails("sqlmigrate_repair", accept_renames=True)
    assert history() == [("001-create-seeds", True), ("002-seed", True)]
    assert scalar("SELECT COUNT(*) FROM seeds") == 1


def test_a_reused_number_replaces_the_missing_file_warning(
    tmp_path: Path, settings: object
) -> None:
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    seeded(tmp_path)
    (tmp_path / "002-seed.sql").rename(tmp_path / "002-seed-data.sql")
    _, err = run("sqlmigrate_status")
    assert [line.split(":")[0] for line in err.splitlines()] == ["error sqlmigrate.E018"]


# -- the cyclic GC is only switched off when no other thread could notice -------------------
def gc_states_during_status() -> list[bool]:
    import gc

    from django.db import connections

    from django_sqlmigrate import api

    seen: list[bool] = []

    def wrapper(execute: Callable[..., object], *args: object) -> object:
        seen.append(gc.isenabled())
        return execute(*args)

    with connections["default"].execute_wrapper(wrapper):
        api.status("default")
    return seen


def test_gc_stays_on_while_other_threads_run(sql_scenario: Scenario) -> None:
    import threading

    sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)  # a request of a threaded server, say
    other.start()
    try:
        assert set(gc_states_during_status()) == {True}
    finally:
        stop.set()
        other.join()
    if threading.active_count() == 1:  # a command's only thread: reading goes without GC
        assert set(gc_states_during_status()) == {False}


# -- how long a file took: the history row and the post_apply signal -------------------------
SLOW_SQL = {
    "postgresql": ("SELECT pg_sleep(0.3);", 300),
    "mysql": ("DO SLEEP(0.3);", 300),
    # No sleep in SQLite: count to two million (about half a second), at least 100 ms anywhere.
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) "
        "SELECT COUNT(*) FROM c;",
        100,
    ),
}


@pytest.mark.parametrize("transactional", [True, False])
def test_execution_time_is_the_files_own(
    tmp_path: Path, settings: object, transactional: bool
) -> None:
    import time

    from django_sqlmigrate import signals

    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    sql, at_least_ms = SLOW_SQL[vendor()]
    header = "" if transactional else "-- sqlmigrate: no-transaction\n"
    (tmp_path / "001-fast.sql").write_text("SELECT 1;\n")
    (tmp_path / "002-slow.sql").write_text(header + sql + "\n")
    durations: dict[str, float] = {}

    def receiver(sender: object, version: str, duration: float, **kwargs: object) -> None:
        durations[version] = duration

    signals.post_apply.connect(receiver, weak=False)
    try:
        started = time.perf_counter()
        run("sqlmigrate_apply", interactive=False)
        wall_ms = (time.perf_counter() - started) * 1000
    finally:
        signals.post_apply.disconnect(receiver)
    slow = SchemaMigration.objects.get(version="002-slow").execution_time_ms
    fast = SchemaMigration.objects.get(version="001-fast").execution_time_ms
    assert slow is not None
    assert fast is not None
    assert at_least_ms <= slow <= wall_ms
    assert fast < at_least_ms
    assert at_least_ms <= durations["002-slow"] * 1000 <= wall_ms


@pytest.mark.skipif(
    vendor() == "postgresql", reason="PostgreSQL sends files through libpq: its own tests"
)
def test_statements_go_through_djangos_cursor_as_str(
    tmp_path: Path, settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    """execute_wrapper() functions and the django.db.backends logger see every statement of
    a file, as str, as they see Django's own migrate statements."""
    import logging

    from django.db import connections

    files = {
        "001-table.sql": ["CREATE TABLE seen (id INTEGER)"],
        "002-rows.sql": ["INSERT INTO seen VALUES (1)", "UPDATE seen SET id = 2 WHERE id = 1"],
        "003-autocommit.sql": [
            "-- sqlmigrate: no-transaction\nINSERT INTO seen VALUES (3)",
            "DELETE FROM seen WHERE id = 3",
        ],
    }
    for name, statements in files.items():
        (tmp_path / name).write_text(";\n".join(statements) + ";\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    wrapped: list[object] = []

    def wrapper(execute: Any, sql: object, params: Any, many: bool, context: Any) -> Any:
        wrapped.append(sql)
        return execute(sql, params, many, context)

    connection = connections["default"]
    connection.force_debug_cursor = True
    try:
        with (
            connection.execute_wrapper(wrapper),
            caplog.at_level(logging.DEBUG, logger="django.db.backends"),
        ):
            run("sqlmigrate_apply", interactive=False)
    finally:
        connection.force_debug_cursor = False
    logged = [getattr(record, "sql", None) for record in caplog.records]
    sent = [statement.split("\n")[-1] for group in files.values() for statement in group]
    assert all(isinstance(sql, str) for sql in wrapped)
    for statement in sent:
        assert statement in wrapped
        assert statement in logged
    assert scalar("SELECT id FROM seen") == 2


@pytest.mark.skipif(
    vendor() == "mysql", reason="MySQL runs a file with SAVEPOINT statement by statement"
)
@pytest.mark.parametrize(
    "rollback", ["ROLLBACK TO a", "ROLLBACK TRANSACTION TO SAVEPOINT a", "ROLLBACK WORK TO a"]
)
def test_rollback_to_a_savepoint_is_part_of_the_file(
    tmp_path: Path, settings: object, rollback: str
) -> None:
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    if vendor() == "sqlite" and "WORK" in rollback:
        rollback = "ROLLBACK TO a"  # SQLite has no WORK
    (tmp_path / "001-savepoint.sql").write_text(
        "CREATE TABLE t (id INTEGER);\nSAVEPOINT a;\nINSERT INTO t VALUES (1);\n"
        f"{rollback};\nINSERT INTO t VALUES (2);\n"
    )
    run("sqlmigrate_apply", interactive=False)
    assert scalar("SELECT SUM(id) FROM t") == 2
    assert history() == [("001-savepoint", True)]
