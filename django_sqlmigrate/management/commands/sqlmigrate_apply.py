from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.management.base import CommandError, CommandParser

from ... import api
from ...loader import SqlMigration
from ...planner import MigrationPlanner
from ...routing import allowed, planner_for, refused_message
from ..base import SqlMigrateCommand

if TYPE_CHECKING:
    from ...notices import Notice


class Command(SqlMigrateCommand):
    help = "Apply pending SQL migration files, in numeric order, each exactly once."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not prompt the user for input of any kind.",
        )
        parser.add_argument(
            "--plan", action="store_true", help="List what would run, and change nothing."
        )
        parser.add_argument("--target", help="Stop after this version (or number).")
        parser.add_argument(
            "--fake",
            action="store_true",
            help="Record the migrations as applied without running their SQL.",
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="How long to wait for another run's lock (default: SQLMIGRATE_LOCK_TIMEOUT, 60).",
        )
        parser.add_argument(
            "--allow-out-of-order",
            action="store_true",
            help="Apply pending files numbered below the highest applied one.",
        )

    def handle(
        self,
        *args: Any,
        database: str,
        interactive: bool,
        plan: bool,
        target: str | None,
        fake: bool,
        lock_timeout: float | None,
        allow_out_of_order: bool,
        **options: Any,
    ) -> None:
        self.verbosity = options["verbosity"]
        if lock_timeout is not None and lock_timeout < 0:
            raise CommandError("--lock-timeout must be a number of seconds >= 0.")
        if not allowed(database):
            if self.verbosity >= 1:
                self.stdout.write(f"  {refused_message(database)} No SQL migrations to apply.")
            return
        if plan:
            self.show_plan(planner_for(database), target, allow_out_of_order)
            return
        if (
            fake
            and interactive
            and not self.confirm_fake(planner_for(database), target, allow_out_of_order)
        ):
            raise CommandError("Nothing was recorded: --fake was not confirmed.")
        self.line_open = False  # "  Applying 001-x..." written, its end not yet
        self.applying: SqlMigration | None = None
        try:
            result = api.apply(
                database,
                target=target,
                fake=fake,
                allow_out_of_order=allow_out_of_order,
                lock_timeout=lock_timeout,
                progress_callback=self.progress,
                notice_callback=self.notice,
            )
        except Exception:  # a file's failure, or the lock or the database failing under it
            self.end_line(self.style.ERROR(" FAILED"))
            raise
        if self.verbosity >= 1:
            count = len(result.applied)
            if not count:
                self.stdout.write("  No SQL migrations to apply.")
            else:
                verb = "Faked" if fake else "Applied"
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{verb} {count} SQL migration{'s' if count != 1 else ''} "
                        f"to database {database!r} in {result.duration:.2f} s."
                    )
                )

    def progress(self, event: str, migration: SqlMigration, duration_ms: float | None) -> None:
        if self.verbosity < 1:
            return
        if event == "apply_start":
            self.stdout.write(f"  Applying {migration.version}...", ending="")
            self.stdout.flush()
            self.line_open = True
            self.applying = migration
        elif event == "apply_success":
            self.end_line(self.style.SUCCESS(f" OK ({duration_ms or 0:.0f} ms)"))
        elif event == "fake_success":
            self.stdout.write(f"  Faking {migration.version}..." + self.style.SUCCESS(" FAKED"))

    def notice(self, notice: Notice) -> None:
        """A NOTICE or WARNING from the database, shown as it arrives, as psql shows it."""
        if self.verbosity < 1:
            return
        if self.line_open:
            self.stdout.write("")
            self.line_open = False
        style = self.style.WARNING if notice.severity == "WARNING" else str
        self.stdout.write(style(str(notice)))
        self.stdout.flush()

    def end_line(self, outcome: str) -> None:
        """End the "Applying" line, written again when notices came in between."""
        if self.applying is None or self.verbosity < 1:
            return
        if not self.line_open:
            self.stdout.write(f"  Applying {self.applying.version}...", ending="")
        self.stdout.write(outcome)
        self.line_open = False
        self.applying = None

    def show_plan(
        self, planner: MigrationPlanner, target: str | None, allow_out_of_order: bool
    ) -> None:
        planned = planner.plan(target=target, allow_out_of_order=allow_out_of_order)
        self.write_problems(planned.warnings)
        if not planned.migrations:
            self.stdout.write("  No SQL migrations to apply.")
            return
        self.stdout.write(self.style.MIGRATE_HEADING("Planned SQL migrations:"))
        for migration in planned.migrations:
            notes = [] if migration.transactional else ["no-transaction"]
            notes += [f"depends on {dependency}" for dependency in migration.depends_on]
            suffix = f" ({', '.join(notes)})" if notes else ""
            self.stdout.write(f"  {migration.version}{suffix}")

    def confirm_fake(
        self, planner: MigrationPlanner, target: str | None, allow_out_of_order: bool
    ) -> bool:
        planned = planner.plan(target=target, allow_out_of_order=allow_out_of_order)
        if not planned.migrations:
            return True
        self.stdout.write("These migrations will be recorded as applied without running:")
        for migration in planned.migrations:
            self.stdout.write(f"  {migration.version}")
        try:
            answer = input("Type 'yes' to continue, or 'no' to cancel: ")
        except EOFError:
            return False
        return answer.strip().lower() in {"y", "yes"}
