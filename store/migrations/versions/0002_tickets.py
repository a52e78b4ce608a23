"""Tickets: the helpdesk history KPIs are computed from.

Revision ID: 0002_tickets
Revises: 0001_org
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_tickets"
down_revision = "0001_org"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(500), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("first_reply_at", sa.BigInteger(), nullable=True),
        sa.Column("solved_at", sa.BigInteger(), nullable=True),
        sa.Column("replies", sa.Integer(), nullable=True),
        sa.Column("reopens", sa.Integer(), nullable=True),
        sa.Column("csat", sa.String(8), nullable=True),
        sa.Column("sla_met", sa.Boolean(), nullable=True),
        sa.CheckConstraint(
            "status IN ('new', 'open', 'pending', 'on_hold', 'solved', 'closed')", name=op.f("ck_tickets_status")
        ),
        sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_tickets_priority")),
        sa.CheckConstraint("csat IN ('good', 'bad')", name=op.f("ck_tickets_csat")),
        sa.CheckConstraint(
            "solved_at IS NULL OR solved_at >= created_at", name=op.f("ck_tickets_solved_after_created")
        ),
        sa.CheckConstraint(
            "first_reply_at IS NULL OR first_reply_at >= created_at", name=op.f("ck_tickets_reply_after_created")
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["members.id"], name=op.f("fk_tickets_agent_id_members")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_tickets_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("source", "external_id", name="uq_tickets_source_external_id"),
    )
    op.create_index("ix_tickets_team_created", "tickets", ["team_id", "created_at"])
    op.create_index("ix_tickets_team_solved", "tickets", ["team_id", "solved_at"])
    op.create_index("ix_tickets_agent_created", "tickets", ["agent_id", "created_at"])
    op.create_index("ix_tickets_agent_solved", "tickets", ["agent_id", "solved_at"])
    op.create_index("ix_tickets_created", "tickets", ["created_at"])
    op.create_index("ix_tickets_solved", "tickets", ["solved_at"])


def downgrade() -> None:
    op.drop_table("tickets")
