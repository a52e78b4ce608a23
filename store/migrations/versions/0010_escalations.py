"""Escalation queues, escalations and their timelines, on-call overrides; the org's escalation routing.

Revision ID: 0010_escalations
Revises: 0009_kpi_alerts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_escalations"
down_revision = "0009_kpi_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("org") as batch:
        batch.add_column(sa.Column("escalation", sa.JSON(), nullable=True))
    op.create_table(
        "escalation_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slack_channel", sa.String(64), nullable=True),
        sa.Column("teams_channel", sa.String(256), nullable=True),
        sa.Column("schedules", sa.JSON(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_queues")),
        sa.UniqueConstraint("key", name=op.f("uq_escalation_queues_key")),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("ticket_url", sa.String(1000), nullable=True),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("loop", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("rotation", sa.Integer(), nullable=False),
        sa.Column("paged", sa.JSON(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("next_action_at", sa.BigInteger(), nullable=True),
        sa.Column("repage", sa.Boolean(), nullable=False),
        sa.Column("snoozes", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", sa.BigInteger(), nullable=True),
        sa.Column("acknowledged_level", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("source_url", sa.String(1000), nullable=True),
        sa.Column("open_key", sa.String(300), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["escalation_queues.id"], name=op.f("fk_escalations_queue_id_escalation_queues")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_escalations_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["requester_id"], ["members.id"], name=op.f("fk_escalations_requester_id_members")),
        sa.ForeignKeyConstraint(["owner_id"], ["members.id"], name=op.f("fk_escalations_owner_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("open_key", name=op.f("uq_escalations_open_key")),
    )
    op.create_index("ix_escalations_due", "escalations", ["state", "next_action_at"])
    op.create_index(op.f("ix_escalations_queue_id"), "escalations", ["queue_id"])
    op.create_table(
        "escalation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalations.id"], name=op.f("fk_escalation_events_escalation_id_escalations")),
        sa.ForeignKeyConstraint(["by_id"], ["members.id"], name=op.f("fk_escalation_events_by_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_events")),
    )
    op.create_index(op.f("ix_escalation_events_escalation_id"), "escalation_events", ["escalation_id"])
    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.BigInteger(), nullable=False),
        sa.Column("end_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("removed_at", sa.BigInteger(), nullable=True),
        sa.Column("removed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["queue_id"], ["escalation_queues.id"], name=op.f("fk_oncall_overrides_queue_id_escalation_queues")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_oncall_overrides_member_id_members")),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_oncall_overrides_created_by_members")),
        sa.ForeignKeyConstraint(["removed_by"], ["members.id"], name=op.f("fk_oncall_overrides_removed_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_overrides")),
    )
    op.create_index("ix_oncall_overrides_window", "oncall_overrides", ["queue_id", "schedule", "end_at"])


def downgrade() -> None:
    op.drop_table("oncall_overrides")
    op.drop_table("escalation_events")
    op.drop_table("escalations")
    op.drop_table("escalation_queues")
    # In place (SQLite 3.35+): batch mode would recreate `org`.
    op.drop_column("org", "escalation")
