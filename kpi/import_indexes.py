"""The tickets table's window indexes, set aside while a large import loads and built again after.

Keeping six secondary indexes current row by row is most of what a
million-row import costs the database (measured on SQLite: 52 s of index
upkeep against 8 s for the rows and their unique key; see the README's
import figures); building each once from the loaded rows takes about a
second. So an import much larger than the table drops them first and
creates them again when it ends, whether it succeeds or fails.

What stays during the load: the primary and unique keys (the upsert needs
them), every CHECK, the day-facts triggers and the partial due-time indexes
(breach warnings read them every few minutes). A reader meanwhile gets the
same answers, only slower. A process killed mid-load leaves them missing:
the next import, `csbot db upgrade` and `csbot serve` create them again
(`restore`), so a crash costs speed for a while, never a wrong answer.
"""

from __future__ import annotations

from sqlalchemy import Connection, Index, inspect

from kpi.tickets import Ticket
from store.database import Database

# The indexes only the KPI windows read; see kpi.tickets.Ticket.
DEFERRED = (
    "ix_tickets_team_created",
    "ix_tickets_team_solved",
    "ix_tickets_agent_created",
    "ix_tickets_agent_solved",
    "ix_tickets_created",
    "ix_tickets_solved",
)
# Set aside only for a load at least this large (smaller ones cost little either way).
MIN_ROWS = 50_000


def _indexes() -> list[Index]:
    by_name = {index.name: index for index in Ticket.__table__.indexes}
    return [by_name[name] for name in DEFERRED]


def missing(conn: Connection) -> list[str]:
    """The deferred indexes the database lacks now, by name."""
    present = {index["name"] for index in inspect(conn).get_indexes("tickets")}
    return [name for name in DEFERRED if name not in present]


def worth_deferring(db: Database, rows_coming: int) -> bool:
    """True when a load of about `rows_coming` rows would cost more in index upkeep than a rebuild:
    at least MIN_ROWS rows, and at least as many as the table holds."""
    if rows_coming < MIN_ROWS:
        return False
    with db.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT count(*) FROM tickets").scalar() or 0
    return rows_coming >= stored


def defer(db: Database) -> bool:
    """Drop the deferred indexes; False (nothing dropped) when another session holds the table.

    Each drop commits on its own. On PostgreSQL a drop waits for readers of
    the table, at most the connection's lock timeout; the import then goes
    on with the indexes in place.
    """
    try:
        with db.engine.begin() as conn:
            for index in _indexes():
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
    except Exception:
        return False
    return True


def restore(db: Database) -> list[str]:
    """Create the deferred indexes the database lacks; their names."""
    with db.engine.begin() as conn:
        wanted = missing(conn)
        for index in _indexes():
            if index.name in wanted:
                index.create(conn, checkfirst=True)
    return wanted
