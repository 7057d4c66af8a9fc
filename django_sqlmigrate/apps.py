from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SqlMigrateConfig(AppConfig):
    name = "django_sqlmigrate"
    label = "django_sqlmigrate"
    verbose_name = "SQL migrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .migrate_hook import apply_after_migrate

        # sender=self: post_migrate is sent once per app; act once per migrate.
        post_migrate.connect(apply_after_migrate, sender=self, dispatch_uid=__name__)
