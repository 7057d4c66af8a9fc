"""Bad settings and unreachable databases: one paragraph, exit 1, no traceback, no password."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from .conftest import REPO_ROOT

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


@pytest.mark.parametrize(
    ("backend", "module"),
    [("postgresql", "psycopg"), ("mysql", "MySQLdb")],
)
@pytest.mark.parametrize("command", ["sqlmigrate_apply", "sqlmigrate_status"])
def test_unreachable_database(backend: str, module: str, command: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    prefix = "SQLMIGRATE_TEST_PG_" if backend == "postgresql" else "SQLMIGRATE_TEST_MYSQL_"
    result = manage(
        command,
        "--noinput" if command == "sqlmigrate_apply" else "--verbosity=1",
        SQLMIGRATE_TEST_BACKEND=backend,
        SQLMIGRATE_TEST_SETTINGS='{"SQLMIGRATE_DIRS": ["tests/sql/basic"]}',
        **{f"{prefix}PORT": "1", f"{prefix}PASSWORD": PASSWORD},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("CommandError: Database 'default' (")
    assert "127.0.0.1:1" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


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
