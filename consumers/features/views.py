"""A bound view made runnable: its ``Aggregator`` and the function that turns a delivered
record into a ``FeatureEvent`` (pure; errors name the field)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from consumers.features.binding import BoundView
from consumers.features.definition import KEY
from consumers.features.windows import AggregationDef, Aggregator, FeatureEvent

Getter = Callable[[str | None, dict[str, Any]], Any]


class BadEvent(ValueError):
    """A delivered record a view cannot use (missing entity or event time)."""


def _plain(value: Any) -> Any:
    # Timestamps become epoch milliseconds: JSON-able and orderable like the rest.
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def getter(path: str) -> Getter:
    """Read ``path`` (dotted, or $key) from (key, record); None where anything is missing."""
    if path == KEY:
        return lambda key, record: key
    parts = path.split(".")
    if len(parts) == 1:
        name = parts[0]
        return lambda key, record: _plain(record.get(name))

    def nested(key: str | None, record: dict[str, Any]) -> Any:
        node: Any = record
        for part in parts:
            if not isinstance(node, dict):
                return None
            node = node.get(part)
        return _plain(node)

    return nested


@dataclass
class ViewRuntime:
    view: BoundView
    aggregator: Aggregator
    extract: Callable[[str | None, dict[str, Any]], FeatureEvent]


def build_runtime(view: BoundView) -> ViewRuntime:
    d = view.definition
    aggregator = Aggregator(
        d.name,
        d.window.size,
        d.window.step,
        d.allowed_lateness,
        d.k,
        [AggregationDef(a.name, a.fn, a.field is not None) for a in d.aggregations],
    )
    entity_of, time_of, contributor_of = (
        getter(d.entity.field),
        getter(d.event_time),
        getter(d.contributor),
    )
    values_of = tuple(getter(a.field) if a.field else None for a in d.aggregations)
    entity_path, time_path = d.entity.field, d.event_time

    def extract(key: str | None, record: dict[str, Any]) -> FeatureEvent:
        entity = entity_of(key, record)
        if entity is None:
            raise BadEvent(f"{d.name}: entity {entity_path} is missing")
        t = time_of(key, record)
        if not isinstance(t, int):
            raise BadEvent(f"{d.name}: event time {time_path} is missing")
        contributor = contributor_of(key, record)
        values = tuple(None if g is None else g(key, record) for g in values_of)
        return FeatureEvent(
            str(entity), t, None if contributor is None else str(contributor), values
        )

    return ViewRuntime(view, aggregator, extract)
