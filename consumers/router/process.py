"""The router's pure core: one batch of one source partition in, deliveries, dead letters and
audit records out. No I/O, no clock, no metrics: the service owns those.

Per event: decode once (into the schema the agreements were compiled against), then for every
active agreement on the topic: filter, transform (deny by default), encode. A failure affects
only what it touches: undecodable bytes dead-letter the event, a failing transform dead-letters
the event for that one agreement while the others still deliver.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from consumers.router.audit import audit_record
from consumers.router.deadletter import DeadLetter, dead_letter_headers
from consumers.router.routes import SourceRoutes
from hub.quality.summary import Figures, fingerprint
from hub.receipts import encode_entry, event_millis, identifier_hash
from hub.serde import AvroSerde, SerdeError

# Envelope headers that pass through to subscribers; anything else a producer set stays behind
# (deny by default for headers too: ce_subject, say, may well carry an entity id).
PASSTHROUGH_HEADERS = frozenset(
    {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"}
)
AGREEMENT_HEADER = "ce_hubagreement"
DELIVERY_HEADER = "ce_hubdelivery"
QUALITY_HEADER = "ce_hubquality"  # the flag rules an event breaks, comma-separated
ID_HEADER = "ce_id"
EVENT_TIME_FIELD = "occurred_at"
# The producer's batch size; one delivery must fit a batch with room for its headers.
MAX_BATCH_BYTES = 512 * 1024  # below the broker's default message.max.bytes (1 MB)
MAX_DELIVERY_BYTES = MAX_BATCH_BYTES - 64 * 1024


class Event(Protocol):
    """What the router needs of a Kafka record (``kafka.Record`` and aiokafka's ConsumerRecord
    have it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp: int


@dataclass(frozen=True, slots=True)
class Record:
    """An ``Event`` not read from Kafka: a replayed dead letter, a record in a worker."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp: int


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an event first arrived; for replayed dead letters it differs from the record's."""

    topic: str
    partition: int
    offset: int


Delivery = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]  # topic, key, value, headers
DeadLetterRecord = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


@dataclass(frozen=True)
class Accounting:
    """What the router records beside its deliveries: receipts (under ``receipts_key``; None:
    none) and, when ``measure``, the quality figures of the events (late: event time more than
    ``late_after_us`` behind arrival)."""

    receipts_key: bytes | None = None
    measure: bool = True
    late_after_us: int = 3_600_000_000


RECEIPT_CHUNK_BYTES = 256 * 1024  # entries of one receipt record: well within a Kafka batch


@dataclass
class ReceiptPart:
    """The receipt of one agreement for one source partition: chunks of encoded entries.

    ``ordered`` turns False once a chunk starts below the offsets already in (an event the
    native core handed back, spliced in later); the router then sorts the entries before it
    writes the receipt, so both engines write the same receipt."""

    agreement_id: str
    source_topic: str
    partition: int
    chunks: list[tuple[int, bytes]] = field(default_factory=list)  # (entries, their bytes)
    first_offset: int = -1
    last_offset: int = -1
    ordered: bool = True

    @property
    def count(self) -> int:
        return sum(n for n, _ in self.chunks)

    def add(self, count: int, items: bytes, first_offset: int, last_offset: int) -> None:
        if not count:
            return
        if self.chunks:
            self.ordered = self.ordered and first_offset > self.last_offset
            self.first_offset = min(self.first_offset, first_offset)
        else:
            self.first_offset = first_offset
        self.chunks.append((count, items))
        self.last_offset = max(self.last_offset, last_offset)

    def merge(self, other: ReceiptPart) -> None:
        if other.chunks:
            ordered = self.ordered and other.ordered
            if self.chunks:
                ordered = ordered and other.first_offset > self.last_offset
                self.first_offset = min(self.first_offset, other.first_offset)
            else:
                self.first_offset = other.first_offset
            self.ordered = ordered
            self.chunks += other.chunks
            self.last_offset = max(self.last_offset, other.last_offset)

    def records(self, limit: int = RECEIPT_CHUNK_BYTES) -> list[tuple[int, bytes]]:
        """The entries packed into records of at most ``limit`` bytes of entries each (one
        entry larger than that is a record of its own)."""
        out: list[tuple[int, bytes]] = []
        count, parts, size = 0, [], 0
        for n, items in self.chunks:
            if parts and size + len(items) > limit:
                out.append((count, b"".join(parts)))
                count, parts, size = 0, [], 0
            count += n
            parts.append(items)
            size += len(items)
        if parts:
            out.append((count, b"".join(parts)))
        return out


@dataclass
class Measured:
    """Quality figures of one source partition's events in a batch, and their ce_ids."""

    figures: Figures = field(default_factory=Figures)
    ids: list[int] = field(default_factory=list)  # fingerprints, for the duplicate window
    last_timestamp: int = 0  # ms, of the last event: the batch counts on its arrival day

    def merge(self, other: Measured) -> None:
        self.figures.add(other.figures)
        self.ids += other.ids
        self.last_timestamp = max(self.last_timestamp, other.last_timestamp)


@dataclass
class Outcome:
    deliveries: list[Delivery] = field(default_factory=list)
    # the native core's deliveries, kept in Rust until produced (hub_core.Deliveries)
    batches: list[Any] = field(default_factory=list)
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    event_times: list[float] = field(default_factory=list)  # epoch s, per delivered event
    delivered: Counter[str] = field(default_factory=Counter)  # by agreement id
    filtered: Counter[str] = field(default_factory=Counter)
    dead: Counter[str] = field(default_factory=Counter)  # by error class
    events: int = 0
    # offsets looked at, by (source topic, partition): what the audit records' ranges cover
    ranges: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    # by (agreement id, source topic, partition)
    receipts: dict[tuple[str, str, int], ReceiptPart] = field(default_factory=dict)
    quality: dict[tuple[str, int], Measured] = field(default_factory=dict)  # by source partition

    def all_deliveries(self) -> list[Delivery]:
        """Every delivery as a record: the Python engine's, then the core's batches."""
        return [*self.deliveries, *(d for batch in self.batches for d in batch.to_list())]

    def merge(self, other: Outcome) -> None:
        """Add ``other`` (a later slice of events); audit records of one agreement and source
        partition become one, over the joint offset range."""
        self.deliveries += other.deliveries
        self.batches += other.batches
        self.dead_letters += other.dead_letters
        for where, (low, high) in other.ranges.items():
            seen = self.ranges.get(where)
            self.ranges[where] = (
                (low, high) if seen is None else (min(seen[0], low), max(seen[1], high))
            )
        if self.audit or other.audit:
            self.audit = merge_audit([*self.audit, *other.audit], self.ranges)
        self.event_times += other.event_times
        for where, part in other.receipts.items():
            mine = self.receipts.get(where)
            if mine is None:
                self.receipts[where] = part
            else:
                mine.merge(part)
        for where, measured in other.quality.items():
            mine_q = self.quality.get(where)
            if mine_q is None:
                self.quality[where] = measured
            else:
                mine_q.merge(measured)
        self.delivered.update(other.delivered)
        self.filtered.update(other.filtered)
        self.dead.update(other.dead)
        self.events += other.events


def merge_audit(
    records: list[dict[str, Any]], ranges: dict[tuple[str, int], tuple[int, int]]
) -> list[dict[str, Any]]:
    """Audit records of several slices, one per (agreement, source partition, replayed), each
    over every offset looked at in its partition (as one pass over all slices would say)."""
    merged: dict[tuple, dict[str, Any]] = {}
    for record in records:
        key = (
            record["agreement_id"],
            record["source_topic"],
            record["source_partition"],
            record["replayed"],
        )
        seen = merged.get(key)
        if seen is None:
            merged[key] = dict(record)
            continue
        seen["delivered"] += record["delivered"]
        seen["filtered"] += record["filtered"]
    for record in merged.values():
        span = ranges.get((record["source_topic"], record["source_partition"]))
        if span is not None:
            record["first_offset"], record["last_offset"] = span
    return list(merged.values())


def _event_seconds(record: Any, event: Event) -> float:
    value = record.get(EVENT_TIME_FIELD) if isinstance(record, dict) else None
    if isinstance(value, datetime):
        return value.timestamp()
    return event.timestamp / 1000.0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _late(record: Any, event: Event, late_after_us: int) -> bool:
    """Event time (an aware ``occurred_at``) more than ``late_after_us`` behind arrival."""
    value = record.get(EVENT_TIME_FIELD) if isinstance(record, dict) else None
    if not isinstance(value, datetime) or value.tzinfo is None:
        return False
    d = value - _EPOCH
    micros = d.days * 86_400_000_000 + d.seconds * 1_000_000 + d.microseconds
    return event.timestamp * 1000 - micros > late_after_us


def _measure_headers(event: Event, figures: Figures, ids: list[int]) -> None:
    """The event's ce_id fingerprint and flagged rules (the last header of each name)."""
    ce_id = flags = None
    for name, value in event.headers:
        if name == ID_HEADER:
            ce_id = value
        elif name == QUALITY_HEADER:
            flags = value
    if ce_id is not None:
        ids.append(fingerprint(ce_id))
    if flags:
        for rule in flags.decode("utf-8", "replace").split(","):
            figures.flagged[rule] += 1


def route_events(
    source: SourceRoutes,
    events: Iterable[tuple[Event, Origin | Event]],
    serde: AvroSerde,
    now: datetime,
    router: str,
    *,
    only_agreement: str | None = None,
    replayed: bool = False,
    event_errors: bool = True,
    timed: frozenset[int] = frozenset(),
    accounting: Accounting | None = None,
) -> Outcome:
    """Apply every active agreement of ``source`` to ``events`` (all from one partition).

    Each event comes with its origin (topic, partition, offset): the record itself when it was
    read from the source topic, the recorded origin when a dead letter is replayed.

    When the native core routes the other agreements of the topic (``consumers.router.engine``)
    the event is the core's to dead-letter if it does not decode (``event_errors=False``), and
    the offsets in ``timed`` already have their event time.

    ``accounting``: receipts of the deliveries and quality figures of the events (see
    ``Accounting``); None: neither.
    """
    out = Outcome()
    receipts_key = accounting.receipts_key if accounting else None
    identifiers = source.identifiers if receipts_key is not None else ()
    measuring = accounting is not None and accounting.measure
    optional = source.optional if measuring else ()
    late_after = accounting.late_after_us if accounting else 0
    measured: Measured | None = None
    receipts = out.receipts
    routes = [
        r
        for r in source.routes
        if r.compiled.is_active(now)
        and (only_agreement is None or r.agreement_id == only_agreement)
    ]
    stamp = now.astimezone(UTC).isoformat(timespec="milliseconds")
    reader = source.reader
    # Everything per agreement is looked up once per batch, not once per event.
    plan = [
        (
            i,
            r.compiled.matches,
            r.compiled.transform,
            r.schema_id,
            r.topic,
            (AGREEMENT_HEADER, r.agreement_id.encode()),
            f"{r.agreement_id}/",
            r.agreement_id,
        )
        for i, r in enumerate(routes)
    ]
    delivered = [0] * len(routes)
    filtered = [0] * len(routes)
    first = last = partition = None
    encode, decode = serde.encode, serde.decode
    deliveries, event_times = out.deliveries, out.event_times

    def dead(event: Event, origin: Origin | Event, error: Exception, agreement: str | None) -> None:
        reason = DeadLetter(
            type(error).__name__,
            str(error),
            origin.topic,
            origin.partition,
            origin.offset,
            agreement,
            router,
            stamp,
        )
        out.dead_letters.append(
            (event.key, event.value, dead_letter_headers(event.headers, reason))
        )
        out.dead[reason.error_class] += 1
        if measured is not None:
            measured.figures.dead_letters += 1

    for event, origin in events:
        out.events += 1
        offset = origin.offset
        if first is None:
            first = last = offset
            partition = origin.partition
        elif offset < first:
            first = offset
        elif offset > last:
            last = offset
        if measuring:
            if measured is None:
                measured = out.quality[(origin.topic, origin.partition)] = Measured()
            measured.figures.events += 1
            measured.last_timestamp = event.timestamp  # the last event's (as in the core)
            _measure_headers(event, measured.figures, measured.ids)
        if event.value is None:
            if event_errors:
                dead(event, origin, EmptyValueError("the event has no value (tombstone)"), None)
            continue
        try:
            record = decode(event.value, reader)
        except SerdeError as error:
            if event_errors:
                dead(event, origin, error, None)
            continue
        if measured is not None:
            figures = measured.figures
            if late_after and _late(record, event, late_after):
                figures.late += 1
            for path, names in optional:
                value: Any = record
                for name in names:
                    value = value.get(name) if isinstance(value, dict) else None
                if value is None:
                    figures.nulls[path] += 1
                else:
                    figures.nulls[path] += 0  # every optional field has a share, also 0
        envelope = [(k, v) for k, v in event.headers if k in PASSTHROUGH_HEADERS]
        delivery_id = f"{origin.topic}/{origin.partition}/{offset}"
        any_delivered = False
        entry: bytes | None = None
        for i, matches, transform, schema_id, topic, agreement_header, prefix, aid in plan:
            try:
                if not matches(record):
                    filtered[i] += 1
                    continue
                key, value = transform(event.key, record)
                data = encode(schema_id, value)
                if len(data) > MAX_DELIVERY_BYTES:
                    raise DeliveryTooLargeError(
                        f"the delivery would be {len(data)} bytes; at most {MAX_DELIVERY_BYTES}"
                    )
            except Exception as error:  # any failure of this agreement: dead-letter, go on
                dead(event, origin, error, aid)
                continue
            headers = [
                *envelope,
                agreement_header,
                (DELIVERY_HEADER, (prefix + delivery_id).encode()),
            ]
            deliveries.append((topic, None if key is None else key.encode(), data, headers))
            delivered[i] += 1
            any_delivered = True
            if identifiers:
                if entry is None:
                    hashes = [
                        identifier_hash(receipts_key, ident.get(record)) for ident in identifiers
                    ]
                    millis = event_millis(record.get(EVENT_TIME_FIELD), event.timestamp)
                    entry = encode_entry(offset, millis, hashes)
                where = (aid, origin.topic, origin.partition)
                part = receipts.get(where)
                if part is None:
                    part = receipts[where] = ReceiptPart(aid, origin.topic, origin.partition)
                part.add(1, entry, offset, offset)
        # one lag sample an event: its deliveries commit together
        if any_delivered and offset not in timed:
            event_times.append(_event_seconds(record, event))

    if first is None:
        return out
    out.ranges[(source.topic, partition)] = (first, last)
    for i, route in enumerate(routes):
        if delivered[i] or filtered[i]:
            out.delivered[route.agreement_id] += delivered[i]
            out.filtered[route.agreement_id] += filtered[i]
            out.audit.append(
                audit_record(
                    route,
                    source.topic,
                    partition,
                    first,
                    last,
                    delivered[i],
                    filtered[i],
                    router,
                    now,
                    replayed,
                )
            )
    return out


class DeliveryTooLargeError(ValueError):
    """A transformed event is larger than a Kafka batch of the router can carry."""


class EmptyValueError(ValueError):
    """A record without a value reached a raw topic, where every record is an event."""
