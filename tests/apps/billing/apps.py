from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "tests.apps.billing"
    label = "billing"
    default_auto_field = "django.db.models.BigAutoField"
