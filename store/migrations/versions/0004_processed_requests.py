"""Processed requests: one effect per Slack retry, double click or replayed activity.

Revision ID: 0004_processed_requests
Revises: 0003_ticket_events
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_processed_requests"
down_revision = "0003_ticket_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processed_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("processed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_requests")),
        sa.UniqueConstraint("key", name=op.f("uq_processed_requests_key")),
    )
    op.create_index(op.f("ix_processed_requests_processed_at"), "processed_requests", ["processed_at"])


def downgrade() -> None:
    op.drop_table("processed_requests")
