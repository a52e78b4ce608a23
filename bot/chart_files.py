"""Charts written to PNG files, for surfaces that cannot show a picture (the console, `--out DIR`)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from handlers.reply import Chart, Reply


def default_directory() -> Path:
    """Where the console puts charts when no --out is given: a folder in the system's temp directory."""
    return Path(tempfile.gettempdir()) / "csbot-charts"


def chart_filename(title: str) -> str:
    """`Support EMEA · last 30 days` → `support-emea-last-30-days.png`."""
    return (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "chart") + ".png"


def write_charts(reply: Reply, directory: Path) -> list[Path]:
    """Write each chart of `reply` into `directory` (created when missing); the files written.

    A chart with the same title as an earlier one replaces it, so asking the
    same question again does not fill the folder.
    """
    charts = [b for b in reply.blocks if isinstance(b, Chart)]
    if not charts:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for chart in charts:
        path = directory / chart_filename(chart.title)
        path.write_bytes(chart.png)
        written.append(path)
    return written
