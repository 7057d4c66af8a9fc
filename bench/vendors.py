"""Per vendor: making a fresh database, querying it, and Django's settings for it.

The server addresses come from the same SQLMIGRATE_TEST_* variables as the test suite's
(tests/backends.py), so the benchmark finds the servers the tests use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.backends import Backend, server


@dataclass
class Vendor:
    """One database vendor; ``name`` is Django's vendor name (postgresql, sqlite, mysql)."""

    name: Backend
    scratch: Path
    _made: list[str] = field(default_factory=list)

    # -- databases ---------------------------------------------------------------------------
    def create(self, database: str) -> None:
        """Make ``database`` empty and new (dropping any leftover of the same name)."""
        self.drop(database)
        if self.name == "postgresql":
            self._admin_pg(f'CREATE DATABASE "{database}"', "CHECKPOINT")
        elif self.name == "mysql":
            self._admin_mysql(
                f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        self._made.append(database)

    def drop(self, database: str) -> None:
        if self.name == "postgresql":
            self._admin_pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        elif self.name == "mysql":
            self._admin_mysql(f"DROP DATABASE IF EXISTS `{database}`")
        else:
            for suffix in ("", "-journal", "-wal", "-shm", ".sqlmigrate.lock"):
                Path(str(self.sqlite_path(database)) + suffix).unlink(missing_ok=True)
        if database in self._made:
            self._made.remove(database)

    def drop_all(self) -> None:
        for database in list(self._made):
            self.drop(database)

    def sqlite_path(self, database: str) -> Path:
        return self.scratch / f"{database}.sqlite3"

    def query(self, database: str, sql: str) -> Any:
        """The first column of the first row of ``sql`` on ``database`` (to verify a run)."""
        if self.name == "postgresql":
            with _pg_connect(database) as connection:
                row = connection.execute(sql).fetchone()
        elif self.name == "mysql":
            import MySQLdb

            connection = MySQLdb.connect(**self._mysql_params(), database=database)
            try:
                cursor = connection.cursor()
                cursor.execute(sql)
                row = cursor.fetchone()
            finally:
                connection.close()
        else:
            import sqlite3

            with sqlite3.connect(self.sqlite_path(database)) as lite:
                row = lite.execute(sql).fetchone()
            lite.close()
        return row[0] if row else None

    def _admin_pg(self, *statements: str) -> None:
        with _pg_connect("postgres") as connection:
            for statement in statements:
                connection.execute(statement)

    def _mysql_params(self) -> dict[str, Any]:
        where = server("mysql")
        return {
            "host": where.host,
            "port": where.port,
            "user": where.user,
            "password": where.password,
        }

    def _admin_mysql(self, statement: str) -> None:
        import MySQLdb

        connection = MySQLdb.connect(**self._mysql_params())
        try:
            connection.cursor().execute(statement)
        finally:
            connection.close()

    # -- Django --------------------------------------------------------------------------------
    def django_database(self, database: str) -> dict[str, Any]:
        """DATABASES["default"] for ``database``."""
        if self.name == "sqlite":
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(self.sqlite_path(database))}
        where = server(self.name)
        settings: dict[str, Any] = {
            "ENGINE": f"django.db.backends.{self.name}",
            "NAME": database,
            "HOST": where.host,
            "PORT": str(where.port),
            "USER": where.user,
            "PASSWORD": where.password,
        }
        if self.name == "mysql":
            settings["OPTIONS"] = {"charset": "utf8mb4"}
        return settings


def _pg_connect(database: str) -> Any:
    """An autocommit connection to ``database`` on the test suite's PostgreSQL server."""
    import psycopg

    where = server("postgresql")
    return psycopg.connect(
        host=where.host,
        port=where.port,
        user=where.user,
        password=where.password,
        dbname=database,
        autocommit=True,
    )
