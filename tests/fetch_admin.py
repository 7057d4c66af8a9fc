"""Fetch admin pages in a process of their own, as a browser gets them, with DEBUG = True.

``python -m tests.fetch_admin USERNAME URL...`` with SQLMIGRATE_TEST_EXTRA_DATABASES (JSON, alias
-> settings) naming aliases to add, prints ``{url: {status, templates, content}}`` as JSON.
tests/test_admin.py runs it for an alias whose server is down: Django's test case refuses
connections to an alias it did not set up, so the test process itself cannot ask.
"""

from __future__ import annotations

import json
import os
import sys

import django


def main(username: str, urls: list[str]) -> None:
    django.setup()
    from django.contrib.auth.models import User
    from django.db import connections
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment(debug=True)  # DEBUG = True; records the templates rendered
    extra = json.loads(os.environ.get("SQLMIGRATE_TEST_EXTRA_DATABASES", "{}"))
    for alias, database in extra.items():
        connections.settings[alias] = database  # a copy of a configured alias's settings
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=username))
    pages = {}
    for url in urls:
        response = client.get(url)
        pages[url] = {
            "status": response.status_code,
            "templates": [template.name for template in response.templates],
            "content": response.content.decode(),
        }
    sys.stdout.write(json.dumps(pages))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
