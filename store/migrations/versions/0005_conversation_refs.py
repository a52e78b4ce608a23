"""Conversation references and chat users, for proactive Teams messages.

Revision ID: 0005_conversation_refs
Revises: 0004_processed_requests
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_conversation_refs"
down_revision = "0004_processed_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_refs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel_key", sa.String(256), nullable=True),
        sa.Column("user_key", sa.String(64), nullable=True),
        sa.Column("tenant_id", sa.String(64), nullable=True),
        sa.Column("service_url", sa.String(512), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_refs")),
        sa.UniqueConstraint("platform", "conversation_id", name="uq_conversation_refs_platform_conversation"),
    )
    op.create_index(op.f("ix_conversation_refs_channel_key"), "conversation_refs", ["channel_key"])
    op.create_index(op.f("ix_conversation_refs_user_key"), "conversation_refs", ["user_key"])
    op.create_table(
        "chat_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("user_key", sa.String(64), nullable=False),
        sa.Column("platform_user_id", sa.String(256), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=True),
        sa.Column("service_url", sa.String(512), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_users")),
        sa.UniqueConstraint("platform", "user_key", name="uq_chat_users_platform_user_key"),
    )


def downgrade() -> None:
    op.drop_table("chat_users")
    op.drop_table("conversation_refs")
