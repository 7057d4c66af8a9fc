from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from ...conf import app_settings
from ...loader import version_number
from ...planner import MODIFIED, Status
from ...recorder import REPAIRED, MigrationRecorder
from ...routing import planner_for
from ..base import SqlMigrateCommand


class Command(SqlMigrateCommand):
    help = (
        "Repair the history after a failure: remove failed records (so the file runs again), "
        "mark a failed migration as applied, accept edited files' checksums, or accept renamed "
        "files."
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
        parser.add_argument(
            "--accept-renames",
            action="store_true",
            help=(
                "Record the new name of every applied file that was renamed without changing "
                "its number or its text."
            ),
        )
        parser.add_argument("--lock-timeout", type=float, default=None, metavar="SECONDS")

    def handle(
        self,
        *args: Any,
        database: str,
        mark_applied: str | None,
        update_checksums: bool,
        accept_renames: bool,
        lock_timeout: float | None,
        **options: Any,
    ) -> None:
        planner = planner_for(database)
        recorder = planner.recorder
        if lock_timeout is None:
            lock_timeout = app_settings.LOCK_TIMEOUT
        with planner.backend.lock(lock_timeout, recorder.lock_name):
            status = planner.status(events=False)
            failed = list(status.failed)
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
                    checksum=match[0].row.checksum,
                    kind=REPAIRED,
                )
                changed.append(f"Marked {mark_applied} as applied.")
            elif accept_renames:
                changed = self.accept_renames(status, recorder)
            elif update_checksums:
                for entry in status.applied:
                    if entry.state == MODIFIED and entry.migration is not None:
                        recorder.set_checksum(
                            entry.row.version, entry.migration.checksum, was=entry.row.checksum
                        )
                        changed.append(
                            f"Accepted the edited {entry.row.version} ({entry.migration.checksum})."
                        )
            else:
                for entry in failed:
                    recorder.delete(
                        entry.row.version, detail="the failed record removed by sqlmigrate_repair"
                    )
                    changed.append(
                        f"Removed the failed record of {entry.row.version}; "
                        "sqlmigrate_apply will run it again from its first statement."
                    )
        for line in changed or ["Nothing to repair."]:
            self.stdout.write(line)

    @staticmethod
    def accept_renames(status: Status, recorder: MigrationRecorder) -> list[str]:
        """Rename rows whose file is gone to the pending file with their number and text."""
        gone = {
            key: entry.row
            for entry in status.rows
            if entry.migration is None and (key := version_number(entry.row.version))
        }
        renames = [
            (row, migration)
            for migration in status.pending
            if (row := gone.get((migration.app_label, migration.number))) is not None
        ]
        for row, migration in renames:
            if row.checksum != migration.checksum:
                raise CommandError(
                    f"{migration.version} has number {migration.number} like the applied "
                    f"{row.version}, but not its text ({row.checksum} was applied, the file is "
                    f"{migration.checksum}), so it is not accepted as a rename and nothing was "
                    "changed. If it is a new migration, renumber it."
                )
        for row, migration in renames:
            recorder.rename(
                row.version,
                new_version=migration.version,
                name=migration.name,
                checksum=migration.checksum,
            )
        return [f"Recorded {row.version} as renamed to {m.version}." for row, m in renames]
