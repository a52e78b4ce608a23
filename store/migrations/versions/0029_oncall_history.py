"""Recorded on-call history (who was on call, and over which spans it was recorded); queues' announcements.

Revision ID: 0029_oncall_history
Revises: 0028_oncall_swaps
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029_oncall_history"
down_revision = "0028_oncall_swaps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.BigInteger(), nullable=False),
        sa.Column("end_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["escalation_queues.id"], name=op.f("fk_oncall_history_queue_id_escalation_queues")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_oncall_history_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_history")),
        sa.UniqueConstraint("queue_id", "schedule", "member_id", "start_at", name="uq_oncall_history_stretch"),
    )
    op.create_index("ix_oncall_history_window", "oncall_history", ["queue_id", "schedule", "end_at"])
    op.create_table(
        "oncall_history_spans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("start_at", sa.BigInteger(), nullable=False),
        sa.Column("end_at", sa.BigInteger(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["escalation_queues.id"], name=op.f("fk_oncall_history_spans_queue_id_escalation_queues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_history_spans")),
        sa.UniqueConstraint("queue_id", "schedule", "start_at", name="uq_oncall_history_spans_start"),
    )
    with op.batch_alter_table("escalation_queues") as batch:
        batch.add_column(sa.Column("announce", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalation_queues") as batch:
        batch.drop_column("announce")
    op.drop_table("oncall_history_spans")
    op.drop_index("ix_oncall_history_window", table_name="oncall_history")
    op.drop_table("oncall_history")
