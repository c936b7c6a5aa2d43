"""The OpenAPI document of the registry: the subset of Confluent's Schema Registry API it
serves, with Confluent's status codes, error codes and content types (served at
``/openapi.json``; schemathesis runs against it in the tests).

Written out here rather than derived from the handlers: the handlers read raw requests (cheap
lookups), and the contract is Confluent's, not what a framework infers.
"""

from __future__ import annotations

from typing import Any

from hub.registry.media import JSON, REGISTRY, V1
from hub.registry.state import COMPATIBILITY_LEVELS, MODES

MAX_VERSION = 2**31 - 1
MEDIA_TYPES = (V1, REGISTRY, JSON)
REQUEST_TYPES = (V1, REGISTRY, JSON)  # application/octet-stream is read too, not advertised

ERROR_CODES = {
    400: "400 -- a query parameter or the JSON of the body is malformed",
    401: "40101 -- no credential, or one Kafka refused (HTTP Basic <principal>:<password>)",
    403: "40301 -- the principal may not do this",
    404: "40401 subject not found, 40402 version not found, 40403 schema not found, 40404/40405 "
    "subject (not) soft-deleted, 40406/40407 version (not) soft-deleted, 40408/40409 no "
    "subject-level compatibility/mode",
    406: "406 -- no acceptable response type (Accept)",
    409: "409 -- incompatible with an earlier version",
    415: "415 -- the request body is not JSON",
    422: "42201 invalid schema (or references), 42202 invalid version, 42203 invalid "
    "compatibility level, 42204 invalid mode, 42205 operation not permitted (mode), 42206 "
    "references exist, 42208 invalid subject",
}


def _content(schema: dict[str, Any], types: tuple[str, ...] = MEDIA_TYPES) -> dict[str, Any]:
    return {media_type: {"schema": schema} for media_type in types}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _responses(ok: dict[str, Any] | None, *errors: int, what: str = "OK") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ok is not None:
        out["200"] = {"description": what, "content": _content(ok)}
    for status in sorted({400, 401, 406, *errors}):
        response: dict[str, Any] = {
            "description": ERROR_CODES[status],
            "content": _content(_ref("Error")),
        }
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "required": True}
            }
        out[str(status)] = response
    return out


def _flag(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "boolean", "default": False},
    }


SUBJECT = {
    "name": "subject",
    "in": "path",
    "required": True,
    "description": "Any name without control characters; encode '/' as %2F.",
    "schema": {"type": "string", "minLength": 1, "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]+$"},
}
VERSION = {
    "name": "version",
    "in": "path",
    "required": True,
    "description": 'A version number, or "latest" (also -1).',
    "schema": {
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
            {"type": "string", "enum": ["latest", "-1"]},
        ]
    },
}
SCHEMA_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION},
}
DELETED = _flag("deleted", "Include soft-deleted schemas")
PERMANENT = _flag("permanent", "Delete soft-deleted versions for good")


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": _content(schema, REQUEST_TYPES)}


COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "kafka": {
            "type": "http",
            "scheme": "basic",
            "description": "The principal's Kafka SCRAM credential as <principal>:<password>.",
        }
    },
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error_code", "message"],
            "properties": {"error_code": {"type": "integer"}, "message": {"type": "string"}},
        },
        "Reference": {
            "type": "object",
            "required": ["name", "subject", "version"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "description": "Full name of the type"},
                "subject": {"type": "string", "minLength": 1},
                "version": {
                    "type": "integer",
                    "description": "A version, or -1: the latest",
                    "anyOf": [{"minimum": 1, "maximum": MAX_VERSION}, {"enum": [-1]}],
                },
            },
        },
        "SchemaRequest": {
            "type": "object",
            "required": ["schema"],
            "examples": [
                {
                    "schema": '{"type":"record","name":"TreeInspected","namespace":"de.hamm.'
                    'umweltamt","fields":[{"name":"tree_id","type":"string"}]}'
                }
            ],
            "properties": {
                "schema": {"type": "string", "minLength": 1, "description": "Avro schema JSON"},
                # Clients send null for "none" as often as they leave the key out.
                "schemaType": {"type": ["string", "null"], "enum": ["AVRO", None]},
                "references": {"type": ["array", "null"], "items": _ref("Reference")},
            },
        },
        "Schema": {
            "type": "object",
            "required": ["subject", "version", "id", "schema"],
            "properties": {
                "subject": {"type": "string"},
                "version": {"type": "integer"},
                "id": {"type": "integer"},
                "schemaType": {"type": "string"},
                "references": {"type": "array", "items": _ref("Reference")},
                "schema": {"type": "string"},
            },
        },
        "SchemaString": {
            "type": "object",
            "required": ["schema"],
            "properties": {
                "schema": {"type": "string"},
                "schemaType": {"type": "string"},
                "references": {"type": "array", "items": _ref("Reference")},
                "maxId": {"type": "integer"},
            },
        },
        "SubjectVersion": {
            "type": "object",
            "required": ["subject", "version"],
            "properties": {"subject": {"type": "string"}, "version": {"type": "integer"}},
        },
        "Compatibility": {
            "type": "object",
            "required": ["compatibility"],
            "properties": {"compatibility": {"type": "string", "enum": list(COMPATIBILITY_LEVELS)}},
        },
        "CompatibilityLevel": {
            "type": "object",
            "required": ["compatibilityLevel"],
            "properties": {
                "compatibilityLevel": {"type": "string", "enum": list(COMPATIBILITY_LEVELS)}
            },
        },
        "Mode": {
            "type": "object",
            "required": ["mode"],
            "properties": {"mode": {"type": "string", "enum": list(MODES)}},
        },
        "CompatibilityCheck": {
            "type": "object",
            "required": ["is_compatible"],
            "properties": {
                "is_compatible": {"type": "boolean"},
                "messages": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}

_STRINGS = {"type": "array", "items": {"type": "string"}}
_INTS = {"type": "array", "items": {"type": "integer"}}
_ANY_JSON: dict[str, Any] = {}


def _op(summary: str, responses: dict[str, Any], *params: dict, body: dict | None = None) -> dict:
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if params:
        op["parameters"] = list(params)
    if body is not None:
        op["requestBody"] = _body(body)
    return op


PATHS: dict[str, Any] = {
    "/subjects": {
        "get": _op(
            "List subjects",
            _responses(_STRINGS),
            {"name": "subjectPrefix", "in": "query", "schema": {"type": "string"}},
            DELETED,
        )
    },
    "/subjects/{subject}": {
        "post": _op(
            "Look up a schema under a subject",
            _responses(_ref("Schema"), 404, 415, 422),
            SUBJECT,
            DELETED,
            body=_ref("SchemaRequest"),
        ),
        "delete": _op(
            "Delete a subject (soft, or permanent after a soft delete)",
            _responses(_INTS, 403, 404, 422),
            SUBJECT,
            PERMANENT,
        ),
    },
    "/subjects/{subject}/versions": {
        "get": _op("List a subject's versions", _responses(_INTS, 404), SUBJECT, DELETED),
        "post": _op(
            "Register a schema under a subject",
            _responses(
                {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
                403,
                409,
                415,
                422,
            ),
            SUBJECT,
            body=_ref("SchemaRequest"),
        ),
    },
    "/subjects/{subject}/versions/{version}": {
        "get": _op(
            "Get a version", _responses(_ref("Schema"), 404, 422), SUBJECT, VERSION, DELETED
        ),
        "delete": _op(
            "Delete a version (soft, or permanent after a soft delete)",
            _responses({"type": "integer"}, 403, 404, 422),
            SUBJECT,
            VERSION,
            PERMANENT,
        ),
    },
    "/subjects/{subject}/versions/{version}/schema": {
        "get": _op(
            "Get a version's schema text",
            _responses(_ANY_JSON, 404, 422),
            SUBJECT,
            VERSION,
            DELETED,
        )
    },
    "/subjects/{subject}/versions/{version}/referencedby": {
        "get": _op(
            "Ids of the schemas that reference a version",
            _responses(_INTS, 404, 422),
            SUBJECT,
            VERSION,
        )
    },
    "/schemas": {
        "get": _op(
            "List schemas",
            _responses({"type": "array", "items": _ref("Schema")}, 400),
            {"name": "subjectPrefix", "in": "query", "schema": {"type": "string"}},
            DELETED,
            _flag("latestOnly", "Only the latest version of each subject"),
            {
                "name": "offset",
                "in": "query",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION},
            },
            {
                "name": "limit",
                "in": "query",
                "description": "At most this many; 0 or less: no limit",
                "schema": {"type": "integer", "minimum": -MAX_VERSION - 1, "maximum": MAX_VERSION},
            },
        )
    },
    "/schemas/ids/{id}": {
        "get": _op(
            "Get a schema by its id",
            _responses(_ref("SchemaString"), 404),
            SCHEMA_ID,
            _flag("fetchMaxId", "Also answer the highest id"),
        )
    },
    "/schemas/ids/{id}/schema": {
        "get": _op("Get a schema's text by its id", _responses(_ANY_JSON, 404), SCHEMA_ID)
    },
    "/schemas/ids/{id}/subjects": {
        "get": _op("Subjects holding a schema id", _responses(_STRINGS, 404), SCHEMA_ID, DELETED)
    },
    "/schemas/ids/{id}/versions": {
        "get": _op(
            "Subject versions holding a schema id",
            _responses({"type": "array", "items": _ref("SubjectVersion")}, 404),
            SCHEMA_ID,
            DELETED,
        )
    },
    "/schemas/types": {"get": _op("Schema types held", _responses(_STRINGS))},
    "/compatibility/subjects/{subject}/versions/{version}": {
        "post": _op(
            "Test compatibility with a version",
            _responses(_ref("CompatibilityCheck"), 404, 415, 422),
            SUBJECT,
            VERSION,
            _flag("verbose", "Explain incompatibilities"),
            body=_ref("SchemaRequest"),
        )
    },
    "/compatibility/subjects/{subject}/versions": {
        "post": _op(
            "Test compatibility with the versions the level names",
            _responses(_ref("CompatibilityCheck"), 404, 415, 422),
            SUBJECT,
            _flag("verbose", "Explain incompatibilities"),
            body=_ref("SchemaRequest"),
        )
    },
    "/config": {
        "get": _op("Global compatibility level", _responses(_ref("CompatibilityLevel"))),
        "put": _op(
            "Set the global compatibility level",
            _responses(_ref("Compatibility"), 403, 415, 422),
            body=_ref("Compatibility"),
        ),
        "delete": _op(
            "Reset the global compatibility level", _responses(_ref("CompatibilityLevel"), 403)
        ),
    },
    "/config/{subject}": {
        "get": _op(
            "A subject's compatibility level",
            _responses(_ref("CompatibilityLevel"), 404),
            SUBJECT,
            _flag("defaultToGlobal", "Answer the global level when the subject has none"),
        ),
        "put": _op(
            "Set a subject's compatibility level",
            _responses(_ref("Compatibility"), 403, 415, 422),
            SUBJECT,
            body=_ref("Compatibility"),
        ),
        "delete": _op(
            "Remove a subject's compatibility level",
            _responses(_ref("CompatibilityLevel"), 403, 404),
            SUBJECT,
        ),
    },
    "/mode": {
        "get": _op("Global mode", _responses(_ref("Mode"))),
        "put": _op(
            "Set the global mode", _responses(_ref("Mode"), 403, 415, 422), body=_ref("Mode")
        ),
    },
    "/mode/{subject}": {
        "get": _op(
            "A subject's mode",
            _responses(_ref("Mode"), 404),
            SUBJECT,
            _flag("defaultToGlobal", "Answer the global mode when the subject has none"),
        ),
        "put": _op(
            "Set a subject's mode",
            _responses(_ref("Mode"), 403, 415, 422),
            SUBJECT,
            body=_ref("Mode"),
        ),
        "delete": _op("Remove a subject's mode", _responses(_ref("Mode"), 403, 404), SUBJECT),
    },
}


def openapi_document(version: str = "1") -> dict[str, Any]:
    """The registry's OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Datendrehscheibe schema registry",
            "version": version,
            "description": "Confluent Schema Registry's REST API for Avro schemas (references "
            "included). JSON Schema and Protobuf are not held; contexts, exporters, metadata "
            "and rule sets are not served.",
        },
        "security": [{"kafka": []}],
        "paths": PATHS,
        "components": COMPONENTS,
    }
