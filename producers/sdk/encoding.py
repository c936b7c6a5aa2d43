"""From a record to the bytes, key and headers of one Kafka message: pure, no I/O.

``TopicSchema`` is a topic's registered schema parsed once, with what the hot path needs
pre-computed (schema id, ``ce_type`` bytes, key field, a compiled strict guard).
``encode_event`` is the fast path: the guard and fastavro's encoder; only when either refuses
does the slow validator run to name the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from hub.quality.rules import RuleSet, Violation
from hub.serde import AvroSerde, EncodeError
from producers.sdk import envelope
from producers.sdk.errors import QualityRuleError, RecordValidationError
from producers.sdk.validation import Guard, compile_guard, find_problem

KEY_ATTRIBUTE = "x-key"


@dataclass(frozen=True, eq=False)
class TopicSchema:
    """The registered latest schema of ``<topic>-value``, parsed for encoding and checking.

    ``schema`` and ``parsed`` are the same dict: fastavro's parsed form (full type names,
    named types under ``__named_schemas``; custom attributes such as ``x-key`` kept).
    """

    topic: str
    schema_id: int
    schema: Mapping[str, Any] = field(repr=False)
    parsed: Any = field(repr=False)
    key_field: str | None
    type_header: bytes
    accepts: Guard = field(repr=False)
    quality: RuleSet = field(default_factory=RuleSet, repr=False)
    """The quality rules of this version of the contract (``v<N>.quality.yaml``)."""

    @classmethod
    def register(
        cls,
        serde: AvroSerde,
        topic: str,
        schema_id: int,
        schema: Any,
        quality: RuleSet | None = None,
    ) -> TopicSchema:
        """Add the schema to ``serde`` (parsing it once) and describe it for ``topic``."""
        parsed = serde.add_schema(schema_id, schema)
        definition = parsed.parsed if isinstance(parsed.parsed, Mapping) else {}
        key = definition.get(KEY_ATTRIBUTE)
        return cls(
            topic=topic,
            schema_id=schema_id,
            schema=definition,
            parsed=parsed.parsed,
            key_field=key if isinstance(key, str) else None,
            type_header=envelope.event_type(topic).encode(),
            accepts=compile_guard(definition),
            quality=quality or RuleSet(),
        )


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """One encoded event, ready for ``producer.send``."""

    value: bytes
    key: bytes | None
    headers: envelope.Headers
    event_id: str
    flagged: tuple[str, ...] = ()
    """The ``flag`` quality rules the event breaks (also in its ``ce_hubquality`` header)."""


def as_record(topic: str, record: Any) -> Mapping[str, Any]:
    """The record as the mapping fastavro writes; pydantic models are dumped (by Avro name)."""
    if type(record) is dict:  # the common case, before the slower ABC checks
        return record
    if isinstance(record, BaseModel):
        return record.model_dump(by_alias=True)
    if isinstance(record, Mapping):
        return record
    raise RecordValidationError(
        topic, None, f"expected a mapping or a pydantic model, got {type(record).__name__}"
    )


def validate(schema: TopicSchema, record: Any) -> dict[str, Any]:
    """The record as a dict, checked strictly (types, ranges, enum symbols, unknown fields)."""
    mapping = as_record(schema.topic, record)
    problem = find_problem(schema.parsed, mapping)
    if problem is not None:
        raise RecordValidationError(schema.topic, problem.path, problem.message)
    check_quality(schema, mapping)
    return dict(mapping)


def check_quality(schema: TopicSchema, record: Mapping[str, Any]) -> tuple[str, ...]:
    """The names of the ``flag`` rules ``record`` breaks; QualityRuleError for the first
    ``reject`` rule it breaks (the record must fit the schema already)."""
    if not schema.quality:
        return ()
    violations = schema.quality.evaluate(record)
    if not violations:
        return ()
    for violation in violations:
        if violation.severity == "reject":
            raise QualityRuleError(schema.topic, violation)
    return tuple(v.rule for v in violations)


def refusals(schema: TopicSchema, record: Mapping[str, Any]) -> list[Violation]:
    """Every ``reject`` rule ``record`` breaks (the gateway lists them all in one answer)."""
    if not schema.quality:
        return []
    return [v for v in schema.quality.evaluate(record) if v.severity == "reject"]


def encode_value(serde: AvroSerde, schema: TopicSchema, record: Mapping[str, Any]) -> bytes:
    """Confluent-framed Avro of ``record``; RecordValidationError naming the field if it does not fit."""
    if schema.accepts(record):
        try:
            return serde.encode(schema.schema_id, record)
        except EncodeError as exc:
            failure = str(exc)
    else:
        failure = "the record does not match the schema"
    problem = find_problem(schema.parsed, record)
    if problem is None:  # fastavro refused what the validator accepts: say what fastavro said
        raise RecordValidationError(schema.topic, None, failure)
    raise RecordValidationError(schema.topic, problem.path, problem.message)


def message_key(
    schema: TopicSchema, record: Mapping[str, Any], key: str | bytes | None
) -> bytes | None:
    """The Kafka key: given, else the value of the schema's ``x-key`` field; text as UTF-8."""
    if key is None:
        if schema.key_field is None:
            return None
        key = record.get(schema.key_field)
        if key is None:
            return None
    if isinstance(key, bytes):
        return key
    return (key if isinstance(key, str) else str(key)).encode()


def encode_event(
    serde: AvroSerde,
    schema: TopicSchema,
    record: Any,
    *,
    source: bytes,
    key: str | bytes | None = None,
    event_id: str | None = None,
    time: dt.datetime | None = None,
) -> OutgoingEvent:
    """Value, key and CloudEvents headers of one event; QualityRuleError when it breaks a
    ``reject`` rule of its contract, the broken ``flag`` rules in ``ce_hubquality``."""
    mapping = as_record(schema.topic, record)
    value = encode_value(serde, schema, mapping)
    flagged = check_quality(schema, mapping)
    event_id = event_id or envelope.new_event_id()
    headers = envelope.headers(
        event_id=event_id,
        source=source,
        type_=schema.type_header,
        time=envelope.event_time(mapping, time),
        flagged=flagged,
    )
    return OutgoingEvent(value, message_key(schema, mapping, key), headers, event_id, flagged)
