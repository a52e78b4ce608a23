"""The team a QA review counts for: the agent's team when it was made.

Revision ID: 0014_qa_review_team
Revises: 0013_qa_reviews
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_qa_review_team"
down_revision = "0013_qa_reviews"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qa_reviews") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_qa_reviews_team_id_teams"), "teams", ["team_id"], ["id"])
    # Reviews made before this column existed count for the agent's team now:
    # the best record there is of where they worked.
    op.execute("UPDATE qa_reviews SET team_id = (SELECT members.team_id FROM members WHERE members.id = qa_reviews.agent_id)")
    op.create_index("ix_qa_reviews_team", "qa_reviews", ["team_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_qa_reviews_team", table_name="qa_reviews")
    with op.batch_alter_table("qa_reviews") as batch:
        batch.drop_constraint(op.f("fk_qa_reviews_team_id_teams"), type_="foreignkey")
        batch.drop_column("team_id")
