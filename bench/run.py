"""The benchmark: django-sqlmigrate against psql (mysql, sqlite3) and Django's ``migrate``.

    python -m bench                       # the full run (PostgreSQL, then SQLite and MariaDB)
    python -m bench --smoke --vendors sqlite --out /tmp/smoke.json

Every timed tool is a real process, started the way a deploy starts it; the tools of a workload
take turns (the order rotates every repetition) so that drift hits them all alike, and every
run that changes a database gets a new one. Medians are reported, with min-max, peak RSS (from
``os.wait4``) and ratios, then every target with PASS or MISS. docs/performance.md explains the
workloads and the targets and holds the latest figures.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import functools
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import workloads
from bench.measure import BenchError, Case, Run, run_process
from bench.vendors import HISTORY_TABLE, Vendor
from tests.backends import BACKENDS, Backend, probe

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE = REPO_ROOT / "bench" / "manage.py"

FLOOR = "floor"
FLOOR_WITHOUT_APP = "floor, no sqlmigrate"
APPLY = "sqlmigrate_apply"
STATUS = "sqlmigrate_status"
MIGRATE = "django migrate"


@dataclass
class Config:
    vendors: list[Backend]
    workloads: list[str]
    out: Path
    files: int = 500
    rows: int = 500_000
    reps: int = 7
    fast_reps: int = 21
    split_bytes: int = 50 * 1024 * 1024
    sqlparse_bytes: int = 1024 * 1024
    status_sizes: tuple[int, ...] = (2_500, 10_000)
    django_w2: bool = False
    prefix: str = field(default_factory=lambda: f"sqlmigrate_bench_{os.getpid()}")


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

    def as_dict(self) -> dict[str, Any]:
        paired = round(self.paired, 3) if self.paired is not None else None
        return {
            **asdict(self),
            "value": round(self.value, 3),
            "paired": paired,
            "passed": self.passed,
        }


@dataclass
class Results:
    cases: list[Case] = field(default_factory=list)
    split: list[dict[str, Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
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


class Bench:
    def __init__(self, config: Config, scratch: Path) -> None:
        self.config = config
        self.scratch = scratch
        self.results = Results()
        self.vendors: dict[str, Vendor] = {}

    def log(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def vendor(self, name: Backend) -> Vendor:
        if name not in self.vendors:
            self.vendors[name] = Vendor(name, self.scratch / "sqlite")
            (self.scratch / "sqlite").mkdir(exist_ok=True)
        return self.vendors[name]

    # -- processes ---------------------------------------------------------------------------
    def django_env(
        self,
        vendor: Vendor,
        database: str,
        sql_dir: Path,
        app: Path | None = None,
        *,
        without_sqlmigrate: bool = False,
    ) -> dict[str, str]:
        """The environment of a timed ``manage.py`` process (see bench/settings.py)."""
        paths = [str(REPO_ROOT)] + ([str(app.parent)] if app else [])
        # Bytecode caches are written and used, as in any deployed project (pip compiles them):
        # PYTHONDONTWRITEBYTECODE would make every process compile this package again.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "BENCH_", "SQLMIGRATE_TEST_SETTINGS"))
            and key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
        }
        env.update(
            PYTHONPATH=os.pathsep.join(paths),
            DJANGO_SETTINGS_MODULE="bench.settings",
            BENCH_DATABASE=json.dumps(vendor.django_database(database)),
            BENCH_SQL_DIR=str(sql_dir),
        )
        if app:
            env["BENCH_EXTRA_APP"] = app.name
        if without_sqlmigrate:
            env["BENCH_WITHOUT_SQLMIGRATE"] = "1"
        return env

    @staticmethod
    def manage(*args: str) -> list[str]:
        return [sys.executable, str(MANAGE), *args]

    def interleave(
        self,
        workload: str,
        vendor: Vendor,
        tools: dict[str, Callable[[], Run]],
        reps: int,
    ) -> None:
        """Run every tool ``reps`` times, taking turns, rotating who goes first."""
        self.results.load.setdefault(f"{workload} {vendor.name}", []).append(load_average())
        cases = {}
        for tool in tools:
            case = self.results.case(workload, vendor.name, tool)
            if case is None:
                case = Case(workload, vendor.name, tool)
                self.results.cases.append(case)
            cases[tool] = case
        names = list(tools)
        for rep in range(reps):
            order = names[rep % len(names) :] + names[: rep % len(names)]
            for tool in order:
                run = tools[tool]()
                cases[tool].runs.append(run)
                self.log(
                    f"  {workload} {vendor.name:<10} {tool:<18} rep {rep + 1}/{reps}: "
                    f"{run.seconds:8.3f} s  {run.max_rss_kib / 1024:6.1f} MiB"
                )
        self.results.load[f"{workload} {vendor.name}"].append(load_average())

    def fresh(
        self, vendor: Vendor, database: str, timed: Callable[[], Run], check: Callable[[], None]
    ) -> Run:
        """Time ``timed`` on a brand-new database, check what it left, then drop it."""
        vendor.create(database)
        try:
            run = timed()
            check()
        finally:
            vendor.drop(database)
        return run

    def expect(self, vendor: Vendor, database: str, sql: str, expected: Any, tool: str) -> None:
        found = vendor.query(database, sql)
        if found != expected:
            raise BenchError(f"{tool} on {vendor.name}: {sql} gave {found!r}, not {expected!r}")

    # -- W1 / W2: applying files on a fresh database -------------------------------------------
    def apply_workload(
        self,
        workload: str,
        vendor: Vendor,
        *,
        files: list[Path],
        sql_dir: Path,
        check_sql: str,
        expected: Any,
        with_django: bool,
    ) -> None:
        database = f"{self.config.prefix}_{workload.lower()}"
        app = None
        if with_django:
            app_root = self.scratch / "apps" / f"{workload.lower()}_{vendor.name}"
            app = workloads.write_django_app(app_root, f"bench_rawsql_{workload.lower()}", files)
            compileall.compile_dir(str(app_root), quiet=1)
        env = self.django_env(vendor, database, sql_dir, app)
        # A project that uses RunSQL instead has no django_sqlmigrate (and no system checks of it).
        migrate_env = self.django_env(vendor, database, sql_dir, app, without_sqlmigrate=True)
        script = vendor.write_client_script(
            self.scratch / f"{workload.lower()}-{vendor.name}-client.sql",
            [(path.stem, path, workloads.checksum(path)) for path in files],
        )
        count = len(files)

        def checks(tool: str, *expected_values: tuple[str, Any]) -> Callable[[], None]:
            def check() -> None:
                for sql, value in expected_values:
                    self.expect(vendor, database, sql, value, tool)

            return check

        def client() -> Run:
            argv, client_env, stdin = vendor.client_command(database, script)
            return self.fresh(
                vendor,
                database,
                lambda: run_process(argv, client_env, stdin=stdin),
                checks(
                    vendor.client_name,
                    (check_sql, expected),
                    (f"SELECT count(*) FROM {HISTORY_TABLE}", count),
                ),
            )

        def apply() -> Run:
            return self.fresh(
                vendor,
                database,
                lambda: run_process(self.manage("sqlmigrate_apply", "--noinput"), env),
                checks(
                    APPLY,
                    (check_sql, expected),
                    ("SELECT count(*) FROM schema_migrations", count),
                ),
            )

        def migrate() -> Run:
            return self.fresh(
                vendor,
                database,
                lambda: run_process(self.manage("migrate", "--noinput"), migrate_env),
                checks(MIGRATE, (check_sql, expected)),
            )

        def floor() -> Run:
            return self.fresh(
                vendor, database, lambda: run_process(self.manage("bench_floor"), env), lambda: None
            )

        tools: dict[str, Callable[[], Run]] = {}
        if vendor.client_available():
            tools[vendor.client_name] = client
        else:
            self.results.notes.append(
                f"{workload} on {vendor.name}: the {vendor.client_name} client is not installed."
            )
        if app is not None:
            tools[MIGRATE] = migrate
        tools[APPLY] = apply
        tools[FLOOR] = floor
        floor()  # warm-up: byte-compile, fill the page cache
        self.interleave(workload, vendor, tools, self.config.reps)
        self.results.references[(workload, vendor.name, APPLY)] = (
            vendor.client_name if vendor.client_available() else None,
            FLOOR,
        )
        self.results.references[(workload, vendor.name, MIGRATE)] = (
            vendor.client_name if vendor.client_available() else None,
            FLOOR,
        )
        self.results.references[(workload, vendor.name, FLOOR)] = (
            vendor.client_name if vendor.client_available() else None,
            None,
        )

    def w1(self, vendor: Vendor) -> None:
        count = self.config.files
        sql_dir = self.scratch / "w1"
        if not sql_dir.exists():
            workloads.write_small_files(sql_dir, count)
        files = sorted(sql_dir.glob("*.sql"))
        self.log(f"W1 on {vendor.name}: {count} small files")
        self.apply_workload(
            "W1",
            vendor,
            files=files,
            sql_dir=sql_dir,
            check_sql=f"SELECT count(*) FROM t{count:05d}",
            expected=3,
            with_django=True,
        )

    def w2(self, vendor: Vendor) -> None:
        rows = self.config.rows
        sql_dir = self.scratch / "w2"
        path = sql_dir / "001-load-bench-rows.sql"
        if not path.exists():
            workloads.write_rows_file(sql_dir, rows)
        megabytes = path.stat().st_size / 1024 / 1024
        # Django's PostgreSQL backend sends a RunSQL string whole; the others split it with
        # sqlparse first, which takes minutes for 50 MB.
        with_django = self.config.django_w2 or vendor.name == "postgresql"
        self.log(f"W2 on {vendor.name}: one file of {rows} rows, {megabytes:.1f} MiB")
        self.apply_workload(
            "W2",
            vendor,
            files=[path],
            sql_dir=sql_dir,
            check_sql="SELECT count(*) FROM bench_rows",
            expected=rows,
            with_django=with_django,
        )
        if not with_django:
            self.results.notes.append(
                f"W2 on {vendor.name}: Django migrate not run (Django's {vendor.name} backend "
                "splits RunSQL with sqlparse: see the splitter figures for its speed); "
                "--django-w2 runs it."
            )

    # -- W3 / W4 / W5: an up-to-date database ------------------------------------------------
    def up_to_date(self, vendor: Vendor, count: int, *, fake: bool) -> tuple[str, Path]:
        """A database with ``count`` small files applied (or faked), and their folder."""
        sql_dir = self.scratch / f"uptodate-{count}"
        if not sql_dir.exists():
            workloads.write_small_files(sql_dir, count)
        database = f"{self.config.prefix}_uptodate_{count}"
        vendor.create(database)
        env = self.django_env(vendor, database, sql_dir)
        args = ["sqlmigrate_apply", "--noinput"] + (["--fake"] if fake else [])
        started = time.perf_counter()
        run_process(self.manage(*args), env)
        self.expect(vendor, database, "SELECT count(*) FROM schema_migrations", count, APPLY)
        self.log(
            f"  set up {database}: {count} files {'faked' if fake else 'applied'} in "
            f"{time.perf_counter() - started:.1f} s"
        )
        return database, sql_dir

    def w3_w4(self, vendor: Vendor) -> None:
        count = self.config.files
        self.log(f"W3/W4 on {vendor.name}: status and a no-op apply, {count} files up to date")
        database, sql_dir = self.up_to_date(vendor, count, fake=False)
        env = self.django_env(vendor, database, sql_dir)
        try:
            # django_sqlmigrate's own start-up (its AppConfig.ready) is the difference between
            # the two floors: what every manage.py command of a project pays for the app.
            bare_env = self.django_env(vendor, database, sql_dir, without_sqlmigrate=True)
            tools = {
                FLOOR: lambda: run_process(self.manage("bench_floor"), env),
                STATUS: lambda: run_process(self.manage("sqlmigrate_status"), env),
                APPLY: lambda: run_process(self.manage("sqlmigrate_apply", "--noinput"), env),
                FLOOR_WITHOUT_APP: lambda: run_process(self.manage("bench_floor"), bare_env),
            }
            if vendor.client_available():
                argv, client_env = vendor.client_query(
                    database, "SELECT version, checksum FROM schema_migrations ORDER BY id"
                )
                tools[vendor.client_name] = lambda: run_process(argv, client_env)
            tools[FLOOR]()  # warm-up
            self.interleave("W3/W4", vendor, tools, self.config.fast_reps)
            self.expect(vendor, database, "SELECT count(*) FROM schema_migrations", count, APPLY)
        finally:
            vendor.drop(database)
        reference = vendor.client_name if vendor.client_available() else None
        for tool in (STATUS, APPLY, FLOOR, FLOOR_WITHOUT_APP):
            self.results.references[("W3/W4", vendor.name, tool)] = (
                reference,
                None if tool == FLOOR else FLOOR,
            )

    def w5_status(self, vendor: Vendor) -> None:
        for count in self.config.status_sizes:
            self.log(f"W5 on {vendor.name}: sqlmigrate_status on {count} files up to date")
            database, sql_dir = self.up_to_date(vendor, count, fake=True)
            env = self.django_env(vendor, database, sql_dir)
            workload = f"W5 status {count}"
            try:
                tools: dict[str, Callable[[], Run]] = {
                    FLOOR: functools.partial(run_process, self.manage("bench_floor"), env),
                    STATUS: functools.partial(run_process, self.manage("sqlmigrate_status"), env),
                }
                tools[FLOOR]()  # warm-up
                self.interleave(workload, vendor, tools, self.config.fast_reps)
            finally:
                vendor.drop(database)
            self.results.references[(workload, vendor.name, STATUS)] = (None, FLOOR)
            self.results.references[(workload, vendor.name, FLOOR)] = (None, None)

    def w5_split(self) -> None:
        import sqlparse

        from django_sqlmigrate.splitter import Dialect, split

        dialects: tuple[Dialect, ...] = ("postgresql", "mysql")
        for dialect in dialects:
            path = workloads.write_split_file(
                self.scratch / "split", dialect, self.config.split_bytes
            )
            source = path.read_bytes()
            ours = []
            for _ in range(self.config.reps):
                started = time.perf_counter()
                statements = list(split(source, dialect))
                ours.append(time.perf_counter() - started)
            # sqlparse on a slice that ends at a statement boundary.
            boundary = next(
                (s.end for s in statements if s.end >= self.config.sqlparse_bytes),
                statements[-1].end,
            )
            text = source[: boundary + 1].decode()
            theirs = []
            for _ in range(self.config.reps):
                started = time.perf_counter()
                sqlparse.split(text)
                theirs.append(time.perf_counter() - started)
            ours_mb_s = len(source) / statistics.median(ours) / 1e6
            theirs_mb_s = len(text.encode()) / statistics.median(theirs) / 1e6
            entry = {
                "dialect": dialect,
                "bytes": len(source),
                "statements": len(statements),
                "seconds": [round(s, 4) for s in ours],
                "mb_per_s": round(ours_mb_s, 1),
                "sqlparse_bytes": len(text.encode()),
                "sqlparse_seconds": [round(s, 4) for s in theirs],
                "sqlparse_mb_per_s": round(theirs_mb_s, 3),
                "ratio_to_sqlparse": round(ours_mb_s / theirs_mb_s, 1),
            }
            self.results.split.append(entry)
            self.log(
                f"W5 split {dialect}: {len(source) / 1e6:.1f} MB, {len(statements)} statements, "
                f"{ours_mb_s:.1f} MB/s; sqlparse {theirs_mb_s:.2f} MB/s on "
                f"{len(text) / 1e6:.2f} MB"
            )

    # -- targets -----------------------------------------------------------------------------
    def evaluate(self) -> None:
        results = self.results
        targets = results.targets

        def median(workload: str, tool: str, vendor: str = "postgresql") -> float | None:
            case = results.case(workload, vendor, tool)
            return case.median if case else None

        def paired(workload: str, formula: Callable[..., float], *tools: str) -> float | None:
            cases = [results.case(workload, "postgresql", tool) for tool in tools]
            if any(case is None for case in cases):
                return None
            found = [case for case in cases if case is not None]
            count = min(len(case.runs) for case in found)
            return statistics.median(
                formula(*(case.seconds[index] for case in found)) for index in range(count)
            )

        psql, floor, apply = (median("W1", t) for t in ("psql", FLOOR, APPLY))
        migrate = median("W1", MIGRATE)
        if psql and floor and apply:
            targets.append(
                Target(
                    "W1",
                    f"{self.config.files} small files: (sqlmigrate_apply - floor) / psql",
                    (apply - floor) / psql,
                    1.05,
                    paired=paired("W1", lambda p, a, f: (a - f) / p, "psql", APPLY, FLOOR),
                )
            )
        if apply and migrate:
            targets.append(
                Target(
                    "W1-django",
                    "sqlmigrate_apply / Django migrate",
                    apply / migrate,
                    1.0,
                    paired=paired("W1", lambda a, m: a / m, APPLY, MIGRATE),
                )
            )
        psql, apply = median("W2", "psql"), median("W2", APPLY)
        if psql and apply:
            targets.append(
                Target(
                    "W2",
                    f"{self.config.rows} rows in one file: sqlmigrate_apply / psql",
                    apply / psql,
                    1.1,
                    paired=paired("W2", lambda p, a: a / p, "psql", APPLY),
                )
            )
        w2 = results.case("W2", "postgresql", APPLY)
        if w2:
            targets.append(
                Target("W2-rss", "peak RSS of sqlmigrate_apply", w2.peak_rss_mib, 120, unit="MiB")
            )
        floor = median("W3/W4", FLOOR)
        status, noop = median("W3/W4", STATUS), median("W3/W4", APPLY)
        if floor and status:
            targets.append(
                Target(
                    "W3",
                    f"sqlmigrate_status, {self.config.files} up to date / floor",
                    status / floor,
                    1.05,
                    paired=paired("W3/W4", lambda s, f: s / f, STATUS, FLOOR),
                )
            )
        if floor and noop:
            targets.append(
                Target(
                    "W4",
                    f"no-op sqlmigrate_apply, {self.config.files} up to date / floor",
                    noop / floor,
                    1.05,
                    paired=paired("W3/W4", lambda a, f: a / f, APPLY, FLOOR),
                )
            )
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
        per_file = {}
        for count in self.config.status_sizes:
            workload = f"W5 status {count}"
            status, floor = median(workload, STATUS), median(workload, FLOOR)
            if status and floor:
                per_file[count] = (status - floor) / count
                if count == max(self.config.status_sizes):
                    targets.append(
                        Target(
                            f"W5-status-{count}",
                            f"sqlmigrate_status, {count} files / floor",
                            status / floor,
                            1.5,
                            paired=paired(workload, lambda s, f: s / f, STATUS, FLOOR),
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

    # -- running -----------------------------------------------------------------------------
    def run(self) -> None:
        chosen = self.config.workloads
        for package in ("django_sqlmigrate", "bench"):
            compileall.compile_dir(str(REPO_ROOT / package), quiet=1)
        if "W5" in chosen:
            self.w5_split()
        for name in self.config.vendors:
            vendor = self.vendor(name)
            problem = probe(name)
            if problem is not None:
                self.results.notes.append(f"{name} skipped: {problem}")
                self.log(f"{name} skipped: {problem}")
                continue
            try:
                if "W1" in chosen:
                    self.w1(vendor)
                if "W2" in chosen:
                    self.w2(vendor)
                if name == "postgresql":
                    if "W3" in chosen or "W4" in chosen:
                        self.w3_w4(vendor)
                    if "W5" in chosen:
                        self.w5_status(vendor)
            finally:
                vendor.drop_all()
        self.evaluate()


def load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on Linux/macOS
        return 0.0


# -- reporting ---------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    def output(*argv: str) -> str | None:
        if shutil.which(argv[0]) is None:
            return None
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return None
        return done.stdout.strip() or None

    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import django
    import sqlparse

    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlparse": sqlparse.__version__,
        "psql": output("psql", "--version"),
        "mysql": output("mysql", "--version"),
        "sqlite3": output("sqlite3", "--version"),
    }
    try:
        import psycopg

        info["psycopg"] = psycopg.__version__
    except ImportError:
        pass
    return info


def server_versions(bench: Bench) -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in bench.config.vendors:
        if probe(name) is not None:
            continue
        vendor = bench.vendor(name)
        sql = "SELECT sqlite_version()" if name == "sqlite" else "SELECT version()"
        database = "postgres" if name == "postgresql" else ("mysql" if name == "mysql" else "v")
        try:
            versions[name] = str(vendor.query(database, sql))
        finally:
            if name == "sqlite":
                vendor.drop(database)
    return versions


def table(rows: Sequence[Sequence[str]]) -> Iterator[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        if index == 0:
            yield "  ".join("-" * width for width in widths)


def report(results: Results, document: dict[str, Any]) -> str:
    lines = [""]
    rows = [
        ["workload", "vendor", "tool", "median s", "min-max s", "vs ref", "vs floor", "RSS MiB"]
    ]
    for case in document["cases"]:
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
    lines += table(rows)
    if results.split:
        lines.append("")
        rows = [["splitter", "MB", "statements", "MB/s", "sqlparse MB/s", "ratio"]]
        for entry in results.split:
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
        lines += table(rows)
    lines.append("")
    rows = [["target", "measured", "limit", "result", "paired", "what"]]
    for target in results.targets:
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
    lines += table(rows)
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


def document_for(bench: Bench, started: datetime.datetime, seconds: float) -> dict[str, Any]:
    results = bench.results
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
        cases.append(case.as_dict(reference, floor))
    config = asdict(bench.config)
    config["out"] = str(config["out"])
    return {
        "format": 1,
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(seconds, 1),
        "command": shlex.join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
        "machine": {**machine(), "servers": server_versions(bench)},
        "config": config,
        "cases": cases,
        "split": results.split,
        "targets": [target.as_dict() for target in results.targets],
        "all_passed": all(target.passed for target in results.targets),
        "notes": results.notes,
        "load_average": results.load,
    }


def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--vendors",
        default="postgresql,sqlite,mysql",
        help="comma-separated: postgresql,sqlite,mysql (W3-W5 run on PostgreSQL only)",
    )
    parser.add_argument("--workloads", default="W1,W2,W3,W4,W5", help="comma-separated subset")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/<time>.json)")
    parser.add_argument("--files", type=int, help="files in W1, W3 and W4 (500)")
    parser.add_argument("--rows", type=int, help="rows in W2's file (500000)")
    parser.add_argument("--reps", type=int, help="repetitions of W1, W2 and the splitter (7)")
    parser.add_argument("--fast-reps", type=int, help="repetitions of W3-W5 processes (21)")
    parser.add_argument("--split-mb", type=float, help="size of W5's splitter files (50)")
    parser.add_argument("--status-sizes", help="W5 status sizes, comma-separated (2500,10000)")
    parser.add_argument(
        "--django-w2",
        action="store_true",
        help="also time Django migrate on W2 on SQLite and MariaDB (slow: sqlparse)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a tiny configuration that checks the bench works"
    )
    parser.add_argument(
        "--db-prefix", help="prefix of the databases made and dropped (sqlmigrate_bench_<pid>)"
    )
    args = parser.parse_args(argv)
    vendors: list[Backend] = []
    for name in args.vendors.split(","):
        if name not in BACKENDS:
            parser.error(f"unknown vendor {name!r}; choose from {', '.join(BACKENDS)}")
        vendors.append(name)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    config = Config(
        vendors=vendors,
        workloads=[w.strip().upper() for w in args.workloads.split(",")],
        out=args.out or REPO_ROOT / "bench" / "results" / f"bench-{stamp}.json",
    )
    if args.smoke:
        config.files, config.rows, config.reps, config.fast_reps = 5, 2_000, 1, 1
        config.split_bytes, config.sqlparse_bytes = 256 * 1024, 32 * 1024
        config.status_sizes = (20, 80)
    for name in ("files", "rows", "reps", "fast_reps"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    if args.split_mb is not None:
        config.split_bytes = int(args.split_mb * 1024 * 1024)
    if args.status_sizes:
        config.status_sizes = tuple(int(n) for n in args.status_sizes.split(","))
    config.django_w2 = args.django_w2
    if args.db_prefix:
        config.prefix = args.db_prefix
    return config


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    clock = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="sqlmigrate-bench-"))
    bench = Bench(config, scratch)
    try:
        bench.run()
        document = document_for(bench, started, time.perf_counter() - clock)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    finally:
        for vendor in bench.vendors.values():
            vendor.drop_all()
        shutil.rmtree(scratch, ignore_errors=True)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(json.dumps(document, indent=2) + "\n")
    print(report(bench.results, document))
    print(f"\nJSON: {config.out}  ({document['duration_s']:.0f} s)")
    return 0
