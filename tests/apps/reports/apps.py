from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "tests.apps.reports"
    label = "reports"
