"""Benchmarks of django-sqlmigrate against psql, mysql, sqlite3 and Django's ``migrate``.

Run ``python -m bench`` from the repository root; see docs/performance.md. Not shipped.
"""
