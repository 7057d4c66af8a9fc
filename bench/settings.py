"""The smallest settings a project using django-sqlmigrate has, shared by every timed process.

The benchmark driver (bench/tools.py, django_env) passes the database and folders in the environment:

    BENCH_DATABASE   JSON of DATABASES["default"]
    BENCH_SQL_DIR    the folder of .sql files (SQLMIGRATE_DIRS)
    BENCH_EXTRA_APP  optional: the generated app whose RunSQL migrations ``migrate`` applies
    BENCH_WITHOUT_SQLMIGRATE  set for ``migrate``: a project using RunSQL has no django_sqlmigrate
"""

from __future__ import annotations

import json
import os
from typing import Any

DATABASES: dict[str, dict[str, Any]] = {"default": json.loads(os.environ["BENCH_DATABASE"])}

INSTALLED_APPS = ["django_sqlmigrate", "bench.benchapp"]
if os.environ.get("BENCH_WITHOUT_SQLMIGRATE"):
    INSTALLED_APPS.remove("django_sqlmigrate")
if os.environ.get("BENCH_EXTRA_APP"):
    INSTALLED_APPS.append(os.environ["BENCH_EXTRA_APP"])

SQLMIGRATE_DIRS = [os.environ["BENCH_SQL_DIR"]]

SECRET_KEY = "django-sqlmigrate-bench-not-secret"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The bench times Django's migrate on its own; sqlmigrate must not apply the files after it.
SQLMIGRATE_APPLY_ON_MIGRATE = False
