"""A reusable app for the tests: Django migrations, its own SQL folder, and the operation."""
