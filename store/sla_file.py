"""The org file's `sla:` section: SLA policies, first match wins.

    sla:
      - key: urgent
        name: Urgent
        match: {priority: [urgent]}       # any of priority, channel, tag, team; each a list
        first_reply: 1h                   # targets: first_reply, next_reply, resolution
        resolution: 1d
        time: business                    # business (the team's calendar; the default) or calendar
        warn_before: 15m                  # when a breach warning goes out (default 30m)
      - key: standard
        name: Standard
        first_reply: 8h                   # no match: every ticket no policy above took
        resolution: 3d

A ticket gets the first policy whose `match` it meets: every key given must
match (the ticket's priority, channel or team key is in the list, or one of
its tags is), and a policy without `match` takes every ticket. Targets are
durations: `30m`, `8h`, `3d`. In business time hours and minutes are the team
calendar's open time, and `3d` is three working days: the same time of day
three working days later (closed days, weekends and holidays, do not count),
or the next opening when the calendar is closed then (kpi.sla_due). In
calendar time a day is 24 hours.

Read by `store.org_file` with the same checker, so each problem is reported at
its line with the rest of the file's; applied as versions (`store.sla_policies`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from store.name_characters import unwanted_character
from store.quoting import clip
from store.ticket_fields import PRIORITIES, TAG_CHARACTERS, one_tag
from store.yaml_file import LineDict, LineList

if TYPE_CHECKING:  # org_file imports this module when it reads a file
    from store.org_file import _Checker

POLICY_KEYS = ("key", "name", "match", "first_reply", "next_reply", "resolution", "time", "warn_before")
MATCH_KEYS = ("priority", "channel", "tag", "team")
TARGETS = ("first_reply", "next_reply", "resolution")
TIMES = ("business", "calendar")
MAX_POLICIES = 50
MAX_MATCH_VALUES = 50
MIN_TARGET_S, MAX_TARGET_DAYS = 60, 365
MIN_WARN_S, MAX_WARN_S, DEFAULT_WARN_S = 60, 7 * 86400, 1800
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class SlaTarget:
    """A target as written: `seconds` of time, or whole days (`in_days`: `3d`, working days in business time)."""

    seconds: int
    in_days: bool = False

    @property
    def days(self) -> int:
        return self.seconds // 86400 if self.in_days else 0

    def text(self) -> str:
        """The target as the org file writes it back: `3d`, `8h`, `90m`, `45s` (never hours as days)."""
        if self.in_days:
            return f"{self.days}d"
        for unit, size in (("h", 3600), ("m", 60)):
            if self.seconds % size == 0:
                return f"{self.seconds // size}{unit}"
        return f"{self.seconds}s"

    @classmethod
    def parse(cls, value: Any) -> SlaTarget:
        """`30m`, `8h`, `3d`, `90 minutes`; ValueError saying what a target must be."""
        found = _DURATION.match(value) if isinstance(value, str) else None
        if found is None:
            raise ValueError("is not a duration such as 30m, 8h or 3d")
        amount, unit = Decimal(found.group(1)), found.group(2)[0].lower()
        if unit == "d":
            if amount != int(amount):
                raise ValueError(f"is not a whole number of days; write {clip(_plain(amount * 24) + 'h')} instead")
            if not 1 <= amount <= MAX_TARGET_DAYS:
                raise ValueError(f"is not from 1d to {MAX_TARGET_DAYS}d")
            return cls(int(amount) * 86400, True)
        seconds = amount * _UNIT_S[unit]
        if seconds != int(seconds) or not MIN_TARGET_S <= seconds <= MAX_TARGET_DAYS * 86400:
            raise ValueError(f"is not a whole number of seconds from 1m to {MAX_TARGET_DAYS}d")
        return cls(int(seconds))


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


@dataclass
class SlaPolicySpec:
    key: str
    name: str
    # priority / channel / tag / team -> the values any of which matches; {}: every ticket
    match: dict[str, list[str]] = field(default_factory=dict)
    targets: dict[str, SlaTarget] = field(default_factory=dict)  # first_reply / next_reply / resolution
    business: bool = True
    warn_before_s: int = DEFAULT_WARN_S
    line: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The policy as the org file writes it (and `csbot org show` shows it)."""
        out: dict[str, Any] = {"key": self.key, "name": self.name}
        if self.match:
            out["match"] = {k: list(v) for k, v in self.match.items()}
        for target in TARGETS:
            if target in self.targets:
                out[target] = self.targets[target].text()
        out["time"] = "business" if self.business else "calendar"
        out["warn_before"] = SlaTarget(self.warn_before_s).text()
        return out


def parse_sla(check: _Checker, doc: LineDict, team_keys: Collection[str] | None) -> list[SlaPolicySpec]:
    """The policies listed under `sla:`, in order; each problem reported at its line.

    `team_keys` are the file's teams (None: they could not all be read, so a
    match on a team is not checked against them).
    """
    from store.org_file import _items

    items = _items(doc, "sla", check, POLICY_KEYS)
    if len(items) > MAX_POLICIES:
        check.add(doc.key_lines["sla"], f"sla: {len(items)} policies; at most {MAX_POLICIES}")
    policies: list[SlaPolicySpec] = []
    seen: dict[str, int] = {}
    takes_all: SlaPolicySpec | None = None
    for index, p in items:
        key = check.text(p, "key", f"sla[{index}]", required=True, max_len=64)
        what = f"sla policy {key!r}" if key else f"sla[{index}]"
        check.unknown_keys(p, POLICY_KEYS, what)
        check.listed_key(p, key, what, "policy", seen)
        spec = SlaPolicySpec(key=key or "", name=check.text(p, "name", what, required=True) or "", line=p.line)
        if p.get("match") is not None:
            spec.match = _match(check, p, what, team_keys)
        for target in TARGETS:
            if p.get(target) is not None:
                try:
                    spec.targets[target] = SlaTarget.parse(p[target])
                except ValueError as exc:
                    check.add(p.key_lines[target], f"{what}: {target} {clip(p.value_texts.get(target) or p[target])} {exc}")
        if not spec.targets and not any(p.get(t) is not None for t in TARGETS):
            check.add(p.line, f"{what}: needs a target: first_reply, next_reply or resolution, e.g. first_reply: 8h")
        if p.get("time") is not None:
            time = p["time"]
            if time not in TIMES:
                check.add(p.key_lines["time"], f"{what}: time {clip(p.value_texts.get('time') or time)} is business (the team's calendar) or calendar (around the clock)")
            spec.business = time != "calendar"
        if p.get("warn_before") is not None:
            spec.warn_before_s = _warn_before(check, p, what, spec)
        if takes_all is not None:
            check.add(p.line, f"{what}: never matches: policy {takes_all.key!r} (line {takes_all.line}) has no match and takes every ticket first; put it last")
        elif p.get("match") is None:
            takes_all = spec
        policies.append(spec)
    return policies


def _warn_before(check: _Checker, p: LineDict, what: str, spec: SlaPolicySpec) -> int:
    written = clip(p.value_texts.get("warn_before") or p["warn_before"])
    try:
        warn = SlaTarget.parse(p["warn_before"])
    except ValueError:
        warn = None
    if warn is None or not MIN_WARN_S <= warn.seconds <= MAX_WARN_S:
        check.add(p.key_lines["warn_before"], f"{what}: warn_before {written} is not a duration from 1m to 7d, e.g. warn_before: 30m")
        return DEFAULT_WARN_S
    shortest = min(spec.targets.items(), key=lambda t: t[1].seconds, default=None)
    if shortest is not None and warn.seconds >= shortest[1].seconds:
        check.add(
            p.key_lines["warn_before"],
            f"{what}: warn_before {written} is not shorter than its {shortest[0]} target {shortest[1].text()}: every ticket would be at risk as it arrives",
        )
    return warn.seconds


def _match(check: _Checker, p: LineDict, what: str, team_keys: Collection[str] | None) -> dict[str, list[str]]:
    from store.org_file import _close_keys, _read_misspellings

    raw = check.mapping(p["match"], p.key_lines["match"], f"{what}: match")
    if raw is None:
        return {}
    raw = _read_misspellings(raw, MATCH_KEYS)
    check.unknown_keys(raw, MATCH_KEYS, f"{what}: match")
    match: dict[str, list[str]] = {}
    for key in MATCH_KEYS:
        if raw.get(key) is None:
            continue
        line = raw.key_lines[key]
        value = raw[key]
        items = [value] if isinstance(value, str) else value if isinstance(value, LineList) else None
        if not items or len(items) > MAX_MATCH_VALUES or not all(isinstance(i, str) and i.strip() for i in items):
            check.add(line, f"{what}: match {key} must be a list of 1 to {MAX_MATCH_VALUES} words, e.g. {key}: [{_EXAMPLE[key]}]")
            continue
        values: list[str] = []
        for item in items:
            word = _value(check, line, what, key, item, team_keys, _close_keys)
            if word is not None and word not in values:
                values.append(word)
        if values:
            match[key] = values
    if not match and not any(raw.get(k) is not None for k in MATCH_KEYS):
        check.add(raw.line, f"{what}: match names nothing; use priority, channel, tag or team (or leave match out to take every ticket)")
    return match


_EXAMPLE = {"priority": "urgent, high", "channel": "chat, phone", "tag": "vip", "team": "support-emea"}


def _value(check: _Checker, line: int, what: str, key: str, item: str, team_keys: Collection[str] | None, close: Any) -> str | None:
    """One value of a match list as stored (lowercase), or None (reported) when no ticket could have it."""
    if (unwanted := unwanted_character(item)) is not None:
        check.add(line, f"{what}: match {key} {clip(item)} holds {unwanted}; remove it")
        return None
    word = item.strip().lower()
    if key == "priority" and word not in PRIORITIES:
        check.add(line, f"{what}: match priority {clip(item)} is not a priority ({', '.join(PRIORITIES)})")
        return None
    if key == "team" and team_keys is not None and word not in team_keys:
        guesses = close(word, team_keys)
        hint = f"; did you mean {' or '.join(repr(g) for g in guesses)}?" if guesses else ""
        check.add(line, f"{what}: match team {clip(item)} is not a team in this file{hint}")
        return None
    if key == "tag":
        tag = one_tag(item)
        if tag is None:
            check.add(line, f"{what}: match tag {clip(item)} is not a tag: one word of {TAG_CHARACTERS}")
        return tag
    if key == "channel" and len(word) > 32:
        check.add(line, f"{what}: match channel {clip(item)} is longer than a channel (32 characters)")
        return None
    return word
