"""Coaching notes and their audit trail.

Revision ID: 0012_coaching_notes
Revises: 0011_qa_rubrics
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_coaching_notes"
down_revision = "0011_qa_rubrics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coaching_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("ticket", sa.String(200), nullable=True),
        sa.Column("ticket_url", sa.String(1000), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("edited_at", sa.BigInteger(), nullable=True),
        sa.Column("acknowledged_at", sa.BigInteger(), nullable=True),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["members.id"], name=op.f("fk_coaching_notes_author_id_members")),
        sa.ForeignKeyConstraint(["agent_id"], ["members.id"], name=op.f("fk_coaching_notes_agent_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_notes")),
    )
    op.create_index("ix_coaching_notes_agent", "coaching_notes", ["agent_id", "created_at"])
    op.create_table(
        "coaching_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["note_id"], ["coaching_notes.id"], name=op.f("fk_coaching_audit_note_id_coaching_notes")),
        sa.ForeignKeyConstraint(["by_id"], ["members.id"], name=op.f("fk_coaching_audit_by_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_audit")),
    )
    op.create_index("ix_coaching_audit_note", "coaching_audit", ["note_id"])


def downgrade() -> None:
    op.drop_table("coaching_audit")
    op.drop_table("coaching_notes")
