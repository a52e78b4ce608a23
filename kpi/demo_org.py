"""The demo organisation: Acme Support, five teams around the world.

`demo_org_document()` returns the same shape as an org YAML file (see
DESIGN.md, "Organisation YAML"), so `csbot demo` can apply it exactly like
`csbot org apply` would. `demo_team_weights()` says how busy each team is, and
`demo_team_profiles()` turns the document plus database ids into generator
input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kpi.generator import TeamProfile

ORG_NAME = "Acme Support"
ORG_TIMEZONE = "UTC"


@dataclass(frozen=True)
class _DemoTeam:
    key: str
    name: str
    timezone: str
    calendar: str  # a key of _CALENDARS, or "none": around the clock
    digest_days: str
    first_reply_median_s: int
    resolution_median_s: int
    csat: float
    reopen_rate: float
    weight: float  # relative ticket volume


# APAC works mostly over chat, hence the tighter first-reply target; tier 2
# takes escalations, which are slower to answer and solve but rarely bounce
# back; billing disputes are rated harshly, so its CSAT target is lower.
# Each office keeps its hours and public holidays; tier 2 is on call around
# the clock, so its figures are on the wall clock. The targets are in each
# team's business hours (kpi.business_hours).
_TEAMS: tuple[_DemoTeam, ...] = (
    _DemoTeam("support-emea", "Support EMEA", "Europe/Berlin", "de-be", "mon-fri", 3600, 86400, 0.90, 0.05, 0.30),
    _DemoTeam("support-amer", "Support Americas", "America/New_York", "us-ny", "mon-fri", 3600, 86400, 0.88, 0.06, 0.30),
    _DemoTeam("support-apac", "Support APAC", "Asia/Singapore", "sg", "mon-fri", 900, 64800, 0.87, 0.07, 0.15),
    _DemoTeam("billing", "Billing & Payments", "Europe/London", "gb-eng", "mon-fri", 3600, 86400, 0.85, 0.08, 0.15),
    _DemoTeam("tier2", "Tier 2 Technical", "America/Chicago", "none", "mon,wed,fri", 7200, 172800, 0.92, 0.05, 0.10),
)
# Office hours and public holidays (the `holidays` package) per office; London
# closes for lunch, Singapore opens on Saturday mornings.
_CALENDARS: tuple[dict[str, Any], ...] = (
    {"key": "de-be", "timezone": "Europe/Berlin", "hours": ["mon-fri 08:00-18:00"], "holidays": {"country": "DE", "subdiv": "BE"}},
    {"key": "us-ny", "timezone": "America/New_York", "hours": ["mon-fri 08:00-20:00"], "holidays": {"country": "US", "subdiv": "NY"}},
    {"key": "sg", "timezone": "Asia/Singapore", "hours": ["mon-fri 09:00-18:00", "sat 09:00-13:00"], "holidays": {"country": "SG"}},
    {"key": "gb-eng", "timezone": "Europe/London", "hours": ["mon-fri 08:30-12:30,13:30-17:30"], "holidays": {"country": "GB", "subdiv": "ENG", "dates": ["2026-12-24"]}},
)
_SLA_ATTAINMENT_TARGET = 0.9

# Per team: the lead first, then the agents (40 agents in all).
_PEOPLE: dict[str, tuple[str, ...]] = {
    "support-emea": (
        "Katrin Hoffmann",
        "Lena Fischer", "Jonas Becker", "Amira Haddad", "Lukas Wagner", "Sofia Rossi",
        "Mehmet Yilmaz", "Elif Kaya", "Pieter de Vries", "Chloé Martin", "Tomasz Nowak",
    ),
    "support-amer": (
        "Monica Alvarez",
        "Marcus Johnson", "Jasmine Williams", "Diego Hernández", "Emily Chen", "Tyler Brooks",
        "Aaliyah Davis", "Kevin O'Brien", "Priya Patel", "Sam Rivera", "Natalie Goldberg",
    ),
    "support-apac": (
        "Grace Ong",
        "Wei Ling Tan", "Arjun Nair", "Siti Rahman", "Kenji Watanabe", "Hannah Lim",
        "Minh Nguyen", "Rizal Santos",
    ),
    "billing": (
        "Rachel Thompson",
        "Oliver Bennett", "Amelia Clarke", "Raj Sharma", "Chioma Okafor", "Callum MacLeod",
        "Zara Hussain", "Ewan Price",
    ),
    "tier2": (
        "Daniel Novak",
        "Brian Kowalski", "Maya Jackson", "Luis Ortega", "Megan Schultz", "André Baptiste",
        "Hye-jin Park",
    ),
}

# Managers and the admin sit in a home team (so every member has one) but
# oversee all teams through their role.
_STAFF: tuple[tuple[str, str, str, str], ...] = (
    # handle ("": from the name), name, role, home team
    ("", "Sarah Mitchell", "manager", "support-amer"),
    ("", "Ahmed Karim", "manager", "support-emea"),
    ("admin", "Jordan Lee", "admin", "support-emea"),
)


# A remote agent outside the team's zone shows the optional per-member zone.
_MEMBER_TIMEZONES = {"rizal": "Asia/Manila"}


def _slug(text: str) -> str:
    """Lowercase ASCII slug: letters, digits and single hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = ascii_text.replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


# Given names of more than one word, where the first word alone would not do.
_HANDLE_OVERRIDES = {"Wei Ling Tan": "wei-ling"}


def _handle(name: str) -> str:
    """The given name as handle ("Chloé Martin" -> "chloe"): short to type in
    `--as` and command text; the demo names keep given names unique."""
    return _HANDLE_OVERRIDES.get(name) or _slug(name.split()[0])


def demo_org_document() -> dict[str, Any]:
    """The demo organisation as an org YAML document (plain dicts and lists).

    Five teams in five time zones, 40 agents, one lead per team, two managers
    and one admin (handle "admin"). Ids are stable and unique: Slack ids
    "U0DEMO001"..., Teams ids UUID-shaped "8f0c2a1e-0000-4000-8000-000000000001"...
    """
    teams: list[dict[str, Any]] = []
    for n, t in enumerate(_TEAMS, 1):
        teams.append(
            {
                "key": t.key,
                "name": t.name,
                "timezone": t.timezone,
                "calendar": t.calendar,
                "channels": {"slack": f"C0DEMO{n:03d}", "teams": f"19:demo-{t.key}@thread.tacv2"},
                "digest": {"time": "09:00", "days": t.digest_days, **({"weekly": "mon"} if t.digest_days == "mon-fri" else {})},
                "targets": {
                    "first_reply_median_s": t.first_reply_median_s,
                    "resolution_median_s": t.resolution_median_s,
                    "csat": t.csat,
                    "reopen_rate": t.reopen_rate,
                    "sla_attainment": _SLA_ATTAINMENT_TARGET,
                },
                # Alerts a lead would set: a backlog that piles up, first replies twice the
                # target over a morning, CSAT well under target on a day with enough ratings.
                "alerts": {
                    "backlog": {"above": int(400 * t.weight)},
                    "first_reply_median_s": {"above": 2 * t.first_reply_median_s, "window": "4h", "min_n": 5, "for": "30m"},
                    "csat": {"below": round(t.csat - 0.1, 2), "window": "1d", "min_n": 10},
                },
            }
        )

    people: list[tuple[str, str, str, str]] = []  # handle, name, team, role
    for team_key, names in _PEOPLE.items():
        for i, person in enumerate(names):
            people.append((_handle(person), person, team_key, "lead" if i == 0 else "agent"))
    for handle, person, role, team_key in _STAFF:
        people.append((handle or _handle(person), person, team_key, role))

    members: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, (handle, person, team_key, role) in enumerate(people, 1):
        if handle in seen:  # a guard for whoever edits the name lists
            raise AssertionError(f"duplicate demo handle {handle!r}")
        seen.add(handle)
        members.append(
            {
                "handle": handle,
                "name": person,
                "email": f"{handle}@acme.example",
                "team": team_key,
                "role": role,
                "slack_id": f"U0DEMO{n:03d}",
                "teams_id": f"8f0c2a1e-0000-4000-8000-{n:012d}",
            }
        )
        if handle in _MEMBER_TIMEZONES:
            members[-1]["timezone"] = _MEMBER_TIMEZONES[handle]

    org = {"name": ORG_NAME, "timezone": ORG_TIMEZONE, "digest": {"time": "07:30", "days": "mon-fri"}}  # the roll-up to managers and admins
    calendars = [dict(c) for c in _CALENDARS]
    return {"org": org, "calendars": calendars, "teams": teams, "members": members, "escalation": _escalation(), "qa": _qa(), "sla": _sla()}


def _sla() -> list[dict[str, Any]]:
    """Policies per priority, the helpdesk defaults, with key accounts' tickets (tagged vip) and live channels ahead of all but urgent ones."""
    return [
        {"key": "urgent", "name": "Urgent", "match": {"priority": ["urgent"]}, "first_reply": "1h", "resolution": "1d", "warn_before": "15m"},
        {"key": "vip", "name": "Key accounts", "match": {"tag": ["vip"]}, "first_reply": "2h", "resolution": "2d", "warn_before": "30m"},
        # The customer is waiting on the line: minutes on the wall clock, whatever the office hours.
        {"key": "live", "name": "Live chat and phone", "match": {"channel": ["chat", "phone"]}, "first_reply": "10m", "resolution": "3d", "time": "calendar", "warn_before": "5m"},
        {"key": "high", "name": "High", "match": {"priority": ["high"]}, "first_reply": "4h", "resolution": "2d", "warn_before": "30m"},
        {"key": "normal", "name": "Normal", "match": {"priority": ["normal"]}, "first_reply": "8h", "next_reply": "8h", "resolution": "3d", "warn_before": "1h"},
        {"key": "low", "name": "Low", "first_reply": "1d", "resolution": "5d", "warn_before": "2h"},
    ]


def _qa() -> dict[str, Any]:
    """The rubric the demo's reviewers score against."""
    return {
        "pass": 0.8,
        "hide_reviewer": False,
        "rubric": [
            {"key": "accuracy", "name": "Accuracy", "weight": 3, "scale": "0-2", "critical": True},
            {"key": "tone", "name": "Tone and empathy", "weight": 2, "scale": "1-5"},
            {"key": "policy", "name": "Policy followed", "weight": 2, "scale": "pass-fail"},
            {"key": "resolution", "name": "Resolution", "weight": 1, "scale": "1-5", "na": False},
        ],
        # Each Monday every agent's lead gets two of the agent's tickets from the week before, bad ratings and reopens first.
        "sampling": {
            "default": {
                "per_agent": 2,
                "weights": {"low_csat": 3, "reopened": 2, "sla_breached": 2, "long_resolution": 1.5, "tag:vip": 2},
                "exclude": {"already_reviewed": True, "min_replies": 1},
            }
        },
    }


def _escalation() -> dict[str, Any]:
    """Two queues a support organisation of this size would run.

    Billing: a weekly London rotation with a weekday day-shift on top, a New
    York night partner, then the billing lead, then the channel, twice round.
    Tier 2: a Chicago weekly rotation, its lead, then its channel; a round
    robin between two seniors spreads the second level. Its SEV1s page harder
    and faster, its SEV4s wait for office hours (New York's calendar).
    Billing's channel hears who is on call every Monday morning, Tier 2's at
    every handoff.
    """
    return {
        "default_queue": "tier2",
        "queues": [
            {
                "key": "billing",
                "name": "Billing specialists",
                "channels": {"slack": "C0DEMOESC1", "teams": "19:demo-billing-escalations@thread.tacv2"},
                # Monday mornings, London time: who is on call this week, on each schedule.
                "announce": {"at": "mon 09:00", "timezone": "Europe/London"},
                "schedules": [
                    {
                        "key": "primary",
                        "timezone": "Europe/London",
                        "layers": [
                            {"members": ["oliver", "amelia", "raj"], "shift": "1w", "start": "2026-01-05T09:00"},
                            {"members": ["chioma"], "shift": "1d", "start": "2026-01-05T08:00", "hours": "mon-fri 08:00-18:00"},
                        ],
                    },
                    {
                        "key": "secondary",
                        "timezone": "America/New_York",
                        "layers": [{"members": ["zara", "ewan"], "shift": "12h", "start": "2026-01-05T08:00"}],
                    },
                ],
                "policy": {
                    "repeat": 1,
                    "levels": [
                        {"notify": ["schedule:primary"], "wait": "10m"},
                        {"notify": ["schedule:secondary", "member:rachel"], "how": "dm+email", "wait": "15m"},  # the lead also by e-mail
                        {"notify": ["channel"], "wait": "15m"},
                    ],
                },
            },
            {
                "key": "tier2",
                "name": "Tier 2 Technical",
                "channels": {"slack": "C0DEMOESC2", "teams": "19:demo-tier2-escalations@thread.tacv2"},
                "announce": {"on": "handoff"},  # every time who is on call changes
                "schedules": [
                    {
                        "key": "primary",
                        "timezone": "America/Chicago",
                        "layers": [{"members": ["brian", "maya", "luis", "megan"], "shift": "1w", "start": "2026-01-05T08:00"}],
                    }
                ],
                "calendar": "us-ny",
                "policy": {
                    # A SEV1 (an outage, an alert from monitoring) pages the rotation and both seniors at
                    # once, then the lead and the channel, every 5 minutes, three rounds.
                    "sev1": {
                        "repeat": 2,
                        "levels": [
                            {"notify": ["schedule:primary", "member:andre", "member:hye-jin"], "wait": "5m"},
                            {"notify": ["member:daniel", "channel"], "wait": "5m"},
                        ],
                    },
                    # A SEV4 waits for New York office hours.
                    "sev4": {"working_hours": True, "levels": [{"notify": ["schedule:primary"], "wait": "30m"}]},
                    "default": {
                        "levels": [
                            {"notify": ["schedule:primary"], "wait": "10m"},
                            {"notify": ["member:andre", "member:hye-jin"], "how": "round_robin", "wait": "15m"},
                            {"notify": ["member:daniel", "channel"], "wait": "15m"},
                        ],
                    },
                },
            },
        ],
        "routes": [
            {"match": {"priority": ["urgent"]}, "queue": "tier2"},
            {"match": {"keywords": ["refund", "chargeback", "invoice", "payment"]}, "queue": "billing"},
            {"match": {"team": ["billing"]}, "queue": "billing"},
        ],
    }


def demo_team_weights() -> dict[str, float]:
    """Relative ticket volume per demo team key (sums to 1)."""
    return {t.key: t.weight for t in _TEAMS}


def demo_team_profiles(
    document: Mapping[str, Any], member_ids: Mapping[str, int], weights: Mapping[str, float] | None = None
) -> list[TeamProfile]:
    """Generator input for the teams of an org document.

    `member_ids` maps handles to database ids; only members with role
    "agent" work tickets. Teams missing from `weights` get weight 1.
    """
    weights = demo_team_weights() if weights is None else weights
    profiles = []
    for team in document["teams"]:
        agents = tuple(
            member_ids[m["handle"]]
            for m in document["members"]
            if m.get("team") == team["key"] and m.get("role") == "agent" and m["handle"] in member_ids
        )
        profiles.append(TeamProfile(team["key"], team["timezone"], float(weights.get(team["key"], 1.0)), agents))
    return profiles
