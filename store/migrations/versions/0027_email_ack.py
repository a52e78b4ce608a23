"""Acknowledge links in e-mailed pages: which were used (each works once).

Revision ID: 0027_email_ack
Revises: 0026_personal_calendar
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_email_ack"
down_revision = "0026_personal_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "used_email_links",
        sa.Column("link_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalations.id"], name=op.f("fk_used_email_links_escalation_id_escalations")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_used_email_links_member_id_members")),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_used_email_links")),
    )


def downgrade() -> None:
    op.drop_table("used_email_links")
