"""Keys and values of the ``_schemas`` topic, in Confluent Schema Registry's JSON layout.

Key types: SCHEMA (a subject version), CONFIG (compatibility, global when subject is null),
MODE, DELETE_SUBJECT, NOOP. Value null is a tombstone.

One extension: a SCHEMA key written by the hub carries ``"proposal"``, a random id of the write.
Two instances racing for the same subject version then write *different* keys, so compaction
can never let the losing proposal overwrite the winner (compaction keeps the last value per key).
The loser tombstones its own key. Confluent's keys (without ``proposal``) fold the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

SCHEMA = "SCHEMA"
CONFIG = "CONFIG"
MODE = "MODE"
DELETE_SUBJECT = "DELETE_SUBJECT"
NOOP = "NOOP"


class RecordError(ValueError):
    """A key or value of ``_schemas`` is not valid JSON of the expected layout."""


@dataclass(frozen=True)
class Key:
    """A parsed record key. ``ident`` is its normalized form: equal keys compact together."""

    keytype: str
    subject: str | None
    version: int | None
    ident: str


def parse_key(raw: bytes) -> Key:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"key is not JSON: {exc}: {raw[:80]!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("keytype"), str):
        raise RecordError(f"key has no keytype: {raw[:80]!r}")
    version = data.get("version")
    if version is not None and not isinstance(version, int):
        raise RecordError(f"key version is not an integer: {raw[:80]!r}")
    subject = data.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise RecordError(f"key subject is not a string: {raw[:80]!r}")
    return Key(
        keytype=data["keytype"],
        subject=subject,
        version=version,
        ident=orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode(),
    )


def parse_value(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"value is not JSON: {exc}: {raw[:80]!r}") from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise RecordError(f"value is not a JSON object: {raw[:80]!r}")
    return data


def new_proposal() -> str:
    return uuid.uuid4().hex


def schema_key(subject: str, version: int, proposal: str | None = None) -> bytes:
    key: dict[str, Any] = {"keytype": SCHEMA, "subject": subject, "version": version, "magic": 1}
    if proposal is not None:
        key["proposal"] = proposal
    return orjson.dumps(key)


def schema_value(
    subject: str,
    version: int,
    schema_id: int,
    schema: str,
    *,
    deleted: bool = False,
    references: Sequence[Any] = (),
) -> bytes:
    """A SCHEMA value; ``references`` as ``Reference`` objects or their JSON form."""
    value: dict[str, Any] = {
        "subject": subject,
        "version": version,
        "id": schema_id,
        "schema": schema,
        "deleted": deleted,
    }
    if references:
        value["references"] = [r if isinstance(r, dict) else r.to_json() for r in references]
    return orjson.dumps(value)


def config_key(subject: str | None) -> bytes:
    return orjson.dumps({"keytype": CONFIG, "subject": subject, "magic": 0})


def config_value(level: str | None) -> bytes | None:
    return None if level is None else orjson.dumps({"compatibilityLevel": level})


def mode_key(subject: str | None) -> bytes:
    return orjson.dumps({"keytype": MODE, "subject": subject, "magic": 0})


def mode_value(mode: str | None) -> bytes | None:
    return None if mode is None else orjson.dumps({"mode": mode})


def noop_key() -> bytes:
    return orjson.dumps({"keytype": NOOP, "magic": 0})
