"""Ticket tags, SLA policy versions, and each ticket's policy and due times.

Revision ID: 0021_tags_sla
Revises: 0020_calendars
Create Date: 2026-12-07

Columns are added to `tickets` in place: batch mode would rebuild the table
and drop the day-facts triggers (migration 0007). Those triggers now also
mark a ticket's days when its policy or due times change (SLA attainment is a
day fact), so the update trigger is replaced with one that watches them too.
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0021_tags_sla"
down_revision = "0020_calendars"
branch_labels = None
depends_on = None

_DAY_FACTS = importlib.import_module("store.migrations.versions.0007_kpi_day_facts")
_SLA_FIELDS = ("sla_policy_id", "first_reply_due_at", "resolution_due_at")
_WAITING_REPLY = "first_reply_due_at IS NOT NULL AND first_reply_at IS NULL AND solved_at IS NULL"
_WAITING_SOLVE = "resolution_due_at IS NOT NULL AND solved_at IS NULL"


def _update_trigger(fields: tuple[str, ...]) -> None:
    """The day-facts update trigger (0007's), firing when any of `fields` changes."""
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in fields)
        body = _DAY_FACTS._PG_FUNCTIONS["kpi_days_updated"].replace(_DAY_FACTS._PG_CHANGED, changed)
        op.execute(f"CREATE OR REPLACE FUNCTION kpi_days_updated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; RETURN NULL; END $$")
        return
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in fields)
    op.execute("DROP TRIGGER IF EXISTS tickets_kpi_days_update")
    op.execute(f"CREATE TRIGGER tickets_kpi_days_update AFTER UPDATE ON tickets WHEN {changed} BEGIN{_DAY_FACTS._mark_sqlite('OLD', 'NEW')}\nEND")


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("match", sa.JSON(), nullable=False),
        sa.Column("first_reply", sa.String(16), nullable=True),
        sa.Column("next_reply", sa.String(16), nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("time", sa.String(8), nullable=False),
        sa.Column("warn_before_s", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("retired_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("key", "version", name="uq_sla_policies_key_version"),
    )
    op.add_column("tickets", sa.Column("tags", sa.String(980), nullable=True))
    fk = op.f("fk_tickets_sla_policy_id_sla_policies")
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("tickets", sa.Column("sla_policy_id", sa.Integer(), nullable=True))
        op.create_foreign_key(fk, "tickets", "sla_policies", ["sla_policy_id"], ["id"])
    else:
        # SQLite adds a column with its reference in place (ALTER TABLE cannot add a constraint).
        op.add_column("tickets", sa.Column("sla_policy_id", sa.Integer(), sa.ForeignKey("sla_policies.id", name=fk), nullable=True), inline_references=True)
    op.add_column("tickets", sa.Column("first_reply_due_at", sa.BigInteger(), nullable=True))
    op.add_column("tickets", sa.Column("resolution_due_at", sa.BigInteger(), nullable=True))
    for name, column, where in (
        ("ix_tickets_first_reply_due", "first_reply_due_at", _WAITING_REPLY),
        ("ix_tickets_resolution_due", "resolution_due_at", _WAITING_SOLVE),
    ):
        op.create_index(name, "tickets", ["team_id", column], sqlite_where=sa.text(where), postgresql_where=sa.text(where))
    _update_trigger((*_DAY_FACTS._KPI_FIELDS, *_SLA_FIELDS))


def downgrade() -> None:
    _update_trigger(_DAY_FACTS._KPI_FIELDS)
    op.drop_index("ix_tickets_resolution_due", table_name="tickets")
    op.drop_index("ix_tickets_first_reply_due", table_name="tickets")
    # In place (SQLite 3.35+), for the same reason.
    for column in ("resolution_due_at", "first_reply_due_at", "sla_policy_id", "tags"):
        op.drop_column("tickets", column)
    op.drop_table("sla_policies")
