"""Coaching sessions (structured one-on-ones) and their action items.

Revision ID: 0015_coaching_sessions
Revises: 0014_qa_review_team
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_coaching_sessions"
down_revision = "0014_qa_review_team"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coaching_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("strengths", sa.Text(), nullable=False),
        sa.Column("opportunities", sa.Text(), nullable=False),
        sa.Column("follow_up", sa.Date(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["members.id"], name=op.f("fk_coaching_sessions_author_id_members")),
        sa.ForeignKeyConstraint(["agent_id"], ["members.id"], name=op.f("fk_coaching_sessions_agent_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_sessions")),
    )
    op.create_index("ix_coaching_sessions_agent", "coaching_sessions", ["agent_id", "created_at"])
    op.create_index("ix_coaching_sessions_follow_up", "coaching_sessions", ["follow_up"])
    op.create_table(
        "coaching_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("done_at", sa.BigInteger(), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["coaching_sessions.id"], name=op.f("fk_coaching_actions_session_id_coaching_sessions")),
        sa.ForeignKeyConstraint(["agent_id"], ["members.id"], name=op.f("fk_coaching_actions_agent_id_members")),
        sa.ForeignKeyConstraint(["done_by"], ["members.id"], name=op.f("fk_coaching_actions_done_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_actions")),
    )
    op.create_index("ix_coaching_actions_agent", "coaching_actions", ["agent_id", "done_at"])


def downgrade() -> None:
    op.drop_table("coaching_actions")
    op.drop_table("coaching_sessions")
