"""Events API: per-queue routing keys (hashed), the events received, escalations a system opened, and each queue's outbound webhook.

Revision ID: 0025_events_api
Revises: 0024_sla_warnings
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_events_api"
down_revision = "0024_sla_warnings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        # A system that opens an escalation through the Events API is not a member.
        batch.alter_column("requester_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("dedup_key", sa.String(255), nullable=True))
        batch.add_column(sa.Column("source", sa.String(255), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
    op.create_index("ix_escalations_dedup", "escalations", ["queue_id", "dedup_key"])
    with op.batch_alter_table("escalation_queues") as batch:
        batch.add_column(sa.Column("webhook_url", sa.String(1000), nullable=True))
    with op.batch_alter_table("escalation_events") as batch:
        batch.add_column(sa.Column("source", sa.String(300), nullable=True))
    op.create_table(
        "escalation_routing_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("hint", sa.String(8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["queue_id"], ["escalation_queues.id"], name=op.f("fk_escalation_routing_keys_queue_id_escalation_queues")),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_escalation_routing_keys_created_by_members")),
        sa.ForeignKeyConstraint(["revoked_by"], ["members.id"], name=op.f("fk_escalation_routing_keys_revoked_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_routing_keys")),
        sa.UniqueConstraint("digest", name=op.f("uq_escalation_routing_keys_digest")),
    )
    op.create_index(op.f("ix_escalation_routing_keys_queue_id"), "escalation_routing_keys", ["queue_id"])
    op.create_table(
        "escalation_inbound_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.String(1024), nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["escalation_routing_keys.id"], name=op.f("fk_escalation_inbound_events_key_id_escalation_routing_keys")),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalations.id"], name=op.f("fk_escalation_inbound_events_escalation_id_escalations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_inbound_events")),
    )
    op.create_index("ix_escalation_inbound_events_key_at", "escalation_inbound_events", ["key_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_escalation_inbound_events_key_at", table_name="escalation_inbound_events")
    op.drop_table("escalation_inbound_events")
    op.drop_index(op.f("ix_escalation_routing_keys_queue_id"), table_name="escalation_routing_keys")
    op.drop_table("escalation_routing_keys")
    with op.batch_alter_table("escalation_events") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("escalation_queues") as batch:
        batch.drop_column("webhook_url")
    op.drop_index("ix_escalations_dedup", table_name="escalations")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("details")
        batch.drop_column("source")
        batch.drop_column("dedup_key")
        batch.alter_column("requester_id", existing_type=sa.Integer(), nullable=False)
