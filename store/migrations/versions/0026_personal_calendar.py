"""Personal on-call calendars: a generation counter per member (the link's token is derived from it).

Revision ID: 0026_personal_calendar
Revises: 0025_events_api
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_personal_calendar"
down_revision = "0025_events_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_personal_calendars",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("rotated_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_oncall_personal_calendars_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_oncall_personal_calendars")),
    )


def downgrade() -> None:
    op.drop_table("oncall_personal_calendars")
