"""Which database server the suite runs against, read from the environment.

Shared by tests/settings.py, tests/conftest.py and scripts/runtests.py, so the settings, the
reachability check and the runner's probe always agree on where a server is.

    SQLMIGRATE_TEST_BACKEND          sqlite (default) | postgresql | mysql
    SQLMIGRATE_TEST_PG_HOST          127.0.0.1
    SQLMIGRATE_TEST_PG_PORT          5432
    SQLMIGRATE_TEST_PG_USER          postgres
    SQLMIGRATE_TEST_PG_PASSWORD      (empty)
    SQLMIGRATE_TEST_MYSQL_HOST       127.0.0.1
    SQLMIGRATE_TEST_MYSQL_PORT       3306
    SQLMIGRATE_TEST_MYSQL_USER       root
    SQLMIGRATE_TEST_MYSQL_PASSWORD   (empty)
    SQLMIGRATE_TEST_DB_NAME          sqlmigrate: the databases are NAME and NAME_other, the test
                                     databases test_NAME and test_NAME_other; give concurrent
                                     runs on one server (two checkouts, say) different names
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

Backend = Literal["sqlite", "postgresql", "mysql"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgresql", "mysql")
SERVER_BACKENDS: tuple[Backend, ...] = ("postgresql", "mysql")

_ENV_PREFIX = {"postgresql": "SQLMIGRATE_TEST_PG_", "mysql": "SQLMIGRATE_TEST_MYSQL_"}
_DEFAULTS = {
    "postgresql": ("127.0.0.1", "5432", "postgres"),
    "mysql": ("127.0.0.1", "3306", "root"),
}
CONNECT_TIMEOUT = 3


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def in_ci() -> bool:
    """True when CI is set to a true value, as CI services do (CI=true)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def selected_backend() -> Backend:
    """The backend named by SQLMIGRATE_TEST_BACKEND (sqlite when unset)."""
    name = os.environ.get("SQLMIGRATE_TEST_BACKEND", "").strip().lower() or "sqlite"
    for backend in BACKENDS:
        if name == backend:
            return backend
    raise ValueError(f"SQLMIGRATE_TEST_BACKEND={name!r} is not one of {', '.join(BACKENDS)}.")


def server(backend: Backend) -> Server:
    """Where the PostgreSQL or MySQL/MariaDB server for the tests listens."""
    prefix = _ENV_PREFIX[backend]
    host, port, user = _DEFAULTS[backend]
    return Server(
        host=os.environ.get(f"{prefix}HOST", host),
        port=int(os.environ.get(f"{prefix}PORT", port)),
        user=os.environ.get(f"{prefix}USER", user),
        password=os.environ.get(f"{prefix}PASSWORD", ""),
    )


def probe(backend: Backend) -> str | None:
    """Connect to the backend's server once; return why that failed, or None if it worked."""
    if backend == "sqlite":
        return None
    where = server(backend)
    try:
        if backend == "postgresql":
            import psycopg

            psycopg.connect(
                host=where.host,
                port=where.port,
                user=where.user,
                password=where.password,
                dbname="postgres",
                connect_timeout=CONNECT_TIMEOUT,
            ).close()
        else:
            import MySQLdb

            MySQLdb.connect(
                host=where.host,
                port=where.port,
                user=where.user,
                password=where.password,
                connect_timeout=CONNECT_TIMEOUT,
            ).close()
    except ImportError as exc:
        return f"driver not installed: {exc}"
    except Exception as exc:  # any failure means "not reachable": say why
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{where}: {first_line}"
    return None
