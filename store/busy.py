"""Telling "the database cannot take this right now" apart from a bug.

A write that waits longer than CSBOT_DB_TIMEOUT_S for a lock (SQLite's
"database is locked", PostgreSQL's lock_timeout), a pool with no free
connection, or a server that does not answer are all transient: the caller
should answer "busy, try again" (chat) or 503 with Retry-After (webhooks),
so the sender retries and nothing is lost. Everything else is a bug and is
reported as one.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

# What a client is told to wait before retrying (seconds).
RETRY_AFTER_S = 5
BUSY_MESSAGE = "The database is busy right now, so nothing was changed. Please try again in a moment."


def is_busy(error: BaseException) -> bool:
    """True when `error` means the database is busy or unreachable, not that the request is wrong."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection in time
        return True
    if isinstance(error, sa_exc.OperationalError):
        # SQLite: locked / busy; PostgreSQL: lock_timeout (55P03), statement
        # timeout (57014), a server that went away. All are OperationalError
        # in both drivers; schema errors ("no such table") are too, and a
        # retry is also the right answer to those while a migration runs.
        return True
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated
