"""What a run reports: the JSON document, and the tables printed from it.

Writes down ``Results``, the targets and the machine's description; runs nothing.
"""

from __future__ import annotations

import datetime
import os
import shlex
import statistics
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.results import Case, Results
from bench.targets import Target


# -- the JSON document ---------------------------------------------------------------------------
def case_entry(case: Case, reference: Case | None, floor: Case | None) -> dict[str, Any]:
    """A case in the document, with its ratios to its reference tool and to the floor."""
    runs = case.runs
    return {
        "workload": case.workload,
        "vendor": case.vendor,
        "tool": case.tool,
        "repetitions": len(runs),
        "seconds": [round(s, 4) for s in case.seconds],
        "median_s": round(case.median, 4),
        "min_s": round(min(case.seconds), 4),
        "max_s": round(max(case.seconds), 4),
        "peak_rss_mib": round(case.peak_rss_mib, 1),
        "rss_mib": [round(run.max_rss_kib / 1024, 1) for run in runs],
        "median_user_s": round(statistics.median(run.user_seconds for run in runs), 4),
        "median_system_s": round(statistics.median(run.system_seconds for run in runs), 4),
        "reference": reference.tool if reference else None,
        "ratio_to_reference": round(case.median / reference.median, 3) if reference else None,
        "ratio_to_floor": round(case.median / floor.median, 3) if floor else None,
        "note": case.note,
    }


def target_entry(target: Target) -> dict[str, Any]:
    paired = round(target.paired, 3) if target.paired is not None else None
    return {
        **asdict(target),
        "value": round(target.value, 3),
        "paired": paired,
        "passed": target.passed,
    }


def document(
    config: Config,
    results: Results,
    targets: list[Target],
    *,
    machine: dict[str, Any],
    started: datetime.datetime,
    seconds: float,
) -> dict[str, Any]:
    """The JSON document of a run (``format`` 1; docs/performance.md)."""
    cases = []
    for case in results.cases:
        reference_tool, floor_tool = results.references.get(
            (case.workload, case.vendor, case.tool), (None, None)
        )
        reference = (
            results.case(case.workload, case.vendor, reference_tool)
            if reference_tool and reference_tool != case.tool
            else None
        )
        floor = results.case(case.workload, case.vendor, floor_tool) if floor_tool else None
        cases.append(case_entry(case, reference, floor))
    config_entry = asdict(config)
    config_entry["out"] = str(config_entry["out"])
    return {
        "format": 1,
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(seconds, 1),
        "command": shlex.join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
        "machine": machine,
        "config": config_entry,
        "cases": cases,
        "split": results.split,
        "targets": [target_entry(target) for target in targets],
        "all_passed": all(target.passed for target in targets),
        "notes": results.notes,
        "load_average": results.load,
    }


# -- the printed tables --------------------------------------------------------------------------
def table(rows: Sequence[Sequence[str]]) -> Iterator[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        if index == 0:
            yield "  ".join("-" * width for width in widths)


def text(results: Results, targets: list[Target], document: dict[str, Any]) -> str:
    """The cases (from ``document``), the splitter figures, every target, notes and warnings."""
    lines = [""]
    lines += cases_table(document["cases"])
    if results.split:
        lines.append("")
        lines += split_table(results.split)
    lines.append("")
    lines += targets_table(targets)
    lines.append(
        "measured: from the medians; paired: the median of the same ratio per repetition "
        "(its tools ran back to back)."
    )
    for note in results.notes:
        lines.append(f"note: {note}")
    # The timed process and the database server keep about one core busy; more means other
    # work shared the machine and the figures are noisier than usual.
    busiest = max((value for values in results.load.values() for value in values), default=0.0)
    cores = os.cpu_count() or 1
    if busiest > cores:
        lines.append(
            f"warning: the 1-minute load average reached {busiest:.2f} on {cores} cores: other "
            "work shared the machine; rerun on a quiet one for figures to rely on."
        )
    return "\n".join(lines)


def cases_table(cases: list[dict[str, Any]]) -> Iterator[str]:
    rows = [
        ["workload", "vendor", "tool", "median s", "min-max s", "vs ref", "vs floor", "RSS MiB"]
    ]
    for case in cases:
        ratio = case["ratio_to_reference"]
        floor = case["ratio_to_floor"]
        rows.append(
            [
                case["workload"],
                case["vendor"],
                case["tool"],
                f"{case['median_s']:.3f}",
                f"{case['min_s']:.3f}-{case['max_s']:.3f}",
                f"{ratio:.2f}x {case['reference']}" if ratio is not None else "",
                f"{floor:.3f}x" if floor is not None else "",
                f"{case['peak_rss_mib']:.0f}",
            ]
        )
    return table(rows)


def split_table(split: list[dict[str, Any]]) -> Iterator[str]:
    rows = [["splitter", "MB", "statements", "MB/s", "sqlparse MB/s", "ratio"]]
    for entry in split:
        rows.append(
            [
                entry["dialect"],
                f"{entry['bytes'] / 1e6:.1f}",
                str(entry["statements"]),
                f"{entry['mb_per_s']:.1f}",
                f"{entry['sqlparse_mb_per_s']:.2f}",
                f"{entry['ratio_to_sqlparse']:.0f}x",
            ]
        )
    return table(rows)


def targets_table(targets: list[Target]) -> Iterator[str]:
    rows = [["target", "measured", "limit", "result", "paired", "what"]]
    for target in targets:
        sign = ">=" if target.at_least else "<="
        rows.append(
            [
                target.id,
                f"{target.value:.3f} {target.unit}",
                f"{sign} {target.limit:g} {target.unit}",
                "PASS" if target.passed else "MISS",
                f"{target.paired:.3f}" if target.paired is not None else "",
                target.description,
            ]
        )
    return table(rows)
