#!/usr/bin/env python3
"""Run the test suite against the installed django-sqlmigrate, not the checkout.

    python scripts/test_installed.py SCRATCH [pytest arguments...]

Used by ``tox -e wheel``, whose environment has the built wheel installed. Everywhere else the
suite imports ``django_sqlmigrate/`` from the checkout, where every template and static file
is present whatever the wheel holds. Here the repository is copied to SCRATCH without that
folder (and without .git, virtual environments and caches), so the tests, and the
``manage.py`` processes they start, can only import the installed package: a file missing
from the wheel fails its tests. Then pytest runs in the copy with the remaining arguments.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "django_sqlmigrate"
LEFT_OUT = {
    PACKAGE,
    ".git",
    ".venv",
    ".tox",
    "artifacts",
    "build",
    "dist",
    "site",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
}


def _ignore(folder: str, names: list[str]) -> set[str]:
    top = Path(folder).resolve() == REPO
    return {
        name
        for name in names
        if name in {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
        or name.endswith(".egg-info")
        or (top and name in LEFT_OUT)
    }


def _reachable_by_others(prefix: Path) -> None:
    """Let other users into the folders above this environment (tox makes .tox 0700).

    Some tests run a child as ``nobody`` with this interpreter to meet a PermissionError;
    it must be able to read its own environment.
    """
    for folder in [prefix, *prefix.parents]:
        if folder == REPO or not folder.is_relative_to(REPO):
            break
        mode = folder.stat().st_mode
        folder.chmod(mode | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def main(scratch: Path, pytest_args: list[str]) -> int:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        sys.exit(f"{PACKAGE} is not installed in {sys.prefix}; run this through tox -e wheel.")
    installed = Path(spec.origin).resolve().parent
    if installed == REPO / PACKAGE:  # an editable install, or the checkout on sys.path
        sys.exit(f"{PACKAGE} is imported from the checkout ({installed}), not from a wheel.")
    _reachable_by_others(Path(sys.prefix).resolve())
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(REPO, scratch, ignore=_ignore, symlinks=True)
    print(f"Testing {installed} from a copy of the repository in {scratch}", flush=True)
    env = {**os.environ, "SQLMIGRATE_TEST_INSTALLED_PACKAGE": str(installed)}
    command = [sys.executable, "-m", "pytest", *pytest_args]
    return subprocess.run(command, cwd=scratch, env=env, check=False).returncode


if __name__ == "__main__":
    if len(sys.argv) < 2:  # noqa: PLR2004 - the script's name and SCRATCH
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]).resolve(), sys.argv[2:]))
