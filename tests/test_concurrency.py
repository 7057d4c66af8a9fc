"""Racing release phases: real OS processes, one database, every file applied exactly once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connections

from django_sqlmigrate.backends import get_backend
from django_sqlmigrate.recorder import MigrationRecorder

from .conftest import REPO_ROOT
from .helpers import history, vendor

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
PROCESSES = 4
FILES = 12


def slow_statement() -> str:
    return {
        "postgresql": "SELECT pg_sleep(0.05);",
        "mysql": "DO SLEEP(0.05);",
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 200000) SELECT count(*) FROM n;",
    }[vendor()]


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "django", "sqlmigrate_apply", "--noinput", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_racing_processes_apply_each_file_once(
    tmp_path: Path, settings: object, subprocess_env: Callable[[], dict[str, str]]
) -> None:
    for number in range(1, FILES + 1):
        # CREATE TABLE without IF NOT EXISTS: a second run of any file would fail.
        (tmp_path / f"{number:03d}-race-{number}.sql").write_text(
            f"CREATE TABLE race_{number} (id INTEGER);\n{slow_statement()}\n"
        )
    settings.SQLMIGRATE_DIRS = [str(tmp_path)]  # type: ignore[attr-defined]
    env = subprocess_env()
    processes = [start(env) for _ in range(PROCESSES)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    for code, out, err in results:
        assert code == 0, f"exit {code}\n{out}\n{err}"
        assert "Traceback" not in err
    applied_lines = sum(out.count("... OK") for _, out, _ in results)
    assert applied_lines == FILES
    assert history() == [(f"{n:03d}-race-{n}", True) for n in range(1, FILES + 1)]


def test_lock_timeout_names_the_holder(
    tmp_path: Path, settings: object, subprocess_env: Callable[[], dict[str, str]]
) -> None:
    (tmp_path / "001-a.sql").write_text("CREATE TABLE locked_out (id INTEGER);")
    settings.SQLMIGRATE_DIRS = [str(tmp_path)]  # type: ignore[attr-defined]
    connection = connections["default"]
    with get_backend(connection).lock(1, MigrationRecorder(connection).lock_name):
        process = start(subprocess_env(), "--lock-timeout", "0.5")
        code = process.wait(timeout=60)
        _, err = process.communicate()
    assert code == 1
    assert "Traceback" not in err
    assert "Could not get the migration lock" in err
    assert "within 0.5 s" in err
    holder = {
        "postgresql": "backend pid ",
        "mysql": "connection ",
        "sqlite": "is locked by pid ",
    }[vendor()]
    assert holder in err
    assert history() == []
