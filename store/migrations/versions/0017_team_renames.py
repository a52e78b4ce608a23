"""Team keys that changed (`renamed_from:` in the org file), so an old key still leads to its team.

Revision ID: 0017_team_renames
Revises: 0016_qa_calibrations
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_team_renames"
down_revision = "0016_qa_calibrations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_renames",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("old_key", sa.String(64), nullable=False),
        sa.Column("new_key", sa.String(64), nullable=False),
        sa.Column("renamed_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_team_renames_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_renames")),
    )
    op.create_index("ix_team_renames_team_id", "team_renames", ["team_id"])
    op.create_index("ix_team_renames_old_key", "team_renames", ["old_key"])


def downgrade() -> None:
    op.drop_index("ix_team_renames_old_key", table_name="team_renames")
    op.drop_index("ix_team_renames_team_id", table_name="team_renames")
    op.drop_table("team_renames")
