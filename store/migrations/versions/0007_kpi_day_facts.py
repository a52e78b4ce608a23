"""Day facts for fast long KPI windows, and triggers that mark the days a ticket change touches.

Revision ID: 0007_kpi_day_facts
Revises: 0006_member_deactivated_at
Create Date: 2026-11-30

The triggers are what keeps kpi_day_facts honest whoever writes tickets (the
importer, the webhook, the demo, a DBA with psql): every insert, every update
of a field a KPI reads and every delete records the (team, UTC day) of the
ticket's creation and solve, before and after. The engine reads those days
from the tickets until kpi.day_facts.refresh() recounts them.

A later migration that rebuilds `tickets` on SQLite (batch_alter_table) drops
its triggers: it must create them again (see _SQLITE_TRIGGERS).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_kpi_day_facts"
down_revision = "0006_member_deactivated_at"
branch_labels = None
depends_on = None

_KPI_FIELDS = ("team_id", "created_at", "first_reply_at", "solved_at", "replies", "reopens", "csat", "sla_met")


def _mark_sqlite(*rows: str) -> str:
    # One plain insert per ticket written: a unique key or a "not yet marked"
    # check would cost the importer a lookup per row (measured: a third more
    # import time). An unsolved ticket marks its creation day twice; refresh
    # reads the distinct days.
    values = ", ".join(
        f"(coalesce({row}.team_id, 0), {row}.created_at / 86400), "
        f"(coalesce({row}.team_id, 0), coalesce({row}.solved_at, {row}.created_at) / 86400)"
        for row in rows
    )
    return f"\n  INSERT INTO kpi_dirty_days (team_key, day) VALUES {values};"


_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _KPI_FIELDS)

_SQLITE_TRIGGERS = {
    "tickets_kpi_days_insert": f"AFTER INSERT ON tickets BEGIN{_mark_sqlite('NEW')}\nEND",
    "tickets_kpi_days_update": f"AFTER UPDATE ON tickets WHEN {_CHANGED} BEGIN{_mark_sqlite('OLD', 'NEW')}\nEND",
    "tickets_kpi_days_delete": f"AFTER DELETE ON tickets BEGIN{_mark_sqlite('OLD')}\nEND",
}


def _days_pg(table: str) -> str:
    return (
        f"SELECT coalesce(team_id, 0) AS team_key, created_at / 86400 AS day FROM {table} "
        f"UNION SELECT coalesce(team_id, 0), solved_at / 86400 FROM {table} WHERE solved_at IS NOT NULL"
    )


_PG_CHANGED = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in _KPI_FIELDS)

# Statement-level triggers with transition tables: one insert of the distinct
# days per statement (an import batch of a thousand rows marks a few dozen),
# appended without a unique key so concurrent writers never lock each other.
_PG_FUNCTIONS = {
    "kpi_days_inserted": f"INSERT INTO kpi_dirty_days (team_key, day) SELECT team_key, day FROM ({_days_pg('new_rows')}) d",
    "kpi_days_deleted": f"INSERT INTO kpi_dirty_days (team_key, day) SELECT team_key, day FROM ({_days_pg('old_rows')}) d",
    "kpi_days_updated": (
        "INSERT INTO kpi_dirty_days (team_key, day) SELECT team_key, day FROM ("
        f"WITH changed AS (SELECT o.team_id AS ot, o.created_at AS oc, o.solved_at AS os, "
        f"n.team_id AS nt, n.created_at AS nc, n.solved_at AS ns "
        f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_PG_CHANGED}) "
        "SELECT coalesce(ot, 0) AS team_key, oc / 86400 AS day FROM changed "
        "UNION SELECT coalesce(ot, 0), os / 86400 FROM changed WHERE os IS NOT NULL "
        "UNION SELECT coalesce(nt, 0), nc / 86400 FROM changed "
        "UNION SELECT coalesce(nt, 0), ns / 86400 FROM changed WHERE ns IS NOT NULL) d"
    ),
}
_PG_TRIGGERS = {
    "tickets_kpi_days_insert": ("INSERT", "NEW TABLE AS new_rows", "kpi_days_inserted"),
    "tickets_kpi_days_update": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "kpi_days_updated"),
    "tickets_kpi_days_delete": ("DELETE", "OLD TABLE AS old_rows", "kpi_days_deleted"),
}


def upgrade() -> None:
    op.create_table(
        "kpi_day_facts",
        sa.Column("team_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        *(
            sa.Column(name, sa.BigInteger() if name.endswith("_sum") else sa.Integer(), nullable=False)
            for name in ("created", "first_replies", "first_reply_sum")
        ),
        sa.Column("first_reply_s", sa.LargeBinary(), nullable=False),
        sa.Column("solved", sa.Integer(), nullable=False),
        sa.Column("resolution_sum", sa.BigInteger(), nullable=False),
        sa.Column("resolution_s", sa.LargeBinary(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in ("replies_known", "one_touch", "reopens_known", "reopened", "csat_known", "csat_good", "sla_known", "sla_met")
        ),
        sa.PrimaryKeyConstraint("team_key", "day", name=op.f("pk_kpi_day_facts")),
    )
    op.create_table(
        "kpi_dirty_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_key", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_dirty_days")),
    )
    # Tickets already stored: every day they touch is dirty until the first refresh.
    op.execute(
        "INSERT INTO kpi_dirty_days (team_key, day) "
        "SELECT DISTINCT coalesce(team_id, 0), created_at / 86400 FROM tickets "
        "UNION SELECT DISTINCT coalesce(team_id, 0), solved_at / 86400 FROM tickets WHERE solved_at IS NOT NULL"
    )
    if op.get_bind().dialect.name == "postgresql":
        for name, body in _PG_FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; RETURN NULL; END $$")
        for name, (event, referencing, function) in _PG_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON tickets REFERENCING {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    else:
        for name, body in _SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    for name in _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON tickets" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        for name in _PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("kpi_dirty_days")
    op.drop_table("kpi_day_facts")
