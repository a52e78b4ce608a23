"""`/qa trend`'s chart: an agent's score per rubric category by week, with the pass mark, and reviews per week below.

Drawn with the same machinery as `/kpi trend` (handlers.scorecard_chart's
Agg backend, size and PNG encoding; a figure per chart, no pyplot state).
Lines use the Okabe–Ito colour-blind-safe palette, each with its own marker
so they read apart in grey too; a week without a score is a gap, never 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers.scorecard_chart import DPI, HEIGHT_IN, VERMILLION, WIDTH_IN, boxes, gaps, png_bytes

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402 (scorecard_chart chose the backend)
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

# Okabe–Ito, without vermillion (the pass mark's) and yellow (too pale on white).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P")
GREY = "#999999"


@dataclass(frozen=True)
class Line:
    name: str
    values: tuple[float | None, ...]  # 0..1 per week
    bold: bool = False  # the overall score


def qa_trend_png(labels: Sequence[str], lines: Sequence[Line], counts: Sequence[int], *, title: str, pass_mark: float | None, axis_label: str) -> bytes:
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.09, right=0.97, top=0.80, bottom=0.12, hspace=0.12)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    fig.suptitle(title, fontsize=13, x=0.09, ha="left")
    x = list(range(len(labels)))
    for i, line in enumerate(lines):
        shown = [v * 100 if v is not None else None for v in line.values]
        colour = "#000000" if line.bold else PALETTE[i % len(PALETTE)]
        top.plot(x, gaps(shown), color=colour, marker=MARKERS[i % len(MARKERS)], markersize=4, linewidth=3 if line.bold else 1.5, label=line.name)
    if pass_mark is not None:
        top.axhline(pass_mark * 100, color=VERMILLION, linestyle="--", linewidth=1.5, label=f"Pass ({pass_mark * 100:.0f}%)")
    top.set_ylim(0, 105)
    top.set_ylabel("Score (%)")
    top.yaxis.set_major_locator(MaxNLocator(nbins=5))
    top.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=4, frameon=False, fontsize=8, borderaxespad=0.2)
    bottom.add_collection(PolyCollection(boxes(x, [float(c) for c in counts], 0.7), facecolors=GREY, edgecolors="none"))
    bottom.set_ylim(0, max([1, *counts]) * 1.1)
    bottom.set_ylabel("n", rotation=0, labelpad=10)
    bottom.yaxis.set_major_locator(MaxNLocator(nbins=2, integer=True))
    step = -(-len(labels) // 7)  # at most seven labels: they stay apart and readable
    bottom.set_xticks(x[::-1][::step][::-1])
    bottom.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: labels[int(v)] if 0 <= int(v) < len(labels) else ""))
    bottom.set_xlabel(axis_label)
    bottom.set_xlim(-0.6, len(labels) - 0.4)
    for axis in (top, bottom):
        axis.tick_params(labelsize=9)
        axis.spines["top"].set_visible(False)
        axis.spines["right"].set_visible(False)
    canvas = fig.canvas
    canvas.draw()
    return png_bytes(canvas)  # type: ignore[arg-type]
