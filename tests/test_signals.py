"""pre_apply, post_apply and apply_failed, sent by the executor for each file."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.dispatch import Signal

from django_sqlmigrate import signals
from django_sqlmigrate.exceptions import MigrationFailed
from django_sqlmigrate.executor import MigrationExecutor

from .helpers import fails, run

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("clean_database"),
]
Scenario = Callable[[str], Path]


@pytest.fixture
def received() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    receivers = {}
    for name in ("pre_apply", "post_apply", "apply_failed"):
        signal: Signal = getattr(signals, name)

        def receiver(sender: object, name: str = name, **kwargs: Any) -> None:
            assert sender is MigrationExecutor
            kwargs.pop("signal")
            events.append((name, kwargs))

        signal.connect(receiver, weak=False)
        receivers[signal] = receiver
    yield events
    for signal, receiver in receivers.items():
        signal.disconnect(receiver)


def test_pre_and_post_apply_for_each_file(sql_scenario: Scenario, received: list[Any]) -> None:
    sql_scenario("basic")
    started = time.perf_counter()
    run("sqlmigrate_apply", interactive=False, database="other", target="002")
    elapsed = time.perf_counter() - started
    assert [(name, kwargs["version"], kwargs["using"]) for name, kwargs in received] == [
        ("pre_apply", "001-create-users-table", "other"),
        ("post_apply", "001-create-users-table", "other"),
        ("pre_apply", "002-add-email-verification", "other"),
        ("post_apply", "002-add-email-verification", "other"),
    ]
    post = received[1][1]
    assert post["migration"].version == "001-create-users-table"
    assert post["fake"] is False
    assert isinstance(post["duration"], float)
    # The file's own time: more than its SQL (a sleep), less than the whole command's.
    assert 0 < post["duration"] < elapsed


def test_fake_is_flagged(sql_scenario: Scenario, received: list[Any]) -> None:
    sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False, fake=True, target="001")
    assert [(name, kwargs["fake"]) for name, kwargs in received] == [
        ("pre_apply", True),
        ("post_apply", True),
    ]


def test_apply_failed_carries_the_error(sql_scenario: Scenario, received: list[Any]) -> None:
    sql_scenario("failing")
    fails("sqlmigrate_apply", interactive=False)
    names = [(name, kwargs["version"]) for name, kwargs in received]
    assert names == [
        ("pre_apply", "001-create-users-table"),
        ("post_apply", "001-create-users-table"),
        ("pre_apply", "002-insert-then-fail"),
        ("apply_failed", "002-insert-then-fail"),
    ]
    error = received[-1][1]["error"]
    assert isinstance(error, MigrationFailed)
    assert error.version == "002-insert-then-fail"


def test_nothing_sent_when_nothing_is_pending(sql_scenario: Scenario, received: list[Any]) -> None:
    sql_scenario("basic")
    run("sqlmigrate_apply", interactive=False)
    received.clear()
    run("sqlmigrate_apply", interactive=False)
    assert received == []
