"""SLA breach warnings: what was warned about or announced as breached, once per ticket, target and kind; each team's last checked slot.

Revision ID: 0024_sla_warnings
Revises: 0023_linked_files
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_sla_warnings"
down_revision = "0023_linked_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_sla_warnings_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_sla_warnings_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_warnings")),
        sa.UniqueConstraint("ticket_id", "target", "kind", name="uq_sla_warnings_ticket_id"),
    )
    op.create_index("ix_sla_warnings_team_slot", "sla_warnings", ["team_id", "slot"])
    op.create_table(
        "sla_checks",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("checked_slot", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_sla_checks_team_id_teams")),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_sla_checks")),
    )


def downgrade() -> None:
    op.drop_table("sla_checks")
    op.drop_index("ix_sla_warnings_team_slot", table_name="sla_warnings")
    op.drop_table("sla_warnings")
