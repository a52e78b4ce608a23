"""Shift swaps (a request from one specialist to another, and the covers an accepted one made); covers that add or remove someone.

Revision ID: 0028_oncall_swaps
Revises: 0027_email_ack
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028_oncall_swaps"
down_revision = "0027_email_ack"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_swaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.BigInteger(), nullable=False),
        sa.Column("end_at", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["queue_id"], ["escalation_queues.id"], name=op.f("fk_oncall_swaps_queue_id_escalation_queues")),
        sa.ForeignKeyConstraint(["requester_id"], ["members.id"], name=op.f("fk_oncall_swaps_requester_id_members")),
        sa.ForeignKeyConstraint(["other_id"], ["members.id"], name=op.f("fk_oncall_swaps_other_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_swaps")),
    )
    op.create_index("ix_oncall_swaps_other_state", "oncall_swaps", ["other_id", "state"])
    with op.batch_alter_table("oncall_overrides") as batch:
        batch.add_column(sa.Column("swap_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_oncall_overrides_swap_id_oncall_swaps"), "oncall_swaps", ["swap_id"], ["id"])
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="replace"))


def downgrade() -> None:
    with op.batch_alter_table("oncall_overrides") as batch:
        batch.drop_constraint(op.f("fk_oncall_overrides_swap_id_oncall_swaps"), type_="foreignkey")
        batch.drop_column("kind")
        batch.drop_column("swap_id")
    op.drop_index("ix_oncall_swaps_other_state", table_name="oncall_swaps")
    op.drop_table("oncall_swaps")
