"""The scorecard's 30-day trend chart, drawn with matplotlib as a PNG.

Two panels over the same local days: created vs solved tickets as bars on
top; below, the median first reply (hours, left axis) and CSAT (%, right
axis), each with its target as a dashed line of the same colour.

matplotlib is imported here, and this module only when a chart is drawn, so
answering a command never pays for it. The Agg backend draws without a
screen; the figure is built with the object API (no pyplot state), so
charts drawn at the same time in several threads do not share a figure.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

from kpi.scorecard import TrendPoint

matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402 (the backend is chosen first)
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

# Okabe & Ito's palette, told apart by people with any common colour-vision
# deficiency; lines also differ by marker and style, not by colour alone.
BLUE, ORANGE, VERMILLION = "#0072B2", "#E69F00", "#D55E00"
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.0, 100  # 800 x 500 px: Slack and Teams scale it down, so the type is large
SIZE_PX = (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))


def trend_png(
    days: Sequence[TrendPoint], *, title: str, first_reply_target_s: float | None, csat_target: float | None, zone: str
) -> bytes:
    """The chart as PNG bytes; `zone` names the time zone the days are local to (shown on the axis)."""
    # Fixed margins: a layout engine would measure every label again for each chart (half the drawing time).
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    fig.subplots_adjust(left=0.08, right=0.91, top=0.86, bottom=0.11, hspace=0.32)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1))
    x = list(range(len(days)))
    width = 0.4
    # Each series' bars are one collection: a Rectangle per bar costs most of the drawing time.
    _bars(top, [i - width / 2 for i in x], [d.created for d in days], width, BLUE, "Created")
    _bars(top, [i + width / 2 for i in x], [d.solved for d in days], width, ORANGE, "Solved")
    top.set_xlim(-0.6, len(days) - 0.4)
    top.set_ylim(0, max([1, *(d.created for d in days), *(d.solved for d in days)]) * 1.08)
    top.set_ylabel("Tickets")
    top.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    # Legends sit above their panel, never over the data.
    top.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=2, frameon=False, fontsize=10, borderaxespad=0.2)
    fig.suptitle(title, fontsize=13, x=0.08, ha="left")

    hours = [d.first_reply_median_s / 3600 if d.first_reply_median_s is not None else None for d in days]
    bottom.plot(x, _gaps(hours), color=BLUE, marker="o", markersize=3, linewidth=2, label="First reply median (h)")
    if first_reply_target_s is not None:
        bottom.axhline(first_reply_target_s / 3600, color=BLUE, linestyle="--", linewidth=1, label="First reply target")
    bottom.set_ylabel("First reply (h)")
    bottom.set_ylim(bottom=0)
    right = bottom.twinx()
    pct = [d.csat * 100 if d.csat is not None else None for d in days]
    right.plot(x, _gaps(pct), color=VERMILLION, marker="s", markersize=3, linewidth=2, linestyle="-", label="CSAT (%)")
    if csat_target is not None:
        right.axhline(csat_target * 100, color=VERMILLION, linestyle=":", linewidth=1.5, label="CSAT target")
    right.set_ylabel("CSAT (%)")
    right.set_ylim(0, 100)
    handles = bottom.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    bottom.legend(handles=handles, loc="lower right", bbox_to_anchor=(1, 1), ncols=4, frameon=False, fontsize=8, borderaxespad=0.2, handlelength=1.5)

    labels = [d.day.strftime("%b %d") for d in days]
    step = max(1, len(days) // 6)
    bottom.set_xticks(x[::-1][::step][::-1])
    bottom.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: labels[int(v)] if 0 <= int(v) < len(labels) else ""))
    bottom.set_xlabel(f"Day ({zone})")
    for axis in (top, bottom, right):
        axis.tick_params(labelsize=10)
        axis.spines["top"].set_visible(False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _bars(axis: Axes, lefts_centre: list[float], heights: list[int], width: float, colour: str, label: str) -> None:
    boxes = [((c - width / 2, 0), (c - width / 2, h), (c + width / 2, h), (c + width / 2, 0)) for c, h in zip(lefts_centre, heights, strict=True) if h]
    axis.add_collection(PolyCollection(boxes, facecolors=colour, edgecolors="none", label=label))


def _gaps(values: list[float | None]) -> list[float]:
    """None as NaN, so a day without a value is a gap in the line rather than a zero."""
    return [float("nan") if v is None else v for v in values]
