"""The audit trail: what went where, under which agreement, as Avro records in ``hub.audit``.

One record per committed batch, agreement and source partition, written in the same Kafka
transaction as the deliveries it describes: the trail cannot miss or invent a delivery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

AUDIT_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "DeliveryAudited",
    "namespace": "de.hamm.hub",
    "doc": "Deliveries of one batch of one source partition under one data-sharing agreement.",
    "fields": [
        {"name": "agreement_id", "type": "string", "doc": "Agreement id.", "x-pii": "none"},
        {"name": "subscriber", "type": "string", "doc": "Receiving department.", "x-pii": "none"},
        {"name": "purpose", "type": "string", "doc": "Purpose of the processing.", "x-pii": "none"},
        {"name": "legal_basis", "type": "string", "doc": "Legal basis.", "x-pii": "none"},
        {
            "name": "sensitive_legal_basis",
            "type": ["null", "string"],
            "default": None,
            "doc": "Art. 9 GDPR exception, when special categories are delivered.",
            "x-pii": "none",
        },
        {"name": "source_topic", "type": "string", "doc": "Raw topic read.", "x-pii": "none"},
        {"name": "source_partition", "type": "int", "doc": "Its partition.", "x-pii": "none"},
        {"name": "first_offset", "type": "long", "doc": "First offset looked at.", "x-pii": "none"},
        {"name": "last_offset", "type": "long", "doc": "Last offset looked at.", "x-pii": "none"},
        {"name": "delivery_topic", "type": "string", "doc": "Topic written.", "x-pii": "none"},
        {"name": "delivered", "type": "long", "doc": "Events delivered.", "x-pii": "none"},
        {
            "name": "filtered",
            "type": "long",
            "doc": "Events the filter held back.",
            "x-pii": "none",
        },
        {
            "name": "fields",
            "doc": "Field path and the transform applied, as the agreement says.",
            "x-pii": "none",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "FieldTransform",
                    "fields": [
                        {"name": "path", "type": "string", "doc": "Field.", "x-pii": "none"},
                        {"name": "transform", "type": "string", "doc": "How.", "x-pii": "none"},
                    ],
                },
            },
        },
        {
            "name": "key_transform",
            "type": "string",
            "doc": "Transform of the key.",
            "x-pii": "none",
        },
        {"name": "output_schema_id", "type": "int", "doc": "Registry id.", "x-pii": "none"},
        {"name": "router", "type": "string", "doc": "Router instance.", "x-pii": "none"},
        {
            "name": "replayed",
            "type": "boolean",
            "default": False,
            "doc": "From hub dlq replay.",
            "x-pii": "none",
        },
        {
            "name": "recorded_at",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "When the batch was committed.",
            "x-pii": "none",
        },
        {
            "name": "agreement_hash",
            "type": ["null", "string"],
            "default": None,
            "doc": "Content hash of the agreement version applied (hub.agreements).",
            "x-pii": "none",
        },
    ],
}


def audit_record(
    route: Any,
    source_topic: str,
    partition: int,
    first_offset: int,
    last_offset: int,
    delivered: int,
    filtered: int,
    router: str,
    recorded_at: datetime,
    replayed: bool = False,
) -> dict[str, Any]:
    """One audit record for ``route`` (a ``routes.Route``) over an offset range."""
    agreement = route.compiled.agreement
    return {
        "agreement_id": agreement.id,
        "subscriber": agreement.subscriber,
        "purpose": agreement.purpose,
        "legal_basis": agreement.legal_basis,
        "sensitive_legal_basis": agreement.sensitive_legal_basis,
        "source_topic": source_topic,
        "source_partition": partition,
        "first_offset": first_offset,
        "last_offset": last_offset,
        "delivery_topic": route.topic,
        "delivered": delivered,
        "filtered": filtered,
        "fields": [
            {"path": path, "transform": how}
            for path, how in route.compiled.field_transforms.items()
        ],
        "key_transform": route.compiled.key_transform,
        "output_schema_id": route.schema_id,
        "router": router,
        "replayed": replayed,
        "recorded_at": recorded_at,
        "agreement_hash": route.compiled.content_hash,
    }
