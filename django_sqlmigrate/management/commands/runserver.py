"""``runserver`` that also says when SQL migrations are pending, as it does for Django's.

The class extends whichever ``runserver`` would run without this app (the one of the next
installed app that has one, such as ``django.contrib.staticfiles``, else Django's), so serving
static files and other apps' additions keep working. It only takes effect when
``django_sqlmigrate`` is listed above those apps in INSTALLED_APPS: Django uses the command of
the first app that has one. Other commands pay nothing: this module loads only for runserver.
"""

from __future__ import annotations

from pathlib import Path

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import find_commands, load_command_class
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from ...routing import APP_LABEL, allowed, executor_for


def _next_runserver() -> type[BaseCommand]:
    """The runserver command Django would pick if this app had none."""
    configs = list(apps.get_app_configs())
    ours = next(i for i, config in enumerate(configs) if config.label == APP_LABEL)
    for config in configs[ours + 1 :]:
        if "runserver" in find_commands(str(Path(config.path) / "management")):
            return type(load_command_class(config.name, "runserver"))
    return type(load_command_class("django.core", "runserver"))


class Command(_next_runserver()):  # type: ignore[misc]
    def check_migrations(self) -> None:
        super().check_migrations()
        if not allowed(DEFAULT_DB_ALIAS):
            return
        try:
            pending = executor_for(DEFAULT_DB_ALIAS).status().pending
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
