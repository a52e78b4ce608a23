"""PostgreSQL advisory lock keys, one per purpose and schema.

Advisory locks are database-wide, so a bare number would make two
deployments that share a PostgreSQL database in separate schemas (or two
test runs) wait for each other. The key is a hash of the schema and the
purpose, computed by the server in the statement that takes the lock.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func


def lock_key(purpose: str) -> ColumnElement[int]:
    """The advisory lock key for `purpose` (e.g. "kpi-day-facts") in the session's current schema."""
    return func.hashtext(func.concat(func.current_schema(), ":", purpose))
