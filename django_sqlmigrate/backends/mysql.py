"""MySQL and MariaDB: DDL commits implicitly, so only DML-only files get a real transaction.

Everything else runs statement by statement with its progress recorded, so a failure part-way
is reported exactly (which statements ran) instead of being silently half-applied.

The ``mysql`` client runs each file in a session of its own; here the files of a run share
one. After each file the session is put back as it was before the first one: the default
database (``USE``), the session variables in SESSION_VARIABLES, autocommit, and the user
variables the file set (see ``_SessionState``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

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

# Session variables a file may change that the next file and the history row must not inherit,
# in the order they are put back: setting character_set_connection resets
# collation_connection, and max_join_size resets sql_big_selects. Those a server lacks are left
# out; of a pair of names for one variable (MySQL 8 / MariaDB) the first it knows is used.
SESSION_VARIABLES: tuple[str | tuple[str, str], ...] = (
    # mysqldump's header: checks off for the load, its own sql_mode, notes off, names, zone.
    "foreign_key_checks",
    "unique_checks",
    "sql_mode",
    "sql_notes",
    "time_zone",
    "character_set_client",
    "character_set_connection",
    "collation_connection",
    "character_set_results",
    # What Django sets when it connects.
    "sql_auto_is_null",
    ("transaction_isolation", "tx_isolation"),
    ("transaction_read_only", "tx_read_only"),
    # Safety limits (the client's --safe-updates sets the first three).
    "sql_safe_updates",
    "sql_select_limit",
    "max_join_size",
    "sql_big_selects",
    # How later statements behave.
    "check_constraint_checks",
    "explicit_defaults_for_timestamp",
    "default_storage_engine",
    "default_tmp_storage_engine",
    "innodb_strict_mode",
    "auto_increment_increment",
    "auto_increment_offset",
    "div_precision_increment",
    "group_concat_max_len",
    "lc_time_names",
    "lc_messages",
    "max_execution_time",
    "max_statement_time",
    "lock_wait_timeout",
    "innodb_lock_wait_timeout",
    "wait_timeout",
    "net_read_timeout",
    "net_write_timeout",
    # Binary logging, turned off by mysqldump --set-gtid-purged and mysqlbinlog output. Setting
    # it needs a privilege: like every variable here it is only set when a file changed it.
    "sql_log_bin",
)
CHARACTER_SET_VARIABLES = frozenset(
    {
        "character_set_client",
        "character_set_connection",
        "collation_connection",
        "character_set_results",
    }
)
# The user variables the session has (MariaDB's information_schema; MySQL's performance_schema,
# readable with a privilege: without it they are left as the files set them).
MARIADB_USER_VARIABLES = (
    "SELECT VARIABLE_NAME FROM information_schema.USER_VARIABLES WHERE VARIABLE_VALUE IS NOT NULL"
)
MYSQL_USER_VARIABLES = (
    "SELECT VARIABLE_NAME FROM performance_schema.user_variables_by_thread WHERE VARIABLE_VALUE "
    "IS NOT NULL AND THREAD_ID = (SELECT THREAD_ID FROM performance_schema.threads WHERE "
    "PROCESSLIST_ID = CONNECTION_ID())"
)
# Only a file with one of these can set a user variable (a trigger it fires could too, but
# checking after every file would cost as much as the system variables do).
MAY_SET_USER_VARIABLES_RE = re.compile(rb"@|\bCALL\b", re.IGNORECASE)


@dataclass(frozen=True)
class _SessionState:
    """The session as it was before the first file, and the queries that compare with it.

    ``check`` reads DATABASE(), @@autocommit and the ``variables``; ``check_all`` also counts
    the user variables set now that were not set then (``user_variables`` lists them, None when
    the server does not let this user; ``user_params`` are those earlier ones' names).
    """

    database: str | None
    variables: tuple[str, ...]
    values: tuple[Any, ...]
    check: str
    check_all: str
    user_variables: str | None
    user_params: tuple[str, ...]


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

    # -- running ---------------------------------------------------------------------------
    _session: _SessionState | None = None

    # Put back before the history row is written or updated, so it lands in this database in
    # Django's character set. Session variables are not transactional: inside a DML file's
    # transaction they change at once, and a rollback does not undo them.
    def snapshot_session(self) -> None:
        self._session_state()

    def _session_state(self) -> _SessionState:
        """The session before the first file runs: read once per run (a few queries)."""
        if self._session is not None:
            return self._session
        wanted = [name for entry in SESSION_VARIABLES for name in _names(entry)]
        placeholders = ", ".join(["%s"] * len(wanted))
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SHOW SESSION VARIABLES WHERE Variable_name IN ({placeholders})", wanted
            )
            known = {name.lower() for name, _ in cursor.fetchall()}
            variables = [
                next(name for name in _names(entry) if name in known)
                for entry in SESSION_VARIABLES
                if any(name in known for name in _names(entry))
            ]
            try:
                cursor.execute(_select(variables))
            except DatabaseError:  # a variable with no session value on this server
                variables = [name for name in variables if _readable(cursor, name)]
                cursor.execute(_select(variables))
            database, _, *values = cursor.fetchone()
            mariadb = getattr(self.connection, "mysql_is_mariadb", False)
            listing = MARIADB_USER_VARIABLES if mariadb else MYSQL_USER_VARIABLES
            user_variables: str | None = listing
            existing: tuple[str, ...] = ()
            try:
                cursor.execute(listing)
            except DatabaseError:
                user_variables = None
            else:
                existing = tuple(name for (name,) in cursor.fetchall())
                if existing:
                    placeholders = ", ".join(["%s"] * len(existing))
                    user_variables = f"{listing} AND VARIABLE_NAME NOT IN ({placeholders})"
        check = _select(variables)
        self._session = _SessionState(
            database=database,
            variables=tuple(variables),
            values=tuple(values),
            check=check,
            check_all=(
                check
                if user_variables is None
                else f"{check}, (SELECT COUNT(*) FROM ({user_variables}) AS v)"
            ),
            user_variables=user_variables,
            user_params=existing,
        )
        return self._session

    def restore_session(self, source: bytes) -> None:
        """One query when the file changed nothing; a SET (and a USE) when it did."""
        session = self._session_state()
        assignments: list[str] = []
        params: list[Any] = []
        with self.connection.cursor() as cursor:
            listing = session.user_variables
            if listing is not None and MAY_SET_USER_VARIABLES_RE.search(source):
                row = self._check(cursor, session, session.check_all, session.user_params)
                database, autocommit, *now, new_user_variables = row
                if new_user_variables:
                    cursor.execute(listing, session.user_params or None)
                    for (name,) in cursor.fetchall():
                        quoted = "`" + name.replace("`", "``").replace("%", "%%") + "`"
                        assignments.append(f"@{quoted} = NULL")
            else:
                database, autocommit, *now = self._check(cursor, session, session.check)
            # Django's idea of autocommit (off inside transaction.atomic), which it relies on.
            expected = 1 if self.connection.get_autocommit() else 0
            if autocommit != expected:
                assignments.append("@@SESSION.autocommit = %s")
                params.append(expected)
            for name, before, after in zip(session.variables, session.values, now, strict=True):
                if before != after:
                    assignments.append(f"@@SESSION.{name} = %s")
                    params.append(before)
            if database != session.database and session.database is not None:
                with self.connection.wrap_database_errors:
                    self.connection.connection.select_db(session.database)
            if assignments:
                cursor.execute("SET " + ", ".join(assignments), params)

    def _check(
        self, cursor: Any, session: _SessionState, query: str, params: Sequence[str] = ()
    ) -> tuple[Any, ...]:
        try:
            cursor.execute(query, params or None)
            return tuple(cursor.fetchone())
        except (LookupError, UnicodeError):
            # Results in a character set MySQLdb cannot decode (SET NAMES binary): put the
            # connection's character sets back first, then compare.
            names = [name for name in session.variables if name in CHARACTER_SET_VARIABLES]
            values = [session.values[session.variables.index(name)] for name in names]
            cursor.execute("SET " + ", ".join(f"@@SESSION.{name} = %s" for name in names), values)
            cursor.execute(query, params or None)
            return tuple(cursor.fetchone())

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


def _names(entry: str | tuple[str, str]) -> tuple[str, ...]:
    return (entry,) if isinstance(entry, str) else entry


def _select(variables: Sequence[str], *extra: str) -> str:
    columns = ["DATABASE()", "@@SESSION.autocommit"]
    columns += [f"@@SESSION.{name}" for name in variables]
    return "SELECT " + ", ".join([*columns, *extra])


def _readable(cursor: Any, name: str) -> bool:
    try:
        cursor.execute(f"SELECT @@SESSION.{name}")
    except DatabaseError:
        return False
    cursor.fetchall()
    return True
