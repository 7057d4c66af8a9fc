"""The admin's SQL migration pages in a real browser: headless Chromium through Playwright.

Each test starts the example project (example_project/) with ``runserver`` in a subprocess, on a
free localhost port and a temporary SQLite database that has had ``migrate``, ``sqlmigrate_apply
--noinput`` and ``createsuperuser``, logs in, and looks at the history list, the pending page
and a detail page. Screenshots go to ``artifacts/e2e/`` (git-ignored); docs/images/ holds copies.

The tests run in the sqlite pass of the suite (they drive the SQLite example project, whatever
backend the rest of the suite uses). Without Chromium or the ``playwright`` package they are
skipped, except under CI=true, where that is a failure. Chromium is /usr/bin/chromium (Debian's
package), or the path in SQLMIGRATE_TEST_CHROMIUM; Playwright never downloads a browser here.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from django_sqlmigrate.loader import checksum, read_source
from tests.backends import in_ci, selected_backend

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "example_project"
ARTIFACTS = REPO_ROOT / "artifacts" / "e2e"
CHROMIUM = os.environ.get("SQLMIGRATE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERNAME, PASSWORD = "admin", "e2e-not-secret"
CHANGELIST = "/admin/django_sqlmigrate/schemamigration/"
SERVER_START_TIMEOUT = 30
# The admin's dark theme (django/contrib/admin/static/admin/css/dark_mode.css).
DARK_BODY_BG = "rgb(18, 18, 18)"
DARK_ERROR_BG = "rgb(87, 8, 8)"
LIGHT_ERROR_BG = "rgb(255, 239, 239)"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        selected_backend() != "sqlite",
        reason="browser tests drive the example project on SQLite; they run in the sqlite pass",
    ),
]


def _missing_browser() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def _example_env(database: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "SQLMIGRATE_TEST_")) and name != "DATABASE_URL"
    }
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "example.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "true",  # runserver serves the admin's static files
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }


def _manage(database: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=_example_env(database),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode:
        pytest.fail(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="module")
def prepared_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project's database after migrate, sqlmigrate_apply and createsuperuser."""
    database = tmp_path_factory.mktemp("example") / "db.sqlite3"
    _manage(database, "migrate", "--noinput")
    _manage(database, "sqlmigrate_apply", "--noinput")
    _manage(
        database,
        "createsuperuser",
        "--noinput",
        "--username",
        USERNAME,
        "--email",
        "admin@example.com",
    )
    return database


@dataclass
class Server:
    url: str
    database: Path

    def execute(self, sql: str, *params: object) -> None:
        with sqlite3.connect(self.database) as connection:
            connection.execute(sql, params)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"runserver exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/admin/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"runserver did not answer within {SERVER_START_TIMEOUT} s:\n{log.read_text()}")


@pytest.fixture
def server(
    prepared_database: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Server]:
    """The example project on its own copy of the prepared database."""
    database = tmp_path / "db.sqlite3"
    shutil.copy(prepared_database, database)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"{request.node.name}-runserver.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=EXAMPLE,
            env=_example_env(database),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, process, log)
        yield Server(url, database)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = _missing_browser()
    if missing is not None:
        if in_ci():
            pytest.fail(f"CI=true and {missing}: the browser tests must run in CI.")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def logged_in_page(browser: Browser, server: Server, color_scheme: str = "light") -> Page:
    context = browser.new_context(
        base_url=server.url,
        viewport={"width": 1280, "height": 800},
        color_scheme=color_scheme,  # type: ignore[arg-type]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"/admin/login/?next={CHANGELIST}")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{CHANGELIST}")
    return page


def screenshot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def rows(page: Page) -> list[tuple[str, str]]:
    """(version, state) of each row of the changelist, top to bottom."""
    found = []
    for row in page.locator("#result_list tbody tr").all():
        found.append(
            (
                row.locator("th.field-version_column").inner_text(),
                row.locator("td.field-state").inner_text(),
            )
        )
    return found


def make_drift(server: Server) -> None:
    """002 edited after it ran, 003 failed part-way, 004 not run, 005 from a newer release."""
    server.execute(
        "UPDATE schema_migrations SET checksum = ? WHERE version = ?",
        "sha256:" + "0" * 64,
        "002-add-email-verification",
    )
    server.execute(
        "UPDATE schema_migrations SET success = 0, statements_applied = 1, statements_total = 2, "
        "error = ? WHERE version = ?",
        "003-add-reset-token-fields.sql:4: duplicate column name: reset_token_expires_at",
        "003-add-reset-token-fields",
    )
    server.execute("DELETE FROM schema_migrations WHERE version = ?", "004-add-usage-tracking")
    server.execute(
        "INSERT INTO schema_migrations (version, name, applied_at, execution_time_ms, checksum, "
        "success, statements_applied, statements_total, applied_by, error) VALUES "
        "(?, ?, CURRENT_TIMESTAMP, 41, ?, 1, 1, 1, 'deploy@web-2', '')",
        "005-add-audit-log",
        "Add audit log",
        "sha256:" + "5" * 64,
    )


def test_up_to_date_history(browser: Browser, server: Server) -> None:
    page = logged_in_page(browser, server)
    assert page.locator("h1").inner_text() == "SQL migrations"
    assert rows(page) == [
        ("001-create-users-table", "OK"),
        ("002-add-email-verification", "OK"),
        ("003-add-reset-token-fields", "OK"),
        ("004-add-usage-tracking", "OK"),
    ]
    assert page.locator(".sqlmigrate-attention").count() == 0
    # Read-only: nothing to add, no action to run on the rows.
    assert page.locator("#content-main a.addlink").count() == 0
    assert page.locator("select[name=action]").count() == 0
    screenshot(page, "history-up-to-date")

    page.click("text=Pending files (0)")
    assert "Nothing is pending" in page.locator("#content-main").inner_text()

    page.goto(CHANGELIST)
    page.click("text=001-create-users-table")
    assert page.locator("h1").inner_text() == "001-create-users-table"
    assert "unchanged since it was applied" in page.locator("#content-main").inner_text()
    assert "CREATE TABLE users" in page.locator("pre.sqlmigrate-sql").inner_text()
    screenshot(page, "detail-up-to-date")


def test_drift_in_light_and_dark(browser: Browser, server: Server) -> None:
    make_drift(server)
    page = logged_in_page(browser, server)
    assert rows(page) == [
        ("001-create-users-table", "OK"),
        ("002-add-email-verification", "Modified"),
        ("003-add-reset-token-fields", "Failed"),
        ("005-add-audit-log", "Missing"),
    ]
    banner = page.locator(".sqlmigrate-attention").inner_text()
    assert "1 file pending" in banner
    assert "1 modified after it was applied" in banner
    assert "1 failed" in banner
    screenshot(page, "history")

    page.click("text=1 file pending")
    pending = page.locator("#pending-migrations tbody tr")
    assert pending.count() == 1
    file = EXAMPLE / "sql_migrations" / "004-add-usage-tracking.sql"
    assert pending.first.inner_text().split("\t")[:4] == [
        "1",
        "004-add-usage-tracking",
        "Add usage tracking",
        checksum(read_source(file)),
    ]
    screenshot(page, "pending")

    page.goto(CHANGELIST)
    page.click("text=002-add-email-verification")
    content = page.locator("#content-main").inner_text()
    assert "This file has changed since it was applied" in content
    assert (
        "ALTER TABLE users ADD COLUMN email_verified"
        in page.locator("pre.sqlmigrate-sql").inner_text()
    )
    badge = page.locator(".sqlmigrate-facts .sqlmigrate-state")
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == LIGHT_ERROR_BG
    screenshot(page, "detail-modified")

    # The admin's dark theme, from the browser's preference: the pages use its CSS variables.
    dark = logged_in_page(browser, server, color_scheme="dark")
    assert dark.evaluate("getComputedStyle(document.body).backgroundColor") == DARK_BODY_BG
    modified = dark.locator("td.field-state .sqlmigrate-state-modified")
    assert modified.evaluate("e => getComputedStyle(e).backgroundColor") == DARK_ERROR_BG
    screenshot(dark, "history-dark")
    dark.click("text=003-add-reset-token-fields")
    assert "duplicate column name" in dark.locator(".sqlmigrate-facts").inner_text()
    screenshot(dark, "detail-failed-dark")
