"""An independent KPI computation in plain Python, to check the engine against.

Deliberately shares no code with `kpi/` or `store/business_time.py`: it uses
the standard library's statistics module (whose "inclusive" quantiles are
numpy's linear method), and counts business time from the calendar's weekly
ranges turned into instants day by day with zoneinfo (`Hours`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

UTC = timezone.utc


@dataclass(frozen=True)
class Hours:
    """A business calendar as the oracle reads it: weekly local ranges and closed local dates.

    `ranges`: (weekday Mon=0, start minute, end minute); an end at or before
    the start runs past midnight into the next day (1440 is midnight as an
    end). A closed date cancels the ranges that start on it.
    """

    zone: ZoneInfo
    ranges: tuple[tuple[int, int, int], ...]
    closed: frozenset[date] = frozenset()


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minute(text: str) -> int:
    hours, minutes = text.strip().split(":")
    return int(hours) * 60 + int(minutes)


def hours_from(spec: dict, years: range = range(2000, 2051)) -> Hours:  # type: ignore[type-arg]
    """A calendar as the org file writes it (`key`, `timezone`, `hours`, `holidays`), read by hand.

    Hours lines are `DAYS HH:MM-HH:MM[,...]` with DAYS `mon`, `mon-fri` or
    `mon,wed`; the public holidays come from the `holidays` package itself.
    """
    import holidays

    ranges = []
    for line in spec["hours"]:
        days_text, _, times = line.strip().partition(" ")
        days: list[int] = []
        for part in days_text.split(","):
            first, _, last = part.partition("-")
            a, b = _DAYS.index(first), _DAYS.index(last or first)
            days += list(range(a, b + 1))
        for stretch in times.split(","):
            begin, _, end = stretch.partition("-")
            ranges += [(d, _minute(begin), _minute(end)) for d in days]
    found = spec.get("holidays") or {}
    closed = set(holidays.country_holidays(found["country"], subdiv=found.get("subdiv"), years=years)) if found.get("country") else set()
    for text in found.get("dates") or []:
        first, _, last = text.partition(" to ")
        day, stop = date.fromisoformat(first), date.fromisoformat(last or first)
        while day <= stop:
            closed.add(day)
            day += timedelta(days=1)
    return Hours(ZoneInfo(spec["timezone"]), tuple(ranges), frozenset(closed))


def team_hours(calendars: list[dict] | None, org_calendar: str | None, team_calendar: str | None) -> Hours | None:  # type: ignore[type-arg]
    """The hours a team's tickets are counted on: its calendar, else the org's; None for `none` or no calendar."""
    key = team_calendar or org_calendar
    spec = next((c for c in calendars or [] if c["key"] == key), None)
    return hours_from(spec) if spec is not None and key != "none" else None


def _instant(zone: ZoneInfo, wall: datetime, is_start: bool) -> datetime:
    """A naive wall time as an instant: a start at its first occurrence, an end at its last, a skipped one at the end of the gap."""
    while True:
        seen = [u for fold in (0, 1) if (u := wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)).astimezone(zone).replace(tzinfo=None) == wall]
        if seen:
            return min(seen) if is_start else max(seen)
        wall += timedelta(minutes=1)  # in a gap: the first wall minute after it that exists


def business_seconds(hours: Hours | None, start: datetime, end: datetime) -> int:
    """Whole seconds of [start, end) inside the calendar's open ranges (wall seconds for None)."""
    if end <= start:
        return 0
    if hours is None:
        return int((end - start).total_seconds())
    spans = []
    day = start.astimezone(hours.zone).date() - timedelta(days=2)
    while day <= end.astimezone(hours.zone).date() + timedelta(days=1):
        if day not in hours.closed:
            for weekday, a, b in hours.ranges:
                if weekday == day.weekday():
                    stop_day = day + timedelta(days=1) if b <= a or b == 1440 else day
                    begin = _instant(hours.zone, datetime.combine(day, time(a // 60, a % 60)), True)
                    stop = _instant(hours.zone, datetime.combine(stop_day, time((b % 1440) // 60, b % 60)), False)
                    spans.append((max(begin, start), min(stop, end)))
        day += timedelta(days=1)
    total, reached = 0.0, start
    for a, b in sorted(spans):  # ranges that overlap in instants (a repeated hour) count once
        a = max(a, reached)
        if b > a:
            total += (b - a).total_seconds()
            reached = b
    return int(total)


@dataclass
class T:
    created_at: datetime
    first_reply_at: datetime | None = None
    solved_at: datetime | None = None
    replies: int | None = None
    reopens: int | None = None
    csat: str | None = None
    sla_met: bool | None = None
    # An SLA policy's due times (with `policy`, its key): then the policy says whether it met its SLA.
    policy: str | None = None
    first_reply_due: datetime | None = None
    resolution_due: datetime | None = None
    hours: Hours | None = field(default=None, compare=False)  # its team's calendar; None: around the clock


def stored(row: Any, policies: dict[int, str] | None = None, hours: Hours | None = None) -> T:
    """A stored ticket as the oracle reads it; its policy named by `policies` (id -> key), else by its id; `hours`: its team's calendar."""
    policy = None if row.sla_policy_id is None else (policies or {}).get(row.sla_policy_id, str(row.sla_policy_id))
    return T(
        row.created_at, row.first_reply_at, row.solved_at, row.replies, row.reopens, row.csat, row.sla_met,
        policy, row.first_reply_due_at, row.resolution_due_at, hours=hours,
    )  # fmt: skip


def stored_tickets(session: Any, query: Any, policies: dict[int, str] | None = None) -> list[T]:
    """The tickets `query` selects as the oracle reads them, each with its team's business hours (the org's calendars read by hand)."""
    from sqlalchemy import select

    from store.org import Org, Team

    org = session.get(Org, 1)
    calendars, org_calendar = (org.calendars, org.calendar) if org is not None else (None, None)
    none = team_hours(calendars, org_calendar, None)
    hours = {t.id: team_hours(calendars, org_calendar, t.calendar) for t in session.scalars(select(Team))}
    return [stored(t, policies, hours.get(t.team_id, none) if t.team_id else none) for t in session.scalars(query)]


def sla_outcome(t: T, end: datetime) -> str | None:
    """"achieved", "breached" or "open_within" for a ticket with a policy, as of `end`; None when nothing is measured.

    Written out target by target, as a person checks a ticket: when did its
    answer (the first reply, else the solve) and its solve come, if they had
    come by `end`, and when were they due.
    """
    verdicts = []
    answered = min((x for x in (t.first_reply_at, t.solved_at) if x is not None), default=None)
    for done, due in ((answered, t.first_reply_due), (t.solved_at, t.resolution_due)):
        if due is None:
            continue
        seen = done if done is not None and done <= end else None
        if seen is not None:
            verdicts.append("met" if seen <= due else "missed")
        elif due < end:
            verdicts.append("missed")
        else:
            verdicts.append("waiting")
    if not verdicts:
        return None
    if "missed" in verdicts:
        return "breached"
    return "achieved" if all(v == "met" for v in verdicts) else "open_within"


def sla_met(t: T) -> bool | None:
    """Whether a solved ticket met its SLA: its policy's outcome at its solve, or its imported sla_met without one."""
    if t.policy is None:
        return t.sla_met
    assert t.solved_at is not None
    outcome = sla_outcome(t, t.solved_at)
    return None if outcome is None else outcome == "achieved"


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


@dataclass
class R:
    """A QA review as the oracle reads it."""

    created_at: datetime
    score: float | None
    passed: bool | None


def oracle(
    tickets: Iterable[T], start: datetime, end: datetime, reviews: Iterable[R] = (), assignments: Iterable[Any] = ()
) -> dict[str, float | int | None]:
    tickets = list(tickets)
    scored = [r for r in reviews if start <= r.created_at < end and r.score is not None]
    created = [t for t in tickets if start <= t.created_at < end]
    solved = [t for t in tickets if t.solved_at is not None and start <= t.solved_at < end]
    fr = [(t.first_reply_at - t.created_at).total_seconds() for t in created if t.first_reply_at is not None]
    res = [(t.solved_at - t.created_at).total_seconds() for t in solved]  # type: ignore[operator]
    fr_bh = [business_seconds(t.hours, t.created_at, t.first_reply_at) for t in created if t.first_reply_at is not None]
    res_bh = [business_seconds(t.hours, t.created_at, t.solved_at) for t in solved]  # type: ignore[arg-type]
    return {
        "tickets_created": len(created),
        "tickets_solved": len(solved),
        "backlog": sum(1 for t in tickets if t.created_at < end and (t.solved_at is None or t.solved_at >= end)),
        "first_reply_median_s": statistics.median(fr) if fr else None,
        "first_reply_p90_s": _p90(fr),
        "first_reply_mean_s": statistics.fmean(fr) if fr else None,
        "resolution_median_s": statistics.median(res) if res else None,
        "resolution_p90_s": _p90(res),
        "resolution_mean_s": statistics.fmean(res) if res else None,
        "first_reply_bh_median_s": statistics.median(fr_bh) if fr_bh else None,
        "first_reply_bh_p90_s": _p90(fr_bh),
        "first_reply_bh_mean_s": statistics.fmean(fr_bh) if fr_bh else None,
        "resolution_bh_median_s": statistics.median(res_bh) if res_bh else None,
        "resolution_bh_p90_s": _p90(res_bh),
        "resolution_bh_mean_s": statistics.fmean(res_bh) if res_bh else None,
        "one_touch_rate": _share([t.replies <= 1 for t in solved if t.replies is not None]),
        "reopen_rate": _share([t.reopens >= 1 for t in solved if t.reopens is not None]),
        "csat": _share([t.csat == "good" for t in solved if t.csat is not None]),
        "sla_attainment": _share([bool(sla_met(t)) for t in solved if sla_met(t) is not None]),
        "n_first_reply": len(fr),
        "n_resolution": len(res),
        "n_one_touch": sum(1 for t in solved if t.replies is not None),
        "n_reopen": sum(1 for t in solved if t.reopens is not None),
        "n_csat": sum(1 for t in solved if t.csat is not None),
        "n_sla": sum(1 for t in solved if sla_met(t) is not None),
        "qa_score": statistics.fmean(r.score for r in scored) if scored else None,  # type: ignore[misc]
        "qa_pass_rate": _share([bool(r.passed) for r in scored]),
        "qa_reviews": len(scored),
        # The weekly sample's assignments due in the window, skipped and rolled ones left out.
        **_coverage([a for a in assignments if start <= a.due_at < end and a.state in ("open", "done", "lapsed")]),
    }


def _coverage(due: list[Any]) -> dict[str, float | int | None]:
    return {"qa_coverage": _share([a.state == "done" for a in due]), "qa_assigned": len(due)}


def assert_same(actual: dict, expected: dict) -> None:  # type: ignore[type-arg]
    assert set(actual) == set(expected)
    for name, want in expected.items():
        got = actual[name]
        if want is None:
            assert got is None, (name, got)
        elif name.endswith("_s"):
            assert got is not None and abs(got - want) < 1e-6, (name, got, want)
        else:
            assert got is not None and abs(got - want) <= 1e-6, (name, got, want)
