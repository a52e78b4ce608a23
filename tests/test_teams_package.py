"""The Teams app package: zip layout, manifest against the 1.17 schema's rules, icons."""

from __future__ import annotations

import json
import logging
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.teams.package import build_package
from handlers.registry import build_router
from handlers.router import Router

BOT_ID = "2f6c1a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6"

# The "required" lists of teams/v1.17/MicrosoftTeams.schema.json (microsoft/json-schemas).
REQUIRED_TOP = {"manifestVersion", "version", "id", "developer", "name", "description", "icons", "accentColor"}
REQUIRED_DEVELOPER = {"name", "websiteUrl", "privacyUrl", "termsOfUseUrl"}
REQUIRED_NAME = {"short", "full"}
REQUIRED_DESCRIPTION = {"short", "full"}
REQUIRED_ICONS = {"outline", "color"}
REQUIRED_BOT = {"botId", "scopes"}
REQUIRED_COMMAND_LIST = {"scopes", "commands"}
REQUIRED_COMMAND = {"title", "description"}


@dataclass
class FakeFamily:
    """Just what the package reads from a command family."""

    name: str
    summary: str
    usage: str = ""
    examples: tuple[str, ...] = ()


def router_of(*families: FakeFamily) -> Router:
    router = Router()
    for family in families:
        router.register(family)  # type: ignore[arg-type]
    return router


@dataclass
class Image:
    width: int
    height: int
    pixels: list[tuple[int, int, int, int]]


def read_png(data: bytes) -> Image:
    """A minimal PNG reader for what csbot writes: 8-bit RGBA, filter 0 on every row."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"CRC of {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color_type, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color_type) == (8, 6), "8-bit RGBA"
    assert (compression, filtering, interlace) == (0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + width * 4
    assert len(raw) == height * stride, "one filter byte plus width*4 bytes per row"
    pixels = []
    for y in range(height):
        row = raw[y * stride : (y + 1) * stride]
        assert row[0] == 0, f"row {y} uses filter {row[0]}"
        pixels.extend(tuple(row[1 + 4 * x : 5 + 4 * x]) for x in range(width))
    return Image(width, height, pixels)  # type: ignore[arg-type]


def build(tmp_path: Path, router: Router | None = None, **kwargs: Any) -> tuple[dict[str, Any], zipfile.ZipFile]:
    out = tmp_path / "csbot-teams.zip"
    returned = build_package(out, bot_id=BOT_ID, router=router or build_router(), **kwargs)
    return returned, zipfile.ZipFile(out)


def test_zip_holds_exactly_manifest_and_two_icons(tmp_path: Path) -> None:
    _, zf = build(tmp_path)
    assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]


def test_manifest_has_every_property_the_schema_requires(tmp_path: Path) -> None:
    returned, zf = build(tmp_path, version="2.3.4", valid_domains=["csbot.example.com"])
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest == returned

    assert REQUIRED_TOP <= manifest.keys()
    assert REQUIRED_DEVELOPER <= manifest["developer"].keys()
    assert REQUIRED_NAME <= manifest["name"].keys()
    assert REQUIRED_DESCRIPTION <= manifest["description"].keys()
    assert REQUIRED_ICONS <= manifest["icons"].keys()
    (bot,) = manifest["bots"]
    assert REQUIRED_BOT <= bot.keys()
    (command_list,) = bot["commandLists"]
    assert REQUIRED_COMMAND_LIST <= command_list.keys()
    for command in command_list["commands"]:
        assert REQUIRED_COMMAND <= command.keys()

    assert manifest["$schema"].endswith("/teams/v1.17/MicrosoftTeams.schema.json")
    assert manifest["manifestVersion"] == "1.17"
    assert manifest["version"] == "2.3.4"
    assert manifest["id"] == BOT_ID
    assert bot["botId"] == BOT_ID
    assert bot["scopes"] == command_list["scopes"] == ["personal", "team", "groupChat"]
    assert manifest["permissions"] == ["identity", "messageTeamMembers"]
    assert manifest["validDomains"] == ["csbot.example.com"]
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert all(url.startswith("https://") for key, url in manifest["developer"].items() if key.endswith("Url"))
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    assert len(manifest["name"]["short"]) <= 30


def test_commands_are_the_routers_families_in_order(tmp_path: Path) -> None:
    router = build_router()
    manifest, _ = build(tmp_path, router)
    commands = manifest["bots"][0]["commandLists"][0]["commands"]
    assert [c["title"] for c in commands] == [f.name for f in router.families]
    assert [c["description"] for c in commands] == [f.summary for f in router.families]


def test_icons_are_pngs_of_the_right_size(tmp_path: Path) -> None:
    _, zf = build(tmp_path)
    color, outline = read_png(zf.read("color.png")), read_png(zf.read("outline.png"))
    assert (color.width, color.height) == (192, 192)
    assert (outline.width, outline.height) == (32, 32)


def test_color_icon_is_opaque_edge_to_edge(tmp_path: Path) -> None:
    _, zf = build(tmp_path)
    color = read_png(zf.read("color.png"))
    assert all(p[3] == 255 for p in color.pixels)
    assert (255, 255, 255, 255) in color.pixels, "has a white glyph"
    assert len(set(color.pixels)) >= 2


def test_outline_icon_is_white_on_transparent(tmp_path: Path) -> None:
    _, zf = build(tmp_path)
    outline = read_png(zf.read("outline.png"))
    white = [p for p in outline.pixels if p == (255, 255, 255, 255)]
    clear = [p for p in outline.pixels if p[3] == 0]
    assert len(white) + len(clear) == 32 * 32, "only white and fully transparent pixels"
    assert white and clear


@pytest.mark.parametrize("bad", ["csbot", "", "2f6c1a7e3b4d4c5e8f90a1b2c3d4e5f6", "{2f6c1a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6}"])
def test_non_guid_bot_id_is_refused(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "p.zip"
    with pytest.raises(ValueError, match="not a GUID"):
        build_package(out, bot_id=bad, router=build_router())
    assert not out.exists()


def test_overlong_names_and_summaries_are_cut_visibly(tmp_path: Path) -> None:
    long_name, long_summary = "n" * 40, "word " * 40
    manifest, _ = build(tmp_path, router_of(FakeFamily(long_name, long_summary), FakeFamily("ok", "Fits.")))
    first, second = manifest["bots"][0]["commandLists"][0]["commands"]
    assert len(first["title"]) == 32 and first["title"] == "n" * 31 + "…"
    assert len(first["description"]) <= 128 and first["description"].endswith("…")
    assert long_summary.startswith(first["description"][:-1])
    assert second == {"title": "ok", "description": "Fits."}


def test_more_than_ten_families_keeps_the_first_ten_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    families = [FakeFamily(f"cmd{i:02d}", f"Command number {i}") for i in range(12)]
    with caplog.at_level(logging.WARNING, logger="bot.teams.package"):
        manifest, _ = build(tmp_path, router_of(*families))
    commands = manifest["bots"][0]["commandLists"][0]["commands"]
    assert [c["title"] for c in commands] == [f.name for f in families[:10]]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cmd10" in warnings[0] and "cmd11" in warnings[0]


def test_rebuilding_gives_the_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    build_package(a, bot_id=BOT_ID, router=build_router())
    build_package(b, bot_id=BOT_ID, router=build_router())
    assert a.read_bytes() == b.read_bytes()


def test_bad_version_and_domains_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MAJOR.MINOR.PATCH"):
        build(tmp_path, version="1.0")
    with pytest.raises(ValueError, match="bare host name"):
        build(tmp_path, valid_domains=["https://csbot.example.com"])
    with pytest.raises(ValueError, match="at most 16"):
        build(tmp_path, valid_domains=[f"h{i}.example.com" for i in range(17)])


# ---------------------------------------------------------------- csbot teams package, as an admin runs it


def _package(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, Path]:
    """`csbot teams package` in a clean directory, with only `env` set (no .env, no database)."""
    import os
    import subprocess
    import sys

    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CSBOT_", "SLACK_", "Microsoft", "TEAMS_", "DIGEST_")) and k != "DATABASE_URL"}
    out = work / "app.zip"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "teams", "package", "--out", str(out), *args],
        env={**clean, **(env or {})}, cwd=work, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr, out


def test_the_package_needs_only_the_app_id(tmp_path: Path) -> None:
    # No password, tenant or type: the package names the bot and nothing else.
    code, said, out = _package(tmp_path, env={"MicrosoftAppId": BOT_ID})
    assert code == 0, said
    assert json.loads(zipfile.ZipFile(out).read("manifest.json"))["id"] == BOT_ID
    assert f"bot {BOT_ID}" in said


def test_the_app_id_can_be_given_on_the_command_line_and_other_settings_do_not_matter(tmp_path: Path) -> None:
    # Settings the package does not use, even wrong ones, do not stop it.
    code, said, out = _package(tmp_path, "--app-id", BOT_ID, env={"SLACK_BOT_TOKEN": "not-a-token", "MicrosoftAppType": "Nonsense"})
    assert code == 0, said
    assert json.loads(zipfile.ZipFile(out).read("manifest.json"))["bots"][0]["botId"] == BOT_ID


def test_without_an_app_id_or_with_a_bad_one_it_says_what_to_do(tmp_path: Path) -> None:
    code, said, out = _package(tmp_path)
    assert code == 2 and "MicrosoftAppId" in said and "--app-id" in said and not out.exists()
    code, said, out = _package(tmp_path, "--app-id", "my-bot")
    assert code == 2 and "is not a GUID" in said and not out.exists()
