"""QA rubric versions, applied from the org file's `qa:` section.

Revision ID: 0011_qa_rubrics
Revises: 0010_escalations
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_qa_rubrics"
down_revision = "0010_escalations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_rubrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pass_mark", sa.String(16), nullable=False),
        sa.Column("hide_reviewer", sa.Boolean(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("retired_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_rubrics")),
        sa.UniqueConstraint("version", name=op.f("uq_qa_rubrics_version")),
    )


def downgrade() -> None:
    op.drop_table("qa_rubrics")
