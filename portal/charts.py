"""Deliveries per day as an SVG bar chart; the page shows the same numbers as a table (the text
alternative), so the chart is decoration for those who see it. Pure."""

from __future__ import annotations

import datetime as dt
from html import escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 180, 48, 28, 12


def _nice_max(value: int) -> int:
    """The axis end: 1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def bar_chart(series: list[tuple[dt.date, int]], *, title: str, chart_id: str) -> str:
    """An accessible SVG (``role="img"`` with a title and a summary in its description)."""
    top = _nice_max(max((n for _, n in series), default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(len(series), 1)
    total = sum(n for _, n in series)
    summary = (
        f"{total} Lieferungen an {len(series)} Tagen vom {series[0][0]:%d.%m.%Y} bis "
        f"{series[-1][0]:%d.%m.%Y}; höchster Tageswert {max(n for _, n in series)}."
        if series
        else "Keine Lieferungen."
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{chart_id}-t {chart_id}-d">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(summary)}</desc>'
    ]
    for frac in (0, 0.5, 1):
        y = PAD_TOP + plot_h * (1 - frac)
        out.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{top * frac:g}".replace(".", ",")
            + "</text>"
        )
    for i, (day, n) in enumerate(series):
        h = plot_h * n / top
        x = PAD_LEFT + i * slot + slot * 0.15
        out.append(
            f'<rect class="bar" x="{x:.1f}" y="{PAD_TOP + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}"/>'
        )
        if len(series) <= 14 or i % 7 == len(series) % 7 - 1 or i == len(series) - 1:
            out.append(
                f'<text class="axis" x="{x + slot * 0.35:.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{day:%d.%m.}</text>'
            )
    out.append("</svg>")
    return "".join(out)
