"""Query parameters of a pull, parsed by hand so a bad one gets a 400 that names it (pure)."""

from __future__ import annotations

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class ParameterError(ValueError):
    """A query parameter is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_limit(raw: str | None) -> int:
    """``limit``: how many deliveries at most, 1..1000, default 100."""
    if raw is None:
        return DEFAULT_LIMIT
    # int() alone would take "1_000", "+5", " 7 " and "٣"; a limit is plain ASCII digits
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise ParameterError("limit", f"expected a whole number 1..{MAX_LIMIT}, got {raw!r}")
    value = int(raw)
    if not 1 <= value <= MAX_LIMIT:
        raise ParameterError("limit", f"must be between 1 and {MAX_LIMIT}, got {value}")
    return value
