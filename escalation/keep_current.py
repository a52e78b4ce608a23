"""Keeping the person on call when an org file reorders or adds members to a rotation (as GoAlert does).

A layer's shifts are counted from its `start` in list order, so reordering
its members or adding one would hand the shift in progress to someone
else the moment the file is applied. `csbot org apply` prevents that: for a
rotating layer whose members changed (its shift and start unchanged, no
`current:` given), it records who holds the shift in progress as the
layer's `current` (that person, since that shift began), so they stay on
call until their shift ends and the new order takes over from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.oncall import current_of
from escalation.rotations import Layer, Shift, handoff, parse_start, regimes, shift_number
from store.queues import EscalationQueue

Snapshot = dict[tuple[str, str], tuple[str, list[dict[str, Any]]]]  # (queue, schedule) -> (zone, layers as stored)


def snapshot(session: Session) -> Snapshot:
    """Every active queue's schedules as stored now, before a file is applied."""
    return {
        (q.key, s["key"]): (s["timezone"], [dict(layer) for layer in s["layers"]])
        for q in session.scalars(select(EscalationQueue).where(EscalationQueue.active.is_(True)))
        for s in q.schedules
    }


def _layer(stored: dict[str, Any]) -> Layer:
    return Layer(tuple(stored["members"]), Shift.parse(stored["shift"]), parse_start(stored["start"]), None, None, stored.get("mode", "rotate"), current_of(stored.get("current")))


def _holder(stored: dict[str, Any], zone: str, now: datetime) -> tuple[str, datetime] | None:
    """Who holds the layer's shift in progress at `now` (whatever its hours), and when that shift began."""
    before, later, since = regimes(_layer(stored), zone)
    layer = later if later is not None and since is not None and now >= since else before
    n = shift_number(layer, zone, now)
    if n is None or not layer.members:
        return None
    return layer.members[n % len(layer.members)], handoff(layer, zone, n)


def keep_current(session: Session, before: Snapshot, now: datetime) -> list[str]:
    """After an apply: pin who is on call on every rotation whose members changed; a line for each."""
    said: list[str] = []
    for queue in session.scalars(select(EscalationQueue).where(EscalationQueue.active.is_(True))):
        changed = False
        schedules = [dict(s, layers=[dict(layer) for layer in s["layers"]]) for s in queue.schedules]
        for schedule in schedules:
            old = before.get((queue.key, schedule["key"]))
            if old is None or old[0] != schedule["timezone"]:
                continue
            zone, old_layers = old
            for index, layer in enumerate(schedule["layers"]):
                if index >= len(old_layers) or layer.get("current") or layer.get("mode") == "all":
                    continue
                was = old_layers[index]
                if was.get("mode") == "all" or was["members"] == layer["members"] or (was["shift"], was["start"]) != (layer["shift"], layer["start"]):
                    continue
                holder = _holder(was, zone, now)
                if holder is None or holder[0] not in layer["members"]:
                    continue
                handle, began = holder
                since = began.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")
                layer["current"] = {"handle": handle, "since": since}
                changed = True
                said.append(f"{queue.key}/{schedule['key']}: kept {handle} on call in the shift that began {since} ({zone}); the new order follows it")
        if changed:
            queue.schedules = schedules
    return said


__all__ = ["Snapshot", "keep_current", "snapshot"]
