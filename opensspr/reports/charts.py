"""Charts as SVG drawn on the server: no script, no charting library, no CDN.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by
its ``<desc>`` (what it shows and its totals), and the page puts the same
figures in a table beside it, the text alternative. Colours come from CSS
classes (``reports.css``), never inline styles, so the Content-Security-Policy
stays strict; every series also differs by position, and the legend is text.
Everything a person typed is escaped (``format_html``).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
_ids = count(1)


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # "series-1" .. "series-4": a colour in reports.css
    values: Sequence[float]


def _nice_max(value: float, *, whole: bool = False) -> float:
    """A round top for the axis, at least ``value``: 1, 2, 5 times a power of ten.

    ``whole``: the axis counts things, so its four steps are whole numbers too.
    """
    if value <= 0:
        return 4 if whole else 1
    step = 1.0
    while step * 10 <= value:
        step *= 10
    top = next(step * f for f in (1, 2, 5, 10) if step * f >= value)
    return math.ceil(top / 4) * 4 if whole else top


def _frame(title: str, desc: str, body: SafeString, width: int) -> SafeString:
    n = next(_ids)
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" aria-labelledby="chart-{}-t '
        'chart-{}-d" focusable="false"><title id="chart-{}-t">{}</title>'
        '<desc id="chart-{}-d">{}</desc>{}</svg>',
        width,
        HEIGHT,
        n,
        n,
        n,
        title,
        n,
        desc,
        body,
    )


def _axis(top: float, labels: Sequence[str], every: int, width: int) -> SafeString:
    plot_h = HEIGHT - TOP - BOTTOM
    lines = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        text = f"{value:g}" if top < 10 else f"{round(value):,}"
        lines.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
                '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>',
                LEFT,
                width - RIGHT,
                f"{y:.1f}",
                f"{y:.1f}",
                LEFT - 6,
                f"{y + 4:.1f}",
                text,
            )
        )
    slot = (width - LEFT - RIGHT) / max(len(labels), 1)
    for i, label in enumerate(labels):
        if i % every == 0:
            lines.append(
                format_html(
                    '<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text>',
                    f"{LEFT + slot * (i + 0.5):.1f}",
                    HEIGHT - 8,
                    label,
                )
            )
    return mark_safe("".join(lines))  # noqa: S308 - each part built by format_html


def stacked_bars(
    title: str, desc: str, labels: Sequence[str], series: Sequence[Series], *, width: int = WIDTH
) -> SafeString:
    """One bar per label (a day), its series stacked bottom-up in the order given."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0), whole=True)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (width - LEFT - RIGHT) / max(len(labels), 1)
    bar_w = max(slot * 0.7, 1)
    rects = []
    for i in range(len(labels)):
        base = 0.0
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            y = TOP + plot_h - plot_h * base / top - h
            rects.append((s.css, LEFT + slot * i + (slot - bar_w) / 2, y, bar_w, h))
            base += value
    bars = format_html_join(
        "",
        '<rect class="{}" x="{}" y="{}" width="{}" height="{}"></rect>',
        ((c, f"{x:.1f}", f"{y:.1f}", f"{w:.1f}", f"{h:.1f}") for c, x, y, w, h in rects),
    )
    every = max(1, round(len(labels) * 80 / width))
    return _frame(title, desc, format_html("{}{}", _axis(top, labels, every, width), bars), width)


def lines(
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    top: float = 0,
    width: int = WIDTH,
) -> SafeString:
    """A line per series over the labels (days); ``top`` fixes the axis (100 for shares)."""
    peak = max((v for s in series for v in s.values), default=0)
    top = top or _nice_max(peak)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (width - LEFT - RIGHT) / max(len(labels), 1)
    paths = []
    for s in series:
        points = [
            (LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * v / top)
            for i, v in enumerate(s.values)
        ]
        joined = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        paths.append(
            format_html('<polyline class="{} chart-line" points="{}"></polyline>', s.css, joined)
        )
        paths += [
            format_html(
                '<circle class="{}" cx="{}" cy="{}" r="3"></circle>', s.css, f"{x:.1f}", f"{y:.1f}"
            )
            for x, y in points
        ]
    every = max(1, round(len(labels) * 80 / width))
    body = format_html("{}{}", _axis(top, labels, every, width), mark_safe("".join(paths)))  # noqa: S308
    return _frame(title, desc, body, width)


def hbars(
    title: str, desc: str, items: Sequence[tuple[str, float]], *, width: int = WIDTH
) -> SafeString:
    """One horizontal bar per item, its label and value written beside it."""
    row_h, label_w = 28, width * 3 // 8
    longest = label_w // 7
    height = max(len(items), 1) * row_h + 8
    top = _nice_max(max((v for _l, v in items), default=0))
    span = width - label_w - 60
    rows = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        w = span * value / top
        rows.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect class="series-1" x="{}" y="{}" width="{}" height="{}"></rect>'
                '<text class="chart-label" x="{}" y="{}">{}</text>',
                label_w - 8,
                y + 18,
                label if len(label) <= longest else label[: longest - 1] + "…",
                label_w,
                y + 4,
                f"{w:.1f}",
                row_h - 10,
                f"{label_w + w + 6:.1f}",
                y + 18,
                f"{value:,.0f}",
            )
        )
    n = next(_ids)
    return format_html(
        '<svg class="chart chart-h" role="img" viewBox="0 0 {} {}" aria-labelledby="chart-{}-t '
        'chart-{}-d" focusable="false"><title id="chart-{}-t">{}</title>'
        '<desc id="chart-{}-d">{}</desc>{}</svg>',
        width,
        height,
        n,
        n,
        n,
        title,
        n,
        desc,
        mark_safe("".join(rows)),  # noqa: S308 - each row built by format_html
    )
