"""Commands that extend another app's command of the same name instead of replacing it."""

from __future__ import annotations

from pathlib import Path

from django.apps import apps
from django.core.management import find_commands, load_command_class
from django.core.management.base import BaseCommand

from ..routing import APP_LABEL


def next_command(name: str) -> type[BaseCommand]:
    """The class of the command ``name`` Django would run if this app had none: the one of
    the next installed app that has one (``django.contrib.staticfiles``' runserver), else
    Django's own."""
    configs = list(apps.get_app_configs())
    ours = next(i for i, config in enumerate(configs) if config.label == APP_LABEL)
    for config in configs[ours + 1 :]:
        if name in find_commands(str(Path(config.path) / "management")):
            return type(load_command_class(config.name, name))
    return type(load_command_class("django.core", name))
