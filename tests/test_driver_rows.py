"""store.driver_rows: the driver's rows of a SELECT are the rows SQLAlchemy returns, batch by batch."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select

from kpi.day_facts import CREATED, T
from kpi.tickets import Ticket
from store.database import Database
from store.driver_rows import batches
from tests.helpers import apply_fixture_org


def test_batches_hold_what_sqlalchemy_returns(db: Database) -> None:
    apply_fixture_org(db)
    base = datetime(2026, 3, 1, tzinfo=timezone.utc)
    with db.sessions() as s, s.begin():
        s.execute(
            insert(Ticket),
            [{"source": "t", "external_id": f"D{i}", "status": "open", "created_at": base + timedelta(minutes=i), "channel": ["chat", None, "e'mail"][i % 3], "replies": i % 4 or None} for i in range(250)],
        )
    stmt = (
        select(T.external_id, T.channel, CREATED, func.coalesce(T.replies, -1))
        .where(CREATED >= int(base.timestamp()) + 600, T.external_id.in_([f"D{i}" for i in range(0, 250, 2)]))
        .order_by(T.id)
    )
    with db.sessions() as s:
        expected = [tuple(row) for row in s.execute(stmt)]
        for stream in (False, True):
            found = list(batches(s, stmt, 7, stream=stream))
            assert [len(b) for b in found][:-1] == [7] * (len(found) - 1) and 0 < len(found[-1]) <= 7
            assert [tuple(row) for b in found for row in b] == expected
        assert len(expected) == 120 and [r[1] for r in expected[:3]] == [None, "chat", "e'mail"]
        assert list(batches(s, stmt.where(T.id < 0), 7)) == []
