"""Keep database passwords out of every message the tool prints, stores, logs or renders.

One rule, applied to a message before anything else is done to it (whitespace collapsed, cut
short, escaped for HTML or JSON): every password configured for any alias in DATABASES
(``PASSWORD``, ``OPTIONS['password']``, ``OPTIONS['passwd']``, ``TEST['PASSWORD']``) is
replaced by ``********``, in each form a driver, a server or Python may print it: as is,
URL-quoted, quoted for a libpq connection string, doubled or backslash-escaped inside an SQL
literal or identifier, ``repr()``- or JSON-escaped, HTML-escaped, and with its runs of
whitespace collapsed.

Two exceptions keep messages readable: a password shorter than ``MIN_LENGTH`` characters is
left alone (a one-letter password would star that letter everywhere, and is no secret), and a
password is not replaced inside a longer word (``postgres`` stays in ``postgresql``).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "********"
MIN_LENGTH = 4
_WORD = re.compile(r"\w")


def passwords() -> frozenset[str]:
    """Every password configured for any database alias, long enough to be replaced."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connections

    found: set[str] = set()
    try:
        # settings.DATABASES, as the connections use it (with the aliases a test added).
        configured: list[Mapping[str, Any]] = list(connections.settings.values())
    except ImproperlyConfigured:  # settings not configured: nothing to know
        return frozenset()
    for database in configured:
        options = database.get("OPTIONS") or {}
        test = database.get("TEST") or {}
        for value in (
            database.get("PASSWORD"),
            options.get("password"),
            options.get("passwd"),
            test.get("PASSWORD"),
        ):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            if isinstance(text, str) and len(text) >= MIN_LENGTH:
                found.add(text)
    return frozenset(found)


def forms(password: str) -> set[str]:
    """The ways ``password`` can appear in a message."""
    backslashed = password.replace("\\", "\\\\")
    found = {
        password,
        quote(password),
        quote(password, safe=""),
        quote_plus(password),
        # libpq connection strings: password='it\'s' (psycopg's make_conninfo).
        backslashed.replace("'", "\\'"),
        backslashed.replace('"', '\\"'),
        # An SQL literal or identifier echoed by the server: 'it''s', "a""b", `a``b`.
        password.replace("'", "''"),
        password.replace('"', '""'),
        password.replace("`", "``"),
        repr(password)[1:-1],
        repr(password.encode("utf-8"))[2:-1],
        json.dumps(password)[1:-1],
        json.dumps(password, ensure_ascii=False)[1:-1],
        html.escape(password),
        html.escape(password, quote=False),
        " ".join(password.split()),
        re.sub(r"\s+", " ", password),
    }
    found.discard("")
    return found


@lru_cache(maxsize=16)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    alternatives = sorted({form for secret in secrets for form in forms(secret)}, key=len)
    if not alternatives:
        return None
    parts = []
    for form in reversed(alternatives):  # the longest first: a form may contain another
        before = r"(?<!\w)" if _WORD.match(form[0]) else ""
        after = r"(?!\w)" if _WORD.match(form[-1]) else ""
        parts.append(before + re.escape(form) + after)
    return re.compile("|".join(parts))


def _unchanged(text: str) -> str:
    return text


def redactor() -> Callable[[str], str]:
    """A function that scrubs a message; build it once to scrub many (status's problems)."""
    pattern = _pattern(passwords())
    if pattern is None:
        return _unchanged
    return lambda text: pattern.sub(MASK, text)


def redact(text: str) -> str:
    """``text`` with every configured database password replaced by ``********``."""
    return redactor()(text)
