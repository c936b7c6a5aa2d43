"""Durations as feature definitions write them: ``90s``, ``15m``, ``1h``, ``7d`` (or seconds)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_UNITS_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)\s*$")


def parse_duration_ms(value: Any) -> int:
    """Milliseconds of ``value`` (``"15m"``, ``"1h"``, ``"7d"``, or an int of seconds)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 15m, 1h or 7d, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value}")
        return value * 1_000
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return int(match.group(1)) * _UNITS_MS[match.group(2)]
    raise ValueError(f"expected a duration like 90s, 15m, 1h or 7d, got {value!r}")


def format_duration_ms(ms: int) -> str:
    """The shortest exact spelling of ``ms`` (``3600000`` → ``1h``)."""
    for unit in ("d", "h", "m", "s"):
        size = _UNITS_MS[unit]
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


DurationMs = Annotated[int, BeforeValidator(parse_duration_ms)]
"""A duration field: written as ``1h``, held as milliseconds."""
