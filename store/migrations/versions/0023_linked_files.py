"""Linked files: a chart image row may hold any file csbot links (a CSV of KPI figures), with its media type and name.

Revision ID: 0023_linked_files
Revises: 0022_business_hours
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_linked_files"
down_revision = "0022_business_hours"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: no table is recreated.
    op.add_column("chart_images", sa.Column("media_type", sa.String(64), nullable=False, server_default="image/png"))
    op.add_column("chart_images", sa.Column("filename", sa.String(120), nullable=True))


def downgrade() -> None:
    # Files other than charts have no place in the older table: they go (links expire within a day anyway).
    op.execute(sa.text("DELETE FROM chart_images WHERE media_type <> 'image/png'"))
    op.drop_column("chart_images", "filename")
    op.drop_column("chart_images", "media_type")
