"""Who may put whom on call for which queue: its leads (named in the org file, or by default the leads of the teams on its schedules), managers and admins; a specialist themselves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org
from tests.helpers import in_clean_directory
from tests.test_escalations import T0, ask, setup

ORG = """
org: {name: Acme Support, timezone: Europe/Berlin}
teams:
  - {key: support, name: Support, timezone: Europe/Berlin}
  - {key: billing-desk, name: Billing desk, timezone: Europe/Berlin}
  - {key: tech, name: Tech, timezone: Europe/Berlin}
members:
  - {handle: alice, name: Alice Agent, team: support, role: agent, slack_id: UALICE}
  - {handle: lena, name: Lena Lead, team: support, role: lead, slack_id: ULENA}
  - {handle: rachel, name: Rachel Lead, team: billing-desk, role: lead, slack_id: URACHEL}
  - {handle: tom, name: Tom Lead, team: tech, role: lead, slack_id: UTOM}
  - {handle: dana, name: Dana Specialist, team: billing-desk, role: agent, slack_id: UDANA}
  - {handle: eli, name: Eli Specialist, team: billing-desk, role: agent, slack_id: UELI}
  - {handle: fay, name: Fay Engineer, team: tech, role: agent, slack_id: UFAY}
  - {handle: ivan, name: Ivan Unreachable, team: billing-desk, role: agent}
  - {handle: mo, name: Mo Manager, team: support, role: manager}
  - {handle: root, name: Riley Admin, role: admin}
escalation:
  queues:
    - key: billing
      name: Billing specialists
      channels: {slack: CBILL}
      schedules:
        - key: primary
          timezone: Europe/Berlin
          layers:
            - {members: [dana, eli, ivan], shift: 1w, start: "2026-01-05T09:00"}
      policy:
        levels:
          - {notify: [schedule:primary], wait: 10m}
    - key: tier2
      name: Tier 2
      leads: [lena]
      schedules:
        - key: primary
          timezone: Europe/Berlin
          layers:
            - {members: [fay], shift: 1w, start: "2026-01-05T09:00"}
      policy:
        levels:
          - {notify: [schedule:primary], wait: 10m}
"""


@pytest.mark.parametrize(
    ("who", "command", "allowed"),
    [
        ("rachel", "/oncall cover @eli billing 2h", True),  # billing's lead by default: the lead of the team on its schedule
        ("lena", "/oncall cover @eli billing 2h", False),  # a lead of another team
        ("tom", "/oncall cover @eli billing 2h", False),
        ("lena", "/oncall cover @fay tier2 2h", True),  # named in the file
        ("tom", "/oncall cover @fay tier2 2h", False),  # fay's team lead, but the file names tier2's leads
        ("rachel", "/oncall cover @fay tier2 2h", False),
        ("mo", "/oncall cover @eli billing 2h", True),  # managers and admins arrange every queue
        ("root", "/oncall cover @alice tier2 2h", True),
        ("dana", "/oncall cover @dana billing 2h", True),  # a specialist, for themselves
        ("dana", "/oncall cover @eli billing 2h", False),
        ("alice", "/oncall cover @alice billing 2h", False),  # not a specialist of billing
    ],
)
def test_who_may_cover_which_queue(db: Database, who: str, command: str, allowed: bool) -> None:
    setup(db, ORG)
    out = ask(db, who, command, T0)
    if allowed:
        assert out["ok"], out
        return
    assert not out["ok"] and out["reply"].error.code == "forbidden", out
    queue = "Billing specialists" if "billing" in command else "Tier 2"
    leads = "@rachel" if "billing" in command else "@lena"
    assert f"Who is on call for {queue} is arranged by its leads ({leads}), managers and admins" in out["error"]
    assert ask(db, "alice", "/oncall covers", T0)["data"]["covers"] == []


def test_removing_a_cover_follows_the_same_rule(db: Database) -> None:
    setup(db, ORG)
    cover = ask(db, "rachel", "/oncall cover @eli billing 2h", T0)["data"]["cover"]["id"]
    for who in ("lena", "tom", "alice", "dana"):
        refused = ask(db, who, f"/oncall uncover {cover}", T0)
        assert not refused["ok"] and "arranged by its leads (@rachel)" in refused["error"], (who, refused)
    assert ask(db, "eli", f"/oncall uncover {cover}", T0)["ok"]  # the person covering
    again = ask(db, "rachel", "/oncall cover @eli billing 2h", T0)["data"]["cover"]["id"]
    assert ask(db, "mo", f"/oncall uncover {again}", T0)["ok"]


def test_a_queue_with_no_leads_is_arranged_by_managers_and_admins(db: Database) -> None:
    setup(db, ORG.replace("leads: [lena]", "leads: []"))
    refused = ask(db, "lena", "/oncall cover @fay tier2 2h", T0)
    assert not refused["ok"] and "arranged by managers and admins (it has no leads)" in refused["error"]
    assert ask(db, "mo", "/oncall cover @fay tier2 2h", T0)["ok"]
    assert ask(db, "fay", "/oncall cover @fay tier2 2h", T0 + timedelta(hours=3))["ok"]


def test_covering_someone_csbot_cannot_reach_warns(db: Database) -> None:
    setup(db, ORG)
    out = ask(db, "rachel", "/oncall cover @ivan billing 2h", T0)
    assert out["ok"] and out["data"]["warnings"] == [
        "Ivan Unreachable has no Slack or Teams id: csbot cannot page them, so escalations during this cover go straight to the policy's next level."
    ]
    assert any("⚠️ Ivan Unreachable has no Slack or Teams id" in getattr(b, "text", "") for b in out["reply"].blocks)
    assert "warnings" not in ask(db, "rachel", "/oncall cover @eli billing 2h", T0)["data"]


def test_leads_round_trip_through_org_show_and_unknown_ones_are_refused_by_line(db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    setup(db, ORG)
    in_clean_directory(tmp_path, monkeypatch, db_url)
    assert main(["org", "show"]) == 0
    shown = capsys.readouterr().out
    assert "    leads:\n    - lena\n" in shown and shown.count("leads:") == 1  # billing's leads are the default: not written
    with db.sessions() as s, s.begin():
        assert not apply_org(s, parse_org(shown, METRIC_NAMES)).changed
    # Naming billing's leads, then taking tier2's away, is a change that applies and shows.
    edited = ORG.replace("      name: Billing specialists\n", "      name: Billing specialists\n      leads: [rachel, '@tom']\n").replace("      leads: [lena]\n", "")
    with db.sessions() as s, s.begin():
        assert apply_org(s, parse_org(edited, METRIC_NAMES)).changed
    with db.sessions() as s:
        doc = org_document(s)
    queues = {q["key"]: q for q in doc["escalation"]["queues"]}
    assert queues["billing"]["leads"] == ["rachel", "tom"] and "leads" not in queues["tier2"]
    assert ask(db, "tom", "/oncall cover @eli billing 2h", T0)["ok"]
    assert not ask(db, "lena", "/oncall cover @fay tier2 2h", T0)["ok"]  # tech's lead by default now, not lena
    assert ask(db, "tom", "/oncall cover @fay tier2 2h", T0)["ok"]
    assert "leads" in dump_org(doc)

    bad = ORG.replace("leads: [lena]", "leads: [lena, nobody]")
    with pytest.raises(OrgFileError) as refused:
        parse_org(bad, METRIC_NAMES)
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if "leads: [lena, nobody]" in text)
    assert any(f":{line}:" in p and "leads: unknown member 'nobody'" in p for p in refused.value.problems), refused.value.problems
    with pytest.raises(OrgFileError) as refused:
        parse_org(ORG.replace("leads: [lena]", "leads: {lena: yes}"), METRIC_NAMES)
    assert any("leads must be a list" in p for p in refused.value.problems)
