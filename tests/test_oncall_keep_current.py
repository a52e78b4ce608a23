"""Keeping the person on call when a rotation's members change: `current: HANDLE since START`, written by hand or kept by `csbot org apply`.

billing/primary (tests/test_escalations.py's org) is a weekly Berlin rotation
of dana, eli and fay handing over on Mondays at 09:00: dana has the week of
7 December.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from escalation.keep_current import keep_current, snapshot
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import OrgFileError, apply_org, dump_org, org_document, parse_org
from tests.test_escalations import ORG, T0, ask, setup

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
ROTATION = '{members: [dana, eli, fay], shift: 1w, start: "2026-01-05T09:00"}'


def monday(day: int) -> str:
    return datetime(2026, 12, day, 9, tzinfo=BERLIN).astimezone(UTC).isoformat()


def weeks(db: Database, at: datetime) -> list[tuple[str, list[str]]]:
    timeline = ask(db, "alice", "/oncall schedule billing/primary 28d", at)["data"]["timeline"]
    return [(p["start"], p["handles"]) for p in timeline]


def test_current_pins_who_holds_the_shift_from_then_on(db: Database) -> None:
    setup(db, ORG.replace(ROTATION, ROTATION[:-1] + ', current: "fay since 2026-12-14T09:00"}'))
    assert weeks(db, T0) == [
        (T0.isoformat(), ["dana"]),
        (monday(14), ["fay"]),  # fay, not eli: the shifts start over at fay ...
        (monday(21), ["dana"]),  # ... and go on in list order from her
        (monday(28), ["eli"]),
        (datetime(2027, 1, 4, 9, tzinfo=BERLIN).astimezone(UTC).isoformat(), ["fay"]),
    ]


@pytest.mark.parametrize(
    ("current", "problem"),
    [
        ("gus since 2026-12-14T09:00", "current: 'gus' is not one of the layer's members"),
        ("fay from 2026-12-14T09:00", 'current must be "HANDLE since START"'),
        ("fay since tomorrow", "current:"),
    ],
)
def test_current_is_checked_by_line(current: str, problem: str) -> None:
    with pytest.raises(OrgFileError) as caught:
        parse_org(ORG.replace(ROTATION, ROTATION[:-1] + f', current: "{current}"}}'), METRIC_NAMES)
    assert problem in str(caught.value)


def reordered(members: str) -> str:
    return ORG.replace("[dana, eli, fay], shift: 1w", f"[{members}], shift: 1w")


def test_reordering_members_keeps_whoever_is_on_call(db: Database) -> None:
    setup(db)
    # Without keeping, the new order would give this week (the 48th since the start) to eli.
    with db.sessions() as s, s.begin():
        before = snapshot(s)
        apply_org(s, parse_org(reordered("eli, fay, dana, gus"), METRIC_NAMES))
        said = keep_current(s, before, T0)
    assert said == ["billing/primary: kept dana on call in the shift that began 2026-12-07T09:00 (Europe/Berlin); the new order follows it"]
    assert weeks(db, T0)[:4] == [(T0.isoformat(), ["dana"]), (monday(14), ["gus"]), (monday(21), ["eli"]), (monday(28), ["fay"])]
    # `csbot org show` writes it back; applying that file again changes nothing more.
    with db.sessions() as s:
        text = dump_org(org_document(s))
    assert 'current: dana since 2026-12-07T09:00' in text
    with db.sessions() as s, s.begin():
        before = snapshot(s)
        apply_org(s, parse_org(text, METRIC_NAMES))
        assert keep_current(s, before, T0 + timedelta(days=2)) == []


def test_unchanged_members_or_a_new_rotation_are_left_alone(db: Database) -> None:
    setup(db)
    with db.sessions() as s, s.begin():
        before = snapshot(s)
        apply_org(s, parse_org(ORG, METRIC_NAMES))
        assert keep_current(s, before, T0) == []
    # A new start or shift is a new rotation, as written: nothing is kept.
    with db.sessions() as s, s.begin():
        before = snapshot(s)
        apply_org(s, parse_org(reordered("eli, fay, dana").replace('start: "2026-01-05T09:00"}', 'start: "2026-12-07T09:00"}', 1), METRIC_NAMES))
        assert keep_current(s, before, T0) == []
    assert weeks(db, T0)[0] == (T0.isoformat(), ["eli"])


def test_csbot_org_apply_keeps_the_current_person(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Database) -> None:
    setup(db)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("CSBOT_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "org.yaml"
    path.write_text(reordered("fay, dana, eli"), encoding="utf-8")
    assert main(["org", "apply", str(path), "--dry-run"]) == 0
    with db.sessions() as s:
        assert all("current" not in layer for q in org_document(s)["escalation"]["queues"] for sch in q.get("schedules", []) for layer in sch["layers"])
    assert main(["org", "apply", str(path)]) == 0
    with db.sessions() as s:
        layers = [layer for q in org_document(s)["escalation"]["queues"] for sch in q.get("schedules", []) for layer in sch["layers"] if "current" in layer]
    assert len(layers) == 1 and layers[0]["members"] == ["fay", "dana", "eli"]
