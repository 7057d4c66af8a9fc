"""MySQL/MariaDB: stored programs without DELIMITER, DELIMITER files, errors by line."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.db import DatabaseError, connections

from .helpers import fails, history, run, scalar, tables, vendor

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


# -- session settings: the `mysql` client runs each file in a session of its own ------------


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def row(sql: str) -> tuple[Any, ...]:
    with connections["default"].cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


@pytest.mark.parametrize("ddl", [False, True], ids=["dml-only", "with-ddl"])
def test_session_settings_do_not_leak_into_the_next_file(
    tmp_path: Path, settings: object, ddl: bool
) -> None:
    # A mysqldump header without its footer (the `/*!... SET ... = @OLD_... */` lines), plus
    # what people write by hand. A DML-only file runs in a transaction, a DDL file does not.
    _write(
        tmp_path,
        {
            "001-dump.sql": (
                ("CREATE TABLE dumped (id INT);\n" if ddl else "")
                + "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
                "/*!40101 SET NAMES latin1 */;\n"
                "/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;\n"
                "/*!40103 SET TIME_ZONE='+05:00' */;\n"
                "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n"
                "/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, "
                "FOREIGN_KEY_CHECKS=0 */;\n"
                "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n"
                "/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n"
                "SET sql_safe_updates = 1, sql_auto_is_null = 1, auto_increment_increment = 7;\n"
                "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n"
            ),
            "002-next.sql": (
                "CREATE TABLE seen AS SELECT @@foreign_key_checks AS fk, @@unique_checks AS uc,\n"
                "  @@sql_mode AS mode, @@time_zone AS tz, @@character_set_client AS cs,\n"
                "  @@character_set_results AS rs, @@collation_connection AS co,\n"
                "  @@sql_safe_updates AS su, @@sql_notes AS sn, @@sql_auto_is_null AS ai,\n"
                "  @@auto_increment_increment AS inc, @@tx_isolation AS iso,\n"
                "  @@tx_read_only AS ro, @OLD_FOREIGN_KEY_CHECKS AS old_fk;\n"
            ),
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    columns = "fk, uc, mode, tz, cs, rs, co, su, sn, ai, inc, iso, ro, old_fk"
    session = (
        "SELECT @@foreign_key_checks, @@unique_checks, @@sql_mode, @@time_zone, "
        "@@character_set_client, @@character_set_results, @@collation_connection, "
        "@@sql_safe_updates, @@sql_notes, @@sql_auto_is_null, @@auto_increment_increment, "
        "@@tx_isolation, @@tx_read_only, @OLD_FOREIGN_KEY_CHECKS"
    )
    before = row(session)
    assert before[0] == 1
    assert before[-1] is None
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-dump", True), ("002-next", True)]
    assert row(f"SELECT {columns} FROM seen") == before  # what the next file saw
    assert row(session) == before  # and what the session is left with


@pytest.mark.parametrize("ddl", [False, True], ids=["dml-only", "with-ddl"])
def test_a_read_only_session_does_not_reach_the_history_row(
    tmp_path: Path, settings: object, ddl: bool
) -> None:
    _write(
        tmp_path,
        {
            "001-read-only.sql": ("CREATE TABLE ro (id INT);\n" if ddl else "")
            + "SET SESSION TRANSACTION READ ONLY;\n",
            "002-write.sql": "CREATE TABLE written (id INT);\n",
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-read-only", True), ("002-write", True)]
    assert scalar("SELECT @@tx_read_only") == 0


def test_foreign_key_checks_off_in_one_file_do_not_reach_the_next(
    tmp_path: Path, settings: object
) -> None:
    _write(
        tmp_path,
        {
            "001-tables.sql": (
                "CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB;\n"
                "CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NOT NULL,\n"
                "  FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB;\n"
                "SET FOREIGN_KEY_CHECKS = 0;\n"
            ),
            "002-orphan.sql": "INSERT INTO child VALUES (1, 999);\n",
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-orphan.sql:1: (1452) Cannot add or update a child row" in message
    assert history() == [("001-tables", True)]
    assert scalar("SELECT COUNT(*) FROM child") == 0


def test_names_set_by_one_file_do_not_garble_the_next(tmp_path: Path, settings: object) -> None:
    _write(
        tmp_path,
        {
            "001-table.sql": (
                "CREATE TABLE words (w VARCHAR(20)) CHARACTER SET utf8mb4;\nSET NAMES latin1;\n"
            ),
            "002-row.sql": "INSERT INTO words VALUES ('café');\nSET NAMES binary;\n",
            # MySQLdb cannot even read a result in the binary character set.
            "003-row.sql": "INSERT INTO words VALUES ('naïve');\n",
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-table", True), ("002-row", True), ("003-row", True)]
    assert scalar("SELECT GROUP_CONCAT(w ORDER BY w) FROM words") == "café,naïve"
    assert scalar("SELECT HEX(w) FROM words WHERE w LIKE 'caf%'") == "636166C3A9"


def test_use_in_one_file_does_not_move_the_history_or_the_next_file(
    tmp_path: Path, settings: object
) -> None:
    other = connections["other"].settings_dict["NAME"]
    home = scalar("SELECT DATABASE()")
    _write(
        tmp_path,
        {
            "001-elsewhere.sql": f"USE `{other}`;\nCREATE TABLE elsewhere (id INT);\n",
            "002-here.sql": "CREATE TABLE here (id INT);\n",
            "003-dml.sql": f"USE `{other}`;\nINSERT INTO elsewhere VALUES (1);\n",
            "004-here-too.sql": "CREATE TABLE here_too (id INT);\n",
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    run("sqlmigrate_apply", interactive=False)
    assert history() == [
        ("001-elsewhere", True),
        ("002-here", True),
        ("003-dml", True),
        ("004-here-too", True),
    ]
    assert tables() >= {"here", "here_too"}
    assert "elsewhere" not in tables()
    assert "elsewhere" in tables("other")
    assert "here" not in tables("other")
    assert "schema_migrations" not in tables("other")
    assert scalar("SELECT DATABASE()") == home


@pytest.mark.parametrize("ddl", [False, True], ids=["dml-only", "with-ddl"])
def test_a_failed_file_does_not_leak_its_settings(
    tmp_path: Path, settings: object, ddl: bool
) -> None:
    other = connections["other"].settings_dict["NAME"]
    home = scalar("SELECT DATABASE()")
    _write(
        tmp_path,
        {
            "001-table.sql": "CREATE TABLE t (id INT PRIMARY KEY);\n",
            "002-fails.sql": (
                "SET FOREIGN_KEY_CHECKS = 0, sql_mode = '', time_zone = '+05:00';\n"
                + (
                    f"USE `{other}`;\nCREATE TABLE s (id INT PRIMARY KEY);\n"
                    "INSERT INTO s VALUES (1), (1);\n"
                    if ddl
                    else "INSERT INTO t VALUES (1), (1);\n"
                )
            ),
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    before = row("SELECT @@foreign_key_checks, @@sql_mode, @@time_zone")
    message = fails("sqlmigrate_apply", interactive=False)
    assert "(1062) Duplicate entry" in message
    # The failure is recorded in this database's history, not in the one the file USEd.
    assert history() == [("001-table", True)] + ([("002-fails", False)] if ddl else [])
    assert "schema_migrations" not in tables("other")
    assert row("SELECT @@foreign_key_checks, @@sql_mode, @@time_zone") == before
    assert scalar("SELECT DATABASE()") == home


def test_autocommit_turned_off_by_a_file_is_turned_back_on(
    tmp_path: Path, settings: object
) -> None:
    _write(
        tmp_path,
        {
            "001-off.sql": "CREATE TABLE a (id INT);\nSET autocommit = 0;\n",
            "002-next.sql": "CREATE TABLE b (id INT);\nINSERT INTO b VALUES (1);\n",
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    run("sqlmigrate_apply", interactive=False)
    assert scalar("SELECT @@autocommit") == 1
    # Committed: a new connection still sees the row and the history.
    connections["default"].close()
    assert scalar("SELECT COUNT(*) FROM b") == 1
    assert history() == [("001-off", True), ("002-next", True)]


# -- what ends or changes the transaction ----------------------------------------------------


def _committed(sql: str) -> Any:
    """``sql``'s answer on a new connection: what is committed, not what this session sees."""
    connections["default"].close()
    return scalar(sql)


def _row(version: str) -> str:
    """success,statements_applied,statements_total of a history row, as committed."""
    return str(
        _committed(
            "SELECT CONCAT_WS(',', success, statements_applied, statements_total) "
            f"FROM schema_migrations WHERE version = '{version}'"
        )
    )


OUTFILE = f"/tmp/sqlmigrate-test-{uuid.uuid4().hex}.txt"
XID = f"'sqlmigrate-test-{uuid.uuid4().hex}'"  # XA ids are server-wide, and outlive sessions


@pytest.mark.parametrize(
    ("statement", "applied", "rows"),
    [
        # Each ends the transaction, or is refused inside one: the file runs statement by
        # statement, and what ran before the failure stays (and is recorded).
        ("SET autocommit = 1", 3, 2),
        ("SET @@autocommit = 1", 3, 2),
        ("SET SESSION autocommit = ON", 3, 2),
        ("SET @@session.autocommit := 1", 3, 2),
        ("SET LOCAL autocommit = 1", 3, 2),
        ("SET @a = 1, autocommit = 1", 3, 2),
        ("SET @@GLOBAL.autocommit = @@GLOBAL.autocommit", 3, 2),
        ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", 3, 2),
        ("SET @@tx_isolation = 'SERIALIZABLE'", 3, 2),
        ("SET @@tx_read_only = 0", 3, 2),
        ("SET sql_log_bin = 1", 3, 2),
        ("SET DEFAULT ROLE NONE", 3, 2),
        ("SET STATEMENT max_statement_time = 10 FOR SELECT 1", 3, 2),
        (f"SELECT 1 INTO OUTFILE '{OUTFILE}'", 3, 2),
        ("COMMIT", 3, 2),
        ("SAVEPOINT sp", 3, 2),
        ("UNLOCK TABLES", 3, 2),
        ("CALL noop()", 3, 2),
        ("LOAD INDEX INTO CACHE t", 3, 2),
        # Each opens a transaction the failure ends: what ran since is rolled back.
        ("BEGIN", 1, 1),
        ("START TRANSACTION", 1, 1),
        ("SET autocommit = 0", 2, 1),
        ("SET @@SESSION.autocommit = OFF", 2, 1),
        (f"XA START {XID}", 1, 1),
    ],
)
def test_a_statement_that_ends_or_changes_the_transaction(
    tmp_path: Path, settings: object, statement: str, applied: int, rows: int
) -> None:
    """The issue's example: `INSERT; SET autocommit = 1; INSERT; <fails>` must not report
    "rolled back and left no trace" while both rows stay committed."""
    _write(
        tmp_path,
        {
            "001-table.sql": (
                "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB;\n"
                "CREATE PROCEDURE noop() BEGIN END;\n"
            ),
            "002-rows.sql": (
                f"INSERT INTO t VALUES (1);\n{statement};\nINSERT INTO t VALUES (2);\n"
                "SELECT * FROM missing_table;\n"
            ),
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    try:
        message = fails("sqlmigrate_apply", interactive=False)
    finally:
        Path(OUTFILE).unlink(missing_ok=True)
    assert "002-rows.sql:4: (1146) Table" in message
    assert "left no trace" not in message
    if applied == 3:
        assert "Statements 1-3 of 4 had already run and stay in the database" in message
    else:
        assert f"Statements {applied + 1}-4 ran inside the transaction opened by statement " in (
            message
        )
    assert _committed("SELECT COUNT(*) FROM t") == rows
    assert _row("002-rows") == f"0,{applied},4"
    assert row("SELECT @@in_transaction, @@autocommit") == (0, 1)
    assert "002-rows failed on" in fails("sqlmigrate_apply", interactive=False)


@pytest.mark.parametrize(
    ("ends", "rows"),
    [("SET autocommit = 1", 2), ("CREATE TABLE other (id INT)", 1)],
    ids=["autocommit-on", "implicit-commit"],
)
def test_a_transaction_ended_by_a_statement_the_classifier_missed(
    tmp_path: Path, settings: object, monkeypatch: pytest.MonkeyPatch, ends: str, rows: int
) -> None:
    """The backstop, should a statement that ends the transaction ever be taken for DML:
    autocommit back on, or no transaction open although a statement wrote, is reported as
    not rolled back, and recorded."""
    from django_sqlmigrate.backends.mysql import MySQLBackend

    monkeypatch.setattr(MySQLBackend, "runs_in_transaction", lambda *args: True)
    _write(
        tmp_path,
        {
            "001-table.sql": "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB;\n",
            "002-rows.sql": (
                f"INSERT INTO t VALUES (1);\n{ends};\n"
                + ("INSERT INTO t VALUES (2);\n" if rows == 2 else "SELECT 1;\n")
                + "SELECT * FROM missing_table;\n"
            ),
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "It was rolled back, but a statement of the file ended the transaction it ran in" in (
        message
    )
    assert "what statements 1-3 of 4 did may stay in the database" in message
    assert _committed("SELECT COUNT(*) FROM t") == rows
    assert _row("002-rows") == "0,3,4"
    assert "002-rows failed on" in fails("sqlmigrate_apply", interactive=False)


def test_changes_to_a_myisam_table_are_not_called_rolled_back(
    tmp_path: Path, settings: object
) -> None:
    _write(
        tmp_path,
        {
            "001-tables.sql": (
                "CREATE TABLE inno (id INT PRIMARY KEY) ENGINE=InnoDB;\n"
                "CREATE TABLE isam (id INT PRIMARY KEY) ENGINE=MyISAM;\n"
            ),
            "002-rows.sql": (
                "INSERT INTO inno VALUES (1);\nINSERT INTO isam VALUES (1);\n"
                "INSERT INTO inno VALUES (1);\n"
            ),
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "002-rows.sql:3: (1062) Duplicate entry" in message
    assert (
        "It was rolled back, but changes to non-transactional tables (MyISAM, Aria, ...) "
        "cannot be rolled back: what statements 1-2 of 3 did may stay in the database" in message
    )
    assert _committed("SELECT COUNT(*) FROM inno") == 0
    assert _committed("SELECT COUNT(*) FROM isam") == 1
    assert _row("002-rows") == "0,2,3"
    assert "002-rows failed on" in fails("sqlmigrate_apply", interactive=False)
    out, _ = run("sqlmigrate_repair")
    assert "Removed the failed record of 002-rows" in out
    with connections["default"].cursor() as cursor:
        cursor.execute("DELETE FROM isam")
    (tmp_path / "002-rows.sql").write_text(
        "INSERT INTO inno VALUES (1);\nINSERT INTO isam VALUES (1);\n"
    )
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-tables", True), ("002-rows", True)]


def test_a_dml_file_with_no_transaction_runs_statement_by_statement(
    tmp_path: Path, settings: object
) -> None:
    """Without the header this file would run in one transaction and leave no trace."""
    _write(
        tmp_path,
        {
            "001-table.sql": "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB;\n",
            "002-rows.sql": (
                "-- sqlmigrate: no-transaction\nINSERT INTO t VALUES (1);\n"
                "INSERT INTO missing_table VALUES (2);\n"
            ),
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "Statements 1-1 of 2 had already run and stay in the database" in message
    assert _committed("SELECT COUNT(*) FROM t") == 1
    assert _row("002-rows") == "0,1,2"
    assert "002-rows failed on" in fails("sqlmigrate_apply", interactive=False)
    out, _ = run("sqlmigrate_repair")
    assert "Removed the failed record of 002-rows" in out
    assert history() == [("001-table", True)]


@pytest.mark.parametrize(
    ("body", "rows", "applied"),
    [
        # Autocommit off: the INSERT after the COMMIT opened a transaction, never committed.
        (
            "SET autocommit = 0;\nINSERT INTO t VALUES (1);\nCOMMIT;\nINSERT INTO t VALUES (2);\n",
            1,
            4,
        ),
        # The same, committed: autocommit left off with nothing open loses nothing.
        (
            "SET autocommit = 0;\nINSERT INTO t VALUES (1);\nCOMMIT;\nINSERT INTO t VALUES (2);\n"
            "COMMIT;\n",
            2,
            None,
        ),
        # An XA transaction prepared and never committed: XA ROLLBACK, not ROLLBACK, ends it.
        (
            f"INSERT INTO t VALUES (1);\nXA START {XID};\nINSERT INTO t VALUES (2);\n"
            f"XA END {XID};\nXA PREPARE {XID};\n",
            1,
            2,
        ),
    ],
    ids=["autocommit-off", "autocommit-off-committed", "xa-prepared"],
)
def test_a_transaction_left_open_in_a_file_with_ddl(
    tmp_path: Path, settings: object, body: str, rows: int, applied: int | None
) -> None:
    _write(
        tmp_path, {"001-open.sql": "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB;\n" + body}
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    total = body.count(";\n") + 1
    try:
        if applied is None:
            run("sqlmigrate_apply", interactive=False)
            assert _row("001-open") == f"1,{total},{total}"
        else:
            message = fails("sqlmigrate_apply", interactive=False)
            assert f"statement {applied + 1} (" in message
            assert "opened a transaction that the file never commits" in message
            assert _row("001-open") == f"0,{applied},{total}"
        assert _committed("SELECT COUNT(*) FROM t") == rows
        assert scalar("XA RECOVER") is None
    finally:  # a prepared XA transaction would hold its locks until the server is restarted
        with connections["default"].cursor() as cursor, suppress(DatabaseError):
            cursor.execute(f"XA ROLLBACK {XID}")
    assert row("SELECT @@in_transaction, @@autocommit") == (0, 1)


def test_tables_a_file_left_locked_are_unlocked(tmp_path: Path, settings: object) -> None:
    # LOCK TABLES without UNLOCK TABLES (the client unlocks them when its session ends): the
    # history row's table, not locked, could not be written.
    _write(
        tmp_path,
        {
            "001-locked.sql": (
                "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB;\nLOCK TABLES t WRITE;\n"
                "INSERT INTO t VALUES (1);\n"
            ),
            "002-next.sql": "INSERT INTO t VALUES (2);\n",
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    run("sqlmigrate_apply", interactive=False)
    assert _row("001-locked") == "1,3,3"
    assert _committed("SELECT COUNT(*) FROM t") == 2


def test_a_deadlock_rolled_back_by_the_server_left_no_trace(
    tmp_path: Path, settings: object
) -> None:
    """InnoDB rolls the whole transaction back when it picks it as a deadlock's victim: then no
    transaction is open although a statement wrote, and that is not a commit."""
    import threading
    import time

    import MySQLdb

    _write(
        tmp_path,
        {
            "001-tables.sql": (
                "CREATE TABLE a (id INT PRIMARY KEY, x INT) ENGINE=InnoDB;\n"
                "CREATE TABLE b (id INT PRIMARY KEY, x INT) ENGINE=InnoDB;\n"
                "CREATE TABLE c (id INT PRIMARY KEY) ENGINE=InnoDB;\n"
                "INSERT INTO a VALUES (1, 0);\nINSERT INTO b VALUES (1, 0);\n"
            ),
        },
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    run("sqlmigrate_apply", interactive=False)
    (tmp_path / "002-victim.sql").write_text(
        "UPDATE a SET x = 1 WHERE id = 1;\nUPDATE b SET x = 1 WHERE id = 1;\n"
    )
    params = connections["default"].get_connection_params()
    other = MySQLdb.connect(**{k: v for k, v in params.items() if k != "client_flag"})
    locked = threading.Event()

    def hold_b_then_want_a() -> None:
        cursor = other.cursor()
        cursor.execute("BEGIN")
        # Heavier than the file's transaction, so InnoDB picks the file as the victim.
        cursor.execute(
            "INSERT INTO c SELECT seq FROM seq_1_to_200"
            if "MariaDB" in other.get_server_info()
            else "INSERT INTO c VALUES " + ", ".join(f"({n})" for n in range(1, 201))
        )
        cursor.execute("UPDATE b SET x = 2 WHERE id = 1")
        locked.set()
        time.sleep(1.5)  # the file has updated a, and waits for b
        cursor.execute("UPDATE a SET x = 2 WHERE id = 1")
        other.commit()

    thread = threading.Thread(target=hold_b_then_want_a)
    thread.start()
    try:
        assert locked.wait(10)
        message = fails("sqlmigrate_apply", interactive=False)
    finally:
        thread.join(20)
        other.close()
    assert "002-victim.sql:2: (1213) Deadlock found" in message
    assert "002-victim was rolled back and left no trace" in message
    assert history() == [("001-tables", True)]
    assert _committed("SELECT x FROM a") == 2


@pytest.fixture
def three_byte_connection() -> Iterator[None]:
    """The default connection with Django's own default character set, utf8 (utf8mb3)."""
    connection = connections["default"]
    saved = dict(connection.settings_dict["OPTIONS"])
    connection.close()
    connection.settings_dict["OPTIONS"] = {**saved, "charset": "utf8"}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"] = saved


@pytest.mark.usefixtures("three_byte_connection")
def test_a_character_a_utf8mb3_connection_cannot_carry_is_refused(
    tmp_path: Path, settings: object
) -> None:
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    _write(
        tmp_path,
        {
            "001-create-t.sql": "CREATE TABLE t (s VARCHAR(20)) CHARACTER SET utf8mb4;",
            # Without a strict sql_mode MariaDB would store 'a????b', with only a warning.
            "002-fill-t.sql": "SET SESSION sql_mode = '';\nINSERT INTO t VALUES ('café'), ('a🚀b');",
        },
    )
    message = fails("sqlmigrate_apply", interactive=False)
    assert (
        "002-fill-t.sql:2: contains U+1F680 (🚀) at line 2, column 35, which the connection's "
        "character set utf8mb3 cannot carry" in message
    )
    assert history() == []  # every pending file is checked before the first one runs
    assert "t" not in tables()
    with pytest.raises(CommandError, match="1 error"):
        run("sqlmigrate_validate")


def test_a_utf8mb4_connection_carries_any_character(tmp_path: Path, settings: object) -> None:
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    _write(
        tmp_path,
        {
            "001-t.sql": "CREATE TABLE t (s VARCHAR(20)) CHARACTER SET utf8mb4;\nINSERT INTO t VALUES ('a🚀b');"
        },
    )
    run("sqlmigrate_apply", interactive=False)
    assert _committed("SELECT s FROM t") == "a🚀b"


@pytest.mark.parametrize("header", ["", "-- sqlmigrate: no-transaction\n"])
def test_warnings_are_shown_and_returned_as_notices(
    tmp_path: Path, settings: object, header: str
) -> None:
    import django_sqlmigrate
    from django_sqlmigrate.notices import Notice
    from django_sqlmigrate.problems import display_path

    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    shift = 1 if header else 0
    _write(
        tmp_path,
        {
            "001-create-t.sql": "CREATE TABLE t (s VARCHAR(3));",
            # DML only: one transaction (or statement by statement with the header).
            "002-fill-t.sql": header + "SET SESSION sql_mode = '';\n"
            "INSERT INTO t VALUES ('abc');\nINSERT INTO t VALUES ('abcdef');\n",
        },
    )
    result = django_sqlmigrate.apply()
    path = display_path(tmp_path / "002-fill-t.sql")
    assert result.notices == (
        Notice(
            "002-fill-t",
            "WARNING",
            "(1265) Data truncated for column 's' at row 1",
            path,
            3 + shift,
        ),
    )
    assert _committed("SELECT COUNT(*) FROM t") == 2  # MariaDB kept 'abc' for both: it said so


def test_warnings_are_printed_as_they_come(tmp_path: Path, settings: object) -> None:
    from django_sqlmigrate.problems import display_path

    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    _write(
        tmp_path,
        {
            "001-create-t.sql": "CREATE TABLE t (id INT);\nCREATE TABLE IF NOT EXISTS t (id INT);",
        },
    )
    out, _ = run("sqlmigrate_apply", interactive=False)
    path = display_path(tmp_path / "001-create-t.sql")
    assert out.splitlines()[:2] == [
        "  Applying 001-create-t...",
        f"{path}:2: NOTE:  (1050) Table 't' already exists",
    ]
