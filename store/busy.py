"""Telling "the database cannot take this right now" apart from a bug.

A write that waits longer than CSBOT_DB_TIMEOUT_S for a lock (SQLite's
"database is locked", PostgreSQL's lock_timeout), a deadlock or
serialisation failure the database resolved by cancelling us, a pool with no
free connection, or a server that does not answer are all transient: the
caller should answer "busy, try again" (chat) or 503 with Retry-After
(webhooks), so the sender retries and nothing is lost. Everything else,
including every SQL error a bug can cause ("no such column"), is a bug and
is reported as one, with its traceback.
"""

from __future__ import annotations

import logging

from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

# What a client is told to wait before retrying (seconds).
RETRY_AFTER_S = 5
BUSY_MESSAGE = "The database is busy right now, so nothing was changed. Please try again in a moment."

# sqlite3 result codes (the low byte of an extended code): SQLITE_BUSY, SQLITE_LOCKED.
_SQLITE_BUSY_CODES = frozenset({5, 6})
# PostgreSQL SQLSTATEs: lock_not_available, query_canceled (statement timeout),
# serialization_failure, deadlock_detected, too_many_connections,
# admin_shutdown, crash_shutdown, cannot_connect_now; and class 08, connection exceptions.
_PG_BUSY_STATES = frozenset({"55P03", "57014", "40001", "40P01", "53300", "57P01", "57P02", "57P03"})
# The ones a retry of the same transaction usually gets past at once.
_PG_RETRY_STATES = frozenset({"40001", "40P01"})


def is_busy(error: BaseException) -> bool:
    """True when `error` means the database is busy or unreachable, not that the request or the code is wrong."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection in time
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_BUSY_CODES
    if hasattr(orig, "sqlstate"):
        state = orig.sqlstate
        # No SQLSTATE on an OperationalError: the connection itself failed (refused, reset, timed out).
        if state is None:
            return isinstance(error, sa_exc.OperationalError)
        return state in _PG_BUSY_STATES or state.startswith("08")
    return False


def is_conflict(error: BaseException) -> bool:
    """A deadlock or serialisation failure: the database cancelled this transaction so another could go on."""
    orig = getattr(error, "orig", None)
    return isinstance(error, sa_exc.DBAPIError) and getattr(orig, "sqlstate", None) in _PG_RETRY_STATES


def describe(error: BaseException) -> str:
    """One line for the log about a busy database (the driver's own first line)."""
    orig = getattr(error, "orig", None) or error
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first[:200]}"
