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
from kpi.tickets import EARLIEST_EPOCH, LATEST_EPOCH, PRIORITIES, STATUSES

_STATUS_ALIASES = {"hold": "on_hold", "onhold": "on_hold", "on-hold": "on_hold", "on hold": "on_hold"}
_STATUSES = frozenset(STATUSES)
_PRIORITIES = frozenset(PRIORITIES)
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
_CSAT = {"good": "good", "bad": "bad", "1": "bad", "2": "bad", "3": "bad", "4": "good", "5": "good"}


@dataclass
class ParsedRow:
    values: dict[str, Any]  # ticket column values; times as UTC epoch seconds
    team_name: str | None
    agent_name: str | None


def _utc(epoch: int) -> str:
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
        # Which ticket columns this file provides; only these are overwritten on re-import.
        provided = set(bound) - {"team", "agent", "first_reply_minutes"}
        if "first_reply_minutes" in bound:
            provided.add("first_reply_at")
        if "team" in bound:
            provided.add("team_id")
        if "agent" in bound:
            provided.add("agent_id")
        provided.add("status")
        self.columns = sorted(provided)

    def _cells_of(self, row: list[str]) -> dict[str, Any]:
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
                problems.append(f"{name}: cannot read time {text!r} (expected {want})")
                return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.tz)
        try:
            epoch = int(parsed.timestamp() // 1)
        except (OverflowError, ValueError, OSError):
            epoch = -1
        if not EARLIEST_EPOCH <= epoch <= LATEST_EPOCH:
            problems.append(f"{name}: {text!r} is outside the supported range of dates (1970-2100)")
            return None
        return epoch

    @staticmethod
    def _count(raw: Any, name: str, problems: list[str]) -> int | None:
        if raw is None:
            return None
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw
        text = str(raw)
        if text.isdigit():
            return int(text)
        try:
            number = float(text)
            if number >= 0 and number == int(number):  # int() of inf overflows: not a count either
                return int(number)
        except (ValueError, OverflowError):
            pass
        problems.append(f"{name}: {raw!r} is not a whole number >= 0")
        return None

    def parse(self, row: list[str]) -> tuple[ParsedRow | None, list[str]]:
        """The ticket values of `row`, or None with every reason it was rejected."""
        problems: list[str] = []
        cells = self._cells_of(row)
        get = cells.get
        external_id = get("external_id")
        if external_id is None:
            problems.append("external_id: missing")
        else:
            external_id = str(external_id)
            if len(external_id) > 128:
                problems.append("external_id: longer than 128 characters")
        created = self._time(get("created_at"), "created_at", problems)
        if created is None and "created_at" not in cells:
            problems.append("created_at: missing")
        first_reply = self._time(get("first_reply_at"), "first_reply_at", problems)
        minutes = get("first_reply_minutes")
        if first_reply is None and minutes is not None and created is not None:
            try:
                first_reply = created + int(round(float(minutes) * 60))
            except (ValueError, OverflowError):
                problems.append(f"first_reply_minutes: {minutes!r} is not a number of minutes")
        solved = self._time(get("solved_at"), "solved_at", problems)
        if created is not None:
            if solved is not None and solved < created:
                problems.append(f"solved_at {_utc(solved)} is before created_at {_utc(created)}")
            if first_reply is not None and first_reply < created:
                problems.append(f"first_reply_at {_utc(first_reply)} is before created_at {_utc(created)}")

        status = get("status")
        if status is not None:
            text = str(status).strip().lower()
            text = _STATUS_ALIASES.get(text, text)
            if text not in _STATUSES:
                problems.append(f"status: unknown value {status!r} (expected {', '.join(STATUSES)}, or map it in a mapping file)")
            status = text
        else:
            status = "solved" if solved is not None else "open"
        values: dict[str, Any] = {"external_id": external_id, "status": status, "created_at": created}

        bound = self.bound
        if "subject" in bound:
            subject = get("subject")
            values["subject"] = str(subject)[:500] if subject is not None else None
        if "priority" in bound:
            priority = get("priority")
            if priority is not None:
                text = str(priority).strip().lower()
                if text not in _PRIORITIES:
                    problems.append(
                        f"priority: unknown value {priority!r} (expected {', '.join(PRIORITIES)}, or map it in a mapping file)"
                    )
                priority = text
            values["priority"] = priority
        if "channel" in bound:
            channel = get("channel")
            values["channel"] = str(channel).strip().lower()[:32] if channel is not None else None
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
                    problems.append(f"csat: unknown value {csat!r} (expected good/bad or a rating 1-5)")
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
                    problems.append(f"sla_met: unknown value {sla!r} (expected true/false, yes/no or 1/0)")
                    sla = None
            values["sla_met"] = sla
        if problems:
            return None, problems
        team = get("team")
        agent = get("agent")
        return ParsedRow(values, str(team) if team is not None else None, str(agent) if agent is not None else None), []
