"""Tests for django_sqlmigrate.splitter: exact statement texts for every dialect rule."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections

from django_sqlmigrate.splitter import (
    Dialect,
    SplitError,
    Statement,
    leading_words,
    split,
)

from .helpers import fails, history, run, scalar, tables, vendor

if TYPE_CHECKING:
    from pytest_django import Settings

SQL_DIR = Path(__file__).parent / "sql" / "splitter"
DIALECTS: tuple[Dialect, ...] = ("postgresql", "sqlite", "mysql")


def texts(source: bytes, dialect: Dialect) -> list[bytes]:
    """The exact bytes each statement sends, in order."""
    return [source[s.start : s.end] for s in split(source, dialect)]


def split_error(source: bytes, dialect: Dialect) -> SplitError:
    with pytest.raises(SplitError) as caught:
        list(split(source, dialect))
    return caught.value


# --------------------------------------------------------------------------------------------
# API shape
# --------------------------------------------------------------------------------------------


class TestApi:
    def test_statement_is_a_frozen_value(self) -> None:
        statement = Statement(3, 10)
        assert statement.copy_data is None
        assert statement == Statement(3, 10, None)
        with pytest.raises(dataclasses.FrozenInstanceError):
            statement.start = 4  # type: ignore[misc]

    def test_split_error_keeps_message_and_offset(self) -> None:
        error = SplitError("unterminated quoted string", 12)
        assert (error.message, error.offset) == ("unterminated quoted string", 12)
        assert str(error) == "unterminated quoted string"
        copy = pickle.loads(pickle.dumps(error))
        assert (copy.message, copy.offset, copy.hint) == (error.message, error.offset, None)
        hinted = pickle.loads(pickle.dumps(SplitError("m", 1, "do this")))
        assert (hinted.message, hinted.offset, hinted.hint) == ("m", 1, "do this")

    def test_unknown_dialect_is_rejected_at_call_time(self) -> None:
        with pytest.raises(ValueError, match="oracle"):
            split(b"SELECT 1", "oracle")  # type: ignore[arg-type]

    def test_split_is_lazy(self) -> None:
        statements = split(b"SELECT 1; SELECT 'oops", "postgresql")
        first = next(statements)
        assert (first.start, first.end) == (0, 8)
        with pytest.raises(SplitError):
            next(statements)


# --------------------------------------------------------------------------------------------
# Rules shared by every dialect
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
class TestAllDialects:
    @pytest.mark.parametrize(
        "source",
        [
            b"",
            b"   \n\t\n",
            b";",
            b";;\n ; ;",
            b"-- only a comment; really\n",
            b"/* block; comment */",
            b"-- one\n/* two */ ; -- three\n;",
        ],
    )
    def test_nothing_to_run_yields_nothing(self, dialect: Dialect, source: bytes) -> None:
        assert texts(source, dialect) == []

    def test_statements_are_trimmed_and_terminators_excluded(self, dialect: Dialect) -> None:
        source = b"\n\n  SELECT 1  ;\n\tSELECT\n  2\n\n;\n"
        assert texts(source, dialect) == [b"SELECT 1", b"SELECT\n  2"]

    def test_trailing_text_without_terminator_is_a_statement(self, dialect: Dialect) -> None:
        assert texts(b"SELECT 1;\nSELECT 2  \n", dialect) == [b"SELECT 1", b"SELECT 2"]

    def test_comment_after_last_terminator_is_not_a_statement(self, dialect: Dialect) -> None:
        assert texts(b"SELECT 1; -- done\n/* bye */\n", dialect) == [b"SELECT 1"]

    def test_leading_comments_are_skipped_inner_ones_kept(self, dialect: Dialect) -> None:
        source = b"-- header\n/* note */ SELECT /* inner; */ 1 -- tail; \n;"
        assert texts(source, dialect) == [b"SELECT /* inner; */ 1 -- tail;"]

    def test_semicolon_inside_single_quotes(self, dialect: Dialect) -> None:
        source = b"INSERT INTO t VALUES ('a;b', 'it''s; fine');SELECT 2"
        assert texts(source, dialect) == [
            b"INSERT INTO t VALUES ('a;b', 'it''s; fine')",
            b"SELECT 2",
        ]

    def test_offsets_are_bytes_after_multibyte_text(self, dialect: Dialect) -> None:
        source = "-- Zoë → ✓ 日本\nSELECT 'héllo; wörld';\n  SELECT '✓'".encode()
        statements = list(split(source, dialect))
        first = source.index(b"SELECT")
        second = source.rindex(b"SELECT")
        assert [(s.start, s.end) for s in statements] == [
            (first, first + len("SELECT 'héllo; wörld'".encode())),
            (second, len(source)),
        ]
        assert source[statements[0].start : statements[0].end].decode() == ("SELECT 'héllo; wörld'")

    def test_large_generated_input(self, dialect: Dialect) -> None:
        rows = b",\n".join(
            b"(%d, 'name O''Brien %d; x', 12.5, NULL, '2024-01-01')" % (i, i) for i in range(50)
        )
        insert = b"INSERT INTO people (id, name, score, note, born) VALUES\n" + rows + b";\n"
        chunk = b"-- batch\n" + insert + b"CREATE TABLE t%d (id int);\n/* c; */\n"
        source = b"".join(chunk.replace(b"%d", str(i).encode()) for i in range(2000))
        statements = list(split(source, dialect))
        assert len(statements) == 4000
        assert source[statements[0].start : statements[0].end] == insert.rstrip(b";\n")
        assert source[statements[-1].start : statements[-1].end] == b"CREATE TABLE t1999 (id int)"


# --------------------------------------------------------------------------------------------
# PostgreSQL (psql)
# --------------------------------------------------------------------------------------------


class TestPostgreSQL:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            pytest.param(
                b"SELECT 'a\\'; SELECT 2",
                [b"SELECT 'a\\'", b"SELECT 2"],
                id="plain-strings-have-no-backslash-escapes",
            ),
            pytest.param(
                b"SELECT E'it\\'s; here'; SELECT 2",
                [b"SELECT E'it\\'s; here'", b"SELECT 2"],
                id="e-string-backslash-quote",
            ),
            pytest.param(
                b"SELECT E'\\''; SELECT e'\\\\'; SELECT E'a''b;'",
                [b"SELECT E'\\''", b"SELECT e'\\\\'", b"SELECT E'a''b;'"],
                id="e-string-escapes-and-doubling",
            ),
            pytest.param(
                b"SELECT type'\\'; SELECT 2",
                [b"SELECT type'\\'", b"SELECT 2"],
                id="identifier-ending-in-e-is-not-an-e-string",
            ),
            pytest.param(
                b"SELECT U&'d\\0061t;', X'1F', B'1;0', N'x;y'; SELECT 2",
                [b"SELECT U&'d\\0061t;', X'1F', B'1;0', N'x;y'", b"SELECT 2"],
                id="prefixed-strings",
            ),
            pytest.param(
                b'SELECT 1 AS "a;""b"; SELECT 2',
                [b'SELECT 1 AS "a;""b"', b"SELECT 2"],
                id="quoted-identifier",
            ),
            pytest.param(
                b"/* a /* b; */ c; */ SELECT /* x /* y; */ z; */ 1; SELECT 2",
                [b"SELECT /* x /* y; */ z; */ 1", b"SELECT 2"],
                id="nested-comments",
            ),
            pytest.param(
                b"SELECT 1 -- not; here\n, 2; SELECT 3",
                [b"SELECT 1 -- not; here\n, 2", b"SELECT 3"],
                id="line-comment",
            ),
            pytest.param(
                b"SELECT $$a;'b$$; SELECT $fn$ x $$ ; $other$ ; $fn$; SELECT 3",
                [b"SELECT $$a;'b$$", b"SELECT $fn$ x $$ ; $other$ ; $fn$", b"SELECT 3"],
                id="dollar-quotes",
            ),
            pytest.param(
                "SELECT $é$;$é$; SELECT $_1$;$_1$".encode(),
                ["SELECT $é$;$é$".encode(), b"SELECT $_1$;$_1$"],
                id="dollar-tags-non-ascii-and-digits",
            ),
            pytest.param(
                b"PREPARE p AS SELECT $1, $2; SELECT foo$bar$; SELECT 3",
                [b"PREPARE p AS SELECT $1, $2", b"SELECT foo$bar$", b"SELECT 3"],
                id="parameters-and-dollar-in-identifier",
            ),
            pytest.param(
                b"SELECT 1$; SELECT $ x; SELECT 3",
                [b"SELECT 1$", b"SELECT $ x", b"SELECT 3"],
                id="lone-dollar",
            ),
            pytest.param(
                b"CREATE RULE r AS ON INSERT TO t DO ALSO "
                b"(INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); SELECT 3",
                [
                    b"CREATE RULE r AS ON INSERT TO t DO ALSO "
                    b"(INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))",
                    b"SELECT 3",
                ],
                id="create-rule-parentheses",
            ),
            pytest.param(
                b"SELECT ((((( ';' ))))); SELECT (((( $$)$$ ; )))); SELECT 3",
                [b"SELECT ((((( ';' )))))", b"SELECT (((( $$)$$ ; ))))", b"SELECT 3"],
                id="deep-parentheses",
            ),
            pytest.param(
                b"SELECT 1); SELECT 2",
                [b"SELECT 1)", b"SELECT 2"],
                id="stray-close-paren",
            ),
            pytest.param(
                b"SELECT 10-1, 6/2, 2*-1; SELECT 2",
                [b"SELECT 10-1, 6/2, 2*-1", b"SELECT 2"],
                id="minus-and-slash-operators",
            ),
        ],
    )
    def test_lexing(self, source: bytes, expected: list[bytes]) -> None:
        assert texts(source, "postgresql") == expected

    def test_begin_atomic_with_case(self) -> None:
        function = (
            b"CREATE FUNCTION add_one(a int) RETURNS int\n"
            b"LANGUAGE SQL\n"
            b"BEGIN ATOMIC\n"
            b"  SELECT CASE WHEN a > 0 THEN a + 1 ELSE 0 END;\n"
            b"  SELECT (CASE WHEN a < 0 THEN 1 END);\n"
            b"END"
        )
        assert texts(function + b";\nSELECT 2;", "postgresql") == [function, b"SELECT 2"]

    def test_begin_atomic_create_or_replace_procedure(self) -> None:
        procedure = (
            b"create or replace /* c */ procedure ins(x int)\n"
            b"language sql\n"
            b"begin atomic\n"
            b"  insert into t values (x);\n"
            b"  insert into t values (x + 1);\n"
            b"end"
        )
        assert texts(procedure + b";SELECT 2", "postgresql") == [procedure, b"SELECT 2"]

    def test_case_outside_begin_does_not_nest(self) -> None:
        source = (
            b"CREATE FUNCTION sign(x int) RETURNS int LANGUAGE sql "
            b"RETURN CASE WHEN x > 0 THEN 1 ELSE 0 END; SELECT 2"
        )
        assert texts(source, "postgresql") == [source[: source.index(b";")], b"SELECT 2"]

    def test_plpgsql_body_is_opaque(self) -> None:
        function = (
            b"CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $body$\n"
            b"BEGIN\n"
            b"  IF NEW.a IS NULL THEN NEW.a := 'x;'; END IF;\n"
            b"  RETURN NEW;\n"
            b"END;\n"
            b"$body$ LANGUAGE plpgsql"
        )
        assert texts(function + b";\nSELECT 1;", "postgresql") == [function, b"SELECT 1"]

    def test_transaction_begin_end_are_ordinary_statements(self) -> None:
        source = b"BEGIN;\nCREATE TABLE begin_end (case_ int);\nEND;\nSELECT 1;"
        assert texts(source, "postgresql") == [
            b"BEGIN",
            b"CREATE TABLE begin_end (case_ int)",
            b"END",
            b"SELECT 1",
        ]

    def test_copy_from_stdin(self) -> None:
        source = b"COPY public.t (a, b) FROM stdin;\n1\tx; y\n2\tit's $$ \\N\n\\.\nSELECT 1;\n"
        statements = list(split(source, "postgresql"))
        assert [source[s.start : s.end] for s in statements] == [
            b"COPY public.t (a, b) FROM stdin",
            b"SELECT 1",
        ]
        copy_data = statements[0].copy_data
        assert copy_data is not None
        assert source[copy_data[0] : copy_data[1]] == b"1\tx; y\n2\tit's $$ \\N\n"
        assert statements[1].copy_data is None

    def test_copy_from_stdin_with_options_and_trailing_comment(self) -> None:
        source = b"copy t from STDIN with (format csv); -- rows follow\na,b\n\\.\nSELECT 2"
        statements = list(split(source, "postgresql"))
        assert [source[s.start : s.end] for s in statements] == [
            b"copy t from STDIN with (format csv)",
            b"SELECT 2",
        ]
        copy_data = statements[0].copy_data
        assert copy_data is not None
        assert source[copy_data[0] : copy_data[1]] == b"a,b\n"

    @pytest.mark.parametrize(
        ("source", "data"),
        [
            pytest.param(b"COPY t FROM stdin;\n\\.\n", b"", id="empty"),
            pytest.param(b"COPY t FROM stdin;\n1\n2", b"1\n2", id="until-eof"),
            pytest.param(b"COPY t FROM stdin;\n1\n\\.", b"1\n", id="end-marker-at-eof"),
            pytest.param(b"COPY t FROM stdin;", b"", id="nothing-after"),
            pytest.param(b"COPY t FROM stdin", b"", id="no-terminator"),
            pytest.param(b"COPY t FROM stdin;\n a\\.\n\\.x\n\\.\n", b" a\\.\n\\.x\n", id="marker"),
        ],
    )
    def test_copy_data_edges(self, source: bytes, data: bytes) -> None:
        (statement,) = split(source, "postgresql")
        assert statement.copy_data is not None
        assert source[statement.copy_data[0] : statement.copy_data[1]] == data

    @pytest.mark.parametrize(
        "source",
        [
            b"COPY t TO STDOUT;\n",
            b"COPY t FROM '/tmp/t.csv';\n",
            b"COPY (SELECT * FROM stdin) TO STDOUT;\n",
            b"SELECT 'COPY t FROM STDIN';\n",
        ],
    )
    def test_other_copies_have_no_inline_data(self, source: bytes) -> None:
        (statement,) = split(source, "postgresql")
        assert statement.copy_data is None

    def test_copy_from_stdin_must_end_its_line(self) -> None:
        error = split_error(b"COPY t FROM stdin; SELECT 1;\n1\n\\.\n", "postgresql")
        assert error.offset == len(b"COPY t FROM stdin;")

    @pytest.mark.parametrize(
        ("source", "message", "offset"),
        [
            (b"\\connect mydb\nSELECT 1;", "psql meta-command \\connect is not supported", 0),
            (b"SELECT 1;\n  \\set x 1\n", "psql meta-command \\set is not supported", 12),
            (b"-- x\n\\i other.sql", "psql meta-command \\i is not supported", 5),
            (b"SELECT 1 \\gset\n", "psql meta-command \\gset is not supported", 9),
        ],
    )
    def test_meta_commands_are_refused(self, source: bytes, message: str, offset: int) -> None:
        error = split_error(source, "postgresql")
        assert (error.message, error.offset) == (message, offset)
        assert error.hint is not None
        assert error.hint.startswith("psql runs backslash commands itself")

    @pytest.mark.parametrize(
        ("source", "message", "offset"),
        [
            (b"SELECT 1; SELECT 'abc;", "unterminated quoted string", 17),
            (b"SELECT 'it''s;", "unterminated quoted string", 7),
            (b'SELECT "a""b;', "unterminated quoted identifier", 7),
            (b"SELECT E'abc\\';", "unterminated quoted string", 7),
            (b"SELECT (E'abc\\');", "unterminated quoted string", 8),
            (b'SELECT "abc;', "unterminated quoted identifier", 7),
            (b"SELECT 1; /* a /* b */ ;", "unterminated /* comment", 10),
            (b"SELECT 1 /* a", "unterminated /* comment", 9),
            (b"SELECT $body$ x; $bod$;", "unterminated dollar-quoted string $body$", 7),
            (b"SELECT $$ x;", "unterminated dollar-quoted string $$", 7),
        ],
    )
    def test_unterminated(self, source: bytes, message: str, offset: int) -> None:
        error = split_error(source, "postgresql")
        assert (error.message, error.offset) == (message, offset)

    def test_dump_fixture(self) -> None:
        source = (SQL_DIR / "postgresql_dump.sql").read_bytes()
        statements = list(split(source, "postgresql"))
        assert [leading_words(source[s.start : s.end], 2) for s in statements] == [
            ("SET", "STATEMENT_TIMEOUT"),
            ("SET", "CLIENT_ENCODING"),
            ("SET", "STANDARD_CONFORMING_STRINGS"),
            ("SELECT", "PG_CATALOG"),
            ("CREATE", "TABLE"),
            ("CREATE", "FUNCTION"),
            ("CREATE", "FUNCTION"),
            ("COPY", "PUBLIC"),
            ("ALTER", "TABLE"),
            ("CREATE", "TRIGGER"),
        ]
        function = source[statements[5].start : statements[5].end]
        assert function.endswith(b"END;\n$_$")
        atomic = source[statements[6].start : statements[6].end]
        assert atomic.endswith(b"p_min);\n    END")
        copy = statements[7]
        assert copy.copy_data is not None
        rows = source[copy.copy_data[0] : copy.copy_data[1]].decode()
        assert rows == "1\tZoë O'Brien\tlikes ; and \\\\ and $$\n2\tAnon\t\\N\n"


# --------------------------------------------------------------------------------------------
# SQLite (sqlite3_complete)
# --------------------------------------------------------------------------------------------


class TestSQLite:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            pytest.param(
                b"SELECT 'a\\'; SELECT 2",
                [b"SELECT 'a\\'", b"SELECT 2"],
                id="no-backslash-escapes",
            ),
            pytest.param(
                b'SELECT "a;""b", `c;``d`, [e;f]; SELECT 2',
                [b'SELECT "a;""b", `c;``d`, [e;f]', b"SELECT 2"],
                id="identifiers",
            ),
            pytest.param(
                b"SELECT X'3B'; SELECT x';'",
                [b"SELECT X'3B'", b"SELECT x';'"],
                id="blobs",
            ),
            pytest.param(
                b"/* a /* b */ SELECT 1; SELECT /* ; */ 2",
                [b"SELECT 1", b"SELECT /* ; */ 2"],
                id="comments-do-not-nest",
            ),
            pytest.param(
                b"SELECT $1, 10-1; SELECT $$",
                [b"SELECT $1, 10-1", b"SELECT $$"],
                id="dollar-is-ordinary",
            ),
            pytest.param(
                b"BEGIN TRANSACTION; CREATE TABLE t (begin int, end int); END;",
                [b"BEGIN TRANSACTION", b"CREATE TABLE t (begin int, end int)", b"END"],
                id="begin-end-outside-triggers",
            ),
        ],
    )
    def test_lexing(self, source: bytes, expected: list[bytes]) -> None:
        assert texts(source, "sqlite") == expected

    def test_trigger_with_case_end(self) -> None:
        trigger = (
            b"CREATE TRIGGER tr AFTER INSERT ON t\n"
            b"BEGIN\n"
            b"  UPDATE t SET a = CASE WHEN NEW.a > 0 THEN 1 ELSE 0 END;\n"
            b"  INSERT INTO log VALUES ('end;');\n"
            b"END"
        )
        assert texts(trigger + b";\nSELECT 1;", "sqlite") == [trigger, b"SELECT 1"]

    def test_trigger_end_may_follow_a_comment(self) -> None:
        trigger = b"create temp trigger tr before delete on t begin select 1; -- c\n/* d */ end"
        assert texts(trigger + b"; SELECT 2", "sqlite") == [trigger, b"SELECT 2"]

    def test_case_end_then_semicolon_does_not_end_trigger(self) -> None:
        trigger = (
            b"CREATE TEMPORARY TRIGGER IF NOT EXISTS tr AFTER UPDATE ON t BEGIN "
            b"SELECT CASE WHEN 1 THEN 2 END; END"
        )
        assert texts(trigger + b";SELECT 3", "sqlite") == [trigger, b"SELECT 3"]

    def test_trigger_at_end_of_file(self) -> None:
        trigger = b"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END"
        assert texts(trigger + b"\n", "sqlite") == [trigger]

    def test_explain_create_trigger(self) -> None:
        trigger = b"EXPLAIN QUERY PLAN CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END"
        assert texts(trigger + b"; SELECT 2", "sqlite") == [trigger, b"SELECT 2"]

    @pytest.mark.parametrize(
        ("source", "message", "offset"),
        [
            (b"SELECT 1; /* never closed", "unterminated /* comment", 10),
            (b"SELECT 'x", "unterminated quoted string", 7),
            (b'SELECT "x', "unterminated quoted identifier", 7),
            (b"SELECT `x", "unterminated quoted identifier", 7),
            (b"SELECT [x", "unterminated quoted identifier", 7),
            (b"SELECT 'it''s", "unterminated quoted string", 7),
            (
                b"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 'x",
                "unterminated quoted string",
                49,
            ),
        ],
    )
    def test_unterminated(self, source: bytes, message: str, offset: int) -> None:
        error = split_error(source, "sqlite")
        assert (error.message, error.offset) == (message, offset)

    def test_schema_fixture(self) -> None:
        source = (SQL_DIR / "sqlite_schema.sql").read_bytes()
        statements = texts(source, "sqlite")
        assert [leading_words(s, 2) for s in statements] == [
            ("PRAGMA", "FOREIGN_KEYS"),
            ("CREATE", "TABLE"),
            ("CREATE", "TRIGGER"),
            ("INSERT", "INTO"),
        ]
        assert statements[2].endswith(b"WHERE id = NEW.id;\nEND")


# --------------------------------------------------------------------------------------------
# MySQL / MariaDB (mysql client)
# --------------------------------------------------------------------------------------------


class TestMySQL:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            pytest.param(
                b"SELECT 'it\\'s;', \"a\\\";b\", 'c\\\\'; SELECT 2",
                [b"SELECT 'it\\'s;', \"a\\\";b\", 'c\\\\'", b"SELECT 2"],
                id="backslash-escapes",
            ),
            pytest.param(
                b'SELECT \'it\'\'s;\', "say ""hi;"""; SELECT 2',
                [b'SELECT \'it\'\'s;\', "say ""hi;"""', b"SELECT 2"],
                id="doubled-quotes",
            ),
            pytest.param(
                b"SELECT `a;``b`; SELECT 2",
                [b"SELECT `a;``b`", b"SELECT 2"],
                id="backtick-identifier",
            ),
            pytest.param(
                b"SELECT 1 # no; split\n+ 1; SELECT 2",
                [b"SELECT 1 # no; split\n+ 1", b"SELECT 2"],
                id="hash-comment",
            ),
            pytest.param(
                b"SELECT 1 -- no; split\n+ 1; SELECT 2 --\t;\n; SELECT 3 --",
                [b"SELECT 1 -- no; split\n+ 1", b"SELECT 2 --\t;", b"SELECT 3 --"],
                id="dash-dash-space-comment",
            ),
            pytest.param(
                b"SELECT 1--1; SELECT 2 --x; SELECT 3",
                [b"SELECT 1--1", b"SELECT 2 --x", b"SELECT 3"],
                id="dash-dash-without-space-is-arithmetic",
            ),
            pytest.param(
                b"/*!40101 SET NAMES utf8mb4 */;\n/*M!100101 SET x = 1 */;/*!*/;",
                [b"/*!40101 SET NAMES utf8mb4 */", b"/*M!100101 SET x = 1 */", b"/*!*/"],
                id="executable-comments-are-statements",
            ),
            pytest.param(
                b"SELECT /*+ BKA(t1) ; */ a FROM t1; /* plain; */ SELECT 2",
                [b"SELECT /*+ BKA(t1) ; */ a FROM t1", b"SELECT 2"],
                id="optimizer-hint-and-comment",
            ),
            pytest.param(
                b"BEGIN; INSERT INTO t VALUES (1); COMMIT; BEGIN WORK; ROLLBACK",
                [b"BEGIN", b"INSERT INTO t VALUES (1)", b"COMMIT", b"BEGIN WORK", b"ROLLBACK"],
                id="transaction-begin-is-not-a-block",
            ),
            pytest.param(
                b"CREATE TABLE IF NOT EXISTS t (a int); DROP PROCEDURE IF EXISTS p; SELECT 2",
                [
                    b"CREATE TABLE IF NOT EXISTS t (a int)",
                    b"DROP PROCEDURE IF EXISTS p",
                    b"SELECT 2",
                ],
                id="if-not-exists",
            ),
            pytest.param(
                b"SELECT $1, $$; SELECT 2",
                [b"SELECT $1, $$", b"SELECT 2"],
                id="dollar-is-ordinary",
            ),
        ],
    )
    def test_lexing(self, source: bytes, expected: list[bytes]) -> None:
        assert texts(source, "mysql") == expected

    def test_delimiter_blocks(self) -> None:
        source = (
            b"DELIMITER $$\n"
            b"CREATE PROCEDURE p()\nBEGIN\n  SELECT ';';\n  SELECT 2;\nEND$$\n"
            b"CREATE FUNCTION f() RETURNS INT RETURN 1 $$\n"
            b"DELIMITER ;\n"
            b"SELECT 3;\n"
            b"delimiter //\n"
            b"SELECT '//' //   // SELECT 4 /* // */ //\n"
            b"Delimiter ;;\n"
            b"SELECT 5;;\n"
            b"DELIMITER ;\n"
            b"SELECT 6"
        )
        assert texts(source, "mysql") == [
            b"CREATE PROCEDURE p()\nBEGIN\n  SELECT ';';\n  SELECT 2;\nEND",
            b"CREATE FUNCTION f() RETURNS INT RETURN 1",
            b"SELECT 3",
            b"SELECT '//'",
            b"SELECT 4 /* // */",
            b"SELECT 5",
            b"SELECT 6",
        ]

    def test_delimiter_command_after_a_statement_on_the_same_line(self) -> None:
        source = b"SELECT 1; DELIMITER //\nSELECT 2 //\nDELIMITER ;\nSELECT 3;"
        assert texts(source, "mysql") == [b"SELECT 1", b"SELECT 2", b"SELECT 3"]

    def test_delimiter_argument_forms(self) -> None:
        source = b"DELIMITER '$$' trailing words\nSELECT 1$$ SELECT 2 $ 3$$\nDELIMITER ;"
        assert texts(source, "mysql") == [b"SELECT 1", b"SELECT 2 $ 3"]

    @pytest.mark.parametrize(
        "source", [b"DELIMITER\nSELECT 1;", b"DELIMITER  \n", b"DELIMITER \\\\"]
    )
    def test_delimiter_needs_a_valid_argument(self, source: bytes) -> None:
        assert split_error(source, "mysql").offset == 0

    def test_mysqldump_trigger_in_executable_comments(self) -> None:
        trigger = (
            b"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t "
            b"BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END */"
        )
        source = b"DELIMITER ;;\n" + trigger + b";;\nDELIMITER ;\nSELECT 1;"
        assert texts(source, "mysql") == [trigger, b"SELECT 1"]
        # The same text without DELIMITER still splits, through the compound tracking.
        assert texts(trigger + b";\nSELECT 1;", "mysql") == [trigger, b"SELECT 1"]

    def test_procedure_without_delimiter(self) -> None:
        procedure = (
            b"CREATE DEFINER = 'admin'@'%' PROCEDURE p(IN a INT)\n"
            b"BEGIN\n"
            b"  DECLARE done INT DEFAULT 0;\n"
            b"  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;\n"
            b"  CREATE TEMPORARY TABLE IF NOT EXISTS tmp (x INT);\n"
            b"  IF a > 0 THEN\n"
            b"    SET a = IF(a > 10, 10, a);\n"
            b"  ELSEIF a < -10 THEN\n"
            b"    SET a = -10;\n"
            b"  ELSE\n"
            b"    IF a = 0 THEN SET a = 1; END IF;\n"
            b"  END IF;\n"
            b"  IF (a > 5) THEN SET a = 5; END IF;\n"
            b"  IF EXISTS (SELECT 1 FROM tmp WHERE x IN (1, 2)) THEN DELETE FROM tmp; END IF;\n"
            b"  outer_loop: LOOP\n"
            b"    SET a = a - 1;\n"
            b"    IF a <= 0 THEN LEAVE outer_loop; END IF;\n"
            b"  END LOOP outer_loop;\n"
            b"  CASE a\n"
            b"    WHEN 1 THEN BEGIN SELECT 'one;'; END;\n"
            b"    ELSE SELECT CASE WHEN a > 1 THEN REPEAT('x', a) ELSE IF(a, 1, 0) END;\n"
            b"  END CASE;\n"
            b"  WHILE a < 3 DO SET a = a + 1; END WHILE;\n"
            b"  REPEAT SET a = a - 1; UNTIL a <= 0 END REPEAT;\n"
            b"  SELECT t.end, t.begin FROM tmp AS t;\n"
            b"  BEGIN\n"
            b"    SELECT 'nested';\n"
            b"  END;\n"
            b"END"
        )
        assert texts(procedure + b";\nSELECT 1;", "mysql") == [procedure, b"SELECT 1"]

    @pytest.mark.parametrize(
        "statement",
        [
            pytest.param(
                b"CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET NEW.a = 1",
                id="single-statement-trigger",
            ),
            pytest.param(
                b"CREATE TRIGGER t BEFORE UPDATE ON x FOR EACH ROW "
                b"SET NEW.a = CASE WHEN NEW.b THEN IF(NEW.c, 1, 2) ELSE 0 END",
                id="single-statement-trigger-with-case-and-if-function",
            ),
            pytest.param(
                b"CREATE TRIGGER t AFTER INSERT ON x FOR EACH ROW "
                b"IF NEW.a > 0 THEN INSERT INTO log VALUES (NEW.a); END IF",
                id="trigger-with-if-statement-body",
            ),
            pytest.param(
                b"CREATE OR REPLACE DEFINER=CURRENT_USER() TRIGGER t BEFORE INSERT ON x "
                b"FOR EACH ROW BEGIN\n  SET NEW.a = 1;\n  SET NEW.b = 2;\nEND",
                id="trigger-with-block",
            ),
            pytest.param(
                b"CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN x + 1",
                id="single-statement-function",
            ),
            pytest.param(
                b"CREATE AGGREGATE FUNCTION agg(x INT) RETURNS INT BEGIN\n"
                b"  DECLARE s INT DEFAULT 0;\n"
                b"  DECLARE CONTINUE HANDLER FOR NOT FOUND RETURN s;\n"
                b"  LOOP FETCH GROUP NEXT ROW; SET s = s + x; END LOOP;\n"
                b"END",
                id="mariadb-aggregate-function",
            ),
            pytest.param(
                b"CREATE EVENT e ON SCHEDULE EVERY 1 DAY STARTS NOW() ENDS NOW() + INTERVAL 1 YEAR"
                b" DO BEGIN\n  DELETE FROM log;\n  DELETE FROM tmp;\nEND",
                id="event",
            ),
            pytest.param(
                b"BEGIN NOT ATOMIC\n  DECLARE x INT;\n  FOR i IN 1..3 DO SET x = i; END FOR;\nEND",
                id="mariadb-anonymous-block",
            ),
            pytest.param(
                b"blk: BEGIN\n  SELECT 1;\n  LEAVE blk;\nEND blk",
                id="labelled-block",
            ),
        ],
    )
    def test_compound_statements(self, statement: bytes) -> None:
        source = b"SELECT 0;\n" + statement + b";\nSELECT 1"
        assert texts(source, "mysql") == [b"SELECT 0", statement, b"SELECT 1"]

    def test_block_at_offset_zero_in_a_file_ending_with_a_dot(self) -> None:
        source = b"BEGIN NOT ATOMIC\n  SELECT 1;\nEND;\nSELECT 1."
        assert texts(source, "mysql") == [b"BEGIN NOT ATOMIC\n  SELECT 1;\nEND", b"SELECT 1."]

    @pytest.mark.parametrize(
        ("source", "message", "offset"),
        [
            (b"SELECT 'it\\'s", "unterminated quoted string", 7),
            (b'SELECT "x\\"', "unterminated quoted string", 7),
            (b"SELECT `x``", "unterminated quoted identifier", 7),
            (b"SELECT 1; /* x; */ /* never", "unterminated /* comment", 19),
            (b"SELECT /*+ hint", "unterminated /* comment", 7),
            (b"CREATE PROCEDURE p() BEGIN SELECT 'x; END;", "unterminated quoted string", 34),
            (b"DELIMITER //\nSELECT 'x //", "unterminated quoted string", 20),
        ],
    )
    def test_unterminated(self, source: bytes, message: str, offset: int) -> None:
        error = split_error(source, "mysql")
        assert (error.message, error.offset) == (message, offset)

    def test_dump_fixture(self) -> None:
        source = (SQL_DIR / "mysql_dump.sql").read_bytes()
        statements = texts(source, "mysql")
        assert [leading_words(s, 2) for s in statements] == [
            (),  # /*!40101 ... */: executable comments are content, skipped by leading_words
            (),
            ("DROP", "TABLE"),
            ("CREATE", "TABLE"),
            ("LOCK", "TABLES"),
            ("INSERT", "INTO"),
            ("UNLOCK", "TABLES"),
            (),
            ("CREATE", "DEFINER"),
            (),
        ]
        assert statements[0] == b"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */"
        assert statements[7].endswith(b"END IF;\nEND */")
        assert statements[8].endswith(b"CLOSE cur;\nEND")


# --------------------------------------------------------------------------------------------
# leading_words
# --------------------------------------------------------------------------------------------


class TestLeadingWords:
    @pytest.mark.parametrize(
        ("sql", "count", "expected"),
        [
            (
                b"/* x */ create  index\nconcurrently ix on t(a)",
                4,
                ("CREATE", "INDEX", "CONCURRENTLY", "IX"),
            ),
            (b"create index concurrently ix on t(a)", 2, ("CREATE", "INDEX")),
            (b"-- c\n# d\n/* a /* nested */ b */ VACUUM", 4, ("VACUUM",)),
            (b"SELECT\n-- x\n1", 4, ("SELECT",)),
            (b'ALTER TABLE "t" ADD x int', 4, ("ALTER", "TABLE")),
            (b"insert into t(a) values (1)", 4, ("INSERT", "INTO", "T")),
            (b"start transaction", 4, ("START", "TRANSACTION")),
            ("créer_ŧable x".encode(), 4, ("CRÉER_ŦABLE", "X")),
            (b"foo$bar baz_1", 4, ("FOO$BAR", "BAZ_1")),
            (b"", 4, ()),
            (b"-- only a comment", 4, ()),
            (b"/* unterminated", 4, ()),
            (b"(SELECT 1)", 4, ()),
            (b"SELECT 1", 0, ()),
        ],
    )
    def test_words(self, sql: bytes, count: int, expected: tuple[str, ...]) -> None:
        assert leading_words(sql, count) == expected

    def test_default_count_is_four(self) -> None:
        assert leading_words(b"a b c d e f") == ("A", "B", "C", "D")


# --------------------------------------------------------------------------------------------
# PostgreSQL: tokens between the words that decide how a statement splits
# --------------------------------------------------------------------------------------------


class TestPostgreSQLTokens:
    @pytest.mark.parametrize(
        "head",
        [
            pytest.param(b"CREATE /* a /* b */ c */ FUNCTION", id="nested-before-function"),
            pytest.param(
                b"create /* x /* y */ */ or /* z */ replace /*/**/*/ procedure",
                id="nested-everywhere",
            ),
            pytest.param(b"CREATE -- c\nOR REPLACE/* /* */ */FUNCTION", id="line-and-nested"),
        ],
    )
    def test_begin_atomic_after_nested_comments(self, head: bytes) -> None:
        routine = (
            head + b" f(a int) RETURNS int LANGUAGE sql\n"
            b"BEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 END;\n  SELECT a;\nEND"
        )
        assert texts(routine + b";\nSELECT 2;", "postgresql") == [routine, b"SELECT 2"]

    @pytest.mark.parametrize(
        "copy",
        [
            pytest.param(b"COPY t FROM /* rows */ STDIN", id="comment-between-from-and-stdin"),
            pytest.param(b"COPY t FROM /* a /* b */ */ STDIN", id="nested-comment"),
            pytest.param(b"COPY t FROM -- rows\n  STDIN", id="line-comment"),
            pytest.param(b"copy/**/t/**/from/**/stdin", id="comments-as-separators"),
            pytest.param(b"COPY /* c */ t (a, b) FROM STDIN WITH (FORMAT csv)", id="columns"),
            pytest.param(b'COPY "from" ("stdin", b) FROM STDIN', id="quoted-names"),
            pytest.param(b"COPY BINARY t FROM STDIN", id="old-binary-syntax"),
            pytest.param(b"COPY s.t FROM STDIN (FORMAT text, NULL 'TO STDOUT')", id="options"),
            pytest.param(b"COPY t FROM STDIN WHERE a > 0", id="where"),
            pytest.param(b"COPY s.to FROM STDIN", id="keyword-after-a-dot"),
            pytest.param(b"COPY stdin FROM STDIN", id="table-named-stdin"),
        ],
    )
    def test_copy_from_stdin_is_token_aware(self, copy: bytes) -> None:
        source = copy + b";\n1\n\\.\nSELECT 2;"
        statements = list(split(source, "postgresql"))
        assert [source[s.start : s.end] for s in statements] == [copy, b"SELECT 2"]
        assert statements[0].copy_data is not None
        assert source[statements[0].copy_data[0] : statements[0].copy_data[1]] == b"1\n"
        assert not statements[0].copy_to_stdout

    @pytest.mark.parametrize(
        "copy",
        [
            pytest.param(b"COPY t FROM 'FROM STDIN'", id="in-a-string"),
            pytest.param(b"COPY t FROM '/tmp/x' WITH (NULL 'FROM STDIN')", id="in-an-option"),
            pytest.param(b"COPY \"FROM STDIN\" FROM '/tmp/x'", id="in-a-quoted-identifier"),
            pytest.param(b"COPY t FROM '/tmp/x' /* FROM STDIN */", id="in-a-comment"),
            pytest.param(b"COPY t FROM '/tmp/x' -- FROM STDIN\n", id="in-a-line-comment"),
            pytest.param(b"COPY t FROM PROGRAM 'cat FROM STDIN'", id="program"),
            pytest.param(b"COPY (SELECT 'x' FROM stdin) TO '/tmp/x'", id="query"),
            pytest.param(b"COPY /* ( */ t FROM $$FROM STDIN$$", id="dollar-quoted"),
        ],
    )
    def test_not_copy_from_stdin(self, copy: bytes) -> None:
        (statement,) = split(copy + b";", "postgresql")
        assert statement.copy_data is None
        assert not statement.copy_to_stdout

    @pytest.mark.parametrize(
        "copy",
        [
            b"COPY t TO STDOUT",
            b"COPY t (a) TO /* x */ STDOUT WITH (FORMAT csv)",
            b"COPY (SELECT 1 FROM t WHERE a = ')') TO STDOUT",
            b"COPY /* c */ ( (SELECT 1) UNION (SELECT 2) ) TO -- c\nstdout",
            b"copy t to stdout",
        ],
    )
    def test_copy_to_stdout_is_flagged(self, copy: bytes) -> None:
        (statement,) = split(copy, "postgresql")
        assert statement.copy_to_stdout
        assert statement.copy_data is None

    def test_other_statements_are_not_copies(self) -> None:
        source = b"SELECT 'COPY t TO STDOUT'; COPYX t TO STDOUT; SELECT 1 AS copy"
        assert [(s.copy_data, s.copy_to_stdout) for s in split(source, "postgresql")] == [
            (None, False)
        ] * 3

    @pytest.mark.parametrize(
        "setting",
        [
            b"SET standard_conforming_strings = off",
            b"SET standard_conforming_strings TO 'off'",
            b"set session standard_conforming_strings=false",
            b"SET LOCAL standard_conforming_strings TO 0",
            b'SET /* c */ standard_conforming_strings = "off"',
            b"SET standard_conforming_strings = of",
            b"SELECT set_config('standard_conforming_strings', 'off', false)",
            b"SELECT pg_catalog.set_config('standard_conforming_strings', 'no', true)",
        ],
    )
    def test_standard_conforming_strings_off_is_refused(self, setting: bytes) -> None:
        source = b"SELECT 1;\n" + setting + b";\nINSERT INTO t VALUES ('a\\'; b');\n"
        error = split_error(source, "postgresql")
        assert error.offset == len(b"SELECT 1;\n")
        assert "standard_conforming_strings" in error.message

    @pytest.mark.parametrize(
        "setting",
        [
            b"SET standard_conforming_strings = on",
            b"SET standard_conforming_strings TO DEFAULT",
            b"RESET standard_conforming_strings",
            b"SET escape_string_warning = off",
            b"SELECT set_config('search_path', '', false)",
            b"SELECT 'SET standard_conforming_strings = off'",
        ],
    )
    def test_other_settings_split_as_usual(self, setting: bytes) -> None:
        source = setting + b";\nSELECT 'a\\'; SELECT 2"
        assert texts(source, "postgresql") == [setting, b"SELECT 'a\\'", b"SELECT 2"]


# --------------------------------------------------------------------------------------------
# SQLite: what sqlite3_complete() and SQLite's tokenizer say
# --------------------------------------------------------------------------------------------


class TestSQLiteCompleteRules:
    @pytest.mark.parametrize(
        ("source", "offset"),
        [
            (b"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1;", 0),
            (b"SELECT 1;\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  SELECT 1;\n", 10),
            (b"CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END x", 0),
            (b"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT CASE 1 WHEN 1 THEN 2 END", 0),
            (b"create trigger tr after insert on t begin select 1; end; create trigger", 57),
        ],
    )
    def test_unterminated_trigger_is_an_error(self, source: bytes, offset: int) -> None:
        import sqlite3

        assert not sqlite3.complete_statement(source.decode() + "\n;")
        error = split_error(source, "sqlite")
        assert error.offset == offset
        assert "unterminated CREATE TRIGGER" in error.message

    @pytest.mark.parametrize(
        "trigger",
        [
            b"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
            b"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END -- done",
            b"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END /* done */",
        ],
    )
    def test_trigger_ending_at_end_of_file(self, trigger: bytes) -> None:
        assert texts(b"SELECT 1;\n" + trigger + b"\n", "sqlite") == [b"SELECT 1", trigger]

    @pytest.mark.parametrize(
        ("source", "expected", "sqlite3_runs_it"),
        [
            pytest.param(b"\vSELECT 1;", [b"SELECT 1"], True, id="at-the-start"),
            pytest.param(b" \vSELECT 1;", [b"SELECT 1"], True, id="after-a-space"),
            pytest.param(b"SELECT 1\v;", [b"SELECT 1\v"], False, id="after-a-token"),
            pytest.param(b"SELECT 1 \v ;", [b"SELECT 1"], True, id="after-a-space-at-the-end"),
            pytest.param(
                b"SELECT 1;\vSELECT 2;", [b"SELECT 1", b"SELECT 2"], True, id="after-semi"
            ),
            pytest.param(b"SELECT 1;\n\vSELECT 2;", [b"SELECT 1", b"SELECT 2"], True, id="newline"),
            pytest.param(b"SELECT 1; \v", [b"SELECT 1"], True, id="space-run-at-the-end"),
            pytest.param(b"SELECT 1;\v", [b"SELECT 1"], True, id="alone-at-the-end"),
            pytest.param(
                b"SELECT 1; /* c */\vSELECT 2;",
                [b"SELECT 1", b"\vSELECT 2"],
                False,
                id="after-a-comment",
            ),
            pytest.param(
                b"SELECT 1; -- c\n\vSELECT 2;", [b"SELECT 1", b"SELECT 2"], True, id="after-dash"
            ),
            pytest.param(
                b"SELECT 1 /* c */\v;", [b"SELECT 1 /* c */\v"], False, id="trailing-comment"
            ),
            pytest.param(b"SELECT 1; /* c */ \v", [b"SELECT 1"], True, id="comment-then-run"),
            pytest.param(b"SELECT\v1;", [b"SELECT\v1"], False, id="inside"),
            pytest.param(b"SELECT \v2;", [b"SELECT \v2"], True, id="inside-a-run"),
        ],
    )
    def test_vertical_tab_is_whitespace_only_where_sqlite_says(
        self, source: bytes, expected: list[bytes], sqlite3_runs_it: bool
    ) -> None:
        import shutil
        import sqlite3
        import subprocess

        assert texts(source, "sqlite") == expected
        connection = sqlite3.connect(":memory:")
        try:
            for statement in expected:
                connection.execute(statement.decode())
        except sqlite3.Error:
            runs = False
        else:
            runs = True
        finally:
            connection.close()
        # SQLite runs the statements sent one by one exactly when the sqlite3 shell runs the file
        assert runs == sqlite3_runs_it
        shell = shutil.which("sqlite3")
        if shell is not None:  # where the shell is installed, it says so itself
            ran = subprocess.run(
                [shell, ":memory:"], input=source, capture_output=True, check=False
            )
            assert (ran.returncode == 0 and not ran.stderr) == sqlite3_runs_it

    def test_vertical_tab_before_create_trigger_is_a_token(self) -> None:
        # sqlite3_complete sees "\v" as a token, so no trigger body starts: the shell sends
        # the text up to the first ";" and SQLite reports it incomplete. So does the splitter.
        source = b"SELECT 0;\n \vCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  SELECT 1;\nEND;"
        assert texts(source, "sqlite") == [
            b"SELECT 0",
            b"CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  SELECT 1",
            b"END",
        ]

    def test_vertical_tab_between_semicolon_and_end_is_a_token(self) -> None:
        # sqlite3_complete: "; \v END" is not "; END", so the trigger goes on to the next one.
        trigger = b"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; \v END; SELECT 2; END"
        assert texts(trigger + b"; SELECT 3", "sqlite") == [trigger, b"SELECT 3"]


# --------------------------------------------------------------------------------------------
# MySQL / MariaDB: BEGIN and END as block keywords or as plain identifiers
# --------------------------------------------------------------------------------------------

# Each is one statement, and MariaDB 10.11 accepts each (TestAppliedOnMariaDB applies them).
MYSQL_SETUP: tuple[bytes, ...] = (
    b"CREATE TABLE t (id INT PRIMARY KEY, `end` INT, `begin` INT, a INT)",
    b"INSERT INTO t (id, `end`, `begin`, a) VALUES (1, 10, 20, 1), (2, 30, 40, 2)",
)
MYSQL_PROGRAMS: tuple[bytes, ...] = (
    # begin/end as column names, aliases, table aliases, variables and parameters
    b"CREATE PROCEDURE select_end() BEGIN SELECT end FROM t ORDER BY id; SELECT 2; END",
    b"CREATE PROCEDURE join_as_end() BEGIN "
    b"SELECT end.id FROM t JOIN t AS end ON end.id = t.id + 1; SELECT 2; END",
    b"CREATE PROCEDURE select_begin() BEGIN SELECT begin FROM t ORDER BY id; SELECT 2; END",
    b"CREATE PROCEDURE join_as_begin() BEGIN "
    b"SELECT begin.id FROM t JOIN t AS begin ON begin.id = t.id - 1; SELECT 2; END",
    b"CREATE PROCEDURE qualified() BEGIN SELECT t.end, t.begin FROM t WHERE id = 1; "
    b"SELECT a end, a begin FROM t WHERE id = 1; SELECT end.begin FROM t AS end WHERE id = 2; END",
    b"CREATE PROCEDURE variables() BEGIN DECLARE begin INT DEFAULT 1; DECLARE end INT DEFAULT 2; "
    b"SET begin = begin + end; SELECT begin, end; END",
    b"CREATE PROCEDURE case_identifiers() BEGIN "
    b"SELECT CASE WHEN end > 15 THEN end ELSE begin END FROM t ORDER BY id; "
    b"SELECT CASE end WHEN 10 THEN begin END FROM t ORDER BY id; END",
    b"CREATE PROCEDURE params(begin INT, end INT) SELECT begin + end",
    b"CREATE PROCEDURE set_end() BEGIN UPDATE t SET end = 1 WHERE id = 2; "
    b"SELECT end FROM t WHERE id = 2; END",
    b"CREATE PROCEDURE set_begin() BEGIN UPDATE t SET begin = 5 WHERE id = 1; "
    b"SELECT begin FROM t WHERE id = 1; END",
    b"CREATE FUNCTION f_end(end INT) RETURNS INT DETERMINISTIC RETURN end + 1",
    # routine bodies that are compound statements without BEGIN
    b"CREATE PROCEDURE if_body(x INT) IF x > 0 THEN SELECT 'pos'; SELECT x; "
    b"ELSEIF x < 0 THEN SELECT 'neg'; ELSE BEGIN SELECT 'zero'; END; END IF",
    b"CREATE PROCEDURE case_body(x INT) CASE x WHEN 1 THEN SELECT 'one'; "
    b"WHEN 2 THEN BEGIN SELECT 'two'; SELECT 'deux'; END; ELSE SELECT 'many'; END CASE",
    b"CREATE PROCEDURE loop_body() lbl: LOOP SELECT 1; LEAVE lbl; END LOOP lbl",
    # real nesting: blocks, IF, CASE statements and expressions, loops, labels, handlers
    b"CREATE FUNCTION nest(n INT) RETURNS INT DETERMINISTIC\n"
    b"BEGIN\n"
    b"  DECLARE total INT DEFAULT 0;\n"
    b"  DECLARE i INT DEFAULT 0;\n"
    b"  outer_loop: WHILE i < n DO\n"
    b"    SET i = i + 1;\n"
    b"    IF i % 2 = 0 THEN\n"
    b"      BEGIN\n"
    b"        DECLARE j INT DEFAULT 0;\n"
    b"        REPEAT SET j = j + 1; SET total = total + 1; UNTIL j >= i END REPEAT;\n"
    b"      END;\n"
    b"    ELSEIF i = 3 THEN\n"
    b"      ITERATE outer_loop;\n"
    b"    ELSE\n"
    b"      SET total = total + CASE WHEN i > 4 THEN 100 ELSE 10 END;\n"
    b"    END IF;\n"
    b"    CASE i WHEN 5 THEN LEAVE outer_loop; ELSE BEGIN END; END CASE;\n"
    b"  END WHILE outer_loop;\n"
    b"  FOR k IN 1..2 DO SET total = total + k; END FOR;\n"
    b"  RETURN total;\n"
    b"END",
    b"CREATE PROCEDURE handler_block()\n"
    b"BEGIN\n"
    b"  DECLARE done INT DEFAULT 0;\n"
    b"  DECLARE CONTINUE HANDLER FOR SQLSTATE VALUE '23000', 1062\n"
    b"  BEGIN\n"
    b"    SET done = done + 1;\n"
    b"    IF done > 5 THEN SET done = 5; END IF;\n"
    b"  END;\n"
    b"  DECLARE EXIT HANDLER FOR NOT FOUND, SQLWARNING BEGIN END;\n"
    b"  INSERT INTO t (id) VALUES (1);\n"
    b"  SELECT done;\n"
    b"END",
    b"CREATE TRIGGER t_bi1 BEFORE INSERT ON t FOR EACH ROW SET NEW.a = COALESCE(NEW.a, 0) + 1",
    b"CREATE TRIGGER t_bi2 BEFORE INSERT ON t FOR EACH ROW FOLLOWS t_bi1 BEGIN "
    b"SET NEW.end = NEW.a * 10; SET NEW.begin = NEW.a * 100; END",
    # routine headers: multi-word types, character sets, SET types, comments
    b"CREATE FUNCTION dp() RETURNS DOUBLE PRECISION DETERMINISTIC BEGIN "
    b"DECLARE x DOUBLE DEFAULT 1.5; RETURN x; END",
    b"CREATE FUNCTION charset_fn() RETURNS VARCHAR(10) CHARACTER SET utf8mb4 "
    b"COLLATE utf8mb4_bin COMMENT 'a; b' DETERMINISTIC BEGIN RETURN 'x;y'; END",
    b"CREATE FUNCTION set_type() RETURNS SET('a', 'b') DETERMINISTIC BEGIN RETURN 'a,b'; END",
    b"CREATE FUNCTION sign_of(x INT) RETURNS INT DETERMINISTIC "
    b"RETURN CASE WHEN x > 0 THEN 1 WHEN x < 0 THEN -1 ELSE 0 END",
    b"CREATE PROCEDURE `odd name`() BEGIN # begin; end\n"
    b"  SELECT 'END;', \"BEGIN;\" -- end;\n"
    b"  ; SELECT `end` FROM t WHERE id = 1 /* ; end */; END",
    b"BEGIN NOT ATOMIC IF (SELECT COUNT(*) FROM t) > 0 THEN "
    b"UPDATE t SET a = a + 1000 WHERE id = 2; END IF; END",
    b"CREATE EVENT ev ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' "
    b"ENDS '2031-01-01 00:00:00' DISABLE DO BEGIN UPDATE t SET a = a; IF 1 THEN SELECT 1; END IF; END",
)


class TestMySQLStoredPrograms:
    @pytest.mark.parametrize(
        "statement",
        [
            # the examples, verbatim, and the same with begin
            b"CREATE PROCEDURE p() BEGIN SELECT end FROM t; SELECT 2; END",
            b"CREATE PROCEDURE p() BEGIN UPDATE t SET end = 1; SELECT 2; END",
            b"CREATE PROCEDURE p() BEGIN SELECT 1 FROM t JOIN t AS end; SELECT 2; END",
            b"CREATE PROCEDURE p() BEGIN SELECT begin FROM t; SELECT 2; END",
            b"CREATE PROCEDURE p() BEGIN UPDATE t SET begin = 1; SELECT 2; END",
            b"CREATE PROCEDURE p() BEGIN SELECT 1 FROM t JOIN t AS begin; SELECT 2; END",
            *MYSQL_PROGRAMS,
        ],
    )
    def test_program_is_one_statement(self, statement: bytes) -> None:
        source = b"SELECT 0;\n" + statement + b";\nSELECT 1"
        assert texts(source, "mysql") == [b"SELECT 0", statement, b"SELECT 1"]

    @pytest.mark.parametrize(
        "statement",
        [
            b"UPDATE t SET end = 1",
            b"SELECT end FROM t",
            b"SELECT 1 FROM t JOIN t AS end",
            b"SELECT begin, t.end FROM t",
            b"SELECT CASE WHEN end THEN begin END FROM t",
        ],
    )
    def test_identifiers_outside_programs(self, statement: bytes) -> None:
        source = statement + b";\nSELECT 1"
        assert texts(source, "mysql") == [statement, b"SELECT 1"]


# --------------------------------------------------------------------------------------------
# What the servers make of the statements split here
# --------------------------------------------------------------------------------------------


def validate_errors() -> str:
    """Run sqlmigrate_validate, which must fail; return what it printed on stderr."""
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    err = StringIO()
    with pytest.raises(CommandError):
        call_command("sqlmigrate_validate", stderr=err, no_color=True)
    return err.getvalue()


def result_sets(sql: str) -> list[list[tuple[Any, ...]]]:
    """Every result set ``sql`` returns (a MySQL CALL returns one per SELECT it runs)."""
    found: list[list[tuple[Any, ...]]] = []
    with connections["default"].cursor() as cursor:
        cursor.execute(sql)
        while True:
            if cursor.description is not None:
                found.append([tuple(row) for row in cursor.fetchall()])
            if not cursor.nextset():
                return found


@pytest.mark.skipif(vendor() != "mysql", reason="MariaDB runs the stored programs")
@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.usefixtures("clean_database")
class TestAppliedOnMariaDB:
    def test_stored_programs_apply_and_run(self, tmp_path: Path, settings: Settings) -> None:
        statements = (*MYSQL_SETUP, *MYSQL_PROGRAMS)
        source = b"".join(statement + b";\n" for statement in statements)
        assert texts(source, "mysql") == list(statements)
        (tmp_path / "001-programs.sql").write_bytes(source)
        settings.SQLMIGRATE_DIRS = [tmp_path]
        try:
            run("sqlmigrate_apply", interactive=False)
            assert history() == [("001-programs", True)]
            routines = scalar(
                "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"
            )
            assert routines == sum(
                s.startswith((b"CREATE PROCEDURE", b"CREATE FUNCTION")) for s in MYSQL_PROGRAMS
            )
            assert result_sets("CALL select_end()") == [[(10,), (30,)], [(2,)]]
            assert result_sets("CALL join_as_end()") == [[(2,)], [(2,)]]
            assert result_sets("CALL select_begin()") == [[(20,), (40,)], [(2,)]]
            assert result_sets("CALL join_as_begin()") == [[(1,)], [(2,)]]
            assert result_sets("CALL qualified()") == [[(10, 20)], [(1, 1)], [(40,)]]
            assert result_sets("CALL variables()") == [[(3, 2)]]
            assert result_sets("CALL case_identifiers()") == [[(20,), (30,)], [(20,), (None,)]]
            assert result_sets("CALL params(1, 2)") == [[(3,)]]
            assert result_sets("CALL set_end()") == [[(1,)]]
            assert result_sets("CALL set_begin()") == [[(5,)]]
            assert result_sets("CALL if_body(0)") == [[("zero",)]]
            assert result_sets("CALL case_body(2)") == [[("two",)], [("deux",)]]
            assert result_sets("CALL loop_body()") == [[(1,)]]
            assert result_sets("CALL handler_block()") == [[(1,)]]  # the handler's block ran
            assert result_sets("CALL `odd name`()") == [[("END;", "BEGIN;")], [(10,)]]
            assert result_sets(
                "SELECT f_end(1), nest(6), dp(), charset_fn(), set_type(), sign_of(-3)"
            ) == [[(2, 119, 1.5, "x;y", "a,b", -1)]]
            # both triggers, in FOLLOWS order; the anonymous block ran once, at apply
            with connections["default"].cursor() as cursor:
                cursor.execute("INSERT INTO t (id) VALUES (10)")
            assert result_sets("SELECT `end`, `begin`, a FROM t WHERE id = 10") == [[(10, 100, 1)]]
            assert scalar("SELECT a FROM t WHERE id = 2") == 1002
            definition = scalar(
                "SELECT EVENT_DEFINITION FROM information_schema.EVENTS "
                "WHERE EVENT_SCHEMA = DATABASE() AND EVENT_NAME = 'ev'"
            )
            assert definition.endswith("IF 1 THEN SELECT 1; END IF; END")
        finally:
            with connections["default"].cursor() as cursor:
                cursor.execute("DROP EVENT IF EXISTS ev")


@pytest.mark.skipif(vendor() != "postgresql", reason="PostgreSQL parses the statements")
@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.usefixtures("clean_database")
class TestAppliedOnPostgreSQL:
    SOURCE = (
        b"CREATE TABLE t (a int, b text);\n"
        b"CREATE /* x /* nested */ */ OR /**/ REPLACE /* y */ FUNCTION two(a int) RETURNS int\n"
        b"LANGUAGE sql BEGIN ATOMIC\n"
        b"  SELECT CASE WHEN a > 0 THEN 2 ELSE 0 END;\n"
        b"END;\n"
        b"COPY t (a, b) FROM /* rows */ STDIN;\n"
        b"1\tone; x\n"
        b"2\tFROM STDIN\n"
        b"\\.\n"
        b"COPY t FROM -- more rows\n  STDIN WITH (FORMAT csv);\n"
        b'3,"three"\n'
        b"\\.\n"
        b"INSERT INTO t VALUES (two(1), 'it''s \\n');\n"
    )

    def test_nested_comments_and_copy_apply(self, tmp_path: Path, settings: Settings) -> None:
        statements = list(split(self.SOURCE, "postgresql"))
        assert [s.copy_data is not None for s in statements] == [False, False, True, True, False]
        (tmp_path / "001-copy.sql").write_bytes(self.SOURCE)
        settings.SQLMIGRATE_DIRS = [tmp_path]
        run("sqlmigrate_apply", interactive=False)
        assert history() == [("001-copy", True)]
        assert result_sets("SELECT a, b FROM t ORDER BY a, b") == [
            [(1, "one; x"), (2, "FROM STDIN"), (2, "it's \\n"), (3, "three")]
        ]

    def test_standard_conforming_strings_off_is_refused(
        self, tmp_path: Path, settings: Settings
    ) -> None:
        (tmp_path / "001-old.sql").write_bytes(
            b"CREATE TABLE t (b text);\n"
            b"  SET standard_conforming_strings = off;\n"
            b"INSERT INTO t VALUES ('it\\'s; here');\n"
        )
        settings.SQLMIGRATE_DIRS = [tmp_path]
        message = validate_errors()
        assert "001-old.sql" in message
        assert "standard_conforming_strings" in message
        assert "line 2, column 3" in message
        assert "write the strings that use backslash escapes as E'...'" in message
        fails("sqlmigrate_apply", interactive=False)
        assert "t" not in tables()
        assert history() == []


@pytest.mark.skipif(vendor() != "sqlite", reason="SQLite parses the statements")
@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.usefixtures("clean_database")
class TestAppliedOnSQLite:
    def test_unterminated_trigger_is_reported_and_nothing_runs(
        self, tmp_path: Path, settings: Settings
    ) -> None:
        (tmp_path / "001-trigger.sql").write_bytes(
            b"CREATE TABLE t (a);\nCREATE TABLE log (a);\n"
            b"CREATE TRIGGER tr AFTER INSERT ON t\nBEGIN\n  INSERT INTO log VALUES (NEW.a);\n"
        )
        settings.SQLMIGRATE_DIRS = [tmp_path]
        message = validate_errors()
        assert "001-trigger.sql" in message
        assert "unterminated CREATE TRIGGER" in message
        assert "line 3, column 1" in message
        fails("sqlmigrate_apply", interactive=False)
        assert {"t", "log"} & tables() == set()
        assert history() == []

    def test_vertical_tab_after_a_token_fails_the_file(
        self, tmp_path: Path, settings: Settings
    ) -> None:
        (tmp_path / "001-vtab.sql").write_bytes(b"CREATE TABLE t (a);\nCREATE TABLE u (a)\v;\n")
        settings.SQLMIGRATE_DIRS = [tmp_path]
        message = fails("sqlmigrate_apply", interactive=False)
        assert "unrecognized token" in message
        assert {"t", "u"} & tables() == set()  # the file's transaction was rolled back
        assert history() == []
