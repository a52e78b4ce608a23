"""A queue's `announce:` in the org file: post who is on call in its channel, weekly and/or at every handoff.

    announce: {at: "mon 09:00", on: handoff, timezone: Europe/London}

`at` is a day (or days, as digests write them: `mon-fri`, `mon,thu`) and a
24-hour local time, in `timezone` (default: the org's); `on: handoff` posts
whenever who is on call for one of the queue's schedules changes. Either or
both; the queue needs a channel and a schedule. Stored as written (times
zero-padded), so `csbot org show` gives it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store.local_time import weekdays
from store.quoting import clip
from store.yaml_file import LineDict

if TYPE_CHECKING:  # org_file imports this module when it reads a file
    from store.org_file import _Checker

ANNOUNCE_KEYS = ("at", "on", "timezone")
OCCASIONS = ("handoff",)
EXAMPLE = 'announce: {at: "mon 09:00"} or announce: {on: handoff}'


@dataclass(frozen=True)
class Announce:
    """A stored `announce` read back: when to post (weekly days and time, on handoffs) and in which zone."""

    days: tuple[int, ...]  # Mon=0; empty: no weekly post
    time: str | None
    on_handoff: bool
    timezone: str | None  # None: the org's

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Announce:
        days, time = (), None
        if stored.get("at"):
            spec, time = stored["at"].rsplit(" ", 1)
            days = tuple(weekdays(spec))
        return cls(days, time, stored.get("on") == "handoff", stored.get("timezone"))


def parse_announce(check: _Checker, q: LineDict, what: str, *, has_channels: bool, has_schedules: bool) -> dict[str, Any] | None:
    """The queue's `announce` as stored, or None when it is refused (every problem added to `check` by line)."""
    from store.org_file import _digest_time, _read_misspellings, _timezone

    where = f"{what}: announce"
    announce = check.mapping(q["announce"], q.key_lines["announce"], where)
    if announce is None:
        return None
    announce = _read_misspellings(announce, ANNOUNCE_KEYS)
    check.unknown_keys(announce, ANNOUNCE_KEYS, where)
    ok = True
    out: dict[str, Any] = {}
    if announce.get("at") is not None:
        written = check.text(announce, "at", where, max_len=64)
        day_spec, _, hhmm = (written or "").rpartition(" ")
        at = _digest_time(hhmm, hhmm) if written else None
        if written is not None and (not day_spec.strip() or at is None):
            check.add(announce.key_lines["at"], f"{where}: at {clip(written)} is not a day and a 24-hour time, e.g. at: \"mon 09:00\"")
            ok = False
        elif written is not None:
            try:
                weekdays(day_spec)
                out["at"] = f"{day_spec.strip().lower()} {at}"
            except ValueError as exc:
                check.add(announce.key_lines["at"], f"{where}: at {clip(written)}: {exc}")
                ok = False
        else:
            ok = False
    if announce.get("on") is not None:
        occasion = check.text(announce, "on", where, max_len=32)
        if occasion is not None and occasion.lower() not in OCCASIONS:
            check.add(announce.key_lines["on"], f"{where}: on {clip(occasion)} is not an occasion; write on: handoff (every time who is on call changes)")
            ok = False
        elif occasion is not None:
            out["on"] = occasion.lower()
        else:
            ok = False
    if "timezone" in announce:
        zone = _timezone(check, announce, where)
        if zone is None:
            ok = False
        else:
            out["timezone"] = zone
    if ok and not ({"at", "on"} & out.keys()):
        check.add(announce.line, f"{where}: say when, with at, on or both: {EXAMPLE}")
        ok = False
    if not has_channels:
        check.add(q.key_lines["announce"], f"{where}: the queue has no channels to announce in; add channels: {{slack: C0123ABCD}}")
        ok = False
    if not has_schedules:
        check.add(q.key_lines["announce"], f"{where}: the queue has no schedules, so nobody is on call to announce")
        ok = False
    return out if ok else None


__all__ = ["ANNOUNCE_KEYS", "Announce", "parse_announce"]
