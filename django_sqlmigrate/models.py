"""The history table.

The model is unmanaged and the app ships no Django migration for it: like ``django_migrations``,
the table is created on demand by the recorder. That keeps it out of ``flush`` (and so out of
``TransactionTestCase`` teardown) and lets ``sqlmigrate_apply`` run on a brand-new database.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from .conf import DEFAULT_TABLE, app_settings
from .loader import MAX_VERSION_LENGTH


def configured_table() -> str:
    """``SQLMIGRATE_TABLE``, or the default while it is invalid (check E013 reports it)."""
    try:
        return app_settings.TABLE
    except ImproperlyConfigured:
        return DEFAULT_TABLE


class SchemaMigration(models.Model):
    version = models.CharField(max_length=MAX_VERSION_LENGTH, unique=True)
    name = models.CharField(max_length=255)
    applied_at = models.DateTimeField()
    execution_time_ms = models.BigIntegerField(null=True)
    checksum = models.CharField(max_length=80)
    success = models.BooleanField(default=True)
    # For a run that can't be rolled back (MySQL DDL, no-transaction files): how far it got.
    statements_applied = models.IntegerField(null=True)
    statements_total = models.IntegerField(null=True)
    applied_by = models.CharField(max_length=255, blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        managed = False
        db_table = configured_table()
        verbose_name = "SQL migration"
        verbose_name_plural = "SQL migrations"

    def __str__(self) -> str:
        return self.version


def follow_table_setting(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: the model reads the table that ``SQLMIGRATE_TABLE`` names
    now (``override_settings`` in tests), like every other setting, which is read when used."""
    if setting == "SQLMIGRATE_TABLE":
        SchemaMigration._meta.db_table = configured_table()
        for model_field in SchemaMigration._meta.concrete_fields:
            # Each field caches its column expression, which names the table.
            model_field.__dict__.pop("cached_col", None)
