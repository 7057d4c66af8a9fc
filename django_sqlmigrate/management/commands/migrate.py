"""``migrate`` that tells the SQL-applying ``post_migrate`` hook whether it runs with ``--fake``.

``post_migrate`` does not say so, and ``migrate --fake`` must not run SQL. The class extends
whichever ``migrate`` would run without this app (see ``runserver``), so another app's
additions keep working as long as ``django_sqlmigrate`` is listed above it.
"""

from __future__ import annotations

from typing import Any

from ...migrate_hook import faking
from ..chain import next_command


class Command(next_command("migrate")):  # type: ignore[misc]
    def handle(self, *args: Any, **options: Any) -> Any:
        token = faking.set(bool(options.get("fake")))
        try:
            return super().handle(*args, **options)
        finally:
            faking.reset(token)
