"""`/kpi trend`'s chart: one metric per local day or week, with the team's target as a line.

Drawn with the scorecard chart's machinery (handlers.scorecard_chart: the
Agg backend, its colour-blind-safe palette, size and PNG encoding). Counts
are bars, durations (in minutes or hours) and rates (in %) a line with
markers; a point without a value is a gap, never a zero. Where the metric
has a sample (how many tickets a median or rate is over), a small panel
below shows it per point, so a dip over 3 tickets reads as such. A bucket
still running is drawn hollow and labelled "so far".

A trend is drawn once per question, not a hundred times per run like the
morning scorecards, so the figure is built for each chart (object API, no
pyplot state: charts drawn at once in several threads share nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from handlers.scorecard_chart import BLUE, DPI, HEIGHT_IN, ORANGE, VERMILLION, WIDTH_IN, boxes, gaps, png_bytes
from kpi.definitions import Metric

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402 (scorecard_chart chose the backend)
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

GREY = "#999999"


@dataclass(frozen=True)
class ChartPoint:
    label: str  # the x-axis label: `Mar 02`
    value: float | None
    n: int | None
    so_far: bool


def _scale(metric: Metric, values: Sequence[float]) -> tuple[float, str]:
    """The divisor and unit name the axis shows the metric in (hours for long durations, % for rates)."""
    if metric.unit == "rate":
        return 0.01, "%"
    if metric.unit == "seconds":
        return (3600.0, "h") if max(values, default=0) >= 2 * 3600 else (60.0, "min")
    return 1.0, ""


def trend_png(points: Sequence[ChartPoint], *, metric: Metric, title: str, target: float | None, axis_label: str) -> bytes:
    """The chart as PNG bytes; `axis_label` says what a point is (`Week (Europe/Berlin), Monday to Sunday`)."""
    known = [p.value for p in points if p.value is not None]
    divisor, unit = _scale(metric, [*known, *([target] if target is not None else [])])
    shown = [p.value / divisor if p.value is not None else None for p in points]
    goal = target / divisor if target is not None else None
    sampled = metric.sample is not None
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.09, right=0.97, top=0.86, bottom=0.12, hspace=0.12)
    if sampled:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    else:
        top, bottom = fig.subplots(1, 1), None
    fig.suptitle(title, fontsize=13, x=0.09, ha="left")
    x = list(range(len(points)))
    name = metric.label + (f" ({unit})" if unit else "")
    if metric.unit == "count":
        for running, colour, label in ((False, BLUE, name), (True, ORANGE, "so far")):
            at = [i for i, p in enumerate(points) if p.so_far == running]
            if at:
                _bars(top, at, [shown[i] or 0 for i in at], colour, label)
    else:
        top.plot(x, gaps(shown), color=BLUE, marker="o", markersize=4 if len(points) <= 40 else 2, linewidth=2, label=name)
        running = [i for i, p in enumerate(points) if p.so_far and shown[i] is not None]
        if running:
            # Hollow: a value still moving, not yet the bucket's.
            top.plot(running, [shown[i] for i in running], linestyle="none", marker="o", markersize=8, markerfacecolor="white", color=BLUE, label="so far")
    if goal is not None:
        top.axhline(goal, color=VERMILLION, linestyle="--", linewidth=1.5, label=f"Target ({_number(goal)}{' ' + unit if unit and unit != '%' else unit})")
    ceiling = max([*(v for v in shown if v is not None), *([goal] if goal is not None else []), 0.0])
    top.set_ylim(0, 100 if metric.unit == "rate" and ceiling <= 100 else (ceiling * 1.12 or 1))
    top.set_ylabel(name)
    top.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=metric.unit == "count"))
    top.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=3, frameon=False, fontsize=9, borderaxespad=0.2)
    axes = [top]
    if bottom is not None:
        _bars(bottom, x, [p.n or 0 for p in points], GREY, None)
        bottom.set_ylim(0, max([1, *(p.n or 0 for p in points)]) * 1.1)
        bottom.set_ylabel("n", rotation=0, labelpad=10)
        bottom.yaxis.set_major_locator(MaxNLocator(nbins=2, integer=True))
        axes.append(bottom)
    last = axes[-1]
    labels = [p.label for p in points]
    step = -(-len(points) // 7)  # at most seven labels: they stay apart and readable
    last.set_xticks(x[::-1][::step][::-1])
    last.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: labels[int(v)] if 0 <= int(v) < len(labels) else ""))
    last.set_xlabel(axis_label)
    last.set_xlim(-0.6, len(points) - 0.4)
    for axis in axes:
        axis.tick_params(labelsize=9)
        axis.spines["top"].set_visible(False)
        axis.spines["right"].set_visible(False)
    canvas = fig.canvas
    canvas.draw()
    return png_bytes(canvas)  # type: ignore[arg-type]


def _bars(axes: Any, at: Sequence[float], heights: Sequence[float], colour: str, label: str | None) -> None:
    # One collection for all the bars: a Rectangle per bar costs most of the drawing time.
    axes.add_collection(PolyCollection(boxes(at, heights, 0.7), facecolors=colour, edgecolors="none", label=label))


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
