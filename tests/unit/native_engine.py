"""One transform through the native core, for the transform unit tests (no tests here): a
one-field source schema, an agreement applying the transform, one event routed by the core,
the delivered field decoded again. A failure raises what the core said (TransformError with
its message, or the exception class it named); a plan the core refuses runs where the router
runs it, on the Python engine."""

from __future__ import annotations

import builtins
import datetime as dt
import io
import json
from collections.abc import Callable
from typing import Any

import fastavro

from consumers.router import process
from consumers.router.engine import NativeTable, load_core
from consumers.router.routes import Route, RoutingTable, SourceRoutes
from hub.agreements.compile import compile_agreement
from hub.agreements.errors import TransformError
from hub.agreements.model import parse_agreement
from hub.serde import parse

TS = {"type": "long", "logicalType": "timestamp-millis"}
core = load_core()


class Event:
    def __init__(self, key: bytes | None, value: bytes) -> None:
        self.key, self.value, self.headers = key, value, []
        self.timestamp, self.offset, self.partition = 1_700_000_000_000, 0, 0


def _source(spec: Any, avro_type: Any, key_spec: Any, secret: bytes, agreement_id: str) -> Any:
    schema = {
        "type": "record",
        "name": "T",
        "namespace": "t",
        "fields": [
            {
                "name": "occurred_at",
                "type": ["null", TS],
                "default": None,
                "doc": "t",
                "x-pii": "none",
            },
            {"name": "f", "type": avro_type, "doc": "f", "x-pii": "none"},
        ],
    }
    raw = {
        "id": agreement_id,
        "subscriber": "s",
        "source": "t.t.t",
        "purpose": "Test",
        "legal_basis": "§ 1",
        "valid_until": dt.date(2099, 12, 31),
        "fields": {"f": spec},
        "key": key_spec,
        "allows_identifying": True,
        "sensitive_legal_basis": "Art. 9 Abs. 2 lit. h DSGVO",
    }
    compiled = compile_agreement(parse_agreement(raw, "t.yaml"), schema, secret)
    table = RoutingTable({"t.t.t": SourceRoutes("t.t.t", parse(schema), (Route(compiled, 7),))})
    native = NativeTable(core, table, secret)
    source = native.sources.get("t.t.t")
    if source is not None:
        source.learn(1, json.dumps(schema), parse(schema).canonical)
    return schema, compiled, source


_cache: dict[str, Any] = {}


def native_runner(
    secret: bytes, agreement_id: str, python: Callable[..., Any]
) -> Callable[..., Any]:
    """A `run(spec, avro_type, value, key, **record)` that routes through the core."""

    def run(
        spec: Any, avro_type: Any, value: Any, key: bytes | None = b"R-1", **record: Any
    ) -> Any:
        out = route(spec, avro_type, value, key, record.get("occurred_at"), "drop")
        if out is _REFUSED:
            return python(spec, avro_type, value, key, **record)
        return out[1]["f"]

    def route(
        spec: Any, avro_type: Any, value: Any, key: bytes | None, at: Any, key_spec: Any
    ) -> Any:
        cache_key = repr((spec, avro_type, key_spec))
        if cache_key not in _cache:
            _cache[cache_key] = _source(spec, avro_type, key_spec, secret, agreement_id)
        schema, compiled, source = _cache[cache_key]
        if source is None:
            return _REFUSED
        buf = io.BytesIO()
        fastavro.schemaless_writer(
            buf, fastavro.parse_schema(schema), {"occurred_at": at, "f": value}
        )
        event = Event(key, b"\x00\x00\x00\x00\x01" + buf.getvalue())
        deliveries, _, _, _, reruns, *_ = source.core.route(
            [event], [True], b"t.t.t/0/", process.MAX_DELIVERY_BYTES
        )
        if reruns:
            ((_, _, _, failures),) = reruns
            _, kind, cls, message = failures[0]
            assert kind == "error", f"the core deferred to Python: {message}"
            if cls == "TransformError":
                raise TransformError(message)
            raise getattr(builtins, cls, RuntimeError)(message)
        ((_, out_key, data, _),) = deliveries
        decoded = fastavro.schemaless_reader(
            io.BytesIO(data[5:]), fastavro.parse_schema(compiled.output_schema), None
        )
        return out_key, decoded

    run.key = lambda spec, key: _key(route, spec, key)  # type: ignore[attr-defined]
    return run


_REFUSED = object()


def _key(route: Callable[..., Any], spec: Any, key: str | bytes | None) -> str | None:
    """The delivered key of an event with ``key`` under the key transform ``spec``."""
    raw = key.encode() if isinstance(key, str) else key
    out = route("keep", "string", "x", raw, None, spec)
    assert out is not _REFUSED
    out_key = out[0]
    return None if out_key is None else out_key.decode()


def native_transform(
    compiled: Any, schema: dict[str, Any], secret: bytes, defaults: dict[str, Any]
) -> Callable[[str | bytes | None, dict[str, Any]], tuple[str | None, dict[str, Any]]]:
    """`compiled.transform`, done by the core: the record encoded (missing fields from
    ``defaults``), routed, the delivery decoded. The core must apply the plan itself."""
    table = RoutingTable({"t.t.t": SourceRoutes("t.t.t", parse(schema), (Route(compiled, 7),))})
    native = NativeTable(core, table, secret)
    source = native.sources.get("t.t.t")
    assert source is not None and not native.refused, native.refused
    source.learn(1, json.dumps(schema), parse(schema).canonical)
    parsed, output = fastavro.parse_schema(schema), fastavro.parse_schema(compiled.output_schema)

    def transform(
        key: str | bytes | None, rec: dict[str, Any]
    ) -> tuple[str | None, dict[str, Any]]:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, {**defaults, **rec})
        raw = key.encode() if isinstance(key, str) else key
        event = Event(raw, b"\x00\x00\x00\x00\x01" + buf.getvalue())
        deliveries, _, _, _, reruns, *_ = source.core.route(
            [event], [True], b"t.t.t/0/", process.MAX_DELIVERY_BYTES
        )
        if reruns:
            ((_, _, _, failures),) = reruns
            _, kind, cls, message = failures[0]
            assert kind == "error", f"the core deferred to Python: {message}"
            raise TransformError(f"{cls}: {message}")
        ((_, out_key, data, _),) = deliveries
        value = fastavro.schemaless_reader(io.BytesIO(data[5:]), output, None)
        return (None if out_key is None else out_key.decode()), value

    return transform


def kept_batch(events: int, topic_id: str = "s") -> Any:
    """A ``hub_core.Deliveries`` of ``events`` deliveries (offsets from 100, ce_id headers
    ``id-<i>``), as the router keeps it for the core to produce."""
    schema, _, source = _source(
        "keep", "string", "keep", b"kept-batch-secret-0123456789ab", topic_id
    )
    assert source is not None, "the core refused a keep plan"
    parsed = fastavro.parse_schema(schema)
    records = []
    for i in range(events):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, {"occurred_at": None, "f": f"value {i}"})
        event = Event(b"R-%d" % i, b"\x00\x00\x00\x00\x01" + buf.getvalue())
        event.offset, event.headers = 100 + i, [("ce_id", b"id-%d" % i), ("secret", b"x")]
        records.append(event)
    deliveries, *_ = source.core.route(
        records, [True], b"t.t.t/0/", process.MAX_DELIVERY_BYTES, True
    )
    return deliveries
