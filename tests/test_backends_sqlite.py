"""SQLite: triggers with BEGIN ... END, and what cannot run in a transaction."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from django_sqlmigrate.signals import pre_apply

from .conftest import REPO_ROOT
from .helpers import (
    fails,
    hand_over,
    history,
    other_user,
    other_user_name,
    run,
    scalar,
    tables,
    vendor,
)

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


# -- SQLite's own lock: another process's write transaction ------------------------------------
HOLD = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")  # the write lock, held until stdin closes
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def write_transaction(database: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding a write transaction on ``database`` (the sqlite3 shell's BEGIN)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, database],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdin is not None
    try:
        assert holder.stdout.readline() == "held\n"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.fixture
def wal() -> Iterator[None]:
    """The test database in WAL mode, then back to a rollback journal."""
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode = WAL")
    yield
    connection.close()  # WAL is left once no other connection has the file open
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode = DELETE")


@pytest.mark.parametrize(
    "state",
    [
        "fresh",  # no history table: creating it waits
        "applied",  # the next file's transaction waits
        "wal",  # the same in WAL mode: the -shm file's write lock
    ],
)
def test_a_write_transaction_of_another_process_fails_within_the_lock_timeout(
    state: str,
    tmp_path: Path,
    settings: Any,
    subprocess_env: Callable[[], dict[str, str]],
    request: pytest.FixtureRequest,
) -> None:
    if state == "wal":
        request.getfixturevalue("wal")
    settings.SQLMIGRATE_DIRS = [tmp_path]
    if state != "fresh":
        (tmp_path / "001-first.sql").write_text("CREATE TABLE first_table (id INTEGER);\n")
        run("sqlmigrate_apply", interactive=False)
    (tmp_path / "002-second.sql").write_text(
        "SELECT 1;\nCREATE TABLE second_table (id INTEGER);\nINSERT INTO second_table VALUES (1);\n"
    )
    before = history()
    database = str(connections["default"].settings_dict["NAME"])
    connections["default"].close()
    with write_transaction(database) as holder:
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "django",
                "sqlmigrate_apply",
                "--noinput",
                "--lock-timeout",
                "1",
            ],
            cwd=REPO_ROOT,
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    # It waited the lock timeout (SQLite's busy timeout was 5 s), no more and no less.
    assert 1 <= elapsed < 4, elapsed
    assert "database is locked: pid " in result.stderr
    assert f"pid {holder.pid} (" in result.stderr
    assert (
        f"holds a write transaction on {database}, and it did not end within 1 s" in result.stderr
    )
    assert history() == before
    assert "second_table" not in tables()
    # Once that transaction has ended, the run goes through.
    run("sqlmigrate_apply", interactive=False)
    assert history()[-1] == ("002-second", True)
    assert scalar("SELECT COUNT(*) FROM second_table") == 1


def test_sqlite_waits_the_lock_timeout_during_a_run_and_its_own_after(
    tmp_path: Path, settings: Any
) -> None:
    """A file's own busy_timeout is put back to the lock timeout for the next one, and the
    connection's settings (Django's 5 s timeout, deferred transactions) come back after."""
    connection = connections["default"]
    django_timeout = row("SELECT * FROM pragma_busy_timeout")
    (tmp_path / "001-short-timeout.sql").write_text("PRAGMA busy_timeout = 10;\n")
    (tmp_path / "002-next.sql").write_text("CREATE TABLE after_short (id INTEGER);\n")
    settings.SQLMIGRATE_DIRS = [tmp_path]
    seen: dict[str, tuple[Any, Any]] = {}

    def note(sender: object, version: str, **kwargs: object) -> None:
        seen[version] = (row("SELECT * FROM pragma_busy_timeout"), connection.transaction_mode)  # type: ignore[attr-defined]

    pre_apply.connect(note)
    try:
        run("sqlmigrate_apply", interactive=False, lock_timeout=2.5)
    finally:
        pre_apply.disconnect(note)
    assert seen == {
        "001-short-timeout": ((2500,), "IMMEDIATE"),
        "002-next": ((2500,), "IMMEDIATE"),
    }
    assert row("SELECT * FROM pragma_busy_timeout") == django_timeout == (5000,)
    assert connection.transaction_mode is None  # type: ignore[attr-defined]
    assert history() == [("001-short-timeout", True), ("002-next", True)]


# -- the migration lock file: missing folders, other users --------------------------------------
def manage_as(
    user: list[str], env: dict[str, str], database: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """A ``manage.py`` process, as ``user`` (``other_user()`` or []), on ``database``."""
    names = json.loads(env["SQLMIGRATE_TEST_DATABASE_NAMES"])
    env = {
        **env,
        "SQLMIGRATE_TEST_DATABASE_NAMES": json.dumps({**names, "default": str(database)}),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [*user, sys.executable, "-m", "django", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def history_of(database: Path) -> list[tuple[str, int]]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(
            "SELECT version, success FROM schema_migrations ORDER BY id"
        ).fetchall()


def sql_folder(shared: Path, settings: Any, *names: str) -> Path:
    folder = shared / "sql"
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / f"{name}.sql").write_text(f"CREATE TABLE t_{name[:3]} (id INTEGER);\n")
    settings.SQLMIGRATE_DIRS = [str(folder)]
    return folder


def test_a_database_in_a_missing_folder(
    shared_tmp: Path, settings: Any, subprocess_env: Callable[[], dict[str, str]]
) -> None:
    sql_folder(shared_tmp, settings, "001-first")
    database = shared_tmp / "missing" / "db.sqlite3"
    env = subprocess_env()
    repair = manage_as([], env, database, "sqlmigrate_repair")
    assert repair.returncode == 1
    assert repair.stderr == (
        f"CommandError: The folder {database.parent} of SQLite database 'default' does not "
        f"exist, so neither does the database {database}. Create the folder (SQLite creates "
        "the database file in it), or fix NAME in DATABASES['default'].\n"
    )
    apply = manage_as([], env, database, "sqlmigrate_apply", "--noinput")
    assert apply.returncode == 1
    assert "Traceback" not in apply.stderr
    assert (
        f"failed: unable to open database file: the folder {database.parent} does not exist. "
        "Create it, or fix NAME in DATABASES['default']." in apply.stderr
    )
    assert not database.parent.exists()


def test_a_lock_file_another_user_made_is_locked_read_only(
    shared_tmp: Path, settings: Any, subprocess_env: Callable[[], dict[str, str]]
) -> None:
    """The first deploy ran as root and made the lock file; the app's user runs the next."""
    user = other_user()
    folder = sql_folder(shared_tmp, settings, "001-first")
    database = shared_tmp / "db" / "db.sqlite3"
    database.parent.mkdir()
    env = subprocess_env()
    first = manage_as([], env, database, "sqlmigrate_apply", "--noinput")
    assert first.returncode == 0, first.stderr
    lock_file = Path(f"{database}.sqlmigrate.lock")
    lock_file.chmod(0o444)  # as root, nobody may not write it anyway: it is root's
    hand_over(database.parent, database)
    (folder / "002-second.sql").write_text("CREATE TABLE t_002 (id INTEGER);\n")
    env = subprocess_env()

    # The lock is taken on the read-only file: another run holding it keeps this one out.
    lock_file.chmod(0o644)
    lock_file.write_text("pid 4242 on elsewhere since yesterday\n")  # stale: 4242 is gone
    lock_file.chmod(0o444)
    with open(lock_file) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        blocked = manage_as(
            user, env, database, "sqlmigrate_apply", "--noinput", "--lock-timeout", "0.5"
        )
    assert blocked.returncode == 1, blocked.stderr
    assert "Traceback" not in blocked.stderr
    assert f"{lock_file} is locked by pid {os.getpid()} (" in blocked.stderr  # not 4242
    assert history_of(database) == [("001-first", 1)]

    applied = manage_as(user, env, database, "sqlmigrate_apply", "--noinput")
    assert applied.returncode == 0, applied.stderr
    assert "Applied 1 SQL migration" in applied.stdout
    assert history_of(database) == [("001-first", 1), ("002-second", 1)]
    assert lock_file.read_text() == "pid 4242 on elsewhere since yesterday\n"  # untouched


def test_a_folder_where_the_lock_file_cannot_be_made(
    shared_tmp: Path, settings: Any, subprocess_env: Callable[[], dict[str, str]]
) -> None:
    user = other_user()
    folder = sql_folder(shared_tmp, settings, "001-first")
    database = shared_tmp / "db" / "db.sqlite3"
    database.parent.mkdir()
    env = subprocess_env()
    assert manage_as([], env, database, "sqlmigrate_apply", "--noinput").returncode == 0
    lock_file = Path(f"{database}.sqlmigrate.lock")
    lock_file.unlink()
    hand_over(database)
    database.parent.chmod(0o555)  # as root: the folder stays root's, nobody may not write it
    (folder / "002-second.sql").write_text("CREATE TABLE t_002 (id INTEGER);\n")
    result = manage_as(user, subprocess_env(), database, "sqlmigrate_apply", "--noinput")
    assert result.returncode == 1
    name = other_user_name()
    assert result.stderr == (
        f"CommandError: Cannot create the migration lock file {lock_file}: user {name} may not "
        f"create files in {database.parent}, and SQLite needs to as well, for the database's "
        f"journal. Run the command as the user who owns that folder, or give {name} write "
        "access to it (chown, chmod).\n"
    )
    assert history_of(database) == [("001-first", 1)]
    assert not lock_file.exists()
