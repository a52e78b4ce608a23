"""When a member was deactivated, so their history can say "inactive since DATE".

Revision ID: 0006_member_deactivated_at
Revises: 0005_conversation_refs
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_member_deactivated_at"
down_revision = "0005_conversation_refs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Members deactivated before this column existed keep NULL: csbot says
    # "inactive" without a date rather than inventing one.
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("deactivated_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("deactivated_at")
