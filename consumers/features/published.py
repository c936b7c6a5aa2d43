"""What the feature pipeline has published, read back from ``hub.features.<view>``: windows per
view and entity, and an entity worth looking up (``hub demo`` ends with it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import orjson

from hub.kafka import KafkaSecurity
from hub.topics import read_snapshot


async def published_windows(
    bootstrap: str,
    views: Iterable[str],
    prefix: str,
    *,
    security: KafkaSecurity,
) -> dict[str, Counter[str]]:
    """Published windows per view, counted by entity value (committed records only)."""
    out: dict[str, Counter[str]] = {}
    for view in views:
        counts: Counter[str] = Counter()
        for record in await read_snapshot(bootstrap, f"{prefix}{view}", security=security):
            try:
                counts[str(orjson.loads(record.value)["entity"])] += 1
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue  # not a window result: nothing to suggest from it
        out[view] = counts
    return out


def suggest_entity(
    windows: Mapping[str, Counter[str]], entity_of: Mapping[str, str]
) -> tuple[str, str] | None:
    """(entity name, value) with values in the most views of its entity, then the most windows:
    what ``hub features get <name>=<value>`` shows best. None when nothing was published."""
    scores: Counter[tuple[str, str]] = Counter()
    views: Counter[tuple[str, str]] = Counter()
    for view, counts in windows.items():
        name = entity_of.get(view)
        if name is None:
            continue
        for value, n in counts.items():
            views[(name, value)] += 1
            scores[(name, value)] += n
    if not scores:
        return None
    return max(scores, key=lambda key: (views[key], scores[key], key))
