"""The k-anonymity gate: a window aggregate counts as anonymous only with at least k distinct
contributors; below that it is not published (the pipeline counts and logs it)."""

from __future__ import annotations

from collections.abc import Iterable

from consumers.features.windows import WindowResult


def passes(result: WindowResult, k: int) -> bool:
    return result.contributors >= k


def gate(results: Iterable[WindowResult], k: int) -> tuple[list[WindowResult], list[WindowResult]]:
    """Split closed windows into (published, suppressed)."""
    published: list[WindowResult] = []
    suppressed: list[WindowResult] = []
    for r in results:
        (published if passes(r, k) else suppressed).append(r)
    return published, suppressed
