"""PostgreSQL: real-world SQL, the same schema as psql, error positions, refused statements."""

from __future__ import annotations

import logging
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connections, transaction

import django_sqlmigrate
from django_sqlmigrate.backends import RunInterrupted, StatementFailed, get_backend
from django_sqlmigrate.backends.postgresql import PostgreSQLBackend, _Batch
from django_sqlmigrate.executor import MigrationExecutor
from django_sqlmigrate.loader import MigrationLoader, SqlMigration
from django_sqlmigrate.notices import Notice
from django_sqlmigrate.problems import display_path
from django_sqlmigrate.splitter import Statement, split

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
    # Named after this run's databases (SQLMIGRATE_TEST_DB_NAME): two runs on one server each
    # have their own.
    name = f"{connections['default'].settings_dict['NAME']}_psql_reference"
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
                    "schema_migrations*",
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


def test_prepare_transaction_in_a_no_transaction_file_is_refused(
    tmp_path: Path, settings: object
) -> None:
    """The session is idle again after it, so no open transaction is left to notice: the
    changes would stay prepared, never committed, and the file be recorded as applied."""
    (tmp_path / "001-x.sql").write_text(
        "-- sqlmigrate: no-transaction\nBEGIN;\nCREATE TABLE prepared_only (id int);\n"
        "PREPARE TRANSACTION 'sqlmigrate_test';\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    message = fails("sqlmigrate_apply", interactive=False)
    assert "001-x.sql:4: PREPARE TRANSACTION would leave the file's changes prepared" in message
    assert history() == []
    assert scalar("SELECT COUNT(*) FROM pg_prepared_xacts") == 0


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
    # Each row travelled with its file, in the query that ends with COMMIT, which Django's
    # execute wrappers saw as one: one round trip for 001 (BEGIN, statements, session restore,
    # history row, COMMIT); after the file's own COMMIT or a COPY, one for the rest.
    committing = [sql for sql in through_django if 'INSERT INTO "schema_migrations"' in sql]
    assert len(committing) == 4
    assert all(sql.endswith("\n;COMMIT") for sql in committing)
    assert committing[0].startswith("BEGIN;CREATE TABLE timed (id int);\nSELECT pg_sleep(0.05)\n;")
    assert committing[3].startswith("BEGIN;RESET ALL\n;")  # the empty file: only ours
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


# -- helpers for the tests below ------------------------------------------------------------------


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail with TimeoutError instead of hanging (a loop on a COPY result spins forever)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def backend() -> PostgreSQLBackend:
    found = get_backend(connections["default"])
    assert isinstance(found, PostgreSQLBackend)
    return found


def located(source: bytes, *texts: bytes) -> list[Statement]:
    """Statements at these texts, in order: a list that may split or merge differently from
    the splitter (and the server), or miss a COPY's rows."""
    statements, at = [], 0
    for text in texts:
        start = source.index(text, at)
        statements.append(Statement(start, start + len(text)))
        at = start + len(text)
    return statements


def run_direct(source: bytes, statements: list[Statement], *, transactional: bool) -> None:
    """Run statements on the backend without the executor's checks; a transactional file in
    transaction.atomic, as the executor does inside a caller's transaction."""
    with deadline(30):
        if transactional:
            with transaction.atomic():
                backend().execute(source, statements, transactional=True)
        else:
            backend().execute(source, statements, transactional=False)


def migration_in(tmp_path: Path, name: str, body: str) -> SqlMigration:
    folder = tmp_path / "direct"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(body)
    loaded = MigrationLoader([folder]).load()
    return next(m for m in loaded.migrations if m.path.name == name)


def executor() -> MigrationExecutor:
    found = MigrationExecutor(connections["default"])
    found.recorder.ensure_schema()
    return found


def files(tmp_path: Path, settings: object, **bodies: str) -> Path:
    for name, body in bodies.items():
        (tmp_path / f"{name.replace('_', '-')}.sql").write_text(body)
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    return tmp_path


NO_TRANSACTION = "-- sqlmigrate: no-transaction\n"


# -- COPY ... TO STDOUT and every result status (issue 9, item 6) ---------------------------------


@pytest.mark.parametrize("header", ["", NO_TRANSACTION])
def test_copy_to_stdout_is_refused_before_anything_runs(
    tmp_path: Path, settings: object, header: str
) -> None:
    files(
        tmp_path,
        settings,
        **{
            "001_first": "CREATE TABLE first_file (id int);\n",
            "002_dump": header + "CREATE TABLE dumped (id int);\n"
            "COPY dumped (id) TO /* the client */ STDOUT WITH (FORMAT csv);\n",
        },
    )
    line = 3 if header else 2
    _, err = run_failing("sqlmigrate_validate")
    assert f"002-dump.sql:{line}: COPY ... TO STDOUT sends rows to the client" in err
    assert "sqlmigrate.E019" in err
    message = fails("sqlmigrate_apply", interactive=False)
    assert f"002-dump.sql:{line}: COPY ... TO STDOUT sends rows to the client" in message
    assert history() == []
    assert scalar("SELECT to_regclass('first_file') IS NULL") is True


def run_failing(command: str, *args: str) -> tuple[str, str]:
    """stdout and stderr of a command that fails (``fails`` keeps only its message)."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command(command, *args, stdout=out, stderr=err, no_color=True)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("transactional", [True, False])
def test_copy_from_stdin_met_inside_a_batch_is_ended(transactional: bool) -> None:
    # A COPY ... FROM STDIN the splitter did not see as one reaches the server without its
    # rows: the server waits for them (COPY_IN). It is ended with an error, never waited on.
    source = (
        b"CREATE TABLE copied_in (id int);\nINSERT INTO copied_in VALUES (1);\n"
        b"COPY copied_in FROM STDIN;\nINSERT INTO copied_in VALUES (2);\n"
    )
    statements = located(
        source,
        b"CREATE TABLE copied_in (id int)",
        b"INSERT INTO copied_in VALUES (1)",
        b"COPY copied_in FROM STDIN",
        b"INSERT INTO copied_in VALUES (2)",
    )
    with pytest.raises(StatementFailed) as excinfo:
        run_direct(source, statements, transactional=transactional)
    assert excinfo.value.index == 2
    assert "COPY ... FROM STDIN reached the server without its rows" in excinfo.value.error.text
    if transactional:
        assert scalar("SELECT to_regclass('copied_in') IS NULL") is True
    else:  # statements 1 and 2 committed on their own; the 4th was never sent
        assert scalar("SELECT string_agg(id::text, ',') FROM copied_in") == "1"
    assert scalar("SELECT 1") == 1  # the connection is fine


def test_copy_from_stdin_met_with_the_commit_leaves_nothing(tmp_path: Path) -> None:
    # Ended with an error, not as an empty COPY: else what follows in the query, the history
    # row and COMMIT, would run and commit the file.
    runner = executor()
    body = "CREATE TABLE copied_none (id int);\nCOPY copied_none FROM STDIN;\nSELECT 1;\n"
    migration = migration_in(tmp_path, "001-none.sql", body)
    source = migration.read()
    statements = located(
        source, b"CREATE TABLE copied_none (id int)", b"COPY copied_none FROM STDIN", b"SELECT 1"
    )
    row = runner.recorder.row(migration, statements_applied=3, statements_total=3)
    with deadline(30), pytest.raises(StatementFailed) as excinfo:
        backend().execute_recorded(source, statements, runner.recorder.insert_sql(row))
    assert excinfo.value.index == 1
    assert history() == []
    assert scalar("SELECT to_regclass('copied_none') IS NULL") is True


@pytest.mark.parametrize("transactional", [True, False])
def test_copy_to_stdout_met_at_run_time_is_read_and_fails_the_file(transactional: bool) -> None:
    # Refused by check_sql; should one reach the server all the same (COPY_OUT), its rows are
    # read and dropped and the file fails at it.
    source = (
        b"CREATE TABLE copied_out AS SELECT generate_series(1, 50000) AS id;\n"
        b"COPY copied_out TO STDOUT;\nCREATE TABLE after_copy (id int);\n"
    )
    statements = located(
        source,
        b"CREATE TABLE copied_out AS SELECT generate_series(1, 50000) AS id",
        b"COPY copied_out TO STDOUT",
        b"CREATE TABLE after_copy (id int)",
    )
    with pytest.raises(StatementFailed) as excinfo:
        run_direct(source, statements, transactional=transactional)
    assert excinfo.value.index == 1
    assert "COPY ... TO STDOUT sends rows to the client" in excinfo.value.error.text
    if transactional:
        assert scalar("SELECT to_regclass('copied_out') IS NULL") is True
    else:
        assert scalar("SELECT count(*) FROM copied_out") == 50000
    assert scalar("SELECT to_regclass('after_copy') IS NULL") is True
    assert scalar("SELECT 1") == 1


def test_copy_to_stdout_sent_with_the_commit_is_reported_as_committed(tmp_path: Path) -> None:
    # The server does not wait for the rows to be read: what follows in the same query, the
    # history row and COMMIT, has run. The file is applied and says so.
    runner = executor()
    body = "CREATE TABLE copied_commit AS SELECT 1 AS id;\nCOPY copied_commit TO STDOUT;\n"
    migration = migration_in(tmp_path, "001-commit.sql", body)
    source = migration.read()
    statements = located(
        source, b"CREATE TABLE copied_commit AS SELECT 1 AS id", b"COPY copied_commit TO STDOUT"
    )
    row = runner.recorder.row(migration, statements_applied=2, statements_total=2)
    with deadline(30), pytest.raises(RunInterrupted) as excinfo:
        backend().execute_recorded(source, statements, runner.recorder.insert_sql(row))
    assert excinfo.value.index == 1
    assert excinfo.value.lost is False
    assert history() == [("001-commit", True)]
    message = str(runner._interrupted(migration, statements, excinfo.value))
    assert "001-commit.sql:2: ERROR: COPY ... TO STDOUT sends rows" in message
    assert "in statement 2 (line 2): COPY copied_commit TO STDOUT" in message
    assert "001-commit had been committed and recorded as applied before that" in message


def test_a_connection_in_pipeline_mode_is_refused_before_anything_is_sent(
    tmp_path: Path, settings: object
) -> None:
    files(tmp_path, settings, **{"001_piped": "CREATE TABLE piped (id int);\n"})
    connection = connections["default"]
    connection.ensure_connection()
    with deadline(30), connection.connection.pipeline():
        message = fails("sqlmigrate_apply", interactive=False)
    assert "libpq pipeline mode" in message
    assert "nothing was sent" in message
    assert history() == []
    assert scalar("SELECT to_regclass('piped') IS NULL") is True


def _results_of(setup: Callable[[Any], None]) -> Exception:
    """Run the result loop on what ``setup`` sent on the connection's libpq connection."""
    runner = backend()
    connection = connections["default"]
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    setup(pgconn)
    batch = _Batch(0, 0, length=0, prefix=0, size=1, tail=())
    with deadline(30):
        try:
            for _ in range(5):  # pipeline mode: each query's results end with a None of its own
                runner._results(pgconn, batch, 0)
        except (RunInterrupted, StatementFailed) as exc:
            return exc
    raise AssertionError("no status ended the loop")


@pytest.mark.parametrize(
    ("name", "setup"),
    [
        (
            "PIPELINE_SYNC",
            lambda pgconn: (
                pgconn.enter_pipeline_mode(),
                pgconn.send_query_params(b"SELECT 1", None),
                pgconn.pipeline_sync(),
            ),
        ),
        (
            "PIPELINE_ABORTED",
            lambda pgconn: (
                pgconn.enter_pipeline_mode(),
                pgconn.send_query_params(b"SELECT 1/0", None),
                pgconn.send_query_params(b"SELECT 2", None),
                pgconn.pipeline_sync(),
            ),
        ),
        (
            "SINGLE_TUPLE",
            lambda pgconn: (pgconn.send_query(b"SELECT 1"), pgconn.set_single_row_mode()),
        ),
        (
            "TUPLES_CHUNK",
            lambda pgconn: (pgconn.send_query(b"SELECT 1"), pgconn.set_chunked_rows_mode(10)),
        ),
    ],
)
def test_a_status_no_migration_can_go_on_from_closes_the_connection(
    name: str, setup: Callable[[Any], None]
) -> None:
    # Statuses a migration never asks for (a pipeline's, single-row and chunked modes'; the
    # replication stream's COPY_BOTH, below, alike) end the file and the session with it.
    from psycopg import pq

    if name == "TUPLES_CHUNK" and pq.version() < 170000:
        pytest.skip("libpq before 17 has no chunked rows mode")
    error = _results_of(setup)
    if name == "PIPELINE_ABORTED":  # the failing query first, as itself
        assert isinstance(error, StatementFailed)
        assert "division by zero" in error.error.text
        error = _results_of(lambda pgconn: None)
    assert isinstance(error, RunInterrupted)
    assert f"with a {name} result" in str(error)
    assert error.lost is True
    assert connections["default"].connection.closed
    connections["default"].close()
    assert scalar("SELECT 1") == 1  # Django connects again


def test_copy_both_of_a_replication_connection_closes_the_connection() -> None:
    # START_REPLICATION answers COPY_BOTH, only on a replication connection, which the server
    # allows with a "replication" line in pg_hba.conf (else this test is skipped).
    connection = connections["default"].copy()
    options = {**connection.settings_dict.get("OPTIONS", {}), "replication": "database"}
    connection.settings_dict = {**connection.settings_dict, "OPTIONS": options}
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        pytest.skip(f"the server refuses replication connections: {' '.join(str(exc).split())}")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            (lsn,) = cursor.fetchone()
        source = f"START_REPLICATION {lsn}".encode()
        with deadline(30), pytest.raises(RunInterrupted) as excinfo:
            PostgreSQLBackend(connection).execute(
                source, located(source, source), transactional=False
            )
        assert "statement 1 with a COPY_BOTH result" in str(excinfo.value)
        assert excinfo.value.lost is True
        assert connection.connection.closed
    finally:
        connection.close()


# -- a big file failing in a later batch (item 8) -------------------------------------------------


def test_big_file_failing_in_its_last_batch_leaves_nothing(
    tmp_path: Path, settings: object
) -> None:
    rows = ",".join(f"({i}, 'row {i}; with a semicolon')" for i in range(2000))
    body = "CREATE TABLE big (id int, label text);\n" + f"INSERT INTO big VALUES {rows};\n" * 40
    assert len(body) > 2 * (1 << 20)  # three batches: the first creates the table
    folder = files(tmp_path, settings, **{"001_big": body + "SELECT 1/0;\n"})
    queries: list[str] = []

    def spy(execute: Any, sql: str, *args: Any) -> Any:
        queries.append(sql)
        return execute(sql, *args)

    with connections["default"].execute_wrapper(spy):
        message = fails("sqlmigrate_apply", interactive=False)
    assert "001-big.sql:42: ERROR: division by zero" in message
    assert "in statement 42 (line 42)" in message
    assert len([sql for sql in queries if "INSERT INTO big" in sql]) == 3
    assert next(sql for sql in queries if "CREATE TABLE big" in sql).startswith("BEGIN;")
    assert scalar("SELECT to_regclass('big') IS NULL") is True
    assert history() == []
    (folder / "001-big.sql").write_text(body + "SELECT 1;\n")
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-big", True)]
    assert scalar("SELECT count(*) FROM big") == 80000


# -- naming the failing statement when the splitter and the server disagree (item 9) --------------


def test_the_error_position_names_the_statement_whatever_the_count_says() -> None:
    # The list merges two statements the server runs apart: one more result than statements
    # came before the failure, and the count would blame "SELECT 3". The position is right.
    source = b"SELECT 1;\nSELECT nope FROM pg_class;\nSELECT 3;\n"
    statements = located(source, b"SELECT 1;\nSELECT nope FROM pg_class", b"SELECT 3")
    with pytest.raises(StatementFailed) as excinfo:
        run_direct(source, statements, transactional=True)
    assert excinfo.value.index == 0
    offset = excinfo.value.sent_start + (excinfo.value.error.position or 0) - 1
    assert source[offset:].startswith(b"nope")
    assert excinfo.value.error.span is None


@pytest.mark.parametrize(
    "texts",
    [
        # merged: the server ran CREATE and INSERT where the list has one statement, so after two
        # results the count would blame DELETE, but the last result (INSERT) is not an UPDATE's.
        [
            b"CREATE TABLE counted (x int);\nINSERT INTO counted VALUES (1)",
            b"UPDATE counted SET x = x / 0",
            b"DELETE FROM counted",
        ],
        # split: the list cuts a DO block in two, so the count blames the UPDATE's neighbour.
        [
            b"CREATE TABLE counted (x int)",
            b"DO $$ BEGIN PERFORM 1",
            b"PERFORM 2; END $$",
            b"INSERT INTO counted VALUES (1)",
            b"UPDATE counted SET x = x / 0",
            b"DELETE FROM counted",
        ],
    ],
    ids=["merged", "split"],
)
def test_a_count_that_does_not_fit_blames_no_single_statement(texts: list[bytes]) -> None:
    source = b";\n".join(texts) + b";\n"
    statements = located(source, *texts)
    with pytest.raises(StatementFailed) as excinfo:
        run_direct(source, statements, transactional=True)
    error = excinfo.value.error
    assert "division by zero" in error.text
    assert error.span is not None
    assert error.span[:2] == (statements[0].start, statements[-1].end)
    assert "the database counted them differently from the splitter" in error.span[2]
    assert excinfo.value.index == 0
    # The executor names the lines sent together instead of one statement.
    migration = SqlMigration("001-x", 1, "/nowhere/001-x.sql", "sha256:0")
    failed = MigrationExecutor(connections["default"])._failure(
        migration, source, statements, excinfo.value, rolled_back=True
    )
    lines = source.count(b"\n", 0, statements[-1].start) + 1
    assert f"in one of statements 1-{len(texts)} (lines 1-{lines}), sent together" in str(failed)
    assert "rolled back and left no trace" in str(failed)
    assert scalar("SELECT to_regclass('counted') IS NULL") is True


def test_a_count_that_fits_still_names_the_statement() -> None:
    source = (
        b"CREATE TABLE fits (x int);\nINSERT INTO fits VALUES (1);\nUPDATE fits SET x = x / 0;\n"
    )
    with pytest.raises(StatementFailed) as excinfo:
        run_direct(source, list(split(source, "postgresql")), transactional=True)
    assert excinfo.value.index == 2
    assert excinfo.value.error.span is None


# -- execute_wrapper() and the django.db.backends logger (item 14) --------------------------------

WRAPPED_FILES = {
    "001_small": "CREATE TABLE w_small (id int);\nINSERT INTO w_small VALUES (1);\n",
    "002_copy": "CREATE TABLE w_copy (id int);\nCOPY w_copy (id) FROM stdin;\n1\n2\n\\.\n",
    "003_autocommit": NO_TRANSACTION
    + "CREATE TABLE w_auto (id int);\nINSERT INTO w_auto VALUES (3);\n",
}


def test_every_query_goes_through_execute_wrappers(tmp_path: Path, settings: object) -> None:
    files(tmp_path, settings, **WRAPPED_FILES)
    seen: list[tuple[str, object, bool, dict[str, Any]]] = []

    def spy(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        seen.append((sql, params, many, context))
        return execute(sql, params, many, context)

    connection = connections["default"]
    with connection.execute_wrapper(spy):
        run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-small", True), ("002-copy", True), ("003-autocommit", True)]
    assert all(isinstance(sql, str) for sql, *_ in seen)
    assert all(context["connection"] is connection for *_, context in seen)
    assert all(hasattr(context["cursor"], "execute") for *_, context in seen)
    sent = [sql for sql, *_ in seen]
    # A small file is one query: BEGIN, its statements, the session restore, its history row
    # and COMMIT, all seen by the wrapper at once.
    (small,) = [sql for sql in sent if "w_small" in sql]
    assert small.startswith("BEGIN;CREATE TABLE w_small (id int);\nINSERT INTO w_small VALUES (1)")
    assert 'INSERT INTO "schema_migrations"' in small
    assert small.endswith("COMMIT")
    assert "COPY w_copy (id) FROM stdin" in sent
    assert "CREATE TABLE w_auto (id int)" in sent  # no-transaction: one statement a query
    assert "INSERT INTO w_auto VALUES (3)" in sent
    assert any(sql.startswith("RESET ALL\n;") for sql in sent)  # its session restore
    assert scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM w_copy") == "1,2"


def test_what_a_wrapper_sends_is_what_runs(tmp_path: Path, settings: object) -> None:
    files(tmp_path, settings, **{"001_tagged": "CREATE TABLE tagged (id int);\n"})

    def tag(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        # A statement after ours, as a wrapper might add: it runs in the session.
        return execute(
            sql + ";SELECT set_config('sqlm.tagged', 'yes', false)", params, many, context
        )

    with connections["default"].execute_wrapper(tag):
        run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-tagged", True)]
    assert scalar("SELECT current_setting('sqlm.tagged', true)") == "yes"


@pytest.mark.parametrize(
    ("make", "where"),
    [
        (
            lambda sql: sql + " /*controller='x',framework='django'*/",
            'x.sql:2:20: ERROR: column "nope"',
        ),
        (lambda sql: "/* traced: ünïcode */ " + sql, 'x.sql:2:20: ERROR: column "nope"'),
        # A statement in front: the count of results says nothing about the file's statements.
        (
            lambda sql: "SELECT 1; " + sql,
            'x.sql:2: ERROR: column "nope" does not exist (SQLSTATE 42703)\n  in one of '
            "statements 1-2 (lines 2-3), sent together: an execute_wrapper changed the SQL",
        ),
    ],
    ids=["appended-comment", "prepended-comment", "prepended-statement"],
)
def test_errors_point_into_the_file_whatever_a_wrapper_added(
    tmp_path: Path, settings: object, make: Callable[[str], str], where: str
) -> None:
    files(
        tmp_path,
        settings,
        **{"001_x": "-- ünïcödé\nSELECT 'ééé' AS x, nope FROM pg_class;\nSELECT 2;\n"},
    )

    def change(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if "nope" in sql:  # the file's query only: Django's own are left alone
            sql = make(sql)
        return execute(sql, params, many, context)

    with connections["default"].execute_wrapper(change):
        message = fails("sqlmigrate_apply", interactive=False)
    assert where in message
    assert history() == []


def test_a_wrapper_that_swallows_the_failure_does_not_hide_it(
    tmp_path: Path, settings: object
) -> None:
    files(tmp_path, settings, **{"001_x": "CREATE TABLE swallowed (id int);\nSELECT 1/0;\n"})

    def swallow(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        try:
            return execute(sql, params, many, context)
        except Exception:
            return None

    with connections["default"].execute_wrapper(swallow):
        message = fails("sqlmigrate_apply", interactive=False)
    assert "001-x.sql:2: ERROR: division by zero" in message
    assert history() == []
    assert scalar("SELECT to_regclass('swallowed') IS NULL") is True


def test_queries_are_logged_as_django_logs_its_own(
    tmp_path: Path, settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    files(tmp_path, settings, **WRAPPED_FILES)
    connection = connections["default"]
    connection.force_debug_cursor = True
    try:
        with caplog.at_level(logging.DEBUG, logger="django.db.backends"):
            run("sqlmigrate_apply", interactive=False)
        logged = [entry["sql"] for entry in connection.queries_log]
    finally:
        connection.force_debug_cursor = False
    records = [record for record in caplog.records if record.name == "django.db.backends"]
    for statement in (
        "CREATE TABLE w_small (id int)",
        "COPY w_copy (id) FROM stdin",
        "CREATE TABLE w_auto (id int)",
        "INSERT INTO w_auto VALUES (3)",
    ):
        (record,) = [record for record in records if statement in record.sql]  # type: ignore[attr-defined]
        assert record.params is None  # type: ignore[attr-defined]
        assert record.alias == "default"  # type: ignore[attr-defined]
        assert record.duration >= 0  # type: ignore[attr-defined]
        assert record.getMessage() == (
            f"({record.duration:.3f}) {record.sql}; args=None; alias=default"  # type: ignore[attr-defined]
        )
        assert [sql for sql in logged if statement in sql] == [record.sql]  # type: ignore[attr-defined]


# -- NOTICE and WARNING messages (item 15) ---------------------------------------------------------

NOTICES = (
    "CREATE TABLE noticed (id int);\n"
    "DO $$ BEGIN RAISE NOTICE 'halfway: %', 21 * 2; END $$;\n"
    "DROP TABLE IF EXISTS missing_table;\n"
    "INSERT INTO noticed VALUES (1);\n"
    "DO $$\nBEGIN\n  RAISE WARNING 'careful' USING DETAIL = 'a detail';\nEND\n$$;\n"
)


@pytest.mark.parametrize("header", ["", NO_TRANSACTION])
def test_notices_are_shown_as_psql_shows_them(
    tmp_path: Path, settings: object, header: str
) -> None:
    folder = files(tmp_path, settings, **{"001_notices": header + NOTICES})
    path = display_path(folder / "001-notices.sql")
    shift = 1 if header else 0
    out, _ = run("sqlmigrate_apply", interactive=False)
    lines = out.splitlines()
    assert lines[:6] == [
        "  Applying 001-notices...",
        f"{path}:{2 + shift}: NOTICE:  halfway: 42",
        f'{path}:{3 + shift}: NOTICE:  table "missing_table" does not exist, skipping',
        f"{path}:{5 + shift}: WARNING:  careful",
        "DETAIL:  a detail",
        lines[5],
    ]
    assert re.fullmatch(r"  Applying 001-notices\.\.\. OK \(\d+ ms\)", lines[5])
    assert history() == [("001-notices", True)]
    out, _ = run("sqlmigrate_apply", interactive=False, verbosity=0)
    assert out == ""


@pytest.mark.parametrize("header", ["", NO_TRANSACTION])
def test_notices_are_in_the_api_result(tmp_path: Path, settings: object, header: str) -> None:
    folder = files(tmp_path, settings, **{"001_notices": header + NOTICES})
    path = display_path(folder / "001-notices.sql")
    shift = 1 if header else 0
    result = django_sqlmigrate.apply()
    assert result.notices == (
        Notice("001-notices", "NOTICE", "halfway: 42", path, 2 + shift),
        Notice(
            "001-notices",
            "NOTICE",
            'table "missing_table" does not exist, skipping',
            path,
            3 + shift,
        ),
        Notice("001-notices", "WARNING", "careful\nDETAIL:  a detail", path, 5 + shift),
    )
    assert str(result.notices[0]) == f"{path}:{2 + shift}: NOTICE:  halfway: 42"


def test_notices_of_a_failing_file_come_before_its_error(tmp_path: Path, settings: object) -> None:
    files(
        tmp_path,
        settings,
        **{
            "001_fails": "DROP TABLE IF EXISTS gone;\nDO $$ BEGIN RAISE NOTICE 'about to fail'; END $$;\n"
            "SELECT 1/0;\n"
        },
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("sqlmigrate_apply", interactive=False, stdout=out, stderr=err, no_color=True)
    lines = out.getvalue().splitlines()
    assert [line.split(": ", 1)[1] for line in lines[1:3]] == [
        'NOTICE:  table "gone" does not exist, skipping',
        "NOTICE:  about to fail",
    ]
    assert ":1: NOTICE:  " in lines[1]
    assert ":2: NOTICE:  about to fail" in lines[2]
    assert lines[3] == "  Applying 001-fails... FAILED"
    assert "001-fails.sql:3: ERROR: division by zero" in str(excinfo.value)


def test_notices_arrive_while_the_file_runs(tmp_path: Path, settings: object) -> None:
    # A long file's progress messages: each is reported when the server sends it.
    files(
        tmp_path,
        settings,
        **{
            "001_slow": "DO $$ BEGIN RAISE NOTICE 'started'; PERFORM pg_sleep(1); "
            "RAISE NOTICE 'done'; END $$;\nSELECT pg_sleep(0.5);\n"
        },
    )
    arrived: list[tuple[str, float]] = []
    started = time.monotonic()
    django_sqlmigrate.apply(
        notice_callback=lambda notice: arrived.append((notice.message, time.monotonic()))
    )
    finished = time.monotonic()
    assert [message for message, _ in arrived] == ["started", "done"]
    assert arrived[0][1] - started < 0.8  # before the pg_sleep(1), not after the file
    assert finished - arrived[1][1] > 0.4  # before the pg_sleep(0.5)


def test_the_notice_handler_is_the_connections_only_while_a_file_runs(
    tmp_path: Path, settings: object
) -> None:
    # Handlers of the application's own are left alone, and ours is gone afterwards.
    files(tmp_path, settings, **{"001_x": "DO $$ BEGIN RAISE NOTICE 'in the file'; END $$;\n"})
    connection = connections["default"]
    connection.ensure_connection()
    own: list[str] = []

    def handler(diag: Any) -> None:
        own.append(diag.message_primary)

    connection.connection.add_notice_handler(handler)
    result = django_sqlmigrate.apply()
    with connection.cursor() as cursor:
        cursor.execute("DO $$ BEGIN RAISE NOTICE 'after'; END $$")
    assert [notice.message for notice in result.notices] == ["in the file"]
    assert own == ["in the file", "after"]
    assert connection.connection._notice_handlers == [handler]  # psycopg's list: ours is gone


# -- a connection terminated mid-file (item 20) ----------------------------------------------------


@pytest.mark.parametrize("header", ["", NO_TRANSACTION])
def test_connection_terminated_from_another_session(
    tmp_path: Path, settings: object, header: str
) -> None:
    files(
        tmp_path,
        settings,
        **{"001_killed": header + "CREATE TABLE before_kill (id int);\nSELECT pg_sleep(60);\n"},
    )
    connection = connections["default"]
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    dsn = connection.connection.info.dsn
    killed = threading.Event()

    def kill() -> None:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as other:
            for _ in range(600):
                row = other.execute(
                    "SELECT wait_event FROM pg_stat_activity WHERE pid = %s", [pid]
                ).fetchone()
                if row and row[0] == "PgSleep":  # in the file's second statement
                    other.execute("SELECT pg_terminate_backend(%s)", [pid])
                    killed.set()
                    return
                time.sleep(0.05)

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        with deadline(30):
            message = fails("sqlmigrate_apply", interactive=False)
    finally:
        killer.join()
    assert killed.is_set()
    line = 3 if header else 2
    assert message.startswith(
        f"{display_path(tmp_path / '001-killed.sql')}:{line}: the connection to the database was "
        "lost: "
    )
    assert "terminating connection due to administrator command" in message
    assert f"in statement 2 (line {line}): SELECT pg_sleep(60)" in message
    # The dead connection was replaced (the history was read back on the new one).
    assert connection.connection.info.backend_pid != pid
    if header:  # the CREATE TABLE committed on its own; the run is kept as interrupted
        assert (
            "Statements 1-1 of 2 had run and stay in the database; whether statement 2 took "
            "effect is not known. The history keeps 001-killed as interrupted"
        ) in message
        assert history() == [("001-killed", False)]
        assert scalar("SELECT to_regclass('before_kill') IS NOT NULL") is True
        assert "it was interrupted before it finished" in fails(
            "sqlmigrate_apply", interactive=False
        )
    else:
        assert (
            "The database rolled 001-killed back: nothing of it stays and nothing is recorded."
        ) in message
        assert history() == []
        assert scalar("SELECT to_regclass('before_kill') IS NULL") is True


def test_connection_lost_after_the_commit_says_it_is_applied(tmp_path: Path) -> None:
    # The server may have committed the file before the connection went: the history, read
    # on a new connection, tells.
    runner = executor()
    migration = migration_in(tmp_path, "001-done.sql", "CREATE TABLE done_before (id int);\n")
    source = migration.read()
    statements = list(split(source, "postgresql"))
    row = runner.recorder.row(migration, statements_applied=1, statements_total=1)
    assert backend().execute_recorded(source, statements, runner.recorder.insert_sql(row))
    lost = RunInterrupted(
        "the connection to the database was lost: gone", 1, transactional=True, lost=True
    )
    message = str(runner._interrupted(migration, statements, lost))
    assert message.startswith(f"{display_path(migration.path)}: the connection to the database")
    assert "after its last statement" in message
    assert "001-done had been committed and recorded as applied before that" in message


# -- COPY data errors at their data line (item 21) -------------------------------------------------


@pytest.mark.parametrize("header", ["", NO_TRANSACTION])
def test_copy_data_error_names_the_data_line(tmp_path: Path, settings: object, header: str) -> None:
    files(
        tmp_path,
        settings,
        **{
            "001_rows": header + "CREATE TABLE copied_rows (id int, label text);\n"
            "COPY copied_rows (id, label)\n  FROM stdin;\n1\tone\n2\ttwo\nthree\t3\n\\.\n"
        },
    )
    message = fails("sqlmigrate_apply", interactive=False)
    line = 7 if header else 6
    assert f'001-rows.sql:{line}: ERROR: invalid input syntax for type integer: "three"' in message
    assert 'CONTEXT: COPY copied_rows, line 3, column id: "three"' in message
    if header:
        assert history() == [("001-rows", False)]
    else:
        assert history() == []
        assert scalar("SELECT to_regclass('copied_rows') IS NULL") is True


# -- what PostgreSQL refuses inside a transaction (item 24) ----------------------------------------


@pytest.fixture
def reindexable() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "CREATE TABLE r24 (id int PRIMARY KEY, v int); CREATE INDEX r24_v ON r24 (v); "
            "CLUSTER r24 USING r24_v; "
            "CREATE TABLE p24 (id int) PARTITION BY RANGE (id); "
            "CREATE TABLE p24_1 PARTITION OF p24 FOR VALUES FROM (0) TO (10)"
        )


IN_TRANSACTION = [
    # (statement, refused inside a transaction block)
    ("VACUUM r24", True),
    ("VACUUM (ANALYZE) r24", True),
    ("VACUUM (ANALYZE false) r24", True),
    ("ANALYZE (VERBOSE) r24", False),
    ("CLUSTER", True),
    ("CLUSTER VERBOSE", True),
    ("CLUSTER (VERBOSE) r24", False),
    ("CLUSTER VERBOSE r24", False),
    ("CLUSTER r24_v ON r24", False),
    ("REINDEX TABLE r24", False),
    ("REINDEX (VERBOSE) TABLE r24", False),
    ("REINDEX TABLE CONCURRENTLY r24", True),
    ("REINDEX (VERBOSE) TABLE CONCURRENTLY r24", True),
    ("REINDEX (CONCURRENTLY) INDEX r24_v", True),
    ("REINDEX (VERBOSE, CONCURRENTLY true) TABLE r24", True),
    ("REINDEX (CONCURRENTLY 1) TABLE r24", True),
    ("REINDEX (CONCURRENTLY 'on') TABLE r24", True),
    ("REINDEX (CONCURRENTLY false) TABLE r24", False),
    ("REINDEX (CONCURRENTLY off, VERBOSE) TABLE r24", False),
    ("REINDEX (CONCURRENTLY 0) INDEX r24_v", False),
    ("REINDEX (CONCURRENTLY 'false') TABLE r24", False),
    ("REINDEX /* all of them */ SCHEMA public", True),
    ("REINDEX DATABASE {database}", True),
    ("REINDEX (VERBOSE) SYSTEM {database}", True),
    ("CREATE INDEX CONCURRENTLY r24_c ON r24 (v)", True),
    ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS r24_c ON r24 (v)", True),
    ("DROP INDEX CONCURRENTLY IF EXISTS r24_c", True),
    ("DROP INDEX IF EXISTS r24_c", False),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY nowhere", False),
    ("CREATE DATABASE {database}_never", True),
    ("DROP DATABASE IF EXISTS {database}_never", True),
    ('ALTER DATABASE "{database}" SET TABLESPACE pg_default', True),
    ("ALTER DATABASE {database} SET work_mem = '4MB'", False),
    ("CREATE TABLESPACE never LOCATION '/nonexistent'", True),
    ("DROP TABLESPACE IF EXISTS never", True),
    ("ALTER SYSTEM SET work_mem = '4MB'", True),
    ("DISCARD ALL", True),
    ("DISCARD TEMP", False),
    ("COMMIT PREPARED 'nothing'", True),
    ("ROLLBACK PREPARED 'nothing'", True),
    ("ALTER TABLE p24 DETACH PARTITION p24_1 CONCURRENTLY", True),
    ("ALTER TABLE p24 DETACH PARTITION p24_1", False),
    ("CREATE SUBSCRIPTION s24 CONNECTION 'host=127.0.0.1 dbname=x' PUBLICATION p", True),
    (
        "CREATE SUBSCRIPTION s24 CONNECTION 'host=127.0.0.1 dbname=x' PUBLICATION p "
        "WITH (connect = false)",
        False,
    ),
]


@pytest.mark.usefixtures("reindexable")
@pytest.mark.parametrize(("statement", "refused"), IN_TRANSACTION)
def test_refused_in_a_transaction_as_the_server_refuses(statement: str, refused: bool) -> None:
    # The classification (what validate reports, before anything runs) against PostgreSQL
    # itself: the same statement inside BEGIN ... ROLLBACK fails with 25001 exactly when it is
    # refused.
    from psycopg import errors

    from django_sqlmigrate.splitter import leading_words

    sql = statement.format(database=connections["default"].settings_dict["NAME"]).encode()
    reason = backend().refused_in_transaction(leading_words(sql, 6), sql)
    assert (reason is not None) == refused, reason
    connection = connections["default"]
    connection.ensure_connection()
    raw = connection.connection
    try:
        with raw.transaction():
            raw.execute("SELECT 1")
            raw.execute(sql)
            raise LookupError("rolled back")
    except LookupError:
        assert not refused
    except errors.ActiveSqlTransaction:  # 25001: cannot run inside a transaction block
        assert refused
    except errors.Error:  # some other reason (no such view...): only allowed ones get there
        assert not refused


@pytest.mark.parametrize(
    ("statement", "refused"),
    [
        ("ALTER SUBSCRIPTION s REFRESH PUBLICATION", True),
        ("ALTER SUBSCRIPTION s SET PUBLICATION p", True),
        ("ALTER SUBSCRIPTION s ADD PUBLICATION p WITH (copy_data = false)", True),
        ("ALTER SUBSCRIPTION s DROP PUBLICATION p WITH (refresh = false)", False),
        ("ALTER SUBSCRIPTION s DISABLE", False),
        ("DROP SUBSCRIPTION IF EXISTS s", True),
    ],
)
def test_subscriptions_refused_in_a_transaction(statement: str, refused: bool) -> None:
    # These need a publisher to reach the server's check; PostgreSQL 15's AlterSubscription
    # refuses a refresh (the default) inside a transaction, and DROP SUBSCRIPTION with a slot.
    from django_sqlmigrate.splitter import leading_words

    sql = statement.encode()
    assert (backend().refused_in_transaction(leading_words(sql, 6), sql) is not None) == refused


def test_refused_option_lists_are_reported_by_validate(tmp_path: Path, settings: object) -> None:
    files(tmp_path, settings, **{"001_x": "SELECT 1;\nREINDEX (VERBOSE) TABLE CONCURRENTLY t;\n"})
    _, err = run_failing("sqlmigrate_validate")
    assert (
        "001-x.sql:2: REINDEX TABLE ... CONCURRENTLY cannot run inside a transaction block" in err
    )
    assert "sqlmigrate.E008" in err


# -- the session restore after a file (mutation: SET SESSION AUTHORIZATION DEFAULT) --------------


@pytest.fixture
def other_role() -> Iterator[str]:
    # Roles belong to the cluster: named after this run's database, so runs never collide.
    name = f"{connections['default'].settings_dict['NAME']}_author"
    with connections["default"].cursor() as cursor:
        cursor.execute(f'DROP ROLE IF EXISTS "{name}"')
        cursor.execute(f'CREATE ROLE "{name}" NOLOGIN')
        cursor.execute(f'GRANT CREATE ON SCHEMA public TO "{name}"')
    yield name
    with connections["default"].cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{name}" CASCADE')
        cursor.execute(f'DROP ROLE "{name}"')


@pytest.mark.parametrize("header", ["", NO_TRANSACTION])
def test_session_authorization_does_not_reach_the_next_file(
    tmp_path: Path, settings: object, other_role: str, header: str
) -> None:
    files(
        tmp_path,
        settings,
        **{
            "001_become": header + f'SET SESSION AUTHORIZATION "{other_role}";\n'
            "CREATE TABLE made_by_author (id int);\n",
            "002_next": "CREATE TABLE made_next (id int);\n",
        },
    )
    run("sqlmigrate_apply", interactive=False)
    assert history() == [("001-become", True), ("002-next", True)]
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT tablename, tableowner FROM pg_tables WHERE tablename LIKE 'made_%%'")
        owners = dict(cursor.fetchall())
    me = scalar("SELECT session_user")
    assert owners == {"made_by_author": other_role, "made_next": me}
    assert scalar("SELECT current_user") == me
