"""`/scorecard`: the reply a lead reads, its chart, its buttons, and every way to ask wrongly."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import insert, select

from bot.dispatch import run_action, run_command
from bot.render.text import render_text
from handlers.humanize import duration, percent
from handlers.reply import Actions, Chart, Reply, Table
from kpi.definitions import BY_NAME
from handlers.registry import build_router
from handlers.scorecard import AGENTS_ACTION, PREVIOUS_DAY_ACTION
from handlers.scorecard_chart import SIZE_PX, trend_png
from kpi.scorecard import TrendPoint
from kpi.tickets import Ticket
from store.database import Database
from store.org import Member, Team
from tests.helpers import apply_fixture_org

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 11, 9, 0, tzinfo=BERLIN)
ROUTER = build_router()


@pytest.fixture
def org(db: Database) -> dict[str, int]:
    apply_fixture_org(db)
    with db.sessions() as s:
        ids = dict(s.execute(select(Team.key, Team.id)).all()) | dict(s.execute(select(Member.handle, Member.id)).all())
    rows = []
    for d in range(35):
        day = DAY - timedelta(days=d)
        for k in range(3 + d % 5):
            created = datetime(day.year, day.month, day.day, 8 + k, 5 * k, tzinfo=BERLIN)
            rows.append(
                {
                    "source": "t",
                    "external_id": f"E{d}-{k}",
                    "team_id": ids["support-emea"],
                    "agent_id": ids["alice"],
                    "status": "solved" if k % 4 else "open",
                    "created_at": created,
                    "first_reply_at": created + timedelta(minutes=10 + 7 * k + d),
                    "solved_at": created + timedelta(hours=2 + k) if k % 4 else None,
                    "replies": 1 + k % 2,
                    "csat": "good" if (d + k) % 3 else "bad",
                    "sla_met": bool((d + k) % 4),
                }
            )
    with db.sessions() as s, s.begin():
        s.execute(insert(Ticket), rows)
    return ids


def ask(db: Database, handle: str, text: str, now: datetime = NOW) -> Reply:
    return run_command(db, ROUTER, handle, text, now=now, platform="test")


def buttons(reply: Reply) -> dict[str, str]:
    return {b.action_id: b.value for block in reply.blocks if isinstance(block, Actions) for b in block.buttons}


def chart(reply: Reply) -> Chart:
    (found,) = [b for b in reply.blocks if isinstance(b, Chart)]
    return found


def test_a_scorecards_numbers_are_the_numbers_kpi_team_gives_for_that_date(db: Database, org: dict[str, int]) -> None:
    card = ask(db, "alice", "/scorecard support-emea 2026-03-10")
    kpi = ask(db, "alice", "/kpi team support-emea 2026-03-10")
    assert card.ok and kpi.ok
    assert card.data["metrics"] == kpi.data["metrics"]
    assert card.data["status"] == kpi.data["status"]
    assert card.data["window"] == kpi.data["window"]
    assert card.visibility == "ephemeral"
    # Yesterday by default, in the team's zone: at 09:00 Berlin on the 11th that is the 10th.
    assert ask(db, "alice", "/scorecard").data["metrics"] == kpi.data["metrics"]
    assert len(card.data["trend"]) == 30 and card.data["trend"][-1]["day"] == "2026-03-10"
    assert card.data["trend"][-1]["created"] == card.data["metrics"]["tickets_created"]


def test_the_chart_is_a_png_of_the_promised_size_with_something_drawn(db: Database, org: dict[str, int]) -> None:
    reply = ask(db, "alice", "/scorecard")
    image = Image.open(io.BytesIO(chart(reply).png))
    assert image.format == "PNG" and image.size == SIZE_PX
    assert "30 days" in chart(reply).alt_text and "target" in chart(reply).alt_text


def test_the_charts_words_say_first_and_last_day_the_range_and_the_days_on_target(db: Database, org: dict[str, int]) -> None:
    reply = ask(db, "alice", "/scorecard support-emea 2026-03-10")
    alt = chart(reply).alt_text
    frt = [(date.fromisoformat(p["day"]), p["first_reply_median_s"]) for p in reply.data["trend"] if p["first_reply_median_s"] is not None]
    csat = [(date.fromisoformat(p["day"]), p["csat"]) for p in reply.data["trend"] if p["csat"] is not None]
    values = [v for _, v in frt]
    assert min(values) < frt[0][1] or max(values) > frt[-1][1] or min(values) < frt[-1][1]  # the range says more than the ends
    (first_day, first), (last_day, last) = frt[0], frt[-1]
    expected = (
        f"daily first-reply median {duration(first)} on {first_day:%d %b} → {duration(last)} on {last_day:%d %b} "
        f"(lowest {duration(min(values))}, highest {duration(max(values))}), "
        f"at or under the 1h target on {sum(v <= 3600 for v in values)} of {len(values)} days"
    )
    assert expected in alt, alt
    assert f"daily CSAT {percent(csat[0][1])} on {csat[0][0]:%d %b} → {percent(csat[-1][1])} on {csat[-1][0]:%d %b}" in alt
    assert f"at or above the 90.0% target on {sum(v >= 0.9 for _, v in csat)} of {len(csat)} days" in alt
    assert " from " not in alt  # "from X to Y" read as a range when it was the first and last day
    # The answer only its asker sees carries no file: it says the same words.
    assert expected in render_text(reply)


def test_counts_against_the_7_day_average_are_rounded_not_cut(db: Database, org: dict[str, int]) -> None:
    reply = ask(db, "alice", "/scorecard support-emea 2026-03-10")
    (table,) = [b for b in reply.blocks if isinstance(b, Table)]
    rows = {row[0]: row for row in table.rows}
    created, trailing = reply.data["metrics"]["tickets_created"], reply.data["trailing_7d"]["tickets_created"]
    assert (created, round(trailing, 3)) == (3, 4.857)  # 34 tickets over the 7 days before
    assert rows["Tickets created"][-1] == "▼ 2"  # 1.857 fewer is 2, as 1m 51.4s is 1m 51s; never "▼ 1"
    for name, value in reply.data["metrics"].items():
        average = reply.data["trailing_7d"].get(name)
        if name in BY_NAME and BY_NAME[name].unit == "count" and value is not None and average is not None and round(abs(value - average)):
            assert rows[BY_NAME[name].label][-1].split()[1] == f"{round(abs(value - average)):,}", name


def _plotted_colours(png: bytes) -> set[tuple[int, ...]]:
    """The colours inside the top panel's plotting area (bars live there)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    w, h = image.size
    box = image.crop((int(w * 0.1), int(h * 0.2), int(w * 0.88), int(h * 0.45)))
    return {c for _n, c in box.getcolors(maxcolors=1 << 20)}


def test_a_known_series_is_drawn_and_an_empty_one_is_not() -> None:
    days = [TrendPoint(date(2026, 3, 1) + timedelta(days=i), 10 + i, 5 + i, 1800.0 + 60 * i, 0.9) for i in range(30)]
    drawn = trend_png(days, title="t", first_reply_target_s=3600, csat_target=0.9, zone="UTC")
    blank = trend_png([TrendPoint(p.day, 0, 0, None, None) for p in days], title="t", first_reply_target_s=None, csat_target=None, zone="UTC")
    blue, orange = (0x00, 0x72, 0xB2), (0xE6, 0x9F, 0x00)  # created and solved bars
    assert {blue, orange} <= _plotted_colours(drawn)
    assert not {blue, orange} & _plotted_colours(blank)


def test_previous_day_button_shows_the_day_before_and_agents_button_keeps_agent_privacy(db: Database, org: dict[str, int]) -> None:
    reply = ask(db, "alice", "/scorecard")
    values = buttons(reply)
    before = run_action(db, ROUTER, "alice", PREVIOUS_DAY_ACTION, values[PREVIOUS_DAY_ACTION], now=NOW, platform="test")
    assert before.ok and before.data["day"] == "2026-03-09"
    assert before.data["metrics"] == ask(db, "alice", "/kpi team support-emea 2026-03-09").data["metrics"]
    # An agent is offered no Agents button (the table is not theirs to see), and the click is refused anyway;
    # the lead is offered it and sees the table, privately, for that day.
    assert AGENTS_ACTION not in values
    leads = buttons(ask(db, "bob", "/scorecard"))
    refused = run_action(db, ROUTER, "alice", AGENTS_ACTION, leads[AGENTS_ACTION], now=NOW, platform="test")
    assert refused.error is not None and refused.error.code == "forbidden"
    table = run_action(db, ROUTER, "bob", AGENTS_ACTION, leads[AGENTS_ACTION], now=NOW, platform="test")
    assert table.ok and table.visibility == "ephemeral" and table.data["scope"] == "agents"
    assert table.data["window"]["start"].startswith("2026-03-10")
    assert [r["agent"] for r in table.data["rows"]] == ["alice"]


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        json.dumps({"team": "support-emea", "day": "2026-03-10"}),
        json.dumps({"team": ["x"], "day": "2026-03-10", "at": "2026-03-11T09:00:00+01:00"}),
        json.dumps({"team": "support-emea", "day": "1969-12-31", "at": "2026-03-11T09:00:00+01:00"}),
        json.dumps({"team": "support-emea", "day": "2026-03-10", "at": "2026-03-11T09:00:00"}),
        json.dumps({"team": "x" * 500, "day": "2026-03-10", "at": "2026-03-11T09:00:00+01:00"}),
        "[" * 100_000,
    ],
)
def test_a_forged_or_damaged_button_is_refused_with_usage(db: Database, org: dict[str, int], value: str) -> None:
    for action in (AGENTS_ACTION, PREVIOUS_DAY_ACTION):
        reply = run_action(db, ROUTER, "bob", action, value, now=NOW, platform="test")
        assert reply.error is not None and reply.error.code == "usage", reply.error


def test_share_posts_in_the_channel(db: Database, org: dict[str, int]) -> None:
    assert ask(db, "alice", "/scorecard --share").visibility == "channel"


def test_the_org_rollup_is_for_managers_and_admins_with_each_team_on_its_own_day(db: Database, org: dict[str, int]) -> None:
    refused = ask(db, "bob", "/scorecard org")
    assert refused.error is not None and refused.error.code == "forbidden" and "manager" in refused.error.message
    reply = ask(db, "dana", "/scorecard org 2026-03-10")
    assert reply.ok
    rows = {r["team"]: r for r in reply.data["rows"]}
    assert set(rows) == {"support-emea", "support-amer"}
    # Exactly /kpi team's figures for the same reader (Dana manages Support Americas, so not EMEA's pooled QA).
    assert rows["support-emea"]["metrics"] == ask(db, "dana", "/kpi team support-emea 2026-03-10").data["metrics"]
    assert rows["support-amer"]["metrics"] == ask(db, "dana", "/kpi team support-amer 2026-03-10").data["metrics"]
    assert rows["support-amer"]["window"]["timezone"] == "America/New_York"
    assert rows["support-amer"]["window"]["start"].startswith("2026-03-10T00:00:00-04:00")  # DST began on the 8th


def test_last_week_against_the_week_before(db: Database, org: dict[str, int]) -> None:
    reply = ask(db, "alice", "/scorecard week")
    assert reply.ok and reply.data["scope"] == "scorecard_week"
    assert reply.data["window"]["start"].startswith("2026-03-02") and reply.data["compared_with"]["start"].startswith("2026-02-23")
    assert reply.data["metrics"] == ask(db, "alice", "/kpi team support-emea 2026-03-02..2026-03-08").data["metrics"]
    assert reply.data["previous"] == ask(db, "alice", "/kpi team support-emea 2026-02-23..2026-03-01").data["metrics"]
    assert Image.open(io.BytesIO(chart(reply).png)).size == SIZE_PX


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("/scorecard nosuchteam", "not_found", "no team called"),
        ("/scorecard support-emea 2026-03-12", "invalid", "has not started"),
        ("/scorecard support-emea 7d", "usage", "one day"),
        ("/scorecard support-emea 2026-02-30", "usage", "yesterday"),
        ("/scorecard org support-emea", "usage", "only a date"),
        ("/scorecard week 2026-03-01", "usage", "last week"),
        ("/scorecard 1969-12-31", "usage", "yesterday"),
    ],
)
def test_bad_requests_say_what_was_wrong(db: Database, org: dict[str, int], text: str, code: str, says: str) -> None:
    reply = ask(db, "dana", text)
    assert reply.error is not None and reply.error.code == code, (text, reply.error)
    assert says in reply.error.message or says in "\n".join(getattr(b, "text", "") for b in reply.blocks), reply.error.message


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("/scorecard --shar", "usage", "Did you mean --share?"),
        ("/scorecard support-emea --sahre", "usage", "Did you mean --share?"),
        ("/scorecard -share", "usage", "Did you mean --share?"),
        ("/scorecard wek support-emea", "not_found", "you mean /scorecard week support-emea?"),
        ("/scorecard wek", "not_found", "Did you mean /scorecard week?"),
        ("/scorecard ogr --share", "not_found", "Did you mean /scorecard org --share?"),
        ("/scorecard subscirbe me 08:30", "not_found", "you mean /scorecard subscribe me 08:30?"),
        ("/scorecard unsubscrbe support-emea", "not_found", "you mean /scorecard unsubscribe support-emea?"),
        ("/scorecard subscriptons", "not_found", "Did you mean /scorecard subscriptions?"),
        ("/scorecard hlep", "not_found", "Did you mean /scorecard help?"),
        ("/scorecard support-emea yesterdya", "usage", "'yesterdya' is not a window. Did you mean yesterday?"),
        ("/scorecard org yesterdya", "usage", "Did you mean /scorecard org yesterday?"),
        ("/scorecard subscribe orgg", "not_found", "Did you mean /scorecard subscribe org?"),
        ("/scorecard unsubscribe mee", "not_found", "Did you mean /scorecard unsubscribe me?"),
        ("/scorecard week wek", "not_found", "takes no date"),
        ("/scorecard ｗｅｋ", "not_found", "Did you mean /scorecard week?"),
    ],
)
def test_a_mistyped_subcommand_option_or_day_word_gets_a_did_you_mean(db: Database, org: dict[str, int], text: str, code: str, says: str) -> None:
    reply = ask(db, "dana", text)
    assert reply.error is not None and reply.error.code == code, (text, reply.error)
    assert says in reply.error.message, reply.error.message


def test_a_team_like_no_subcommand_is_not_offered_one(db: Database, org: dict[str, int]) -> None:
    # `emea` is close to `week` by letters, but a mistyped team is far likelier: only teams are offered.
    reply = ask(db, "dana", "/scorecard emea")
    assert reply.error is not None and reply.error.message == "There is no team called 'emea'. Did you mean support-emea?"


def test_today_is_the_day_so_far(db: Database, org: dict[str, int]) -> None:
    reply = ask(db, "alice", "/scorecard today")
    assert reply.ok and reply.data["window"]["so_far"] is True


def test_a_team_with_a_digest_but_no_channel_is_told_its_scorecard_goes_nowhere(db: Database, org: dict[str, int]) -> None:
    with db.sessions() as s, s.begin():
        team = s.get(Team, org["support-emea"])
        team.slack_channel = team.teams_channel = None
    text = "\n".join(getattr(b, "text", "") for b in ask(db, "alice", "/scorecard").blocks)
    assert "no Slack or Teams channel" in text


# ---------------------------------------------------------------- subscriptions


def test_subscribe_list_change_and_unsubscribe(db: Database, org: dict[str, int]) -> None:
    reply = ask(db, "alice", "/scorecard subscribe me 8:30")
    assert reply.ok and reply.data["subscription"] == {"subject": "me", "time": "08:30", "timezone": "Europe/Berlin", "days": "mon-fri"}
    assert "on Monday, Friday's, with the weekend summed up" in reply.blocks[0].text  # type: ignore[union-attr]
    assert ask(db, "alice", '/scorecard subscribe "Support Americas"').data["subscription"]["time"] == "08:30"  # that team's digest time
    assert ask(db, "alice", "/scorecard subscribe support-emea 07:15").ok
    listed = ask(db, "alice", "/scorecard subscriptions").data["subscriptions"]
    assert [(s["subject"], s["time"]) for s in listed] == [("me", "08:30"), ("support-amer", "08:30"), ("support-emea", "07:15")]
    assert ask(db, "alice", "/scorecard subscribe me 18:00").ok  # changes the time, adds nothing
    assert len(ask(db, "alice", "/scorecard subscriptions").data["subscriptions"]) == 3
    assert ask(db, "alice", "/scorecard unsubscribe support-emea").ok
    again = ask(db, "alice", "/scorecard unsubscribe support-emea")
    assert again.error is not None and again.error.code == "invalid" and "not subscribed" in again.error.message
    # Another member's list is their own.
    assert ask(db, "bob", "/scorecard subscriptions").data["subscriptions"] == []


@pytest.mark.parametrize(
    ("who", "text", "code", "says"),
    [
        ("alice", "/scorecard subscribe org", "forbidden", "manager"),
        ("alice", "/scorecard subscribe", "usage", "Say what to subscribe to"),
        ("alice", "/scorecard subscribe me 25:00", "usage", "not a time"),
        ("alice", "/scorecard subscribe me 9h30", "usage", "not a time"),
        ("alice", "/scorecard subscribe me 9am", "usage", "not a time"),
        ("alice", "/scorecard subscribe nosuchteam", "not_found", "no team called"),
        ("alice", "/scorecard subscriptions me", "usage", "takes nothing more"),
        ("alice", "/scorecard subscribe me --share", "usage", "--share does not apply"),
    ],
)
def test_subscription_mistakes_are_refused_with_the_reason(db: Database, org: dict[str, int], who: str, text: str, code: str, says: str) -> None:
    reply = ask(db, who, text)
    assert reply.error is not None and reply.error.code == code, (text, reply.error)
    assert says in reply.error.message, reply.error.message


def test_a_manager_may_subscribe_to_the_org_and_someone_without_a_chat_id_is_told(db: Database, org: dict[str, int]) -> None:
    reply = ask(db, "dana", "/scorecard subscribe org 07:00")
    assert reply.ok and reply.data["subscription"]["timezone"] == "America/New_York"
    assert "cannot message you yet" in "\n".join(getattr(b, "text", "") for b in reply.blocks)  # dana has no slack_id or teams_id
