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
import threading
from collections.abc import Sequence
from typing import Any

import matplotlib

from kpi.scorecard import TrendPoint

matplotlib.use("Agg")

import PIL.Image  # noqa: E402 (the backend is chosen first)
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator  # noqa: E402

# Okabe & Ito's palette, told apart by people with any common colour-vision
# deficiency; lines also differ by marker and style, not by colour alone.
BLUE, ORANGE, VERMILLION = "#0072B2", "#E69F00", "#D55E00"
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.0, 100  # 800 x 500 px: Slack and Teams scale it down, so the type is large
SIZE_PX = (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))


class _Template:
    """One figure, built once per thread and redrawn with each chart's data.

    Building the axes, ticks, lines and legends costs more than drawing them,
    and drawing text costs most of the rest; a scorecard run draws one chart
    per team over the same days. So the figure is made once, and what is the
    same from chart to chart (frames, the date axis, the CSAT axis, the
    legend of the bars) is drawn once per set of days and kept as a bitmap;
    each chart puts that back and draws only its own bars, lines, value axes,
    legend and title on it.
    """

    def __init__(self) -> None:
        # Fixed margins: a layout engine would measure every label again for each chart.
        self.fig = fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
        self.canvas = FigureCanvasAgg(fig)
        self._background: Any = None
        self._background_key: tuple[Any, ...] | None = None
        fig.subplots_adjust(left=0.08, right=0.91, top=0.86, bottom=0.11, hspace=0.32)
        self.top, self.bottom = top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1))
        # Each series' bars are one collection: a Rectangle per bar costs most of the drawing time.
        self.created = PolyCollection([], facecolors=BLUE, edgecolors="none", label="Created")
        self.solved = PolyCollection([], facecolors=ORANGE, edgecolors="none", label="Solved")
        top.add_collection(self.created)
        top.add_collection(self.solved)
        top.set_ylabel("Tickets")
        top.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        # Legends sit above their panel, never over the data.
        top.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=2, frameon=False, fontsize=10, borderaxespad=0.2)
        self.title = fig.suptitle("", fontsize=13, x=0.08, ha="left")
        (self.frt,) = bottom.plot([], [], color=BLUE, marker="o", markersize=3, linewidth=2, label="First reply median (h)")
        self.frt_target = bottom.axhline(1, color=BLUE, linestyle="--", linewidth=1, label="First reply target")
        bottom.set_ylabel("First reply (h)")
        self.right = right = bottom.twinx()
        (self.csat,) = right.plot([], [], color=VERMILLION, marker="s", markersize=3, linewidth=2, label="CSAT (%)")
        self.csat_target = right.axhline(90, color=VERMILLION, linestyle=":", linewidth=1.5, label="CSAT target")
        right.set_ylabel("CSAT (%)")
        right.set_ylim(0, 100)
        # Few tick labels: drawing text is most of a chart's time, and these are enough to read it.
        right.yaxis.set_major_locator(FixedLocator([0, 25, 50, 75, 100]))
        bottom.yaxis.set_major_locator(MaxNLocator(nbins=4))
        self.labels: list[str] = []
        bottom.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: self.labels[int(v)] if 0 <= int(v) < len(self.labels) else ""))
        for axis in (top, bottom, right):
            axis.tick_params(labelsize=10)
            axis.spines["top"].set_visible(False)

    def draw(self, days: Sequence[TrendPoint], title: str, first_reply_target_s: float | None, csat_target: float | None, zone: str) -> bytes:
        x = list(range(len(days)))
        width = 0.4
        self.created.set_verts(boxes([i - width / 2 for i in x], [d.created for d in days], width))
        self.solved.set_verts(boxes([i + width / 2 for i in x], [d.solved for d in days], width))
        self.top.set_xlim(-0.6, len(days) - 0.4)
        self.top.set_ylim(0, max([1, *(d.created for d in days), *(d.solved for d in days)]) * 1.08)
        self.title.set_text(title)

        hours = [d.first_reply_median_s / 3600 if d.first_reply_median_s is not None else None for d in days]
        self.frt.set_data(x, gaps(hours))
        goal = first_reply_target_s / 3600 if first_reply_target_s is not None else None
        self.frt_target.set_ydata([goal or 0, goal or 0])
        self.frt_target.set_visible(goal is not None)
        self.bottom.set_ylim(0, max([1.0, *(h for h in hours if h is not None), *([goal * 1.2] if goal else [])]) * 1.08)
        pct = [d.csat * 100 if d.csat is not None else None for d in days]
        self.csat.set_data(x, gaps(pct))
        self.csat_target.set_ydata([(csat_target or 0) * 100] * 2)
        self.csat_target.set_visible(csat_target is not None)
        shown = [line for line in (self.frt, self.frt_target, self.csat, self.csat_target) if line.get_visible()]
        self.bottom.legend(handles=shown, loc="lower right", bbox_to_anchor=(1, 1), ncols=4, frameon=False, fontsize=8, borderaxespad=0.2, handlelength=1.5)

        labels = [d.day.strftime("%b %d") for d in days]
        key = (tuple(labels), zone)
        if key != self._background_key:
            self.labels = labels
            step = max(1, len(days) // 6)
            self.bottom.set_xticks(x[::-1][::step][::-1])
            self.bottom.set_xlabel(f"Day ({zone})")
            self._draw_background(key)
        self.canvas.restore_region(self._background)
        renderer = self.canvas.get_renderer()
        for axes, artist in self._dynamic():
            if artist.get_visible():
                axes.draw_artist(artist) if axes is not None else artist.draw(renderer)
        return png_bytes(self.canvas)

    def _dynamic(self) -> list[tuple[Any, Any]]:
        """What each chart draws itself, in drawing order, with the axes each belongs to."""
        legend = self.bottom.get_legend()
        return [
            (self.top, self.created), (self.top, self.solved), (self.top, self.top.yaxis),
            (self.bottom, self.frt_target), (self.bottom, self.frt), (self.bottom, self.bottom.yaxis),
            (self.right, self.csat_target), (self.right, self.csat),
            (self.bottom, legend), (None, self.title),
        ]  # fmt: skip

    def _draw_background(self, key: tuple[Any, ...]) -> None:
        """Draw everything but the per-chart artists, and keep the bitmap."""
        hidden = [artist for _axes, artist in self._dynamic() if artist is not None and artist.get_visible()]
        for artist in hidden:
            artist.set_visible(False)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        self._background_key = key
        for artist in hidden:
            artist.set_visible(True)


_templates = threading.local()


def trend_png(
    days: Sequence[TrendPoint], *, title: str, first_reply_target_s: float | None, csat_target: float | None, zone: str
) -> bytes:
    """The chart as PNG bytes; `zone` names the time zone the days are local to (shown on the axis)."""
    template = getattr(_templates, "figure", None)
    if template is None:
        template = _templates.figure = _Template()
    return template.draw(days, title, first_reply_target_s, csat_target, zone)


def png_bytes(canvas: FigureCanvasAgg) -> bytes:
    """What `canvas` has drawn, as PNG bytes."""
    width_px, height_px = canvas.get_width_height()
    image = PIL.Image.frombuffer("RGBA", (width_px, height_px), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    # Fast compression: a little larger, noticeably quicker, for a 60 KB image.
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def boxes(centres: Sequence[float], heights: Sequence[float], width: float) -> list[list[tuple[float, float]]]:
    return [[(c - width / 2, 0), (c - width / 2, h), (c + width / 2, h), (c + width / 2, 0)] for c, h in zip(centres, heights, strict=True) if h]


def gaps(values: Sequence[float | None]) -> list[float]:
    """None as NaN, so a day without a value is a gap in the line rather than a zero."""
    return [float("nan") if v is None else v for v in values]
