"""The native decoder (``hub_core.Decoder``, behind ``AvroSerde(native=True)``) returns exactly
what fastavro returns: differential tests on random schemas within what the catalog uses (and
the logical types beyond it), random records, writer schemas that differ from the reader's, and
poisoned bytes; refusals fall back to fastavro, counted; bad bytes raise the serde's errors."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import io
import uuid
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from native_strategies import TEXT, shapes

from hub.serde import AvroSerde, DecodeError, SerdeError, parse
from hub.serde.codec import native_core
from hub.serde.wire import frame

core = native_core()
pytestmark = pytest.mark.skipif(core is None, reason="hub_core is not installed (make install)")

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
SID = 7


def same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down, dict keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | decimal.Decimal):
        return repr(a) == repr(b)
    if isinstance(a, dt.datetime):
        return a == b and a.tzinfo is b.tzinfo and a.utcoffset() == b.utcoffset()
    return bool(a == b)


# Beyond the catalog: the other logical types fastavro converts, fixed, and wide unions.
EXTRA: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    "time_ms": (
        {"type": "int", "logicalType": "time-millis"},
        st.times().map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000)),
    ),
    "time_us": ({"type": "long", "logicalType": "time-micros"}, st.times()),
    "local_us": (
        {"type": "long", "logicalType": "local-timestamp-micros"},
        st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)),
    ),
    "decimal": (
        {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 3},
        st.decimals(-999999, 999999, places=3, allow_nan=False, allow_infinity=False),
    ),
    "fixed_decimal": (
        {
            "type": "fixed",
            "name": "FD",
            "size": 6,
            "logicalType": "decimal",
            "precision": 12,
            "scale": 2,
        },
        st.decimals(-(10**9), 10**9, places=2, allow_nan=False, allow_infinity=False),
    ),
    "fixed": ({"type": "fixed", "name": "F4", "size": 4}, st.binary(min_size=4, max_size=4)),
    "wide": (
        [
            "null",
            "string",
            "long",
            {"type": "record", "name": "W", "fields": [{"name": "w", "type": "double"}]},
        ],
        st.none()
        | TEXT
        | st.integers(-(2**63), 2**63 - 1)
        | st.builds(lambda x: {"w": x}, st.floats()),
    ),
}


@st.composite
def full_shapes(draw: st.DrawFn) -> tuple[dict[str, Any], st.SearchStrategy[dict[str, Any]]]:
    """A catalog-like record (``native_strategies.shapes``), perhaps with extra fields."""
    shape = draw(shapes())
    schema = copy.deepcopy(shape.schema)
    extra = draw(st.lists(st.sampled_from(sorted(EXTRA)), max_size=3, unique=True))
    strategies: dict[str, st.SearchStrategy[Any]] = {}
    for kind in extra:
        avro, values = EXTRA[kind]
        schema["fields"].append({"name": f"x_{kind}", "type": copy.deepcopy(avro)})
        strategies[f"x_{kind}"] = values
    values = st.tuples(shape.values, st.fixed_dictionaries(strategies)).map(
        lambda pair: {**pair[0], **pair[1]}
    )
    return schema, values


def encode(schema: dict[str, Any], record: dict[str, Any]) -> bytes | None:
    buf = io.BytesIO()
    try:
        fastavro.schemaless_writer(buf, fastavro.parse_schema(copy.deepcopy(schema)), record)
    except (ValueError, TypeError, OverflowError, decimal.InvalidOperation):
        return None
    return frame(SID, buf.getvalue())


def serdes(writer: dict[str, Any]) -> tuple[AvroSerde, AvroSerde]:
    py, nat = AvroSerde(), AvroSerde(native=True)
    py.add_schema(SID, writer)
    nat.add_schema(SID, writer)
    assert nat.native
    return py, nat


def outcome(serde: AvroSerde, data: bytes, reader: Any = None) -> tuple[str, Any]:
    try:
        return "ok", serde.decode(data, reader)
    except SerdeError as exc:
        return type(exc).__name__, None


def assert_same_outcome(py: AvroSerde, nat: AvroSerde, data: bytes, reader: Any = None) -> None:
    a, b = outcome(py, data, reader), outcome(nat, data, reader)
    assert a[0] == b[0], (a, b)
    assert same(a[1], b[1]), (a[1], b[1])


@SETTINGS
@given(shape=full_shapes(), data=st.data())
def test_native_decode_equals_fastavro(shape: Any, data: st.DataObject) -> None:
    schema, values = shape
    py, nat = serdes(schema)
    decoder = core.Decoder(parse(schema).canonical)  # the catalog's shapes are never refused
    records = data.draw(st.lists(values, min_size=1, max_size=5), label="records")
    frames = [f for f in (encode(schema, r) for r in records) if f is not None]
    assume(frames)
    for f in frames:
        want = py.decode(f)
        assert same(want, nat.decode(f)), (want, nat.decode(f))
        assert same(want, decoder.decode(f, 5))
    assert same(py.decode_many(frames), nat.decode_many(frames))
    assert same([py.decode(f) for f in frames], decoder.decode_many(frames, 5))


@SETTINGS
@given(shape=full_shapes(), data=st.data())
def test_native_decode_of_poisoned_bytes_fails_as_fastavro(shape: Any, data: st.DataObject) -> None:
    schema, values = shape
    py, nat = serdes(schema)
    f = encode(schema, data.draw(values, label="record"))
    assume(f is not None)
    assert f is not None
    how = data.draw(st.sampled_from(["cut", "flip", "append", "random"]), label="poison")
    body = bytearray(f[5:])
    if how == "cut":
        assume(body)
        body = body[: data.draw(st.integers(0, len(body) - 1))]
    elif how == "flip":
        assume(body)
        at = data.draw(st.integers(0, len(body) - 1))
        body[at] = data.draw(st.integers(0, 255).filter(lambda b: b != body[at]))
    elif how == "append":
        body += data.draw(st.binary(min_size=1, max_size=3))
    else:
        body = bytearray(data.draw(st.binary(max_size=40)))
    poisoned = f[:5] + bytes(body)
    try:
        core.Decoder(parse(schema).canonical).decode(poisoned, 5)
        event("native decoded")
    except core.Deferred:
        event("native deferred to fastavro")
    except core.AvroError:
        event("native failed")
    assert_same_outcome(py, nat, poisoned)


def evolve(schema: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """A reader schema of another version: added fields with defaults, types promoted, one
    writer field perhaps gone (the reader skips it)."""
    reader = copy.deepcopy(schema)
    fields = reader["fields"]
    promotions = {
        "int": ["long", "float", "double"],
        "long": ["float", "double"],
        "float": ["double"],
        "string": ["bytes"],
        "bytes": ["string"],
    }
    for f in fields:
        ty = f["type"]
        if isinstance(ty, str) and ty in promotions and data.draw(st.booleans(), label="promote"):
            f["type"] = data.draw(st.sampled_from(promotions[ty]), label="into")
        elif isinstance(ty, dict) and ty.get("type") == "enum" and data.draw(st.booleans()):
            ty["symbols"] = [*ty["symbols"], "ZZADDED"]
    if len(fields) > 1 and data.draw(st.booleans(), label="drop one"):
        fields.pop(data.draw(st.integers(0, len(fields) - 1)))
    added = data.draw(
        st.lists(
            st.sampled_from(
                [
                    (["null", "string"], None),
                    ("string", "none given"),
                    ("long", 42),
                    ("double", 1),
                    ("double", 2.5),
                    ("boolean", True),
                    ({"type": "long", "logicalType": "timestamp-millis"}, 0),
                    ({"type": "array", "items": "long"}, [1, 2]),
                    ({"type": "map", "values": "string"}, {"k": "v"}),
                    (
                        {
                            "type": "record",
                            "name": "Added",
                            "fields": [{"name": "a", "type": "int"}],
                        },
                        {"a": 1},
                    ),
                    ({"type": "enum", "name": "AddedE", "symbols": ["P", "Q"]}, "Q"),
                ]
            ),
            max_size=3,
        ),
        label="added",
    )
    for i, (ty, default) in enumerate(added):
        at = data.draw(st.integers(0, len(fields)), label="at")
        if isinstance(ty, dict) and "name" in ty:
            ty = {**ty, "name": f"{ty['name']}{i}"}
        fields.insert(at, {"name": f"zz_added{i}", "type": ty, "default": default})
    return reader


@SETTINGS
@given(shape=full_shapes(), data=st.data())
def test_native_decode_equals_fastavro_across_schema_versions(
    shape: Any, data: st.DataObject
) -> None:
    schema, values = shape
    reader = parse(evolve(schema, data))
    py, nat = serdes(schema)
    records = data.draw(st.lists(values, min_size=1, max_size=4), label="records")
    frames = [f for f in (encode(schema, r) for r in records) if f is not None]
    assume(frames)
    for f in frames:
        assert_same_outcome(py, nat, f, reader)
    refused = nat.native_refused.get((SID, reader.canonical))
    event("refused" if refused else "native")


def test_refusal_is_a_python_exception_and_the_serde_falls_back(caplog: Any) -> None:
    writer = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    reader = {"type": "record", "name": "R", "fields": [{"name": "b", "type": "int"}]}
    with pytest.raises(core.Refused, match="no default value for field b"):
        core.Decoder(parse(writer).canonical, parse(reader).canonical)
    with pytest.raises(core.Refused, match="decimal"):
        core.Decoder('{"type": "bytes", "logicalType": "decimal", "scale": 2}')
    with pytest.raises(core.Refused, match="schema"):
        core.Decoder("not json")
    py, nat = serdes(writer)
    data = frame(SID, b"\x02")
    with caplog.at_level("INFO", logger="hub.serde.codec"):
        for _ in range(2):
            with pytest.raises(Exception) as native_error:
                nat.decode(data, parse(reader))
            with pytest.raises(Exception) as python_error:
                py.decode(data, parse(reader))
            assert type(native_error.value) is type(python_error.value)
            assert str(native_error.value) == str(python_error.value)
    assert list(nat.native_refused) == [(SID, parse(reader).canonical)]
    assert sum("native decoder refused" in r.message for r in caplog.records) == 1


def test_deferred_bytes_are_decoded_by_fastavro_and_logged_once(caplog: Any) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "a", "type": ["null", "long"]}]}
    py, nat = serdes(schema)
    data = frame(SID, b"\x01\x04")  # union index -1: Python counts from the end
    with pytest.raises(core.Deferred):
        core.Decoder(parse(schema).canonical).decode(data, 5)
    with caplog.at_level("INFO", logger="hub.serde.codec"):
        assert nat.decode(data) == py.decode(data) == {"a": 2}
        assert nat.decode_many([data, data]) == [{"a": 2}, {"a": 2}]
    assert sum("deferred" in r.message for r in caplog.records) == 1


def test_bad_bytes_raise_the_serde_errors() -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "s", "type": "string"}, {"name": "u", "type": ["null", "int"]}],
    }
    py, nat = serdes(schema)
    decoder = core.Decoder(parse(schema).canonical)
    for body, message in [
        (b"\x06ab", "truncated payload for schema id 7"),
        (b"\x02a\x00\x00", "1 trailing bytes after the record for schema id 7"),
        (b"\x02\xff\x00", "undecodable Avro body for schema id 7 (8 bytes): invalid UTF-8"),
        (b"\x02a\x06", "undecodable Avro body for schema id 7 (8 bytes): IndexError: union"),
    ]:
        data = frame(SID, body)
        with pytest.raises(DecodeError, match=message.replace("(", r"\(").replace(")", r"\)")):
            nat.decode(data)
        with pytest.raises(DecodeError):
            py.decode(data)
        with pytest.raises(core.AvroError) as raw:
            decoder.decode(data, 5)
        assert raw.value.args[0] == "DecodeError" and raw.value.args[2] is None
    good = frame(SID, b"\x02a\x00")
    with pytest.raises(core.AvroError) as many:
        decoder.decode_many([good, frame(SID, b"\x06ab")], 5)
    assert many.value.args[2] == 1
    with pytest.raises(DecodeError):
        nat.decode_many([good, frame(SID, b"\x06ab")])
    with pytest.raises(TypeError):
        decoder.decode_many([good, "text"], 5)


def test_logical_types_are_fastavros_objects() -> None:
    schema = {
        "type": "record",
        "name": "L",
        "fields": [
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "d", "type": {"type": "int", "logicalType": "date"}},
            {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "t", "type": {"type": "int", "logicalType": "time-millis"}},
            {
                "name": "m",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2},
            },
        ],
    }
    record = {
        "ts": dt.datetime(2026, 12, 1, 18, 0, 0, 123000, tzinfo=dt.UTC),
        "d": dt.date(2026, 12, 1),
        "u": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "t": dt.time(23, 59, 59, 999000),
        "m": decimal.Decimal("-123.45"),
    }
    py, nat = serdes(schema)
    data = encode(schema, record)
    assert data is not None
    got = nat.decode(data)
    assert same(got, py.decode(data)) and got == record
    assert got["ts"].tzinfo is dt.UTC
    assert type(got["u"]) is uuid.UUID


def test_without_the_core_the_serde_is_fastavros(monkeypatch: Any) -> None:
    import hub.serde.codec as codec

    monkeypatch.setattr(codec, "native_core", lambda: None)
    serde = AvroSerde(native=True)
    assert not serde.native
    serde.add_schema(SID, '"long"')
    assert serde.decode(frame(SID, b"\x04")) == 2


def test_the_subscriber_sdk_and_the_feature_pipeline_decode_natively() -> None:
    from pathlib import Path

    from consumers.features.binding import load_feature_catalog
    from consumers.features.pipeline import FeaturePipeline, PipelineConfig
    from consumers.subscriber import Subscription
    from hub.kafka import KafkaSecurity

    def subscription(**kw: Any) -> Subscription:
        return Subscription(
            "ordnungsamt",
            bootstrap_servers="127.0.0.1:1",
            registry_url="http://127.0.0.1:1",
            security=KafkaSecurity(protocol="PLAINTEXT"),
            **kw,
        )

    assert subscription()._serde.native
    assert not subscription(native_decode=False)._serde.native
    repo = Path(__file__).resolve().parents[2]
    catalog = load_feature_catalog(
        repo / "catalog" / "features", repo / "catalog" / "agreements", repo / "schemas"
    )

    def pipeline(**kw: Any) -> FeaturePipeline:
        config = PipelineConfig(
            bootstrap="127.0.0.1:1",
            registry_url="http://127.0.0.1:1",
            agreements_dir=repo / "catalog" / "agreements",
            schemas_dir=repo / "schemas",
            features_dir=repo / "catalog" / "features",
            security=KafkaSecurity(protocol="PLAINTEXT"),
            **kw,
        )
        return FeaturePipeline(config, catalog)

    assert pipeline()._serde.native
    assert not pipeline(native_decode=False)._serde.native
