from django.apps import AppConfig


class SqlMigrateConfig(AppConfig):
    name = "django_sqlmigrate"
    label = "django_sqlmigrate"
    verbose_name = "SQL migrations"
    default_auto_field = "django.db.models.BigAutoField"
