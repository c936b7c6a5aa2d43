"""Rejections at the door, asked from Prometheus: the producers (SDK, gateway, connectors) count
what a ``reject`` rule refused as ``hub_publisher_quality_rejected_total{topic,rule}`` on their
own /metrics; those events never reach Kafka, so the router cannot count them.

One instant query a day: ``increase`` over the day in Hamm's calendar, evaluated at its end (or
now, for today). ``increase`` extrapolates between scrapes, so the figures are rounded
estimates; a day before Prometheus' retention answers nothing and is left empty, not zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from consumers.quality.report import REJECTED_METRIC, Rejections
from hub.quality.summary import BERLIN

MAX_DAYS = 62
"""Days asked at most (the newest): Prometheus keeps 15 days by default anyway."""


class PrometheusError(RuntimeError):
    """Prometheus did not answer, or answered something else than a vector."""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Start and end of ``day`` in Hamm (23, 24 or 25 hours long), in UTC."""
    start = datetime.combine(day, time(), BERLIN)
    end = datetime.combine(day + timedelta(days=1), time(), BERLIN)
    return start.astimezone(UTC), end.astimezone(UTC)


def rejection_query(seconds: int) -> str:
    return f"sum by (topic, rule) (increase({REJECTED_METRIC}[{seconds}s]))"


def parse_vector(payload: Any) -> dict[tuple[str, str], float]:
    """``{(topic, rule): value}`` of an instant query's answer (Prometheus HTTP API)."""
    if not isinstance(payload, dict) or payload.get("status") != "success":
        error = payload.get("error") if isinstance(payload, dict) else None
        raise PrometheusError(f"query failed: {error or 'not a Prometheus answer'}")
    data = payload.get("data") or {}
    if data.get("resultType") != "vector":
        raise PrometheusError(f"expected a vector, got {data.get('resultType')!r}")
    out: dict[tuple[str, str], float] = {}
    for item in data.get("result", []):
        metric, value = item.get("metric", {}), item.get("value", [None, "NaN"])
        number = float(value[1])
        if number != number:  # NaN: no samples in the range
            continue
        key = (str(metric.get("topic", "")), str(metric.get("rule", "")))
        out[key] = out.get(key, 0.0) + number
    return out


def fetch_rejections(
    url: str,
    days: Iterable[date],
    *,
    now: datetime | None = None,
    client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> Rejections:
    """Rejections per data set, day and rule from the Prometheus at ``url``; a Prometheus that
    does not answer gives a report without them, and a note that says so."""
    now = now or datetime.now(UTC)
    wanted = sorted(set(days))[-MAX_DAYS:]
    own = client is None
    http = client or httpx.Client(timeout=timeout)
    counts: dict[tuple[str, date], dict[str, int]] = {}
    try:
        for day in wanted:
            start, end = day_bounds(day)
            end = min(end, now)
            seconds = int((end - start).total_seconds())
            if seconds <= 0:
                continue
            params = {"query": rejection_query(seconds), "time": f"{end.timestamp():.3f}"}
            try:
                response = http.get(f"{url.rstrip('/')}/api/v1/query", params=params)
                payload = response.json()
            except (httpx.HTTPError, ValueError) as error:
                raise PrometheusError(f"{type(error).__name__}: {error}") from None
            for (topic, rule), value in parse_vector(payload).items():
                n = round(value)
                if n > 0:
                    counts.setdefault((topic, day), {})[rule] = n
    except PrometheusError as error:
        return Rejections(
            None,
            f"rejected at the door: Prometheus at {url} did not answer ({error}); the producers "
            f"count them as {REJECTED_METRIC} on their /metrics",
        )
    finally:
        if own:
            http.close()
    return Rejections(
        counts,
        f"rejected at the door: from Prometheus at {url} ({REJECTED_METRIC}, increase per day, "
        "rounded)",
    )
