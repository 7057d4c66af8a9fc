from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from ...executor import FAILED, MODIFIED
from ...routing import executor_for
from ..base import SqlMigrateCommand


class Command(SqlMigrateCommand):
    help = (
        "Repair the history after a failure: remove failed records (so the file runs again), "
        "mark a failed migration as applied, or accept edited files' checksums."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--mark-applied",
            metavar="VERSION",
            help="Record this failed migration as applied (you completed it by hand).",
        )
        parser.add_argument(
            "--update-checksums",
            action="store_true",
            help="Store the current checksum of every applied file that was modified.",
        )
        parser.add_argument("--lock-timeout", type=float, default=None, metavar="SECONDS")

    def handle(
        self,
        *args: Any,
        database: str,
        mark_applied: str | None,
        update_checksums: bool,
        lock_timeout: float | None,
        **options: Any,
    ) -> None:
        executor = executor_for(database)
        recorder = executor.recorder
        with executor.backend.lock(30.0 if lock_timeout is None else lock_timeout):
            status = executor.status()
            failed = [entry for entry in status.applied if entry.state == FAILED]
            changed = []
            if mark_applied is not None:
                match = [entry for entry in failed if entry.row.version == mark_applied]
                if not match:
                    names = ", ".join(e.row.version for e in failed) or "none"
                    raise CommandError(
                        f"{mark_applied!r} is not a failed migration (failed ones: {names})."
                    )
                recorder.update(
                    mark_applied,
                    success=True,
                    execution_time_ms=match[0].row.execution_time_ms,
                    statements_applied=match[0].row.statements_total,
                    error="",
                )
                changed.append(f"Marked {mark_applied} as applied.")
            elif update_checksums:
                for entry in status.applied:
                    if entry.state == MODIFIED and entry.migration is not None:
                        recorder.set_checksum(entry.row.version, entry.migration.checksum)
                        changed.append(
                            f"Accepted the edited {entry.row.version} ({entry.migration.checksum})."
                        )
            else:
                for entry in failed:
                    recorder.delete(entry.row.version)
                    changed.append(
                        f"Removed the failed record of {entry.row.version}; "
                        "sqlmigrate_apply will run it again from its first statement."
                    )
        for line in changed or ["Nothing to repair."]:
            self.stdout.write(line)
