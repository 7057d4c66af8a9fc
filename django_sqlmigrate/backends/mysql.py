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
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import DatabaseError

from ..exceptions import LockTimeout
from .base import BaseBackend, DatabaseMessage, StatementFailed

if TYPE_CHECKING:
    from ..splitter import Dialect, Statement

# Statements that never commit implicitly; a file made only of these can be rolled back.
TRANSACTIONAL_STATEMENTS = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH", "VALUES", "DO", "SET"}
)
WRITES = frozenset({("INSERT",), ("UPDATE",), ("DELETE",), ("REPLACE",)})
# SET statements that end the transaction (autocommit = 1 commits; SET PASSWORD, SET DEFAULT
# ROLE and SET STATEMENT ... FOR <DDL> commit implicitly) or that the server refuses inside
# one: SET TRANSACTION and @@tx_isolation/@@tx_read_only without a scope (the next
# transaction's), sql_log_bin, binlog_format, skip_replication, gtid_*. The `mariadb` client
# runs them in autocommit, and so does a file that has one.
SET_OUTSIDE_TRANSACTION = frozenset({("PASSWORD",), ("DEFAULT",), ("STATEMENT",), ("TRANSACTION",)})
SET_OUTSIDE_TRANSACTION_RE = re.compile(
    rb"\b(?:autocommit|sql_log_bin|binlog_format|skip_replication|gtid_\w+|server_id)\b"
    rb"|@@(?:tx|transaction)_(?:isolation|read_only)\b",
    re.IGNORECASE,
)
# SELECT ... INTO OUTFILE/DUMPFILE writes a file on the server, which no rollback removes.
INTO_FILE_RE = re.compile(rb"\bINTO\s+(?:OUTFILE|DUMPFILE)\b", re.IGNORECASE)
# How a statement run in autocommit changes the transaction (``transaction_effect``).
AUTOCOMMIT_RE = re.compile(rb"(@@global\.|\bglobal\s+)?\bautocommit\s*:?=\s*'?(\w+)", re.IGNORECASE)
AUTOCOMMIT_OFF = frozenset({b"0", b"OFF", b"FALSE"})
# The statements that commit implicitly (MariaDB's and MySQL's lists), by first word; START
# and LOAD only as START SLAVE/REPLICA and LOAD INDEX INTO CACHE.
IMPLICIT_COMMIT = frozenset(
    {
        "ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE", "GRANT", "REVOKE", "ANALYZE",
        "CHECK", "OPTIMIZE", "REPAIR", "FLUSH", "RESET", "CACHE", "INSTALL", "UNINSTALL",
        "STOP", "CHANGE", "SHUTDOWN", "IMPORT",
    }
)  # fmt: skip
XA_START_RE = re.compile(
    rb"\bXA\s+(?:START|BEGIN)\s+(.+?)(?:\s+(?:JOIN|RESUME))?\s*(?:;|$)",
    re.IGNORECASE | re.MULTILINE,
)
ER_XAER_RMFAIL = 1399
# The server rolled the whole transaction back itself (innodb_rollback_on_timeout for 1205).
ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT = 1213, 1205
ER_WARNING_NOT_COMPLETE_ROLLBACK = 1196
# The lead byte of a four-byte UTF-8 sequence (U+10000 and above).
FOUR_BYTE_UTF8_RE = re.compile(rb"[\xf0-\xf4]")
THREE_BYTE_CHARSETS = frozenset({"utf8", "utf8mb3"})
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
# Only a file with this can leave tables locked (the client's session end unlocks them; the
# history row's table is not among them).
MAY_LOCK_TABLES_RE = re.compile(rb"\bLOCK\s+TABLES?\b", re.IGNORECASE)


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
    def lock(self, timeout: float, name: str) -> Iterator[None]:
        # GET_LOCK is server-wide: the lock is named after the database instead (the name
        # every earlier version used, so that deploys of different versions still exclude
        # each other).
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
            mariadb = getattr(self.connection, "mysql_is_mariadb", False)
            # MariaDB says whether a transaction is open; MySQL has no such variable.
            in_transaction = "@@in_transaction" if mariadb else "NULL"
            try:
                cursor.execute(_select(variables, in_transaction))
            except DatabaseError:  # a variable with no session value on this server
                variables = [name for name in variables if _readable(cursor, name)]
                cursor.execute(_select(variables, in_transaction))
            database, _, _, *values = cursor.fetchone()
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
        check = _select(variables, in_transaction)
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

    def restore_session(self, source: bytes, *, transactional: bool) -> bool | None:
        """One query when the file changed nothing; a SET (and a USE) when it did.

        The same query says whether a transaction is open (MariaDB's @@in_transaction): one
        that a file run statement by statement left open is rolled back before anything is
        set back (setting autocommit back on would commit it), as the client does at the end
        of its session. For a file run in one transaction, ``transaction_state`` notes it.
        """
        session = self._session_state()
        assignments: list[str] = []
        params: list[Any] = []
        with self.connection.cursor() as cursor:
            listing = session.user_variables
            if listing is not None and MAY_SET_USER_VARIABLES_RE.search(source):
                row = self._check(cursor, session, session.check_all, session.user_params)
                database, autocommit, in_transaction, *now, new_user_variables = row
                if new_user_variables:
                    cursor.execute(listing, session.user_params or None)
                    for (name,) in cursor.fetchall():
                        quoted = "`" + name.replace("`", "``").replace("%", "%%") + "`"
                        assignments.append(f"@{quoted} = NULL")
            else:
                row = self._check(cursor, session, session.check)
                database, autocommit, in_transaction, *now = row
            left_open: bool | None = False
            if transactional:
                self.transaction_state = (in_transaction, autocommit)
            elif in_transaction:
                self._roll_back(cursor, source)
                left_open = True
            elif in_transaction is None:  # MySQL: the file's statements will tell
                if not autocommit:  # a transaction may be open: the client's session end
                    self._roll_back(cursor, source)
                left_open = None
            if not transactional and MAY_LOCK_TABLES_RE.search(source):
                cursor.execute("UNLOCK TABLES")  # after the rollback: it would commit
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
        return left_open

    def _roll_back(self, cursor: Any, source: bytes) -> None:
        """ROLLBACK; an XA transaction (XA START without XA COMMIT) needs its own words."""
        try:
            cursor.execute("ROLLBACK")
        except DatabaseError as exc:
            if getattr(exc.__cause__ or exc, "args", (None,))[0] != ER_XAER_RMFAIL:
                raise
            xids = XA_START_RE.findall(source)
            if not xids:
                raise
            xid = xids[-1].decode("utf-8")
            with suppress(DatabaseError):  # already ended, or prepared
                cursor.execute(f"XA END {xid}")
            cursor.execute(f"XA ROLLBACK {xid}")

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

    # -- warnings: what psql shows as notices ---------------------------------------------
    # "Note (1050) Table 't' already exists" for CREATE TABLE IF NOT EXISTS, and, without a
    # strict sql_mode, "Warning (1265) Data truncated": what a file did that it did not say.
    def warning_counter(self, cursor: Any) -> Any:
        return cursor.cursor.cursor  # Django's wrappers, then MySQLdb's (it reads the count)

    def warnings(self, cursor: Any) -> list[tuple[str, str]]:
        cursor.execute("SHOW WARNINGS")
        return [(str(level).upper(), f"({code}) {text}") for level, code, text in cursor]

    def unencodable(self, source: bytes) -> tuple[int, str] | None:
        # Django's default connection character set is "utf8", three bytes a character on
        # MariaDB and MySQL: a character outside the Basic Multilingual Plane (an emoji) fails
        # a strict sql_mode and becomes "?" without one, with only a warning.
        found = FOUR_BYTE_UTF8_RE.search(source)
        if found is None:
            return None
        self.connection.ensure_connection()
        charset = self.connection.connection.character_set_name()
        if charset not in THREE_BYTE_CHARSETS:
            return None
        return found.start(), (
            f"which the connection's character set {charset} cannot carry (it has three bytes "
            "a character): MySQL/MariaDB would refuse the row, or store '?' instead without a "
            'strict sql_mode. Set "OPTIONS": {"charset": "utf8mb4"} for this database in '
            "DATABASES"
        )

    def runs_in_transaction(self, source: bytes, statements: Sequence[Statement]) -> bool:
        """Only when no statement can end or change the transaction: anything but DML
        commits implicitly or controls the transaction itself (COMMIT, START TRANSACTION,
        LOCK TABLES, XA, CALL of a procedure that commits...), and some SETs do too."""
        from ..splitter import leading_words

        for statement in statements:
            sql = source[statement.start : statement.end]
            words = leading_words(sql, 1)
            if not words or words[0] not in TRANSACTIONAL_STATEMENTS:
                return False
            if words[0] == "SET" and (
                leading_words(sql, 2)[1:] in SET_OUTSIDE_TRANSACTION
                or SET_OUTSIDE_TRANSACTION_RE.search(sql)
            ):
                return False
            if words[0] in ("SELECT", "WITH") and INTO_FILE_RE.search(sql):
                return False
        return True

    def transaction_effect(self, words: tuple[str, ...], sql: bytes) -> str | None:
        first = words[:1]
        if first == ("XA",):
            if words[1:2] in (("START",), ("BEGIN",)):
                return "start"
            return "end" if words[1:2] in (("COMMIT",), ("ROLLBACK",)) else None
        if first == ("LOCK",):
            return "lock"
        if first == ("UNLOCK",):
            return "unlock"
        if first == ("SET",):
            if words[1:2] in (("PASSWORD",), ("DEFAULT",)):
                return "commit"
            effect = None
            for scope, value in AUTOCOMMIT_RE.findall(sql):
                if not scope:  # SET GLOBAL autocommit is for the sessions to come
                    off = value.upper() in AUTOCOMMIT_OFF
                    effect = "autocommit_off" if off else "autocommit_on"
            return effect
        if first and (
            first[0] in IMPLICIT_COMMIT
            or words[:2] == ("LOAD", "INDEX")
            or (first == ("START",) and words[1:2] != ("TRANSACTION",))
        ):
            return None if words[1:2] == ("TEMPORARY",) else "commit"
        return super().transaction_effect(words, sql)

    # -- a file run in one transaction that failed ----------------------------------------
    transaction_state: tuple[Any, Any] = (None, None)  # @@in_transaction, @@autocommit

    def execute(
        self, source: bytes, statements: Sequence[Statement], *, transactional: bool
    ) -> None:
        try:
            super().execute(source, statements, transactional=transactional)
        except StatementFailed as failure:
            if transactional:
                self._roll_back_file(source, statements, failure)
            raise

    def _roll_back_file(
        self, source: bytes, statements: Sequence[Statement], failure: StatementFailed
    ) -> None:
        """Roll the failed file back here, not in Django's atomic block, to see whether that
        undid everything: MySQL warns (1196) when a non-transactional table (MyISAM, Aria)
        changed, and a statement may have ended the transaction (autocommit back on, or no
        transaction open although a statement wrote) and committed what ran before it."""
        from ..splitter import leading_words

        in_transaction, autocommit = self.transaction_state
        savepoints = self.connection.savepoint_ids  # the caller's transaction: ours is the last
        if savepoints and not savepoints[-1]:
            return  # no savepoint of our own to roll back to (the caller's is broken already)
        codes: set[int] = set()
        with self.connection.cursor() as cursor:
            if savepoints:
                cursor.execute(
                    f"ROLLBACK TO SAVEPOINT {self.connection.ops.quote_name(savepoints[-1])}"
                )
            else:
                cursor.execute("ROLLBACK")
            if self.connection.connection.warning_count():
                cursor.execute("SHOW WARNINGS")
                codes = {code for _, code, _ in cursor.fetchall()}
        wrote = any(
            leading_words(source[statement.start : statement.end], 1) in WRITES
            for statement in statements[: failure.index]
        )
        cause = failure.__cause__
        code = getattr(getattr(cause, "__cause__", None) or cause, "args", (None,))[:1]
        rolled_back_by_server = code in ((ER_LOCK_DEADLOCK,), (ER_LOCK_WAIT_TIMEOUT,))
        if ER_WARNING_NOT_COMPLETE_ROLLBACK in codes:
            failure.undone = False
            failure.not_undone_reason = (
                "changes to non-transactional tables (MyISAM, Aria, ...) cannot be rolled back"
            )
        elif autocommit == 1 or (in_transaction == 0 and wrote and not rolled_back_by_server):
            failure.undone = False
            failure.not_undone_reason = (
                "a statement of the file ended the transaction it ran in, committing what "
                "ran before it"
            )

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


def _select(variables: Sequence[str], in_transaction: str) -> str:
    columns = ["DATABASE()", "@@SESSION.autocommit", in_transaction]
    columns += [f"@@SESSION.{name}" for name in variables]
    return "SELECT " + ", ".join(columns)


def _readable(cursor: Any, name: str) -> bool:
    try:
        cursor.execute(f"SELECT @@SESSION.{name}")
    except DatabaseError:
        return False
    cursor.fetchall()
    return True
