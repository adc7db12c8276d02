"""Inline SVG charts for the run report, drawn in Python: no JavaScript, no fonts or files to fetch.

Values are ``int`` or ``Decimal`` (money stays Decimal: a bar's length is a Decimal ratio turned into whole pixels,
never float arithmetic on the amount). Every label is escaped; every chart carries its figures as text beside the
bars, so it reads in grayscale and in print, and a ``<title>`` for screen readers. An empty series gives a short
sentence instead of an empty frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

Number = int | Decimal

WIDTH = 760
FONT_SIZE = 12
CHAR_WIDTH = 6.8  # average advance of a 12 px sans-serif character, to size the label column
ROW = 22
BAR = 14
TEXT = "#1f2933"
MUTED = "#52606d"
GRID = "#d9dee3"
DEFAULT_COLOUR = "#3d6a99"


@dataclass(frozen=True)
class Bar:
    label: str
    value: Number
    colour: str = DEFAULT_COLOUR
    text: str | None = None  # shown at the end of the bar; the value itself when None


def _pixels(value: Number, largest: Number, span: int) -> int:
    """Length of a bar: value / largest of span pixels, computed in Decimal, at least 1 px for a non-zero value."""
    if not largest or not value:
        return 0
    length = int(Decimal(value) / Decimal(largest) * span)
    return max(length, 1)


def _clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _label_width(labels: Sequence[str], limit: int) -> int:
    longest = max((len(_clip(s, limit)) for s in labels), default=0)
    return int(min(longest, limit) * CHAR_WIDTH) + 12


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    t = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{t}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-size="{FONT_SIZE}" font-family="system-ui, -apple-system, \'Segoe UI\', Roboto, Arial, sans-serif">'
        f"<title>{t}</title>" + "".join(body) + "</svg>"
    )


def _empty(message: str) -> str:
    return f'<p class="chart-empty">{escape(message)}</p>'


def _text(x: float, y: float, s: str, *, anchor: str = "start", fill: str = TEXT, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" fill="{fill}" font-weight="{weight}">{escape(s)}</text>'
    )


def hbar_chart(
    bars: Sequence[Bar], title: str, *, empty: str = "No rows.", label_limit: int = 44, value_space: int = 150
) -> str:
    """Horizontal bars, one per category, the figure written at the end of each bar."""
    if not bars:
        return _empty(empty)
    left = _label_width([b.label for b in bars], label_limit)
    span = WIDTH - left - value_space
    largest = max((b.value for b in bars), default=0)
    height = ROW * len(bars) + 8
    body = [f'<line x1="{left}" y1="2" x2="{left}" y2="{height - 4}" stroke="{GRID}"/>']
    for i, b in enumerate(bars):
        y = 4 + i * ROW
        length = _pixels(max(b.value, 0), largest, span) if largest > 0 else 0
        body.append(_text(left - 6, y + BAR - 2, _clip(b.label, label_limit), anchor="end"))
        body.append(f'<rect x="{left}" y="{y}" width="{length}" height="{BAR}" fill="{b.colour}"/>')
        body.append(_text(left + length + 6, y + BAR - 2, b.text if b.text is not None else f"{b.value:,}"))
    return _svg(WIDTH, height, title, body)


def stacked_hbar_chart(
    rows: Sequence[tuple[str, Sequence[Number]]],
    series: Sequence[tuple[str, str]],
    title: str,
    *,
    empty: str = "No rows.",
    label_limit: int = 44,
    total_format: Callable[[Number], str] = lambda n: f"{n:,}",
) -> str:
    """Horizontal bars split into segments (``series``: name and colour), a legend on top, totals at the end."""
    if not rows:
        return _empty(empty)
    left = _label_width([label for label, _ in rows], label_limit)
    value_space = 70
    span = WIDTH - left - value_space
    totals = [sum(values, 0) for _, values in rows]
    largest = max(totals, default=0)
    legend_height = 24
    height = legend_height + ROW * len(rows) + 8
    body = []
    x = left
    for name, colour in series:
        body.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>')
        body.append(_text(x + 16, 14, name, fill=MUTED))
        x += 16 + int(len(name) * CHAR_WIDTH) + 18
    body.append(f'<line x1="{left}" y1="{legend_height}" x2="{left}" y2="{height - 4}" stroke="{GRID}"/>')
    for i, ((label, values), total) in enumerate(zip(rows, totals, strict=True)):
        y = legend_height + 4 + i * ROW
        body.append(_text(left - 6, y + BAR - 2, _clip(label, label_limit), anchor="end"))
        # Segments end where the running total ends, so rounding never makes a bar longer than its total.
        running, start = 0, left
        for value, (name, colour) in zip(values, series, strict=True):
            running += value
            end = left + _pixels(running, largest, span)
            if value and end > start:
                body.append(
                    f'<rect x="{start}" y="{y}" width="{end - start}" height="{BAR}" fill="{colour}">'
                    f"<title>{escape(label)}: {escape(name)} {value:,}</title></rect>"
                )
            start = max(start, end)
        body.append(_text(left + _pixels(total, largest, span) + 6, y + BAR - 2, total_format(total)))
    return _svg(WIDTH, height, title, body)


def column_chart(bars: Sequence[Bar], title: str, *, empty: str = "No rows.") -> str:
    """Vertical columns (a histogram): labels under the columns (``\\n`` splits a label over two lines)."""
    if not bars:
        return _empty(empty)
    plot_height = 180
    top, label_space = 22, 40
    slot = min(84, (WIDTH - 20) // len(bars))
    width = slot * len(bars) + 20
    largest = max((b.value for b in bars), default=0)
    baseline = top + plot_height
    body = [f'<line x1="10" y1="{baseline}" x2="{width - 10}" y2="{baseline}" stroke="{MUTED}"/>']
    for i, b in enumerate(bars):
        x = 10 + i * slot
        h = _pixels(max(b.value, 0), largest, plot_height) if largest > 0 else 0
        body.append(f'<rect x="{x + 8}" y="{baseline - h}" width="{slot - 16}" height="{h}" fill="{b.colour}"/>')
        body.append(
            _text(x + slot / 2, baseline - h - 5, b.text if b.text is not None else f"{b.value:,}", anchor="middle")
        )
        for line_no, part in enumerate(b.label.split("\n")):
            body.append(_text(x + slot / 2, baseline + 15 + 14 * line_no, part, anchor="middle", fill=MUTED))
    return _svg(width, baseline + label_space, title, body)
