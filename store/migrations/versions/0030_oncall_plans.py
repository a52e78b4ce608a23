"""Temporary schedules (`/oncall plan`): a rotation of its own over a window, instead of a schedule's layers.

Revision ID: 0030_oncall_plans
Revises: 0029_oncall_history
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030_oncall_plans"
down_revision = "0029_oncall_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("start_at", sa.BigInteger(), nullable=False),
        sa.Column("end_at", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("shift", sa.String(16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("removed_at", sa.BigInteger(), nullable=True),
        sa.Column("removed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["queue_id"], ["escalation_queues.id"], name=op.f("fk_oncall_plans_queue_id_escalation_queues")),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_oncall_plans_created_by_members")),
        sa.ForeignKeyConstraint(["removed_by"], ["members.id"], name=op.f("fk_oncall_plans_removed_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_plans")),
    )
    op.create_index("ix_oncall_plans_window", "oncall_plans", ["queue_id", "schedule", "end_at"])


def downgrade() -> None:
    op.drop_index("ix_oncall_plans_window", table_name="oncall_plans")
    op.drop_table("oncall_plans")
