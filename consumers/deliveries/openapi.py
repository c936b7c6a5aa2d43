"""The OpenAPI document of the pull API with the record schema of every agreement it serves.

Each agreement valid today gets an operation of its own, ``GET /v1/deliveries/<agreement id>``,
whose response schema is the CloudEvent with ``data`` the agreement's delivered record: the
JSON Schema of the derived delivery schema (``compile_agreement(...).output_schema``), field by
field with its ``doc`` and ``x-pii`` class. The derived schema is computed from the local
schema catalog, without the registry (the router derives the same one from the same contract).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from consumers.deliveries.encoding import BATCH_MEDIA_TYPE, json_schema
from consumers.deliveries.params import DEFAULT_LIMIT, MAX_LIMIT
from hub.agreements.compile import compile_agreement
from hub.agreements.errors import AgreementCheckError
from hub.agreements.model import Agreement
from hub.schemas.catalog import SchemaCatalogError, load_catalog

log = logging.getLogger(__name__)

NEXT_CURSOR_HEADER = "Hub-Next-Cursor"

CLOUDEVENT: dict[str, Any] = {
    "type": "object",
    "title": "Delivery",
    "description": "One delivery as a structured-mode CloudEvent 1.0 (JSON event format).",
    "required": [
        "specversion",
        "id",
        "source",
        "type",
        "datacontenttype",
        "hubagreement",
        "hubdelivery",
        "data",
    ],
    "properties": {
        "specversion": {"type": "string", "const": "1.0"},
        "id": {"type": "string", "description": "The publisher's event id (`ce_id`)."},
        "source": {
            "type": "string",
            "format": "uri-reference",
            "description": "The publishing system (`ce_source`).",
        },
        "type": {"type": "string", "description": "The event type, e.g. de.hamm.<topic>."},
        "time": {
            "type": "string",
            "format": "date-time",
            "description": "When the event happened, as the publisher says (`ce_time`).",
        },
        "datacontenttype": {"type": "string", "const": "application/json"},
        "hubagreement": {
            "type": "string",
            "description": "The agreement under which this was delivered.",
        },
        "hubdelivery": {
            "type": "string",
            "description": "The delivery id, `<agreement>/<source topic>/<partition>/<offset>`: "
            "the idempotency key (a retried pull may hand out a delivery again; "
            "the SDK and the webhooks carry the same id).",
        },
        "partitionkey": {
            "type": "string",
            "description": "The message key: the entity id, transformed as the agreement says "
            "(e.g. a pseudonym). Absent when the delivery has no key.",
        },
        "huberror": {
            "type": "string",
            "description": "Only when the delivery could not be decoded: why (`data` is then "
            "null). Report it to the hub's operators; the cursor moves past it.",
        },
        "data": {"description": "The delivered record as JSON."},
    },
}

ENCODING_TEXT = """\
**Records as JSON.** `data` is the delivered record by these rules: timestamps RFC 3339 in UTC
(`2026-11-25T08:30:00Z`), dates `YYYY-MM-DD`, times `HH:MM:SS[.ffffff]`, decimals as strings
(`"12.50"`), bytes and fixed as base64, enums as their symbol, unions as the plain value
(`"x"` or `null`, not `{"string": "x"}`), NaN and infinities as `null`. Every field of the
record's schema is present (null is a value, never a missing key)."""

DESCRIPTION = f"""\
Fetch the deliveries of your data-sharing agreements in batches, over HTTP.

**Authentication.** `Authorization: Bearer <token>`, a pull token of your unit (the hub's
operators mint it with `hub deliveries token <subscriber>` and register its hash). You see only
your own agreements that are valid today.

**Paging.** `GET /v1/deliveries/<agreement>` answers a CloudEvents JSON batch
(`{BATCH_MEDIA_TYPE}`: a JSON array of events) and, in the header `{NEXT_CURSOR_HEADER}`, the
cursor to send as `?cursor=` with the next request. Without a cursor the pull starts at the
oldest delivery kept. An empty array means you are caught up: ask again later with the same
cursor. The cursor is opaque and signed; it holds your position only, so the service keeps
nothing and nothing expires. Keep the cursor after you have stored a batch: a crash before that
means pulling the same batch again (deduplicate by `hubdelivery`).

{ENCODING_TEXT}
"""


def record_schemas(
    agreements: Iterable[Agreement], schemas_dir: Path, secret: bytes
) -> dict[str, dict[str, Any]]:
    """Agreement id → JSON Schema of its delivered record (a placeholder saying why when the
    contract is not in ``schemas_dir`` or the agreement does not compile against it)."""
    agreements = list(agreements)
    try:
        catalog = load_catalog(schemas_dir)
    except (SchemaCatalogError, OSError) as exc:
        catalog = {}
        log.warning("no schema catalog for the API docs", extra={"error": str(exc)})
    out: dict[str, dict[str, Any]] = {}
    for agreement in agreements:
        subject = catalog.get(agreement.source)
        reason = None
        if subject is None:
            reason = f"the contract of {agreement.source} is not in {schemas_dir}"
        else:
            try:
                compiled = compile_agreement(agreement, subject.latest.schema, secret)
            except AgreementCheckError as exc:
                reason = f"the agreement does not compile: {exc}"
            else:
                out[agreement.id] = json_schema(compiled.output_schema)
                continue
        out[agreement.id] = {"type": "object", "description": f"Schema not available: {reason}"}
    return out


def _component(agreement_id: str) -> str:
    return "Record_" + agreement_id


def document(
    base: dict[str, Any],
    agreements: Iterable[Agreement],
    records: dict[str, dict[str, Any]],
    today: dt.date,
) -> dict[str, Any]:
    """``base`` (FastAPI's document) with the CloudEvent schema, bearer authentication and an
    operation for each agreement valid today."""
    doc = copy.deepcopy(base)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A pull token of the subscriber (`hub deliveries token`).",
    }
    schemas["Delivery"] = CLOUDEVENT
    paths = doc.setdefault("paths", {})
    generic = paths.get("/v1/deliveries/{agreement}", {}).get("get")
    for agreement in sorted(agreements, key=lambda a: a.id):
        if not (agreement.valid_from is None or agreement.valid_from <= today):
            continue
        if today > agreement.valid_until:
            continue
        name = _component(agreement.id)
        schemas[name] = records.get(agreement.id, {"type": "object"})
        event = {
            "allOf": [
                {"$ref": "#/components/schemas/Delivery"},
                {"properties": {"data": {"$ref": f"#/components/schemas/{name}"}}},
            ]
        }
        operation = copy.deepcopy(generic) if generic else {"responses": {}}
        operation["operationId"] = f"pull_{agreement.id.replace('-', '_')}"
        operation["tags"] = ["agreements"]
        operation["summary"] = f"{agreement.id} → {agreement.subscriber}"
        operation["description"] = (
            f"Deliveries of `{agreement.source}` to **{agreement.subscriber}**: "
            f"{agreement.purpose} ({agreement.legal_basis}); valid until {agreement.valid_until}."
        )
        operation["parameters"] = [
            p for p in operation.get("parameters", []) if p.get("name") != "agreement"
        ]
        ok = operation.setdefault("responses", {}).setdefault("200", {})
        ok["content"] = {BATCH_MEDIA_TYPE: {"schema": {"type": "array", "items": event}}}
        paths[f"/v1/deliveries/{agreement.id}"] = {"get": operation}
    return doc


QUERY_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": f"The `{NEXT_CURSOR_HEADER}` of the previous answer; leave it out to "
        "start at the oldest delivery kept.",
        "schema": {"type": "string"},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "How many deliveries at most.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
]
