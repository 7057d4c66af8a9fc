"""The recorder: the history table, its events table, kinds, and tables made by version 0.1."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.apps.registry import Apps
from django.db import connections, models

import django_sqlmigrate
from django_sqlmigrate.models import SchemaMigration, SchemaMigrationEvent
from django_sqlmigrate.recorder import CURRENT, MISSING_TABLE, WITHOUT_KIND, MigrationRecorder

from .helpers import fails, history, run, tables

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]


def events(version: str | None = None, *, started: bool = False) -> list[tuple[str, str]]:
    """(version, event) of every event, oldest first; "started" ones (written first for a file
    that runs statement by statement: MySQL's DDL) only when ``started``."""
    queryset = SchemaMigrationEvent.objects.order_by("id")
    if version is not None:
        queryset = queryset.filter(version=version)
    if not started:
        queryset = queryset.exclude(event="started")
    return list(queryset.values_list("version", "event"))


def kinds() -> dict[str, str]:
    return dict(SchemaMigration.objects.values_list("version", "kind"))


# -- a table made by version 0.1 ----------------------------------------------------------------
def create_0_1_table() -> None:
    """The history table exactly as django-sqlmigrate 0.1 made it: no kind, no events table."""

    class OldSchemaMigration(models.Model):
        version = models.CharField(max_length=255, unique=True)
        name = models.CharField(max_length=255)
        applied_at = models.DateTimeField()
        execution_time_ms = models.BigIntegerField(null=True)
        checksum = models.CharField(max_length=80)
        success = models.BooleanField(default=True)
        statements_applied = models.IntegerField(null=True)
        statements_total = models.IntegerField(null=True)
        applied_by = models.CharField(max_length=255, blank=True, default="")
        error = models.TextField(blank=True, default="")

        class Meta:
            apps = Apps()
            app_label = "old_sqlmigrate"
            db_table = "schema_migrations"

        def __str__(self) -> str:  # pragma: no cover - never shown
            return self.version

    with connections["default"].schema_editor() as editor:
        editor.create_model(OldSchemaMigration)


def insert_as_0_1(version: str, checksum: str = "sha256:0") -> None:
    """A row written as 0.1 writes one (during a rolling deploy, say): no kind column."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "INSERT INTO schema_migrations (version, name, applied_at, execution_time_ms, "
            "checksum, success, statements_applied, statements_total, applied_by, error) "
            "VALUES (%s, %s, %s, 1, %s, %s, 1, 1, 'old@host', '')",
            [version, version, "2026-01-01 00:00:00", checksum, True],
        )


def test_a_0_1_table_is_read_as_it_is_and_upgraded_by_the_first_write(
    tmp_path: Path, settings: object
) -> None:
    settings.SQLMIGRATE_DIRS = [tmp_path]  # type: ignore[attr-defined]
    (tmp_path / "001-a.sql").write_text("CREATE TABLE a (id INTEGER);\n")
    create_0_1_table()
    insert_as_0_1("001-a", checksum=django_sqlmigrate.status().pending[0].checksum)
    recorder = MigrationRecorder(connections["default"])
    assert recorder.schema() == WITHOUT_KIND

    # Read only: status, its JSON and the admin's history work on it, and change nothing.
    status = django_sqlmigrate.status()
    assert [(e.row.version, e.row.kind, e.state) for e in status.applied] == [
        ("001-a", "applied", "ok")
    ]
    assert json.loads(run("sqlmigrate_status", json=True)[0])["applied"][0]["kind"] == "applied"
    assert MigrationRecorder(connections["default"]).schema() == WITHOUT_KIND
    assert "schema_migrations_events" not in tables()

    # The first write brings it up to date, under the lock.
    (tmp_path / "002-b.sql").write_text("CREATE TABLE b (id INTEGER);\n")
    run("sqlmigrate_apply", interactive=False)
    assert MigrationRecorder(connections["default"]).schema() == CURRENT
    assert "schema_migrations_events" in tables()
    assert kinds() == {"001-a": "applied", "002-b": "applied"}
    assert events() == [("002-b", "applied")]

    # 0.1 still deploying beside it: its rows (without a kind) count as applied.
    insert_as_0_1("003-c")
    assert kinds()["003-c"] == "applied"
    assert history()[-1] == ("003-c", True)


def test_schema_of_a_missing_table() -> None:
    assert MigrationRecorder(connections["default"]).schema() == MISSING_TABLE
    assert django_sqlmigrate.status().applied == ()


# -- every write leaves an event ---------------------------------------------------------------
def test_applied_and_faked_files(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False, target="002")
    run("sqlmigrate_apply", interactive=False, fake=True)
    assert kinds() == {
        "001-create-users-table": "applied",
        "002-add-email-verification": "applied",
        "010-add-reset-token-fields": "faked",
    }
    assert events() == [
        ("001-create-users-table", "applied"),
        ("002-add-email-verification", "applied"),
        ("010-add-reset-token-fields", "faked"),
    ]
    checksums = dict(SchemaMigrationEvent.objects.values_list("version", "checksum"))
    assert checksums == dict(SchemaMigration.objects.values_list("version", "checksum"))
    assert "app_users" in tables()


def test_a_rolled_back_file_leaves_no_event(sql_scenario: Scenario) -> None:
    sql_scenario("failing")
    fails("sqlmigrate_apply", interactive=False)
    assert events() == [("001-create-users-table", "applied")]


def test_a_file_that_fails_part_way_then_repaired(sql_scenario: Scenario) -> None:
    sql_scenario("partial")
    fails("sqlmigrate_apply", interactive=False)
    version = "002-split-the-table"
    assert events(version, started=True) == [(version, "started"), (version, "failed")]
    run("sqlmigrate_repair", mark_applied=version)
    assert kinds()[version] == "repaired"
    assert events(version)[-1] == (version, "repaired")
    out, _ = run("sqlmigrate_status")
    assert f"{version}" in out
    assert "repaired" in [line.split()[-1] for line in out.splitlines() if version in line]


def test_a_cleared_failure_and_a_first_statement_failure(
    sql_scenario: Scenario, tmp_path: Path
) -> None:
    folder = sql_scenario("partial")
    fails("sqlmigrate_apply", interactive=False)
    version = "002-split-the-table"
    run("sqlmigrate_repair")
    assert version not in kinds()
    assert events(version)[-1] == (version, "cleared")
    # Its first statement failing: nothing stayed, the row goes, the events say so.
    (folder / f"{version}.sql").write_text(
        "-- sqlmigrate: no-transaction\nINSERT INTO missing_table VALUES (1);\n"
    )
    fails("sqlmigrate_apply", interactive=False)
    assert version not in kinds()
    assert events(version, started=True)[-2:] == [(version, "started"), (version, "cleared")]


def test_accepted_edits_and_renames(sql_scenario: Scenario) -> None:
    folder = sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    path = folder / "001-create-users-table.sql"
    path.write_text("-- reworded\n" + path.read_text())
    run("sqlmigrate_repair", update_checksums=True)
    event = SchemaMigrationEvent.objects.order_by("id").last()
    assert event is not None
    assert (event.version, event.event) == ("001-create-users-table", "checksum_accepted")
    assert event.detail.startswith("was sha256:")
    (folder / "010-add-reset-token-fields.sql").rename(folder / "010-add-reset-token.sql")
    run("sqlmigrate_repair", accept_renames=True)
    assert events("010-add-reset-token")[-1] == ("010-add-reset-token", "renamed")
    assert SchemaMigrationEvent.objects.get(
        version="010-add-reset-token", event="renamed"
    ).detail == ("was 010-add-reset-token-fields")


# -- status lists failed rows apart, with kinds and events ----------------------------------------
def test_status_lists_failed_rows_apart(sql_scenario: Scenario) -> None:
    sql_scenario("partial")
    fails("sqlmigrate_apply", interactive=False)
    out, _ = run("sqlmigrate_status")
    lines = out.splitlines()
    assert lines[1] == "Applied (1):"
    assert lines[3] == "Failed (1):"
    assert re.fullmatch(
        r"  \[failed  \] 002-split-the-table +attempted \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  "
        r"2 of 4 statements ran",
        lines[4],
    )
    document = json.loads(run("sqlmigrate_status", json=True)[0])
    assert [row["version"] for row in document["applied"]] == ["001-create-users-table"]
    (failed,) = document["failed"]
    assert failed["version"] == "002-split-the-table"
    assert (failed["statements_applied"], failed["statements_total"]) == (2, 4)
    assert "attempted_at" in failed
    assert "applied_at" not in failed
    assert [(e["version"], e["event"]) for e in document["events"]] == [
        ("002-split-the-table", "failed")
    ]
    status = django_sqlmigrate.status()
    assert [e.row.version for e in status.failed] == ["002-split-the-table"]
    assert [e.row.version for e in status.rows] == [
        "001-create-users-table",
        "002-split-the-table",
    ]


def test_status_shows_how_a_row_came_to_be(sql_scenario: Scenario) -> None:
    sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False, target="001")
    run("sqlmigrate_apply", interactive=False, fake=True, target="002")
    out, _ = run("sqlmigrate_status")
    rows = [line for line in out.splitlines() if line.startswith("  [ok")]
    assert not rows[0].endswith("faked")
    assert rows[1].endswith("  faked")
    assert events() == [
        ("001-create-users-table", "applied"),
        ("002-add-email-verification", "faked"),
    ]
