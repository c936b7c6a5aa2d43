"""The pipeline's state as records of a compacted changelog topic (no local database).

Key ``["w", view, entity, window_start]`` → the window's state; a closed window gets a
tombstone, so compaction forgets it. Key ``["m", view]`` → the view's watermark and the latest
event time per input partition. Each state carries the fingerprint of the view's window and
aggregations: state written under another definition is not mixed into the new one (it is
discarded and reported).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from consumers.features.windows import Aggregator, WindowState

Record = tuple[bytes, bytes | None]


def fingerprint(agg: Aggregator) -> str:
    spec = [
        agg.size,
        agg.slide,
        agg.lateness,
        agg.k,
        [(a.name, a.fn, a.has_field) for a in agg.aggregations],
    ]
    return hashlib.sha256(orjson.dumps(spec)).hexdigest()[:12]


def window_key(view: str, entity: str, start: int) -> bytes:
    return orjson.dumps(["w", view, entity, start])


def watermark_key(view: str) -> bytes:
    return orjson.dumps(["m", view])


def encode_state(agg: Aggregator, state: WindowState, fp: str) -> bytes:
    return orjson.dumps(
        {"f": fp, "n": state.events, "c": sorted(state.contributors), "a": agg.dump_accs(state)}
    )


def changes(agg: Aggregator, fp: str) -> list[Record]:
    """Changelog records for what changed in ``agg`` since the last call."""
    out: list[Record] = []
    for (entity, start), state in sorted(agg.take_changes().items()):
        value = None if state is None else encode_state(agg, state, fp)
        out.append((window_key(agg.view, entity, start), value))
    if agg.watermark_moved and agg.watermark is not None:
        marks = {str(p): t for p, t in sorted(agg.marks.items())}
        out.append(
            (watermark_key(agg.view), orjson.dumps({"f": fp, "wm": agg.watermark, "p": marks}))
        )
        agg.watermark_moved = False
    return out


@dataclass
class Restored:
    windows: int = 0
    discarded: list[str] = field(default_factory=list)  # why, one line each


def restore(records: Iterable[Record], aggregators: dict[str, Aggregator]) -> Restored:
    """Fold the changelog (last value per key wins, tombstones delete) into ``aggregators``."""
    latest: dict[bytes, bytes | None] = {}
    for key, value in records:
        latest[key] = value
    report = Restored()
    fps = {view: fingerprint(agg) for view, agg in aggregators.items()}
    for raw_key, raw_value in latest.items():
        if raw_value is None:
            continue
        try:
            key: list[Any] = orjson.loads(raw_key)
            value: dict[str, Any] = orjson.loads(raw_value)
            view = key[1]
            agg = aggregators.get(view)
            if agg is None:
                report.discarded.append(f"{raw_key!r}: view {view!r} is no longer defined")
                continue
            if value.get("f") != fps[view]:
                report.discarded.append(f"{raw_key!r}: written under another definition of {view}")
                continue
            if key[0] == "m":
                wm = int(value["wm"])
                if agg.watermark is None or wm > agg.watermark:
                    agg.watermark = wm
                for p, t in value.get("p", {}).items():
                    agg.marks[int(p)] = max(int(t), agg.marks.get(int(p), int(t)))
                continue
            state = WindowState(agg.load_accs(value["a"]), set(value["c"]), int(value["n"]))
            agg.put(str(key[2]), int(key[3]), state)
            report.windows += 1
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError) as exc:
            report.discarded.append(f"{raw_key!r}: unreadable state: {exc}")
    for agg in aggregators.values():
        agg.dirty = set()
        agg.watermark_moved = False
    return report
