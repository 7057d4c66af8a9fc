from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import CommandParser

from ... import api
from ...planner import FAILED, MISSING, MODIFIED, OK, Status
from ...recorder import APPLIED
from ...redact import redact
from ...routing import refused_message
from ..base import SqlMigrateCommand


class Command(SqlMigrateCommand):
    help = "Show applied and pending SQL migrations, and any that drifted or failed."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON document."
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Exit with status 1 when anything is pending, modified or failed.",
        )

    def handle(self, *args: Any, database: str, as_json: bool, check: bool, **options: Any) -> None:
        status = api.status(database)
        if as_json:
            self.write_json(status)
        else:
            self.write_text(status, options["verbosity"])
        needs_attention = (
            status.pending
            or status.errors
            or status.failed
            or any(entry.state == MODIFIED for entry in status.applied)
        )
        if check and needs_attention:
            sys.exit(1)

    def write_json(self, status: Status) -> None:
        document = {
            "database": status.database,
            "allowed": status.allowed,
            "applied": [
                {
                    "version": entry.row.version,
                    "name": entry.row.name,
                    "kind": entry.row.kind,
                    "applied_at": entry.row.applied_at.isoformat(),
                    "execution_time_ms": entry.row.execution_time_ms,
                    "checksum": entry.row.checksum,
                    "state": entry.state,
                }
                for entry in status.applied
            ],
            "failed": [
                {
                    "version": entry.row.version,
                    "name": entry.row.name,
                    "attempted_at": entry.row.applied_at.isoformat(),
                    "execution_time_ms": entry.row.execution_time_ms,
                    "checksum": entry.row.checksum,
                    "statements_applied": entry.row.statements_applied,
                    "statements_total": entry.row.statements_total,
                    # A row written before passwords were scrubbed may hold one.
                    "error": redact(entry.row.error),
                }
                for entry in status.failed
            ],
            "pending": [
                {"version": m.version, "name": m.name, "checksum": m.checksum}
                for m in status.pending
            ],
            "events": [
                {
                    "version": event.version,
                    "event": event.event,
                    "recorded_at": event.recorded_at.isoformat(),
                    "recorded_by": event.recorded_by,
                    "checksum": event.checksum,
                    "detail": redact(event.detail),
                }
                for event in status.events
            ],
            "problems": [problem.as_dict() for problem in status.problems],
        }
        self.stdout.write(json.dumps(document, indent=2))

    def write_text(self, status: Status, verbosity: int) -> None:
        db = status.database
        self.stdout.write(
            self.style.MIGRATE_HEADING("Database: ")
            + f"{db['vendor']} {db['name']!r}"
            + (f" on {db['host']}" if db["host"] else "")
            + f" (alias {db['alias']!r}"
            + (f" via {db['via']!r})" if "via" in db else ")")
        )
        if not status.allowed:
            self.stdout.write(f"  {refused_message(db['alias'])}")
            return
        applied = status.applied
        self.stdout.write(self.style.MIGRATE_HEADING(f"Applied ({len(applied)}):"))
        if not applied:
            self.stdout.write("  (none)")
        width = max((len(entry.row.version) for entry in status.rows), default=0)
        styles = {MODIFIED: self.style.ERROR, FAILED: self.style.ERROR, MISSING: self.style.WARNING}
        # Styled once per state, not once per row: status may print 10 000 rows.
        labels = {
            state: styles.get(state, self.style.SUCCESS)(f"{state:<8}")
            for state in (OK, MODIFIED, MISSING, FAILED)
        }
        lines = []  # one write for thousands of rows
        for entry in applied:
            row, state = entry.row, entry.state
            duration = f"{row.execution_time_ms} ms" if row.execution_time_ms is not None else "-"
            applied_at = row.applied_at.isoformat(" ", "seconds")[:19]  # strftime is slower
            line = f"  [{labels[state]}] {row.version:<{width}}  {applied_at}  {duration:>9}"
            lines.append(line if row.kind == APPLIED else f"{line}  {row.kind}")
        if lines:
            self.stdout.write("\n".join(lines))
        if status.failed:
            self.stdout.write(self.style.MIGRATE_HEADING(f"Failed ({len(status.failed)}):"))
            for entry in status.failed:
                row = entry.row
                attempted = row.applied_at.isoformat(" ", "seconds")[:19]
                if row.statements_applied is None:
                    progress = "interrupted"
                else:
                    total = (
                        f" of {row.statements_total}" if row.statements_total is not None else ""
                    )
                    progress = f"{row.statements_applied}{total} statements ran"
                self.stdout.write(
                    f"  [{labels[FAILED]}] {row.version:<{width}}  attempted {attempted}  "
                    f"{progress}"
                )
        self.stdout.write(self.style.MIGRATE_HEADING(f"Pending ({len(status.pending)}):"))
        if not status.pending:
            self.stdout.write("  (none)")
        if status.pending:
            self.stdout.write("\n".join(f"  [ ] {m.version}" for m in status.pending))
        if verbosity >= 1:
            self.write_problems(status.problems)
