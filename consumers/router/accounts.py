"""What the router writes beside its deliveries in each transaction, besides audit records:
receipts (``hub.receipts``), daily quality summaries (``hub.quality``) and the agreement
versions it applies (``hub.agreements``). Pure: the service frames, sends and commits.

Quality summaries are cumulative per data set, day and source partition. ``QualityLedger``
holds them as of the last committed batch; a batch *stages* its summaries on top and the
router *applies* them only after the transaction committed, so an aborted batch, read again,
is counted once. Duplicate ``ce_id``s are found in a window of the last fingerprints per
partition (two generations of at most ``window`` each): a producer's retry is seconds apart,
not days. The window starts empty after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from consumers.router.process import Measured, ReceiptPart
from consumers.router.routes import RoutingTable
from hub.quality.summary import Figures, day_of, from_record, summary_key, to_record
from hub.receipts import (
    decode_entries,
    encode_entries,
    encode_entry,
    encode_receipt,
    receipt_header,
)

WINDOW = 100_000  # ce_id fingerprints per partition and generation


def receipt_bodies(part: ReceiptPart, table: RoutingTable, recorded_at: datetime) -> list[bytes]:
    """The ``DeliveryReceipt`` records (schemaless Avro) of a part, entries in offset order,
    each within a Kafka batch; none when its agreement is no longer in the table (cannot
    happen between routing and commit)."""
    route = table.route(part.agreement_id)
    source = table.sources.get(part.source_topic)
    if route is None or source is None:
        return []
    if not part.ordered:
        entries = sorted(
            (e for n, items in part.chunks for e in decode_entries(n, items)),
            key=lambda e: e["offset"],
        )
        part = ReceiptPart(part.agreement_id, part.source_topic, part.partition)
        for e in entries:
            part.chunks.append(
                (1, encode_entry(e["offset"], _millis(e["event_time"]), e["hashes"]))
            )
    agreement = route.compiled.agreement
    header = receipt_header(
        agreement_id=agreement.id,
        agreement_hash=route.compiled.content_hash,
        subscriber=agreement.subscriber,
        source_topic=part.source_topic,
        source_partition=part.partition,
        delivery_topic=route.topic,
        identifier_paths=[i.path for i in source.identifiers],
        recorded_at=recorded_at,
    )
    return [encode_receipt(header, encode_entries(n, items)) for n, items in part.records()]


def _millis(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return (delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds) // 1000


@dataclass
class _Window:
    """The specification of ``hub_core.SeenIds``, which the ledger uses where it is built."""

    limit: int
    current: set[int] = field(default_factory=set)
    previous: set[int] = field(default_factory=set)

    def duplicates(self, ids: list[int]) -> tuple[int, set[int]]:
        """How many of ``ids`` were seen (before or within them), and the new ones."""
        unique = set(ids)
        new = unique - self.current - self.previous
        return len(ids) - len(new), new

    def admit(self, new: set[int]) -> None:
        """The batch that found ``new`` committed: remember them; a full generation turns over."""
        self.current |= new
        if len(self.current) > self.limit:
            self.previous, self.current = self.current, set()


def _window_type() -> Callable[[int], Any]:
    """The native window if the core is built (set operations per event, off Python)."""
    try:
        from hub_core import SeenIds
    except ImportError:
        return _Window
    return SeenIds


@dataclass
class Staged:
    """A batch's summaries, to write in its transaction and to apply once it committed."""

    records: list[tuple[bytes, dict[str, Any]]]
    state: dict[tuple[str, str, int], Figures]
    seen: dict[tuple[str, int], Any]  # the new fingerprints, for ``admit``
    added: dict[str, Figures]  # per data set: what this batch adds (for the counters)


class QualityLedger:
    def __init__(self, window: int = WINDOW, *, native: bool = True) -> None:
        self.window = window
        self.state: dict[tuple[str, str, int], Figures] = {}
        self._windows: dict[tuple[str, int], Any] = {}
        self._new_window = _window_type() if native else _Window

    def restore(self, records: Iterable[Mapping[str, Any]]) -> None:
        """The summaries of ``hub.quality`` (read to its end; the last per key holds)."""
        for r in records:
            self.state[(r["dataset"], r["day"], r["partition"])] = from_record(r)

    def stage(self, quality: Mapping[tuple[str, int], Measured], now: datetime) -> Staged:
        records: list[tuple[bytes, dict[str, Any]]] = []
        state: dict[tuple[str, str, int], Figures] = {}
        seen: dict[tuple[str, int], Any] = {}
        added: dict[str, Figures] = {}
        for (topic, partition), measured in quality.items():
            batch = Figures()
            batch.add(measured.figures)
            window = self._window((topic, partition))
            batch.duplicates, seen[(topic, partition)] = window.duplicates(measured.ids)
            day = day_of(measured.last_timestamp)
            key = (topic, day, partition)
            total = Figures()
            total.add(state.get(key) or self.state.get(key) or Figures())
            total.add(batch)
            state[key] = total
            added.setdefault(topic, Figures()).add(batch)
            records.append(
                (summary_key(topic, day, partition), to_record(topic, day, partition, total, now))
            )
        return Staged(records, state, seen, added)

    def apply(self, staged: Staged) -> None:
        """The staged batch committed: its summaries and fingerprints hold."""
        self.state.update(staged.state)
        for where, new in staged.seen.items():
            self._window(where).admit(new)

    def _window(self, where: tuple[str, int]) -> Any:
        window = self._windows.get(where)
        if window is None:
            window = self._windows[where] = self._new_window(self.window)
        return window
