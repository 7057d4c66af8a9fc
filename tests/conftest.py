from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.db import connections

from tests.backends import in_ci, probe, selected_backend, server

if TYPE_CHECKING:
    from pytest_django import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = Path(__file__).resolve().parent / "sql"


def pytest_configure(config: pytest.Config) -> None:
    """Make the SQLite test run's folder (named by tests/settings.py); remove it at the end.

    Only the process that makes it removes it: xdist workers and ``manage.py`` processes
    started by tests find it already there.
    """
    from django.conf import settings

    settings.DATABASES  # noqa: B018 - importing the settings names the folder
    folder = os.environ.get("SQLMIGRATE_TEST_SQLITE_DIR")
    if not folder:
        return
    try:
        Path(folder).mkdir(parents=True)
    except FileExistsError:
        return
    config.add_cleanup(functools.partial(shutil.rmtree, folder, ignore_errors=True))


def pytest_report_header(config: pytest.Config) -> str:
    backend = selected_backend()
    if backend == "sqlite":
        return f"sqlmigrate test backend: sqlite ({os.environ['SQLMIGRATE_TEST_SQLITE_DIR']})"
    return f"sqlmigrate test backend: {backend} ({server(backend)})"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once, with one clear message, when the chosen server cannot be reached.

    Without this every database test would fail with its own connection traceback. Under CI
    (CI=true) an unreachable backend is always a failure, never a skip.
    """
    if hasattr(session.config, "workerinput"):  # xdist worker: the controller checked already
        return
    _check_installed_package()
    backend = selected_backend()
    problem = probe(backend)
    if problem is None:
        return
    if in_ci():
        message = (
            f"CI=true and the {backend} test backend is unreachable: {problem}. "
            "CI runs the suite on every backend and never skips one; start the server "
            "(.ci/run does) or fix SQLMIGRATE_TEST_* settings."
        )
    else:
        message = (
            f"The {backend} test backend is unreachable: {problem}. Start the server, point "
            "SQLMIGRATE_TEST_* at it (see tests/backends.py), or use scripts/runtests.py, "
            "which runs every backend it can reach and reports the others as skipped."
        )
    pytest.exit(message, returncode=pytest.ExitCode.USAGE_ERROR)


def _check_installed_package() -> None:
    """Under ``tox -e wheel`` (scripts/test_installed.py), the package must be the installed one."""
    expected = os.environ.get("SQLMIGRATE_TEST_INSTALLED_PACKAGE")
    if not expected:
        return
    import django_sqlmigrate

    imported = Path(django_sqlmigrate.__file__).resolve().parent
    if imported != Path(expected):
        pytest.exit(
            f"django_sqlmigrate was imported from {imported}, not the installed {expected}.",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture
def sql_scenario(tmp_path: Path, settings: Settings) -> Callable[[str], Path]:
    """Copy a scenario folder ``tests/sql/<name>/`` to tmp_path and make it SQLMIGRATE_DIRS.

    Returns ``use(name) -> Path``; the returned copy can be changed freely by the test.
    """

    def use(name: str) -> Path:
        source = SCENARIOS / name
        if not source.is_dir():
            known = sorted(path.name for path in SCENARIOS.iterdir() if path.is_dir())
            pytest.fail(f"No SQL scenario {name!r} in {SCENARIOS}; there are: {known}")
        target = tmp_path / "sql" / name
        shutil.copytree(source, target)
        settings.SQLMIGRATE_DIRS = [target]
        return target

    return use


@pytest.fixture
def subprocess_env(django_db_setup: None) -> Callable[[], dict[str, str]]:
    """Environment for a real ``manage.py`` process that must see what this test sees.

    Call it right before starting the process, e.g.
    ``subprocess.run([sys.executable, "-m", "django", "sqlmigrate_apply", "--noinput"],
    env=subprocess_env(), cwd=REPO_ROOT)``. The child loads tests.settings with every alias's
    NAME replaced by the test database this run created (test_sqlmigrate, the SQLite test
    file, ...) and with this process's current ``SQLMIGRATE_*`` settings (as changed by the
    ``settings`` fixture or ``sql_scenario``) copied over.
    """
    from django.conf import settings

    def env() -> dict[str, str]:
        names = {alias: str(connections[alias].settings_dict["NAME"]) for alias in connections}
        overrides = {
            name: getattr(settings, name)
            for name in dir(settings)
            if name.startswith("SQLMIGRATE_")
        }
        python_path = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": os.pathsep.join(python_path),
            "SQLMIGRATE_TEST_DATABASE_NAMES": json.dumps(names),
            "SQLMIGRATE_TEST_SETTINGS": json.dumps(overrides, default=str),
        }

    return env


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary folder another OS user can reach (pytest's tmp_path is private to this one)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="sqlmigrate-shared-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:  # a test may have taken the permissions away
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


def _django_tables(alias: str) -> set[str]:
    connection = connections[alias]
    return {*connection.introspection.django_table_names(include_views=False), "django_migrations"}


@pytest.fixture
def clean_database(django_db_blocker: object) -> Iterator[None]:
    """Drop every table a test's SQL migrations made, and the history table, afterwards.

    The history table is unmanaged (it must survive ``flush``), so TransactionTestCase
    teardown keeps it; this fixture gives each test a brand-new database again.
    """
    yield
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        for alias in connections:
            connection = connections[alias]
            keep = _django_tables(alias)
            with connection.cursor() as cursor:
                names = connection.introspection.table_names(cursor)
                extra = [name for name in names if name not in keep]
                if connection.vendor == "mysql":
                    cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
                for name in extra:
                    cascade = " CASCADE" if connection.vendor == "postgresql" else ""
                    cursor.execute(
                        f"DROP TABLE IF EXISTS {connection.ops.quote_name(name)}{cascade}"
                    )
                if connection.vendor == "mysql":
                    cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
                    cursor.execute(
                        "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES "
                        "WHERE ROUTINE_SCHEMA = DATABASE()"
                    )
                    for routine, kind in cursor.fetchall():
                        cursor.execute(f"DROP {kind} IF EXISTS `{routine}`")
                if connection.vendor == "postgresql":
                    cursor.execute(
                        "SELECT 'DROP ' || CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE "
                        "'FUNCTION ' END || p.oid::regprocedure || ' CASCADE' FROM pg_proc p "
                        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
                    )
                    for (statement,) in cursor.fetchall():
                        cursor.execute(statement)
                    cursor.execute(
                        "SELECT 'DROP TYPE ' || quote_ident(t.typname) || ' CASCADE' FROM pg_type t "
                        "JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' "
                        "AND t.typtype = 'e'"
                    )
                    for (statement,) in cursor.fetchall():
                        cursor.execute(statement)
