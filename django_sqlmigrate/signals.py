"""Signals sent around each SQL migration file, for metrics, logging and cache busting.

Every signal is sent with ``sender=MigrationExecutor`` (the class) and these keyword arguments:
``migration`` (the ``SqlMigration``), ``version`` (its version string), ``using`` (the alias of
the database it runs on) and ``fake`` (``True`` for ``--fake``). ``post_apply`` adds
``duration`` (seconds, a float) and ``apply_failed`` adds ``error`` (the exception, usually a
``MigrationFailed``). They are sent with the migration lock held: keep receivers short.
"""

from django.dispatch import Signal

pre_apply = Signal()
post_apply = Signal()
apply_failed = Signal()
