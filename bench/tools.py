"""How each timed tool is started: the vendor's client (psql, mysql, sqlite3), Django's
``migrate``, ``sqlmigrate_apply`` and ``sqlmigrate_status``, and the floor.

Each function returns a ``Command`` for bench.timing to run; nothing here runs a process.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from bench.config import REPO_ROOT
from bench.timing import Command
from bench.vendors import Vendor
from tests.backends import server

MANAGE = REPO_ROOT / "bench" / "manage.py"

# The tools' names: the ``tool`` of a case in the tables and the JSON.
FLOOR = "floor"
FLOOR_WITHOUT_APP = "floor, no sqlmigrate"
APPLY = "sqlmigrate_apply"
STATUS = "sqlmigrate_status"
MIGRATE = "django migrate"

# The history table the client's script keeps, as a shell loop around the client would.
HISTORY_TABLE = "client_history"


# -- manage.py: sqlmigrate, Django's migrate, the floor ------------------------------------------
def django_env(
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


def manage(env: dict[str, str], *args: str) -> Command:
    """``python bench/manage.py <args>`` in ``env`` (from ``django_env``)."""
    return Command([sys.executable, str(MANAGE), *args], env)


def apply(env: dict[str, str], *, fake: bool = False) -> Command:
    return manage(env, "sqlmigrate_apply", "--noinput", *(["--fake"] if fake else []))


def status(env: dict[str, str]) -> Command:
    return manage(env, "sqlmigrate_status")


def migrate(env: dict[str, str]) -> Command:
    """Django's ``migrate``; ``env`` without django_sqlmigrate, as a project using RunSQL."""
    return manage(env, "migrate", "--noinput")


def floor(env: dict[str, str]) -> Command:
    """``bench_floor``: Django's start-up and one query, what no Django command can undercut."""
    return manage(env, "bench_floor")


# -- the vendor's own client, the reference ------------------------------------------------------
def client_name(vendor: Vendor) -> str:
    return {"postgresql": "psql", "mysql": "mysql", "sqlite": "sqlite3"}[vendor.name]


def client_available(vendor: Vendor) -> bool:
    return shutil.which(client_name(vendor)) is not None


def write_client_script(vendor: Vendor, path: Path, files: list[tuple[str, Path, str]]) -> Path:
    """The script the client runs: per file BEGIN; include it; record it; COMMIT.

    ``files`` holds (version, path, checksum). One client process applies them all and
    stops at the first error, as a shell loop calling ``psql -1 -f`` would, minus the
    process start per file.
    """
    create = (
        f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (version varchar(255) PRIMARY KEY, "
        "checksum varchar(80) NOT NULL, applied_at timestamp NOT NULL "
        "DEFAULT CURRENT_TIMESTAMP);"
    )
    lines = []
    if vendor.name == "postgresql":
        lines.append("\\set ON_ERROR_STOP on")
    elif vendor.name == "sqlite":
        lines.append(".bail on")
    lines.append(create)
    for version, file, checksum in files:
        if vendor.name == "postgresql":
            include = f"\\i '{file}'"
        elif vendor.name == "mysql":
            include = f"source {file}"
        else:
            include = f".read '{file}'"
        lines += [
            "BEGIN;",
            include,
            f"INSERT INTO {HISTORY_TABLE} (version, checksum) VALUES ('{version}', '{checksum}');",
            "COMMIT;",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def client_query(vendor: Vendor, database: str, sql: str) -> Command:
    """The client running one query on ``database``, as a shell script would."""
    script = client_script(vendor, database, Path(os.devnull))
    argv, env = script.argv, script.env
    if vendor.name == "postgresql":
        return Command([*argv[:-2], "-c", sql], env)
    if vendor.name == "mysql":
        return Command([*argv, "-e", sql], env)
    return Command([*argv, sql], env)


def client_script(vendor: Vendor, database: str, script: Path) -> Command:
    """The client running ``script`` (from ``write_client_script``) on ``database``."""
    env = dict(os.environ)
    if vendor.name == "postgresql":
        where = server("postgresql")
        if where.password:
            env["PGPASSWORD"] = where.password
        argv = [
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", where.host,
            "-p", str(where.port), "-U", where.user, "-d", database, "-f", str(script),
        ]  # fmt: skip
        return Command(argv, env, Path(os.devnull))
    if vendor.name == "mysql":
        where = server("mysql")
        if where.password:
            env["MYSQL_PWD"] = where.password
        argv = [
            "mysql", "--batch", "--protocol=TCP", "-h", where.host, "-P", str(where.port),
            "-u", where.user, database,
        ]  # fmt: skip
        return Command(argv, env, script)
    return Command(["sqlite3", "-bail", str(vendor.sqlite_path(database))], env, script)
