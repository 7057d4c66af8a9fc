"""Time one child process and read its peak RSS, and summarise repeated runs."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


class BenchError(Exception):
    """A timed process failed, or a run did not leave the database it should have."""


@dataclass(frozen=True)
class Run:
    """One process: wall-clock seconds, peak RSS (KiB, from wait4) and CPU seconds."""

    seconds: float
    max_rss_kib: int
    user_seconds: float
    system_seconds: float


# ``ru_maxrss`` survives exec: a child forked from this (big) driver would report the driver's
# RSS as its own peak. GNU time forks the timed program from a process of about 1 MiB and
# reports that grandchild's own figures, so it is used when installed.
GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def run_process(
    argv: list[str], env: dict[str, str], *, stdin: Path | None = None, cwd: Path | None = None
) -> Run:
    """Start ``argv``, wait for it (``os.wait4``) and return what it cost.

    Output goes to /dev/null (a deploy log costs about the same); stderr is kept to explain a
    failure.
    """
    with (
        open(stdin or os.devnull, "rb") as stdin_file,
        tempfile.TemporaryFile() as stderr_file,
        tempfile.NamedTemporaryFile("r") as usage_file,
    ):
        command = argv
        if GNU_TIME:
            command = [GNU_TIME, "-q", "-f", "%M %U %S", "-o", usage_file.name, *argv]
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdin=stdin_file,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            env=env,
            cwd=cwd,
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


@dataclass
class Case:
    """Every run of one tool on one workload and vendor."""

    workload: str
    vendor: str
    tool: str
    runs: list[Run] = field(default_factory=list)
    note: str = ""

    @property
    def seconds(self) -> list[float]:
        return [run.seconds for run in self.runs]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_rss_mib(self) -> float:
        return max(run.max_rss_kib for run in self.runs) / 1024

    def as_dict(self, reference: Case | None, floor: Case | None) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "vendor": self.vendor,
            "tool": self.tool,
            "repetitions": len(self.runs),
            "seconds": [round(s, 4) for s in self.seconds],
            "median_s": round(self.median, 4),
            "min_s": round(min(self.seconds), 4),
            "max_s": round(max(self.seconds), 4),
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "rss_mib": [round(run.max_rss_kib / 1024, 1) for run in self.runs],
            "median_user_s": round(statistics.median(r.user_seconds for r in self.runs), 4),
            "median_system_s": round(statistics.median(r.system_seconds for r in self.runs), 4),
            "reference": reference.tool if reference else None,
            "ratio_to_reference": round(self.median / reference.median, 3) if reference else None,
            "ratio_to_floor": round(self.median / floor.median, 3) if floor else None,
            "note": self.note,
        }
