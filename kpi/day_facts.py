"""Day facts: each team's KPI facts per UTC day, so a long window reads days, not tickets.

A year of a busy org is a million tickets; reading each of them for `/kpi org
365d` costs seconds on either backend. A row of `kpi_day_facts` holds what the
engine needs from one team's tickets created or solved on one UTC day: counts,
sums and, for the order statistics (medians, p90), the exact durations as
packed 64-bit integers. A window is then its whole days from here plus its
partial first and last day read from the tickets, and the answer is exactly
what reading every ticket gives (tests/test_day_facts.py checks it).

Keeping them right does not depend on any writer remembering to: triggers on
`tickets` (migration 0007) record every (team, day) an insert, an update of a
KPI field or a delete touches in `kpi_dirty_days`. The engine reads those
days from the tickets, never from a stale row, and `refresh()` recomputes
them; the importer, the ticket webhook and the demo call it after they write.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import (
    and_,
    or_,
    null,
    BigInteger,
    Integer,
    LargeBinary,
    case,
    delete,
    func,
    insert,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from kpi import business_hours
from kpi.business_hours import DayCalendar
from kpi.stats import median, quantile, ratio
from kpi.tickets import Ticket
from store import driver_rows
from store.base import Base
from store.database import Database
from store.engine import write_transaction
from store.locks import lock_key

DAY_S = 86_400
NO_TEAM = 0  # team_key of tickets without a team (team ids start at 1)
# Serialises refreshes on PostgreSQL (two at once could store an older recount last).
_REFRESH_LOCK = "kpi-day-facts"
_CHUNK = 500
_STREAM_ROWS = 20_000  # durations read per fetch while packing them

T = Ticket.__table__.c
CREATED = type_coerce(T.created_at, BigInteger)
FIRST_REPLY = type_coerce(T.first_reply_at, BigInteger)
SOLVED = type_coerce(T.solved_at, BigInteger)
FIRST_REPLY_DUE = type_coerce(T.first_reply_due_at, BigInteger)
RESOLUTION_DUE = type_coerce(T.resolution_due_at, BigInteger)
# When the customer first had an answer: the first reply, or the solve if that came first
# (a ticket solved without a reply has its answer).
ANSWERED = case((and_(SOLVED.is_not(None), or_(FIRST_REPLY.is_(None), SOLVED < FIRST_REPLY)), SOLVED), else_=FIRST_REPLY)
# Whether a solved ticket met its SLA. With a policy (kpi.sla): every target
# it measures met by the solve (the first reply target by ANSWERED); unknown
# when the policy measures neither (next reply only). Without one: the
# imported sla_met.
SLA_MET = case(
    (T.sla_policy_id.is_(None), T.sla_met),
    (and_(FIRST_REPLY_DUE.is_(None), RESOLUTION_DUE.is_(None)), null()),
    else_=and_(
        or_(FIRST_REPLY_DUE.is_(None), ANSWERED <= FIRST_REPLY_DUE),
        or_(RESOLUTION_DUE.is_(None), SOLVED <= RESOLUTION_DUE),
    ),
)

Metrics = dict[str, float | int | None]


class DayFacts(Base):
    __tablename__ = "kpi_day_facts"

    team_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Tickets created that day, and the first-reply durations of those answered.
    created: Mapped[int] = mapped_column(Integer)
    first_replies: Mapped[int] = mapped_column(Integer)
    first_reply_sum: Mapped[int] = mapped_column(BigInteger)
    first_reply_s: Mapped[bytes] = mapped_column(LargeBinary)
    # The same first replies in business hours, each on the team's calendar (kpi.business_hours).
    first_reply_bh_sum: Mapped[int] = mapped_column(BigInteger)
    first_reply_bh_s: Mapped[bytes] = mapped_column(LargeBinary)
    # Tickets solved that day: resolution durations (wall clock and business hours) and the rate counts.
    solved: Mapped[int] = mapped_column(Integer)
    resolution_sum: Mapped[int] = mapped_column(BigInteger)
    resolution_s: Mapped[bytes] = mapped_column(LargeBinary)
    resolution_bh_sum: Mapped[int] = mapped_column(BigInteger)
    resolution_bh_s: Mapped[bytes] = mapped_column(LargeBinary)
    replies_known: Mapped[int] = mapped_column(Integer)
    one_touch: Mapped[int] = mapped_column(Integer)
    reopens_known: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    csat_known: Mapped[int] = mapped_column(Integer)
    csat_good: Mapped[int] = mapped_column(Integer)
    sla_known: Mapped[int] = mapped_column(Integer)
    sla_met: Mapped[int] = mapped_column(Integer)


class DirtyDay(Base):
    """A (team, day) whose tickets changed since its day facts were computed.

    Rows are only appended (by the triggers, without a unique key, so
    concurrent writers never wait on each other here) and claimed by the
    refresh that recounts them. The table is small but for the moments
    between a bulk write and its refresh.
    """

    __tablename__ = "kpi_dirty_days"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_key: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer)


DF = DayFacts.__table__.c
DD = DirtyDay.__table__.c
DC = DayCalendar.__table__.c  # the calendar each team's days were counted on (kpi.business_hours)
_PACKED = np.dtype("<i8")


@dataclass
class Facts:
    """The raw facts of one scope over one window, added up from days and tickets."""

    created: int = 0
    first_replies: int = 0
    first_reply_sum: int = 0
    first_reply_s: list[Any] = field(default_factory=list)  # packed days (bytes), int64 arrays and single ints
    first_reply_bh_sum: int = 0
    first_reply_bh_s: list[Any] = field(default_factory=list)
    solved: int = 0
    resolution_sum: int = 0
    resolution_s: list[Any] = field(default_factory=list)
    resolution_bh_sum: int = 0
    resolution_bh_s: list[Any] = field(default_factory=list)
    replies_known: int = 0
    one_touch: int = 0
    reopens_known: int = 0
    reopened: int = 0
    csat_known: int = 0
    csat_good: int = 0
    sla_known: int = 0
    sla_met: int = 0
    backlog: int = 0

    def add_created(self, first_reply_s: int | None, first_reply_bh_s: int | None = None) -> None:
        """A ticket created, with its first reply (None: none yet) on the wall clock and in business hours (None: the same)."""
        self.created += 1
        if first_reply_s is not None:
            bh = first_reply_s if first_reply_bh_s is None else first_reply_bh_s
            self.first_replies += 1
            self.first_reply_sum += first_reply_s
            self.first_reply_s.append(first_reply_s)
            self.first_reply_bh_sum += bh
            self.first_reply_bh_s.append(bh)

    def add_solved(
        self, resolution_s: int, replies: int | None, reopens: int | None, csat: str | None, sla: bool | None, resolution_bh_s: int | None = None
    ) -> None:
        """A ticket solved; `resolution_bh_s` in business hours (None: the same as on the wall clock)."""
        bh = resolution_s if resolution_bh_s is None else resolution_bh_s
        self.solved += 1
        self.resolution_sum += resolution_s
        self.resolution_s.append(resolution_s)
        self.resolution_bh_sum += bh
        self.resolution_bh_s.append(bh)
        if replies is not None:
            self.replies_known += 1
            self.one_touch += replies <= 1
        if reopens is not None:
            self.reopens_known += 1
            self.reopened += reopens >= 1
        if csat is not None:
            self.csat_known += 1
            self.csat_good += csat == "good"
        if sla is not None:
            self.sla_known += 1
            self.sla_met += bool(sla)

    def add_created_many(self, created: int, first_reply_s: np.ndarray, first_reply_bh_s: np.ndarray) -> None:
        """`created` tickets, with the first replies of those answered (wall clock and business hours, in pairs)."""
        self.created += created
        if len(first_reply_s):
            self.first_replies += len(first_reply_s)
            self.first_reply_sum += int(first_reply_s.sum())
            self.first_reply_s.append(first_reply_s)
            self.first_reply_bh_sum += int(first_reply_bh_s.sum())
            self.first_reply_bh_s.append(first_reply_bh_s)

    def add_solved_many(self, resolution_s: np.ndarray, resolution_bh_s: np.ndarray, rates: Sequence[int]) -> None:
        """Tickets solved: their resolutions (wall clock and business hours) and the rate counts summed, in RATE_COUNTS order."""
        if not len(resolution_s):
            return
        self.solved += len(resolution_s)
        self.resolution_sum += int(resolution_s.sum())
        self.resolution_s.append(resolution_s)
        self.resolution_bh_sum += int(resolution_bh_s.sum())
        self.resolution_bh_s.append(resolution_bh_s)
        for name, n in zip(RATE_COUNTS, rates, strict=True):
            setattr(self, name, getattr(self, name) + int(n))

    def add_totals(self, totals: Sequence[int | None]) -> None:
        """Add summed kpi_day_facts counts, in DAY_COUNTS order (the durations are added apart)."""
        for name, n in zip(DAY_COUNTS, totals, strict=True):
            setattr(self, name, getattr(self, name) + int(n or 0))

    def metrics(self) -> Metrics:
        fr_median, fr_p90 = order_statistics(self.first_reply_s)
        res_median, res_p90 = order_statistics(self.resolution_s)
        fr_bh_median, fr_bh_p90 = order_statistics(self.first_reply_bh_s)
        res_bh_median, res_bh_p90 = order_statistics(self.resolution_bh_s)
        return {
            "tickets_created": self.created,
            "tickets_solved": self.solved,
            "backlog": self.backlog,
            "first_reply_median_s": fr_median,
            "first_reply_p90_s": fr_p90,
            "first_reply_mean_s": self.first_reply_sum / self.first_replies if self.first_replies else None,
            "resolution_median_s": res_median,
            "resolution_p90_s": res_p90,
            "resolution_mean_s": self.resolution_sum / self.solved if self.solved else None,
            "first_reply_bh_median_s": fr_bh_median,
            "first_reply_bh_p90_s": fr_bh_p90,
            "first_reply_bh_mean_s": self.first_reply_bh_sum / self.first_replies if self.first_replies else None,
            "resolution_bh_median_s": res_bh_median,
            "resolution_bh_p90_s": res_bh_p90,
            "resolution_bh_mean_s": self.resolution_bh_sum / self.solved if self.solved else None,
            "one_touch_rate": ratio(self.one_touch, self.replies_known),
            "reopen_rate": ratio(self.reopened, self.reopens_known),
            "csat": ratio(self.csat_good, self.csat_known),
            "sla_attainment": ratio(self.sla_met, self.sla_known),
            "n_first_reply": self.first_replies,
            "n_resolution": self.solved,
            "n_one_touch": self.replies_known,
            "n_reopen": self.reopens_known,
            "n_csat": self.csat_known,
            "n_sla": self.sla_known,
        }


DAY_COUNTS = (
    "created", "first_replies", "first_reply_sum", "first_reply_bh_sum", "solved", "resolution_sum", "resolution_bh_sum",
    "replies_known", "one_touch", "reopens_known", "reopened", "csat_known", "csat_good", "sla_known", "sla_met",
)  # fmt: skip


def pack(values: Sequence[int] | np.ndarray) -> bytes:
    """Durations as kpi_day_facts stores them: little-endian int64s."""
    return np.asarray(values, dtype=_PACKED).tobytes()


def _values(chunks: list[Any]) -> tuple[np.ndarray, bool]:
    """One int64 array from packed day rows (bytes), arrays and loose ints from tickets; and whether it is a new array.

    A single chunk is returned as it is (not new: its order is the caller's);
    several are joined into a new one, which may be reordered in place.
    """
    arrays = [np.frombuffer(c, dtype=_PACKED) if isinstance(c, bytes) else c for c in chunks if isinstance(c, (bytes, np.ndarray))]
    loose = [c for c in chunks if not isinstance(c, (bytes, np.ndarray))]
    if loose:
        arrays.append(np.array(loose, dtype=np.int64))
    if len(arrays) == 1:
        return arrays[0], False
    return (np.concatenate(arrays) if arrays else np.empty(0, dtype=np.int64)), True


class _Ranked(Sequence[int]):
    """The values in sorted order, at the ranks the order statistics read.

    np.partition puts each of the asked ranks where a full sort would (in
    linear time); kpi.stats then interpolates on exact Python integers, so the
    answer is the one sorting every value gives, to the last bit.
    """

    def __init__(self, values: np.ndarray, ranks: Sequence[int], *, in_place: bool = False) -> None:
        self._ranks = set(ranks)
        if len(values) and in_place:
            values.partition(sorted(self._ranks))  # an array of our own: no copy of a million values
        elif len(values):
            values = np.partition(values, sorted(self._ranks))
        self._values = values

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, rank: int) -> int:  # type: ignore[override]
        if rank not in self._ranks:
            raise IndexError(f"rank {rank} was not selected")
        return int(self._values[rank])


def order_statistics(chunks: list[Any]) -> tuple[float | None, float | None]:
    """(median, p90) of the values in `chunks`, exactly as kpi.stats on the sorted values."""
    values, new = _values(chunks)
    n = len(values)
    if n == 0:
        return None, None
    p90_low = int((n - 1) * 0.9)
    ranks = {n // 2, max(n // 2 - 1, 0), p90_low, min(p90_low + 1, n - 1)}
    ranked = _Ranked(values, sorted(ranks), in_place=new)
    return median(ranked), quantile(ranked, 0.9)


def facts_from(
    created: int,
    first_reply_s: Iterable[int],
    solved: Sequence[tuple[Any, ...]],
    backlog: int,
    *,
    first_reply_bh_s: Iterable[int] | None = None,
    resolution_bh_s: Iterable[int] | None = None,
) -> Facts:
    """Facts from plain values (the engine's public metrics_from builds on this).

    The business-hours durations, when given, pair with `first_reply_s` and
    `solved` in order; left out, they equal the wall-clock ones (around the clock).
    """
    facts = Facts(backlog=backlog)
    first_reply_s = list(first_reply_s)
    fr_bh = list(first_reply_bh_s) if first_reply_bh_s is not None else first_reply_s
    res_bh = list(resolution_bh_s) if resolution_bh_s is not None else [row[0] for row in solved]
    for delta, bh in zip(first_reply_s, fr_bh, strict=True):
        facts.add_created(delta, bh)
    facts.created = created
    for row, bh in zip(solved, res_bh, strict=True):
        facts.add_solved(*row, resolution_bh_s=bh)
    return facts


# ---------------------------------------------------------------- refresh


def refresh_database(db: Database, *, wait: bool = True, most: int | None = None) -> int:
    """refresh() in its own write transaction; see there."""
    with write_transaction(db.sessions) as session:
        return refresh(session, wait=wait, most=most)


def refresh(session: Session, *, wait: bool = True, most: int | None = None) -> int:
    """Recount every dirty (team, day) from its tickets; returns how many were recounted.

    Run inside a write transaction (store.engine.write_transaction: on SQLite
    it holds the write lock, so no ticket changes while it counts). On
    PostgreSQL an advisory lock keeps a second refresh from storing an older
    count after a newer one; a ticket changed while this runs marks its day
    again (a mark this refresh did not read and so does not delete). With
    `wait=False` a refresh already running there makes this one do nothing:
    that one, or the next, counts what is left. With `most`, more marks than
    that make it do nothing: a bulk write is under way, and the writer counts
    its days when it is done (a webhook event must not pay for an import).
    """
    if most is not None and session.scalar(select(DD.id).limit(1).offset(most)) is not None:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        if wait:
            session.execute(select(func.pg_advisory_xact_lock(lock_key(_REFRESH_LOCK))))
        elif not session.scalar(select(func.pg_try_advisory_xact_lock(lock_key(_REFRESH_LOCK)))):
            return 0
        # Claim the marks committed so far in one statement: a mark committed
        # after it stays for the next refresh, together with the change it
        # stands for (which this refresh may not see).
        pairs = {(k, d) for k, d in session.execute(delete(DirtyDay).returning(DD.team_key, DD.day))}
    else:
        # SQLite: the write lock is held, nobody marks anything until commit.
        pairs = {(k, d) for k, d in session.execute(select(DD.team_key, DD.day).distinct())}
        session.execute(delete(DirtyDay))
    # Read after the marks are claimed: a calendar changed before the claim is
    # seen here; one changed after it is caught by the next refresh.
    calendars = business_hours.load(session)
    pairs |= _recalendared(session, calendars)
    if not pairs:
        return 0
    # A week at a time: an import of a million tickets in one month puts each
    # week's (a quarter million) on their calendars, not the month's at once.
    stored = session.scalar(select(func.count()).select_from(Ticket)) or 0
    for first, last in day_runs(sorted({day for _, day in pairs}), longest=7):
        _recount(session, {p for p in pairs if first <= p[1] < last}, first, last, calendars, stored)
    return len(pairs)


def _recalendared(session: Session, calendars: business_hours.Calendars) -> set[tuple[int, int]]:
    """The counted days of every team whose calendar is not the one they were counted on; records the new ones.

    A team first seen here has no counted days yet: its calendar is recorded
    and nothing recounted.
    """
    current = calendars.fingerprints([NO_TEAM, *calendars.teams])
    stored = {k: f for k, f in session.execute(select(DC.team_key, DC.fingerprint))}
    changed = sorted(k for k, f in current.items() if stored.get(k) != f)
    if not changed:
        return set()
    days = {(k, d) for k, d in session.execute(select(DF.team_key, DF.day).where(DF.team_key.in_(changed)))}
    session.execute(delete(DayCalendar).where(DC.team_key.in_(changed)))
    session.execute(insert(DayCalendar), [{"team_key": k, "fingerprint": current[k]} for k in changed])
    return days


def _recount(
    session: Session, pairs: set[tuple[int, int]], first: int, last: int, calendars: business_hours.Calendars, stored: int
) -> None:
    """Store the day facts of `pairs` (team_key, day), all within days [first, last); `stored` tickets in all.

    The database adds up the counts per team and day; the durations come back
    as their start and end, are turned into wall-clock and business seconds
    and grouped with numpy, and packed (a refresh after an import of a
    million tickets reads two million of them).
    """
    lo, hi = first * DAY_S, last * DAY_S
    # When these days hold a large share of the table (after a bulk import),
    # reading it through the time index fetches each ticket's row out of
    # order, a page at a time; a pass over the table in storage order is
    # faster (SQLite, a million tickets over four weeks: 11.7 s against
    # 14.4 s for the whole refresh). `+ 0` keeps the planner off the index.
    in_days = session.scalar(select(func.count()).where(CREATED >= lo, CREATED < hi)) or 0
    created_in, solved_in = (CREATED + 0, SOLVED + 0) if in_days * 4 > stored else (CREATED, SOLVED)
    team_key = func.coalesce(T.team_id, NO_TEAM)
    counts: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: dict.fromkeys(DAY_COUNTS, 0))
    by_created = (team_key, CREATED // DAY_S)
    created = select(*by_created, func.count(), func.count(FIRST_REPLY), func.sum(FIRST_REPLY - CREATED))
    for key, day, *n in session.execute(created.where(created_in >= lo, created_in < hi).group_by(*by_created)):
        counts[(key, day)].update(zip(("created", "first_replies", "first_reply_sum"), n, strict=True))
    by_solved = (team_key, SOLVED // DAY_S)
    solved = select(
        *by_solved,
        func.count(),
        func.sum(SOLVED - CREATED),
        *(agg for known, counted in RATE_CONDITIONS for agg in (func.count(known), func.sum(case((counted, 1), else_=0)))),
    )
    names = ("solved", "resolution_sum", *RATE_COUNTS)
    for key, day, *n in session.execute(solved.where(solved_in >= lo, solved_in < hi).group_by(*by_solved)):
        counts[(key, day)].update(zip(names, n, strict=True))
    first_replies = _packed_by_day(session, select(*by_created, CREATED, FIRST_REPLY).where(created_in >= lo, created_in < hi, FIRST_REPLY.is_not(None)), calendars)
    resolutions = _packed_by_day(session, select(*by_solved, CREATED, SOLVED).where(solved_in >= lo, solved_in < hi), calendars)

    ordered = sorted(pairs)
    for i in range(0, len(ordered), _CHUNK):
        session.execute(delete(DayFacts).where(tuple_(DF.team_key, DF.day).in_(ordered[i : i + _CHUNK])))
    rows = [
        {
            "team_key": key,
            "day": day,
            **{name: int(n or 0) for name, n in counts[(key, day)].items()},
            **_packed_columns("first_reply", first_replies.get((key, day))),
            **_packed_columns("resolution", resolutions.get((key, day))),
        }
        for key, day in ordered
        if (key, day) in counts
    ]
    for i in range(0, len(rows), _CHUNK):
        session.execute(insert(DayFacts.__table__), rows[i : i + _CHUNK])


# (known, counted) per rate: the tickets whose field is known, and those it counts.
RATE_CONDITIONS = (
    (T.replies, T.replies <= 1),
    (T.reopens, T.reopens >= 1),
    (T.csat, T.csat == "good"),
    (SLA_MET, SLA_MET.is_(True)),
)
RATE_COUNTS = ("replies_known", "one_touch", "reopens_known", "reopened", "csat_known", "csat_good", "sla_known", "sla_met")


class _Packed(NamedTuple):
    """One (team, day)'s durations: packed wall-clock and business seconds, and the business sum."""

    wall: bytes
    business: bytes
    business_sum: int


_NO_DURATIONS = _Packed(b"", b"", 0)


def _packed_columns(name: str, packed: _Packed | None) -> dict[str, Any]:
    """The kpi_day_facts columns of `name` (first_reply, resolution) from one day's durations."""
    packed = packed or _NO_DURATIONS
    return {f"{name}_s": packed.wall, f"{name}_bh_s": packed.business, f"{name}_bh_sum": packed.business_sum}


def _packed_by_day(session: Session, stmt: Any, calendars: business_hours.Calendars) -> dict[tuple[int, int], _Packed]:
    """{(team_key, day): durations} from rows (team_key, day, start, end), each on its team's calendar.

    The rows are streamed into one int64 array (32 bytes a ticket), never
    held as result rows (over 150 bytes each): a month of a million imported
    tickets would otherwise take the import's peak memory past 300 MB. They
    come as the driver's tuples (store.driver_rows), through a server-side
    cursor on PostgreSQL.
    """
    rows = itertools.chain.from_iterable(driver_rows.batches(session, stmt, _STREAM_ROWS, stream=True))
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64)
    if not len(flat):
        return {}
    rows = flat.reshape(-1, 4)
    business = calendars.seconds(rows[:, 0], rows[:, 2], rows[:, 3])
    wall = rows[:, 3] - rows[:, 2]
    # Team keys and days are small: one sortable key (team in the high bits) instead of a lexsort's copies.
    key = (rows[:, 0] << 32) | rows[:, 1]
    del rows, flat
    order = np.argsort(key, kind="stable")
    key, wall, business = key[order], wall[order], business[order]
    del order
    cuts = np.flatnonzero(np.diff(key)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(key)]))
    sums = np.add.reduceat(business, starts)
    return {
        (int(key[a] >> 32), int(key[a] & 0xFFFFFFFF)): _Packed(pack(wall[a:b]), pack(business[a:b]), int(total))
        for a, b, total in zip(starts.tolist(), ends.tolist(), sums.tolist(), strict=True)
    }


def day_runs(days: Sequence[int], *, longest: int | None = None) -> list[tuple[int, int]]:
    """Sorted days as [first, last) runs of consecutive days, each at most `longest` long."""
    runs: list[tuple[int, int]] = []
    for day in days:
        if runs and runs[-1][1] == day and (longest is None or day - runs[-1][0] < longest):
            runs[-1] = (runs[-1][0], day + 1)
        else:
            runs.append((day, day + 1))
    return runs
