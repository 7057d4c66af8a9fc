#!/usr/bin/env python3
"""Run the test suite on every database backend this machine has.

    python3 scripts/runtests.py [pytest arguments...]

Sets up .venv on first use (see scripts/_devenv.py), then runs pytest once per backend: SQLite
always, PostgreSQL and MariaDB/MySQL when a server answers (addresses from the
SQLMIGRATE_TEST_* variables in tests/backends.py). Extra arguments go to every pytest run.

The summary ends with why tests were skipped on each backend: one line per reason, with its
count (read from pytest's JUnit XML report, so xdist runs are counted too).

Locally an unreachable server is reported as skipped. With CI=true every backend must run: an
unreachable server, or a run that collects no tests (pytest's exit code 5), is a failure.
Exits non-zero if any backend failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import _devenv

EXIT_TESTS_FAILED = 1
EXIT_NO_TESTS = 5


@dataclass
class Outcome:
    backend: str
    result: str
    failed: bool
    note: str = ""
    passed: int | None = None
    failures: int | None = None
    skipped: int | None = None
    skip_reasons: Counter[str] = field(default_factory=Counter)


def _parse(junit_xml: Path) -> ET.Element | None:
    try:
        return ET.parse(junit_xml).getroot()
    except (OSError, ET.ParseError):
        return None


def _skip_reasons(root: ET.Element) -> Counter[str]:
    """How many tests were skipped for each reason (the message of each ``<skipped>``)."""
    reasons: Counter[str] = Counter()
    for skipped in root.iter("skipped"):
        message = " ".join((skipped.get("message") or "").split()) or "(no reason given)"
        reasons[message] += 1
    return reasons


def _counts(root: ET.Element) -> tuple[int, int, int]:
    """(passed, failed, skipped) from pytest's JUnit XML report."""
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def run_pytest(backend: str, pytest_args: list[str], ci: bool) -> Outcome:
    print(f"\n===== {backend} =====", flush=True)
    with tempfile.TemporaryDirectory(prefix="sqlmigrate-runtests-") as scratch:
        report = Path(scratch) / "junit.xml"
        # Our --junitxml comes first so that one passed by the caller wins.
        command = [sys.executable, "-m", "pytest", f"--junitxml={report}", *pytest_args]
        env = {**os.environ, "SQLMIGRATE_TEST_BACKEND": backend}
        code = subprocess.run(command, cwd=_devenv.REPO, env=env, check=False).returncode
        root = _parse(report)

    if code == 0:
        result, failed = "ok", False
    elif code == EXIT_NO_TESTS:
        result, failed = ("FAILED: no tests collected", True) if ci else ("no tests", False)
    elif code == EXIT_TESTS_FAILED:
        result, failed = "FAILED", True
    else:
        result, failed = f"FAILED: pytest exit code {code}", True
    outcome = Outcome(backend, result, failed)
    if root is not None:
        outcome.passed, outcome.failures, outcome.skipped = _counts(root)
        outcome.skip_reasons = _skip_reasons(root)
    return outcome


def print_summary(outcomes: list[Outcome]) -> None:
    def cell(value: int | None) -> str:
        return "-" if value is None else str(value)

    rows = [("backend", "result", "passed", "failed", "skipped")]
    rows += [
        (o.backend, o.result, cell(o.passed), cell(o.failures), cell(o.skipped)) for o in outcomes
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    print("\n===== summary =====")
    for backend, result, passed, failed, skipped in rows:
        print(
            f"{backend:<{widths[0]}}  {result:<{widths[1]}}  {passed:>7}  {failed:>7}  {skipped:>7}"
        )
    for outcome in outcomes:
        if outcome.note:
            print(f"{outcome.backend}: {outcome.note}")
    print_skip_reasons(outcomes)


def print_skip_reasons(outcomes: list[Outcome]) -> None:
    """One line per reason and backend, most frequent first, so no skip goes unexplained."""
    for outcome in outcomes:
        if not outcome.skip_reasons:
            continue
        total = sum(outcome.skip_reasons.values())
        print(f"\nSkipped on {outcome.backend} ({total}):")
        width = len(str(max(outcome.skip_reasons.values())))
        for reason, count in sorted(outcome.skip_reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {count:>{width}}  {reason}")


def main(pytest_args: list[str]) -> int:
    from tests.backends import BACKENDS, in_ci, probe

    ci = in_ci()
    outcomes = []
    for backend in BACKENDS:
        problem = probe(backend)
        if problem is not None and problem.startswith("driver not installed"):
            problem += (
                "; mysqlclient needs libmariadb-dev and pkg-config to build: install them, "
                f"delete {_devenv.STAMP.relative_to(_devenv.REPO)} and run this again"
            )
        if problem is None:
            outcomes.append(run_pytest(backend, pytest_args, ci))
        elif ci:
            outcomes.append(Outcome(backend, "FAILED: unreachable", True, problem))
        else:
            outcomes.append(Outcome(backend, "skipped: unreachable", False, problem))

    print_summary(outcomes)
    if any(o.note for o in outcomes):
        print(
            "CI=true: every backend must run; .ci/run starts the servers."
            if ci
            else "Start those servers to test them too (CI runs all three)."
        )
    passed = sum(o.passed or 0 for o in outcomes)
    failed = sum(o.failures or 0 for o in outcomes)
    skipped = sum(o.skipped or 0 for o in outcomes)
    print(f"Total: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if any(o.failed for o in outcomes) else 0


if __name__ == "__main__":
    _devenv.ensure(__file__, mysqlclient=True)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
