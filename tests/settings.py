"""Settings for the test suite.

The database vendor comes from SQLMIGRATE_TEST_BACKEND (sqlite, postgresql or mysql) and the
server's address from the variables listed in tests/backends.py. Two aliases, ``default`` and
``other``, point at separate databases on the same vendor.

SQLite databases are real files in a temporary folder of one test run, never ``:memory:``,
because tests start real ``manage.py`` processes that must open the same files. This module
only names the folder and puts its path in SQLMIGRATE_TEST_SQLITE_DIR, so those processes (and
xdist workers) find it; tests/conftest.py makes it when pytest starts and removes it at the
end, so importing these settings elsewhere (mypy's Django plugin, say) leaves nothing behind.
Set SQLMIGRATE_TEST_SQLITE_DIR yourself to use a folder of your choosing.

A child process started by a test gets the test databases' names through
SQLMIGRATE_TEST_DATABASE_NAMES (JSON, alias -> NAME) and the test's SQLMIGRATE_* settings
through SQLMIGRATE_TEST_SETTINGS (JSON, name -> value); the ``subprocess_env`` fixture in
tests/conftest.py sets both.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from tests.backends import selected_backend, server

BACKEND = selected_backend()
ALIASES = ("default", "other")


def _sqlite_dir() -> Path:
    existing = os.environ.get("SQLMIGRATE_TEST_SQLITE_DIR")
    if existing:
        return Path(existing)
    unique = f"sqlmigrate-tests-{os.getpid()}-{secrets.token_hex(4)}"
    path = Path(tempfile.gettempdir()) / unique
    os.environ["SQLMIGRATE_TEST_SQLITE_DIR"] = str(path)
    return path


def _base_name() -> str:
    return os.environ.get("SQLMIGRATE_TEST_DB_NAME", "sqlmigrate")


def _database(alias: str) -> dict[str, Any]:
    if BACKEND == "sqlite":
        folder = _sqlite_dir()
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(folder / f"{alias}.sqlite3"),
            "TEST": {"NAME": str(folder / f"test_{alias}.sqlite3")},
        }
    where = server(BACKEND)
    database: dict[str, Any] = {
        "ENGINE": f"django.db.backends.{BACKEND}",
        # SQLMIGRATE_TEST_DB_NAME lets two test runs share one server without colliding.
        "NAME": _base_name() if alias == "default" else f"{_base_name()}_{alias}",
        "HOST": where.host,
        "PORT": str(where.port),
        "USER": where.user,
        "PASSWORD": where.password,
    }
    if BACKEND == "mysql":
        database["OPTIONS"] = {"charset": "utf8mb4"}
        database["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    return database


DATABASES = {alias: _database(alias) for alias in ALIASES}

SECRET_KEY = "django-sqlmigrate-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_sqlmigrate",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

STATIC_URL = "/static/"

# Fast hashing: tests log in through the admin.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests point this at a scenario folder with the ``sql_scenario`` fixture or ``settings``.
SQLMIGRATE_DIRS: list[str | Path] = []

# Child processes started by tests: see the ``subprocess_env`` fixture.
for _alias, _name in json.loads(os.environ.get("SQLMIGRATE_TEST_DATABASE_NAMES", "{}")).items():
    DATABASES[_alias]["NAME"] = _name
for _setting, _value in json.loads(os.environ.get("SQLMIGRATE_TEST_SETTINGS", "{}")).items():
    if _setting.startswith("SQLMIGRATE_"):
        globals()[_setting] = _value
