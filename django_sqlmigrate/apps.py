from django.apps import AppConfig
from django.core.signals import setting_changed
from django.db.models.signals import post_migrate


class SqlMigrateConfig(AppConfig):
    name = "django_sqlmigrate"
    label = "django_sqlmigrate"
    verbose_name = "SQL migrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .migrate_hook import apply_after_migrate
        from .models import follow_table_setting

        # sender=self: post_migrate is sent once per app; act once per migrate.
        post_migrate.connect(apply_after_migrate, sender=self, dispatch_uid=__name__)
        setting_changed.connect(follow_table_setting, dispatch_uid=f"{__name__}.table")
