"""QA sampling: the org file's sampling rules, and the weekly assignments of tickets to reviewers.

Revision ID: 0031_qa_assignments
Revises: 0030_oncall_plans
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031_qa_assignments"
down_revision = "0030_oncall_plans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_sampling_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_sampling_rules")),
        sa.UniqueConstraint("team", name=op.f("uq_qa_sampling_rules_team")),
    )
    op.create_table(
        "qa_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(8), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(200), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rolled_from", sa.Integer(), nullable=True),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_qa_assignments_team_id_teams")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_qa_assignments_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["agent_id"], ["members.id"], name=op.f("fk_qa_assignments_agent_id_members")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["members.id"], name=op.f("fk_qa_assignments_reviewer_id_members")),
        sa.ForeignKeyConstraint(["rolled_from"], ["qa_assignments.id"], name=op.f("fk_qa_assignments_rolled_from_qa_assignments")),
        sa.ForeignKeyConstraint(["review_id"], ["qa_reviews.id"], name=op.f("fk_qa_assignments_review_id_qa_reviews")),
        sa.ForeignKeyConstraint(["closed_by"], ["members.id"], name=op.f("fk_qa_assignments_closed_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_assignments")),
        sa.UniqueConstraint("team_id", "week", "ticket_id", name="uq_qa_assignments_team_week_ticket"),
    )
    op.create_index("ix_qa_assignments_reviewer", "qa_assignments", ["reviewer_id", "state"])
    op.create_index("ix_qa_assignments_agent", "qa_assignments", ["agent_id", "week"])


def downgrade() -> None:
    op.drop_index("ix_qa_assignments_agent", table_name="qa_assignments")
    op.drop_index("ix_qa_assignments_reviewer", table_name="qa_assignments")
    op.drop_table("qa_assignments")
    op.drop_table("qa_sampling_rules")
