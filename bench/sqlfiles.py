"""Generate the SQL files the workloads apply (in a temporary folder, never committed).

Every generator is deterministic, so two runs time the same bytes. Nothing here runs them:
see bench.workloads.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# The SQL of W1 and W2 is portable: the same files run on PostgreSQL, SQLite and MariaDB.
SMALL_FILE = """\
-- Table {n} of the schema: a table, an index on it and a few rows.
CREATE TABLE t{n:05d} (
    id bigint PRIMARY KEY,
    name varchar(100) NOT NULL,
    created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX t{n:05d}_name_idx ON t{n:05d} (name);
INSERT INTO t{n:05d} (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three');
"""

ROWS_TABLE = """\
-- A data migration: the table, then its rows in multi-row INSERTs, as pg_dump --inserts
-- --rows-per-insert writes them.
CREATE TABLE bench_rows (
    id bigint PRIMARY KEY,
    name varchar(100) NOT NULL,
    email varchar(200) NOT NULL,
    amount numeric(12, 2) NOT NULL,
    created_at timestamp NOT NULL,
    note varchar(200) NOT NULL
);
"""
ROWS_PER_INSERT = 1000
INSERT_HEAD = "INSERT INTO bench_rows (id, name, email, amount, created_at, note) VALUES\n"


def _row(i: int) -> str:
    # About 100 bytes a row, with a doubled quote now and then, like real text.
    note = "it''s row number" if i % 7 == 0 else "row number"
    return (
        f"({i}, 'User {i:07d}', 'user{i:07d}@example.com', {i % 100000}.{i % 100:02d}, "
        f"'2024-{i % 12 + 1:02d}-{i % 28 + 1:02d} {i % 24:02d}:{i % 60:02d}:00', '{note} {i}')"
    )


def write_small_files(folder: Path, count: int) -> list[Path]:
    """W1: ``count`` files, each a CREATE TABLE, a CREATE INDEX and a 3-row INSERT."""
    folder.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(count)))
    paths = []
    for n in range(1, count + 1):
        path = folder / f"{n:0{width}d}-create-table-t{n:05d}.sql"
        path.write_text(SMALL_FILE.format(n=n))
        paths.append(path)
    return paths


def write_rows_file(folder: Path, rows: int) -> Path:
    """W2: one file that creates ``bench_rows`` and fills it with ``rows`` rows."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "001-load-bench-rows.sql"
    with path.open("w") as out:
        out.write(ROWS_TABLE)
        for first in range(1, rows + 1, ROWS_PER_INSERT):
            last = min(rows, first + ROWS_PER_INSERT - 1)
            out.write(INSERT_HEAD)
            out.write(",\n".join(_row(i) for i in range(first, last + 1)))
            out.write(";\n")
    return path


# W5: files that exercise every construct the splitter handles, mostly data (as big files are).
_PG_CHUNK = """\
/* Chunk {n}: /* nested */ comments, dollar quotes, E-strings and quoted identifiers. */
CREATE OR REPLACE FUNCTION "Touch{n}"() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.updated_at := now();  -- a ; inside a dollar quote
    RETURN NEW;
END;
$fn$;
INSERT INTO "Events" (id, kind, payload, note) VALUES
{rows};
UPDATE "Events" SET note = E'line\\none; it\\'s ok' WHERE id IN (SELECT id FROM "Events" WHERE kind = 'a;b');
"""
_MY_CHUNK = """\
/*!40101 SET @saved_cs_client = @@character_set_client */;
# Chunk {n}: backslash escapes, backticks, executable comments and a stored procedure.
INSERT INTO `events` (`id`, `kind`, `payload`, `note`) VALUES
{rows};
DELIMITER //
CREATE PROCEDURE touch_{n}()
BEGIN
    UPDATE `events` SET note = 'a;b' WHERE id = {n};
END //
DELIMITER ;
UPDATE `events` SET note = 'line\\none; it\\'s ok' WHERE kind = "x;y";
"""
_SPLIT_ROWS = 200


def _pg_rows(n: int) -> str:
    return ",\n".join(
        f'({n * _SPLIT_ROWS + i}, \'kind;{i % 5}\', \'{{"k": "v{i}", "s": "a\'\'b"}}\', '
        f"E'tab\\there, quote \\' and ; semicolon {i}')"
        for i in range(_SPLIT_ROWS)
    )


def _my_rows(n: int) -> str:
    return ",\n".join(
        f"({n * _SPLIT_ROWS + i}, 'kind;{i % 5}', '{{\\\"k\\\": \\\"v{i}\\\"}}', "
        f'"tab\\there, quote \\\' and ; semicolon {i}")'
        for i in range(_SPLIT_ROWS)
    )


def write_split_file(folder: Path, dialect: str, size: int) -> Path:
    """W5: about ``size`` bytes of ``dialect`` SQL (postgresql or mysql)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"split-{dialect}.sql"
    chunk, rows = (_PG_CHUNK, _pg_rows) if dialect == "postgresql" else (_MY_CHUNK, _my_rows)
    written = 0
    n = 0
    with path.open("w") as out:
        while written < size:
            text = chunk.format(n=n, rows=rows(n))
            out.write(text)
            written += len(text.encode())
            n += 1
    return path


def checksum(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def write_django_app(root: Path, label: str, files: list[Path]) -> Path:
    """A throwaway app with one ``RunSQL`` migration per file, as a Django user would write it.

    Each migration holds its file's SQL as a string literal; Django splits it with sqlparse.
    """
    app = root / label
    migrations = app / "migrations"
    migrations.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    previous = None
    for number, path in enumerate(files, start=1):
        name = f"{number:04d}_{path.stem.split('-', 1)[1].replace('-', '_')}"
        dependencies = f"[({label!r}, {previous!r})]" if previous else "[]"
        (migrations / f"{name}.py").write_text(
            "from django.db import migrations\n\n\n"
            "class Migration(migrations.Migration):\n"
            f"    dependencies = {dependencies}\n"
            f"    operations = [migrations.RunSQL({path.read_text()!r})]\n"
        )
        previous = name
    return app
