"""Business-hours calendars: the org's `calendars` as written, the org's default calendar and each team's.

Revision ID: 0020_calendars
Revises: 0019_outbox_claimed_by
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_calendars"
down_revision = "0019_outbox_claimed_by"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("org") as batch:
        batch.add_column(sa.Column("calendars", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("calendar", sa.String(64), nullable=True))
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("calendar", sa.String(64), nullable=True))


def downgrade() -> None:
    # In place (SQLite 3.35+): batch mode would recreate `teams`, which other tables reference.
    op.drop_column("teams", "calendar")
    op.drop_column("org", "calendar")
    op.drop_column("org", "calendars")
