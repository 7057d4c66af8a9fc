"""Apply numbered raw SQL migration files alongside Django's migrations.

``apply``, ``plan``, ``status`` and ``validate`` (see ``django_sqlmigrate.api``) are imported on
first use, so importing this package does not import Django's models before the app registry is
ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import ApplyResult, Notice, Plan, Status, apply, plan, status, validate

__all__ = ["ApplyResult", "Notice", "Plan", "Status", "apply", "plan", "status", "validate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
