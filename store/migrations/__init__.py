"""Alembic migration environment and revisions (script_location = store:migrations)."""
