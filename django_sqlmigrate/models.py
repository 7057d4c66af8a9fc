"""The history table.

The model is unmanaged and the app ships no Django migration for it: like ``django_migrations``,
the table is created on demand by the recorder. That keeps it out of ``flush`` (and so out of
``TransactionTestCase`` teardown) and lets ``sqlmigrate_apply`` run on a brand-new database.
"""

from __future__ import annotations

from django.db import models

from .conf import app_settings
from .loader import MAX_VERSION_LENGTH


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
        db_table = app_settings.TABLE
        verbose_name = "SQL migration"
        verbose_name_plural = "SQL migrations"

    def __str__(self) -> str:
        return self.version
