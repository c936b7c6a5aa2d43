"""Aggregation functions over the events of one window, as plain, JSON-able state.

Each function is a triple: ``init() -> state``, ``add(state, value, time_ms) -> state``,
``result(state) -> feature value``. Nulls are skipped (a missing measurement is no zero);
``count`` without a field counts events. ``last`` is the value with the latest event time, ties
broken by the value itself, so the order of arrival never changes a result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

State = Any


@dataclass(frozen=True, slots=True)
class AggregationFunction:
    name: str
    init: Callable[[], State]
    add: Callable[[State, Any, int], State]
    result: Callable[[State], Any]
    # JSON form for the changelog (sets become sorted lists)
    dump: Callable[[State], Any] = lambda s: s
    load: Callable[[Any], State] = lambda s: s


def _count_add(state: int, value: Any, t: int) -> int:
    return state + 1


def _sum_add(state: float, value: Any, t: int) -> float:
    return state if value is None else state + value


def _mean_add(state: list, value: Any, t: int) -> list:
    if value is None:
        return state
    return [state[0] + value, state[1] + 1]


def _mean_result(state: list) -> float | None:
    return state[0] / state[1] if state[1] else None


def _min_add(state: Any, value: Any, t: int) -> Any:
    if value is None:
        return state
    return value if state is None or value < state else state


def _max_add(state: Any, value: Any, t: int) -> Any:
    if value is None:
        return state
    return value if state is None or value > state else state


def _distinct_add(state: set, value: Any, t: int) -> set:
    if value is not None:
        state.add(value)
    return state


def _order(value: Any) -> tuple[str, str]:
    return (type(value).__name__, repr(value))


def _last_add(state: list | None, value: Any, t: int) -> list | None:
    if value is None:
        return state
    if state is None or t > state[0] or (t == state[0] and _order(value) > _order(state[1])):
        return [t, value]
    return state


def _sorted(values: set) -> list:
    return sorted(values, key=_order)


FUNCTIONS: dict[str, AggregationFunction] = {
    "count": AggregationFunction("count", lambda: 0, _count_add, lambda s: s),
    "sum": AggregationFunction("sum", lambda: 0, _sum_add, lambda s: s),
    "mean": AggregationFunction("mean", lambda: [0, 0], _mean_add, _mean_result),
    "min": AggregationFunction("min", lambda: None, _min_add, lambda s: s),
    "max": AggregationFunction("max", lambda: None, _max_add, lambda s: s),
    "distinct_count": AggregationFunction(
        "distinct_count", set, _distinct_add, len, dump=_sorted, load=set
    ),
    "last": AggregationFunction(
        "last", lambda: None, _last_add, lambda s: None if s is None else s[1]
    ),
}


def count_field_add(state: int, value: Any, t: int) -> int:
    """``count`` over a field: events where the field has a value."""
    return state if value is None else state + 1
