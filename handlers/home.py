"""What a member's home screen (Slack App Home, Teams personal tab) shows.

Each section is a title and a command run as the member, so the home screen
shows exactly what that command answers in chat, permissions included.
Command families add their sections when they register.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HomeSection:
    title: str
    command: str


HOME_SECTIONS: list[HomeSection] = [HomeSection("Your KPIs, last 7 days", "/kpi me 7d")]
