"""Deterministic, realistic helpdesk tickets for `csbot demo` and benchmarks.

`generate_tickets` yields rows ready for a SQLAlchemy Core executemany into the
tickets table. Everything is drawn from one `random.Random(seed)` (plus one
seeded per-agent stream), so a seed and an end time always give the same rows.

The shape of the data is what a support lead would recognise: arrivals follow
business hours in each team's own time zone and drop at weekends, chat and
phone are answered in minutes while email waits hours, resolution has a heavy
tail, a few tickets bounce back, a third of customers rate their experience.
Tickets whose story has not finished by `end` are still open.

Speed matters (a benchmark generates a million rows), so the per-ticket loop
uses only `random()` and table lookups: normal quantiles are precomputed rather
than calling `gauss`, and time zones are resolved once per UTC hour of the
window, never per ticket.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from statistics import NormalDist
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

__all__ = ["TeamProfile", "generate_tickets", "SUBJECTS", "SUBJECT_TAGS", "FIRST_REPLY_SLA_S"]

T = TypeVar("T")

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_HOUR = 3600
_DAY = 86400


@dataclass(frozen=True)
class TeamProfile:
    """One team as the generator sees it.

    `weight` is the team's relative ticket volume; `agent_ids` are the member
    ids of the agents who work its tickets (may be empty: tickets then have no
    agent).
    """

    key: str
    timezone: str
    weight: float
    agent_ids: tuple[int, ...]


# --- the shape of the data -------------------------------------------------

# Relative arrivals per local hour: a morning peak near 10:00, a lunch dip,
# an afternoon peak near 14:00, and a quiet night.
HOUR_WEIGHTS: tuple[float, ...] = (
    0.08, 0.06, 0.05, 0.05, 0.06, 0.10, 0.22, 0.45,  # 00-07
    0.85, 1.20, 1.45, 1.30, 0.95, 1.20, 1.40, 1.25,  # 08-15
    1.00, 0.70, 0.45, 0.32, 0.25, 0.20, 0.15, 0.10,  # 16-23
)
# Monday carries the weekend backlog, Friday tails off; a weekend day is about
# a quarter of a weekday.
WEEKDAY_WEIGHTS: tuple[float, ...] = (1.10, 1.02, 1.00, 0.98, 0.90, 0.25, 0.25)

CHANNELS: tuple[str, ...] = ("email", "chat", "web", "phone")
CHANNEL_MIX: tuple[float, ...] = (0.45, 0.25, 0.20, 0.10)
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
PRIORITY_MIX: tuple[float, ...] = (0.20, 0.60, 0.15, 0.05)

# First-reply SLA per priority (seconds), the common helpdesk default.
FIRST_REPLY_SLA_S: dict[str, int] = {"low": 24 * _HOUR, "normal": 8 * _HOUR, "high": 4 * _HOUR, "urgent": _HOUR}

# Median first reply per channel; live channels are answered while the
# customer waits, written ones join a queue.
_FIRST_REPLY_MEDIAN_S = {"email": 2 * _HOUR, "chat": 4 * 60, "web": 2 * _HOUR, "phone": 2 * 60}
_FIRST_REPLY_PRIORITY_FACTOR = {"low": 1.5, "normal": 1.0, "high": 0.6, "urgent": 0.25}
_FIRST_REPLY_SIGMA = 1.0

_RESOLUTION_MEDIAN_S = 18 * _HOUR
_RESOLUTION_PRIORITY_FACTOR = {"low": 1.4, "normal": 1.0, "high": 0.6, "urgent": 0.35}
_RESOLUTION_SIGMA = 1.4  # heavy tail: a few tickets take weeks

# Reopens: share of solved tickets reopened at least once / a second time.
_REOPEN_ONCE = 0.06
_REOPEN_TWICE = 0.01
_REOPEN_GAP_MEDIAN_S = 20 * _HOUR  # until the customer writes back
_RESOLVE_AGAIN_MEDIAN_S = 6 * _HOUR
_REOPEN_SIGMA = 1.0

# Tickets resolved by the first reply itself (resolution draw <= first reply,
# ~6%) are one-touch by construction; this share of the others is one-touch
# too, making ~35% in all.
_ONE_TOUCH = 0.31
_MORE_REPLIES_P = 0.45  # geometric tail of further replies
_CSAT_RATED = 0.30
_UNASSIGNED = 0.03  # of unsolved tickets, still in the queue
_CLOSED_AFTER_S = 4 * _DAY  # helpdesks close solved tickets after a few days
_UNSOLVED_STATUS_MIX = (("open", 0.55), ("pending", 0.30), ("on_hold", 0.15))

# Each subject with the tags an agent (or a trigger) gives such a ticket, in stored form (store.ticket_fields).
SUBJECT_TAGS: tuple[tuple[str, str], ...] = (
    ("Refund not received", "billing refund"),
    ("Cannot log in", "account login"),
    ("Invoice address change", "billing invoice"),
    ("Order arrived damaged", "damaged shipping"),
    ("Where is my order?", "shipping"),
    ("Password reset email never arrives", "login password"),
    ("Charged twice this month", "billing refund"),
    ("Cancel my subscription", "cancellation subscription"),
    ("Upgrade to annual plan", "subscription upgrade"),
    ("Two-factor code not working", "2fa login"),
    ("Export to CSV fails", "bug export"),
    ("Change delivery address", "shipping"),
    ("Discount code not applied", "billing promo"),
    ("Account locked after too many attempts", "account login"),
    ("VAT number missing on invoice", "billing invoice"),
    ("App crashes on startup", "bug mobile"),
    ("Wrong item delivered", "returns shipping"),
    ("How do I add a team member?", "account how-to"),
    ("Payment declined", "billing payment"),
    ("Data not syncing between devices", "bug sync"),
    ("Request for a copy of my data", "account gdpr"),
    ("Integration with Slack stopped working", "bug integration"),
)
SUBJECTS: tuple[str, ...] = tuple(subject for subject, _ in SUBJECT_TAGS)
# Tickets from key accounts are tagged vip; a few tickets are never tagged at all.
_VIP = 0.08
_UNTAGGED = 0.04

# Resolution of the precomputed lookup tables; fine enough that the steps
# are invisible in any KPI, small enough to build in microseconds.
_QUANTILES = 8192
_MIX_TABLE = 1000
_KIND_TABLE = 10000  # channel x priority shares are whole hundredths of percents
_AGENT_TABLE = 1024


# --- precomputation ----------------------------------------------------------


def _mix_table(items: Sequence[T], weights: Sequence[float], size: int = _MIX_TABLE) -> tuple[T, ...]:
    """`items` repeated in proportion to `weights` (largest remainder), so that
    `table[int(random() * len(table))]` is a weighted choice in one lookup."""
    total = float(sum(weights))
    exact = [w / total * size for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(items)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: size - sum(counts)]:
        counts[i] += 1
    table: list[T] = []
    for item, c in zip(items, counts):
        table.extend([item] * c)
    return tuple(table)


def _lognormal_spread(sigma: float) -> tuple[float, ...]:
    """exp(sigma * z) at evenly spaced normal quantiles: multiply by a median
    to get a log-normal draw from one uniform number."""
    nd = NormalDist()
    return tuple(math.exp(sigma * nd.inv_cdf((i + 0.5) / _QUANTILES)) for i in range(_QUANTILES))


def _to_epoch_ceil(value: datetime) -> int:
    """Whole seconds since the epoch, rounded up (exact, no float)."""
    delta = value - _EPOCH
    return delta.days * _DAY + delta.seconds + (1 if delta.microseconds else 0)


def _arrival_slots(
    teams: Sequence[TeamProfile], start_s: int, end_s: int
) -> tuple[list[float], list[int], list[int], list[int]]:
    """The window cut into (team, UTC hour) slots with arrival weights.

    Each slot's weight is the team's share of volume times the business-hour
    and weekday profile at that hour in the team's local time. Walking UTC
    hours and asking the zone for the local clock makes DST changes exact
    without any per-ticket time zone work. Returns cumulative weights, slot
    starts, slot lengths (seconds) and slot team indexes.
    """
    cum: list[float] = []
    starts: list[int] = []
    lengths: list[int] = []
    team_of: list[int] = []
    first_hour = start_s - start_s % _HOUR
    total = 0.0
    for ti, team in enumerate(teams):
        zone = ZoneInfo(team.timezone)
        team_slots: list[tuple[int, int, float]] = []
        team_sum = 0.0
        h = first_hour
        while h < end_s:
            lo = max(h, start_s)
            hi = min(h + _HOUR, end_s)
            local = datetime.fromtimestamp(h, zone)
            w = HOUR_WEIGHTS[local.hour] * WEEKDAY_WEIGHTS[local.weekday()] * (hi - lo) / _HOUR
            team_slots.append((lo, hi - lo, w))
            team_sum += w
            h += _HOUR
        # Normalise per team so its share of tickets is exactly its weight,
        # however its business hours fall in the window.
        scale = team.weight / team_sum
        for lo, length, w in team_slots:
            if w <= 0.0:
                continue
            w *= scale
            total += w
            cum.append(total)
            starts.append(lo)
            lengths.append(length)
            team_of.append(ti)
    return cum, starts, lengths, team_of


class _Agent(NamedTuple):
    id: int | None
    speed: float  # multiplies first reply time
    good: float  # probability a rating is "good"


class _Kind(NamedTuple):
    """A channel and priority pair with the times that follow from it."""

    channel: str
    priority: str
    first_reply_median_s: float
    resolution_median_s: float
    sla_s: int


def _kind_table() -> tuple[_Kind, ...]:
    """Channel and priority are independent: one lookup in a table of their
    joint mix draws both, with the medians and SLA precomputed."""
    kinds: list[_Kind] = []
    weights: list[float] = []
    for channel, cw in zip(CHANNELS, CHANNEL_MIX):
        for priority, pw in zip(PRIORITIES, PRIORITY_MIX):
            kinds.append(
                _Kind(
                    channel,
                    priority,
                    _FIRST_REPLY_MEDIAN_S[channel] * _FIRST_REPLY_PRIORITY_FACTOR[priority],
                    _RESOLUTION_MEDIAN_S * _RESOLUTION_PRIORITY_FACTOR[priority],
                    FIRST_REPLY_SLA_S[priority],
                )
            )
            weights.append(cw * pw)
    return _mix_table(kinds, weights, _KIND_TABLE)


def _agent_tables(teams: Sequence[TeamProfile], seed: int) -> list[tuple[_Agent, ...]]:
    """Per team, a weighted lookup table of its agents.

    Agent traits come from their own seeded stream so an agent's workload,
    speed and CSAT stay the same whatever `count` or `days` are asked for.
    """
    rng = random.Random(f"csbot-generator-agents:{seed}")
    agents: dict[int, _Agent] = {}
    load: dict[int, float] = {}
    tables: list[tuple[_Agent, ...]] = []
    for team in teams:
        for agent_id in team.agent_ids:
            if agent_id not in agents:
                # Log-normal workload: a couple of agents carry noticeably
                # more tickets than the rest, as in any real team.
                load[agent_id] = rng.lognormvariate(0.0, 0.45)
                agents[agent_id] = _Agent(agent_id, rng.uniform(0.75, 1.35), rng.uniform(0.75, 0.97))
        if team.agent_ids:
            members = [agents[a] for a in team.agent_ids]
            tables.append(_mix_table(members, [load[a] for a in team.agent_ids], _AGENT_TABLE))
        else:
            tables.append((_Agent(None, 1.0, 0.88),))
    return tables


def _validate(teams: Sequence[TeamProfile], team_ids: Mapping[str, int], count: int, days: int, end: datetime) -> None:
    if count < 0:
        raise ValueError("count must be >= 0")
    if days < 1:
        raise ValueError("days must be >= 1")
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    if not teams:
        raise ValueError("at least one team is needed")
    for team in teams:
        if team.key not in team_ids:
            raise ValueError(f"no team id for team {team.key!r}")
        if not team.weight > 0:
            raise ValueError(f"team {team.key!r} needs a positive weight")
        ZoneInfo(team.timezone)  # raises for an unknown zone


# --- generation --------------------------------------------------------------


def generate_tickets(
    teams: Sequence[TeamProfile],
    team_ids: Mapping[str, int],
    *,
    count: int,
    days: int,
    end: datetime,
    seed: int,
    source: str = "demo",
) -> Iterator[dict[str, Any]]:
    """Yield `count` tickets created in [end - days, end), oldest first.

    Each row has the tickets table columns except `id` and the SLA ones
    (kpi.sla stamps those, as the org's policies say); times are
    aware UTC datetimes in whole seconds (UTCSeconds stores them), so the rows
    can go straight to `conn.execute(insert(Ticket.__table__), rows)`.
    `external_id` is "D-000001", "D-000002", ... in creation order. The same
    teams, ids, count, days, end and seed always give the same rows.

    Rows are produced lazily; only one integer per ticket (its arrival, needed
    for sorting) is held up front, so a million rows can be inserted in
    batches without holding them all. Tickets of a team with no `agent_ids`
    have no agent.

    Raises ValueError for a naive `end`, no teams, a team without an id or a
    positive weight, or an unknown time zone.
    """
    _validate(teams, team_ids, count, days, end)
    end_s = _to_epoch_ceil(end)
    start_s = _to_epoch_ceil(end - timedelta(days=days))
    rng = random.Random(seed)
    rnd = rng.random

    # Arrival times: inverse-CDF sampling of a piecewise-constant density over
    # (team, hour) slots. One uniform picks the slot and, by where it lands
    # inside the slot's weight, the second within it.
    cum, starts, lengths, team_of = _arrival_slots(teams, start_s, end_s)
    total = cum[-1]
    last = len(cum) - 1
    prev = [0.0, *cum[:-1]]
    # Seconds per unit of weight in each slot, shaved so rounding can never
    # land a ticket on the slot's (excluded) end.
    per_weight = [length * (1.0 - 1e-9) / (c - p) if c > p else 0.0 for length, c, p in zip(lengths, cum, prev)]
    nteams = len(teams)
    keys: list[int] = []
    append = keys.append
    for _ in range(count):
        u = rnd() * total
        i = bisect_right(cum, u)
        if i > last:  # u == total through rounding
            i = last
            u = prev[i]
        # One sortable int per ticket (time, then team) sorts far faster than tuples.
        append((starts[i] + int((u - prev[i]) * per_weight[i])) * nteams + team_of[i])
    keys.sort()

    team_id_of = [team_ids[t.key] for t in teams]
    agent_tables = _agent_tables(teams, seed)
    agent_sizes = [len(t) for t in agent_tables]
    kind_table = _kind_table()
    n_kinds = len(kind_table)
    unsolved_table = _mix_table([s for s, _ in _UNSOLVED_STATUS_MIX], [w for _, w in _UNSOLVED_STATUS_MIX])
    n_mix = _MIX_TABLE
    fr_spread = _lognormal_spread(_FIRST_REPLY_SIGMA)
    res_spread = _lognormal_spread(_RESOLUTION_SIGMA)
    reopen_spread = _lognormal_spread(_REOPEN_SIGMA)
    q = _QUANTILES
    reopen_any = _REOPEN_ONCE + _REOPEN_TWICE
    log_more = math.log(1.0 - _MORE_REPLIES_P)
    closed_before = end_s - _CLOSED_AFTER_S
    subjects = SUBJECTS
    n_subjects = len(subjects)
    # Tags come from a stream of their own, so adding them left every other draw (and the demo's figures) as it was.
    tag_rnd = random.Random(f"csbot-generator-tags:{seed}").random
    plain_tags = tuple(tags for _, tags in SUBJECT_TAGS)
    vip_tags = tuple(" ".join(sorted([*tags.split(), "vip"])) for tags in plain_tags)
    to_dt = datetime.fromtimestamp
    utc = _UTC

    for n, key in enumerate(keys, 1):
        created, ti = divmod(key, nteams)
        agent_id, speed, good = agent_tables[ti][int(rnd() * agent_sizes[ti])]
        channel, priority, fr_median, res_median, sla = kind_table[int(rnd() * n_kinds)]
        topic = int(rnd() * n_subjects)
        subject = subjects[topic]
        tagged = tag_rnd()
        tags = None if tagged < _UNTAGGED else vip_tags[topic] if tagged < _UNTAGGED + _VIP else plain_tags[topic]
        frt = int(fr_median * speed * fr_spread[int(rnd() * q)])
        res = int(res_median * res_spread[int(rnd() * q)])
        first_reply: int | None = created + frt
        # A ticket cannot be solved before it has been answered.
        solved: int | None = created + (res if res > frt else frt)
        reopens = 0
        if solved < end_s and rnd() < reopen_any:
            wanted = 2 if rnd() < _REOPEN_TWICE / reopen_any else 1
            while reopens < wanted:
                reopened = solved + int(_REOPEN_GAP_MEDIAN_S * reopen_spread[int(rnd() * q)])
                if reopened >= end_s:
                    break  # the customer has not written back (yet)
                reopens += 1
                solved = reopened + int(_RESOLVE_AGAIN_MEDIAN_S * reopen_spread[int(rnd() * q)])
                if solved >= end_s:
                    break

        # Replies: one-touch share, then a geometric tail; every reopen costs
        # at least one more reply.
        if res <= frt or rnd() < _ONE_TOUCH:
            replies = 1 + reopens
        else:
            replies = 2 + int(math.log(1.0 - rnd()) / log_more) + reopens
        csat = None

        if solved < end_s:
            status = "solved" if solved >= closed_before else "closed"
            if rnd() < _CSAT_RATED:
                csat = "good" if rnd() < good else "bad"
        else:
            solved = None
            if rnd() < _UNASSIGNED:
                agent_id = None  # still waiting in the team queue
                first_reply = None
            elif first_reply >= end_s:
                first_reply = None
            if first_reply is None:
                status = "new"
                replies = 0
            elif reopens:
                status = "open"  # the customer wrote back; the ball is with us
            else:
                status = unsolved_table[int(rnd() * n_mix)]

        if first_reply is not None:
            sla_met: bool | None = first_reply - created <= sla
        elif end_s - created > sla:
            sla_met = False
        else:
            sla_met = None  # unanswered, but the clock has not run out

        yield {
            "source": source,
            "external_id": f"D-{n:06d}",
            "subject": subject,
            "team_id": team_id_of[ti],
            "agent_id": agent_id,
            "status": status,
            "priority": priority,
            "channel": channel,
            "created_at": to_dt(created, utc),
            "first_reply_at": None if first_reply is None else to_dt(first_reply, utc),
            "solved_at": None if solved is None else to_dt(solved, utc),
            "replies": replies,
            "reopens": reopens,
            "csat": csat,
            "sla_met": sla_met,
            "tags": tags,
        }
