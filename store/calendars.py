"""Which business calendar applies to a team, and the days it is closed.

The org file's calendars are stored as written (`store.calendar_file`); this
turns one into a `store.business_time.BusinessCalendar`, with the public
holidays of its country (and region) from the `holidays` package and its own
days off. A team uses the calendar it names, else the org's; `none`, or no
calendar anywhere, means around the clock (`None`: the wall clock).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from store.business_time import BusinessCalendar
from store.calendar_file import NO_CALENDAR, CalendarSpec, own_dates
from store.org import Org, Team

# Public holidays are looked up for these years, once per country and region
# per process (Germany/Berlin: about 70 ms): the history csbot imports and the
# schedules it plans fall inside them.
HOLIDAY_YEARS = range(2000, 2051)


@lru_cache(maxsize=64)
def public_holidays(country: str, subdiv: str | None = None) -> frozenset[date]:
    """The public holidays of a country (and subdivision) the `holidays` package knows, over HOLIDAY_YEARS."""
    import holidays  # large: imported only where a calendar names a country

    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=HOLIDAY_YEARS).keys())


@lru_cache(maxsize=256)
def _calendar(key: str, zone: str, hours: tuple[str, ...], country: str | None, subdiv: str | None, dates: tuple[str, ...]) -> BusinessCalendar:
    closed = own_dates(dates) | (public_holidays(country, subdiv) if country else frozenset())
    return BusinessCalendar.parse(list(hours), zone, closed)


def business_calendar(spec: CalendarSpec) -> BusinessCalendar:
    """The calendar `spec` describes (cached: the same spec gives the same object, so its figures are cached too)."""
    return _calendar(spec.key, spec.timezone, tuple(spec.hours), spec.country, spec.subdiv, tuple(spec.dates))


def calendar_named(org: Org | None, key: str | None) -> BusinessCalendar | None:
    """The org's calendar called `key`; None for `none`, no key, or a key the org no longer has."""
    if org is None or not key or key == NO_CALENDAR:
        return None
    for data in org.calendars or ():
        if data.get("key") == key:
            return business_calendar(CalendarSpec.from_dict(data))
    return None


def team_calendar(org: Org | None, team: Team | None) -> BusinessCalendar | None:
    """The calendar a team works by: its own, else the org's; None: around the clock."""
    return calendar_for(org, team.calendar if team is not None else None)


def calendar_for(org: Org | None, named: str | None) -> BusinessCalendar | None:
    """The calendar of a team whose `calendar:` is `named` (None: it names none, so the org's)."""
    return calendar_named(org, named or (org.calendar if org is not None else None))


def closed_days(calendar: BusinessCalendar | None) -> frozenset[date]:
    """The days a calendar is closed (none for around the clock)."""
    return calendar.closed if calendar is not None else frozenset()
