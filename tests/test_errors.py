"""Bad settings and unreachable databases: one paragraph, exit 1, no traceback, no password."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import DatabaseError, connections

import django_sqlmigrate
from django_sqlmigrate.exceptions import MigrationFailed
from django_sqlmigrate.management.base import SqlMigrateCommand
from django_sqlmigrate.models import SchemaMigration
from django_sqlmigrate.redact import MASK

from .conftest import REPO_ROOT, SCENARIOS
from .helpers import fails, history, run, scalar, vendor

PASSWORD = "pw-that-must-never-show"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": str(REPO_ROOT),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SERVERS = pytest.mark.parametrize(
    ("backend", "module"),
    [("postgresql", "psycopg"), ("mysql", "MySQLdb")],
)
PREFIX = {"postgresql": "SQLMIGRATE_TEST_PG_", "mysql": "SQLMIGRATE_TEST_MYSQL_"}


@SERVERS
@pytest.mark.parametrize("command", ["sqlmigrate_apply", "sqlmigrate_status"])
def test_unreachable_database(backend: str, module: str, command: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    result = manage(
        command,
        "--noinput" if command == "sqlmigrate_apply" else "--verbosity=1",
        SQLMIGRATE_TEST_BACKEND=backend,
        SQLMIGRATE_TEST_SETTINGS='{"SQLMIGRATE_DIRS": ["tests/sql/basic"]}',
        **{f"{PREFIX[backend]}PORT": "1", f"{PREFIX[backend]}PASSWORD": PASSWORD},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("CommandError: Database 'default' (")
    assert "127.0.0.1:1" in result.stderr


@SERVERS
def test_a_password_the_server_echoes_is_never_printed(backend: str, module: str) -> None:
    """The server names the user it refused; here the user is the password (variables
    swapped in a deploy's environment), with a run of spaces that collapsing would hide."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    secret = "pw  that-must  never-show"
    result = manage(
        "sqlmigrate_status",
        SQLMIGRATE_TEST_BACKEND=backend,
        SQLMIGRATE_TEST_SETTINGS='{"SQLMIGRATE_DIRS": ["tests/sql/basic"]}',
        **{f"{PREFIX[backend]}USER": secret, f"{PREFIX[backend]}PASSWORD": secret},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("CommandError: Database 'default' (")
    output = result.stdout + result.stderr
    assert secret not in output
    assert " ".join(secret.split()) not in output
    # Where the server named the user, the message says ********.
    refused = {
        "postgresql": 'role "********" does not exist',
        "mysql": "Access denied for user '********'@",
    }[backend]
    assert refused in result.stderr


def test_bad_setting_names_the_setting() -> None:
    result = manage(
        "sqlmigrate_status",
        SQLMIGRATE_TEST_SETTINGS='{"SQLMIGRATE_DIRS": "tests/sql/basic"}',
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "SQLMIGRATE_DIRS must be a list of folders" in result.stderr


def test_bad_lock_timeout_setting() -> None:
    result = manage(
        "sqlmigrate_apply",
        "--noinput",
        SQLMIGRATE_TEST_SETTINGS='{"SQLMIGRATE_DIRS": ["tests/sql/basic"], '
        '"SQLMIGRATE_LOCK_TIMEOUT": "soon"}',
    )
    assert result.returncode == 1
    assert "SQLMIGRATE_LOCK_TIMEOUT must be a number of seconds" in result.stderr


# -- passwords in messages from the database -----------------------------------------------------
# A run of spaces (collapsing whitespace would hide it from a plain replace) and a quote (an
# SQL literal doubles it).
SECRET = "Tr0ub4dor  &3 it's"
SECRET_IN_SQL = SECRET.replace("'", "''")


def assert_no_secret(text: str) -> None:
    for form in (SECRET, " ".join(SECRET.split()), SECRET_IN_SQL, "Tr0ub4dor"):
        assert form not in text, form


@pytest.fixture
def direct_with_password() -> Iterator[str]:
    """A direct alias to the default database with a password of its own (beside a pooler).

    MariaDB checks it: the alias logs in as a user made for the test. The test PostgreSQL
    trusts local connections and SQLite has no passwords: the setting is there all the same.
    """
    settings_dict = {**connections["default"].settings_dict, "PASSWORD": SECRET}
    user = f"{settings_dict['NAME']}_pw"[:80]
    if vendor() == "mysql":
        with connections["default"].cursor() as cursor:
            for host in ("%", "localhost", "127.0.0.1"):
                cursor.execute(
                    "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", [user, host, SECRET]
                )
                cursor.execute(
                    f"GRANT ALL PRIVILEGES ON `{settings_dict['NAME']}`.* TO %s@%s", [user, host]
                )
        settings_dict["USER"] = user
    connections.settings["direct"] = settings_dict
    connections["direct"].connect()  # Django's test case only lets open connections through
    yield "direct"
    connections["direct"].close()
    del connections["direct"]
    del connections.settings["direct"]
    if vendor() == "mysql":
        with connections["default"].cursor() as cursor:
            for host in ("%", "localhost", "127.0.0.1"):
                cursor.execute("DROP USER IF EXISTS %s@%s", [user, host])


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.usefixtures("clean_database")
def test_a_failed_file_never_shows_the_direct_alias_password(
    tmp_path: Path, settings: Any, direct_with_password: str
) -> None:
    """SQLMIGRATE_MIGRATION_DATABASES: the failure is on the direct alias, whose password is
    not the --database alias's. The file's SQL holds the password, and PostgreSQL and
    MariaDB echo the value they refused."""
    settings.SQLMIGRATE_MIGRATION_DATABASES = {"default": direct_with_password}
    strict = " STRICT" if vendor() == "sqlite" else ""
    (tmp_path / "001-store-pin.sql").write_text(
        "-- sqlmigrate: no-transaction\n"
        f"CREATE TABLE IF NOT EXISTS app_pins (n INTEGER){strict};\n"
        f"INSERT INTO app_pins (n) VALUES ('{SECRET_IN_SQL}');\n"
    )
    settings.SQLMIGRATE_DIRS = [tmp_path]
    with pytest.raises(MigrationFailed) as raised:  # the API's callers get it scrubbed too
        django_sqlmigrate.apply()
    assert_no_secret(str(raised.value))
    assert f"VALUES ('{MASK}')" in str(raised.value)
    run("sqlmigrate_repair")  # clear the failed row: the CREATE TABLE ran, the INSERT did not
    message = fails("sqlmigrate_apply", interactive=False)
    assert_no_secret(message)
    assert f"in statement 2 (line 3): INSERT INTO app_pins (n) VALUES ('{MASK}')" in message
    echoed = {
        "postgresql": f'invalid input syntax for type integer: "{MASK}"',
        "mysql": f"Incorrect integer value: '{MASK}'",
        "sqlite": "cannot store TEXT value in INTEGER column app_pins.n",
    }[vendor()]
    assert echoed in message
    # The history keeps the error, scrubbed; status, its JSON and the checks show it.
    assert history() == [("001-store-pin", False)]
    stored = scalar("SELECT error FROM schema_migrations")
    assert echoed in stored
    assert_no_secret(stored)
    _, err = run("sqlmigrate_status")
    assert echoed in err
    assert_no_secret(err)
    out, _ = run("sqlmigrate_status", "--json")
    assert_no_secret(json.loads(out)["problems"][0]["message"])
    # A row written before passwords were scrubbed is scrubbed when it is shown.
    SchemaMigration.objects.update(error=f"001-store-pin.sql:3: bad value '{SECRET}'")
    _, err = run("sqlmigrate_status")
    assert f"bad value '{MASK}'" in err
    out, _ = run("sqlmigrate_status", "--json")
    assert f"bad value '{MASK}'" in json.loads(out)["problems"][0]["message"]
    message = fails("sqlmigrate_apply", interactive=False)
    assert f"bad value '{MASK}'" in message
    with pytest.raises(SystemCheckError) as checked:
        call_command("check", databases=["default"])
    assert f"bad value '{MASK}'" in str(checked.value)
    (problem,) = [p for p in django_sqlmigrate.status().problems if p.code == "E011"]
    for text in (err, out, message, str(checked.value), problem.message):
        assert_no_secret(text)


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_database_error_never_shows_any_alias_password(direct_with_password: str) -> None:
    """The error happened on the direct alias; the command reports it for --database."""
    connection = connections[direct_with_password]
    with pytest.raises(DatabaseError) as raised, connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(SECRET)}")  # echoed back
    assert SECRET in str(raised.value)
    message = SqlMigrateCommand.database_error("default", raised.value)
    assert message.startswith("Database 'default' (")
    assert_no_secret(message)
    assert MASK in message


# -- files and streams the OS refuses ------------------------------------------------------------
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_working_directory_that_was_removed(
    shared_tmp: Path, settings: Any, subprocess_env: Callable[[], dict[str, str]]
) -> None:
    """Messages show paths relative to the working directory, which may be gone."""
    settings.SQLMIGRATE_DIRS = [str(SCENARIOS / "bad_names")]
    gone = shared_tmp / "release-1234"
    gone.mkdir()
    script = (
        "import os, runpy, sys\n"
        "os.chdir(sys.argv[1]); os.rmdir(sys.argv[1])\n"
        "sys.argv = ['django', 'sqlmigrate_validate']\n"
        "runpy.run_module('django', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(gone)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"error sqlmigrate.E001: {SCENARIOS / 'bad_names'}/" in result.stderr
    assert result.stderr.endswith("nothing was changed.\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_output_the_os_refuses_is_one_paragraph(settings: Any) -> None:
    """The last resort for an OSError no part of the tool expected: here, a full disk."""
    settings.SQLMIGRATE_DIRS = [SCENARIOS / "basic"]
    # Unbuffered: each write reaches the device, and closing has nothing left to write.
    full = io.TextIOWrapper(open("/dev/full", "wb", buffering=0), write_through=True)  # noqa: SIM115
    with closing(full), pytest.raises(CommandError) as raised:
        call_command("sqlmigrate_status", stdout=full)
    assert str(raised.value) == (
        "No space left on device. The disk is full: free some space and run the command "
        "again. Nothing after that point was done."
    )
