"""The outbox of proactive messages, personal scorecard subscriptions, weekly and org digests.

Revision ID: 0008_outbox
Revises: 0007_kpi_day_facts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_outbox"
down_revision = "0007_kpi_day_facts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(160), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("occurrence", sa.String(32), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("claim", sa.String(32), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.Column("message_ids", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("kind", "subject", "recipient", "occurrence", name="uq_outbox_occurrence"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("time", sa.String(5), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_subscriptions_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("member_id", "subject", name="uq_subscriptions_member_subject"),
    )
    op.create_index(op.f("ix_subscriptions_member_id"), "subscriptions", ["member_id"])
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("digest_weekly", sa.String(3), nullable=True))
    with op.batch_alter_table("org") as batch:
        batch.add_column(sa.Column("digest_time", sa.String(5), nullable=True))
        batch.add_column(sa.Column("digest_days", sa.String(64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35 and newer): batch mode would
    # recreate `teams`, which members and tickets reference, and foreign keys are on.
    op.drop_column("org", "digest_days")
    op.drop_column("org", "digest_time")
    op.drop_column("teams", "digest_weekly")
    op.drop_table("subscriptions")
    op.drop_table("outbox")
