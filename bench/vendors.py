"""Per vendor: making a fresh database, Django's settings for it, and its command-line client.

The server addresses come from the same SQLMIGRATE_TEST_* variables as the test suite's
(tests/backends.py), so the benchmark finds the servers the tests use.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.backends import Backend, server

HISTORY_TABLE = "client_history"


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

    # -- the vendor's own client, the reference --------------------------------------------
    @property
    def client_name(self) -> str:
        return {"postgresql": "psql", "mysql": "mysql", "sqlite": "sqlite3"}[self.name]

    def client_available(self) -> bool:
        return shutil.which(self.client_name) is not None

    def write_client_script(self, path: Path, files: list[tuple[str, Path, str]]) -> Path:
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
        if self.name == "postgresql":
            lines.append("\\set ON_ERROR_STOP on")
        elif self.name == "sqlite":
            lines.append(".bail on")
        lines.append(create)
        for version, file, checksum in files:
            if self.name == "postgresql":
                include = f"\\i '{file}'"
            elif self.name == "mysql":
                include = f"source {file}"
            else:
                include = f".read '{file}'"
            lines += [
                "BEGIN;",
                include,
                f"INSERT INTO {HISTORY_TABLE} (version, checksum) "
                f"VALUES ('{version}', '{checksum}');",
                "COMMIT;",
            ]
        path.write_text("\n".join(lines) + "\n")
        return path

    def client_query(self, database: str, sql: str) -> tuple[list[str], dict[str, str]]:
        """(argv, environment) that run one query with the client, as a shell script would."""
        argv, env, _ = self.client_command(database, Path(os.devnull))
        if self.name == "postgresql":
            return [*argv[:-2], "-c", sql], env
        if self.name == "mysql":
            return [*argv, "-e", sql], env
        return [*argv, sql], env

    def client_command(self, database: str, script: Path) -> tuple[list[str], dict[str, str], Path]:
        """(argv, environment, stdin file) that run ``script`` on ``database``."""
        env = dict(os.environ)
        if self.name == "postgresql":
            where = server("postgresql")
            if where.password:
                env["PGPASSWORD"] = where.password
            argv = [
                "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", where.host,
                "-p", str(where.port), "-U", where.user, "-d", database, "-f", str(script),
            ]  # fmt: skip
            return argv, env, Path(os.devnull)
        if self.name == "mysql":
            where = server("mysql")
            if where.password:
                env["MYSQL_PWD"] = where.password
            argv = [
                "mysql", "--batch", "--protocol=TCP", "-h", where.host, "-P", str(where.port),
                "-u", where.user, database,
            ]  # fmt: skip
            return argv, env, script
        return ["sqlite3", "-bail", str(self.sqlite_path(database))], env, script


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
