"""Render a Reply as plain text, plus the plain-text primitives all renderers share.

`render_text` feeds the console and the `text` fallback of `--json`. The Slack
and Teams renderers reuse `clean` (what any user string must lose before it is
shown anywhere), `split_text` (breaking long text to fit a platform limit) and
`table_lines` (a padded, monospace table), so the three surfaces agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence

from handlers.reply import Actions, Chart, Context, Divider, Field, Fields, File, Reply, Section, Table

# C0/C1 controls except tab and newline, plus the bidi embeddings, overrides and
# isolates: those can reorder what a reader sees ("Trojan Source" spoofing).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NUMERIC = re.compile(r"[+\-\u2212\u00b1]?[$€£¥]?\s?\d[\d,.:'\u00a0\u202f ]*\s?(%|‰|[a-zA-Zµ]{1,3})?")
_WORDS = re.compile(r"\S+\s*|\s+")
_DIVIDER = "-" * 40


def clean(text: str) -> str:
    """Text safe to show anywhere: newlines normalised, control characters removed."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(text: str) -> str:
    """`clean` text folded onto a single line (titles, labels, table cells)."""
    return " ".join(clean(text).split())


def looks_numeric(cell: str) -> bool:
    """Whether a table cell reads as a number (so it is right-aligned): 12, -3.5 %, $1,200, 1:05:00, 45 s."""
    return bool(_NUMERIC.fullmatch(cell.strip()))


def display_width(text: str) -> int:
    """Columns the text occupies in a monospace font (East Asian wide characters take two)."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text
    )


def truncate(text: str, width: int) -> str:
    """Cut `text` to at most `width` display columns, marking the cut with an ellipsis."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap


def table_lines(
    columns: Sequence[str], rows: Sequence[Sequence[str]], *, max_cell_width: int | None = None
) -> list[str]:
    """A monospace table: header, a dashed rule, then one line per row.

    Cells are folded onto one line; columns whose every non-empty cell looks
    numeric are right-aligned, so digits line up. Rows shorter than the header
    are padded; longer ones get unnamed columns rather than losing data.
    """
    ncols = max([len(columns), *(len(r) for r in rows)], default=0)

    def fit(cell: str) -> str:
        text = one_line(cell)
        return truncate(text, max_cell_width) if max_cell_width else text

    header = [fit(c) for c in columns] + [""] * (ncols - len(columns))
    body = [[fit(c) for c in row] + [""] * (ncols - len(row)) for row in rows]
    widths = [max(display_width(r[i]) for r in [header, *body]) for i in range(ncols)]
    numeric = [
        any(r[i] for r in body) and all(looks_numeric(r[i]) for r in body if r[i]) for i in range(ncols)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(_pad(c, widths[i], numeric[i]) for i, c in enumerate(cells)).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in body)]


def split_text(
    text: str, limit: int, measure: Callable[[str], int] = len, *, join_cost: int = 0
) -> list[str]:
    """Split `text` into pieces whose `measure` stays within `limit`.

    Breaks at line ends first, then between words, and only then inside a
    word, so nothing is lost and pieces read naturally. `measure` is the size
    of a piece once rendered (escaped, encoded), never less than its length in
    characters; it is summed over the units of a piece, and `join_cost` is
    added per unit for escaping that depends on the neighbouring character, so
    the sum never underestimates the real size.
    Newlines at the ends of pieces are dropped, and blank pieces skipped.
    """
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for unit in _units(text, limit, measure, join_cost):
        cost = measure(unit) + join_cost
        if current and size + cost > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(unit)
        size += cost
    if current:
        pieces.append("".join(current))
    return [p.strip("\n") for p in pieces if p.strip()]


def _units(text: str, limit: int, measure: Callable[[str], int], join_cost: int) -> Iterator[str]:
    def fits(s: str) -> bool:
        return measure(s) + join_cost <= limit

    for line in text.splitlines(keepends=True):
        if fits(line):
            yield line
            continue
        for word in _WORDS.findall(line):
            if fits(word):
                yield word
                continue
            start = 0
            while start < len(word):
                # Largest prefix that fits, by bisection: measuring char by char
                # would be quadratic on a long unbroken string.
                lo, hi = 1, min(len(word) - start, limit) + 1
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if fits(word[start : start + mid]):
                        lo = mid
                    else:
                        hi = mid
                yield word[start : start + lo]
                start += lo


def _fields_lines(fields: Sequence[Field]) -> list[str]:
    labels = [one_line(f.label) for f in fields]
    width = max((display_width(label) for label in labels), default=0)
    lines: list[str] = []
    for label, f in zip(labels, fields):
        value_lines = clean(f.value).split("\n")
        head = f"{label}:" if label else ""
        lines.append(f"{_pad(head, width + 1, False)} {value_lines[0]}".rstrip())
        lines.extend((" " * (width + 2) + more).rstrip() for more in value_lines[1:])
    return lines


def render_text(reply: Reply) -> str:
    """The reply as plain text: no markup, aligned columns, numbered buttons.

    Buttons are numbered 1..n in reply order across every Actions block, the
    numbering the console's `:click N` uses.
    """
    parts: list[str] = []
    title = one_line(reply.title or "")
    if title:
        parts.append(f"{title}\n{'=' * display_width(title)}")
    button_no = 0
    for block in reply.blocks:
        match block:
            case Section(text=text) | Context(text=text):
                if clean(text).strip():
                    parts.append(clean(text))
            case Fields(fields=fields):
                if fields:
                    parts.append("\n".join(_fields_lines(fields)))
            case Table(columns=columns, rows=rows, title=table_title):
                lines = table_lines(columns, rows)
                if not rows:
                    lines.append("(no rows)")
                if table_title and one_line(table_title):
                    lines.insert(0, one_line(table_title))
                parts.append("\n".join(lines))
            case Chart(title=chart_title, alt_text=alt):
                parts.append(f"[chart: {one_line(chart_title)} — {one_line(alt)}]")
            case File(filename=filename, description=description):
                parts.append(f"[file: {one_line(filename)} — {one_line(description)}]")
            case Actions(buttons=buttons):
                labels = []
                for button in buttons:
                    button_no += 1
                    labels.append(f"[{button_no}] {one_line(button.label)}")
                if labels:
                    parts.append("Actions: " + "  ".join(labels))
            case Divider():
                parts.append(_DIVIDER)
    if reply.form is not None:
        names = ", ".join(one_line(f.label) for f in reply.form.fields)
        parts.append(f"[form: {one_line(reply.form.title)} — {names}]")
    text = "\n\n".join(parts)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
