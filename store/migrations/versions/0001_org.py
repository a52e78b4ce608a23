"""Organisation: org, teams, members.

Revision ID: 0001_org
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_org"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_org_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("slack_channel", sa.String(64), nullable=True),
        sa.Column("teams_channel", sa.String(256), nullable=True),
        sa.Column("digest_time", sa.String(5), nullable=True),
        sa.Column("digest_days", sa.String(64), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("key", name=op.f("uq_teams_key")),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("slack_id", sa.String(32), nullable=True),
        sa.Column("teams_id", sa.String(64), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("role IN ('agent', 'lead', 'manager', 'admin')", name=op.f("ck_members_role")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_members_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("handle", name=op.f("uq_members_handle")),
        sa.UniqueConstraint("slack_id", name=op.f("uq_members_slack_id")),
        sa.UniqueConstraint("teams_id", name=op.f("uq_members_teams_id")),
    )
    op.create_index(op.f("ix_members_email"), "members", ["email"])
    op.create_index(op.f("ix_members_team_id"), "members", ["team_id"])


def downgrade() -> None:
    op.drop_table("members")
    op.drop_table("teams")
    op.drop_table("org")
