"""The figures a run collects: one process (``Run``), one tool's repetitions (``Case``), all of them.

Plain data: bench.timing fills it in, bench.targets and bench.report read it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Run:
    """One process: wall-clock seconds, peak RSS (KiB, from wait4) and CPU seconds."""

    seconds: float
    max_rss_kib: int
    user_seconds: float
    system_seconds: float


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


@dataclass
class Results:
    cases: list[Case] = field(default_factory=list)
    split: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # 1-minute load average before and after each workload: other work on the machine
    load: dict[str, list[float]] = field(default_factory=dict)
    # case key -> (reference case key, floor case key)
    references: dict[tuple[str, str, str], tuple[str | None, str | None]] = field(
        default_factory=dict
    )

    def case(self, workload: str, vendor: str, tool: str) -> Case | None:
        for case in self.cases:
            if (case.workload, case.vendor, case.tool) == (workload, vendor, tool):
                return case
        return None
