"""django_sqlmigrate.apply / plan / status / validate: the commands' work as typed results."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import django_sqlmigrate
from django_sqlmigrate import Status
from django_sqlmigrate.exceptions import InvalidMigrations
from django_sqlmigrate.loader import SqlMigration
from django_sqlmigrate.planner import AppliedState
from django_sqlmigrate.problems import Problem
from django_sqlmigrate.recorder import AppliedMigration

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
    assert django_sqlmigrate.apply(database="other", target="002").applied == ()


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


def test_plan_lists_what_would_run_and_every_problem(sql_scenario: Scenario) -> None:
    folder = sql_scenario("basic")
    django_sqlmigrate.apply(target="001")
    plan = django_sqlmigrate.plan(target="002")
    assert isinstance(plan, django_sqlmigrate.Plan)
    assert [m.version for m in plan.migrations] == ["002-add-email-verification"]
    assert plan.problems == ()
    (folder / "003-empty.sql").write_text("-- nothing yet\n")
    plan = django_sqlmigrate.plan()
    assert [m.version for m in plan.migrations][-1] == "010-add-reset-token-fields"
    assert [p.code for p in plan.errors] == ["E006"]  # told, not raised: apply would refuse
    assert history() == [("001-create-users-table", True)]


def test_arguments_after_the_database_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        django_sqlmigrate.apply("default", "002")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        django_sqlmigrate.plan("default", "002")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "cls",
    [
        django_sqlmigrate.ApplyResult,
        django_sqlmigrate.Notice,
        django_sqlmigrate.Status,
        django_sqlmigrate.Plan,
        AppliedState,
        AppliedMigration,
        SqlMigration,
        Problem,
    ],
)
def test_results_are_frozen_slotted_dataclasses(cls: type) -> None:
    """A field can be added (rollback events, kinds, tenants) without breaking a caller that
    reads results by name: nobody can unpack them by position or change them."""
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert "__slots__" in cls.__dict__
    assert not hasattr(cls, "__iter__")


def test_results_built_in_bulk_are_real_instances(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    django_sqlmigrate.apply()
    entry = django_sqlmigrate.status().applied[0]
    assert type(entry) is AppliedState
    assert type(entry.row) is AppliedMigration
    assert type(entry.migration) is SqlMigration
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.row.version = "x"  # type: ignore[misc]
    renamed = dataclasses.replace(entry.row, version="x")
    assert (renamed.version, renamed.name) == ("x", entry.row.name)
    assert entry.migration == dataclasses.replace(entry.migration)
    assert hash(entry.migration) == hash(dataclasses.replace(entry.migration))
