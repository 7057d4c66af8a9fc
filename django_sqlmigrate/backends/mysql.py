"""MySQL and MariaDB: DDL commits implicitly, so only DML-only files get a real transaction.

Everything else runs statement by statement with its progress recorded, so a failure part-way
is reported exactly (which statements ran) instead of being silently half-applied.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar

from django.db import DatabaseError

from ..exceptions import LockTimeout
from .base import BaseBackend, DatabaseMessage

if TYPE_CHECKING:
    from ..splitter import Dialect, Statement

# Statements that never commit implicitly; a file made only of these can be rolled back.
TRANSACTIONAL_STATEMENTS = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH", "VALUES", "DO", "SET"}
)
SYNTAX_LINE_RE = re.compile(r" at line (\d+)\s*$")
MAX_LOCK_NAME = 64
ER_PARSE_ERROR = 1064


class MySQLBackend(BaseBackend):
    dialect: ClassVar[Dialect] = "mysql"
    vendor = "mysql"

    def lock_name(self) -> str:
        # GET_LOCK names are server-wide, so the database name is part of it.
        name = f"sqlmigrate:{self.connection.settings_dict.get('NAME')}"
        if len(name) > MAX_LOCK_NAME:
            name = "sqlmigrate:" + hashlib.sha256(name.encode()).hexdigest()[:40]
        return name

    @contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        name = self.lock_name()
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, %s)", [name, timeout])
            (acquired,) = cursor.fetchone()
            if acquired != 1:
                raise LockTimeout(self._timeout_message(cursor, name, timeout))
        try:
            yield
        finally:
            self.release("SELECT RELEASE_LOCK(%s)", [name])

    def _timeout_message(self, cursor: object, name: str, timeout: float) -> str:
        holder = "another session"
        try:
            cursor.execute(  # type: ignore[attr-defined]
                "SELECT p.ID, p.USER, p.HOST, p.TIME, p.STATE FROM "
                "information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(%s)",
                [name],
            )
            row = cursor.fetchone()  # type: ignore[attr-defined]
            if row:
                holder = (
                    f"connection {row[0]} ({row[1]}@{row[2]}, for {row[3]} s"
                    + (f", {row[4]}" if row[4] else "")
                    + ")"
                )
        except DatabaseError:
            pass
        return (
            f"Could not get the migration lock {name!r} on database "
            f"{self.connection.alias!r} within {timeout:g} s: it is held by {holder}. Wait for "
            "that run to finish, or raise --lock-timeout."
        )

    def runs_in_transaction(self, source: bytes, statements: Sequence[Statement]) -> bool:
        from ..splitter import leading_words

        for statement in statements:
            words = leading_words(source[statement.start : statement.end], 1)
            if not words or words[0] not in TRANSACTIONAL_STATEMENTS:
                return False
        return True

    def decode(self, sql: bytes) -> str | bytes:
        return sql  # MySQLdb sends bytes as they are

    def message(self, exc: BaseException) -> DatabaseMessage:
        cause = exc.__cause__ or exc
        match getattr(cause, "args", ()):
            case (int() as code, str() as text):
                found = SYNTAX_LINE_RE.search(text) if code == ER_PARSE_ERROR else None
                return DatabaseMessage(
                    f"({code}) {text}", line=int(found.group(1)) if found else None
                )
        return super().message(exc)
