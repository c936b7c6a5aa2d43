"""One delivery as the application sees it, and the pure steps that make it from a Kafka record.

A delivery is a record of ``deliver.<subscriber>.<source topic>`` written by the router: the key
is the transformed entity id, the value the agreement's derived record in Confluent wire format,
the headers the source event's CloudEvents attributes plus ``ce_hubagreement`` (the agreement)
and ``ce_hubdelivery`` (``<agreement>/<source topic>/<partition>/<offset>``, the idempotency key:
the same source event under the same agreement always has the same delivery id, also when it is
delivered twice after a crash). Purpose and legal basis come from the delivery schema's props
(``x-purpose``, ``x-legal-basis``): the subscriber needs no catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from pydantic import ValidationError

from consumers.subscriber.errors import UndecodableDeliveryError
from consumers.subscriber.metrics import AgreementMetrics
from consumers.subscriber.models import model_for
from consumers.subscriber.models.base import DeliveryModel, fingerprint
from hub.serde import ParsedSchema, SerdeError, parse
from hub.serde.codec import load_schema

if TYPE_CHECKING:
    from consumers.subscriber.subscription import Subscription

AGREEMENT_HEADER = "ce_hubagreement"
DELIVERY_HEADER = "ce_hubdelivery"
CONTENT_TYPE_HEADER = "content-type"  # CloudEvents Kafka binding: datacontenttype

ModelLookup = Callable[[str | None, str], "type[DeliveryModel] | None"]
"""(agreement id, schema fingerprint) → the generated model of exactly that schema, or None."""


class KafkaRecord(Protocol):
    """What the SDK needs of a consumed record (aiokafka's ConsumerRecord has it)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


class DeliveryId(NamedTuple):
    """The parts of a delivery id: which source event, under which agreement."""

    agreement_id: str
    source_topic: str
    source_partition: int
    source_offset: int


def parse_delivery_id(delivery_id: str) -> DeliveryId:
    """``<agreement>/<source topic>/<partition>/<offset>``; ValueError naming the id otherwise.

    Neither agreement ids (slugs) nor topic names contain ``/``."""
    parts = delivery_id.split("/")
    if len(parts) != 4 or not all(parts) or not parts[2].isdigit() or not parts[3].isdigit():
        raise ValueError(
            f"{delivery_id!r} is not a delivery id <agreement>/<source topic>/<partition>/<offset>"
        )
    return DeliveryId(parts[0], parts[1], int(parts[2]), int(parts[3]))


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the headers of a delivery say."""

    cloudevent: dict[str, str]  # CloudEvents attributes: specversion, id, source, type, time, ...
    agreement_id: str | None
    delivery_id: str | None


def parse_headers(headers: Sequence[tuple[str, bytes]]) -> Envelope:
    """CloudEvents attributes of Kafka headers (binary mode: ``ce_<attribute>``, and
    ``content-type`` as ``datacontenttype``), with the hub's two extensions picked out."""
    attributes: dict[str, str] = {}
    for name, value in headers:
        if name.startswith("ce_"):
            attributes[name[3:]] = value.decode("utf-8", "replace")
        elif name == CONTENT_TYPE_HEADER:
            attributes["datacontenttype"] = value.decode("utf-8", "replace")
    return Envelope(attributes, attributes.get("hubagreement"), attributes.get("hubdelivery"))


def hub_headers(headers: Sequence[tuple[str, bytes]]) -> tuple[str | None, str | None]:
    """(agreement id, delivery id) from the headers, without building the attribute dict: the
    hot path needs only these two, the CloudEvents attributes are made when asked for."""
    agreement = delivery = None
    for name, value in headers:
        if name == DELIVERY_HEADER:
            delivery = value.decode("utf-8", "replace")
        elif name == AGREEMENT_HEADER:
            agreement = value.decode("utf-8", "replace")
    return agreement, delivery


@dataclass(frozen=True, slots=True, eq=False)
class DeliverySchema:
    """A delivery schema as the SDK learnt it from the registry: parsed once per schema id."""

    schema_id: int
    parsed: ParsedSchema
    agreement_id: str | None
    source: str | None
    purpose: str | None
    legal_basis: str | None
    fingerprint: str
    model: type[DeliveryModel] | None
    metrics: AgreementMetrics | None = None


def _prop(schema: Any, name: str) -> str | None:
    value = schema.get(name) if isinstance(schema, dict) else None
    return value if isinstance(value, str) else None


def describe_schema(
    schema_id: int,
    schema: str | bytes | dict[str, Any],
    *,
    subscriber: str | None = None,
    models: ModelLookup = model_for,
) -> DeliverySchema:
    """Parse a delivery schema and pick its model: the generated model of the agreement when it
    was generated from this very shape (``fingerprint``), else None (records stay dicts).

    Raises SerdeError when the text is not a valid Avro schema."""
    data = load_schema(schema)
    parsed = parse(data)
    agreement = _prop(data, "x-agreement")
    shape = fingerprint(data)
    return DeliverySchema(
        schema_id=schema_id,
        parsed=parsed,
        agreement_id=agreement,
        source=_prop(data, "x-source"),
        purpose=_prop(data, "x-purpose"),
        legal_basis=_prop(data, "x-legal-basis"),
        fingerprint=shape,
        model=models(agreement, shape),
        metrics=AgreementMetrics.of(subscriber, agreement or "unknown") if subscriber else None,
    )


class Delivery:
    """One delivery: the record (a generated model, or a dict when no model was generated from
    its schema), the key, why it was delivered, and where it is; ``await ack()`` when handled."""

    __slots__ = (
        "_acked",
        "_cloudevent",
        "_headers",
        "_owner",
        "_schema",
        "agreement_id",
        "delivery_id",
        "key",
        "offset",
        "partition",
        "record",
        "timestamp",
        "topic",
    )

    def __init__(
        self,
        *,
        record: DeliveryModel | dict[str, Any],
        key: str | None,
        agreement_id: str,
        headers: Sequence[tuple[str, bytes]],
        delivery_id: str,
        topic: str,
        partition: int,
        offset: int,
        timestamp: int,
        schema: DeliverySchema,
        owner: Subscription | None = None,
    ) -> None:
        self.record = record
        self.key = key
        self.agreement_id = agreement_id
        self._headers = headers
        self._cloudevent: dict[str, str] | None = None
        self.delivery_id = delivery_id
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp  # ms since the epoch, when the router wrote it
        self._schema = schema
        self._owner = owner
        self._acked = False

    @property
    def cloudevent(self) -> dict[str, str]:
        """The CloudEvents attributes (``specversion``, ``id``, ``source``, ``type``, ``time``,
        ``datacontenttype``, and the hub's ``hubagreement`` and ``hubdelivery``)."""
        if self._cloudevent is None:
            self._cloudevent = parse_headers(self._headers).cloudevent
        return self._cloudevent

    @property
    def schema_id(self) -> int:
        return self._schema.schema_id

    @property
    def purpose(self) -> str | None:
        """The agreement's purpose, from the delivery schema (None for a schema without it)."""
        return self._schema.purpose

    @property
    def legal_basis(self) -> str | None:
        return self._schema.legal_basis

    @property
    def source(self) -> DeliveryId:
        """The source event this delivery was made from (parsed from the delivery id)."""
        return parse_delivery_id(self.delivery_id)

    @property
    def acked(self) -> bool:
        return self._acked

    async def ack(self) -> None:
        """Acknowledge: this delivery is handled. Its offset is committed once every earlier
        delivery of its partition is acknowledged too (at the next fetch, on close, or after
        ``commit_interval``); until then a crash delivers it again."""
        if self._acked:
            return
        if self._owner is None:
            self._acked = True
            return
        await self._owner._ack_one(self)

    def __repr__(self) -> str:
        return (
            f"Delivery({self.delivery_id!r}, agreement={self.agreement_id!r}, "
            f"at={self.topic}/{self.partition}/{self.offset}, schema_id={self.schema_id})"
        )


def undecodable(
    record: KafkaRecord, schema_id: int | None, reason: str, cause: str
) -> UndecodableDeliveryError:
    return UndecodableDeliveryError(
        reason,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        schema_id=schema_id,
        cause=cause,
    )


def build_delivery(
    record: KafkaRecord,
    schema: DeliverySchema,
    value: dict[str, Any],
    owner: Subscription | None = None,
) -> Delivery:
    """The delivery of a decoded record: typed when ``schema`` has a model, headers checked.

    Raises UndecodableDeliveryError when the record is not a hub delivery (no delivery id, an
    agreement header that contradicts the schema) or its value does not fit the model."""
    headers = record.headers
    agreement, delivery_id = hub_headers(headers)
    agreement = agreement or schema.agreement_id
    if agreement is None:
        raise undecodable(
            record,
            schema.schema_id,
            f"no agreement: neither a {AGREEMENT_HEADER} header nor x-agreement in the schema",
            "NotADelivery",
        )
    if schema.agreement_id is not None and agreement != schema.agreement_id:
        raise undecodable(
            record,
            schema.schema_id,
            f"the {AGREEMENT_HEADER} header names {agreement!r}, the schema "
            f"{schema.agreement_id!r}",
            "NotADelivery",
        )
    if delivery_id is None:
        raise undecodable(
            record,
            schema.schema_id,
            f"no {DELIVERY_HEADER} header: not a delivery of the hub's router",
            "NotADelivery",
        )
    model = schema.model
    if model is not None:
        try:
            typed: DeliveryModel | dict[str, Any] = model.model_validate(value)
        except ValidationError as exc:
            raise undecodable(
                record,
                schema.schema_id,
                f"the record does not fit {model.__name__}: {exc.errors()[0]['msg']} at "
                f"{'.'.join(map(str, exc.errors()[0]['loc']))}",
                "ModelValidation",
            ) from None
    else:
        typed = value
    key = record.key
    if key is not None:
        try:
            key = key.decode("utf-8")
        except UnicodeDecodeError:
            raise undecodable(
                record, schema.schema_id, "the key is not UTF-8 text", "BadKey"
            ) from None
    return Delivery(
        record=typed,
        key=key,
        agreement_id=agreement,
        headers=headers,
        delivery_id=delivery_id,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
        schema=schema,
        owner=owner,
    )


def serde_failure(record: KafkaRecord, schema_id: int | None, error: SerdeError) -> Exception:
    """An undecodable-record error for what the serde said (its class is the metric's reason)."""
    return undecodable(record, schema_id, str(error), type(error).__name__)
