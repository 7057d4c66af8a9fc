"""``ApplySQLMigrations``: run SQL files at a chosen point of Django's own migration plan.

For a schema split between both kinds of migration, where a Django migration must see tables
a SQL file makes (or the other way round). The files run on the connection ``migrate`` uses,
inside the migration's transaction when it has one (PostgreSQL, SQLite): the executor's own
``atomic`` blocks nest as savepoints, and the lock is taken and released on that same
connection, so nothing waits for a second connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.management.base import CommandError
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

from .exceptions import SqlMigrateError
from .routing import allowed

if TYPE_CHECKING:
    from .executor import MigrationExecutor


class ApplySQLMigrations(Operation):
    """Apply pending SQL migrations up to and including ``up_to`` (a version or file name)."""

    reversible = False
    reduces_to_sql = False

    def __init__(self, up_to: str) -> None:
        self.up_to = up_to

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.__class__.__name__, [], {"up_to": self.up_to}

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """SQL files change no model state."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        from .executor import MigrationExecutor

        connection = schema_editor.connection
        if not allowed(connection.alias):
            return
        # migrate's own connection and transaction (not SQLMIGRATE_MIGRATION_DATABASES').
        executor = MigrationExecutor(connection)
        where = f"SQL migrations up to {self.up_to} (run by a migration of {app_label!r})"
        try:
            if connection.in_atomic_block:
                self._refuse_no_transaction(executor, app_label)
            executor.apply(target=self.up_to)
        except SqlMigrateError as exc:
            raise CommandError(f"{where}: {exc}") from None

    def _refuse_no_transaction(self, executor: MigrationExecutor, app_label: str) -> None:
        for migration in executor.plan(target=self.up_to).migrations:
            if not migration.transactional:
                raise SqlMigrateError(
                    f"{migration.version} is a no-transaction file, but the migration of "
                    f"{app_label!r} that applies it runs in a transaction. Set `atomic = False` "
                    "on that Django migration."
                )

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        raise IrreversibleError(
            f"ApplySQLMigrations(up_to={self.up_to!r}) cannot be reversed: SQL migrations only "
            "go forwards."
        )

    def describe(self) -> str:
        return f"Apply SQL migrations up to {self.up_to}"

    @property
    def migration_name_fragment(self) -> str:
        return "apply_sql_migrations"
