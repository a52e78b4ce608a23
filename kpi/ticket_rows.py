"""One CSV row to ticket values: parsing times, enums and numbers, with reasons when it cannot.

This runs once per row of files with millions of rows, so it reads each cell
once and produces database-ready values (times as UTC epoch seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from kpi.mapping import Mapping
from store.ticket_fields import TagError, stored_cell
from kpi.tickets import EARLIEST_EPOCH, LATEST_EPOCH, PRIORITIES, STATUSES, Ticket
from store.name_characters import clean_name, unwanted_character
from store.org import Member, Team
from store.quoting import clip

_STATUS_ALIASES = {"hold": "on_hold", "onhold": "on_hold", "on-hold": "on_hold", "on hold": "on_hold"}
_STATUSES = frozenset(STATUSES)
_PRIORITIES = frozenset(PRIORITIES)
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
_CSAT = {"good": "good", "bad": "bad", "1": "bad", "2": "bad", "3": "bad", "4": "good", "5": "good"}
# A reply or reopen count above this is a typo or a corrupt cell, not a ticket's history.
MAX_COUNT = 1_000_000
# Distinct name cells remembered per file (RowParser._name): a few MB at most.
NAMES_REMEMBERED = 20_000
# The longest text each field may hold: its column's size (a longer value is
# refused, never cut: PostgreSQL would refuse it, SQLite would store it whole).
MAX_LENGTH = {
    "external_id": Ticket.__table__.c.external_id.type.length,
    "subject": Ticket.__table__.c.subject.type.length,
    "channel": Ticket.__table__.c.channel.type.length,
    "team": Team.__table__.c.name.type.length,
    "agent": Member.__table__.c.name.type.length,
}


@dataclass
class ParsedRow:
    values: dict[str, Any]  # ticket column values; times as UTC epoch seconds
    team_name: str | None
    agent_name: str | None
    line: int = 0  # where the row starts in the file (set by the reader)
    raw: list[str] | None = None  # the row as read, for the rejects file
    rows: int = 1  # the rows of the file this one stands for: the last of several for one ticket


def utc_text(epoch: int) -> str:
    """An epoch second as `2026-03-02 09:30:00Z`, for messages."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


class RowParser:
    def __init__(self, mapping: Mapping, bound: dict[str, int]) -> None:
        self.mapping = mapping
        self.bound = bound
        self.tz = ZoneInfo(mapping.timezone)
        self._cells = tuple(bound.items())
        self._missing = mapping.missing
        self._values = mapping.values
        self._formats = tuple(mapping.datetime_formats)
        self._names: dict[tuple[str, Any], tuple[str | None, str | None]] = {}
        # Which ticket columns this file provides; only these are overwritten on re-import.
        provided = set(bound) - {"team", "agent", "first_reply_minutes"}
        if "first_reply_minutes" in bound:
            provided.add("first_reply_at")
        if "team" in bound:
            provided.add("team_id")
        if "agent" in bound:
            provided.add("agent_id")
        self.updated_columns = sorted(provided)
        # A new ticket always gets a status (derived from solved_at when the file has none).
        self.columns = sorted(provided | {"status"})

    def _cells_of(self, row: list[str], problems: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        width = len(row)
        missing = self._missing
        values = self._values
        for name, i in self._cells:
            if i >= width:
                continue
            raw = row[i].strip()
            if raw in missing:
                continue
            if "\0" in raw:
                # PostgreSQL cannot store it, and no helpdesk field means it.
                problems.append(f"{name}: contains a NUL character")
                continue
            table = values.get(name)
            if table is not None and raw in table:
                mapped = table[raw]
                if mapped is None:
                    continue
                out[name] = mapped
            else:
                out[name] = raw
        return out

    def _time(self, raw: Any, name: str, problems: list[str]) -> int | None:
        if raw is None:
            return None
        text = str(raw)
        parsed: datetime | None = None
        for fmt in self._formats:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                want = " or ".join(self._formats) or "ISO 8601, e.g. 2026-03-02T09:30:00Z"
                problems.append(f"{name}: cannot read time {_quote(text)} (expected {want})")
                return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.tz)
        try:
            epoch = int(parsed.timestamp() // 1)
        except (OverflowError, ValueError, OSError):
            epoch = -1
        if not EARLIEST_EPOCH <= epoch <= LATEST_EPOCH:
            problems.append(f"{name}: {_quote(text)} is outside the supported range of dates (1970-2100)")
            return None
        return epoch

    @staticmethod
    def _count(raw: Any, name: str, problems: list[str]) -> int | None:
        if raw is None:
            return None
        if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= MAX_COUNT:
            return raw
        text = str(raw)
        # isascii: "²".isdigit() is true, and int() refuses it.
        if text.isascii() and text.isdigit() and len(text) <= 7 and int(text) <= MAX_COUNT:
            return int(text)
        try:
            number = float(text)
            if 0 <= number <= MAX_COUNT and number == int(number):  # int() of nan and inf fails: not counts either
                return int(number)
        except (ValueError, OverflowError):
            pass
        problems.append(f"{name}: {_quote(raw)} is not a whole number between 0 and {MAX_COUNT:,}")
        return None

    @staticmethod
    def _text(value: Any, name: str, problems: list[str]) -> str | None:
        """A text field within its column's size."""
        if value is None:
            return None
        text = str(value)
        limit = MAX_LENGTH[name]
        if len(text) > limit:
            problems.append(f"{name}: {len(text)} characters; at most {limit}")
            return None
        return text

    def _name(self, value: Any, name: str, problems: list[str]) -> str | None:
        """A name within its column's size, cleaned of what no name may hold (store.name_characters)."""
        if value is None:
            return None
        # A file names the same few hundred teams, agents and channels over and
        # over: each distinct cell is checked once (a bounded memo, per field).
        key = (name, value)
        known = self._names.get(key)
        if known is None:
            found: list[str] = []
            text = self._text(value, name, found)
            if text is not None:
                cleaned = clean_name(text)
                if cleaned.strip():
                    known = (cleaned, None)
                else:
                    known = (None, f"{name}: has no visible characters")
            else:
                known = (None, found[0])
            if len(self._names) < NAMES_REMEMBERED:
                self._names[key] = known
        if known[1] is not None:
            problems.append(known[1])
        return known[0]

    def parse(self, row: list[str]) -> tuple[ParsedRow | None, list[str]]:
        """The ticket values of `row`, or None with every reason it was rejected."""
        problems: list[str] = []
        cells = self._cells_of(row, problems)
        get = cells.get
        external_id = get("external_id")
        if external_id is None:
            if not problems:
                problems.append("external_id: missing")
        else:
            external_id = self._text(external_id, "external_id", problems)
            if external_id is not None and (unwanted := unwanted_character(external_id)) is not None:
                problems.append(f"external_id: holds {unwanted}; an id must be one line of visible text")
        created = self._time(get("created_at"), "created_at", problems)
        if created is None and "created_at" not in cells and not problems:
            problems.append("created_at: missing")
        first_reply = self._time(get("first_reply_at"), "first_reply_at", problems)
        minutes = get("first_reply_minutes")
        if first_reply is None and minutes is not None and created is not None:
            try:
                first_reply = created + int(round(float(minutes) * 60))
            except (ValueError, OverflowError):
                problems.append(f"first_reply_minutes: {_quote(minutes)} is not a number of minutes")
            else:
                if not EARLIEST_EPOCH <= first_reply <= LATEST_EPOCH:
                    problems.append(
                        f"first_reply_minutes: {_quote(minutes)} puts the first reply outside the supported range of dates (1970-2100)"
                    )
                    first_reply = None
        solved = self._time(get("solved_at"), "solved_at", problems)
        if created is not None:
            if solved is not None and solved < created:
                problems.append(f"solved_at {utc_text(solved)} is before created_at {utc_text(created)}")
            if first_reply is not None and first_reply < created:
                problems.append(f"first_reply_at {utc_text(first_reply)} is before created_at {utc_text(created)}")

        status = get("status")
        if status is not None:
            text = str(status).strip().lower()
            text = _STATUS_ALIASES.get(text, text)
            if text not in _STATUSES:
                problems.append(f"status: unknown value {_quote(status)} (expected {', '.join(STATUSES)}, or map it in a mapping file)")
            status = text
        else:
            status = "solved" if solved is not None else "open"
        values: dict[str, Any] = {"external_id": external_id, "status": status, "created_at": created}

        bound = self.bound
        if "subject" in bound:
            values["subject"] = self._text(get("subject"), "subject", problems)
        if "priority" in bound:
            priority = get("priority")
            if priority is not None:
                text = str(priority).strip().lower()
                if text not in _PRIORITIES:
                    problems.append(
                        f"priority: unknown value {_quote(priority)} (expected {', '.join(PRIORITIES)}, or map it in a mapping file)"
                    )
                priority = text
            values["priority"] = priority
        if "channel" in bound:
            channel = self._name(get("channel"), "channel", problems)
            values["channel"] = channel.strip().lower() if channel is not None else None
        if "first_reply_at" in bound or "first_reply_minutes" in bound:
            values["first_reply_at"] = first_reply
        if "solved_at" in bound:
            values["solved_at"] = solved
        if "replies" in bound:
            values["replies"] = self._count(get("replies"), "replies", problems)
        if "reopens" in bound:
            values["reopens"] = self._count(get("reopens"), "reopens", problems)
        if "csat" in bound:
            csat = get("csat")
            if csat is not None:
                rated = _CSAT.get(str(csat).strip().lower())
                if rated is None:
                    problems.append(f"csat: unknown value {_quote(csat)} (expected good/bad or a rating 1-5)")
                csat = rated
            values["csat"] = csat
        if "sla_met" in bound:
            sla = get("sla_met")
            if sla is not None and not isinstance(sla, bool):
                text = str(sla).strip().lower()
                if text in _TRUE:
                    sla = True
                elif text in _FALSE:
                    sla = False
                else:
                    problems.append(f"sla_met: unknown value {_quote(sla)} (expected true/false, yes/no or 1/0)")
                    sla = None
            values["sla_met"] = sla
        if "tags" in bound:
            try:
                tags = get("tags")
                # A mapping's value table may give a number.
                values["tags"] = stored_cell(None if tags is None else str(tags))
            except TagError as exc:
                problems.append(f"tags: {exc}")
        team = self._name(get("team"), "team", problems)
        agent = self._name(get("agent"), "agent", problems)
        if problems:
            return None, problems
        return ParsedRow(values, team, agent), []


def _quote(value: Any) -> str:
    # Cells are text; a mapping's value table may turn one into a number.
    return clip(str(value))
