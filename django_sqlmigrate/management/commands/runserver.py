"""``runserver`` that also says when SQL migrations are pending, as it does for Django's.

The class extends whichever ``runserver`` would run without this app (the one of the next
installed app that has one, such as ``django.contrib.staticfiles``, else Django's), so serving
static files and other apps' additions keep working. It only takes effect when
``django_sqlmigrate`` is listed above those apps in INSTALLED_APPS: Django uses the command of
the first app that has one. Other commands pay nothing: this module loads only for runserver.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS

from ...routing import allowed, planner_for
from ..chain import next_command


class Command(next_command("runserver")):  # type: ignore[misc]
    def check_migrations(self) -> None:
        super().check_migrations()
        if not allowed(DEFAULT_DB_ALIAS):
            return
        try:
            pending = planner_for(DEFAULT_DB_ALIAS).status(events=False).pending
        except ImproperlyConfigured:
            return  # no database configured, or no SQL migration folder to read
        if pending:
            self.stdout.write(
                self.style.NOTICE(
                    f"\nYou have {len(pending)} unapplied SQL migration(s). Your project may not "
                    "work properly until you apply them."
                )
            )
            self.stdout.write(
                self.style.NOTICE("Run 'python manage.py sqlmigrate_apply' to apply them.")
            )
