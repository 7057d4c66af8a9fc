"""How a case is timed: one process under GNU time, repetitions taking turns, fresh databases.

Every timed tool is a real process (a ``Command``, built by bench.tools); ``run_process``
starts it and reads what it cost, ``interleave`` runs the tools of a workload in turns and
``fresh`` gives a run that changes a database a new one, checked afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.results import Case, Results, Run
from bench.vendors import Vendor


class BenchError(Exception):
    """A timed process failed, or a run did not leave the database it should have."""


@dataclass(frozen=True)
class Command:
    """A process to time: its argv, its whole environment and the file on its stdin."""

    argv: list[str]
    env: dict[str, str]
    stdin: Path | None = None


# ``ru_maxrss`` survives exec: a child forked from this (big) driver would report the driver's
# RSS as its own peak. GNU time forks the timed program from a process of about 1 MiB and
# reports that grandchild's own figures, so it is used when installed.
GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def run_process(command: Command) -> Run:
    """Start ``command``, wait for it (``os.wait4``) and return what it cost.

    Output goes to /dev/null (a deploy log costs about the same); stderr is kept to explain a
    failure.
    """
    argv = command.argv
    with (
        open(command.stdin or os.devnull, "rb") as stdin_file,
        tempfile.TemporaryFile() as stderr_file,
        tempfile.NamedTemporaryFile("r") as usage_file,
    ):
        launched = argv
        if GNU_TIME:
            launched = [GNU_TIME, "-q", "-f", "%M %U %S", "-o", usage_file.name, *argv]
        started = time.perf_counter()
        process = subprocess.Popen(
            launched,
            stdin=stdin_file,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            env=command.env,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr_file.seek(0)
            error = stderr_file.read().decode("utf-8", "replace")[-3000:]
            raise BenchError(f"{' '.join(argv)} exited with status {process.returncode}:\n{error}")
        if GNU_TIME:
            rss, user, system = usage_file.read().split()[-3:]
            return Run(seconds, int(rss), float(user), float(system))
    return Run(seconds, usage.ru_maxrss, usage.ru_utime, usage.ru_stime)


def log(message: str) -> None:
    """Progress, on stderr: the report itself goes to stdout."""
    print(message, file=sys.stderr, flush=True)


def load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on Linux/macOS
        return 0.0


def interleave(
    results: Results,
    workload: str,
    vendor: str,
    tools: dict[str, Callable[[], Run]],
    reps: int,
) -> None:
    """Run every tool ``reps`` times, taking turns, rotating who goes first."""
    results.load.setdefault(f"{workload} {vendor}", []).append(load_average())
    cases = {}
    for tool in tools:
        case = results.case(workload, vendor, tool)
        if case is None:
            case = Case(workload, vendor, tool)
            results.cases.append(case)
        cases[tool] = case
    names = list(tools)
    for rep in range(reps):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for tool in order:
            run = tools[tool]()
            cases[tool].runs.append(run)
            log(
                f"  {workload} {vendor:<10} {tool:<18} rep {rep + 1}/{reps}: "
                f"{run.seconds:8.3f} s  {run.max_rss_kib / 1024:6.1f} MiB"
            )
    results.load[f"{workload} {vendor}"].append(load_average())


def fresh(
    vendor: Vendor, database: str, timed: Callable[[], Run], check: Callable[[], None]
) -> Run:
    """Time ``timed`` on a brand-new database, check what it left, then drop it."""
    vendor.create(database)
    try:
        run = timed()
        check()
    finally:
        vendor.drop(database)
    return run


def expect(vendor: Vendor, database: str, sql: str, expected: Any, tool: str) -> None:
    """Fail the bench unless ``sql`` on ``database`` gives ``expected`` (after ``tool`` ran)."""
    found = vendor.query(database, sql)
    if found != expected:
        raise BenchError(f"{tool} on {vendor.name}: {sql} gave {found!r}, not {expected!r}")
