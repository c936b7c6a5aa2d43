"""Charts as SVG: counts per day as bars, shares per day as a line, a sparkline for a table row,
and a forecast beside what was published. Each page shows the same numbers as a table (the text
alternative), so a chart is decoration for those who see it. Pure."""

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


def _axis_number(value: float) -> str:
    # Only the label gets a decimal comma: a coordinate with one is no coordinate.
    return f"{value:g}".replace(".", ",")


def bar_chart(
    series: list[tuple[dt.date, int]], *, title: str, chart_id: str, what: str = "Lieferungen"
) -> str:
    """An accessible SVG (``role="img"`` with a title and a summary in its description);
    ``what`` names the counted things in the summary."""
    top = _nice_max(max((n for _, n in series), default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(len(series), 1)
    total = sum(n for _, n in series)
    summary = (
        f"{total} {what} an {len(series)} Tagen vom {series[0][0]:%d.%m.%Y} bis "
        f"{series[-1][0]:%d.%m.%Y}; höchster Tageswert {max(n for _, n in series)}."
        if series
        else f"Keine {what}."
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
            + _axis_number(top * frac)
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


def _percent(value: float) -> str:
    return f"{value * 100:.1f}".replace(".", ",") + " %"


def _svg_open(chart_id: str, title: str, summary: str, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="{chart_id}-t {chart_id}-d">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(summary)}</desc>'
    )


def _nice_share(value: float) -> float:
    """The axis end of a share: the next of 1 %, 2 %, 5 %, 10 %, 20 %, 50 %, 100 % (or more)."""
    for top in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0):
        if value <= top:
            return top
    return float(_nice_max(int(value + 0.999)))


def line_chart(
    series: list[tuple[dt.date, float | None]], *, title: str, chart_id: str, what: str
) -> str:
    """Shares per day (0.2 = 20 %) as a line with a dot a day; a day without a value (nothing
    to divide by) leaves a gap, never a zero."""
    known = [v for _, v in series if v is not None]
    top = _nice_share(max(known, default=0.0))
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(len(series), 1)
    summary = (
        f"{what} an {len(known)} Tagen vom {series[0][0]:%d.%m.%Y} bis {series[-1][0]:%d.%m.%Y}; "
        f"höchster Wert {_percent(max(known))}, zuletzt {_percent(known[-1])}."
        if known
        else f"Keine Werte für {what}."
    )
    out = [_svg_open(chart_id, title, summary)]
    for frac in (0, 0.5, 1):
        y = PAD_TOP + plot_h * (1 - frac)
        out.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_percent(top * frac))}</text>"
        )
    points: list[list[tuple[float, float]]] = [[]]
    for i, (day, value) in enumerate(series):
        x = PAD_LEFT + i * slot + slot / 2
        if value is None:
            points.append([])
        else:
            points[-1].append((x, PAD_TOP + plot_h * (1 - min(value / top, 1.0))))
        if len(series) <= 14 or i % 7 == len(series) % 7 - 1 or i == len(series) - 1:
            out.append(
                f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{day:%d.%m.}</text>"
            )
    for run in points:
        if len(run) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            out.append(f'<polyline class="line" points="{path}"/>')
        for x, y in run:
            out.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"/>')
    out.append("</svg>")
    return "".join(out)


def sparkline(values: list[float | None], *, width: int = 120, height: int = 28) -> str:
    """A small line for a table row, hidden from assistive technology: the row's cells hold the
    same numbers."""
    known = [v for v in values if v is not None]
    top = max(known, default=0.0) or 1.0
    step = width / max(len(values) - 1, 1)
    runs: list[list[str]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            runs.append([])
            continue
        y = 2 + (height - 4) * (1 - value / top)
        runs[-1].append(f"{i * step:.1f},{y:.1f}")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-hidden="true" focusable="false">'
    ]
    for run in runs:
        if len(run) > 1:
            out.append(f'<polyline points="{" ".join(run)}"/>')
        elif run:
            x, y = run[0].split(",")
            out.append(f'<circle cx="{x}" cy="{y}" r="2"/>')
    out.append("</svg>")
    return "".join(out)


def forecast_chart(
    actual: list[tuple[dt.datetime, float | None]],
    forecast: list[tuple[dt.datetime, float, float, float]],
    *,
    title: str,
    chart_id: str,
    tz: dt.tzinfo,
) -> str:
    """What was published (bars, a gap where nothing was) and the forecast after it (a line in
    its band), on one time axis of equal steps."""
    steps = [t for t, _ in actual] + [t for t, *_ in forecast]
    highest = max([v for _, v in actual if v is not None] + [h for *_, h in forecast], default=0.0)
    top = _nice_max(int(highest + 0.999))
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(len(steps), 1)
    published = [v for _, v in actual if v is not None]
    summary = (
        f"{len(published)} veröffentlichte Werte"
        + (f" bis {actual[-1][0].astimezone(tz):%d.%m. %H} Uhr" if actual else "")
        + (
            f"; Prognose für {len(forecast)} Schritte ab "
            f"{forecast[0][0].astimezone(tz):%d.%m. %H} Uhr, zusammen "
            f"{sum(v for _, v, _, _ in forecast):.0f}."
            if forecast
            else "; keine Prognose."
        )
    )
    out = [_svg_open(chart_id, title, summary)]
    for frac in (0, 0.5, 1):
        y = PAD_TOP + plot_h * (1 - frac)
        out.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            + _axis_number(top * frac)
            + "</text>"
        )

    def y_of(value: float) -> float:
        return PAD_TOP + plot_h * (1 - min(value / top, 1.0))

    for i, (_, value) in enumerate(actual):
        if value is None:
            continue
        x = PAD_LEFT + i * slot + slot * 0.15
        out.append(
            f'<rect class="bar" x="{x:.1f}" y="{y_of(value):.1f}" width="{slot * 0.7:.1f}" '
            f'height="{PAD_TOP + plot_h - y_of(value):.1f}"/>'
        )
    if forecast:
        xs = [PAD_LEFT + (len(actual) + i) * slot + slot / 2 for i in range(len(forecast))]
        upper = [f"{x:.1f},{y_of(h):.1f}" for x, (*_, h) in zip(xs, forecast, strict=True)]
        lower = [f"{x:.1f},{y_of(lo):.1f}" for x, (_, _, lo, _) in zip(xs, forecast, strict=True)]
        out.append(f'<polygon class="band" points="{" ".join(upper + lower[::-1])}"/>')
        line = " ".join(
            f"{x:.1f},{y_of(v):.1f}" for x, (_, v, _, _) in zip(xs, forecast, strict=True)
        )
        out.append(f'<polyline class="line forecast" points="{line}"/>')
        split = PAD_LEFT + len(actual) * slot
        out.append(
            f'<line class="now" x1="{split:.1f}" x2="{split:.1f}" y1="{PAD_TOP}" '
            f'y2="{PAD_TOP + plot_h}"/>'
        )
    every = max(1, len(steps) // 8)
    for i, t in enumerate(steps):
        if i % every == 0:
            x = PAD_LEFT + i * slot + slot / 2
            out.append(
                f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{t.astimezone(tz):%H} Uhr</text>"
            )
    out.append("</svg>")
    return "".join(out)
