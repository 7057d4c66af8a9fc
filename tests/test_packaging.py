"""The package as a user gets it: a built wheel (and a git URL) in a fresh venv.

The rest of the suite imports the checkout, where every template and static file is present
whatever the build configuration says. These tests build the wheel with ``python -m build``,
install it into a new virtual environment outside the repository and run a management command
there, so a file left out of the wheel, wrong metadata or a missing dependency fails here.

They cost about half a minute (pip's cache keeps it off the network), so they run once per
suite run, on the SQLite pass of scripts/runtests.py, and not where there is no source tree
(the tox ``wheel`` environment runs the suite from a copy without ``django_sqlmigrate/``).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import venv
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

from tests.backends import selected_backend

from .conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "django_sqlmigrate"

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(
        selected_backend() != "sqlite",
        reason="packaging is tested once per run, on the SQLite pass",
    ),
    pytest.mark.skipif(
        not PACKAGE.is_dir(),
        reason="no source tree to build (the suite runs against an installed package)",
    ),
]

# What the tiny project's settings need: the admin, so its templates are looked up for real.
SETTINGS = """\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "packaging-test"
INSTALLED_APPS = [
    "django_sqlmigrate",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
STATIC_URL = "static/"
USE_TZ = True
"""

# Run by the venv's Python: where the package was imported from, and what Django's own
# template loaders and static files finders find in it.
PROBE = """\
import json, django
from pathlib import Path
django.setup()
import django_sqlmigrate
from django.contrib.staticfiles import finders
from django.template.loader import get_template

root = Path(django_sqlmigrate.__file__).parent
template = get_template("admin/django_sqlmigrate/schemamigration/change_list.html")
print(json.dumps({
    "package": str(root),
    "files": sorted(str(p.relative_to(root)) for p in root.rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts),
    "template": str(template.origin.name),
    "css": finders.find("django_sqlmigrate/admin.css"),
}))
"""


def _env(project: Path | None = None) -> dict[str, str]:
    """This process's environment without what points at the checkout or its venv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV", "PYTHONHOME"}
    }
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONSAFEPATH="1")
    if project is not None:
        env.update(PYTHONPATH=str(project), DJANGO_SETTINGS_MODULE="mysite_settings")
    return env


def _run(*command: str | Path, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
    return result.stdout


def _fresh_venv(folder: Path, *requirements: str) -> Path:
    """A new venv outside the repository with ``requirements`` pip-installed; its Python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    python = folder / "bin" / "python"
    _run(python, "-m", "pip", "install", *requirements, cwd=folder, env=_env())
    return python


def _project(folder: Path) -> Path:
    """A project with one SQL migration, its settings importable as ``mysite_settings``."""
    folder.mkdir()
    (folder / "mysite_settings.py").write_text(SETTINGS, encoding="utf-8")
    sql = folder / "sql_migrations"
    sql.mkdir()
    (sql / "001-create-widgets.sql").write_text(
        "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "INSERT INTO widgets (name) VALUES ('first');\n",
        encoding="utf-8",
    )
    return folder


def _source_files() -> list[str]:
    """The package's files in the checkout, as the wheel must install them."""
    return sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def _committed_files() -> list[str]:
    """The package's files at HEAD: what a git URL install gets."""
    listing = _run(
        "git",
        "ls-tree",
        "-r",
        "--name-only",
        "HEAD",
        "django_sqlmigrate",
        cwd=REPO_ROOT,
        env=_env(),
    )
    return sorted(line.removeprefix("django_sqlmigrate/") for line in listing.splitlines())


def _apply_and_probe(python: Path, project: Path) -> dict[str, object]:
    """Run sqlmigrate_apply from the venv on the project; check the database; return PROBE's view."""
    env = _env(project)
    out = _run(python, "-m", "django", "sqlmigrate_apply", "--noinput", cwd=project, env=env)
    assert "Applying 001-create-widgets... OK" in out
    status = json.loads(
        _run(python, "-m", "django", "sqlmigrate_status", "--json", cwd=project, env=env)
    )
    assert [row["version"] for row in status["applied"]] == ["001-create-widgets"]
    assert status["pending"] == []
    with sqlite3.connect(project / "db.sqlite3") as db:
        assert db.execute("SELECT name FROM widgets").fetchall() == [("first",)]
        assert db.execute("SELECT version, success FROM schema_migrations").fetchall() == [
            ("001-create-widgets", 1)
        ]
    probe: dict[str, object] = json.loads(_run(python, "-c", PROBE, cwd=project, env=env))
    return probe


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build --wheel`` of the checkout, in an isolated build environment."""
    out = tmp_path_factory.mktemp("dist")
    _run(
        sys.executable,
        "-m",
        "build",
        "--wheel",
        "--outdir",
        out,
        REPO_ROOT,
        cwd=REPO_ROOT,
        env=_env(),
    )
    (built,) = out.glob("django_sqlmigrate-*.whl")
    return built


def test_wheel_metadata(wheel: Path) -> None:
    """Licence, project URLs, Python requirement and extras, as PyPI will show them."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = HeaderParser().parsestr(archive.read(metadata_name).decode())
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    labels = {url.split(",")[0].strip() for url in metadata.get_all("Project-URL") or []}
    assert labels == {"Homepage", "Documentation", "Changelog", "Source", "Issues"}
    assert metadata["Requires-Python"] == ">=3.11"
    assert {"postgres", "mysql"} <= set(metadata.get_all("Provides-Extra") or [])
    # Only the package: no tests, docs or scripts at the top level of site-packages.
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {
        "django_sqlmigrate"
    }


def test_command_runs_from_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    """The wheel in a fresh venv: every package file installed, templates and CSS found."""
    python = _fresh_venv(tmp_path / "venv", str(wheel))
    probe = _apply_and_probe(python, _project(tmp_path / "mysite"))

    installed = Path(str(probe["package"]))
    assert installed.is_relative_to(tmp_path / "venv"), f"imported from {installed}, not the venv"
    assert probe["files"] == _source_files()
    assert Path(str(probe["template"])).is_relative_to(installed)
    assert probe["css"] is not None
    assert Path(str(probe["css"])).is_relative_to(installed)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_install_from_git_url(tmp_path: Path) -> None:
    """The README's ``pip install "django-sqlmigrate[postgres] @ git+...@BRANCH"``, on this clone."""
    head = subprocess.run(
        ["git", "rev-parse", "--abbrev-ref", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if head.returncode:
        pytest.skip("the source tree is not a git checkout")
    ref = head.stdout.strip()
    if ref == "HEAD":  # detached: name the commit
        ref = _run("git", "rev-parse", "HEAD", cwd=REPO_ROOT, env=_env()).strip()
    # PEP 508 wants a host in a named URL requirement: file://localhost/... (git accepts it).
    requirement = f"django-sqlmigrate[postgres] @ git+file://localhost{REPO_ROOT}@{ref}"
    python = _fresh_venv(tmp_path / "venv", requirement)
    probe = _apply_and_probe(python, _project(tmp_path / "mysite"))

    assert Path(str(probe["package"])).is_relative_to(tmp_path / "venv")
    assert probe["files"] == _committed_files()
    _run(python, "-c", "import psycopg", cwd=tmp_path, env=_env())  # the [postgres] extra
