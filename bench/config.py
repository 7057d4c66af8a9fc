"""What a run of the bench measures: ``Config``, and the command line that fills it in."""

from __future__ import annotations

import argparse
import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.backends import BACKENDS, Backend

REPO_ROOT = Path(__file__).resolve().parent.parent
DESCRIPTION = (
    "The benchmark: django-sqlmigrate against psql (mysql, sqlite3) and Django's ``migrate``."
)


@dataclass
class Config:
    """Sizes and repetitions; its fields, in this order, are the JSON document's ``config``."""

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


def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench", description=DESCRIPTION)
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
