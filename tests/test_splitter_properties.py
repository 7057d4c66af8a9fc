"""Property-based tests of django_sqlmigrate.splitter against each database's own judgement.

- SQLite: on generated token soups, the statements end exactly where ``sqlite3_complete()``
  (``sqlite3.complete_statement``) says a statement is complete.
- PostgreSQL: generated valid scripts split into exactly the statements PostgreSQL's own
  parser finds (pglast, the server's parser as a library).
- MySQL/MariaDB: generated scripts of stored programs (nested blocks, IF, CASE, loops, labels,
  handlers, ``begin``/``end`` as names), strings, backticks and comments, written without
  ``DELIMITER``, split into the statements the generator wrote; MariaDB runs them one by one
  with the same result as the ``mariadb`` client gives for the same script with ``DELIMITER``.

Each runs on its own backend's pass of the suite. In CI the examples are derandomized and
bounded and no example database is written; ``SQLMIGRATE_HYPOTHESIS_PROFILE=long`` runs many
more random ones (see docs/testing.md).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_sqlmigrate.splitter import SplitError, Statement, split
from tests.backends import in_ci

from .helpers import vendor

LONG = os.environ.get("SQLMIGRATE_HYPOTHESIS_PROFILE", "").strip().lower() == "long"
# Hypothesis keeps caches in .hypothesis/ under the working directory, the repository's root;
# give it a folder of its own outside, unless the caller named one.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "sqlmigrate-hypothesis")
)


def profile(examples: int, long_examples: int) -> settings:
    """Derandomized and bounded in CI; random and long with SQLMIGRATE_HYPOTHESIS_PROFILE=long.

    Neither writes an example database (no .hypothesis folder in the repository).
    """
    return settings(
        max_examples=long_examples if LONG else examples,
        derandomize=not LONG,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --------------------------------------------------------------------------------------------
# SQLite: sqlite3_complete() decides where statements end
# --------------------------------------------------------------------------------------------

SQLITE_TOKENS = (
    ";",
    " ",
    "\n",
    "\t",
    "\r",
    "\f",
    "\v",
    "-- c; END;\n",
    "/* ; END; */",
    "/**/",
    "-",
    "/",
    "'a;b'",
    "'it''s'",
    '"q;"',
    "`b;`",
    "[s;]",
    "CREATE",
    "create",
    "TRIGGER",
    "Trigger",
    "TEMP",
    "TEMPORARY",
    "END",
    "end",
    "EXPLAIN",
    "BEGIN",
    "SELECT",
    "CASE",
    "x",
    "1",
    "$",
    "é",
    "(",
    ")",
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN",
    "CREATE TEMP TRIGGER tr BEFORE DELETE ON t BEGIN SELECT 1;",
    "; END;",
    " END",
)
# One that does not close at the end of the soup, now and then.
SQLITE_OPEN = ("", "", "", "'x", "/* x", '"x', "[x", "`x")

sqlite_soups = st.builds(
    lambda tokens, tail: "".join(tokens) + tail,
    st.lists(st.sampled_from(SQLITE_TOKENS), max_size=40),
    st.sampled_from(SQLITE_OPEN),
)


def sqlite_cuts(text: str) -> list[int]:
    """Where sqlite3 would send statements: after each ";" that completes one."""
    cuts: list[int] = []
    last = 0
    for index, char in enumerate(text):
        if char == ";" and sqlite3.complete_statement(text[last : index + 1]):
            cuts.append(index + 1)
            last = index + 1
    return cuts


def only_gap(piece: str) -> bool:
    """Whether ``piece`` holds nothing SQLite would run: no token but whitespace and comments.

    sqlite3_complete decides (inside a trigger body "; END;" ends it only if nothing else lies
    between), once the "\\v" bytes SQLite does read as whitespace are spaces: those at the
    start, which the sqlite3 shell strips, and those inside a run of other whitespace.
    """
    piece = re.sub(
        "[ \t\n\f\r]\v+", lambda run: run.group()[0] + " " * (len(run.group()) - 1), piece
    )
    piece = piece.lstrip(" \t\n\f\r\v")
    return sqlite3.complete_statement(f"CREATE TRIGGER x BEGIN SELECT 1;{piece}\nEND;")


def shifted(statements: Iterator[Statement], offset: int) -> list[tuple[int, int]]:
    return [(s.start + offset, s.end + offset) for s in statements]


@pytest.mark.skipif(vendor() != "sqlite", reason="runs on the SQLite pass of the suite")
@profile(400, 20000)
@given(sqlite_soups)
def test_sqlite_statements_end_where_sqlite3_complete_says(text: str) -> None:
    source = text.encode()
    cuts = sqlite_cuts(text)
    expected: list[tuple[int, int]] = []
    last = 0
    for cut in cuts:
        piece = text[last:cut]
        start = len(text[:last].encode())
        found = shifted(split(piece.encode(), "sqlite"), start)
        # one statement per piece sqlite3 sends, none for a piece of comments and whitespace
        assert len(found) == (0 if only_gap(piece[:-1]) else 1)
        if found:
            # the statement ends at the ";" that ended the piece (trailing whitespace trimmed)
            assert source[found[0][1] : len(text[:cut].encode()) - 1].strip(b" \t\n\f\r\v") == b""
        expected += found
        last = cut
    tail = text[last:]
    start = len(text[:last].encode())
    if not sqlite3.complete_statement(tail + "\n;"):
        # sqlite3 finds the rest of the file incomplete: so does the splitter, where it starts
        with pytest.raises(SplitError) as tail_error:
            list(split(tail.encode(), "sqlite"))
        whole: list[tuple[int, int]] = []
        with pytest.raises(SplitError) as whole_error:
            whole.extend((s.start, s.end) for s in split(source, "sqlite"))
        assert whole == expected
        assert whole_error.value.offset == start + tail_error.value.offset
        return
    found = shifted(split(tail.encode(), "sqlite"), start)
    assert len(found) == (0 if only_gap(tail) else 1)
    expected += found
    assert [(s.start, s.end) for s in split(source, "sqlite")] == expected


# --------------------------------------------------------------------------------------------
# PostgreSQL: the server's parser (pglast) finds the same statements
# --------------------------------------------------------------------------------------------

PG_GAPS = st.sampled_from(
    [" ", "\n", "\t", "  ", " -- c; 'x END\n", " /* a /* ; */ b; */ ", "/**/", " /* ' */ "]
)
# names: "end" is reserved in PostgreSQL, "begin" is not
PG_WORDS = st.sampled_from(["a", "x", "begin", '"end"', '"a;""b"', "foo$bar"])
PG_LITERALS = st.sampled_from(
    [
        "1",
        "2.5e3",
        "'a;b'",
        "'it''s; fine'",
        "'back\\'",
        "E'it\\'s; \\\\'",
        "e'\\n;'",
        "$$a; 'b$$",
        "$fn$ $$ ; $fn$",
        "$_1$;$_1$",
        "U&'d\\0061t;'",
        "B'101'",
        "X'1F'",
        "N'x;y'",
        "'a'\n  'b'",
        "'x'::text",
        "ARRAY[1, 2]",
        "NULL",
        "TRUE",
    ]
)


@st.composite
def pg_expression(draw: st.DrawFn, depth: int = 0) -> str:
    gap = draw(PG_GAPS)
    kind = draw(st.integers(0, 5 if depth < 2 else 1))
    if kind == 0:
        return draw(PG_LITERALS)
    if kind == 1:
        return draw(st.sampled_from(["1", "a", "'z'"])) + gap + "+" + gap + "2"
    if kind == 2:
        return "(" + gap + draw(pg_expression(depth + 1)) + gap + ")"
    if kind == 3:
        return (
            f"CASE{gap}WHEN{gap}{draw(pg_expression(depth + 1))} IS NOT NULL{gap}THEN "
            f"{draw(pg_expression(depth + 1))}{gap}ELSE {draw(pg_expression(depth + 1))}{gap}END"
        )
    if kind == 4:
        return f"coalesce({draw(pg_expression(depth + 1))},{gap}{draw(pg_expression(depth + 1))})"
    return f"(SELECT {draw(pg_expression(depth + 1))} AS v)"


@st.composite
def pg_select(draw: st.DrawFn, names: bool = True) -> str:
    """A SELECT; with ``names``, also a FROM clause that uses begin and end as names.

    psql's BEGIN ATOMIC heuristic counts every BEGIN and END word (t.end included), so
    bodies of SQL-standard functions get none: psql would split those wrongly too.
    """
    columns = draw(st.lists(pg_expression(), min_size=1, max_size=3))
    gap = draw(PG_GAPS)
    select = "SELECT" + gap + ("," + gap).join(columns)
    if names and draw(st.booleans()):
        select += f"{gap}FROM t AS {draw(PG_WORDS)}{gap}WHERE t.end = begin.x"
    return select


@st.composite
def pg_statement(draw: st.DrawFn) -> str:
    gap = draw(PG_GAPS)
    kind = draw(st.integers(0, 8))
    if kind <= 2:
        return draw(pg_select())
    if kind == 3:
        head = draw(
            st.sampled_from(
                [
                    "CREATE FUNCTION",
                    "create or replace function",
                    "CREATE /* a /* b */ */ FUNCTION",
                    "CREATE /* x */ OR /* y /* z */ */ REPLACE -- c\n FUNCTION",
                    "CREATE PROCEDURE",
                ]
            )
        )
        body = draw(st.lists(pg_select(names=False), min_size=1, max_size=3))
        returns = "" if "PROCEDURE" in head else " RETURNS int"
        return (
            f"{head} f{draw(st.integers(0, 9))}(a int){returns}{gap}LANGUAGE sql{gap}"
            f"BEGIN ATOMIC{gap}" + "".join(s + ";" + gap for s in body) + "END"
        )
    if kind == 4:
        select = draw(pg_select())
        return (
            f"CREATE OR REPLACE FUNCTION g() RETURNS int AS $body${gap}{select}; "
            f"$$ ; $x$ $body$ LANGUAGE sql"
        )
    if kind == 5:
        return (
            f"CREATE RULE r AS ON INSERT TO t DO ALSO ({gap}INSERT INTO a VALUES (1);"
            f"{gap}INSERT INTO b VALUES ({draw(pg_expression())}))"
        )
    if kind == 6:
        return draw(st.sampled_from(["BEGIN", "COMMIT", "END", "START TRANSACTION", "ROLLBACK"]))
    if kind == 7:
        value = draw(st.sampled_from(["public", "'a;b'"]))
        return f"SET{gap}search_path{gap}={gap}{value}"
    return f"INSERT INTO t (a){gap}VALUES ({draw(pg_expression())}),{gap}({draw(pg_expression())})"


pg_scripts = st.lists(
    st.tuples(pg_statement(), PG_GAPS, st.sampled_from([";", ";", ";;", "; ;"])),
    min_size=1,
    max_size=6,
)


@pytest.mark.skipif(vendor() != "postgresql", reason="runs on the PostgreSQL pass of the suite")
@profile(300, 20000)
@given(pg_scripts, st.booleans())
def test_postgresql_statements_are_what_the_parser_sees(
    parts: list[tuple[str, str, str]], last_terminated: bool
) -> None:
    import pglast

    script = "".join(statement + gap + end for statement, gap, end in parts)
    if not last_terminated:
        script = script.rstrip(" ;\n\t")
    source = script.encode()
    ours = [source[s.start : s.end].decode() for s in split(source, "postgresql")]
    theirs = [script[part].rstrip() for part in pglast.split(script, only_slices=True)]
    assert ours == theirs
    assert len(ours) == len(parts)


# --------------------------------------------------------------------------------------------
# MySQL / MariaDB: the server runs the split statements as the mariadb client runs the file
# --------------------------------------------------------------------------------------------

MY_GAPS = st.sampled_from(
    [" ", "\n  ", " /* ; end; begin */ ", " -- end;\n  ", " # begin;\n  ", "\t"]
)
MY_STRINGS = st.sampled_from(
    [
        "'a;b'",
        "'it''s; END'",
        "'back\\'slash; begin'",
        '"dq; \\" end;"',
        "'#not; a comment'",
        "'-- nor; this'",
        "'/* ; */'",
        "CONCAT('x', ';')",
        "IF(1 > 0, 'y;', 'n')",
        "REPEAT('r;', 2)",
    ]
)
# simple statements that use begin and end as names, in all the positions the issue lists
MY_SIMPLE = st.sampled_from(
    [
        "INSERT INTO log (what) VALUES ({s})",
        "INSERT INTO log (what) SELECT end FROM t ORDER BY id",
        "INSERT INTO log (what) SELECT t.begin FROM t JOIN t AS end ON end.id = t.id",
        "INSERT INTO log (what) SELECT CONCAT(begin, '-', `end`) FROM t AS begin",
        "INSERT INTO log (what) SELECT CASE WHEN end > 15 THEN begin ELSE end END FROM t",
        "INSERT INTO log (what) SELECT CASE end WHEN 10 THEN {s} ELSE 'other' END FROM t",
        "UPDATE t SET end = end + 1",
        "UPDATE t SET begin = begin + 1 WHERE id = 1",
        "SET @v = (SELECT begin FROM t WHERE id = 1)",
        "INSERT INTO log (what) VALUES (CONCAT('v=', @v))",
    ]
)

MyTree = tuple[Any, ...]


def my_trees() -> st.SearchStrategy[list[MyTree]]:
    """Statement lists of a stored program body, nested up to a few levels."""
    simple = st.tuples(st.just("simple"), MY_SIMPLE, MY_STRINGS)
    return st.lists(
        st.recursive(
            simple,
            lambda inner: st.one_of(
                st.tuples(st.just("block"), st.lists(inner, max_size=3), st.booleans()),
                st.tuples(
                    st.just("if"),
                    st.lists(inner, min_size=1, max_size=2),
                    st.lists(inner, max_size=2),
                    st.lists(inner, max_size=2),
                ),
                st.tuples(
                    st.just("case"),
                    st.lists(inner, min_size=1, max_size=2),
                    st.lists(inner, min_size=1, max_size=2),
                ),
                st.tuples(
                    st.just("loop"),
                    st.sampled_from(["LOOP", "REPEAT", "FOR", "WHILE"]),
                    st.lists(inner, min_size=1, max_size=2),
                ),
            ),
            max_leaves=8,
        ),
        min_size=1,
        max_size=4,
    )


class Renderer:
    """Turns generated trees into SQL, with labels unique within a program."""

    def __init__(self, gap: str) -> None:
        self.gap = gap
        self.labels = 0

    def statements(self, trees: list[MyTree]) -> str:
        return "".join(self.statement(tree) + ";" + self.gap for tree in trees)

    def statement(self, tree: MyTree) -> str:
        g = self.gap
        kind = tree[0]
        if kind == "simple":
            return str(tree[1]).format(s=tree[2])
        if kind == "block":
            handler = ""
            if tree[2]:
                handler = (
                    f"DECLARE CONTINUE HANDLER FOR SQLSTATE '23000', NOT FOUND{g}BEGIN{g}"
                    f"INSERT INTO log (what) VALUES ('handled; end');{g}END;{g}"
                )
            return f"BEGIN{g}{handler}{self.statements(tree[1])}END"
        if kind == "if":
            text = f"IF (SELECT COUNT(*) FROM t) > 1 THEN{g}{self.statements(tree[1])}"
            if tree[2]:
                text += f"ELSEIF @v IS NULL THEN{g}{self.statements(tree[2])}"
            if tree[3]:
                text += f"ELSE{g}{self.statements(tree[3])}"
            return text + "END IF"
        if kind == "case":
            return (
                f"CASE (SELECT MIN(id) FROM t){g}WHEN 1 THEN{g}{self.statements(tree[1])}"
                f"ELSE{g}{self.statements(tree[2])}END CASE"
            )
        self.labels += 1
        label = f"l{self.labels}"
        body = self.statements(tree[2])
        if tree[1] == "LOOP":
            return f"{label}: LOOP{g}{body}LEAVE {label};{g}END LOOP {label}"
        if tree[1] == "REPEAT":
            return f"{label}: REPEAT{g}{body}UNTIL TRUE END REPEAT {label}"
        if tree[1] == "FOR":
            return f"{label}: FOR i IN 1..2 DO{g}{body}END FOR {label}"
        return f"{label}: WHILE (SELECT COUNT(*) FROM log) < 0 DO{g}{body}END WHILE {label}"


@st.composite
def my_scripts(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """(statements that make stored programs and data, the CALLs that run them)."""
    statements = [
        "CREATE TABLE t (id INT PRIMARY KEY, `begin` INT, `end` INT)",
        "CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(200))",
        "CREATE TABLE fired (id INT)",
        "INSERT INTO t VALUES (1, 10, 20), (2, 30, 40)",
    ]
    calls: list[str] = []
    for number in range(draw(st.integers(1, 3))):
        gap = draw(MY_GAPS)
        render = Renderer(gap)
        trees = draw(my_trees())
        kind = draw(st.sampled_from(["procedure", "procedure", "function", "trigger", "bare"]))
        if kind == "procedure":
            body = f"BEGIN{gap}{render.statements(trees)}END"
            statements.append(f"CREATE PROCEDURE p{number}(){gap}{body}")
            calls.append(f"CALL p{number}()")
        elif kind == "bare":  # a body that is one compound statement, without BEGIN
            statements.append(f"CREATE PROCEDURE p{number}(){gap}{render.statement(trees[0])}")
            calls.append(f"CALL p{number}()")
        elif kind == "function":
            statements.append(
                f"CREATE FUNCTION f{number}() RETURNS VARCHAR(10) CHARACTER SET utf8mb4 "
                f"DETERMINISTIC{gap}BEGIN{gap}{render.statements(trees)}RETURN 'f;{number}';{gap}END"
            )
            calls.append(f"SET @r{number} = f{number}()")
        else:
            statements.append(
                f"CREATE TRIGGER tr{number} AFTER INSERT ON fired FOR EACH ROW{gap}"
                f"BEGIN{gap}{render.statements(trees)}END"
            )
            calls.append(f"INSERT INTO fired VALUES ({number})")
        if draw(st.booleans()):
            statements.append(f"INSERT INTO log (what) VALUES ({draw(MY_STRINGS)}){draw(MY_GAPS)}")
    return statements, calls


def my_connect(database: str | None = None) -> Any:
    import MySQLdb

    params = dict(connections["default"].get_connection_params())
    params.pop("database", None)
    params.pop("db", None)
    if database:
        params["database"] = database
    params["autocommit"] = True
    return MySQLdb.connect(**params)


def my_state(database: str) -> tuple[Any, ...]:
    """The rows and the stored programs of ``database``."""
    connection = my_connect(database)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT id, what FROM log ORDER BY id")
        log = cursor.fetchall()
        cursor.execute("SELECT * FROM t ORDER BY id")
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT ROUTINE_NAME, ROUTINE_DEFINITION FROM information_schema.ROUTINES "
            "WHERE ROUTINE_SCHEMA = %s ORDER BY ROUTINE_NAME",
            [database],
        )
        routines = cursor.fetchall()
        cursor.execute(
            "SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS "
            "WHERE TRIGGER_SCHEMA = %s ORDER BY TRIGGER_NAME",
            [database],
        )
        return log, rows, routines, cursor.fetchall()
    finally:
        connection.close()


def my_client() -> str:
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        if in_ci():
            pytest.fail("CI=true and neither the mariadb nor the mysql client is installed")
        pytest.skip("needs the mariadb (or mysql) command-line client")
    return client


@contextmanager
def scratch_databases() -> Iterator[tuple[str, str]]:
    base = connections["default"].settings_dict["NAME"]
    names = (f"{base}_split_ours", f"{base}_split_cli")
    connection = my_connect()
    try:
        yield names
    finally:
        for name in names:
            connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()


def my_reset(names: tuple[str, str]) -> None:
    connection = my_connect()
    try:
        for name in names:
            connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
            connection.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        connection.close()


@pytest.mark.skipif(vendor() != "mysql", reason="runs on the MariaDB pass of the suite")
@pytest.mark.django_db
def test_mysql_split_statements_run_as_the_mariadb_client_runs_the_file() -> None:
    client = my_client()
    where = connections["default"].get_connection_params()

    @profile(12, 500)
    @given(my_scripts())
    def check(script: tuple[list[str], list[str]]) -> None:
        statements, calls = script
        source = "".join(s + ";\n" for s in statements).encode()
        ours = [source[s.start : s.end].decode() for s in split(source, "mysql")]
        assert ours == [s.strip() for s in statements]

        # The same file with DELIMITER, as people write it for the mariadb client, splits the
        # same way.
        delimited = "DELIMITER $$\n" + "".join(s + "$$\n" for s in statements) + "DELIMITER ;\n"
        assert [
            delimited.encode()[s.start : s.end].decode() for s in split(delimited.encode(), "mysql")
        ] == ours

        my_reset(names)
        mine = my_connect(names[0])
        try:
            cursor = mine.cursor()
            for statement in [*ours, *calls]:
                cursor.execute(statement)
                while cursor.nextset():
                    pass
        finally:
            mine.close()

        command = [client, "--batch", "--comments", "--default-character-set=utf8mb4"]
        command += [f"--host={where.get('host', '127.0.0.1')}", f"--user={where['user']}"]
        if where.get("port"):
            command.append(f"--port={where['port']}")
        env = {**os.environ}
        if where.get("password"):
            env["MYSQL_PWD"] = where["password"]
        result = subprocess.run(
            [*command, names[1]],
            input=delimited + "".join(call + ";\n" for call in calls),
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        state = my_state(names[0])
        assert state == my_state(names[1])
        programs = sum(s.startswith(("CREATE PROCEDURE", "CREATE FUNCTION")) for s in statements)
        assert (len(state[2]), len(state[3])) == (
            programs,
            sum(s.startswith("CREATE TRIGGER") for s in statements),
        )

    with scratch_databases() as names:
        check()
