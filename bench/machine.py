"""What the figures were measured on: the machine, the libraries, the clients and the servers.

Asks the system and the servers (``psql --version``, ``SELECT version()``); bench.report only
writes down what this returns.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.vendors import Vendor
from tests.backends import probe


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


def server_versions(vendors: Iterable[Vendor]) -> dict[str, str]:
    """Each reachable server's version (SQLite's library version), by vendor name."""
    versions: dict[str, str] = {}
    for vendor in vendors:
        name = vendor.name
        if probe(name) is not None:
            continue
        sql = "SELECT sqlite_version()" if name == "sqlite" else "SELECT version()"
        database = "postgres" if name == "postgresql" else ("mysql" if name == "mysql" else "v")
        try:
            versions[name] = str(vendor.query(database, sql))
        finally:
            if name == "sqlite":
                vendor.drop(database)
    return versions
