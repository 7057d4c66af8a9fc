"""The documentation that must follow the code: the command reference, the error codes, the
supported-versions table."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from django_sqlmigrate.problems import CODES

from .conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
HEADING = re.compile(r"^### sqlmigrate\.([EW]\d{3}): (.+)$", re.MULTILINE)
VERSIONS = re.compile(r"<!-- supported-versions.*?<!-- /supported-versions -->", re.DOTALL)


def test_command_reference_is_up_to_date() -> None:
    """docs/reference/commands.md is what scripts/gen_command_docs.py makes from the parsers."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "gen_command_docs.py"), "--check"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_troubleshooting_has_every_code() -> None:
    """One section per code, titled as in problems.CODES, and no section for a code that is gone."""
    page = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    sections = dict(HEADING.findall(page))
    assert sections == CODES


def test_supported_versions_table_is_the_same_in_readme_and_docs() -> None:
    readme = VERSIONS.findall((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    docs = VERSIONS.findall((DOCS / "installation.md").read_text(encoding="utf-8"))
    assert len(readme) == 1
    assert readme == docs
