"""KPI alerts: rules in the org file, checked at local slots, firing once, recovering once, snoozable."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, update

from bot.dispatch import run_action, run_command
from bot.slack.notifier import SlackNotifier
from bot.tick import run_tick
from handlers.kpi_alerts import SNOOZE_ACTION
from handlers.reply import Actions
from handlers.registry import build_router
from kpi.alerts import AlertState, slot
from kpi.definitions import BY_NAME, METRIC_NAMES
from kpi.tickets import Ticket
from store.database import Database
from store.local_time import at_local
from store.org import Member, Team
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org
from store.outbox import OutboxRow
from tests.fake_slack import FakeSlack
from tests.helpers import FIXTURES

UTC = timezone.utc
DAY = date(2026, 12, 1)
ROUTER = build_router()


def org_with(alerts: str) -> str:
    text = (FIXTURES / "org.yaml").read_text()
    return text.replace(
        "    targets: {first_reply_median_s: 3600, csat: 0.9, reopen_rate: 0.05}\n",
        f"    targets: {{first_reply_median_s: 3600, csat: 0.9, reopen_rate: 0.05}}\n    alerts: {alerts}\n",
        1,
    )


def apply(db: Database, alerts: str) -> dict[str, int]:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org(org_with(alerts), BY_NAME))
    with db.sessions() as s:
        return dict(s.execute(select(Team.key, Team.id)).all()) | dict(s.execute(select(Member.handle, Member.id)).all())


def open_tickets(db: Database, ids: dict[str, int], count: int, at: datetime, prefix: str = "B") -> None:
    with db.sessions() as s, s.begin():
        s.execute(
            insert(Ticket),
            [{"source": "t", "external_id": f"{prefix}{i}", "team_id": ids["support-emea"], "status": "open", "created_at": at} for i in range(count)],
        )


def solve_all(db: Database, at: datetime) -> None:
    with db.sessions() as s, s.begin():
        s.execute(update(Ticket).values(status="solved", solved_at=at))


def posted(fake: FakeSlack, channel: str) -> list[dict]:  # type: ignore[type-arg]
    return [c.args for c in fake.of("chat.postMessage") if c.args.get("channel") == channel]


# ---------------------------------------------------------------- the org file


def test_alert_rules_are_read_checked_and_written_back() -> None:
    spec = parse_org(org_with('{backlog: {above: 200}, first_reply_median_s: {above: 7200, window: 4h}, csat: {below: 0.8, window: 1d, min_n: 10, for: 30m}}'), BY_NAME)
    assert spec.teams[0].alerts == {
        "backlog": {"direction": "above", "threshold": 200, "window_s": 86400, "min_n": 0, "for_s": 0},
        "first_reply_median_s": {"direction": "above", "threshold": 7200, "window_s": 14400, "min_n": 0, "for_s": 0},
        "csat": {"direction": "below", "threshold": 0.8, "window_s": 86400, "min_n": 10, "for_s": 1800},
    }


def test_alert_rules_round_trip_through_org_show(db: Database) -> None:
    apply(db, "{backlog: {above: 200}, csat: {below: 0.8, min_n: 10, for: 30m}, first_reply_median_s: {above: 7200, window: 4h}}")
    with db.sessions() as s:
        shown = dump_org(org_document(s))
    assert parse_org(shown, BY_NAME).teams[0].alerts == parse_org(org_with("{backlog: {above: 200}, csat: {below: 0.8, min_n: 10, for: 30m}, first_reply_median_s: {above: 7200, window: 4h}}"), BY_NAME).teams[0].alerts


@pytest.mark.parametrize(
    ("alerts", "says"),
    [
        ("{backlg: {above: 200}}", "alert on unknown metric 'backlg': did you mean 'backlog'?"),
        ("{csat: {above: 0.9, below: 0.5}}", "needs one threshold: above: N or below: N, not both"),
        ("{csat: {window: 1d}}", "needs one threshold"),
        ("{csat: {below: 80}}", "alert threshold for csat must be a rate between 0 and 1, got 80: did you mean 0.8?"),
        ("{backlog: {above: -1}}", "alert threshold for backlog must be"),
        ("{backlog: {above: 200, window: 4h}}", "backlog is counted at the moment of each check, so it takes no window"),
        ("{csat: {below: 0.8, window: 4 weeks}}", "window '4 weeks' is not a span from 1m to 31d"),
        ("{csat: {below: 0.8, window: 40d}}", "window '40d' is not a span"),
        ("{csat: {below: 0.8, min_n: -3}}", "min_n must be a whole number of tickets"),
        ("{csat: {below: 0.8, for: 2d}}", "for '2d' is not a span up to 1d"),
        ("{csat: {below: 0.8, colour: red}}", "unknown key 'colour'"),
        ("{csat: 0.8}", "must be a mapping"),
    ],
)
def test_a_wrong_alert_is_refused_at_its_line(alerts: str, says: str) -> None:
    with pytest.raises(OrgFileError) as refused:
        parse_org(org_with(alerts), BY_NAME)
    problems = "\n".join(refused.value.problems)
    assert says in problems and "org.yaml:10:" in problems, problems


# ---------------------------------------------------------------- slots


def test_checks_happen_at_fixed_local_slots() -> None:
    at = datetime(2026, 12, 1, 9, 27, 41, tzinfo=UTC)  # 10:27 in Berlin
    assert slot(at, "Europe/Berlin", 10) == datetime(2026, 12, 1, 9, 20, tzinfo=UTC)
    assert slot(at, "Asia/Kolkata", 10) == datetime(2026, 12, 1, 9, 20, tzinfo=UTC)  # 14:57 → 14:50
    assert slot(at, "Asia/Kolkata", 60) == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # 14:00 local


# ---------------------------------------------------------------- firing and recovering


async def test_a_breach_fires_once_to_the_channel_and_the_leads_and_recovers_once(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    ids = apply(db, "{backlog: {above: 3}}")
    nine = at_local(DAY, "09:00", "Europe/Berlin")
    open_tickets(db, ids, 5, nine - timedelta(hours=3))
    await run_tick(db, [notifier], nine)  # the morning scorecard, and the first check: backlog 5 > 3
    scorecard_ts = fake.history["C0123ABCD"][0]["ts"]
    alert = [p for p in posted(fake, "C0123ABCD") if "KPI alert" in p["text"]]
    assert len(alert) == 1 and alert[0]["thread_ts"] == scorecard_ts  # under that day's scorecard
    assert "Backlog is 5 (at the check), above the alert threshold of 3" in alert[0]["text"] or "Backlog is 5" in json.dumps(alert[0]["blocks"])
    assert [p for p in posted(fake, "D0123ABCE") if "KPI alert" in p["text"]]  # bob, the lead, by DM
    assert not [c for c in fake.of("conversations.open") if c.args.get("users") == "U0123ABCD"]  # alice is an agent
    for minutes in (10, 20, 60):  # still breached: nothing more
        await run_tick(db, [notifier], nine + timedelta(minutes=minutes))
    assert len([p for p in posted(fake, "C0123ABCD") if "KPI alert" in p["text"]]) == 1
    solve_all(db, nine + timedelta(minutes=65))
    await run_tick(db, [notifier], nine + timedelta(minutes=70))
    recovered = [p for p in posted(fake, "C0123ABCD") if p["text"].startswith("✅ Recovered")]
    assert len(recovered) == 1 and "Backlog is back to 0" in recovered[0]["text"]
    # Breached again the same day: once per condition per day, so quiet.
    open_tickets(db, ids, 6, nine + timedelta(minutes=75), prefix="C")
    await run_tick(db, [notifier], nine + timedelta(minutes=80))
    assert len([p for p in posted(fake, "C0123ABCD") if "KPI alert" in p["text"]]) == 1
    # /kpi alerts tells where it stands.
    reply = run_command(db, ROUTER, "alice", "/kpi alerts", now=nine + timedelta(minutes=81), platform="test")
    (row,) = reply.data["alerts"]
    assert row["metric"] == "backlog" and row["value"] == 6 and row["active"] is False and row["recovered_at"] is not None


async def test_min_n_and_for_hold_an_alert_back(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    ids = apply(db, "{csat: {below: 0.8, min_n: 5}, backlog: {above: 1, for: 30m}}")
    nine = at_local(DAY, "09:00", "Europe/Berlin")
    with db.sessions() as s, s.begin():  # 3 bad ratings: CSAT 0%, but on too few to judge
        s.execute(
            insert(Ticket),
            [
                {"source": "t", "external_id": f"R{i}", "team_id": ids["support-emea"], "status": "solved", "created_at": nine - timedelta(hours=5),
                 "solved_at": nine - timedelta(hours=2), "csat": "bad"}
                for i in range(3)
            ],
        )
    open_tickets(db, ids, 2, nine - timedelta(hours=1))
    fired = []
    for minutes in range(0, 50, 10):
        report = await run_tick(db, [notifier], nine + timedelta(minutes=minutes), only="alerts")
        fired += [(minutes, o.subject) for o in report.outcomes if o.kind == "alert" and o.recipient == "slack:channel:C0123ABCD"]
    # Backlog breached from 09:00; it has held 30 minutes at the 09:30 check.
    assert fired == [(30, "support-emea:backlog")]
    with db.sessions() as s:
        csat = s.scalar(select(AlertState).where(AlertState.metric == "csat"))
    assert csat is not None and csat.value == 0.0 and csat.sample == 3 and csat.fired_at is None


async def test_a_lead_snoozes_today_and_nothing_more_is_sent_that_day(db: Database, slack: tuple[FakeSlack, SlackNotifier]) -> None:
    fake, notifier = slack
    ids = apply(db, "{backlog: {above: 1}}")
    nine = at_local(DAY, "09:00", "Europe/Berlin")
    open_tickets(db, ids, 3, nine - timedelta(hours=1))
    await run_tick(db, [notifier], nine, only="alerts")
    (alert,) = [p for p in posted(fake, "C0123ABCD") if "KPI alert" in p["text"]]
    button = next(e for b in alert["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == SNOOZE_ACTION
    refused = run_action(db, ROUTER, "alice", SNOOZE_ACTION, button["value"], now=nine + timedelta(minutes=5), platform="test")
    assert refused.error is not None and refused.error.code == "forbidden"
    done = run_action(db, ROUTER, "bob", SNOOZE_ACTION, button["value"], now=nine + timedelta(minutes=5), platform="test")
    assert done.ok and done.data["snoozed_by"] == "bob"
    solve_all(db, nine + timedelta(minutes=6))
    await run_tick(db, [notifier], nine + timedelta(minutes=10), only="alerts")
    assert not [p for p in posted(fake, "C0123ABCD") if p["text"].startswith("✅ Recovered")]  # snoozed: no recovery either
    shown = run_command(db, ROUTER, "bob", "/kpi alerts", now=nine + timedelta(minutes=11), platform="test")
    assert "snoozed by Bob Jones" in json.dumps([b.__dict__ for b in shown.blocks if hasattr(b, "rows")], default=str)


@pytest.mark.parametrize(
    ("value", "code"),
    [("nope", "usage"), (json.dumps({"team": "support-emea", "metric": "colour", "day": "2026-12-01"}), "usage"),
     (json.dumps({"team": "gone", "metric": "backlog", "day": "2026-12-01"}), "not_found")],
)
def test_a_forged_snooze_is_refused(db: Database, value: str, code: str) -> None:
    apply(db, "{backlog: {above: 1}}")
    reply = run_action(db, ROUTER, "bob", SNOOZE_ACTION, value, now=datetime(2026, 12, 1, 9, tzinfo=UTC), platform="test")
    assert reply.error is not None and reply.error.code == code


def test_kpi_alerts_without_rules_and_with_a_window_says_so(db: Database) -> None:
    with db.sessions() as s, s.begin():
        apply_org(s, parse_org((FIXTURES / "org.yaml").read_text(), METRIC_NAMES))
    reply = run_command(db, ROUTER, "alice", "/kpi alerts", now=datetime(2026, 12, 1, 9, tzinfo=UTC), platform="test")
    assert reply.ok and "has no KPI alerts" in reply.blocks[0].text  # type: ignore[union-attr]
    bad = run_command(db, ROUTER, "alice", "/kpi alerts 7d", now=datetime(2026, 12, 1, 9, tzinfo=UTC), platform="test")
    assert bad.error is not None and bad.error.code == "usage" and "not a window" in bad.error.message
    assert not any(isinstance(b, Actions) for b in reply.blocks)
    with db.sessions() as s:
        assert s.scalar(select(OutboxRow.id)) is None
