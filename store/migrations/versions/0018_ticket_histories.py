"""Ticket histories: when each field was last set by a webhook event, and which events came too late.

Revision ID: 0018_ticket_histories
Revises: 0017_team_renames
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_ticket_histories"
down_revision = "0017_team_renames"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_field_times",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("value", sa.String(40), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_field_times_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("ticket_id", "field", name=op.f("pk_ticket_field_times")),
    )
    with op.batch_alter_table("ticket_events") as batch:
        batch.add_column(sa.Column("stale", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_column("stale")
    op.drop_table("ticket_field_times")
