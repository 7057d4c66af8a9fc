"""The history tables.

``SchemaMigration`` holds one row per version: what is applied (or failed) now. Its events
table (``<table>_events``, ``SchemaMigrationEvent``) keeps what happened to each version, in
order: applied, faked, baselined, failed, repaired, renamed, rolled back... so that a rollback
or a repair leaves a record, not just a changed row.

The models are unmanaged and the app ships no Django migration for them: like
``django_migrations``, the tables are created on demand by the recorder (which also adds what a
table made by an earlier version lacks). That keeps them out of ``flush`` (and so out of
``TransactionTestCase`` teardown) and lets ``sqlmigrate_apply`` run on a brand-new database.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from .conf import DEFAULT_TABLE, app_settings
from .loader import MAX_VERSION_LENGTH

EVENTS_SUFFIX = "_events"


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
    # How the row came to be: applied (its SQL ran), faked, baselined, or repaired (a failed
    # run completed by hand). Added in 0.2: the recorder adds it to an older table. The
    # database's own default lets a row written without it (by 0.1, during a rolling deploy)
    # count as applied.
    kind = models.CharField(max_length=16, default="applied", db_default="applied")

    class Meta:
        managed = False
        db_table = configured_table()
        verbose_name = "SQL migration"
        verbose_name_plural = "SQL migrations"

    def __str__(self) -> str:
        return self.version


class SchemaMigrationEvent(models.Model):
    """One thing that happened to a version, never changed afterwards."""

    version = models.CharField(max_length=MAX_VERSION_LENGTH, db_index=True)
    event = models.CharField(max_length=32, db_index=True)  # status reads the rare ones
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=255, blank=True, default="")
    checksum = models.CharField(max_length=80, blank=True, default="")
    execution_time_ms = models.BigIntegerField(null=True)
    detail = models.TextField(blank=True, default="")

    class Meta:
        managed = False
        db_table = configured_table() + EVENTS_SUFFIX
        verbose_name = "SQL migration event"
        verbose_name_plural = "SQL migration events"

    def __str__(self) -> str:
        return f"{self.version}: {self.event}"


def follow_table_setting(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: the model reads the table that ``SQLMIGRATE_TABLE`` names
    now (``override_settings`` in tests), like every other setting, which is read when used."""
    if setting == "SQLMIGRATE_TABLE":
        table = configured_table()
        for model, db_table in (
            (SchemaMigration, table),
            (SchemaMigrationEvent, table + EVENTS_SUFFIX),
        ):
            model._meta.db_table = db_table
            for model_field in model._meta.concrete_fields:
                # Each field caches its column expression, which names the table.
                model_field.__dict__.pop("cached_col", None)
