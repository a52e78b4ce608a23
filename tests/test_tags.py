"""Ticket tags: read from an import's `tags` column (or a mapped one) and a webhook's `ticket.tags`, cleaned, bounded, stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from kpi.events import EventError, apply_event, parse_event
from kpi.importer import import_tickets
from kpi.mapping import Mapping, load_mapping
from store.ticket_fields import MAX_TAG_LENGTH, MAX_TAGS, TagError, one_tag, parse_tags, stored_tags, tags_text
from kpi.tickets import Ticket
from store.database import Database
from tests.helpers import apply_fixture_org

HEADER = "external_id,team,created_at,tags\n"


def test_commas_spaces_and_anything_a_tag_cannot_hold_separate_tags() -> None:
    assert parse_tags("Billing, refund;VIP") == ["billing", "refund", "vip"]
    assert parse_tags("  refund refund  REFUND ") == ["refund"]
    assert parse_tags(["order:late", "needs refund", "2fa"]) == ["2fa", "needs", "order:late", "refund"]
    assert parse_tags("") == [] and parse_tags(None) == [] and parse_tags([]) == []
    # What no name may hold separates or goes; nothing of it is stored.
    assert parse_tags("vip\r\nbilling\x1b[2J") == ["2j", "billing", "vip"]
    assert parse_tags("bil\u200bling \u202erefund") == ["billing", "refund"]
    assert parse_tags("<script>alert(1)</script>") == ["1", "alert", "script"]
    # Sentence punctuation is not part of a tag; full-width letters are the letters they are.
    assert parse_tags("refund. -vip- ／ ＶＩＰ") == ["refund", "vip"]
    assert parse_tags("Ärger größe") == ["größe", "ärger"]


def test_too_many_or_too_long_is_refused_never_cut() -> None:
    assert len(parse_tags(" ".join(f"t{i}" for i in range(MAX_TAGS)))) == MAX_TAGS
    with pytest.raises(TagError, match=f"more than {MAX_TAGS} tags"):
        parse_tags(" ".join(f"t{i}" for i in range(MAX_TAGS + 1)))
    with pytest.raises(TagError, match=f"more than {MAX_TAGS} tags"):
        parse_tags("x " * 1_000_000 + " ".join(f"t{i}" for i in range(100)))
    with pytest.raises(TagError, match=f"is {MAX_TAG_LENGTH + 1} characters long; a tag is at most {MAX_TAG_LENGTH}"):
        parse_tags("a" * (MAX_TAG_LENGTH + 1))


def test_stored_form_round_trips() -> None:
    assert tags_text(["vip", "billing", "vip"]) == "billing vip"
    assert tags_text([]) is None
    assert stored_tags("billing vip") == ["billing", "vip"] and stored_tags(None) == []
    longest = tags_text(parse_tags(" ".join(f"{i:02d}" + "x" * (MAX_TAG_LENGTH - 2) for i in range(MAX_TAGS))))
    assert longest is not None and len(longest) <= Ticket.__table__.c.tags.type.length
    assert one_tag(" VIP ") == "vip" and one_tag("two tags") is None and one_tag("<>") is None


def _stored(db: Database) -> dict[str, str | None]:
    with db.sessions() as s:
        return dict(s.execute(select(Ticket.external_id, Ticket.tags)).all())


def test_import_reads_the_tags_column_and_rejects_a_row_with_too_many(db: Database, tmp_path: Path) -> None:
    apply_fixture_org(db)
    many = " ".join(f"t{i}" for i in range(MAX_TAGS + 1))
    path = tmp_path / "tickets.csv"
    path.write_text(
        HEADER
        + '1,support-emea,2026-03-02T09:00:00Z,"Billing, VIP"\n'
        + "2,support-emea,2026-03-02T09:00:00Z,\n"
        + f"3,support-emea,2026-03-02T09:00:00Z,{many}\n"
        + "4,support-emea,2026-03-02T09:00:00Z,refund\x1bvip\n"
    )
    result = import_tickets(db, path, Mapping.default(), source="csv")
    assert (result.inserted, result.rejected_count) == (3, 1)
    assert result.rejected[0].row == 4 and result.rejected[0].reasons == [f"tags: more than {MAX_TAGS} tags; a ticket has at most {MAX_TAGS}"]
    assert _stored(db) == {"1": "billing vip", "2": None, "4": "refund vip"}
    # Tags are the file's own column: a re-import with other tags changes them, the same ones in another order do not.
    path.write_text(HEADER + '1,support-emea,2026-03-02T09:00:00Z,"vip billing"\n2,support-emea,2026-03-02T09:00:00Z,bug\n')
    again = import_tickets(db, path, Mapping.default(), source="csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    assert _stored(db)["2"] == "bug"


def test_a_mapping_maps_a_column_to_tags(db: Database, tmp_path: Path) -> None:
    apply_fixture_org(db)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns: {external_id: Id, created_at: Created, tags: Labels}\n")
    path = tmp_path / "export.csv"
    path.write_text('Id,Created,Labels\nZ-1,2026-03-02T09:00:00Z,"Refund , Shipping"\n')
    result = import_tickets(db, path, load_mapping(mapping), source="zd")
    assert result.inserted == 1 and _stored(db) == {"Z-1": "refund shipping"}


def _event(tags: object, event_id: str = "e1", at: str = "2026-03-02T09:00:00Z") -> dict[str, object]:
    return {"id": event_id, "type": "created", "source": "hd", "at": at, "ticket": {"external_id": "T-1", "team": "support-emea", "tags": tags}}


def test_webhook_tags_latest_event_wins_and_bad_ones_are_refused(db: Database) -> None:
    from datetime import datetime, timezone

    apply_fixture_org(db)
    now = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    with db.sessions() as s, s.begin():
        apply_event(s, parse_event(_event(["Billing", "vip"]), now=now), now=now)
        later = _event("refund", "e2", "2026-03-02T10:00:00Z") | {"type": "assigned"}
        later["ticket"] = {"external_id": "T-1", "agent": "alice", "tags": "refund"}  # type: ignore[assignment]
        apply_event(s, parse_event(later, now=now), now=now)
        # An older event's tags are stale: the ticket keeps the later ones.
        older = _event(["bug"], "e3", "2026-03-02T09:30:00Z") | {"type": "status_changed", "status": "open"}
        applied = apply_event(s, parse_event(older, now=now), now=now)
        assert applied.stale and "tags" in applied.superseded
    assert _stored(db) == {"T-1": "refund"}
    with pytest.raises(EventError) as refused:
        parse_event(_event(" ".join(f"t{i}" for i in range(MAX_TAGS + 1))), now=now)
    assert refused.value.problems == [f"ticket.tags: more than {MAX_TAGS} tags; a ticket has at most {MAX_TAGS}"]
    with pytest.raises(EventError) as refused:
        parse_event(_event([1, 2]), now=now)
    assert "ticket.tags: must be a list of tags or one text of them" in refused.value.problems[0]
    with db.sessions() as s, s.begin():
        apply_event(s, parse_event(_event([], "e4", "2026-03-02T11:00:00Z") | {"type": "status_changed", "status": "pending"}, now=now), now=now)
    assert _stored(db) == {"T-1": None}  # an empty list clears them


async def test_webhook_over_http_stores_tags_and_refuses_too_many(db: Database) -> None:
    from tests.helpers import serve
    from tests.test_webhook import SECRET, post

    from bot.config import load_settings
    from bot.web import create_app
    from datetime import datetime, timezone

    apply_fixture_org(db)
    runner, base = await serve(create_app(db, load_settings({"CSBOT_WEBHOOK_SECRET": SECRET}), clock=lambda: datetime(2026, 3, 2, 12, tzinfo=timezone.utc)))
    try:
        url = f"{base}/webhooks/tickets"
        status, body = await post(url, _event("Billing, VIP\u202e"))
        assert (status, body["ok"]) == (200, True)
        status, body = await post(url, _event([f"t{i}" for i in range(MAX_TAGS + 1)], "e2"))
        assert status == 400 and body["problems"] == [f"ticket.tags: more than {MAX_TAGS} tags; a ticket has at most {MAX_TAGS}"]
    finally:
        await runner.cleanup()
    assert _stored(db) == {"T-1": "billing vip"}
