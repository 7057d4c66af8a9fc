"""The targets: each a ratio (or a size, or a speed) of the results, its limit, PASS or MISS.

Reads ``Results`` only; nothing here runs anything. The targets are on PostgreSQL (W1-W5);
``median`` and ``paired`` take the vendor, for targets on the others.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bench.config import Config
from bench.results import Results
from bench.tools import APPLY, FLOOR, MIGRATE, STATUS


@dataclass
class Target:
    id: str
    description: str
    value: float
    limit: float
    at_least: bool = False  # value must be >= limit (else <=)
    unit: str = "x"
    # The same ratio per repetition (the tools of one repetition ran back to back), then its
    # median: less sensitive to the machine's drift than the ratio of medians. Shown, not judged.
    paired: float | None = None

    @property
    def passed(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit


def median(results: Results, workload: str, tool: str, vendor: str = "postgresql") -> float | None:
    """The median seconds of a case, None if it did not run."""
    case = results.case(workload, vendor, tool)
    return case.median if case else None


def paired(
    results: Results,
    workload: str,
    formula: Callable[..., float],
    *tools: str,
    vendor: str = "postgresql",
) -> float | None:
    """The median over repetitions of ``formula`` applied to that repetition's ``tools``."""
    cases = [results.case(workload, vendor, tool) for tool in tools]
    if any(case is None for case in cases):
        return None
    found = [case for case in cases if case is not None]
    count = min(len(case.runs) for case in found)
    return statistics.median(
        formula(*(case.seconds[index] for case in found)) for index in range(count)
    )


def evaluate(results: Results, config: Config) -> list[Target]:
    """Every target whose cases ran, in the order of the report."""
    return [
        *w1_targets(results, config),
        *w2_targets(results, config),
        *w3_w4_targets(results, config),
        *w5_split_targets(results),
        *w5_status_targets(results, config),
    ]


def w1_targets(results: Results, config: Config) -> list[Target]:
    targets = []
    psql, floor, apply = (median(results, "W1", t) for t in ("psql", FLOOR, APPLY))
    migrate = median(results, "W1", MIGRATE)
    if psql and floor and apply:
        targets.append(
            Target(
                "W1",
                f"{config.files} small files: (sqlmigrate_apply - floor) / psql",
                (apply - floor) / psql,
                1.05,
                paired=paired(results, "W1", lambda p, a, f: (a - f) / p, "psql", APPLY, FLOOR),
            )
        )
    if apply and migrate:
        targets.append(
            Target(
                "W1-django",
                "sqlmigrate_apply / Django migrate",
                apply / migrate,
                1.0,
                paired=paired(results, "W1", lambda a, m: a / m, APPLY, MIGRATE),
            )
        )
    return targets


def w2_targets(results: Results, config: Config) -> list[Target]:
    targets = []
    psql, apply = median(results, "W2", "psql"), median(results, "W2", APPLY)
    if psql and apply:
        targets.append(
            Target(
                "W2",
                f"{config.rows} rows in one file: sqlmigrate_apply / psql",
                apply / psql,
                1.1,
                paired=paired(results, "W2", lambda p, a: a / p, "psql", APPLY),
            )
        )
    w2 = results.case("W2", "postgresql", APPLY)
    if w2:
        targets.append(
            Target("W2-rss", "peak RSS of sqlmigrate_apply", w2.peak_rss_mib, 120, unit="MiB")
        )
    return targets


def w3_w4_targets(results: Results, config: Config) -> list[Target]:
    targets = []
    floor = median(results, "W3/W4", FLOOR)
    status, noop = median(results, "W3/W4", STATUS), median(results, "W3/W4", APPLY)
    if floor and status:
        targets.append(
            Target(
                "W3",
                f"sqlmigrate_status, {config.files} up to date / floor",
                status / floor,
                1.05,
                paired=paired(results, "W3/W4", lambda s, f: s / f, STATUS, FLOOR),
            )
        )
    if floor and noop:
        targets.append(
            Target(
                "W4",
                f"no-op sqlmigrate_apply, {config.files} up to date / floor",
                noop / floor,
                1.05,
                paired=paired(results, "W3/W4", lambda a, f: a / f, APPLY, FLOOR),
            )
        )
    return targets


def w5_split_targets(results: Results) -> list[Target]:
    targets = []
    for entry in results.split:
        targets.append(
            Target(
                f"W5-split-{entry['dialect']}",
                f"splitter on {entry['bytes'] / 1e6:.0f} MB of {entry['dialect']}: "
                "MB/s vs sqlparse.split",
                entry["ratio_to_sqlparse"],
                50,
                at_least=True,
            )
        )
        targets.append(
            Target(
                f"W5-speed-{entry['dialect']}",
                f"splitter throughput, {entry['dialect']}",
                entry["mb_per_s"],
                20,
                at_least=True,
                unit="MB/s",
            )
        )
    return targets


def w5_status_targets(results: Results, config: Config) -> list[Target]:
    targets = []
    per_file = {}
    for count in config.status_sizes:
        workload = f"W5 status {count}"
        status, floor = median(results, workload, STATUS), median(results, workload, FLOOR)
        if status and floor:
            per_file[count] = (status - floor) / count
            if count == max(config.status_sizes):
                targets.append(
                    Target(
                        f"W5-status-{count}",
                        f"sqlmigrate_status, {count} files / floor",
                        status / floor,
                        1.5,
                        paired=paired(results, workload, lambda s, f: s / f, STATUS, FLOOR),
                    )
                )
    if len(per_file) > 1:
        small, large = min(per_file), max(per_file)
        targets.append(
            Target(
                "W5-linear",
                f"status cost per file at {large} / per file at {small} (1 = linear)",
                per_file[large] / per_file[small] if per_file[small] > 0 else 0.0,
                1.5,
            )
        )
    return targets
