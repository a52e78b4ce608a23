"""QA reviews and their disputes.

Revision ID: 0013_qa_reviews
Revises: 0012_coaching_notes
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_qa_reviews"
down_revision = "0012_coaching_notes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(200), nullable=False),
        sa.Column("ticket_url", sa.String(1000), nullable=True),
        sa.Column("rubric_version", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("comments", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("locked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["members.id"], name=op.f("fk_qa_reviews_agent_id_members")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["members.id"], name=op.f("fk_qa_reviews_reviewer_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_reviews")),
    )
    op.create_index("ix_qa_reviews_agent", "qa_reviews", ["agent_id", "created_at"])
    op.create_table(
        "qa_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("proposed", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["qa_reviews.id"], name=op.f("fk_qa_disputes_review_id_qa_reviews")),
        sa.ForeignKeyConstraint(["by_id"], ["members.id"], name=op.f("fk_qa_disputes_by_id_members")),
        sa.ForeignKeyConstraint(["resolved_by"], ["members.id"], name=op.f("fk_qa_disputes_resolved_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_disputes")),
        sa.UniqueConstraint("review_id", name=op.f("uq_qa_disputes_review_id")),
    )


def downgrade() -> None:
    op.drop_table("qa_disputes")
    op.drop_table("qa_reviews")
