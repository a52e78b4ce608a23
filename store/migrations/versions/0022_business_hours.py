"""Business-hours durations in the KPI day facts, and the calendar each team's days were counted on.

Revision ID: 0022_business_hours
Revises: 0021_tags_sla
Create Date: 2026-12-07

Every day counted so far lacks its business-hours durations: the counted rows
are emptied and their days marked dirty, so the engine reads them from the
tickets until the next refresh (`csbot db upgrade` and `csbot serve` run one
straight after migrating) counts them again with both clocks.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_business_hours"
down_revision = "0021_tags_sla"
branch_labels = None
depends_on = None


def _recreate() -> str:
    # SQLite cannot add a NOT NULL column without a default in place, even to
    # an empty table: it copies the (empty) table; PostgreSQL alters in place.
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    op.execute("INSERT INTO kpi_dirty_days (team_key, day) SELECT team_key, day FROM kpi_day_facts")
    op.execute("DELETE FROM kpi_day_facts")
    with op.batch_alter_table("kpi_day_facts", recreate=_recreate()) as batch:
        batch.add_column(sa.Column("first_reply_bh_sum", sa.BigInteger(), nullable=False))
        batch.add_column(sa.Column("first_reply_bh_s", sa.LargeBinary(), nullable=False))
        batch.add_column(sa.Column("resolution_bh_sum", sa.BigInteger(), nullable=False))
        batch.add_column(sa.Column("resolution_bh_s", sa.LargeBinary(), nullable=False))
    op.create_table(
        "kpi_day_calendars",
        sa.Column("team_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("team_key", name=op.f("pk_kpi_day_calendars")),
    )


def downgrade() -> None:
    op.drop_table("kpi_day_calendars")
    # The wall-clock figures stay right without the business-hours ones: nothing to recount.
    with op.batch_alter_table("kpi_day_facts", recreate=_recreate()) as batch:
        for name in ("resolution_bh_s", "resolution_bh_sum", "first_reply_bh_s", "first_reply_bh_sum"):
            batch.drop_column(name)
