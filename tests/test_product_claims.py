"""What csbot tells people it does agrees with what it does.

The Slack manifest, the Teams app package and the README's Slack and Teams
sections are checked against the router's registry: the commands they list
are exactly the registered ones, and they name no feature whose commands are
not registered yet. The events the manifest subscribes to are each handled
by the real app, and the README names every place in the manifest an
installation has to edit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.teams.package import build_manifest
from handlers.registry import build_router
from store.database import Database
from tests.slack_env import BOT_USER, CHANNEL, running_slack

ROOT = Path(__file__).parent.parent
EXAMPLE_HOST = "csbot.example.com"

# The planned command families (shared/DESIGN.md) and the words that promise
# each one. A feature's words are allowed once one of its commands is
# registered, so shipping /scorecard needs no change here.
PLANNED: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("scorecard",), (r"scorecards?", r"digests?")),
    (("escalate", "escalation"), (r"escalat\w*", r"paging", r"pages? (?:the )?on-?call")),
    (("oncall",), (r"on-?call", r"rotations?")),
    (("coach",), (r"coach\w*",)),
    (("qa",), (r"QA", r"quality reviews?", r"rubrics?")),
]


def registered() -> set[str]:
    return {f.name for f in build_router().families}


def unshipped_claims(text: str) -> list[str]:
    """The words in `text` that promise a feature whose commands are not registered."""
    shipped = registered()
    found = []
    for commands, words in PLANNED:
        if shipped & set(commands):
            continue
        for word in words:
            found += [m.group(0) for m in re.finditer(rf"(?<![\w/-]){word}(?![\w-])", text, re.IGNORECASE)]
    return found


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a YAML/JSON document, with its path (list items as `[]`)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, f"{path}[]")
    elif isinstance(value, str):
        yield path, value


def slack_manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_claims_check_sees_a_false_promise() -> None:
    # The check itself: today's false description is caught, a true one is not.
    # Every planned family has shipped: nothing is a false promise any more.
    assert unshipped_claims("KPIs, scorecards, escalations, coaching and QA reviews for support teams.") == []
    assert unshipped_claims("KPIs for support teams, over any window; /csbot help.") == []


# ---------------------------------------------------------------- Slack


def test_manifest_slash_commands_are_the_routers_with_their_help_summaries() -> None:
    manifest = slack_manifest()
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    families = {f"/{f.name}": f for f in build_router().families}
    assert set(commands) == set(families)
    for name, command in commands.items():
        assert command["description"] == families[name].summary, name
        assert len(command["description"]) <= 100  # Slack's limit for a command description
        assert command["url"].endswith("/slack/events") and command["should_escape"] is True


def test_manifest_promises_nothing_unshipped() -> None:
    claims = {path: unshipped_claims(text) for path, text in strings(slack_manifest())}
    assert {path: found for path, found in claims.items() if found} == {}
    # Its own comments, which the person pasting it reads, too.
    comments = "\n".join(line for line in (ROOT / "manifest.yml").read_text().splitlines() if line.lstrip().startswith("#"))
    assert unshipped_claims(comments) == []


def test_manifest_scopes_and_events_are_what_csbot_uses() -> None:
    manifest = slack_manifest()
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "chat:write.public", "im:write", "users:read", "users:read.email", "files:write", "app_mentions:read",
        "channels:history", "groups:history", "im:history",
    }
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {"app_home_opened", "app_mention"}
    assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert manifest["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # where private answers to mentions go


async def test_every_subscribed_event_has_a_listener(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.slack.app")
    async with running_slack(db) as env:
        for n, kind in enumerate(slack_manifest()["settings"]["event_subscriptions"]["bot_events"]):
            event = {"type": kind, "user": "U0123ABCD", "channel": CHANNEL, "tab": "home", "ts": f"1700000800.{n:06d}", "text": f"<@{BOT_USER}> help"}
            status, _, _ = await env.event(event, f"EvSUB{n}")
            assert status == 200
        await env.wait_for("views.publish")
        await env.wait_for("chat.postMessage", 2)  # the mention's DM and its note
    unhandled = [r.getMessage() for r in caplog.records if r.getMessage().startswith("no listener for Slack")]
    assert unhandled == []


def test_readme_names_every_place_to_edit_in_the_manifest() -> None:
    manifest = slack_manifest()
    section = readme_section("Slack")
    places = {path for path, text in strings(manifest) if EXAMPLE_HOST in text}
    assert places == {"features.slash_commands[].url", "settings.event_subscriptions.request_url", "settings.interactivity.request_url"}
    for place in places | {
        "settings.socket_mode_enabled",
        "display_information.name",
        "features.bot_user.display_name",
        "display_information.description",
        "features.slash_commands",
        "oauth_config.scopes.bot",
        "settings.event_subscriptions.bot_events",
    }:
        assert f"`{place}`" in section, place
    for command in manifest["features"]["slash_commands"]:
        assert f"`{command['command']}`" in section
    for scope in manifest["oauth_config"]["scopes"]["bot"] + manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert f"`{scope}`" in section, scope


# ---------------------------------------------------------------- Teams


def test_teams_package_lists_the_routers_commands_and_promises_nothing_unshipped() -> None:
    manifest = build_manifest(bot_id="2f6c1a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6", router=build_router())
    (bot,) = manifest["bots"]
    commands = bot["commandLists"][0]["commands"]
    assert {c["title"] for c in commands} == registered()
    for command in commands:
        assert f"{command['title']} — {command['description']}" in manifest["description"]["full"]
    claims = {path: unshipped_claims(text) for path, text in strings(manifest)}
    assert {path: found for path, found in claims.items() if found} == {}


# ---------------------------------------------------------------- README


@pytest.mark.parametrize("title", ["Slack", "Microsoft Teams"])
def test_readme_platform_sections_promise_nothing_unshipped(title: str) -> None:
    assert unshipped_claims(readme_section(title)) == []
