"""django_sqlmigrate.apply / status / validate: the commands' work as typed results."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import django_sqlmigrate
from django_sqlmigrate.exceptions import InvalidMigrations
from django_sqlmigrate.executor import Status

from .conftest import REPO_ROOT
from .helpers import history, tables

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]


def test_apply_returns_what_it_applied(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    result = django_sqlmigrate.apply(database="other", target="002")
    assert isinstance(result, django_sqlmigrate.ApplyResult)
    assert result.database == "other"
    assert result.versions == ["001-create-users-table", "002-add-email-verification"]
    assert result.fake is False
    assert result.duration > 0
    assert history("other") == [(version, True) for version in result.versions]
    assert history("default") == []
    assert django_sqlmigrate.apply(database="other", target="002").applied == []


def test_apply_fake_records_without_running(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    result = django_sqlmigrate.apply(fake=True)
    assert result.fake is True
    assert len(result.applied) == 3
    assert "app_users" not in tables()


def test_apply_raises_on_invalid_files(sql_scenario: Scenario) -> None:
    sql_scenario("duplicate_numbers")
    with pytest.raises(InvalidMigrations) as excinfo:
        django_sqlmigrate.apply()
    assert [problem.code for problem in excinfo.value.problems] == ["E002"]


def test_status(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    django_sqlmigrate.apply(target="001")
    status = django_sqlmigrate.status()
    assert isinstance(status, Status)
    assert [entry.row.version for entry in status.applied] == ["001-create-users-table"]
    assert [m.version for m in status.pending] == [
        "002-add-email-verification",
        "010-add-reset-token-fields",
    ]


def test_validate_includes_sql_problems(sql_scenario: Scenario) -> None:
    sql_scenario("empty")
    problems = django_sqlmigrate.validate()
    assert [problem.code for problem in problems] == ["E006"]
    assert problems[0].path is not None
    assert problems[0].path.name == "001-fresh-template.sql"


def test_importing_the_package_does_not_import_models() -> None:
    code = (
        "import sys, django_sqlmigrate; "
        "assert 'django_sqlmigrate.models' not in sys.modules; "
        "assert 'django.db.models' not in sys.modules; print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert done.stdout == "ok\n", done.stderr
