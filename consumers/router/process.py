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
from hub.serde import AvroSerde, SerdeError

# Envelope headers that pass through to subscribers; anything else a producer set stays behind
# (deny by default for headers too: ce_subject, say, may well carry an entity id).
PASSTHROUGH_HEADERS = frozenset(
    {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"}
)
AGREEMENT_HEADER = "ce_hubagreement"
DELIVERY_HEADER = "ce_hubdelivery"
EVENT_TIME_FIELD = "occurred_at"
# The producer's batch size; one delivery must fit a batch with room for its headers.
MAX_BATCH_BYTES = 512 * 1024  # below the broker's default message.max.bytes (1 MB)
MAX_DELIVERY_BYTES = MAX_BATCH_BYTES - 64 * 1024


class Event(Protocol):
    """What the router needs of a Kafka record (aiokafka's ConsumerRecord has it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp: int


@dataclass(frozen=True, slots=True)
class Record:
    """An ``Event`` not read by aiokafka: a replayed dead letter, a record in a worker."""

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


@dataclass
class Outcome:
    deliveries: list[Delivery] = field(default_factory=list)
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    event_times: list[float] = field(default_factory=list)  # epoch s, per delivered event
    delivered: Counter[str] = field(default_factory=Counter)  # by agreement id
    filtered: Counter[str] = field(default_factory=Counter)
    dead: Counter[str] = field(default_factory=Counter)  # by error class
    events: int = 0
    # offsets looked at, by (source topic, partition): what the audit records' ranges cover
    ranges: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)

    def merge(self, other: Outcome) -> None:
        """Add ``other`` (a later slice of events); audit records of one agreement and source
        partition become one, over the joint offset range."""
        self.deliveries += other.deliveries
        self.dead_letters += other.dead_letters
        for where, (low, high) in other.ranges.items():
            seen = self.ranges.get(where)
            self.ranges[where] = (
                (low, high) if seen is None else (min(seen[0], low), max(seen[1], high))
            )
        if self.audit or other.audit:
            self.audit = merge_audit([*self.audit, *other.audit], self.ranges)
        self.event_times += other.event_times
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
) -> Outcome:
    """Apply every active agreement of ``source`` to ``events`` (all from one partition).

    Each event comes with its origin (topic, partition, offset): the record itself when it was
    read from the source topic, the recorded origin when a dead letter is replayed.

    When the native core routes the other agreements of the topic (``consumers.router.engine``)
    the event is the core's to dead-letter if it does not decode (``event_errors=False``), and
    the offsets in ``timed`` already have their event time.
    """
    out = Outcome()
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
        envelope = [(k, v) for k, v in event.headers if k in PASSTHROUGH_HEADERS]
        delivery_id = f"{origin.topic}/{origin.partition}/{offset}"
        any_delivered = False
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
