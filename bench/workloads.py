"""The workloads, W1 to W5: which tools each times against which, on what, checked how.

W1 and W2 apply files on a fresh database per run; W3, W4 and W5's status time read-only
commands on a database brought up to date first; W5's splitter runs in this process. The SQL
comes from bench.sqlfiles, the commands from bench.tools, the timing from bench.timing;
what is recorded goes into ``Results`` (with each case's reference and floor tool).
"""

from __future__ import annotations

import compileall
import functools
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import sqlfiles, tools
from bench.config import Config
from bench.results import Results, Run
from bench.timing import expect, fresh, interleave, log, run_process
from bench.tools import APPLY, FLOOR, FLOOR_WITHOUT_APP, MIGRATE, STATUS
from bench.vendors import Vendor


class Workloads:
    """Runs the workloads of one bench run, in ``scratch``, into ``results``."""

    def __init__(self, config: Config, scratch: Path, results: Results) -> None:
        self.config = config
        self.scratch = scratch
        self.results = results

    # -- W1 / W2: applying files on a fresh database -------------------------------------------
    def w1(self, vendor: Vendor) -> None:
        count = self.config.files
        sql_dir = self.scratch / "w1"
        if not sql_dir.exists():
            sqlfiles.write_small_files(sql_dir, count)
        files = sorted(sql_dir.glob("*.sql"))
        log(f"W1 on {vendor.name}: {count} small files")
        self.apply_files(
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
            sqlfiles.write_rows_file(sql_dir, rows)
        megabytes = path.stat().st_size / 1024 / 1024
        # Django's PostgreSQL backend sends a RunSQL string whole; the others split it with
        # sqlparse first, which takes minutes for 50 MB.
        with_django = self.config.django_w2 or vendor.name == "postgresql"
        log(f"W2 on {vendor.name}: one file of {rows} rows, {megabytes:.1f} MiB")
        self.apply_files(
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

    def apply_files(
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
        """Time the client, Django's migrate, sqlmigrate_apply and the floor applying ``files``.

        Each run gets a fresh database and is checked (``check_sql`` gives ``expected``, and
        one history row per file).
        """
        database = f"{self.config.prefix}_{workload.lower()}"
        app = None
        if with_django:
            app_root = self.scratch / "apps" / f"{workload.lower()}_{vendor.name}"
            app = sqlfiles.write_django_app(app_root, f"bench_rawsql_{workload.lower()}", files)
            compileall.compile_dir(str(app_root), quiet=1)
        env = tools.django_env(vendor, database, sql_dir, app)
        # A project that uses RunSQL instead has no django_sqlmigrate (and no system checks of it).
        migrate_env = tools.django_env(vendor, database, sql_dir, app, without_sqlmigrate=True)
        script = tools.write_client_script(
            vendor,
            self.scratch / f"{workload.lower()}-{vendor.name}-client.sql",
            [(path.stem, path, sqlfiles.checksum(path)) for path in files],
        )
        count = len(files)
        client_name = tools.client_name(vendor)
        client_available = tools.client_available(vendor)

        def checks(tool: str, *expected_values: tuple[str, Any]) -> Callable[[], None]:
            def check() -> None:
                for sql, value in expected_values:
                    expect(vendor, database, sql, value, tool)

            return check

        def client() -> Run:
            command = tools.client_script(vendor, database, script)
            return fresh(
                vendor,
                database,
                lambda: run_process(command),
                checks(
                    client_name,
                    (check_sql, expected),
                    (f"SELECT count(*) FROM {tools.HISTORY_TABLE}", count),
                ),
            )

        def apply() -> Run:
            return fresh(
                vendor,
                database,
                lambda: run_process(tools.apply(env)),
                checks(
                    APPLY,
                    (check_sql, expected),
                    ("SELECT count(*) FROM schema_migrations", count),
                ),
            )

        def migrate() -> Run:
            return fresh(
                vendor,
                database,
                lambda: run_process(tools.migrate(migrate_env)),
                checks(MIGRATE, (check_sql, expected)),
            )

        def floor() -> Run:
            return fresh(vendor, database, lambda: run_process(tools.floor(env)), lambda: None)

        runners: dict[str, Callable[[], Run]] = {}
        if client_available:
            runners[client_name] = client
        else:
            self.results.notes.append(
                f"{workload} on {vendor.name}: the {client_name} client is not installed."
            )
        if app is not None:
            runners[MIGRATE] = migrate
        runners[APPLY] = apply
        runners[FLOOR] = floor
        floor()  # warm-up: byte-compile, fill the page cache
        interleave(self.results, workload, vendor.name, runners, self.config.reps)
        reference = client_name if client_available else None
        self.results.references[(workload, vendor.name, APPLY)] = (reference, FLOOR)
        self.results.references[(workload, vendor.name, MIGRATE)] = (reference, FLOOR)
        self.results.references[(workload, vendor.name, FLOOR)] = (reference, None)

    # -- W3 / W4 / W5: an up-to-date database ------------------------------------------------
    def up_to_date(self, vendor: Vendor, count: int, *, fake: bool) -> tuple[str, Path]:
        """A database with ``count`` small files applied (or faked), and their folder."""
        sql_dir = self.scratch / f"uptodate-{count}"
        if not sql_dir.exists():
            sqlfiles.write_small_files(sql_dir, count)
        database = f"{self.config.prefix}_uptodate_{count}"
        vendor.create(database)
        env = tools.django_env(vendor, database, sql_dir)
        started = time.perf_counter()
        run_process(tools.apply(env, fake=fake))
        expect(vendor, database, "SELECT count(*) FROM schema_migrations", count, APPLY)
        log(
            f"  set up {database}: {count} files {'faked' if fake else 'applied'} in "
            f"{time.perf_counter() - started:.1f} s"
        )
        return database, sql_dir

    def w3_w4(self, vendor: Vendor) -> None:
        count = self.config.files
        log(f"W3/W4 on {vendor.name}: status and a no-op apply, {count} files up to date")
        database, sql_dir = self.up_to_date(vendor, count, fake=False)
        env = tools.django_env(vendor, database, sql_dir)
        try:
            # django_sqlmigrate's own start-up (its AppConfig.ready) is the difference between
            # the two floors: what every manage.py command of a project pays for the app.
            bare_env = tools.django_env(vendor, database, sql_dir, without_sqlmigrate=True)
            runners: dict[str, Callable[[], Run]] = {
                FLOOR: functools.partial(run_process, tools.floor(env)),
                STATUS: functools.partial(run_process, tools.status(env)),
                APPLY: functools.partial(run_process, tools.apply(env)),
                FLOOR_WITHOUT_APP: functools.partial(run_process, tools.floor(bare_env)),
            }
            if tools.client_available(vendor):
                query = tools.client_query(
                    vendor, database, "SELECT version, checksum FROM schema_migrations ORDER BY id"
                )
                runners[tools.client_name(vendor)] = functools.partial(run_process, query)
            runners[FLOOR]()  # warm-up
            interleave(self.results, "W3/W4", vendor.name, runners, self.config.fast_reps)
            expect(vendor, database, "SELECT count(*) FROM schema_migrations", count, APPLY)
        finally:
            vendor.drop(database)
        reference = tools.client_name(vendor) if tools.client_available(vendor) else None
        for tool in (STATUS, APPLY, FLOOR, FLOOR_WITHOUT_APP):
            self.results.references[("W3/W4", vendor.name, tool)] = (
                reference,
                None if tool == FLOOR else FLOOR,
            )

    def w5_status(self, vendor: Vendor) -> None:
        for count in self.config.status_sizes:
            log(f"W5 on {vendor.name}: sqlmigrate_status on {count} files up to date")
            database, sql_dir = self.up_to_date(vendor, count, fake=True)
            env = tools.django_env(vendor, database, sql_dir)
            workload = f"W5 status {count}"
            try:
                runners: dict[str, Callable[[], Run]] = {
                    FLOOR: functools.partial(run_process, tools.floor(env)),
                    STATUS: functools.partial(run_process, tools.status(env)),
                }
                runners[FLOOR]()  # warm-up
                interleave(self.results, workload, vendor.name, runners, self.config.fast_reps)
            finally:
                vendor.drop(database)
            self.results.references[(workload, vendor.name, STATUS)] = (None, FLOOR)
            self.results.references[(workload, vendor.name, FLOOR)] = (None, None)

    # -- W5: the splitter, in this process ---------------------------------------------------
    def w5_split(self) -> None:
        import sqlparse

        from django_sqlmigrate.splitter import Dialect, split

        dialects: tuple[Dialect, ...] = ("postgresql", "mysql")
        for dialect in dialects:
            path = sqlfiles.write_split_file(
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
            log(
                f"W5 split {dialect}: {len(source) / 1e6:.1f} MB, {len(statements)} statements, "
                f"{ours_mb_s:.1f} MB/s; sqlparse {theirs_mb_s:.2f} MB/s on "
                f"{len(text) / 1e6:.2f} MB"
            )
