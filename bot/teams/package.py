"""The sideloadable Teams app package: manifest.json and two icons in one zip.

A Teams admin uploads the zip (Apps > Manage your apps > Upload an app). The
bot's command menu is built from the router, so it always lists exactly the
commands the bot answers. The icons are drawn here in pure Python so the
package needs no image files or imaging library.
"""

from __future__ import annotations

import json
import logging
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from handlers.router import CommandFamily, Router

log = logging.getLogger(__name__)

SCHEMA_URL = "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
MANIFEST_VERSION = "1.17"
SITE = "https://csbot.example.com"
ACCENT_COLOR = "#4F52B2"
SCOPES = ("personal", "team", "groupChat")
SHORT_DESCRIPTION = "KPIs, scorecards and on-call escalations for customer-service teams, in chat"
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"

# Limits of the 1.17 schema: Teams refuses the whole upload if one is exceeded.
MAX_COMMANDS = 10
MAX_TITLE = 32
MAX_COMMAND_DESCRIPTION = 128
MAX_SHORT_DESCRIPTION = 80
MAX_FULL_DESCRIPTION = 4000
MAX_VALID_DOMAINS = 16

# The schema's own GUID pattern; uuid.UUID() would also accept braces or no dashes.
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")

RGBA = tuple[int, int, int, int]
WHITE: RGBA = (255, 255, 255, 255)
CLEAR: RGBA = (0, 0, 0, 0)


def build_package(
    out: Path,
    *,
    bot_id: str,
    router: Router,
    version: str = "1.0.0",
    valid_domains: Sequence[str] = (),
) -> dict[str, Any]:
    """Write the app package zip to `out` and return its manifest.

    `bot_id` is the Azure bot's Microsoft App ID (a GUID); it doubles as the
    Teams app id. Raises ValueError for anything Teams would reject on upload.
    """
    manifest = build_manifest(bot_id=bot_id, router=router, version=version, valid_domains=valid_domains)
    files = {
        "manifest.json": json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8") + b"\n",
        COLOR_ICON: color_icon(),
        OUTLINE_ICON: outline_icon(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            # A fixed timestamp makes rebuilding the same version byte-identical.
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return manifest


def build_manifest(
    *,
    bot_id: str,
    router: Router,
    version: str = "1.0.0",
    valid_domains: Sequence[str] = (),
) -> dict[str, Any]:
    """The manifest.json content (schema 1.17) for csbot's bot."""
    if not _GUID.match(bot_id):
        raise ValueError(
            f"bot id {bot_id!r} is not a GUID; use the Microsoft App ID of the Azure bot "
            "(like 00000000-0000-0000-0000-000000000000)"
        )
    if not _SEMVER.match(version):
        raise ValueError(f"version {version!r} must be MAJOR.MINOR.PATCH, e.g. 1.0.0")
    domains = _valid_domains(valid_domains)
    families = router.families
    commands = bot_commands(families)
    listing = "; ".join(f"{c['title']} — {c['description']}" for c in commands)
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": bot_id,
        "developer": {
            "name": "csbot",
            "websiteUrl": SITE,
            "privacyUrl": f"{SITE}/privacy",
            "termsOfUseUrl": f"{SITE}/terms",
        },
        "name": {"short": "csbot", "full": "csbot for customer-service teams"},
        # Only what csbot does today: the commands come from the router, and
        # the prose names no feature that has not shipped.
        "description": {
            "short": truncate(SHORT_DESCRIPTION, MAX_SHORT_DESCRIPTION),
            "full": truncate(
                "csbot answers customer-service teams in chat. Mention csbot in a channel or chat with it "
                f"directly; answers for your eyes only come to your 1:1 chat. Commands: {listing}.",
                MAX_FULL_DESCRIPTION,
            ),
        },
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT_COLOR,
        "bots": [
            {
                "botId": bot_id,
                "scopes": list(SCOPES),
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [{"scopes": list(SCOPES), "commands": commands}],
            }
        ],
        # Message actions: "…" on a message → csbot. Each command id is a router action
        # (as a Slack shortcut's callback id is), answered with its form in a dialog.
        "composeExtensions": [{"botId": bot_id, "commands": [dict(c) for c in MESSAGE_ACTIONS if c["id"] in router.action_ids]}],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": domains,
    }


MESSAGE_ACTIONS: tuple[dict[str, Any], ...] = (
    {
        "id": "escalate_message",
        "type": "action",
        "title": "Escalate this message",
        "description": "Page the on-call specialist about this message's ticket",
        "context": ["message"],
        "fetchTask": True,
    },
)


def bot_commands(families: Iterable[CommandFamily]) -> list[dict[str, str]]:
    """The bot's command menu: one entry per family, in router order, within Teams' limits."""
    families = list(families)
    if len(families) > MAX_COMMANDS:
        dropped = ", ".join(f.name for f in families[MAX_COMMANDS:])
        log.warning("Teams lists at most %d bot commands; left out of the menu: %s", MAX_COMMANDS, dropped)
    return [
        {"title": truncate(f.name, MAX_TITLE), "description": truncate(f.summary, MAX_COMMAND_DESCRIPTION)}
        for f in families[:MAX_COMMANDS]
    ]


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in "…" when cut so the reader sees it was."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _valid_domains(domains: Sequence[str]) -> list[str]:
    result = [d.strip() for d in domains if d.strip()]
    if len(result) > MAX_VALID_DOMAINS:
        raise ValueError(f"Teams allows at most {MAX_VALID_DOMAINS} valid domains, got {len(result)}")
    for domain in result:
        if "://" in domain or "/" in domain:
            raise ValueError(f"valid domain {domain!r} must be a bare host name such as csbot.example.com")
    return result


# --- icons ---------------------------------------------------------------------------


def png(width: int, height: int, rgba: bytes) -> bytes:
    """Encode pixels (rows top to bottom, 4 bytes R G B A each) as an 8-bit RGBA PNG."""
    stride = width * 4
    if len(rgba) != stride * height:
        raise ValueError(f"expected {stride * height} bytes of RGBA, got {len(rgba)}")
    # Filter type 0 on every row: the simplest valid encoding, and these flat icons compress fine.
    raw = b"".join(b"\x00" + rgba[y * stride : (y + 1) * stride] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit depth, colour type 6 = RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


class Canvas:
    """A width x height RGBA image drawn with filled rectangles."""

    def __init__(self, width: int, height: int, background: RGBA) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: RGBA) -> None:
        """Fill columns x0..x1-1 of rows y0..y1-1."""
        run = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 4
            self.pixels[start : start + len(run)] = run

    def png(self) -> bytes:
        return png(self.width, self.height, bytes(self.pixels))


def _hex_rgba(color: str) -> RGBA:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16), 255)


def color_icon(accent: str = ACCENT_COLOR) -> bytes:
    """192x192: a white speech bubble on a full-bleed accent background.

    Teams wants the colour icon opaque edge to edge, with the glyph inside the
    central safe area, so every pixel is drawn with alpha 255.
    """
    bg = _hex_rgba(accent)
    c = Canvas(192, 192, bg)
    c.rect(44, 52, 148, 124, WHITE)  # bubble body
    for i in range(20):  # tail: a right triangle under the body's left side
        c.rect(60, 124 + i, 80 - i, 125 + i, WHITE)
    for x in (68, 90, 112):  # three "typing" dots in the accent colour
        c.rect(x, 82, x + 12, 94, bg)
    return c.png()


def outline_icon() -> bytes:
    """32x32: the same bubble as a white outline on transparency, as Teams requires."""
    c = Canvas(32, 32, CLEAR)
    c.rect(4, 6, 28, 8, WHITE)  # top edge
    c.rect(4, 20, 28, 22, WHITE)  # bottom edge
    c.rect(4, 6, 6, 22, WHITE)  # left edge
    c.rect(26, 6, 28, 22, WHITE)  # right edge
    for i in range(5):  # tail
        c.rect(8, 22 + i, 13 - i, 23 + i, WHITE)
    for x in (10, 15, 20):
        c.rect(x, 13, x + 2, 15, WHITE)
    return c.png()


__all__ = ["build_manifest", "build_package", "bot_commands", "color_icon", "outline_icon", "png", "truncate"]
