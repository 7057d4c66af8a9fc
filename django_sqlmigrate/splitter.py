"""Split a migration file into the statements its database client would send.

Each dialect mirrors the command-line client people test their files with: PostgreSQL follows
psql's lexer (``src/fe_utils/psqlscan.l``), SQLite follows ``sqlite3_complete()`` and MySQL /
MariaDB follows the ``mysql`` client (``DELIMITER``, executable comments), plus compound-statement
tracking so stored programs split correctly without ``DELIMITER``.

The splitter works on the normalised file bytes and returns offsets, never copies: every delimiter
is ASCII and UTF-8 never puts an ASCII byte inside a multi-byte character. Speed comes from one
compiled bytes regex per dialect that swallows whole runs of ordinary text (string literals and
quoted identifiers included) in C and stops only where Python has to decide something: the
terminator, parentheses (PostgreSQL), dollar quotes, nested comments, and keywords inside the few
statements whose leading words say they are compound (functions, procedures, triggers, events).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, cast

__all__ = ["Dialect", "SplitError", "Statement", "leading_words", "split"]

Dialect = Literal["postgresql", "sqlite", "mysql"]


@dataclass(frozen=True, slots=True)
class Statement:
    """Where one statement lies in the source bytes; ``source[start:end]`` is what is sent.

    ``copy_data`` locates the inline rows of a PostgreSQL ``COPY ... FROM STDIN``;
    ``copy_to_stdout`` marks a ``COPY ... TO STDOUT``, whose rows the server would send back.
    """

    start: int
    end: int
    copy_data: tuple[int, int] | None = None
    copy_to_stdout: bool = False


class SplitError(Exception):
    """The file cannot be split: an unterminated construct or an unsupported client command."""

    def __init__(self, message: str, offset: int, hint: str | None = None) -> None:
        super().__init__(message, offset, hint)
        self.message = message
        self.offset = offset
        self.hint = hint  # what to do, when "close it" is not the answer

    def __str__(self) -> str:
        return self.message


# A bound ``Pattern.match`` for patterns that always match (every part is starred), so callers
# can use ``.end()`` without a None check in the hot loops.
_Matcher = Callable[[bytes, int], "re.Match[bytes]"]


def _always(pattern: bytes, flags: int = 0) -> _Matcher:
    """Compile a pattern that cannot fail to match and return its ``match`` method."""
    return cast(_Matcher, re.compile(pattern, flags).match)


_WHITESPACE: Final = frozenset(b" \t\n\r\f\v")
_SEMI: Final = ord(";")
_VTAB: Final = ord("\v")
_LPAREN: Final = ord("(")
_RPAREN: Final = ord(")")
_DOLLAR: Final = ord("$")
_SLASH: Final = ord("/")
_BACKSLASH: Final = ord("\\")
_QUOTE: Final = ord("'")
_DQUOTE: Final = ord('"')
_BACKTICK: Final = ord("`")
_COLON: Final = ord(":")
_DOT: Final = ord(".")
_EQUALS: Final = ord("=")
_C_INITIALS: Final = frozenset(b"Cc")  # CREATE, COPY
_E_INITIALS: Final = frozenset(b"Ee")
_S_INITIALS: Final = frozenset(b"Ss")  # SET, SELECT

# Unrolled-loop, non-nesting block comment: "/*" ... "*/".
_FLAT_BLOCK_COMMENT: Final = rb"/\*[^*]*+\*++(?:[^*/][^*]*+\*++)*+/"


def _only_gap(gap: re.Pattern[bytes], source: bytes, start: int, stop: int) -> bool:
    """Whether only whitespace and comments lie in ``source[start:stop]``."""
    if start == stop:
        return True
    found = gap.match(source, start, stop)
    return found is not None and found.end() == stop


def _trim_end(source: bytes, start: int, end: int) -> int:
    """Back ``end`` up over trailing whitespace (the terminator is already excluded)."""
    while end > start and source[end - 1] in _WHITESPACE:
        end -= 1
    return end


# --------------------------------------------------------------------------------------------
# PostgreSQL (psql)
# --------------------------------------------------------------------------------------------

# psql identifiers: a letter, "_" or non-ASCII byte, then those, digits and "$". A "$" inside
# an identifier is part of it, so ``foo$bar$`` never opens a dollar quote.
_PG_IDENT_CONT: Final = rb"A-Za-z0-9_$\x80-\xff"
_PG_NOT_IDENT: Final = rb"(?![" + _PG_IDENT_CONT + rb"])"
# A PG block comment that nests nothing; one that does contains "/*" and makes the regex stop
# so Python can count the levels.
_PG_SIMPLE_COMMENT: Final = rb"/\*(?:[^*/]++|\*(?!/)|/(?!\*))*+\*/"

_PG_ATOMS_NO_WORDS: Final = (
    # punctuation, operators and whitespace
    rb"[^;()'\"$\\\-/A-Za-z0-9_\x80-\xff]++"
    # '...' with '' doubling, also U&'...', B'...', X'...', N'...' (the prefix is a word)
    rb"|'[^']*+(?:''[^']*+)*+'"
    # numbers (and psql's "integer junk" such as 1e, so 1e'x' is not an E-string)
    rb"|[0-9][A-Za-z0-9_\x80-\xff]*+"
    # E'...' with backslash escapes and '' doubling
    rb"|[eE]'[^'\\]*+(?:(?:''|\\[\s\S])[^'\\]*+)*+'"
    rb"|\"[^\"]*+(?:\"\"[^\"]*+)*+\""
    rb"|--[^\n]*+"
    rb"|"
    + _PG_SIMPLE_COMMENT
    # $1 parameters and a "$" that does not open a dollar quote
    + rb"|\$(?:[0-9]++|(?!(?:[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*+)?\$))"
    rb"|-(?!-)|/(?!\*)"
)
# identifiers and keywords; an "E" or "e" directly before a quote starts an E-string instead
_PG_ATOM_WORD: Final = rb"(?:[A-DF-Za-df-z_\x80-\xff]|[eE](?!'))[" + _PG_IDENT_CONT + rb"]*+"
_PG_ATOMS: Final = _PG_ATOMS_NO_WORDS + rb"|" + _PG_ATOM_WORD


def _pg_paren_group(depth: int) -> bytes:
    """A balanced ``( ... )`` up to ``depth`` levels, consumed in C (INSERT rows, calls)."""
    inner = rb"(?:" + _PG_ATOMS + rb"|;"
    group = rb"\(" + inner + rb")*+\)"
    for _ in range(depth - 1):
        group = rb"\(" + inner + rb"|" + group + rb")*+\)"
    return group


_PG_GROUP: Final = _pg_paren_group(3)
# Ordinary statement text; stops at ";", an unbalanced or too deep "(", ")", a dollar quote,
# a nested or unterminated comment, an unterminated quote and a backslash.
_pg_body = _always(rb"(?:" + _PG_ATOMS + rb"|" + _PG_GROUP + rb")*+")
# The same, but also stopping at identifiers outside parentheses, for CREATE FUNCTION/PROCEDURE
# whose SQL-standard body (BEGIN ATOMIC ... END) is tracked by keywords.
_pg_body_words = _always(rb"(?:" + _PG_ATOMS_NO_WORDS + rb"|" + _PG_GROUP + rb")*+")
# Between statements: whitespace, empty statements and non-nesting comments.
_pg_skip = _always(rb"(?:[\s;]++|--[^\n]*+|" + _PG_SIMPLE_COMMENT + rb")*+")

_PG_IDENT: Final = re.compile(rb"[A-Za-z_\x80-\xff][" + _PG_IDENT_CONT + rb"]*+")
_PG_DOLLAR_OPEN: Final = re.compile(rb"\$(?:[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*+)?\$")
_PG_COMMENT_MARK: Final = re.compile(rb"/\*|\*/")
_PG_META: Final = re.compile(rb"\\([A-Za-z]+|[^\s])?")
_PG_COPY_LINE_REST: Final = re.compile(rb"[ \t\r\f\v]*+(?:--[^\n]*+)?(?:\n|\Z)")
_PG_COPY_END: Final = re.compile(rb"^\\\.$", re.MULTILINE)


def _pg_comment_end(source: bytes, pos: int) -> int:
    """End of the nested ``/* */`` comment starting at ``pos`` (psql nests them)."""
    depth = 0
    for mark in _PG_COMMENT_MARK.finditer(source, pos):
        if mark.group() == b"/*":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return mark.end()
    raise SplitError("unterminated /* comment", pos)


# One significant token after whitespace and non-nesting comments, for the few statements
# whose leading words decide something (CREATE FUNCTION, COPY, SET). Nested comments stop the
# gap so that Python can count their levels; the splitter has checked every literal already.
_PG_TOKEN_GAP: Final = re.compile(rb"(?:\s++|--[^\n]*+|" + _PG_SIMPLE_COMMENT + rb")*+")
_PG_TOKEN: Final = re.compile(
    rb"(?P<word>(?:[A-DF-Za-df-z_\x80-\xff]|[eE](?!'))[" + _PG_IDENT_CONT + rb"]*+)"
    rb"|[eE]'[^'\\]*+(?:(?:''|\\[\s\S])[^'\\]*+)*+'"
    rb"|'[^']*+(?:''[^']*+)*+'"
    rb"|\"[^\"]*+(?:\"\"[^\"]*+)*+\""
    rb"|\$(?P<tag>(?:[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*+)?)\$[\s\S]*?\$(?P=tag)\$"
    rb"|[0-9][A-Za-z0-9_\x80-\xff.]*+"
    rb"|[\s\S]"
)
_PG_GAP: Final = rb"(?:\s++|--[^\n]*+|" + _PG_SIMPLE_COMMENT + rb")++"
_PG_ROUTINE: Final = re.compile(
    rb"CREATE" + _PG_GAP + rb"(?:OR" + _PG_GAP + rb"REPLACE" + _PG_GAP + rb")?"
    rb"(?:FUNCTION|PROCEDURE)" + _PG_NOT_IDENT,
    re.IGNORECASE,
)
# CREATE [OR [REPLACE]] then a comment the gap above cannot take: one that nests
_PG_NESTED_IN_HEAD: Final = re.compile(
    rb"CREATE(?:(?:" + _PG_GAP + rb")?(?:OR|REPLACE)" + _PG_NOT_IDENT + rb")*+"
    rb"(?:" + _PG_GAP + rb")?/\*",
    re.IGNORECASE,
)
_PG_COPY: Final = re.compile(rb"COPY" + _PG_NOT_IDENT, re.IGNORECASE)
_COPY_NONE, _COPY_FROM_STDIN, _COPY_TO_STDOUT = 0, 1, 2
_PG_OFF_VALUES: Final = frozenset(
    {b"OFF", b"OF", b"FALSE", b"FALS", b"FAL", b"FA", b"F", b"NO", b"N", b"0"}
)
_PG_SCS_OFF_MESSAGE: Final = (
    "setting standard_conforming_strings to off is not supported: from then on the server "
    "reads a backslash in '...' as an escape, but statements sent in one batch are all read "
    "with the setting the batch started with"
)
_PG_SCS_OFF_HINT: Final = (
    "Leave standard_conforming_strings on and write the strings that use backslash escapes "
    "as E'...' (pg_dump has written its dumps that way since PostgreSQL 9.1)."
)


def _pg_tokens(source: bytes, pos: int, end: int) -> Iterator[tuple[bytes, bool]]:
    """The significant tokens of ``source[pos:end]`` as (text, is a bare word), psql's way.

    Whitespace and every kind of comment (nested ones included) separate tokens; strings,
    quoted identifiers and dollar quotes are single tokens, so their content never counts.
    """
    while True:
        pos = cast("re.Match[bytes]", _PG_TOKEN_GAP.match(source, pos, end)).end()
        if pos >= end:
            return
        if source.startswith(b"/*", pos):
            try:
                pos = min(_pg_comment_end(source, pos), end)
            except SplitError:
                return
            continue
        token = cast("re.Match[bytes]", _PG_TOKEN.match(source, pos, end))
        pos = token.end()
        yield token.group(), token.lastgroup == "word"


def _pg_leading_words(source: bytes, pos: int, end: int, count: int) -> list[bytes]:
    """Up to ``count`` leading bare words, upper-cased; stops at the first other token."""
    words: list[bytes] = []
    for text, is_word in _pg_tokens(source, pos, end):
        if not is_word:
            break
        words.append(text.upper())
        if len(words) == count:
            break
    return words


def _pg_is_routine(source: bytes, pos: int) -> bool:
    """Whether the statement at ``pos`` starts CREATE [OR REPLACE] FUNCTION|PROCEDURE.

    psql only tracks BEGIN ATOMIC ... END in those; comments of any kind may separate the words
    (a regex sees all but nested ones, for which Python walks the tokens).
    """
    if _PG_ROUTINE.match(source, pos) is not None:
        return True
    if _PG_NESTED_IN_HEAD.match(source, pos) is None:
        return False
    words = _pg_leading_words(source, pos, len(source), 4)
    if words[:1] != [b"CREATE"]:
        return False
    if words[1:3] == [b"OR", b"REPLACE"]:
        words = words[2:]
    return words[1:2] in ([b"FUNCTION"], [b"PROCEDURE"])


def _pg_copy_kind(source: bytes, start: int, end: int) -> int:
    """Whether a COPY statement is COPY ... FROM STDIN, COPY ... TO STDOUT, or neither.

    The direction is the first FROM or TO outside parentheses (a column list or a query comes
    before it); the token after it decides. Strings, quoted names and comments never count.
    """
    tokens = _pg_tokens(source, start, end)
    first = next(tokens, None)
    if first is None or first[0].upper() != b"COPY":
        return _COPY_NONE
    depth = 0
    previous = b""
    for text, is_word in tokens:
        qualified = previous == b"."  # s.to is a table, whatever its name
        previous = text
        if text == b"(":
            depth += 1
        elif text == b")":
            depth = max(0, depth - 1)
        elif depth == 0 and is_word and not qualified:
            direction = text.upper()
            if direction not in (b"FROM", b"TO"):
                continue
            target = next(tokens, (b"", False))
            if target[1]:
                stream = target[0].upper()
                if direction == b"FROM" and stream == b"STDIN":
                    return _COPY_FROM_STDIN
                if direction == b"TO" and stream == b"STDOUT":
                    return _COPY_TO_STDOUT
            return _COPY_NONE
    return _COPY_NONE


def _pg_turns_off_standard_strings(source: bytes, start: int, end: int) -> bool:
    """Whether a SET or SELECT set_config(...) statement sets standard_conforming_strings off.

    ``SET [SESSION | LOCAL] standard_conforming_strings {= | TO} value`` and
    ``SELECT [pg_catalog.]set_config('standard_conforming_strings', 'value', ...)``; the value
    as PostgreSQL reads a boolean (``off``, ``false``, ``no``, ``0`` and unique prefixes).
    """
    tokens = _pg_tokens(source, start, end)
    first = next(tokens, (b"", False))[0].upper()
    if first == b"SET":
        name = next(tokens, (b"", False))[0].upper()
        if name in (b"SESSION", b"LOCAL"):
            name = next(tokens, (b"", False))[0].upper()
        if name != b"STANDARD_CONFORMING_STRINGS":
            return False
        if next(tokens, (b"", False))[0].upper() not in (b"=", b"TO"):
            return False
        value = next(tokens, (b"", False))[0]
    elif first == b"SELECT":
        name = next(tokens, (b"", False))[0].upper()
        if name == b"PG_CATALOG":
            if next(tokens, (b"", False))[0] != b".":
                return False
            name = next(tokens, (b"", False))[0].upper()
        if name != b"SET_CONFIG" or next(tokens, (b"", False))[0] != b"(":
            return False
        if next(tokens, (b"", False))[0].lower() != b"'standard_conforming_strings'":
            return False
        if next(tokens, (b"", False))[0] != b",":
            return False
        value = next(tokens, (b"", False))[0]
    else:
        return False
    if value[:1] in (b"'", b'"') and value[-1:] == value[:1]:
        value = value[1:-1].strip()
    return value.upper() in _PG_OFF_VALUES


def _pg_dollar_end(source: bytes, pos: int) -> int:
    """End of the dollar-quoted string opening at ``pos``: its body is opaque."""
    opener = _PG_DOLLAR_OPEN.match(source, pos)
    if opener is None:  # cannot happen: the body regex consumes every other "$"
        return pos + 1
    tag = opener.group()
    close = source.find(tag, opener.end())
    if close < 0:
        raise SplitError(f"unterminated dollar-quoted string {tag.decode()}", pos)
    return close + len(tag)


def _pg_meta_error(source: bytes, pos: int) -> SplitError:
    """psql would run a backslash command here; the server would not understand it."""
    found = _PG_META.match(source, pos)
    name = found.group(1) if found is not None and found.group(1) else b""
    return SplitError(
        f"psql meta-command \\{name.decode()} is not supported",
        pos,
        hint=(
            "psql runs backslash commands itself and the server never sees them: write the SQL "
            "they stand for instead (the included file's statements for \\i, literal values "
            "for \\set variables), or remove the line."
        ),
    )


def _split_postgresql(source: bytes) -> Iterator[Statement]:
    """psql's rules: ``;`` ends a statement outside parentheses and BEGIN ATOMIC bodies."""
    n = len(source)
    pos = 0
    while True:
        pos = _pg_skip(source, pos).end()
        if pos >= n:
            return
        first = source[pos]
        if first == _SLASH and source.startswith(b"/*", pos):  # nested or unterminated
            pos = _pg_comment_end(source, pos)
            continue
        if first == _BACKSLASH:
            raise _pg_meta_error(source, pos)
        start = pos
        routine = first in _C_INITIALS and _pg_is_routine(source, pos)
        body = _pg_body_words if routine else _pg_body
        paren_depth = 0
        begin_depth = 0
        while True:
            pos = body(source, pos).end()
            if pos >= n:
                end = next_pos = n
                break
            char = source[pos]
            if char == _SEMI:
                if paren_depth == 0 and begin_depth == 0:
                    end = pos
                    next_pos = pos + 1
                    break
                pos += 1
            elif char == _LPAREN:
                paren_depth += 1
                pos += 1
            elif char == _RPAREN:
                if paren_depth:
                    paren_depth -= 1
                pos += 1
            elif char == _DOLLAR:
                pos = _pg_dollar_end(source, pos)
            elif char == _SLASH:
                pos = _pg_comment_end(source, pos)
            elif char == _QUOTE or (char in _E_INITIALS and source[pos + 1 : pos + 2] == b"'"):
                raise SplitError("unterminated quoted string", pos)
            elif char == _DQUOTE:
                raise SplitError("unterminated quoted identifier", pos)
            elif char == _BACKSLASH:
                raise _pg_meta_error(source, pos)
            else:  # an identifier in CREATE FUNCTION/PROCEDURE: psql's BEGIN ATOMIC heuristic
                word = _PG_IDENT.match(source, pos)
                if word is None:
                    pos += 1
                    continue
                pos = word.end()
                if paren_depth == 0:
                    keyword = word.group().upper()
                    if keyword == b"BEGIN":
                        begin_depth += 1
                    elif keyword == b"CASE":
                        if begin_depth:
                            begin_depth += 1
                    elif keyword == b"END" and begin_depth:
                        begin_depth -= 1
        end = _trim_end(source, start, end)
        copy = (
            _pg_copy_kind(source, start, end)
            if first in _C_INITIALS and _PG_COPY.match(source, start, end) is not None
            else _COPY_NONE
        )
        if copy == _COPY_FROM_STDIN:
            data_start, data_end, next_pos = _pg_copy_data(source, next_pos)
            yield Statement(start, end, (data_start, data_end))
        elif copy == _COPY_TO_STDOUT:
            yield Statement(start, end, copy_to_stdout=True)
        else:
            if first in _S_INITIALS and _pg_turns_off_standard_strings(source, start, end):
                raise SplitError(_PG_SCS_OFF_MESSAGE, start, _PG_SCS_OFF_HINT)
            yield Statement(start, end)
        pos = next_pos


def _pg_copy_data(source: bytes, pos: int) -> tuple[int, int, int]:
    """Locate the inline rows after ``COPY ... FROM STDIN;``: (start, end, resume offset).

    psql hands the following lines to the server up to a line that is exactly ``\\.``.
    """
    n = len(source)
    if pos >= n:
        return n, n, n
    rest = _PG_COPY_LINE_REST.match(source, pos)
    if rest is None:
        raise SplitError("COPY ... FROM STDIN must be the last statement on its line", pos)
    data_start = rest.end()
    stop = _PG_COPY_END.search(source, data_start)
    if stop is None:
        return data_start, n, n
    return data_start, stop.start(), min(stop.end() + 1, n)


# --------------------------------------------------------------------------------------------
# SQLite (sqlite3_complete)
# --------------------------------------------------------------------------------------------

_SQ_IDCHARS: Final = rb"A-Za-z0-9_$\x80-\xff"
_SQ_ATOMS_NO_WORDS: Final = (
    rb"'[^']*+(?:''[^']*+)*+'|\"[^\"]*+(?:\"\"[^\"]*+)*+\"|`[^`]*+(?:``[^`]*+)*+`"
    rb"|\[[^\]]*+\]"
    rb"|--[^\n]*+|" + _FLAT_BLOCK_COMMENT + rb"|-(?!-)|/(?!\*)"
)
_sq_body = _always(rb"(?:[^;'\"`\[\-/]++|" + _SQ_ATOMS_NO_WORDS + rb")*+")
_sq_body_words = _always(
    rb"(?:[^;'\"`\[\-/" + _SQ_IDCHARS + rb"]++|" + _SQ_ATOMS_NO_WORDS + rb")*+"
)
# sqlite3_complete's whitespace has no "\v" (a "\v" is a token to it, and so ends no
# statement and starts no trigger); SQLite's tokenizer accepts a "\v" only inside a run of
# whitespace that starts with another whitespace byte, and the sqlite3 shell strips every
# C-isspace byte at the start of a statement. The text sent follows the last two.
_SQ_WS: Final = rb"[ \t\n\f\r]"
_SQ_PIECE_GAP: Final = (
    rb"[ \t\n\f\r\v]*+(?:[ \t\n\f\r][ \t\n\f\r\v]*+|--[^\n]*+|" + _FLAT_BLOCK_COMMENT + rb")*+"
)
# Empty statements, then the gap before the next one, whose start is the "piece" group.
_sq_skip = _always(rb"(?:" + _SQ_PIECE_GAP + rb";)*+(?P<piece>)" + _SQ_PIECE_GAP)
_SQ_GAP: Final = rb"(?:" + _SQ_WS + rb"++|--[^\n]*+|" + _FLAT_BLOCK_COMMENT + rb")"
_SQ_GAP_RUN: Final = re.compile(_SQ_GAP + rb"*+")
_SQ_END_WORD: Final = rb"(?![" + _SQ_IDCHARS + rb"])"
# A token sqlite3_complete calls "other" (not ";", whitespace or one of its keywords).
_SQ_OTHER: Final = (
    rb"'[^']*+'|\"[^\"]*+\"|`[^`]*+`|\[[^\]]*+\]"
    rb"|(?!(?:CREATE|TRIGGER|TEMP|TEMPORARY|END|EXPLAIN)" + _SQ_END_WORD + rb")"
    rb"[" + _SQ_IDCHARS + rb"]++"
    rb"|-(?!-)|/(?!\*)|[^;'\"`\[\-/ \t\n\f\r" + _SQ_IDCHARS + rb"]"
)
# sqlite3_complete's way into trigger mode: [EXPLAIN other tokens...] CREATE [TEMP]... TRIGGER
_SQ_TRIGGER: Final = re.compile(
    rb"(?:EXPLAIN" + _SQ_END_WORD + rb"(?:" + _SQ_GAP + rb"|" + _SQ_OTHER + rb")*+)?"
    rb"CREATE" + _SQ_END_WORD + _SQ_GAP + rb"*+"
    rb"(?:TEMP(?:ORARY)?" + _SQ_END_WORD + _SQ_GAP + rb"*+)*+"
    rb"TRIGGER" + _SQ_END_WORD,
    re.IGNORECASE,
)
_SQ_WORD: Final = re.compile(rb"[" + _SQ_IDCHARS + rb"]++")
_SQ_TRIGGER_INITIALS: Final = frozenset(b"CcEe")

# sqlite3_complete's trigger states: inside the body, just after ";", just after "; END".
_IN_TRIGGER, _AFTER_SEMI, _AFTER_END = 5, 6, 7


def _sq_unterminated(source: bytes, pos: int) -> SplitError:
    """The error for whatever construct the body regex could not close at ``pos``."""
    if source[pos] == _SLASH:
        return SplitError("unterminated /* comment", pos)
    if source[pos] == _QUOTE:
        return SplitError("unterminated quoted string", pos)
    return SplitError("unterminated quoted identifier", pos)


def _split_sqlite(source: bytes) -> Iterator[Statement]:
    """sqlite3_complete's rules: ``;`` ends a statement, except inside CREATE TRIGGER bodies."""
    n = len(source)
    pos = 0
    while True:
        gap = _sq_skip(source, pos)
        pos = gap.end()
        if pos >= n:
            return
        start = pos
        trigger = (
            _SQ_TRIGGER.match(source, pos)
            if source[pos] in _SQ_TRIGGER_INITIALS
            # a "\v" before CREATE is a token to sqlite3_complete: no trigger starts there
            and _only_gap(_SQ_GAP_RUN, source, gap.start("piece"), pos)
            else None
        )
        if trigger is None:
            pos = _sq_body(source, pos).end()
            if pos >= n:
                end = next_pos = n
            elif source[pos] == _SEMI:
                end = pos
                next_pos = pos + 1
            else:
                raise _sq_unterminated(source, pos)
        else:
            end, next_pos = _sq_trigger_end(source, start, trigger.end())
        yield Statement(start, _sq_trim_end(source, start, end))
        pos = next_pos


def _sq_trim_end(source: bytes, start: int, end: int) -> int:
    """Back ``end`` up over trailing whitespace as SQLite's tokenizer reads it.

    A "\v" right after a token is no whitespace to SQLite (it is an unrecognised token), so
    the run trimmed must start with another whitespace byte.
    """
    trimmed = _trim_end(source, start, end)
    while trimmed < end and source[trimmed] == _VTAB:
        trimmed += 1
    return trimmed


def _sq_trigger_end(source: bytes, start: int, pos: int) -> tuple[int, int]:
    """Run sqlite3_complete's state machine: a trigger ends at ``; END ;``.

    At the end of the file ``; END`` still ends it (sqlite3 runs what is left, and SQLite
    parses it); anything else there is an unterminated trigger, which SQLite rejects.
    """
    n = len(source)
    state = _IN_TRIGGER
    token_end = pos  # where the last token seen by Python ended
    while True:
        pos = _sq_body_words(source, pos).end()
        if pos >= n:
            if state == _AFTER_END and _only_gap(_SQ_GAP_RUN, source, token_end, n):
                return n, n
            raise SplitError("unterminated CREATE TRIGGER: its body must end with END;", start)
        if state != _IN_TRIGGER and not _only_gap(_SQ_GAP_RUN, source, token_end, pos):
            state = _IN_TRIGGER  # some other token came in between
        char = source[pos]
        if char == _SEMI:
            if state == _AFTER_END:
                return pos, pos + 1
            state = _AFTER_SEMI
            pos += 1
        else:
            word = _SQ_WORD.match(source, pos)
            if word is None:
                raise _sq_unterminated(source, pos)
            pos = word.end()
            if state == _AFTER_SEMI and word.group().upper() == b"END":
                state = _AFTER_END
            else:
                state = _IN_TRIGGER
        token_end = pos


# --------------------------------------------------------------------------------------------
# MySQL / MariaDB (mysql client)
# --------------------------------------------------------------------------------------------

_MY_IDCHARS: Final = rb"A-Za-z0-9_$\x80-\xff"
# '' and \' both stay inside a string; the whole literal is matched so that an unterminated
# one is reported where it starts
_MY_STRINGS: Final = (
    rb"'[^'\\]*+(?:(?:''|\\[\s\S])[^'\\]*+)*+'"
    rb"|\"[^\"\\]*+(?:(?:\"\"|\\[\s\S])[^\"\\]*+)*+\""
    rb"|`[^`]*+(?:``[^`]*+)*+`"
)
_MY_LINE_COMMENT: Final = rb"#[^\n]*+|--(?=[\x00-\x20\x7f]|\Z)[^\n]*+"
# a comment proper; /*! and /*M! (executable) and /*+ (hints) are code
_MY_COMMENT: Final = rb"/\*(?![!+]|M!)[^*]*+\*++(?:[^*/][^*]*+\*++)*+/"
_MY_HINT: Final = rb"/\*\+[^*]*+\*++(?:[^*/][^*]*+\*++)*+/"
_MY_EXEC_OPEN: Final = rb"/\*M?!\d*+"
_MY_LONE: Final = rb"-(?!-(?:[\x00-\x20\x7f]|\Z))|/(?!\*)"
_MY_GAP: Final = rb"(?:\s++|" + _MY_LINE_COMMENT + rb"|" + _MY_COMMENT + rb")"
# also looks through the markers of executable comments (mysqldump's /*!50003 CREATE*/ ...)
_MY_LEAD_GAP: Final = rb"(?:\s++|" + _MY_LINE_COMMENT + rb"|" + _MY_COMMENT + rb"|/\*M?!\d*+|\*/)"
_MY_GAP_RUN: Final = re.compile(_MY_LEAD_GAP + rb"*+")

_MY_QUOTED: Final = rb"(?:" + _MY_STRINGS + rb")"
_MY_USER_PART: Final = rb"(?:" + _MY_QUOTED + rb"|[^\s'\"`*/@]++)"
_MY_USER: Final = _MY_USER_PART + rb"(?:\s*+@\s*+" + _MY_USER_PART + rb")?"
_G: Final = _MY_LEAD_GAP  # shorthand for the patterns below
_MY_NOT_IDENT: Final = rb"(?![" + _MY_IDCHARS + rb"])"
_MY_COMPOUND: Final = re.compile(
    b"".join(
        [
            _G + rb"*+(?:",
            # CREATE [OR REPLACE] [DEFINER = user] [AGGREGATE] PROCEDURE|FUNCTION|TRIGGER|EVENT
            rb"CREATE" + _G + rb"++(?:OR" + _G + rb"++REPLACE" + _G + rb"++)?",
            rb"(?:DEFINER" + _G + rb"*+=" + _G + rb"*+" + _MY_USER + _G + rb"++)?",
            rb"(?:AGGREGATE" + _G + rb"++)?",
            rb"(?P<kind>PROCEDURE|FUNCTION|TRIGGER|EVENT)" + _MY_NOT_IDENT,
            # MariaDB's anonymous block
            rb"|BEGIN" + _G + rb"++NOT" + _G + rb"++ATOMIC" + _MY_NOT_IDENT,
            # a labelled block or loop: "lbl: BEGIN"
            rb"|[" + _MY_IDCHARS + rb"]++\s*+:(?!=)",
            rb")",
        ]
    ),
    re.IGNORECASE,
)
_MY_NAME: Final = (
    rb"(?:`[^`]*+(?:``[^`]*+)*+`|\"[^\"]*+(?:\"\"[^\"]*+)*+\"|[" + _MY_IDCHARS + rb"]++)"
)
# [IF NOT EXISTS] [db.]name after CREATE PROCEDURE|FUNCTION: a name may be "begin" or "if"
_MY_IF_NOT_EXISTS: Final = rb"IF" + _G + rb"++NOT" + _G + rb"++EXISTS" + _MY_NOT_IDENT
_MY_ROUTINE_NAME: Final = re.compile(
    rb"(?:" + _G + rb"*+" + _MY_IF_NOT_EXISTS + rb")?" + _G + rb"*+"
    rb"(?:" + _MY_NAME + _G + rb"*+\." + _G + rb"*+)?" + _MY_NAME,
    re.IGNORECASE,
)
# One token of a routine, trigger or event header.
_MY_HEADER_TOKEN: Final = re.compile(
    _G + rb"*+(?P<token>(?P<word>[" + _MY_IDCHARS + rb"]++)|" + _MY_STRINGS + rb"|/\*|[\s\S])"
)
_MY_LABEL_COLON: Final = re.compile(rb"\s*+:(?!=)")
_MY_TRIGGER_ORDER: Final = re.compile(
    _G + rb"++(?:FOLLOWS|PRECEDES)" + _G + rb"++" + _MY_NAME, re.IGNORECASE
)
_MY_DELIMITER: Final = re.compile(rb"DELIMITER(?=[ \t\n]|\Z)[ \t]*+([^\n]*+)", re.IGNORECASE)
_MY_DELIMITER_INITIALS: Final = frozenset(b"Dd")
_MY_WORD: Final = re.compile(rb"[" + _MY_IDCHARS + rb"]++")
_MY_BEGIN_NOT_BLOCK: Final = re.compile(
    _MY_GAP + rb"*+(?:WORK" + _MY_NOT_IDENT + rb"|;|\Z)", re.IGNORECASE
)
_MY_NOT_ATOMIC: Final = re.compile(
    _G + rb"++NOT" + _G + rb"++ATOMIC" + _MY_NOT_IDENT, re.IGNORECASE
)
_MY_END_SUFFIX: Final = re.compile(
    _MY_GAP + rb"*+(IF|LOOP|WHILE|REPEAT|CASE|FOR)" + _MY_NOT_IDENT, re.IGNORECASE
)
_MY_OPEN_PAREN: Final = re.compile(_MY_GAP + rb"*+\(")
_MY_PAREN_TOKEN: Final = re.compile(
    _MY_STRINGS + rb"|" + _MY_LINE_COMMENT + rb"|" + _MY_COMMENT + rb"|[(),]"
)
# DECLARE ... HANDLER FOR condition [, condition]...: the handler's statement follows
_MY_CONDITION: Final = (
    rb"(?:SQLSTATE(?:" + _G + rb"++VALUE)?" + _G + rb"*+(?:'[^']*+'|\"[^\"]*+\")"
    rb"|NOT" + _G + rb"++FOUND" + _MY_NOT_IDENT + rb"|" + _MY_NAME + rb")"
)
_MY_HANDLER_FOR: Final = re.compile(
    _G + rb"++FOR" + _MY_NOT_IDENT + _G + rb"*+"
    rb"(?:" + _MY_CONDITION + _G + rb"*+," + _G + rb"*+)*+" + _MY_CONDITION,
    re.IGNORECASE,
)
# A non-qualified token span before END: what its last token is decides whether END can
# close a CASE expression (only after an operand).
_MY_SPAN_TOKEN: Final = re.compile(_G + rb"++|(?P<token>" + _MY_STRINGS + rb"|[\s\S])")

# The compound statements a body can contain; END closes the innermost one.
_BLOCK, _IF, _CASE, _CASE_EXPR, _LOOP, _WHILE, _REPEAT, _FOR = range(8)
_MY_OPENERS: Final = {
    b"IF": _IF,
    b"LOOP": _LOOP,
    b"WHILE": _WHILE,
    b"REPEAT": _REPEAT,
    b"FOR": _FOR,
}
_MY_SUFFIX_CLOSES: Final = {
    b"IF": (_IF,),
    b"LOOP": (_LOOP,),
    b"WHILE": (_WHILE,),
    b"REPEAT": (_REPEAT,),
    b"CASE": (_CASE, _CASE_EXPR),
    b"FOR": (_FOR,),
}
# The only words the body loop acts on; every other word is an identifier or a keyword that
# changes nothing.
_MY_KEYWORDS: Final = frozenset(
    {b"BEGIN", b"END", b"CASE", b"THEN", b"ELSE", b"DO", b"HANDLER", *_MY_OPENERS}
)
# A routine's body is its first statement after the header: a compound statement...
_MY_COMPOUND_STARTS: Final = frozenset({b"BEGIN", b"CASE", *_MY_OPENERS})
# ... or any other statement (the header's own words, RETURNS, types, character sets and
# characteristics such as COMMENT or SQL SECURITY, are none of these).
_MY_STATEMENT_WORDS: Final = frozenset(
    b"ALTER ANALYZE BACKUP BINLOG CACHE CALL CHANGE CHECK CHECKSUM CLOSE COMMIT CREATE "
    b"DEALLOCATE DECLARE DELETE DESC DESCRIBE DO DROP EXECUTE EXPLAIN FETCH FLUSH GET GRANT "
    b"HANDLER HELP INSERT INSTALL ITERATE KILL LEAVE LOAD LOCK OPEN OPTIMIZE PREPARE PURGE "
    b"RELEASE RENAME REPAIR REPLACE RESET RESIGNAL RETURN REVOKE ROLLBACK SAVEPOINT SELECT SET "
    b"SHOW SHUTDOWN SIGNAL START TABLE TRUNCATE UNINSTALL UNLOCK UPDATE USE VALUES WITH XA".split()
)
# Words after which an expression or a name must follow: END there is a name (SELECT end,
# THEN end), not the end of a CASE expression.
_MY_EXPECTS_OPERAND: Final = frozenset(
    b"ALL AND ANY AS BETWEEN BINARY BY CALL CASE DECLARE DEFAULT DISTINCT DIV DO ELSE ELSEIF "
    b"ESCAPE EXISTS FROM HAVING IF IN INTERVAL INTO IS JOIN LIKE LIMIT MOD NOT ON OR REGEXP "
    b"RETURN RLIKE SELECT SET SOME THEN UNTIL UPDATE USING VALUES WHEN WHERE WHILE XOR".split()
)


@lru_cache(maxsize=16)
def _mysql_scanners(delimiter: bytes, words: bool) -> tuple[_Matcher, _Matcher]:
    """Build (skip, body) matchers for the current client delimiter.

    ``words`` makes the body stop at every word and ":" too, for compound statements.
    """
    escaped = re.escape(delimiter)
    first = delimiter[:1]
    run_excluded = rb"'\"`#\-/" + re.escape(first)
    if words:
        run_excluded += rb":" + _MY_IDCHARS
    atoms = [
        rb"[^" + run_excluded + rb"]++",
        _MY_STRINGS,
        _MY_LINE_COMMENT,
        _MY_COMMENT,
        _MY_HINT,
        _MY_EXEC_OPEN,
        _MY_LONE,
    ]
    if len(delimiter) > 1 and first not in b"'\"`":
        atoms.append(re.escape(first))  # a first byte that does not start the delimiter
    atom = rb"(?:" + rb"|".join(atoms) + rb")"
    if len(delimiter) > 1 or first in b"'\"`#-/":
        atom = rb"(?:(?!" + escaped + rb")" + atom + rb")"  # the delimiter wins, as in mysql
    body = _always(atom + rb"*+")
    skip = _always(
        rb"(?:\s++|" + _MY_LINE_COMMENT + rb"|" + _MY_COMMENT + rb"|" + escaped + rb")*+"
    )
    return skip, body


def _my_unterminated(source: bytes, pos: int) -> SplitError:
    """The error for whatever construct the body regex could not close at ``pos``."""
    char = source[pos]
    if char == _SLASH:
        return SplitError("unterminated /* comment", pos)
    if char == _BACKTICK:
        return SplitError("unterminated quoted identifier", pos)
    return SplitError("unterminated quoted string", pos)


def _my_parse_delimiter(argument: bytes, pos: int) -> bytes:
    """The new delimiter from the rest of a ``DELIMITER`` line, as the mysql client reads it."""
    argument = argument.strip()
    if argument[:1] in (b"'", b'"', b"`"):
        close = argument.find(argument[:1], 1)
        delimiter = argument[1:close] if close > 0 else argument[1:]
    else:
        delimiter = argument.split(None, 1)[0] if argument else b""
    if not delimiter:
        raise SplitError("DELIMITER must be followed by a delimiter string", pos)
    if b"\\" in delimiter:
        raise SplitError("DELIMITER cannot contain a backslash", pos)
    return delimiter


def _split_mysql(source: bytes) -> Iterator[Statement]:
    """The mysql client's rules (DELIMITER), plus BEGIN/END tracking for stored programs."""
    n = len(source)
    delimiter = b";"
    skip, body = _mysql_scanners(delimiter, False)
    pos = 0
    while True:
        pos = skip(source, pos).end()
        if pos >= n:
            return
        if source[pos] in _MY_DELIMITER_INITIALS:
            command = _MY_DELIMITER.match(source, pos)
            if command is not None:
                delimiter = _my_parse_delimiter(command.group(1), pos)
                skip, body = _mysql_scanners(delimiter, False)
                pos = command.end()
                continue
        start = pos
        compound = _MY_COMPOUND.match(source, pos) if delimiter == b";" else None
        if compound is not None:
            kind = compound.group("kind")
            body_start = pos if kind is None else _my_header_end(source, compound.end(), kind)
            end, next_pos = _my_compound_end(source, body_start)
        else:
            pos = body(source, pos).end()
            if pos >= n:
                end = next_pos = n
            elif source.startswith(delimiter, pos):
                end = pos
                next_pos = pos + len(delimiter)
            else:
                raise _my_unterminated(source, pos)
        yield Statement(start, _trim_end(source, start, end))
        pos = next_pos


def _my_if_is_function(source: bytes, pos: int) -> bool:
    """Whether ``IF`` ending at ``pos`` is the IF(cond, a, b) function, not an IF statement."""
    paren = _MY_OPEN_PAREN.match(source, pos)
    if paren is None:
        return False
    depth = 1
    for token in _MY_PAREN_TOKEN.finditer(source, paren.end()):
        char = token.group()
        if char == b"(":
            depth += 1
        elif char == b")":
            depth -= 1
            if depth == 0:
                return False
        elif char == b"," and depth == 1:
            return True
    return False


def _my_header_end(source: bytes, pos: int, kind: bytes) -> int:
    """Where the body of a stored program starts, from just after PROCEDURE, TRIGGER...

    A trigger's body follows ``FOR EACH ROW [FOLLOWS | PRECEDES name]`` and an event's
    ``DO``. A routine's is its first statement after the name, the parameters, ``RETURNS``
    and the characteristics: the first word outside parentheses that starts a statement.
    Returns the offset of ``;``, an unterminated literal or the end if no body was found.
    """
    kind = kind.upper()
    routine = kind in (b"PROCEDURE", b"FUNCTION")
    if routine:
        name = _MY_ROUTINE_NAME.match(source, pos)
        if name is not None:
            pos = name.end()
    depth = 0
    previous = b""
    while True:
        found = _MY_HEADER_TOKEN.match(source, pos)
        if found is None:
            return len(source)
        start = found.start("token")
        pos = found.end()
        if found.group("word") is None:
            token = found.group("token")
            if token == b"(":
                depth += 1
            elif token == b")":
                depth = max(0, depth - 1)
            elif (token == b";" and depth == 0) or token in (b"'", b'"', b"`", b"/*"):
                return start  # the end, or an unterminated literal the body scan reports
            previous = token
            continue
        word = found.group("word").upper()
        if depth:
            continue
        if kind == b"TRIGGER":
            if word == b"ROW" and previous == b"EACH":
                order = _MY_TRIGGER_ORDER.match(source, pos)
                return pos if order is None else order.end()
        elif kind == b"EVENT":
            if word == b"DO":
                return pos
        elif (
            word in _MY_COMPOUND_STARTS
            or _MY_LABEL_COLON.match(source, pos) is not None
            or (
                word in _MY_STATEMENT_WORDS
                # CHARACTER SET utf8mb4 and SET('a', 'b') are parts of a type
                and not (
                    word == b"SET"
                    and (previous in (b"CHARACTER", b"CHAR") or _MY_OPEN_PAREN.match(source, pos))
                )
            )
        ):
            return start
        previous = word


def _my_after_operand(source: bytes, start: int, stop: int, word: bytes) -> bool:
    """Whether the token before ``stop`` ends an operand, so that END there ends a CASE.

    ``word`` is the last word before ``stop`` when only whitespace and comments lie between
    (``start`` is where it ended); otherwise the last token of ``source[start:stop]`` decides.
    """
    if word:
        return word not in _MY_EXPECTS_OPERAND
    last = b""
    for token in _MY_SPAN_TOKEN.finditer(source, start, stop):
        if token.group("token") is not None:
            last = token.group("token")
    return last[-1:] in (b")", b"'", b'"', b"`", b"?")


def _my_compound_end(source: bytes, pos: int) -> tuple[int, int]:
    """Find the ``;`` that ends a stored program or block, from where its body starts.

    MariaDB's grammar decides which BEGIN and END are keywords: BEGIN opens a block only where
    a statement can start (after ``;``, BEGIN, a label, THEN/ELSE of IF and CASE statements,
    DO of WHILE and FOR, LOOP, REPEAT, a handler's conditions, the program's header); END
    closes the innermost compound statement there, or ``END IF``/``END LOOP``... one of their
    kind, or a CASE expression right after an operand. Anywhere else, and next to a ".",
    ``begin`` and ``end`` are names (``SELECT end FROM t``, ``SET begin = 1``, ``t.end``).
    Returns (end of the statement text, offset after the terminator).
    """
    n = len(source)
    _, body = _mysql_scanners(b";", True)
    stack: list[int] = []
    leads = True  # the next token starts a statement inside the body
    token_end = pos  # where the last token Python saw ended
    word = b""  # that token, if it was a word
    while True:
        pos = body(source, pos).end()
        if pos >= n:
            return n, n
        adjacent = pos == token_end or _only_gap(_MY_GAP_RUN, source, token_end, pos)
        at_statement_start = leads and adjacent
        char = source[pos]
        if char == _SEMI:
            if not stack:
                return pos, pos + 1
            pos += 1
            leads = True
            word = b""
        elif char == _COLON:
            pos += 1
            if pos < n and source[pos] == _EQUALS:  # ":=" assignment
                pos += 1
                leads = False
            else:  # a label
                leads = True
            word = b""
        else:
            found = _MY_WORD.match(source, pos)
            if found is None:
                raise _my_unterminated(source, pos)
            start = pos
            pos = found.end()
            keyword = found.group().upper()
            before = word if adjacent else b""
            word = keyword
            leads = False
            if keyword not in _MY_KEYWORDS or (
                (start > 0 and source[start - 1] == _DOT) or (pos < n and source[pos] == _DOT)
            ):
                pass  # a name, t.end or end.a, or a word that changes nothing
            elif keyword == b"BEGIN":
                if at_statement_start and _MY_BEGIN_NOT_BLOCK.match(source, pos) is None:
                    atomic = _MY_NOT_ATOMIC.match(source, pos)
                    if atomic is not None:
                        pos = atomic.end()
                    stack.append(_BLOCK)
                    leads = True
            elif keyword == b"END":
                suffix = _MY_END_SUFFIX.match(source, pos)
                top = stack[-1] if stack else -1
                if at_statement_start and stack:
                    stack.pop()
                    if suffix is not None:
                        pos = suffix.end()
                elif suffix is not None and top in _MY_SUFFIX_CLOSES[suffix.group(1).upper()]:
                    stack.pop()  # UNTIL cond END REPEAT
                    pos = suffix.end()
                elif top in (_CASE, _CASE_EXPR) and _my_after_operand(
                    source, token_end, start, before
                ):
                    stack.pop()
            elif keyword == b"CASE":
                stack.append(_CASE if at_statement_start else _CASE_EXPR)
            elif keyword in (b"THEN", b"ELSE"):
                leads = bool(stack) and stack[-1] in (_IF, _CASE)
            elif keyword == b"DO":
                leads = bool(stack) and stack[-1] in (_WHILE, _FOR)
            elif keyword == b"HANDLER":
                conditions = _MY_HANDLER_FOR.match(source, pos)
                if conditions is not None:
                    pos = conditions.end()
                    leads = True
            elif at_statement_start and not (
                (keyword == b"IF" and _my_if_is_function(source, pos))
                or (keyword == b"REPEAT" and _MY_OPEN_PAREN.match(source, pos) is not None)
            ):
                stack.append(_MY_OPENERS[keyword])
                leads = keyword in (b"LOOP", b"REPEAT")
        token_end = pos


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

_SPLITTERS: Final[dict[str, Callable[[bytes], Iterator[Statement]]]] = {
    "postgresql": _split_postgresql,
    "sqlite": _split_sqlite,
    "mysql": _split_mysql,
}


def split(source: bytes, dialect: Dialect) -> Iterator[Statement]:
    """Yield the statements of ``source`` lazily, in order, as the dialect's client splits them.

    Empty statements (``;;``, comment-only text) are not yielded. Raises :class:`SplitError`
    (when iteration reaches it) for unterminated literals, comments and unsupported commands.
    """
    try:
        splitter = _SPLITTERS[dialect]
    except KeyError:
        raise ValueError(f"unknown SQL dialect {dialect!r}") from None
    return splitter(source)


_LW_SKIP: Final = re.compile(rb"(?:\s++|--[^\n]*+|#[^\n]*+)*+")
_LW_WORD: Final = re.compile(rb"[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*+")


def leading_words(sql: bytes, count: int = 4) -> tuple[str, ...]:
    """The first ``count`` bare words of a statement, upper-cased, comments skipped.

    Lets callers classify a statement (``CREATE INDEX CONCURRENTLY``, ``BEGIN``...) without a
    parser. Stops at the first token that is not a bare word (a quote, a parenthesis...).
    ``/* */`` comments nest, as in PostgreSQL; ``#`` is skipped too, which is harmless.
    """
    words: list[str] = []
    pos = 0
    while len(words) < count:
        pos = cast("re.Match[bytes]", _LW_SKIP.match(sql, pos)).end()
        if sql.startswith(b"/*", pos):
            try:
                pos = _pg_comment_end(sql, pos)
            except SplitError:
                break
            continue
        word = _LW_WORD.match(sql, pos)
        if word is None:
            break
        words.append(word.group().decode("utf-8", "replace").upper())
        pos = word.end()
    return tuple(words)
