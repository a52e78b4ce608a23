"""One CSV row to ticket values: parsing times, enums and numbers, with reasons when it cannot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from kpi.mapping import Mapping
from kpi.tickets import PRIORITIES, STATUSES

_STATUS_ALIASES = {"hold": "on_hold", "onhold": "on_hold", "on-hold": "on_hold", "on hold": "on_hold"}
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


@dataclass
class ParsedRow:
    values: dict[str, Any]  # ticket column values (team/agent as names, resolved later)
    team_name: str | None
    agent_name: str | None


class RowParser:
    def __init__(self, mapping: Mapping, bound: dict[str, int]) -> None:
        self.mapping = mapping
        self.bound = bound
        self.tz = ZoneInfo(mapping.timezone)
        # Which ticket columns this file provides; only these are overwritten on re-import.
        fields = set(bound)
        if "first_reply_minutes" in fields:
            fields.add("first_reply_at")
        self.columns = sorted(
            (fields - {"team", "agent", "first_reply_minutes"}) | ({"team_id"} if "team" in fields else set())
            | ({"agent_id"} if "agent" in fields else set()) | {"status"}
        )

    def _raw(self, row: list[str], name: str) -> str | None:
        i = self.bound.get(name)
        if i is None or i >= len(row):
            return None
        value = row[i].strip()
        if value in self.mapping.missing:
            return None
        return value

    def _mapped(self, row: list[str], name: str) -> Any:
        raw = self._raw(row, name)
        table = self.mapping.values.get(name)
        if raw is not None and table is not None and raw in table:
            return table[raw]
        return raw

    def _time(self, raw: Any, name: str, problems: list[str]) -> datetime | None:
        if raw is None:
            return None
        text = str(raw).strip()
        parsed: datetime | None = None
        for fmt in self.mapping.datetime_formats:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
            except ValueError:
                want = " or ".join(self.mapping.datetime_formats) or "ISO 8601, e.g. 2026-03-02T09:30:00Z"
                problems.append(f"{name}: cannot read time {text!r} (expected {want})")
                return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.tz)
        return parsed.astimezone(timezone.utc).replace(microsecond=0)

    def _enum(self, raw: Any, name: str, allowed: tuple[str, ...], problems: list[str]) -> str | None:
        if raw is None:
            return None
        text = str(raw).strip().lower()
        text = _STATUS_ALIASES.get(text, text) if name == "status" else text
        if text in allowed:
            return text
        problems.append(f"{name}: unknown value {raw!r} (expected {', '.join(allowed)}, or map it in a mapping file)")
        return None

    def _count(self, raw: Any, name: str, problems: list[str]) -> int | None:
        if raw is None:
            return None
        try:
            value = int(float(str(raw)))
            if value < 0 or float(str(raw)) != value:
                raise ValueError
        except ValueError:
            problems.append(f"{name}: {raw!r} is not a whole number >= 0")
            return None
        return value

    def _csat(self, raw: Any, problems: list[str]) -> str | None:
        if raw is None:
            return None
        text = str(raw).strip().lower()
        if text in ("good", "bad"):
            return text
        if text in ("1", "2", "3", "4", "5"):
            return "good" if int(text) >= 4 else "bad"
        problems.append(f"csat: unknown value {raw!r} (expected good/bad or a rating 1-5)")
        return None

    def _bool(self, raw: Any, problems: list[str]) -> bool | None:
        if raw is None or isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        problems.append(f"sla_met: unknown value {raw!r} (expected true/false, yes/no or 1/0)")
        return None

    def parse(self, row: list[str]) -> tuple[ParsedRow | None, list[str]]:
        """The ticket values of `row`, or None with every reason it was rejected."""
        problems: list[str] = []
        external_id = self._raw(row, "external_id")
        if not external_id:
            problems.append("external_id: missing")
        elif len(external_id) > 128:
            problems.append("external_id: longer than 128 characters")
        created = self._time(self._mapped(row, "created_at"), "created_at", problems)
        if created is None and not any(p.startswith("created_at") for p in problems):
            problems.append("created_at: missing")
        first_reply = self._time(self._mapped(row, "first_reply_at"), "first_reply_at", problems)
        minutes = self._raw(row, "first_reply_minutes")
        if first_reply is None and minutes is not None and created is not None:
            try:
                first_reply = created + timedelta(minutes=float(minutes))
            except ValueError:
                problems.append(f"first_reply_minutes: {minutes!r} is not a number")
        solved = self._time(self._mapped(row, "solved_at"), "solved_at", problems)
        if created is not None:
            if solved is not None and solved < created:
                problems.append(f"solved_at {solved:%Y-%m-%d %H:%M:%S}Z is before created_at {created:%Y-%m-%d %H:%M:%S}Z")
            if first_reply is not None and first_reply < created:
                problems.append(f"first_reply_at {first_reply:%Y-%m-%d %H:%M:%S}Z is before created_at")
        status = self._enum(self._mapped(row, "status"), "status", STATUSES, problems)
        if status is None and "status" not in self.bound:
            status = "solved" if solved is not None else "open"
        elif status is None and not any(p.startswith("status") for p in problems):
            status = "solved" if solved is not None else "open"
        values: dict[str, Any] = {
            "external_id": external_id,
            "status": status,
            "created_at": created,
        }
        if "subject" in self.bound:
            subject = self._mapped(row, "subject")
            values["subject"] = str(subject)[:500] if subject is not None else None
        if "priority" in self.bound:
            values["priority"] = self._enum(self._mapped(row, "priority"), "priority", PRIORITIES, problems)
        if "channel" in self.bound:
            channel = self._mapped(row, "channel")
            values["channel"] = str(channel).strip().lower()[:32] if channel is not None else None
        if "first_reply_at" in self.bound or "first_reply_minutes" in self.bound:
            values["first_reply_at"] = first_reply
        if "solved_at" in self.bound:
            values["solved_at"] = solved
        if "replies" in self.bound:
            values["replies"] = self._count(self._mapped(row, "replies"), "replies", problems)
        if "reopens" in self.bound:
            values["reopens"] = self._count(self._mapped(row, "reopens"), "reopens", problems)
        if "csat" in self.bound:
            values["csat"] = self._csat(self._mapped(row, "csat"), problems)
        if "sla_met" in self.bound:
            values["sla_met"] = self._bool(self._mapped(row, "sla_met"), problems)
        if problems:
            return None, problems
        team = self._mapped(row, "team")
        agent = self._mapped(row, "agent")
        return ParsedRow(values, str(team) if team is not None else None, str(agent) if agent is not None else None), []
