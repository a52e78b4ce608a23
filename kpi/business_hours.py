"""Business hours in the KPIs: the calendar each ticket is counted on, and the clock a card shows.

Every duration metric has a business-hours twin (`first_reply_bh_median_s`
beside `first_reply_median_s`, and so on for p90 and mean, first reply and
resolution): the same tickets, their time counted only while the calendar is
open (`store.business_time`). A ticket is counted on its own team's calendar
(`store.calendars`: the team's, else the org's; `none`, or no calendar at all,
is around the clock, where business time is wall time); a ticket without a
team on the org's. So the org's figures mix calendars the only way that is
fair to every team: each ticket on the hours its team keeps.

The engine always computes both sets (`--json` carries both). A card shows one
of them: its *clock*. A team with a calendar is shown in business hours, as
its SLAs run; `--wall` shows the wall clock. Targets and alerts name the
metric without a clock (`first_reply_median_s: 3600`) and apply to the figure
shown: the business-hours one for a team with a calendar, the wall-clock one
for a team around the clock or asked `--wall`.

The figures are computed when tickets are read, never stored on a ticket:
a ticket's times are the truth and its team's calendar the only other input,
so an import or a webhook event writes nothing more, and a calendar change
is only a recount of the days it touched (`kpi.day_facts` keeps, per team,
the calendar its days were counted on, and recounts when it changes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kpi.definitions import BY_NAME
from store.base import Base
from store.business_time import BusinessCalendar, elapsed_seconds
from store.calendars import calendar_for
from store.org import Org, Team

Clock = Literal["business", "wall"]
Metrics = dict[str, float | int | None]

# Each wall-clock duration metric and its business-hours twin.
BUSINESS_NAMES: dict[str, str] = {
    f"{what}_{stat}_s": f"{what}_bh_{stat}_s"
    for what in ("first_reply", "resolution")
    for stat in ("median", "p90", "mean")
}


class DayCalendar(Base):
    """The calendar a team's day facts were counted on (kpi.business_hours.fingerprint; "" around the clock).

    When a team's calendar changes (its own or the org's, their hours or
    holidays: `csbot org apply`, or a new release of the holidays package),
    its business-hours figures are counted again: kpi.day_facts.refresh()
    compares and recounts the team's days, and until then the engine reads
    that team from the tickets (`Calendars.stale`), so a figure never mixes
    two calendars.
    """

    __tablename__ = "kpi_day_calendars"

    team_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class Calendars:
    """The calendar of every team (by id), and the org's for tickets without a team; None: around the clock.

    `stale`: the team keys (0: no team) whose counted days were counted on
    another calendar than their own now; the engine reads their tickets instead.
    """

    teams: Mapping[int, BusinessCalendar | None]
    default: BusinessCalendar | None = None
    stale: frozenset[int] = frozenset()

    def of(self, team_id: int | None) -> BusinessCalendar | None:
        """The calendar a ticket of `team_id` is counted on (None or an unknown id: the org's)."""
        if team_id is None:
            return self.default
        return self.teams.get(team_id, self.default)

    @property
    def any(self) -> bool:
        """Whether any ticket is counted on business hours at all (else every figure is wall time)."""
        return self.default is not None or any(c is not None for c in self.teams.values())

    def seconds(self, team_ids: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Business seconds from each start to its end (epoch seconds), each on its team's calendar.

        `team_ids` 0 (or any id not a team's) is a ticket without a team.
        One vectorised pass per calendar, whatever the number of tickets.
        """
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        out = np.maximum(ends - starts, 0)
        if not self.any or not len(out):
            return out
        team_ids = np.asarray(team_ids, dtype=np.int64)
        groups: dict[BusinessCalendar, list[int]] = {}
        for team_id in np.unique(team_ids).tolist():
            calendar = self.of(team_id or None)
            if calendar is not None:
                groups.setdefault(calendar, []).append(team_id)
        for calendar, ids in groups.items():
            mask = team_ids == ids[0] if len(ids) == 1 else np.isin(team_ids, ids)
            out[mask] = elapsed_seconds(calendar, starts[mask], ends[mask])
        return out

    def fingerprints(self, team_keys: Iterable[int]) -> dict[int, str]:
        """What each team key's business figures are counted on (key 0: no team), as `fingerprint` writes it."""
        return {key: fingerprint(self.of(key or None)) for key in team_keys}


def load(session: Session) -> Calendars:
    """Every team's calendar as the org file now says (store.calendars), the org's, and which counted days are stale."""
    org = session.get(Org, 1)
    named: dict[str | None, BusinessCalendar | None] = {}  # most teams share a few calendars: each read once
    teams = {}
    for team_id, key in session.execute(select(Team.id, Team.calendar)):
        if key not in named:
            named[key] = calendar_for(org, key)
        teams[team_id] = named[key]
    found = Calendars(teams, named[None] if None in named else calendar_for(org, None))
    counted_on = session.execute(select(DayCalendar.team_key, DayCalendar.fingerprint))
    stale = frozenset(key for key, stored in counted_on if stored != fingerprint(found.of(key or None)))
    return replace(found, stale=stale) if stale else found


@lru_cache(maxsize=256)
def fingerprint(calendar: BusinessCalendar | None) -> str:
    """A short digest of what business time depends on: the zone, the weekly hours, the closed dates ("" around the clock).

    Equal calendars have equal digests in every process and release, so a
    digest stored beside counted figures says whether they are still right.
    """
    if calendar is None:
        return ""
    text = "|".join(
        [
            calendar.zone.key,
            ";".join(",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in day) for day in calendar.hours),
            ",".join(sorted(d.isoformat() for d in calendar.closed)),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def team_clock(calendars: Calendars, team_id: int | None, *, wall: bool = False) -> Clock:
    """The clock a team's (or an agent's, by their team) cards show: business hours when it has a calendar."""
    return "business" if not wall and calendars.of(team_id) is not None else "wall"


def org_clock(calendars: Calendars, *, wall: bool = False) -> Clock:
    """The clock the org's figures show: business hours when any team (or the org) has a calendar."""
    return "business" if not wall and calendars.any else "wall"


def on_clock(metrics: Metrics, clock: Clock) -> Metrics:
    """The figures a card shows: on "business" the durations are the business-hours ones, under the wall names.

    Only for showing and judging (targets, alerts, sorting); `--json` carries
    the engine's metrics, both sets under their own names.
    """
    if clock == "wall":
        return metrics
    return {**metrics, **{wall: metrics[business] for wall, business in BUSINESS_NAMES.items() if business in metrics}}


def label(name: str, clock: Clock) -> str:
    """A metric's label on `clock`: `First reply (median, business hours)` for a duration in business hours."""
    text = BY_NAME[name].label
    if clock == "business" and name in BUSINESS_NAMES:
        return text[:-1] + ", business hours)" if text.endswith(")") else f"{text} (business hours)"
    return text


def business_label(name: str) -> str:
    """The label of a business-hours metric by its own name (`first_reply_bh_median_s`)."""
    wall = next(w for w, b in BUSINESS_NAMES.items() if b == name)
    return label(wall, "business")
