"""The org file's `escalation:` section: queues, their on-call schedules and policies, and routes.

Read by `store.org_file` with the same checker, so every problem is reported
with its line alongside the rest of the file's, and nothing is applied
until the whole file is right. What it returns is plain JSON-ready data,
stored on each queue as written (handles, `12h`, `mon-fri 08:00-18:00`),
so `csbot org show` gives back what was applied.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from typing import TYPE_CHECKING, Any

from store.announce_spec import parse_announce
from store.quoting import clip
from store.rotation_spec import Hours, RotationError, Shift, parse_start
from store.yaml_file import LineDict, LineList

if TYPE_CHECKING:  # org_file imports this module when it reads a file
    from store.org_file import _Checker

SECTION_KEYS = ("default_queue", "queues", "routes")
QUEUE_KEYS = ("key", "name", "channels", "leads", "calendar", "webhook", "schedules", "policy", "announce")
SCHEDULE_KEYS = ("key", "timezone", "layers")
LAYER_KEYS = ("members", "mode", "shift", "start", "hours", "calendar", "current")
LAYER_MODES = ("rotate", "all")
POLICY_KEYS = ("repeat", "levels", "working_hours")
LEVEL_KEYS = ("notify", "how", "wait", "only")
ROUTE_KEYS = ("match", "queue")
MATCH_KEYS = ("priority", "keywords", "team")
HOW = ("all", "round_robin")
# How a paged person is reached: a chat DM (falling back to e-mail when chat cannot deliver), e-mail, or both.
VIA = ("dm", "email", "dm+email")
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
# A policy per severity: `policy: {sev1: {…}, default: {…}}`.
BY_SEVERITY_KEYS = (*SEVERITIES, "default")
MAX_REPEAT = 10
MAX_LEVELS = 20
MIN_WAIT_S, MAX_WAIT_S, DEFAULT_WAIT_S = 60, 86400, 900


@dataclass
class QueueSpec:
    key: str
    name: str
    slack_channel: str | None = None
    teams_channel: str | None = None
    # [{key, timezone, layers: [{members: [handle], shift: "1w", start: "2026-01-05T09:00", hours: str | None}]}]
    schedules: list[dict[str, Any]] = field(default_factory=list)
    # {repeat: n, levels: [{notify: ["schedule:KEY" | "member:HANDLE" | "channel"], how: all|round_robin, wait_s: n,
    #                      via: email|dm+email (absent: dm)}]}
    policy: dict[str, Any] = field(default_factory=dict)
    # Who may put anyone on call for the queue besides managers and admins; None: the leads of
    # the teams whose members are on its schedules (escalation.queue_people).
    leads: list[str] | None = None
    # The business calendar (key) whose hours a `working_hours` policy pages in; stored in the policy.
    calendar: str | None = None
    # Where every change of the queue's escalations is POSTed (signed JSON), e.g. the helpdesk.
    webhook: str | None = None
    # Who is on call, posted in its channels (store.announce_spec): {at: "mon 09:00", on: "handoff", timezone}.
    announce: dict[str, Any] | None = None


@dataclass
class EscalationSpec:
    default_queue: str | None = None
    queues: list[QueueSpec] = field(default_factory=list)
    # [{match: {priority: [..], keywords: [..], team: [..]}, queue: KEY}], first match wins
    routes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """What the org row keeps of the section besides the queues themselves (routing, and the leads the file names)."""
        leads = {q.key: q.leads for q in self.queues if q.leads is not None}
        return {"default_queue": self.default_queue, "routes": self.routes, **({"leads": leads} if leads else {})}


def parse_escalation(
    check: _Checker, doc: LineDict, handles: Collection[str], team_keys: Collection[str] | None, calendars: Mapping[str, dict[str, Any]] | None = None
) -> EscalationSpec:
    """The `escalation` section of `doc`; every problem is added to `check` by line.

    `calendars` are the file's calendars by key (as stored): a layer naming one
    keeps a copy, so who is on call is read from the queue alone.
    """
    from store.org_file import _read_misspellings

    spec = EscalationSpec()
    section = check.mapping(doc["escalation"], doc.key_lines["escalation"], "escalation")
    if section is None:
        return spec
    section = _read_misspellings(section, SECTION_KEYS)
    check.unknown_keys(section, SECTION_KEYS, "escalation")
    spec.queues = _queues(check, section, handles, calendars or {})
    keys = [q.key for q in spec.queues if q.key]
    default = check.text(section, "default_queue", "escalation", max_len=64) if "default_queue" in section else None
    if default is not None and default not in keys:
        check.add(section.key_lines["default_queue"], f"escalation: default_queue {clip(default)} is not a queue" + _known(keys))
    spec.default_queue = default if default in keys else (keys[0] if keys else None)
    spec.routes = _routes(check, section, keys, team_keys)
    return spec


def _known(keys: Collection[str]) -> str:
    return f" (queues: {', '.join(sorted(keys))})" if keys else " (this file lists no queues)"


def _list(check: _Checker, m: LineDict, key: str, what: str, allowed: Collection[str]) -> list[tuple[int, LineDict]]:
    from store.org_file import _items

    return _items(m, key, check, allowed, what=what)


def _texts(check: _Checker, m: LineDict, key: str, what: str) -> list[str] | None:
    """A list of short texts (a single text is a list of one); None when it is not one (reported)."""
    raw = m[key]
    items = [raw] if isinstance(raw, str) else raw if isinstance(raw, LineList) else None
    if items is None or not items or not all(isinstance(i, str) and i.strip() and len(i) <= 200 for i in items):
        check.add(m.key_lines[key], f"{what}: {key} must be a list of words, e.g. {key}: [a, b]")
        return None
    return [i.strip() for i in items]


# `/oncall me` and `/oncall export me` name the caller: a queue called so could not be named in /oncall.
RESERVED_QUEUE_KEYS = {word: f"'{word}' is a word of /oncall (/oncall me, /oncall export me); call the queue something else" for word in ("me", "export")}


def _queues(check: _Checker, section: LineDict, handles: Collection[str], calendars: Mapping[str, dict[str, Any]]) -> list[QueueSpec]:
    from store.org_file import PLATFORMS, _read_misspellings

    queues: list[QueueSpec] = []
    seen: dict[str, int] = {}
    for index, q in _list(check, section, "queues", "escalation", QUEUE_KEYS):
        key = check.text(q, "key", f"escalation: queues[{index}]", required=True, max_len=64)
        what = f"queue {key!r}" if key else f"escalation: queues[{index}]"
        check.unknown_keys(q, QUEUE_KEYS, what)
        name = check.text(q, "name", what, required=True)
        check.listed_key(q, key, what, "queue", seen, RESERVED_QUEUE_KEYS)
        spec = QueueSpec(key=key or "", name=name or "")
        if q.get("channels") is not None:
            channels = check.mapping(q["channels"], q.key_lines["channels"], f"{what}: channels")
            if channels is not None:
                channels = _read_misspellings(channels, PLATFORMS)
                check.unknown_keys(channels, PLATFORMS, f"{what}: channels")
                spec.slack_channel = check.text(channels, "slack", f"{what}: channels", max_len=64)
                spec.teams_channel = check.text(channels, "teams", f"{what}: channels", max_len=256)
        if "leads" in q:
            spec.leads = _leads(check, q, what, handles)
        if q.get("calendar") is not None:
            spec.calendar = check.text(q, "calendar", what, max_len=64)
            if spec.calendar is not None and spec.calendar not in calendars:
                listed = ", ".join(sorted(calendars)) if calendars else "the file has no calendars: section"
                check.add(q.key_lines["calendar"], f"{what}: unknown calendar {clip(spec.calendar)} (calendars: {listed})")
                spec.calendar = None
        if q.get("webhook") is not None:
            spec.webhook = _webhook(check, q, what)
        spec.schedules = _schedules(check, q, what, handles, calendars)
        if q.get("announce") is not None:
            spec.announce = parse_announce(
                check, q, what, has_channels=bool(spec.slack_channel or spec.teams_channel), has_schedules=bool(spec.schedules)
            )
        if q.get("policy") is None:
            check.add(q.line, f"{what}: a policy with at least one level is required, e.g. policy: {{levels: [{{notify: [schedule:primary], wait: 10m}}]}}")
        else:
            spec.policy = _policy(check, q, what, spec, handles)
            if spec.calendar is not None:
                spec.policy["calendar"] = dict(calendars[spec.calendar])
        queues.append(spec)
    return queues


def _webhook(check: _Checker, q: LineDict, what: str) -> str | None:
    """An https URL (http only to this machine, for a helper running beside csbot)."""
    url = check.text(q, "webhook", what, max_len=1000)
    if url is None:
        return None
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not url.isprintable() or " " in url or not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        check.add(q.key_lines["webhook"], f"{what}: webhook must be an https:// URL (http:// only to localhost), got {clip(url)}")
        return None
    return url


def _leads(check: _Checker, q: LineDict, what: str, handles: Collection[str]) -> list[str]:
    """`leads: [lena, raj]`: members of this file; `leads: []` leaves the queue to managers and admins."""
    raw = q["leads"]
    if isinstance(raw, LineList) and not raw:
        return []
    found = _texts(check, q, "leads", what)
    leads: list[str] = []
    for handle in found or []:
        handle = handle.lstrip("@").lower()
        if handle not in handles:
            check.add(q.key_lines["leads"], f"{what}: leads: unknown member {clip(handle)} (not in this file's members)")
        elif handle not in leads:
            leads.append(handle)
    return leads


def _schedules(check: _Checker, q: LineDict, what: str, handles: Collection[str], calendars: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    from store.org_file import SLUG, _timezone

    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, s in _list(check, q, "schedules", what, SCHEDULE_KEYS):
        key = check.text(s, "key", f"{what}: schedules[{index}]", required=True, max_len=64)
        where = f"{what}: schedule {key!r}" if key else f"{what}: schedules[{index}]"
        check.unknown_keys(s, SCHEDULE_KEYS, where)
        if key is not None:
            if not SLUG.match(key):
                check.add(s.key_lines["key"], f"{where}: key must be a lowercase slug (letters, digits, hyphens)")
            elif key in seen:
                check.add(s.key_lines["key"], f"{where}: duplicate schedule key")
            seen.add(key)
        zone = _timezone(check, s, where, required=True)
        layers = [_layer(check, layer, f"{where}: layers[{i}]", handles, calendars) for i, layer in _list(check, s, "layers", where, LAYER_KEYS)]
        if s.get("layers") is None:
            check.add(s.line, f"{where}: layers are required, e.g. layers: [{{members: [dana], shift: 1w, start: \"2026-01-05T09:00\"}}]")
        elif isinstance(s.get("layers"), LineList) and not s["layers"]:
            check.add(s.key_lines["layers"], f"{where}: layers must list at least one layer")
        out.append({"key": key or "", "timezone": zone or "UTC", "layers": [layer for layer in layers if layer is not None]})
    return out


def _layer(check: _Checker, layer: LineDict, where: str, handles: Collection[str], calendars: Mapping[str, dict[str, Any]]) -> dict[str, Any] | None:
    check.unknown_keys(layer, LAYER_KEYS, where)
    ok = True
    calendar = None
    if layer.get("calendar") is not None:
        key = check.text(layer, "calendar", where, max_len=64)
        if key is not None and key not in calendars:
            listed = ", ".join(sorted(calendars)) if calendars else "the file has no calendars: section"
            check.add(layer.key_lines["calendar"], f"{where}: unknown calendar {clip(key)} (calendars: {listed})")
            ok = False
        elif key is not None and layer.get("hours") is not None:
            check.add(layer.key_lines["calendar"], f"{where}: give hours or a calendar, not both (the calendar's hours and holidays are the layer's)")
            ok = False
        elif key is not None:
            calendar = calendars[key]
    members: list[str] = []
    if layer.get("members") is None:
        check.add(layer.line, f"{where}: members are required, e.g. members: [dana, eli]")
        ok = False
    else:
        found = _texts(check, layer, "members", where)
        if found is None:
            ok = False
        else:
            for handle in found:
                handle = handle.lstrip("@").lower()
                if handle not in handles:
                    check.add(layer.key_lines["members"], f"{where}: unknown member {clip(handle)} (not in this file's members)")
                    ok = False
                members.append(handle)
    mode = layer.get("mode", "rotate")
    if mode not in LAYER_MODES:
        check.add(layer.key_lines.get("mode", layer.line), f"{where}: mode must be rotate (one member at a time) or all (every member at once), got {clip(mode)}")
        ok = False
    written: dict[str, str] = {}
    for key, parse in (("shift", Shift.parse), ("start", parse_start), ("hours", Hours.parse)):
        if key not in layer or layer[key] is None:
            if key == "shift" and mode == "all":
                written[key] = "1w"  # everyone is on call together: shifts only count from the start
                continue
            if key != "hours":
                example = "shift: 1w" if key == "shift" else 'start: "2026-01-05T09:00"'
                check.add(layer.line, f"{where}: {key} is required, e.g. {example}")
                ok = False
            continue
        value = layer[key]
        text = value if isinstance(value, str) else layer.value_texts.get(key) or str(value)
        try:
            parse(str(text))
            written[key] = str(text).strip()
        except RotationError as exc:
            check.add(layer.key_lines[key], f"{where}: {exc}")
            ok = False
    current = _current(check, layer, where, members) if layer.get("current") is not None else None
    if not ok:
        return None
    out = {"members": members, "shift": written["shift"], "start": written["start"], "hours": written.get("hours")}
    if current is not None:
        out["current"] = current
    if mode == "all":
        out["mode"] = "all"
    if calendar is not None:
        out["calendar"] = calendar
    return out


def _current(check: _Checker, layer: LineDict, where: str, members: list[str]) -> dict[str, str] | None:
    """`current: dana since 2026-12-07T09:00`: from then on the shifts start over there with dana, in list order."""
    text = layer["current"]
    handle, word, since = (text.split() + ["", "", ""])[:3] if isinstance(text, str) else ("", "", "")
    handle = handle.lstrip("@").lower()
    if word != "since" or len(text.split()) != 3:
        check.add(layer.key_lines["current"], f'{where}: current must be "HANDLE since START", e.g. current: "dana since 2026-12-07T09:00"')
        return None
    if handle not in members:
        check.add(layer.key_lines["current"], f"{where}: current: {clip(handle)} is not one of the layer's members")
        return None
    try:
        parse_start(since)
    except RotationError as exc:
        check.add(layer.key_lines["current"], f"{where}: current: {exc}")
        return None
    return {"handle": handle, "since": since}


def _policy(check: _Checker, q: LineDict, what: str, queue: QueueSpec, handles: Collection[str]) -> dict[str, Any]:
    """One policy for every severity, or one per severity (`sev1`…`sev4`, `default`); every severity must have a level."""
    from store.org_file import _read_misspellings

    where = f"{what}: policy"
    policy = check.mapping(q["policy"], q.key_lines["policy"], where)
    if policy is None:
        return {}
    if not any(key in policy for key in BY_SEVERITY_KEYS):
        one = _one_policy(check, policy, where, queue, handles)
        _every_severity_paged(check, policy.line, where, {"default": one}, queue)
        return one
    check.unknown_keys(policy, BY_SEVERITY_KEYS, where + " (a policy per severity: sev1, sev2, sev3, sev4 and default, each with its levels)")
    by_severity: dict[str, dict[str, Any]] = {}
    for name in BY_SEVERITY_KEYS:
        if policy.get(name) is None:
            continue
        sub = check.mapping(policy[name], policy.key_lines[name], f"{where}: {name}")
        if sub is not None:
            by_severity[name] = _one_policy(check, _read_misspellings(sub, POLICY_KEYS), f"{where}: {name}", queue, handles)
    missing = [sev for sev in SEVERITIES if sev not in by_severity]
    if missing and "default" not in by_severity:
        check.add(policy.line, f"{where}: {', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no policy; add default: {{levels: [...]}} or one for each")
    _every_severity_paged(check, policy.line, where, by_severity, queue)
    return {"by_severity": by_severity}


def _every_severity_paged(check: _Checker, line: int, where: str, by_severity: Mapping[str, dict[str, Any]], queue: QueueSpec) -> None:
    for sev in SEVERITIES:
        chosen = by_severity.get(sev, by_severity.get("default"))
        if chosen is None or not chosen.get("levels"):
            continue  # reported already (no policy, no levels)
        if not any(sev in level.get("only", SEVERITIES) for level in chosen["levels"]):
            check.add(line, f"{where}: no level pages {sev} (every level's only: leaves it out)")
    if any(p.get("working_hours") for p in by_severity.values()) and queue.calendar is None:
        check.add(line, f"{where}: working_hours needs the queue's calendar: name one with calendar: KEY (from the calendars: section)")


def _one_policy(check: _Checker, policy: LineDict, where: str, queue: QueueSpec, handles: Collection[str]) -> dict[str, Any]:
    from store.org_file import _duration_s, _read_misspellings

    policy = _read_misspellings(policy, POLICY_KEYS)
    check.unknown_keys(policy, POLICY_KEYS, where)
    working_hours = policy.get("working_hours", False)
    if not isinstance(working_hours, bool):
        check.add(policy.key_lines.get("working_hours", policy.line), f"{where}: working_hours must be true or false, got {clip(working_hours)}")
        working_hours = False
    repeat = policy.get("repeat", 0)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 0 <= repeat <= MAX_REPEAT:
        check.add(policy.key_lines.get("repeat", policy.line), f"{where}: repeat must be a whole number from 0 to {MAX_REPEAT}, got {clip(repeat)}")
        repeat = 0
    raw_levels = policy.get("levels")
    levels_in = [level for _, level in _list(check, policy, "levels", where, LEVEL_KEYS)]
    if raw_levels is None or (isinstance(raw_levels, LineList) and not raw_levels):
        check.add(policy.key_lines.get("levels", policy.line), f"{where}: needs at least one level, e.g. levels: [{{notify: [schedule:primary], wait: 10m}}]")
    if len(levels_in) > MAX_LEVELS:
        check.add(policy.key_lines["levels"], f"{where}: {len(levels_in)} levels; at most {MAX_LEVELS}")
    schedules = {s["key"] for s in queue.schedules}
    levels = []
    for index, level in enumerate(levels_in):
        at = f"{where}: levels[{index}]"
        check.unknown_keys(level, LEVEL_KEYS, at)
        notify: list[str] = []
        if level.get("notify") is None:
            check.add(level.line, f"{at}: notify is required, e.g. notify: [schedule:primary, member:gus, channel]")
        else:
            for target in _texts(check, level, "notify", at) or []:
                kind, _, name = target.partition(":")
                kind, name = kind.strip().lower(), name.strip().lstrip("@").lower()
                line = level.key_lines["notify"]
                if kind == "channel" and not name:
                    if not (queue.slack_channel or queue.teams_channel):
                        check.add(line, f"{at}: notify channel, but the queue has no channels")
                    notify.append("channel")
                elif kind == "schedule" and name:
                    if name not in schedules:
                        check.add(line, f"{at}: unknown schedule {clip(name)}" + (f" (schedules: {', '.join(sorted(schedules))})" if schedules else " (the queue has no schedules)"))
                    notify.append(f"schedule:{name}")
                elif kind == "member" and name:
                    if name not in handles:
                        check.add(line, f"{at}: unknown member {clip(name)} (not in this file's members)")
                    notify.append(f"member:{name}")
                else:
                    check.add(line, f"{at}: {clip(target)} is not a target: write schedule:KEY, member:HANDLE or channel")
        how, via = _how(check, level, at)
        wait = _duration_s(level["wait"]) if "wait" in level else DEFAULT_WAIT_S
        if wait is None or not MIN_WAIT_S <= wait <= MAX_WAIT_S:
            written = level.value_texts.get("wait") or level.get("wait")
            check.add(level.key_lines.get("wait", level.line), f"{at}: wait {clip(written)} is not a duration from 1m to 24h, e.g. wait: 10m")
            wait = DEFAULT_WAIT_S
        # `via` only when not chat: policies (and escalations' copies of them) written before e-mail read as before.
        entry: dict[str, Any] = {"notify": notify, "how": how, "wait_s": wait, **({"via": via} if via != "dm" else {})}
        if level.get("only") is not None:
            only = [word.lower() for word in _texts(check, level, "only", at) or []]
            unknown = [word for word in only if word not in SEVERITIES]
            if unknown:
                check.add(level.key_lines["only"], f"{at}: only: {clip(', '.join(unknown))} is not a severity (sev1, sev2, sev3, sev4)")
            entry["only"] = [sev for sev in SEVERITIES if sev in only]
        levels.append(entry)
    return {"repeat": repeat, "levels": levels, **({"working_hours": True} if working_hours else {})}


def _how(check: _Checker, level: LineDict, at: str) -> tuple[str, str]:
    """`how`: who of the targets is paged (all | round_robin) and by what (dm | email | dm+email), one word or both.

    `how: round_robin`, `how: dm+email`, `how: [round_robin, email]`; unsaid, all of them by chat.
    """
    raw = level.get("how", "all")
    words = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, LineList) else None
    how, via = "all", "dm"
    line = level.key_lines.get("how", level.line)
    usage = "how must be all or round_robin (who is paged), and/or dm, email or dm+email (how), e.g. how: [round_robin, dm+email]"
    if words is None or not words or len(words) > 2 or not all(isinstance(w, str) for w in words):
        check.add(line, f"{at}: {usage}, got {clip(raw)}")
        return how, via
    said: set[str] = set()
    for word in words:
        word = word.strip().lower()
        kind = "who" if word in HOW else "via" if word in VIA else None
        if kind is None:
            check.add(line, f"{at}: {usage}, got {clip(word)}")
        elif kind in said:
            check.add(line, f"{at}: how names {'who is paged' if kind == 'who' else 'how they are reached'} twice; {usage}")
        elif kind == "who":
            how = word
        else:
            via = word
        if kind:
            said.add(kind)
    return how, via


def _routes(check: _Checker, section: LineDict, queue_keys: Collection[str], team_keys: Collection[str] | None) -> list[dict[str, Any]]:
    from store.org_file import _read_misspellings

    routes = []
    for index, r in _list(check, section, "routes", "escalation", ROUTE_KEYS):
        what = f"escalation: routes[{index}]"
        check.unknown_keys(r, ROUTE_KEYS, what)
        queue = check.text(r, "queue", what, required=True, max_len=64)
        if queue is not None and queue not in queue_keys:
            check.add(r.key_lines["queue"], f"{what}: route to unknown queue {clip(queue)}" + _known(queue_keys))
        match: dict[str, list[str]] = {}
        raw = check.mapping(r["match"], r.key_lines["match"], f"{what}: match") if r.get("match") is not None else None
        if r.get("match") is None:
            check.add(r.line, f"{what}: match is required, e.g. match: {{keywords: [refund]}}")
        if raw is not None:
            raw = _read_misspellings(raw, MATCH_KEYS)
            check.unknown_keys(raw, MATCH_KEYS, f"{what}: match")
            for key in MATCH_KEYS:
                if raw.get(key) is None:
                    continue
                words = _texts(check, raw, key, f"{what}: match")
                if words is None:
                    continue
                words = [w.lower() for w in words]
                if key == "team" and team_keys is not None:
                    for team in words:
                        if team not in team_keys:
                            check.add(raw.key_lines[key], f"{what}: match team {clip(team)} is not a team in this file")
                match[key] = words
            if not match and not any(k in raw for k in MATCH_KEYS):
                check.add(raw.line, f"{what}: match names nothing; use priority, keywords or team")
        routes.append({"match": match, "queue": queue or ""})
    return routes
