"""The development environment shared by scripts/demo.py, scripts/runtests.py and .ci/run.

``ensure()`` makes ``.venv`` in the repository root with the standard library's venv, installs
the project into it (``pip install -e .[dev]``, plus mysqlclient when asked), and re-executes the
calling script with ``.venv``'s Python. A stamp file in ``.venv`` records what was installed, so
later runs skip pip until pyproject.toml changes. Delete ``.venv`` to start over.

Run directly (``python3 scripts/_devenv.py [--mysqlclient]``) it only prepares ``.venv``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.backends import in_ci  # noqa: E402 - needs REPO on sys.path; imports stdlib only

VENV = REPO / ".venv"
STAMP = VENV / ".sqlmigrate-installed.json"
PIP_LOG = VENV / "pip.log"
MYSQLCLIENT = "mysqlclient>=2.2"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def running_in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def _project_key() -> str:
    return hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()


def _read_stamp() -> dict[str, str]:
    try:
        data = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_stamp(stamp: dict[str, str]) -> None:
    STAMP.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def _pip(*args: str) -> bool:
    """Run ``pip install ARGS`` in .venv, its output going to .venv/pip.log."""
    command = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", *args]
    with PIP_LOG.open("a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        result = subprocess.run(
            command,
            check=False,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return result.returncode == 0


def _show_log_tail(lines: int = 40) -> None:
    tail = PIP_LOG.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    print(f"--- last {len(tail)} lines of {PIP_LOG.relative_to(REPO)} ---", file=sys.stderr)
    print("\n".join(tail), file=sys.stderr)


def prepare(*, mysqlclient: bool = False) -> None:
    """Create .venv and install what is missing or out of date. Exits on failure."""
    if not venv_python().exists():
        print(f"Creating {VENV.relative_to(REPO)} with {sys.executable} ...", flush=True)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except (OSError, subprocess.CalledProcessError) as exc:
            sys.exit(
                f"Could not create {VENV}: {exc}\n"
                "On Debian or Ubuntu install the venv module first: apt-get install python3-venv"
            )

    stamp = _read_stamp()
    if stamp.get("project") != _project_key():
        print(
            "Installing django-sqlmigrate[dev] into .venv (first run: about a minute) ...",
            flush=True,
        )
        if not _pip("-e", ".[dev]"):
            _show_log_tail()
            sys.exit("pip install -e .[dev] failed; see above.")
        stamp["project"] = _project_key()
        _write_stamp(stamp)

    # mysqlclient compiles against libmariadb (libmariadb-dev and pkg-config on Debian). Locally
    # a failed build is remembered and not retried on every run; under CI it is an error.
    wanted = stamp.get("mysqlclient") != "installed" and ("mysqlclient" not in stamp or in_ci())
    if mysqlclient and wanted:
        print("Installing mysqlclient into .venv ...", flush=True)
        ok = _pip(MYSQLCLIENT)
        stamp["mysqlclient"] = "installed" if ok else "failed"
        _write_stamp(stamp)
        if not ok and in_ci():
            _show_log_tail()
            sys.exit("CI=true and mysqlclient could not be installed; MariaDB tests need it.")
        if not ok:
            print(
                "mysqlclient could not be built (it needs libmariadb-dev and pkg-config), so "
                "MariaDB/MySQL is skipped.\nAfter installing them, delete "
                f"{STAMP.relative_to(REPO)} to try again; the pip output is in "
                f"{PIP_LOG.relative_to(REPO)}.",
                file=sys.stderr,
            )


def ensure(script: str, *, mysqlclient: bool = False) -> None:
    """Make sure .venv is ready, then re-run ``script`` with its Python.

    Returns only when already running inside .venv.
    """
    if running_in_venv():
        return
    prepare(mysqlclient=mysqlclient)
    python = str(venv_python())
    argv = [python, str(Path(script).resolve()), *sys.argv[1:]]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "nt":  # os.execv does not replace the process on Windows
        sys.exit(subprocess.run(argv, check=False).returncode)
    os.execv(python, argv)


if __name__ == "__main__":
    prepare(mysqlclient="--mysqlclient" in sys.argv[1:])
