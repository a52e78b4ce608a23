"""The organisation YAML file: validate, apply idempotently, and show back.

`apply` refuses a wrong file whole: every problem is collected with its line
number before anything is written, and the writes happen in one transaction.
The file is read with the one safe loader (`store.yaml_file`): no aliases, no
duplicate keys, bounded size and depth; every text field must be written as
text, so an id such as `0777` is never silently read as the number 511.
Members and teams missing from the file are deactivated, never deleted, so
their history (tickets, notes, reviews) stays attached to them; a team whose
key changes says so (`renamed_from: OLD`), and keeps its history under the new
key (`store.team_renames`). `sweeping_changes` says beforehand when applying a
file would deactivate most members, leave no admin, or deactivate a team with
tickets while a new one appears (a rename without `renamed_from`), so the CLI
can ask for --force.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from store import qa_sampling, yaml_file
from store.calendar_file import NO_CALENDAR, CalendarSpec, parse_calendars
from store.clock import system_clock
from store.escalation_file import EscalationSpec, parse_escalation
from store.qa_file import QaSpec, parse_qa, qa_document
from store.qa_sampling_file import parse_sampling, sampling_document
from store.qa_rubrics import QaRubricVersion, latest
from store.sla_file import SlaPolicySpec, parse_sla
from store.sla_policies import apply_sla
from store.sla_policies import current as current_sla
from store.local_time import DAY_NAMES, weekdays
from store.name_characters import unwanted_character
from store.org import ROLES, Member, Org, Team
from store.queues import EscalationQueue
from store.quoting import clip
from store.team_renames import rename_team
from store.yaml_file import LineDict, LineList, YamlFileError
from store.zones import is_zone

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A target beyond this is a typo, and would overflow float arithmetic in the KPI checks.
MAX_TARGET = 1e12
PLATFORMS = ("slack", "teams")

TOP_KEYS = ("org", "calendars", "teams", "members", "escalation", "qa", "sla")
ORG_KEYS = ("name", "timezone", "calendar", "digest")
TEAM_KEYS = ("key", "renamed_from", "name", "timezone", "calendar", "channels", "digest", "targets", "alerts")
ALERT_KEYS = ("above", "below", "window", "min_n", "for")
# How far back an alert's window may reach, and how long `for` may wait.
MAX_ALERT_WINDOW_S, MAX_ALERT_FOR_S = 31 * 86400, 86400
DIGEST_KEYS = ("time", "days", "weekly")
ORG_DIGEST_KEYS = ("time", "days")
MEMBER_KEYS = ("handle", "name", "email", "team", "role", "slack_id", "teams_id", "timezone")


class Measured(Protocol):
    """What the file needs to know of a metric to check its target (kpi.definitions.Metric has it)."""

    @property
    def unit(self) -> str: ...


# How a target of each unit must be written, for messages.
UNIT_RULES = {
    "rate": "a rate between 0 and 1",
    "count": "a non-negative whole number",
    "seconds": "a non-negative number of seconds",
}
# "90%" or "1h" written for a target: what the author meant is plain to see.
PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\s*$", re.IGNORECASE)
DURATION_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class OrgFileError(Exception):
    """The file was refused; `problems` lists every reason with its line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ---------------------------------------------------------------- parsing

# The loader's line-remembering mapping, under the name this module has always used.
_LineDict = LineDict




@dataclass
class TeamSpec:
    key: str
    name: str
    timezone: str
    slack_channel: str | None = None
    teams_channel: str | None = None
    digest_time: str | None = None
    digest_days: str | None = None
    digest_weekly: str | None = None
    targets: dict[str, float] = field(default_factory=dict)
    # metric -> {"direction": "above"|"below", "threshold": n, "window_s": s, "min_n": n, "for_s": s}
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    renamed_from: str | None = None  # the key this team had before (its history moves with it)
    renamed_from_line: int = 0
    calendar: str | None = None  # a calendar key, "none" (around the clock), or None: the org's


@dataclass
class MemberSpec:
    handle: str
    name: str
    email: str | None
    team: str | None
    role: str
    slack_id: str | None
    teams_id: str | None
    timezone: str | None


@dataclass
class OrgSpec:
    name: str
    timezone: str
    teams: list[TeamSpec]
    members: list[MemberSpec]
    digest_time: str | None = None  # the org roll-up to managers and admins
    digest_days: str | None = None
    escalation: EscalationSpec = field(default_factory=EscalationSpec)
    qa: QaSpec | None = None  # None: the file has no `qa:` section
    source: str = "org.yaml"  # how problems found when applying name the file
    calendars: list[CalendarSpec] = field(default_factory=list)
    calendar: str | None = None  # the org's calendar key: the teams' unless they name another
    sla: list[SlaPolicySpec] | None = None  # None: the file has no `sla:` section


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, line: int | None, message: str) -> None:
        where = f"{self.source}:{line}" if line else self.source
        self.problems.append(f"{where}: {message}")

    def text(self, m: _LineDict, key: str, what: str, *, required: bool = False, max_len: int = 200) -> str | None:
        """A string field of at most `max_len` characters.

        Only text is text: YAML reads an unquoted 0777 as 511, 0x1F as 31 and
        yes as true, so an id written that way would be stored as something
        else. The message quotes back what was written. Every field read here
        is a name or an id, so none may hold a character `store.name_characters`
        refuses (a line break, an escape, a bidirectional override, …), however
        the file wrote it (`"Agent\\r\\nOne"` is decoded before it is checked).
        """
        if key not in m or m[key] is None:
            if required:
                self.add(m.line, f"{what}: '{key}' is required")
            return None
        value = m[key]
        if isinstance(value, (dict, list)):
            self.add(m.key_lines[key], f"{what}: '{key}' must be text, not {clip(value)}")
            return None
        if not isinstance(value, str):
            written = m.value_texts.get(key) or str(value)
            example = json.dumps(written if len(written) <= 40 else written[:40] + "…", ensure_ascii=False)
            self.add(m.key_lines[key], f"{what}: '{key}' must be text: quote it, e.g. {key}: {example}")
            return None
        unwanted = unwanted_character(value)
        if unwanted is not None:
            self.add(m.key_lines[key], f"{what}: '{key}' holds {unwanted}; names and ids are one line of visible text: remove it")
            return None
        value = value.strip()
        if required and not value:
            self.add(m.key_lines[key], f"{what}: '{key}' must not be empty")
            return None
        if len(value) > max_len:
            self.add(m.key_lines[key], f"{what}: '{key}' is {len(value)} characters long; at most {max_len}")
            return None
        return value or None

    def listed_key(self, m: _LineDict, key: str | None, what: str, noun: str, seen: dict[str, int], reserved: Mapping[str, str] | None = None) -> None:
        """A listed item's `key`: a lowercase slug, not a reserved word (its reason), not listed before; else reported at its line."""
        if key is None:
            return
        line = m.key_lines["key"]
        if not SLUG.match(key):
            self.add(line, f"{what}: key must be a lowercase slug (letters, digits, hyphens)")
        elif reserved and key in reserved:
            self.add(line, f"{what}: {reserved[key]}")
        elif key in seen:
            self.add(line, f"{what}: duplicate {noun} key (first on line {seen[key]})")
        else:
            seen[key] = line

    def unknown_keys(self, m: _LineDict, allowed: Iterable[str], what: str) -> None:
        """Report every key of `m` that is not allowed, suggesting the allowed key it looks like.

        A key read as the one it meant (see `_read_misspellings`) is reported
        here once, and nowhere else.
        """
        allowed = tuple(allowed)
        expected = f"(expected one of: {', '.join(allowed)})"
        for key in m:
            written = m.misspelt.get(key) if isinstance(m, _Respelt) else None
            if written is not None:
                self.add(m.key_lines[key], f"{what}: unknown key {clip(written)}: did you mean {key!r}? {expected}")
            elif key not in allowed:
                guesses = _close_keys(key, [k for k in allowed if k not in m])
                hint = f": did you mean {' or '.join(repr(g) for g in guesses)}? " if guesses else " "
                self.add(m.key_lines[key], f"{what}: unknown key {clip(key)}{hint}{expected}")

    def mapping(self, value: Any, line: int, what: str) -> _LineDict | None:
        if not isinstance(value, LineDict):
            self.add(line, f"{what} must be a mapping of key: value")
            return None
        return value


class _Respelt(LineDict):
    """A mapping whose misspelt keys were read as the keys they meant; `misspelt` maps meant -> written."""

    misspelt: dict[str, str]


def _close_keys(key: str, candidates: Collection[str]) -> list[str]:
    """The (at most two) candidates `key` looks like a misspelling of, closest first (`kye` is `key`)."""
    key = key.strip().lower()
    swapped = [c for c in candidates if sorted(c) == sorted(key)]
    return (swapped + [c for c in difflib.get_close_matches(key, list(candidates), n=2, cutoff=0.7) if c not in swapped])[:2]


def _read_misspellings(m: _LineDict, allowed: Collection[str]) -> _LineDict:
    """`m` with each key that can only be a misspelling of a missing allowed key read as that key.

    `member:` for `members:` would otherwise be reported again through
    everything that depends on it (every member's team "unknown" when
    `teams:` is misspelt, a required field "missing"); read as meant, the
    misspelling is the one problem reported (by `unknown_keys`), and the
    file's other problems are still real ones. The file is refused either way.
    """
    missing = [k for k in allowed if k not in m]
    renames: dict[str, str] = {}
    for key in m:
        if key in allowed:
            continue
        guesses = _close_keys(key, [k for k in missing if k not in renames.values()])
        if len(guesses) == 1:  # two lookalikes: a suggestion, but no guess at which was meant
            renames[key] = guesses[0]
    if not renames:
        return m
    out = _Respelt()
    out.line, out.key_lines, out.value_texts, out.misspelt = m.line, {}, {}, {}
    for key, value in m.items():
        meant = renames.get(key, key)
        out[meant] = value
        out.key_lines[meant] = m.key_lines[key]
        out.value_texts[meant] = m.value_texts.get(key)
        if meant != key:
            out.misspelt[meant] = key
    return out


def _digest_time(value: Any, written: str | None) -> str | None:
    # YAML 1.1 reads an unquoted 9:30 as the base-60 integer 570; take it back,
    # but only when it was written so (`time: 90` or `0777` is not a time).
    if isinstance(value, int) and not isinstance(value, bool) and written is not None:
        value = written
    if isinstance(value, str):
        v = value.strip()
        if re.fullmatch(r"\d:[0-5]\d", v):
            v = "0" + v
        if HHMM.match(v):
            return v
    return None


def read_org(path: Path, target_names: Collection[str] | Mapping[str, Measured], source: str | None = None, *, default_timezone: str = "UTC") -> OrgSpec:
    """Read and validate an org file from disk; OrgFileError lists every problem (unreadable, too big, not UTF-8 included)."""
    source = source or str(path)
    try:
        text = yaml_file.read_text(path, source)
    except YamlFileError as exc:
        raise OrgFileError(exc.problems) from None
    return parse_org(text, target_names, source, default_timezone=default_timezone)


def parse_org(
    text: str, target_names: Collection[str] | Mapping[str, Measured], source: str = "org.yaml", *, default_timezone: str = "UTC"
) -> OrgSpec:
    """Validate an org file; raise OrgFileError listing every problem.

    `target_names` are the metrics a target may name; given as a mapping to
    each metric's definition (kpi.definitions.BY_NAME), a target is checked
    against its unit too: a rate between 0 and 1, a count a whole number.
    `default_timezone` is the org's time zone when the file names none.
    """
    check = _Checker(source)
    try:
        doc = yaml_file.load(text, source)
    except YamlFileError as exc:
        raise OrgFileError(exc.problems) from None
    if doc is None:
        raise OrgFileError([f"{source}: the file is empty"])
    if not isinstance(doc, LineDict):
        raise OrgFileError([f"{source}:1: the file must be a mapping with org, teams and members"])
    doc = _read_misspellings(doc, TOP_KEYS)
    check.unknown_keys(doc, TOP_KEYS, "top level")

    org_name, org_tz = "csbot", default_timezone
    org_digest: tuple[str | None, str | None, str | None] = (None, None, None)
    calendars = parse_calendars(check, doc) if doc.get("calendars") is not None else []
    calendar_keys = {c.key for c in calendars if c.key and c.key != NO_CALENDAR}
    org_calendar = None
    if "org" in doc:
        org = check.mapping(doc["org"], doc.key_lines["org"], "org")
        if org is not None:
            org = _read_misspellings(org, ORG_KEYS)
            check.unknown_keys(org, ORG_KEYS, "org")
            org_name = check.text(org, "name", "org", required=True) or org_name
            org_tz = _timezone(check, org, "org") or org_tz
            if "digest" in org and org["digest"] is not None:
                org_digest = _digest(check, org, "org", ORG_DIGEST_KEYS)
            if org.get("calendar") is not None:
                org_calendar = _calendar_key(check, org, "org", calendar_keys)

    teams = _parse_teams(doc, check, target_names, calendar_keys)
    # When a team could not be read, a member's team may be that one: the
    # team's problem is reported, and its members are not reported again.
    raw_teams = doc.get("teams")
    readable = raw_teams is None or (
        isinstance(raw_teams, LineList) and all(isinstance(t, LineDict) and isinstance(t.get("key"), str) for t in raw_teams)
    )
    renames = {t.renamed_from: t for t in teams if t.renamed_from}
    members = _parse_members(doc, check, {t.key for t in teams} if readable else None, renames)
    escalation = EscalationSpec()
    if doc.get("escalation") is not None:
        escalation = parse_escalation(
            check, doc, {m.handle for m in members}, {t.key for t in teams} if readable else None, {c.key: c.as_dict() for c in calendars if c.key in calendar_keys}
        )
    qa = parse_qa(check, doc) if doc.get("qa") is not None else None
    if qa is not None and isinstance(doc["qa"], LineDict) and doc["qa"].get("sampling") is not None:
        qa.sampling = parse_sampling(check, doc["qa"], {t.key for t in teams} if readable else None, members)
    sla = parse_sla(check, doc, {t.key for t in teams} if readable else None) if doc.get("sla") is not None else None
    if check.problems:
        raise OrgFileError(check.problems)
    return OrgSpec(org_name, org_tz, teams, members, org_digest[0], org_digest[1], escalation, qa, source, calendars=calendars, calendar=org_calendar, sla=sla)


def _calendar_key(check: _Checker, m: _LineDict, what: str, known: Collection[str]) -> str | None:
    """A `calendar:` naming one of the file's calendars (or `none`); None (reported) when it names no calendar."""
    key = check.text(m, "calendar", what, max_len=64)
    if key is None:
        return None
    if key == NO_CALENDAR or key in known:
        return key
    guesses = _close_keys(key, known)
    hint = f"; did you mean {' or '.join(repr(g) for g in guesses)}?" if guesses else ""
    listed = ", ".join(sorted(known)) if known else "the file has no calendars: section"
    check.add(m.key_lines["calendar"], f"{what}: unknown calendar {clip(key)}{hint} (calendars: {listed}; or none for around the clock)")
    return None


def _digest(check: _Checker, m: _LineDict, what: str, keys: tuple[str, ...]) -> tuple[str | None, str | None, str | None]:
    """A `digest` mapping: (time "HH:MM", days spec, weekly day); each None when absent or refused (reported)."""
    digest = check.mapping(m["digest"], m.key_lines["digest"], f"{what}: digest")
    if digest is None:
        return None, None, None
    digest = _read_misspellings(digest, keys)
    check.unknown_keys(digest, keys, f"{what}: digest")
    at = None
    if "time" in digest:
        at = _digest_time(digest["time"], digest.value_texts.get("time"))
        if at is None:
            written = digest.value_texts.get("time") or digest["time"]
            check.add(digest.key_lines["time"], f"{what}: digest time {clip(written)} is not HH:MM (24-hour)")
    else:
        check.add(digest.line, f"{what}: digest needs a time, e.g. \"09:00\"")
    days = None
    written_days = check.text(digest, "days", f"{what}: digest", max_len=64) if "days" in digest else "mon-fri"
    if written_days is not None:
        try:
            weekdays(written_days)
            days = written_days.strip().lower()
        except ValueError as exc:
            check.add(digest.key_lines.get("days", digest.line), f"{what}: digest days: {exc}")
    weekly = None
    if "weekly" in digest and digest["weekly"] is not None:
        written_weekly = check.text(digest, "weekly", f"{what}: digest", max_len=16)
        if written_weekly is not None:
            weekly = written_weekly.strip().lower()[:3]
            if written_weekly.strip().lower() not in (*DAY_NAMES, *FULL_DAY_NAMES):
                check.add(digest.key_lines["weekly"], f"{what}: digest weekly {clip(written_weekly)} is not a day (mon, tue, … sun)")
                weekly = None
    return at, days, weekly


def _timezone(check: _Checker, m: _LineDict, what: str, *, required: bool = False) -> str | None:
    """A `timezone` field: text naming an IANA time zone, or None (reported) when it is not one."""
    tz = check.text(m, "timezone", what, required=required, max_len=64)
    if tz is not None and not is_zone(tz):
        check.add(m.key_lines["timezone"], f"{what}: unknown time zone {clip(tz)}")
        return None
    return tz


def _items(doc: _LineDict, key: str, check: _Checker, allowed: Collection[str], *, what: str | None = None) -> list[tuple[int, _LineDict]]:
    """The mappings listed under `key`, misspelt keys read as meant (each checked against `allowed` by the caller).

    `what` names where the list is, for its problems (`queue 'billing': schedules must be a list`).
    """
    where = f"{what}: " if what else ""
    raw = doc.get(key)
    if raw is None:
        return []
    if not isinstance(raw, LineList):
        check.add(doc.key_lines[key], f"{where}{key} must be a list")
        return []
    out = []
    for index, item in enumerate(raw):
        if not isinstance(item, LineDict):
            check.add(raw.item_lines[index], f"{where}{key}[{index}] must be a mapping")
            continue
        out.append((index, _read_misspellings(item, allowed)))
    return out


def _parse_teams(
    doc: _LineDict, check: _Checker, target_names: Collection[str] | Mapping[str, Measured], calendar_keys: Collection[str] = ()
) -> list[TeamSpec]:
    teams: list[TeamSpec] = []
    seen: dict[str, int] = {}
    for index, t in _items(doc, "teams", check, TEAM_KEYS):
        key = check.text(t, "key", f"teams[{index}]", required=True, max_len=64)
        what = f"team {key!r}" if key else f"teams[{index}]"
        check.unknown_keys(t, TEAM_KEYS, what)
        name = check.text(t, "name", what, required=True)
        check.listed_key(t, key, what, "team", seen)
        tz = _timezone(check, t, what, required=True)
        spec = TeamSpec(key=key or "", name=name or "", timezone=tz or "UTC")
        if "renamed_from" in t and t["renamed_from"] is not None:
            spec.renamed_from = check.text(t, "renamed_from", what, max_len=64)
            spec.renamed_from_line = t.key_lines["renamed_from"]
            if spec.renamed_from is not None and not SLUG.match(spec.renamed_from):
                check.add(spec.renamed_from_line, f"{what}: renamed_from must be a team key (a lowercase slug), not {clip(spec.renamed_from)}")
                spec.renamed_from = None
            elif spec.renamed_from is not None and spec.renamed_from == key:
                check.add(spec.renamed_from_line, f"{what}: renamed_from is the team's own key")
                spec.renamed_from = None
        if t.get("calendar") is not None:
            spec.calendar = _calendar_key(check, t, what, calendar_keys)
        if "channels" in t and t["channels"] is not None:
            channels = check.mapping(t["channels"], t.key_lines["channels"], f"{what}: channels")
            if channels is not None:
                channels = _read_misspellings(channels, PLATFORMS)
                check.unknown_keys(channels, PLATFORMS, f"{what}: channels")
                spec.slack_channel = check.text(channels, "slack", f"{what}: channels", max_len=64)
                spec.teams_channel = check.text(channels, "teams", f"{what}: channels", max_len=256)
        if "digest" in t and t["digest"] is not None:
            spec.digest_time, spec.digest_days, spec.digest_weekly = _digest(check, t, what, DIGEST_KEYS)
        if "targets" in t and t["targets"] is not None:
            targets = check.mapping(t["targets"], t.key_lines["targets"], f"{what}: targets")
            if targets is not None:
                for metric, value in targets.items():
                    line = targets.key_lines[metric]
                    if metric not in target_names:
                        guesses = _close_keys(metric, target_names)
                        hint = f": did you mean {' or '.join(repr(g) for g in guesses)}?" if guesses else ""
                        check.add(line, f"{what}: unknown target {clip(metric)}{hint} (known: {', '.join(sorted(target_names))})")
                        continue
                    unit = target_names[metric].unit if isinstance(target_names, Mapping) else None
                    problem = _target_problem(metric, unit, value, targets.value_texts.get(metric))
                    if problem is not None:
                        check.add(line, f"{what}: {problem}")
                    else:
                        spec.targets[str(metric)] = value
        if "alerts" in t and t["alerts"] is not None:
            spec.alerts = _alerts(check, t, what, target_names)
        teams.append(spec)
    _check_renames(check, teams, seen)
    return teams


def _check_renames(check: _Checker, teams: list[TeamSpec], listed: Mapping[str, int]) -> None:
    """A team is renamed from a key no team of the file has, and by one team only.

    A key both listed and renamed from would make the file mean two things
    (the history goes to the new key, and the old key stays a team), and a
    swap (a from b, b from a) is the same mistake twice.
    """
    claimed: dict[str, TeamSpec] = {}
    for spec in teams:
        old = spec.renamed_from
        if old is None:
            continue
        what = f"team {spec.key!r}"
        if old in listed:
            check.add(spec.renamed_from_line, f"{what}: renamed_from {old!r} is a team this file lists (line {listed[old]}); a team is either renamed or listed")
            spec.renamed_from = None
        elif old in claimed:
            first = claimed[old]
            check.add(spec.renamed_from_line, f"{what}: renamed_from {old!r} is already claimed by team {first.key!r} (line {first.renamed_from_line})")
            spec.renamed_from = None
        else:
            claimed[old] = spec


def _duration_s(value: Any) -> int | None:
    """`30m`, `4h`, `1d`, `90s` (or a number of seconds) as whole seconds; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and (m := DURATION.match(value)):
        return int(Decimal(m.group(1)) * DURATION_S[m.group(2)[0].lower()])
    return None


def _alerts(check: _Checker, t: _LineDict, what: str, target_names: Collection[str] | Mapping[str, Measured]) -> dict[str, dict[str, Any]]:
    """A team's `alerts`: per metric, a threshold (`above` or `below`), an optional `window`, `min_n` and `for`."""
    alerts = check.mapping(t["alerts"], t.key_lines["alerts"], f"{what}: alerts")
    found: dict[str, dict[str, Any]] = {}
    if alerts is None:
        return found
    for metric, raw in alerts.items():
        line = alerts.key_lines[metric]
        where = f"{what}: alert {clip(metric)}"
        if metric not in target_names:
            guesses = _close_keys(metric, target_names)
            hint = f": did you mean {' or '.join(repr(g) for g in guesses)}?" if guesses else ""
            check.add(line, f"{what}: alert on unknown metric {clip(metric)}{hint} (known: {', '.join(sorted(target_names))})")
            continue
        rule = check.mapping(raw, line, where)
        if rule is None:
            continue
        rule = _read_misspellings(rule, ALERT_KEYS)
        check.unknown_keys(rule, ALERT_KEYS, where)
        directions = [k for k in ("above", "below") if k in rule]
        if len(directions) != 1:
            check.add(rule.line, f"{where} needs one threshold: above: N or below: N" + (", not both" if len(directions) == 2 else ""))
            continue
        direction = directions[0]
        unit = target_names[metric].unit if isinstance(target_names, Mapping) else None
        problem = _target_problem(str(metric), unit, rule[direction], rule.value_texts.get(direction), what="alert threshold for")
        if problem is not None:
            check.add(rule.key_lines[direction], f"{what}: {problem}")
            continue
        spec: dict[str, Any] = {"direction": direction, "threshold": rule[direction], "window_s": 86400, "min_n": 0, "for_s": 0}
        if "window" in rule:
            window = _duration_s(rule["window"])
            if metric == "backlog":
                check.add(rule.key_lines["window"], f"{where}: backlog is counted at the moment of each check, so it takes no window")
            elif window is None or not 60 <= window <= MAX_ALERT_WINDOW_S:
                check.add(rule.key_lines["window"], f"{where}: window {clip(rule.value_texts.get('window') or rule['window'])} is not a span from 1m to 31d, e.g. 4h or 1d")
            else:
                spec["window_s"] = window
        if "min_n" in rule:
            n = rule["min_n"]
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 1_000_000:
                check.add(rule.key_lines["min_n"], f"{where}: min_n must be a whole number of tickets, 0 or more, got {clip(rule.value_texts.get('min_n') or n)}")
            else:
                spec["min_n"] = n
        if "for" in rule:
            hold = _duration_s(rule["for"])
            if hold is None or hold > MAX_ALERT_FOR_S:
                check.add(rule.key_lines["for"], f"{where}: for {clip(rule.value_texts.get('for') or rule['for'])} is not a span up to 1d, e.g. 30m")
            else:
                spec["for_s"] = hold
        found[str(metric)] = spec
    return found


def _plain(number: Decimal) -> str:
    """A decimal as a person writes it: 0.9, not 0.900 or 9E-1."""
    return format(number.normalize(), "f")


def _number_as_written(value: float, written: str | None) -> str:
    """A number quoted back as the file wrote it (`1e3`, `90`), unquoted, never at great length."""
    text = written or repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _as_decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and abs(number) <= MAX_TARGET else None


def _target_problem(metric: str, unit: str | None, value: Any, written: str | None, what: str = "target") -> str | None:
    """Why `value` cannot be the target for `metric` (of `unit`: rate, count, seconds), or None when it can.

    A rate is a share between 0 and 1, as the KPIs compute it: `csat: 90`
    would be a target no team can ever meet, so 1 < value <= 100 is taken for
    a percentage and the share is suggested. A percentage or a duration
    written as text ("90%", "1h") gets the number it means.
    """
    rule = UNIT_RULES.get(unit or "", "a non-negative number")
    if isinstance(value, str):
        suggestion = None
        percent = PERCENT.match(value)
        duration = DURATION.match(value)
        if unit == "rate" and percent and Decimal(percent.group(1)) <= 100:
            suggestion = _plain(Decimal(percent.group(1)) / 100)
        elif unit == "seconds" and duration:
            seconds = Decimal(duration.group(1)) * DURATION_S[duration.group(2)[0].lower()]
            suggestion = _plain(seconds)
        elif (number := _as_decimal(value)) is not None:
            # Quoted ("0.9"), or a form YAML reads as text (1e2): a number was meant.
            if unit == "rate" and 1 < number <= 100:
                fix = f"did you mean {_plain(number / 100)}?"
            elif value.strip() == _plain(number):
                fix = "write it without quotes"
            else:
                fix = f"write it as {_plain(number)}"
            return f"{what} {metric} must be {rule}, got {clip(value)} (text, not a number): {fix}"
        hint = f": did you mean {suggestion}?" if suggestion is not None else ""
        return f"{what} {metric} must be {rule}, got {clip(value)}{hint}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        got = written if written is not None and not isinstance(value, (dict, list)) else value
        return f"{what} {metric} must be {rule}, got {clip(got)}"
    if not math.isfinite(value) or abs(value) > MAX_TARGET:
        return f"{what} {metric} must be a finite number of at most {MAX_TARGET:,.0f}, got {_number_as_written(value, written)}"
    shown = _number_as_written(value, written)
    if unit == "rate" and not 0 <= value <= 1:
        if 1 < value <= 100:
            return f"{what} {metric} must be {rule}, got {shown}: did you mean {_plain(Decimal(str(value)) / 100)}?"
        return f"{what} {metric} must be {rule}, got {shown}"
    if value < 0:
        return f"{what} {metric} must be {rule}, got {shown}"
    if unit == "count" and value != int(value):
        return f"{what} {metric} must be {rule}, got {shown}"
    return None


def _parse_members(doc: _LineDict, check: _Checker, team_keys: set[str] | None, renames: Mapping[str, TeamSpec]) -> list[MemberSpec]:
    """The members; `team_keys` None means the teams could not all be read, so team names are not checked.

    `renames` maps a key teams are renamed from to the team: a member left on the old key is told the new one.
    """
    members: list[MemberSpec] = []
    seen: dict[str, dict[str, tuple[str, int]]] = {"handle": {}, "email": {}, "slack_id": {}, "teams_id": {}}
    for index, m in _items(doc, "members", check, MEMBER_KEYS):
        handle = check.text(m, "handle", f"members[{index}]", required=True, max_len=64)
        what = f"member {handle!r}" if handle else f"members[{index}]"
        check.unknown_keys(m, MEMBER_KEYS, what)
        name = check.text(m, "name", what, required=True)
        email = check.text(m, "email", what, max_len=320)
        team = check.text(m, "team", what)
        role = check.text(m, "role", what) or "agent"
        slack_id = check.text(m, "slack_id", what, max_len=32)
        teams_id = check.text(m, "teams_id", what, max_len=64)
        tz = _timezone(check, m, what)
        if handle is not None and not SLUG.match(handle):
            check.add(m.key_lines["handle"], f"{what}: handle must be a lowercase slug (letters, digits, hyphens)")
        if email is not None and not EMAIL.match(email):
            check.add(m.key_lines["email"], f"{what}: {clip(email)} is not an email address")
        if team is not None and team_keys is not None and team in renames:
            new = renames[team]
            check.add(m.key_lines["team"], f"{what}: team {team!r} is now called {new.key!r} (renamed_from on line {new.renamed_from_line}); write team: {new.key}")
        elif team is not None and team_keys is not None and team not in team_keys:
            check.add(m.key_lines["team"], f"{what}: unknown team {clip(team)}" + _known(team_keys))
        if role not in ROLES:
            check.add(m.key_lines.get("role", m.line), f"{what}: unknown role {clip(role)} (one of: {', '.join(ROLES)})")
        for attr, value in (("handle", handle), ("email", email), ("slack_id", slack_id), ("teams_id", teams_id)):
            if value is None:
                continue
            norm = value.lower() if attr == "email" else value
            line = m.key_lines[attr]
            if norm in seen[attr]:
                first_handle, first_line = seen[attr][norm]
                check.add(line, f"{what}: duplicate {attr} {clip(value)} (also on line {first_line})")
            else:
                seen[attr][norm] = (handle or "", line)
        members.append(
            MemberSpec(
                handle=handle or "",
                name=name or "",
                email=email,
                team=team,
                role=role,
                slack_id=slack_id,
                teams_id=teams_id,
                timezone=tz,
            )
        )
    return members


def _known(keys: set[str]) -> str:
    valid = sorted(k for k in keys if SLUG.match(k))  # the others are already reported
    return f" (teams in this file: {', '.join(valid)})" if valid else " (this file lists no teams)"


# ---------------------------------------------------------------- applying


@dataclass
class ApplyResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)  # "team support-amer → support-na"

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated or self.reactivated or self.renamed)

    def summary(self) -> str:
        if not self.changed:
            return "No changes: the database already matches the file."
        parts = []
        for label, items in (
            ("renamed", self.renamed),
            ("created", self.created),
            ("updated", self.updated),
            ("reactivated", self.reactivated),
            ("deactivated", self.deactivated),
        ):
            if items:
                parts.append(f"{label} {len(items)}: {', '.join(items)}")
        return "\n".join(parts)


@dataclass
class SweepingChanges:
    """What applying a file would do that is rarely meant, found before anything is written.

    A file cut short, an old export or a misplaced `members:` list would
    otherwise deactivate most of the organisation, or lock every admin out,
    in one idempotent-looking command.
    """

    active: int  # active members now
    deactivated: list[str]  # handles of active members the file no longer lists
    admins_lost: list[str]  # "root (deactivated)", "jo (now agent)": when no active admin would be left
    # Teams with tickets the file would deactivate (key, tickets) while it creates others: most
    # likely a key changed without `renamed_from`, which would leave the history on the old key.
    teams_replaced: list[tuple[str, int]] = field(default_factory=list)
    teams_created: list[str] = field(default_factory=list)

    def reasons(self) -> list[str]:
        """What applying would do that needs confirming, each a verb phrase ("deactivate 12 of 20 active
        members", "leave no active admin: root (now agent)"); empty when nothing does."""
        out = []
        if self.active and len(self.deactivated) * 2 > self.active:
            out.append(f"deactivate {len(self.deactivated)} of {self.active} active members")
        if self.admins_lost:
            out.append(f"leave no active admin: {', '.join(self.admins_lost)}")
        if self.teams_replaced and self.teams_created:
            out.append(self._replacing())
        return out

    def _replacing(self) -> str:
        old = [f"{key} ({n:,} ticket{'s' if n != 1 else ''})" for key, n in self.teams_replaced]
        olds = f"team {old[0]}" if len(old) == 1 else f"teams {_few(old)}"
        news = f"team {self.teams_created[0]}" if len(self.teams_created) == 1 else f"teams {_few(self.teams_created)}"
        if len(old) == 1 and len(self.teams_created) == 1:
            was, new = self.teams_replaced[0][0], self.teams_created[0]
            hint = f"if {new} is {was} under a new key, add `renamed_from: {was}` to team {new} to keep its history"
        else:
            hint = "if a new team is an old one under a new key, add `renamed_from: OLD-KEY` to it to keep its history"
        return f"deactivate {olds} while creating {news}: {hint}"


def _few(items: list[str], shown: int = 10) -> str:
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


TicketCounter = Callable[[Session, Collection[int]], Mapping[int, int]]


def sweeping_changes(session: Session, spec: OrgSpec, *, tickets: TicketCounter | None = None) -> SweepingChanges:
    """Compare `spec` with the database: who would be deactivated, and whether an active admin would remain.

    Every member the file lists is active after applying it (a listed
    inactive member is reactivated), so the file alone says who remains.
    `tickets` (team ids -> how many tickets each has; kpi.team_history has
    it) lets this also find teams with history the file would deactivate
    while it creates new ones.
    """
    active = {m.handle: m.role for m in session.scalars(select(Member).where(Member.active.is_(True)).order_by(Member.handle))}
    listed = {ms.handle: ms.role for ms in spec.members}
    deactivated = [h for h in active if h not in listed]
    admins_lost: list[str] = []
    if any(role == "admin" for role in active.values()) and "admin" not in listed.values():
        for handle, role in active.items():
            if role == "admin":
                admins_lost.append(f"{handle} (deactivated)" if handle not in listed else f"{handle} (now {listed[handle]})")
    found = SweepingChanges(active=len(active), deactivated=deactivated, admins_lost=admins_lost)
    if tickets is not None:
        teams = {t.key: t for t in session.scalars(select(Team).order_by(Team.key))}
        renamed = {ts.renamed_from: ts.key for ts in spec.teams if ts.renamed_from in teams and ts.key not in teams}
        wanted = {ts.key for ts in spec.teams}
        found.teams_created = [ts.key for ts in spec.teams if ts.key not in teams and ts.key not in renamed.values()]
        going = [t for key, t in teams.items() if t.active and key not in wanted and key not in renamed]
        if found.teams_created and going:
            counts = tickets(session, [t.id for t in going])
            found.teams_replaced = [(t.key, counts[t.id]) for t in going if counts.get(t.id)]
    return found


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for attr, value in values.items():
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changed = True
    return changed


def _sync(
    session: Session,
    existing: dict[str, Any],
    wanted: list[tuple[str, dict[str, Any]]],
    make: Callable[..., Any],
    label: str,
    result: ApplyResult,
    now: datetime,
) -> None:
    """Create, update, reactivate and deactivate rows keyed by `key` to match `wanted`."""
    for key, values in wanted:
        row = existing.get(key)
        if row is None:
            row = make(active=True, **values)
            session.add(row)
            existing[key] = row
            result.created.append(f"{label} {key}")
            continue
        if not row.active:
            row.active = True
            if isinstance(row, Member):  # teams keep no date
                row.deactivated_at = None
            result.reactivated.append(f"{label} {key}")
        if _assign(row, values):
            result.updated.append(f"{label} {key}")
    listed = {key for key, _ in wanted}
    for key, row in existing.items():
        if key not in listed and row.active:
            row.active = False
            if isinstance(row, Member):  # teams keep no date
                row.deactivated_at = now
            result.deactivated.append(f"{label} {key}")
    session.flush()


def apply_org(session: Session, spec: OrgSpec, *, now: datetime | None = None) -> ApplyResult:
    """Make the database match `spec`. Call inside a transaction.

    `now` (default: the system clock) stamps members this deactivates and
    teams this renames. OrgFileError, before anything is written, when a
    rename cannot be done (see `_rename_problems`).
    """
    now = now or system_clock()
    teams = {t.key: t for t in session.scalars(select(Team))}
    problems = _rename_problems(spec, teams)
    if problems:
        raise OrgFileError(problems)
    result = ApplyResult()
    org = session.get(Org, 1)
    org_values = {
        "name": spec.name,
        "timezone": spec.timezone,
        "digest_time": spec.digest_time,
        "digest_days": spec.digest_days,
        "escalation": spec.escalation.to_json() if spec.escalation.queues else None,
        "calendars": [c.as_dict() for c in spec.calendars] or None,
        "calendar": spec.calendar,
    }
    if org is None:
        session.add(Org(id=1, **org_values))
        result.created.append("org")
    elif _assign(org, org_values):
        result.updated.append("org")

    _rename_teams(session, spec, teams, result, now)
    team_values = [
        (
            ts.key,
            {
                "key": ts.key,
                "name": ts.name,
                "timezone": ts.timezone,
                "slack_channel": ts.slack_channel,
                "teams_channel": ts.teams_channel,
                "digest_time": ts.digest_time,
                "digest_days": ts.digest_days,
                "digest_weekly": ts.digest_weekly,
                "targets": dict(ts.targets),
                "alerts": {m: dict(rule) for m, rule in ts.alerts.items()},
                "calendar": ts.calendar,
            },
        )
        for ts in spec.teams
    ]
    _sync(session, teams, team_values, Team, "team", result, now)

    members = {m.handle: m for m in session.scalars(select(Member))}
    # Chat ids are unique; free any id that moves to another handle (or
    # belongs to someone no longer listed) before assigning, so the order of
    # updates inside the flush cannot trip the unique constraint.
    listed = {ms.handle for ms in spec.members}
    freed = False
    for attr in ("slack_id", "teams_id"):
        owners = {getattr(ms, attr): ms.handle for ms in spec.members if getattr(ms, attr)}
        for member in members.values():
            value = getattr(member, attr)
            if value is not None and owners.get(value) != member.handle:
                if value in owners or member.handle in listed:
                    setattr(member, attr, None)
                    freed = True
    if freed:
        session.flush()
    member_values = [
        (
            ms.handle,
            {
                "handle": ms.handle,
                "name": ms.name,
                "email": ms.email,
                "team_id": teams[ms.team].id if ms.team else None,
                "role": ms.role,
                "slack_id": ms.slack_id,
                "teams_id": ms.teams_id,
                "timezone": ms.timezone,
            },
        )
        for ms in spec.members
    ]
    _sync(session, members, member_values, Member, "member", result, now)

    queues = {q.key: q for q in session.scalars(select(EscalationQueue))}
    queue_values = [
        (
            qs.key,
            {
                "key": qs.key,
                "name": qs.name,
                "slack_channel": qs.slack_channel,
                "teams_channel": qs.teams_channel,
                "schedules": qs.schedules,
                "policy": qs.policy,
                "webhook_url": qs.webhook,
                "announce": qs.announce,
                "position": position,
            },
        )
        for position, qs in enumerate(spec.escalation.queues)
    ]
    _sync(session, queues, queue_values, EscalationQueue, "queue", result, now)
    _apply_qa(session, spec.qa, result, now)
    # No `sla:` section retires every policy, as no `qa:` retires the rubric.
    created, updated, reactivated, retired = apply_sla(session, spec.sla or [], now)
    result.created += created
    result.updated += updated
    result.reactivated += reactivated
    result.deactivated += retired
    return result


def _rename_problems(spec: OrgSpec, teams: Mapping[str, Team]) -> list[str]:
    """Renames the database cannot take: onto a key another team has (two histories cannot be one)."""
    problems = []
    for ts in spec.teams:
        if ts.renamed_from is not None and ts.renamed_from in teams and ts.key in teams:
            problems.append(
                f"{spec.source}:{ts.renamed_from_line}: team {ts.key!r}: renamed_from {ts.renamed_from!r}, but both teams exist and "
                "csbot does not merge two teams' history; give the team another key, or remove renamed_from to keep them apart"
            )
    return problems


def _rename_teams(session: Session, spec: OrgSpec, teams: dict[str, Team], result: ApplyResult, now: datetime) -> None:
    """Give each team the file renames its new key, in `teams` too. A rename already done is nothing to do
    (the new key exists, the old one does not), and so is one whose old key csbot never had."""
    for ts in spec.teams:
        if ts.renamed_from is None or ts.key in teams or ts.renamed_from not in teams:
            continue
        team = teams.pop(ts.renamed_from)
        rename_team(session, team, ts.key, now)
        teams[ts.key] = team
        result.renamed.append(f"team {ts.renamed_from} → {ts.key}")


def _apply_qa(session: Session, qa: QaSpec | None, result: ApplyResult, now: datetime) -> None:
    """A new rubric version when the `qa:` section changed; the latest retired when the file has none."""
    # Sampling rules are kept apart from the rubric: changing who samples what is not a new rubric version.
    if qa_sampling.replace(session, qa.sampling if qa is not None else {}):
        result.updated.append("qa sampling")
    last = latest(session)
    if qa is None:
        if last is not None and last.retired_at is None:
            last.retired_at = now
            result.deactivated.append(f"qa rubric v{last.version}")
        return
    if last is not None and (last.pass_mark, last.hide_reviewer, last.categories) == (qa.pass_mark, qa.hide_reviewer, qa.categories):
        if last.retired_at is not None:
            last.retired_at = None
            result.reactivated.append(f"qa rubric v{last.version}")
        return
    version = last.version + 1 if last is not None else 1
    session.add(QaRubricVersion(version=version, pass_mark=qa.pass_mark, hide_reviewer=qa.hide_reviewer, categories=qa.categories, created_at=now))
    if last is not None and last.retired_at is None:
        last.retired_at = now
    result.created.append(f"qa rubric v{version}")


# ---------------------------------------------------------------- showing


def org_document(session: Session) -> dict[str, Any]:
    """The current org (active teams and members) in the org-file shape."""
    org = session.get(Org, 1)
    doc: dict[str, Any] = {"org": {"name": org.name if org else "csbot", "timezone": org.timezone if org else "UTC"}}
    if org is not None and org.calendar:
        doc["org"]["calendar"] = org.calendar
    if org is not None and org.digest_time:
        doc["org"]["digest"] = {"time": org.digest_time, "days": org.digest_days or "mon-fri"}
    if org is not None and org.calendars:
        doc["calendars"] = [CalendarSpec.from_dict(c).as_dict() for c in org.calendars]
    teams_out = []
    team_keys: dict[int, str] = {}
    for t in session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.id)):
        team_keys[t.id] = t.key
        item: dict[str, Any] = {"key": t.key, "name": t.name, "timezone": t.timezone}
        if t.calendar:
            item["calendar"] = t.calendar
        channels = {k: v for k, v in (("slack", t.slack_channel), ("teams", t.teams_channel)) if v}
        if channels:
            item["channels"] = channels
        if t.digest_time:
            item["digest"] = {"time": t.digest_time, "days": t.digest_days or "mon-fri"}
            if t.digest_weekly:
                item["digest"]["weekly"] = t.digest_weekly
        if t.targets:
            item["targets"] = dict(t.targets)
        if t.alerts:
            item["alerts"] = {m: alert_document(rule) for m, rule in t.alerts.items()}
        teams_out.append(item)
    doc["teams"] = teams_out
    members_out = []
    for m in session.scalars(select(Member).where(Member.active.is_(True)).order_by(Member.id)):
        item = {"handle": m.handle, "name": m.name}
        if m.email:
            item["email"] = m.email
        if m.team_id is not None and m.team_id in team_keys:
            item["team"] = team_keys[m.team_id]
        item["role"] = m.role
        for attr in ("slack_id", "teams_id", "timezone"):
            if getattr(m, attr):
                item[attr] = getattr(m, attr)
        members_out.append(item)
    doc["members"] = members_out
    queues = list(session.scalars(select(EscalationQueue).where(EscalationQueue.active.is_(True)).order_by(EscalationQueue.position, EscalationQueue.id)))
    if queues:
        doc["escalation"] = escalation_document(org.escalation if org else None, queues)
    rubric = latest(session)
    if rubric is not None and rubric.retired_at is None:
        doc["qa"] = qa_document(rubric.pass_mark, rubric.hide_reviewer, rubric.categories)
        if sampling := qa_sampling.rules(session):
            doc["qa"]["sampling"] = sampling_document(sampling)
    if policies := current_sla(session):
        doc["sla"] = [policy.spec().as_dict() for policy in policies]
    return doc


def _layer_document(layer: dict[str, Any]) -> dict[str, Any]:
    """A stored layer as the file writes it: its calendar by key (the layer keeps a copy of the calendar)."""
    out = {k: v for k, v in layer.items() if v is not None}
    if isinstance(out.get("calendar"), dict):
        out["calendar"] = out["calendar"]["key"]
    if isinstance(out.get("current"), dict):
        out["current"] = f"{out['current']['handle']} since {out['current']['since']}"
    return out


def escalation_document(routing: dict[str, Any] | None, queues: list[EscalationQueue]) -> dict[str, Any]:
    """The `escalation` section as the org file writes it."""
    out: dict[str, Any] = {}
    if routing and routing.get("default_queue"):
        out["default_queue"] = routing["default_queue"]
    items = []
    for q in queues:
        item: dict[str, Any] = {"key": q.key, "name": q.name}
        channels = {k: v for k, v in (("slack", q.slack_channel), ("teams", q.teams_channel)) if v}
        if channels:
            item["channels"] = channels
        if routing and q.key in (routing.get("leads") or {}):
            item["leads"] = list(routing["leads"][q.key])
        if q.schedules:
            item["schedules"] = [
                {"key": s["key"], "timezone": s["timezone"], "layers": [_layer_document(layer) for layer in s["layers"]]}
                for s in q.schedules
            ]
        if q.policy.get("calendar"):
            item["calendar"] = q.policy["calendar"]["key"]
        if q.webhook_url:
            item["webhook"] = q.webhook_url
        if q.announce:
            item["announce"] = dict(q.announce)
        by_severity = q.policy.get("by_severity")
        item["policy"] = {name: _policy_document(p) for name, p in by_severity.items()} if by_severity else _policy_document(q.policy)
        items.append(item)
    out["queues"] = items
    if routing and routing.get("routes"):
        out["routes"] = [{"match": dict(r["match"]), "queue": r["queue"]} for r in routing["routes"]]
    return out


def _policy_document(policy: dict[str, Any]) -> dict[str, Any]:
    """One escalation policy as the org file writes it."""
    levels = [
        {
            "notify": list(level["notify"]),
            **_how_document(level),
            "wait": _duration_text(level["wait_s"]),
            **({"only": list(level["only"])} if "only" in level else {}),
        }
        for level in policy.get("levels", [])
    ]
    return {"repeat": policy.get("repeat", 0), "levels": levels, **({"working_hours": True} if policy.get("working_hours") else {})}


def alert_document(rule: dict[str, Any]) -> dict[str, Any]:
    """An alert rule as the org file writes it (`{above: 200, window: 4h}`)."""
    out: dict[str, Any] = {rule["direction"]: rule["threshold"]}
    if rule.get("window_s", 86400) != 86400:
        out["window"] = _duration_text(rule["window_s"])
    if rule.get("min_n"):
        out["min_n"] = rule["min_n"]
    if rule.get("for_s"):
        out["for"] = _duration_text(rule["for_s"])
    return out


def _duration_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def dump_org(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def _how_document(level: dict[str, Any]) -> dict[str, Any]:
    """A level's `how` as the file writes it: nothing for the default (all, by chat), one word, or both."""
    words = [w for w in (level["how"], level.get("via", "dm")) if w not in ("all", "dm")]
    return {"how": words[0] if len(words) == 1 else words} if words else {}
