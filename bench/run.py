"""The benchmark: django-sqlmigrate against psql (mysql, sqlite3) and Django's ``migrate``.

    python -m bench                       # the full run (PostgreSQL, then SQLite and MariaDB)
    python -m bench --smoke --vendors sqlite --out /tmp/smoke.json

Every timed tool is a real process, started the way a deploy starts it; the tools of a workload
take turns (the order rotates every repetition) so that drift hits them all alike, and every
run that changes a database gets a new one. Medians are reported, with min-max, peak RSS (from
``os.wait4``) and ratios, then every target with PASS or MISS. docs/performance.md explains the
workloads and the targets and holds the latest figures.

This module only puts the parts together: bench.config (the command line), bench.workloads
(what is timed, with bench.tools and bench.timing), bench.targets, bench.machine and
bench.report.
"""

from __future__ import annotations

import compileall
import datetime
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import machine, report
from bench.config import REPO_ROOT, Config, parse_args
from bench.results import Results
from bench.targets import evaluate
from bench.timing import BenchError, log
from bench.vendors import Vendor
from bench.workloads import Workloads
from tests.backends import Backend, probe


def run(config: Config, scratch: Path, vendors: dict[Backend, Vendor]) -> Results:
    """Every chosen workload on every chosen vendor whose server answers."""
    results = Results()
    workloads = Workloads(config, scratch, results)
    chosen = config.workloads
    for package in ("django_sqlmigrate", "bench"):
        compileall.compile_dir(str(REPO_ROOT / package), quiet=1)
    if "W5" in chosen:
        workloads.w5_split()
    for name in config.vendors:
        vendor = vendors[name]
        problem = probe(name)
        if problem is not None:
            results.notes.append(f"{name} skipped: {problem}")
            log(f"{name} skipped: {problem}")
            continue
        try:
            if "W1" in chosen:
                workloads.w1(vendor)
            if "W2" in chosen:
                workloads.w2(vendor)
            if name == "postgresql":
                if "W3" in chosen or "W4" in chosen:
                    workloads.w3_w4(vendor)
                if "W5" in chosen:
                    workloads.w5_status(vendor)
        finally:
            vendor.drop_all()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    clock = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="sqlmigrate-bench-"))
    (scratch / "sqlite").mkdir()
    vendors = {name: Vendor(name, scratch / "sqlite") for name in config.vendors}
    try:
        results = run(config, scratch, vendors)
        targets = evaluate(results, config)
        seconds = time.perf_counter() - clock
        info = {**machine.machine(), "servers": machine.server_versions(vendors.values())}
        document = report.document(
            config, results, targets, machine=info, started=started, seconds=seconds
        )
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    finally:
        for vendor in vendors.values():
            vendor.drop_all()
        shutil.rmtree(scratch, ignore_errors=True)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(json.dumps(document, indent=2) + "\n")
    print(report.text(results, targets, document))
    print(f"\nJSON: {config.out}  ({document['duration_s']:.0f} s)")
    return 0
