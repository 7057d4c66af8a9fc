"""``sqlmigrate_create --from-django``: move a Django migration's SQL into a SQL file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from django_sqlmigrate.executor import MigrationExecutor

from .apps import BILLING, installed
from .helpers import fails, run

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]


@pytest.fixture
def folder(clean_database: None, settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.SQLMIGRATE_APPLY_ON_MIGRATE = False
    (tmp_path / "sql").mkdir()
    settings.SQLMIGRATE_DIRS = [tmp_path / "sql"]
    with installed(BILLING):
        yield tmp_path / "sql"


def columns(table: str) -> set[str]:
    connection = connections["default"]
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


def test_writes_the_sql_django_would_run_and_it_applies(folder: Path) -> None:
    run("migrate", "billing", "0002", verbosity=0)
    django_sql, _ = run("sqlmigrate", "billing", "0003_customer_email")
    out, _ = run("sqlmigrate_create", "--from-django", "billing", "0003_customer_email")
    path = folder / "001-billing-0003-customer-email.sql"
    assert out == f"{path}\n"
    text = path.read_text()
    statements = [
        line for line in django_sql.splitlines() if line not in ("BEGIN;", "COMMIT;") and line
    ]
    assert text.endswith("\n".join(statements) + "\n")
    assert "BEGIN;" not in text
    vendor = connections["default"].vendor
    assert (
        f"-- The SQL of Django migration billing.0003_customer_email on {vendor}, as\n"
        "-- `manage.py sqlmigrate billing 0003_customer_email --database default` printed it.\n"
    ) in text
    assert "email" not in columns("billing_customer")
    MigrationExecutor(connections["default"], dirs=[folder]).apply()
    assert "email" in columns("billing_customer")


def test_description_names_the_file(folder: Path) -> None:
    out, _ = run("sqlmigrate_create", "add customer email", "--from-django", "billing", "0003")
    assert out == f"{folder / '001-add-customer-email.sql'}\n"


def test_a_migration_without_sql_writes_nothing(folder: Path) -> None:
    message = fails("sqlmigrate_create", "--from-django", "billing", "0002_apply_sql_migrations")
    assert message == (
        "Django migration billing.0002_apply_sql_migrations has no SQL to move on database "
        "'default' (only state changes or RunPython); no file was written."
    )
    assert list(folder.iterdir()) == []


def test_unknown_migration_is_djangos_error(folder: Path) -> None:
    message = fails("sqlmigrate_create", "--from-django", "billing", "0099")
    assert (
        message
        == "Cannot find a migration matching '0099' from app 'billing'. Is it in INSTALLED_APPS?"
    )


def test_needs_a_description_or_from_django(folder: Path) -> None:
    message = fails("sqlmigrate_create")
    assert message == "Give a description of the change, or --from-django APP NAME."
