"""Blind QA calibrations: several reviewers score one ticket; kept apart from reviews so they never count in KPIs.

Revision ID: 0016_qa_calibrations
Revises: 0015_coaching_sessions
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_qa_calibrations"
down_revision = "0015_coaching_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(200), nullable=False),
        sa.Column("ticket_url", sa.String(1000), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("rubric_version", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revealed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["members.id"], name=op.f("fk_qa_calibrations_created_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_calibrations")),
    )
    op.create_index("ix_qa_calibrations_deadline", "qa_calibrations", ["revealed_at", "deadline"])
    op.create_table(
        "qa_calibration_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calibration_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("comments", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("scored_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["calibration_id"], ["qa_calibrations.id"], name=op.f("fk_qa_calibration_scores_calibration_id_qa_calibrations")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["members.id"], name=op.f("fk_qa_calibration_scores_reviewer_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_calibration_scores")),
        sa.UniqueConstraint("calibration_id", "reviewer_id", name=op.f("uq_qa_calibration_scores_calibration_id")),
    )


def downgrade() -> None:
    op.drop_table("qa_calibration_scores")
    op.drop_table("qa_calibrations")
