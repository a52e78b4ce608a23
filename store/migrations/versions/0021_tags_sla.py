"""Ticket tags.

Revision ID: 0021_tags_sla
Revises: 0020_calendars
Create Date: 2026-12-07

Columns are added to `tickets` in place: batch mode would rebuild the table
and drop the day-facts triggers (migration 0007).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_tags_sla"
down_revision = "0020_calendars"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("tags", sa.String(980), nullable=True))


def downgrade() -> None:
    # In place (SQLite 3.35+), for the same reason.
    op.drop_column("tickets", "tags")
