"""KPI alert rules per team, each alert's state per local day; chart images served by signed link.

Revision ID: 0009_kpi_alerts
Revises: 0008_outbox
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_kpi_alerts"
down_revision = "0008_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("alerts", sa.JSON(), nullable=True))
    op.create_table(
        "kpi_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("checked_slot", sa.BigInteger(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("sample", sa.Integer(), nullable=True),
        sa.Column("breached_since", sa.BigInteger(), nullable=True),
        sa.Column("fired_at", sa.BigInteger(), nullable=True),
        sa.Column("recovered_at", sa.BigInteger(), nullable=True),
        sa.Column("snoozed_at", sa.BigInteger(), nullable=True),
        sa.Column("snoozed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_kpi_alerts_team_id_teams")),
        sa.ForeignKeyConstraint(["snoozed_by"], ["members.id"], name=op.f("fk_kpi_alerts_snoozed_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_alerts")),
        sa.UniqueConstraint("team_id", "metric", "day", name="uq_kpi_alerts_team_id"),
    )
    op.create_table(
        "chart_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chart_images")),
        sa.UniqueConstraint("token", name=op.f("uq_chart_images_token")),
    )
    op.create_index(op.f("ix_chart_images_expires_at"), "chart_images", ["expires_at"])
    op.create_table(
        "app_keys",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_keys")),
    )


def downgrade() -> None:
    op.drop_table("app_keys")
    op.drop_table("chart_images")
    op.drop_table("kpi_alerts")
    # In place (SQLite 3.35+): batch mode would recreate `teams`, which other tables reference.
    op.drop_column("teams", "alerts")
