"""Charts and files written to disk, for surfaces that cannot show a picture or hand over a file (the console, `--out DIR`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from handlers.reply import Chart, File, Reply, filename_for


def default_directory() -> Path:
    """Where the console puts charts and files when no --out is given: a folder in the system's temp directory."""
    return Path(tempfile.gettempdir()) / "csbot-charts"


def chart_filename(title: str) -> str:
    """`Support EMEA · last 30 days` → `support-emea-last-30-days.png`."""
    return filename_for(title, ".png", "chart")


def write_charts(reply: Reply, directory: Path) -> list[Path]:
    """Write each chart (as PNG) and file of `reply` into `directory` (created when missing); the files written.

    A chart with the same title as an earlier one replaces it, and a file one
    of the same name, so asking the same question again does not fill the folder.
    """
    found = [(chart_filename(b.title), b.png) for b in reply.blocks if isinstance(b, Chart)]
    found += [(b.filename, b.content) for b in reply.blocks if isinstance(b, File)]
    if not found:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in found:
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written
