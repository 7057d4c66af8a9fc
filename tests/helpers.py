"""Small helpers shared by the database tests."""

from __future__ import annotations

import os
import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from django_sqlmigrate.models import SchemaMigration


def run(command: str, *args: str, **options: Any) -> tuple[str, str]:
    """Run a management command and return (stdout, stderr), with colours off."""
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err, no_color=True, **options)
    return out.getvalue(), err.getvalue()


def fails(command: str, *args: str, **options: Any) -> str:
    """Run a command that must fail with CommandError; return its message."""
    with pytest.raises(CommandError) as excinfo:
        run(command, *args, **options)
    return str(excinfo.value)


def history(alias: str = "default") -> list[tuple[str, bool]]:
    from django_sqlmigrate.recorder import MigrationRecorder

    if not MigrationRecorder(connections[alias]).has_table():
        return []
    return list(
        SchemaMigration.objects.using(alias).order_by("id").values_list("version", "success")
    )


def tables(alias: str = "default") -> set[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        return {name.lower() for name in connection.introspection.table_names(cursor)}


def scalar(sql: str, alias: str = "default") -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return row[0] if row else None


def vendor(alias: str = "default") -> str:
    return connections[alias].vendor


# -- another OS user ------------------------------------------------------------------------------
NOBODY = 65534


def other_user() -> list[str]:
    """The command prefix that runs a child process as another OS user.

    As root, who may read and write anything, the child runs as ``nobody`` (setpriv); as
    anyone else it runs as this user, and the test takes the permission away with chmod.
    Either way the child meets the same PermissionError.
    """
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed")
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def other_user_name() -> str:
    import pwd

    return pwd.getpwuid(NOBODY if os.geteuid() == 0 else os.geteuid()).pw_name


def hand_over(*paths: Path) -> None:
    """Give ``paths`` to the user that ``other_user()`` runs children as."""
    if os.geteuid() == 0:
        for path in paths:
            os.chown(path, NOBODY, NOBODY)
