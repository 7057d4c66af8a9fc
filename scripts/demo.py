#!/usr/bin/env python3
"""Try django-sqlmigrate on the example project, with nothing but Python.

    python3 scripts/demo.py

Sets up .venv on first use (see scripts/_devenv.py), then, in example_project/ on its SQLite
database (example_project/db.sqlite3), runs Django's ``migrate``, applies the SQL files in
example_project/sql_migrations/ with ``sqlmigrate_apply`` and shows ``sqlmigrate_status``.
Running it again is safe: nothing is applied twice.
"""

from __future__ import annotations

import os
import subprocess
import sys

import _devenv

EXAMPLE = _devenv.REPO / "example_project"
STEPS = (
    ("migrate", "--noinput"),
    ("sqlmigrate_apply", "--noinput"),
    ("sqlmigrate_status",),
)


def main() -> int:
    # The demo always uses the example's default SQLite database and settings.
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    for step in STEPS:
        print(f"\n$ python manage.py {' '.join(step)}", flush=True)
        command = [sys.executable, "manage.py", *step]
        code = subprocess.run(command, cwd=EXAMPLE, env=env, check=False).returncode
        if code:
            print(f"\n`manage.py {step[0]}` failed with exit code {code}.", file=sys.stderr)
            return code

    python = os.path.relpath(_devenv.venv_python(), EXAMPLE)
    print(
        f"""
The example project is ready, on SQLite in example_project/db.sqlite3.
To browse it in the Django admin, make yourself a user and start the server:

    cd example_project
    {python} manage.py createsuperuser
    {python} manage.py runserver

then open http://127.0.0.1:8000/admin/ and log in with the username and password you chose."""
    )
    return 0


if __name__ == "__main__":
    _devenv.ensure(__file__)
    sys.exit(main())
