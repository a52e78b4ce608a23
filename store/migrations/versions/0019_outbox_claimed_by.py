"""Who holds an outbox row's lease (host, process id, process start), so a restarted process takes back its own rows at once.

Revision ID: 0019_outbox_claimed_by
Revises: 0018_ticket_histories
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_outbox_claimed_by"
down_revision = "0018_ticket_histories"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
