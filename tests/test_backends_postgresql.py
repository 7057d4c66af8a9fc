"""PostgreSQL: real-world SQL, the same schema as psql, error positions, refused statements."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from .helpers import fails, history, run, scalar, vendor

pytestmark = [
    pytest.mark.skipif(vendor() != "postgresql", reason="PostgreSQL-only SQL and behaviour"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]
FEATURES = [
    "001-types-and-functions",
    "002-copy-and-transaction-wrappers",
    "003-index-concurrently",
]


def test_real_world_sql(sql_scenario: Scenario) -> None:
    sql_scenario("postgresql_features")
    run("sqlmigrate_apply", interactive=False)
    assert history() == [(version, True) for version in FEATURES]
    assert scalar("SELECT string_agg(name, '|' ORDER BY id) FROM people") == (
        "O'Brien; the first|Ada; Lovelace|GRACE HOPPER!"
    )
    assert scalar("SELECT count(*) FROM people WHERE updated_at IS NOT NULL") == 3
    assert scalar("SELECT shout('')") == "(silence)"
    assert scalar("SELECT enum_range(NULL::mood)::text") == "{sad,ok,happy}"
    assert (
        scalar(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname IN ('people_name', 'people_id_name') AND i.indisvalid"
        )
        == 2
    )


def _pg_command(*args: str, database: str) -> list[str]:
    settings = connections["default"].settings_dict
    return [
        *args,
        "-h",
        str(settings["HOST"]),
        "-p",
        str(settings["PORT"]),
        "-U",
        str(settings["USER"]),
        "-d",
        database,
    ]


@pytest.fixture
def psql_database() -> Iterator[str]:
    name = "sqlmigrate_psql_reference"
    settings = connections["default"].settings_dict
    admin = _pg_command("psql", "-q", "-v", "ON_ERROR_STOP=1", database="postgres")
    subprocess.run([*admin, "-c", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run([*admin, "-c", f"CREATE DATABASE {name}"], check=True)
    assert settings["HOST"]
    yield name
    subprocess.run([*admin, "-c", f"DROP DATABASE IF EXISTS {name}"], check=True)


@pytest.mark.skipif(shutil.which("psql") is None, reason="needs the psql and pg_dump clients")
def test_same_schema_as_psql(sql_scenario: Scenario, psql_database: str) -> None:
    folder = sql_scenario("postgresql_features")
    for path in sorted(folder.glob("*.sql")):
        single = [] if "no-transaction" in path.read_text() else ["-1"]
        subprocess.run(
            [
                *_pg_command(
                    "psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", *single, database=psql_database
                ),
                "-f",
                str(path),
            ],
            check=True,
            capture_output=True,
        )
    run("sqlmigrate_apply", interactive=False)
    ours = connections["default"].settings_dict["NAME"]

    def dump(database: str) -> str:
        return subprocess.run(
            [
                *_pg_command(
                    "pg_dump",
                    "--schema-only",
                    "--no-owner",
                    "-T",
                    "schema_migrations",
                    "-T",
                    "django_*",
                    "-T",
                    "auth_*",
                    database=database,
                )
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def schema(database: str) -> str:
        # \restrict lines carry a random key per dump; comments name the database.
        return "\n".join(
            line
            for line in dump(database).splitlines()
            if not line.startswith(("\\restrict", "\\unrestrict", "--"))
        )

    ours_dump, reference = schema(str(ours)), schema(psql_database)
    assert "CREATE TABLE public.people" in reference
    assert ours_dump == reference


def test_concurrently_in_a_transactional_file_is_refused_before_anything_runs(
    sql_scenario: Scenario,
) -> None:
    folder = sql_scenario("postgresql_features")
    path = folder / "003-index-concurrently.sql"
    path.write_text(path.read_text().replace("-- sqlmigrate: no-transaction\n", ""))
    message = fails("sqlmigrate_apply", interactive=False)
    assert "003-index-concurrently.sql:1: CREATE INDEX ... CONCURRENTLY cannot run inside" in (
        message
    )
    assert "-- sqlmigrate: no-transaction" in message
    assert history() == []  # not even 001 and 002 ran


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("VACUUM people;", "VACUUM cannot run inside a transaction block"),
        ("REINDEX TABLE CONCURRENTLY people;", "REINDEX TABLE ... CONCURRENTLY"),
        ("CREATE DATABASE other_db;", "CREATE DATABASE cannot run"),
        ("ALTER SYSTEM SET work_mem = '8MB';", "ALTER SYSTEM cannot run"),
        ("ROLLBACK;", "ROLLBACK would throw away the migration's own transaction"),
        ("PREPARE TRANSACTION 'x';", "PREPARE TRANSACTION would end the migration's own"),
    ],
)
def test_other_statements_refused_in_a_transaction(
    tmp_path: Path, settings: object, statement: str, reason: str
) -> None:
    (tmp_path / "001-x.sql").write_text(f"SELECT 1;\n{statement}\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-x.sql:2: " in message
    assert reason in message


def test_error_column_counts_characters_not_bytes(tmp_path: Path, settings: object) -> None:
    (tmp_path / "001-x.sql").write_text("-- ünïcödé\nSELECT 'ééé' AS x, nope FROM pg_class;\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert 'x.sql:2:20: ERROR: column "nope" does not exist' in message


@pytest.mark.parametrize(
    ("body", "where", "text"),
    [
        ("SELECT 1;\nSELECT 2;\nSELECT 1/0;\nSELECT 4;\n", ":3: ", "division by zero"),
        (
            "SELECT 1;\nDO $$\nBEGIN\n  RAISE EXCEPTION 'custom failure';\nEND\n$$;\n",
            ":2: ",
            "custom failure",
        ),
        ("\ufeffSELECT 1;\r\nSELECT 1/0;\r\n", ":2: ", "division by zero"),
    ],
)
def test_run_time_errors_name_the_statement_line(
    tmp_path: Path, settings: object, body: str, where: str, text: str
) -> None:
    (tmp_path / "001-x.sql").write_bytes(body.encode())
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert f"001-x.sql{where}ERROR: {text}" in message


def test_psql_meta_commands_are_refused(tmp_path: Path, settings: object) -> None:
    (tmp_path / "001-x.sql").write_text("SELECT 1;\n\\connect other\nSELECT 2;\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-x.sql:2: " in message
    assert "\\connect" in message


@pytest.mark.parametrize("header", ["", "-- sqlmigrate: no-transaction\n"])
def test_session_settings_do_not_leak_into_the_next_file(
    tmp_path: Path, settings: object, header: str
) -> None:
    # psql runs each file in a session of its own: pg_dump's empty search_path, a SET ROLE or
    # a time zone must not reach the next file, nor the history row written after the file.
    (tmp_path / "001-dump.sql").write_text(
        header + "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "SET TIME ZONE 'Asia/Tokyo';\nCREATE TABLE public.dumped (id int);\n"
    )
    (tmp_path / "002-next.sql").write_text(
        "CREATE TABLE plain (id int);\n"
        "CREATE TABLE seen AS SELECT current_setting('search_path') AS path,\n"
        "  current_setting('TimeZone') AS zone;\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    zone = scalar("SELECT current_setting('TimeZone')")
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-dump", True), ("002-next", True)]
    assert scalar("SELECT path FROM seen") == scalar(
        "SELECT reset_val FROM pg_settings WHERE name = 'search_path'"
    )
    assert scalar("SELECT zone FROM seen") == zone
    assert scalar("SELECT 'public.plain'::regclass::text") == "plain"
    assert scalar("SELECT current_setting('TimeZone')") == zone


def test_big_file_goes_in_batches(tmp_path: Path, settings: object) -> None:
    rows = ",".join(f"({i}, 'row {i}; with a semicolon')" for i in range(2000))
    body = "CREATE TABLE big (id int, label text);\n" + f"INSERT INTO big VALUES {rows};\n" * 40
    body += "SELECT 1/0;\n"
    (tmp_path / "001-big.sql").write_text(body)
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    assert len(body) > 2 * (1 << 20)  # more than one batch
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-big.sql:42: ERROR: division by zero" in message
    assert "in statement 42 (line 42)" in message


@pytest.mark.parametrize("header", ["", "-- sqlmigrate: no-transaction\n"])
def test_connection_lost_mid_file_is_one_paragraph(
    tmp_path: Path,
    settings: object,
    subprocess_env: Callable[[], dict[str, str]],
    header: str,
) -> None:
    (tmp_path / "001-x.sql").write_text(
        f"{header}CREATE TABLE before_kill (id int);\nSELECT pg_terminate_backend(pg_backend_pid());\n"
    )
    settings.SQLMIGRATE_DIRS = [str(tmp_path)]  # type: ignore[attr-defined]
    result = subprocess.run(
        [sys.executable, "-m", "django", "sqlmigrate_apply", "--noinput"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("CommandError: ")
    assert "terminating connection due to administrator command" in result.stderr
    if header:  # the CREATE TABLE committed on its own: the run is recorded as interrupted
        assert history() == [("001-x", False)]
        message = fails("sqlmigrate_apply", interactive=False)
        assert "it was interrupted before it finished" in message
    else:
        assert history() == []


def test_file_row_and_commit_travel_together(tmp_path: Path, settings: object) -> None:
    # One query per small file: BEGIN, its statements, the session restore, the history row
    # and COMMIT. The row is stamped and timed by the server, and the file's own
    # BEGIN/COMMIT, a trailing COPY and an empty file all end the same way.
    (tmp_path / "001-plain.sql").write_text(
        "CREATE TABLE timed (id int);\nSELECT pg_sleep(0.05);\n"
    )
    (tmp_path / "002-wrapped.sql").write_text("BEGIN;\nINSERT INTO timed VALUES (1);\nCOMMIT;\n")
    (tmp_path / "003-copy-last.sql").write_text("COPY timed (id) FROM stdin;\n2\n3\n\\.\n")
    (tmp_path / "004-nothing.sql").write_text("-- sqlmigrate: allow-empty\n-- nothing yet\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    through_django: list[str] = []

    def spy(execute: Any, sql: str, *args: Any) -> Any:
        through_django.append(sql)
        return execute(sql, *args)

    before = scalar("SELECT clock_timestamp()")
    with connections["default"].execute_wrapper(spy):
        run("sqlmigrate_apply", interactive=False)
    after = scalar("SELECT clock_timestamp()")
    assert history() == [
        ("001-plain", True),
        ("002-wrapped", True),
        ("003-copy-last", True),
        ("004-nothing", True),
    ]
    # The rows did not go through Django's cursor: they travelled with the files.
    assert not [sql for sql in through_django if sql.startswith("INSERT")]
    assert scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM timed") == "1,2,3"
    rows = connections["default"].cursor()
    rows.execute(
        "SELECT version, applied_at, execution_time_ms, statements_applied, statements_total, "
        "applied_by FROM schema_migrations ORDER BY id"
    )
    recorded = rows.fetchall()
    assert all(before <= applied_at <= after for _, applied_at, *_ in recorded)
    assert recorded[0][2] >= 50  # pg_sleep(0.05) ran inside the timed transaction
    assert [(row[0], row[3], row[4]) for row in recorded] == [
        ("001-plain", 2, 2),
        ("002-wrapped", 3, 3),
        ("003-copy-last", 1, 1),
        ("004-nothing", 0, 0),
    ]
    assert all(row[5] for row in recorded)  # user@host
    # Nothing is left open: the next command starts outside a transaction.
    assert connections["default"].connection.pgconn.transaction_status == 0


def test_history_row_failing_rolls_the_file_back(tmp_path: Path, settings: object) -> None:
    # A file can make its own history INSERT fail (a trigger on the history table): the file
    # is rolled back with it, and the error says which step failed.
    (tmp_path / "001-sabotage.sql").write_text(
        "CREATE TABLE kept (id int);\n"
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN RAISE EXCEPTION 'no history today'; END $$;\n"
        "CREATE TRIGGER refuse BEFORE INSERT ON schema_migrations\n"
        "  FOR EACH ROW EXECUTE FUNCTION refuse();\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "Recording the file in the history table failed" in message
    assert "no history today" in message
    assert history() == []
    assert scalar("SELECT to_regclass('kept') IS NULL") is True
    assert scalar("SELECT count(*) FROM pg_trigger WHERE tgname = 'refuse'") == 0


@pytest.mark.parametrize("header", ["", "-- sqlmigrate: no-transaction\n"])
def test_last_statement_ending_in_a_comment_without_semicolon(
    tmp_path: Path, settings: object, header: str
) -> None:
    # What is sent after a file's last statement (the session restore, the history row,
    # COMMIT) must not end up inside its trailing -- comment.
    (tmp_path / "001-trailing.sql").write_text(
        header + "SET search_path TO pg_catalog;\nCREATE TABLE public.tail (id int) -- done"
    )
    (tmp_path / "002-after.sql").write_text("CREATE TABLE after_tail (id int)")
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-trailing", True), ("002-after", True)]
    assert scalar("SELECT 'public.after_tail'::regclass::text") == "after_tail"
    assert connections["default"].connection.pgconn.transaction_status == 0
