"""The benchmark (``python -m bench``) still runs, and the start-up stays lean.

The full benchmark is not part of the suite (it takes minutes); this runs its smoke
configuration (a few files, one repetition, a small W2) on the backend under test and checks
that the JSON holds every case with sane numbers. PostgreSQL-only workloads (W3, W4, W5's
status) run only when the backend under test is PostgreSQL. See docs/performance.md.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.backends import selected_backend

REPO_ROOT = Path(__file__).resolve().parent.parent
BACKEND = selected_backend()
CLIENT = {"postgresql": "psql", "mysql": "mysql", "sqlite": "sqlite3"}[BACKEND]
MAX_SECONDS = 60  # a smoke run's single process; anything slower means something hangs


def expected_cases() -> set[tuple[str, str]]:
    cases = set()
    for workload in ("W1", "W2"):
        cases |= {(workload, "sqlmigrate_apply"), (workload, "floor")}
        if shutil.which(CLIENT):
            cases.add((workload, CLIENT))
    cases.add(("W1", "django migrate"))
    if BACKEND == "postgresql":
        cases.add(("W2", "django migrate"))  # RunSQL sent whole; elsewhere sqlparse takes minutes
        tools = ["floor", "floor, no sqlmigrate", "sqlmigrate_status", "sqlmigrate_apply"]
        cases |= {("W3/W4", tool) for tool in tools}
        if shutil.which("psql"):
            cases.add(("W3/W4", "psql"))
        for count in (20, 80):
            cases |= {(f"W5 status {count}", "floor"), (f"W5 status {count}", "sqlmigrate_status")}
    return cases


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    prefix = f"{os.environ.get('SQLMIGRATE_TEST_DB_NAME', 'sqlmigrate')}_bench_{os.getpid()}"
    command = [sys.executable, "-m", "bench", "--smoke", "--vendors", BACKEND]
    done = subprocess.run(
        [*command, "--out", str(out), "--db-prefix", prefix],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document: dict[str, Any] = json.loads(out.read_text())
    document["stdout"] = done.stdout
    return document


def test_every_case_with_sane_numbers(smoke: dict[str, Any]) -> None:
    cases = {(case["workload"], case["tool"]): case for case in smoke["cases"]}
    assert set(cases) == expected_cases()
    for case in smoke["cases"]:
        assert case["vendor"] == BACKEND
        assert case["repetitions"] == len(case["seconds"]) == 1
        assert 0 < case["min_s"] <= case["median_s"] <= case["max_s"] < MAX_SECONDS
        assert 1 < case["peak_rss_mib"] < 1024, case
    # Every Django process pays Django's start-up: never faster than the floor by much (one
    # repetition each on a loaded machine: only a tool that skipped Django would be this far).
    for (workload, tool), case in cases.items():
        if tool in ("sqlmigrate_apply", "sqlmigrate_status", "django migrate"):
            assert case["ratio_to_floor"] > 0.25, (workload, tool, case)
    if shutil.which(CLIENT):
        assert cases[("W1", "sqlmigrate_apply")]["reference"] == CLIENT
        assert cases[("W1", "sqlmigrate_apply")]["ratio_to_reference"] > 0


def test_splitter_figures(smoke: dict[str, Any]) -> None:
    assert [entry["dialect"] for entry in smoke["split"]] == ["postgresql", "mysql"]
    for entry in smoke["split"]:
        assert entry["statements"] > 0
        assert entry["mb_per_s"] > 0
        assert entry["sqlparse_mb_per_s"] > 0
        assert entry["ratio_to_sqlparse"] == pytest.approx(
            entry["mb_per_s"] / entry["sqlparse_mb_per_s"], rel=0.05
        )


def test_targets_and_machine(smoke: dict[str, Any]) -> None:
    ids = {target["id"] for target in smoke["targets"]}
    expected = {"W5-split-postgresql", "W5-speed-postgresql", "W5-split-mysql", "W5-speed-mysql"}
    if BACKEND == "postgresql" and shutil.which("psql"):
        expected |= {"W1", "W1-django", "W2", "W2-rss", "W3", "W4", "W5-status-80", "W5-linear"}
    assert expected <= ids
    for target in smoke["targets"]:
        assert isinstance(target["passed"], bool)
        # Finite, not necessarily positive: one repetition of 5 files can come out below the floor.
        assert math.isfinite(target["value"])
    assert smoke["all_passed"] == all(target["passed"] for target in smoke["targets"])
    assert smoke["machine"]["nproc"] >= 1
    assert BACKEND in smoke["machine"]["servers"]
    assert smoke["command"].startswith("python")


def test_the_table_prints_each_target_as_measured(smoke: dict[str, Any]) -> None:
    """One line per target, whose figure and verdict are the JSON's (not a stale table)."""
    lines = {line.split()[0]: line.split() for line in smoke["stdout"].splitlines() if line.strip()}
    for target in smoke["targets"]:
        row = lines[target["id"]]
        assert float(row[1]) == pytest.approx(target["value"], abs=0.0005), target
        assert ("PASS" if target["passed"] else "MISS") in row, row


def test_status_and_apply_do_not_load_the_splitter() -> None:
    """The splitter compiles its regexes on import: only commands that split SQL may pay."""
    code = (
        "import sys, django; django.setup(); "
        "import django_sqlmigrate.management.commands.sqlmigrate_status; "
        "import django_sqlmigrate.management.commands.sqlmigrate_apply; "
        "print(sorted(m for m in sys.modules if m == 'django_sqlmigrate.splitter'))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_loader_reads_small_and_big_files_whole(tmp_path: Path) -> None:
    """One read() for a small file; a file past the first read's buffer is read in full."""
    from django_sqlmigrate.loader import _SMALL_FILE, checksum, read_source

    for size in (0, 10, _SMALL_FILE - 1, _SMALL_FILE, _SMALL_FILE + 1, 3 * _SMALL_FILE + 7):
        path = tmp_path / f"{size}.sql"
        content = (b"SELECT 1;\n" * (size // 10 + 1))[:size]
        path.write_bytes(content)
        assert read_source(path) == content
        assert checksum(read_source(path)) == checksum(content)
