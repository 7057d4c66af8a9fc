"""Every configured password, in every form a driver may print it, is scrubbed from messages."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from django.db import connections

from django_sqlmigrate.redact import MASK, redact

# A run of spaces, a quote, a backslash, an ampersand, a non-ASCII letter: each changes in
# some form the password can be printed in.
PASSWORD = "Tr0ub4dor  &3 it's \\ é"
AddAlias = Callable[..., str]


@pytest.fixture
def add_alias() -> Iterator[AddAlias]:
    """``add_alias(**settings)``: a database alias configured only while the test runs."""
    added: list[str] = []

    def add(**database: Any) -> str:
        alias = f"redact_{len(added)}"
        connections.settings[alias] = {"ENGINE": "django.db.backends.sqlite3", **database}
        added.append(alias)
        return alias

    yield add
    for alias in added:
        del connections.settings[alias]


@pytest.mark.parametrize(
    "printed",
    [
        pytest.param(PASSWORD, id="as-is"),
        pytest.param(quote(PASSWORD), id="url-quoted"),
        pytest.param(quote(PASSWORD, safe=""), id="url-quoted-slash"),
        pytest.param(quote_plus(PASSWORD), id="url-quoted-plus"),
        pytest.param(
            "'" + PASSWORD.replace("\\", "\\\\").replace("'", "\\'") + "'", id="libpq-conninfo"
        ),
        pytest.param("'" + PASSWORD.replace("'", "''") + "'", id="sql-literal"),
        pytest.param(repr(PASSWORD), id="repr"),
        pytest.param(repr(PASSWORD.encode()), id="repr-bytes"),
        pytest.param(json.dumps(PASSWORD), id="json"),
        pytest.param(" ".join(PASSWORD.split()), id="whitespace-collapsed"),
        pytest.param(
            "Tr0ub4dor  &amp;3 it&#x27;s \\ é", id="html-escaped"
        ),  # what Django's templates print
    ],
)
def test_every_form_is_replaced(add_alias: AddAlias, printed: str) -> None:
    add_alias(PASSWORD=PASSWORD)
    message = f"connection failed: password={printed} host=db.internal"
    scrubbed = redact(message)
    assert scrubbed.count(MASK) == 1
    # Nothing of the password is left around the mask but the quotes that held it.
    left = scrubbed.replace(MASK, "")
    assert left.removeprefix("connection failed: password=").removesuffix(" host=db.internal") in {
        "",
        "''",
        '""',
        "b''",
        'b""',
    }


def test_every_alias_and_option_is_known(add_alias: AddAlias) -> None:
    add_alias(PASSWORD="first-secret")
    add_alias(OPTIONS={"password": "second-secret"})
    add_alias(OPTIONS={"passwd": b"third-secret"})
    add_alias(PASSWORD="fourth-secret", TEST={"PASSWORD": "fifth-secret"})
    message = "first-secret second-secret third-secret fourth-secret fifth-secret"
    assert redact(message) == " ".join([MASK] * 5)


def test_short_passwords_and_words_inside_longer_words_are_left(add_alias: AddAlias) -> None:
    add_alias(PASSWORD="pw")  # shorter than MIN_LENGTH: it would star every "pw"
    add_alias(PASSWORD="postgres")
    add_alias(PASSWORD="base")
    assert redact("pw: postgresql database 'postgres' on base.example") == (
        f"pw: postgresql database '{MASK}' on {MASK}.example"
    )


def test_nothing_configured_changes_nothing(add_alias: AddAlias) -> None:
    add_alias(PASSWORD="")
    assert redact("a message") == "a message"
