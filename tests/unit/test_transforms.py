"""Unit cases for every transform: fitting types, output types, values, edge cases.

Every case of a value runs on both engines (the ``run`` fixture): the Python transforms, and
the native core applying the same agreement to an encoded event (``native_engine``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import h3
import pytest
from native_engine import core, native_runner

from hub.agreements.avro_types import OutputTypes, index_schema
from hub.agreements.errors import SpecError, TransformError
from hub.agreements.keys import derive_keys, pseudonymizer
from hub.agreements.model import TransformSpec
from hub.agreements.transforms import (
    Transform,
    TransformContext,
    age_at,
    age_band_labels,
    build_key_transform,
    build_transform,
)

UTC = dt.UTC
BERLIN_SUMMER = dt.timezone(dt.timedelta(hours=2))
KEYS = derive_keys(b"unit-test-master-secret-32-bytes!", "agreement-a")
CTX = TransformContext(keys=KEYS)

TS = {"type": "long", "logicalType": "timestamp-millis"}
TS_US = {"type": "long", "logicalType": "timestamp-micros"}
LOCAL_TS = {"type": "long", "logicalType": "local-timestamp-millis"}
DATE = {"type": "int", "logicalType": "date"}
DECIMAL = {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}
GEO = {
    "type": "record",
    "name": "GeoPoint",
    "fields": [
        {"name": "lat", "type": "double", "doc": "", "x-pii": "quasi"},
        {"name": "lon", "type": "double", "doc": "", "x-pii": "quasi"},
    ],
}
ENUM = {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}


def build(spec: Any, avro_type: Any, pii: str = "none", event_time: bool = True) -> Transform:
    fields = [{"name": "f", "type": avro_type, "doc": "f", "x-pii": pii}]
    if event_time:
        fields.insert(0, {"name": "occurred_at", "type": TS, "doc": "t", "x-pii": "none"})
    source = index_schema({"type": "record", "name": "T", "fields": fields})
    ctx = CTX if event_time else TransformContext(keys=KEYS, has_event_time=False)
    return build_transform(
        TransformSpec.model_validate(spec), source.fields["f"], ctx, OutputTypes("ns")
    )


def python_run(
    spec: Any, avro_type: Any, value: Any, key: bytes | None = b"R-1", **record: Any
) -> Any:
    t = build(spec, avro_type)
    return value if t.fn is None else t.fn(value, key, record)


python_run.key = lambda spec, key: build_key_transform(TransformSpec.model_validate(spec), CTX)(key)  # type: ignore[attr-defined]


@pytest.fixture(params=["python", "native"])
def run(request: pytest.FixtureRequest) -> Any:
    """`run(spec, avro_type, value, key, **record)` on one engine; `run.key(spec, key)` for
    the message key."""
    if request.param == "python":
        return python_run
    if core is None:
        pytest.skip("hub_core is not installed (make install)")
    return native_runner(b"unit-test-master-secret-32-bytes!", "agreement-a", python_run)


# --- keep / drop / redact ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("avro_type", "value"),
    [
        ("string", "x"),
        ("int", 3),
        ("double", 1.5),
        ("boolean", True),
        (DATE, dt.date(2026, 1, 1)),
        (ENUM, "A"),
        ({"type": "array", "items": "string"}, ["a"]),
        ({"type": "map", "values": "long"}, {"a": 1}),
    ],
)
def test_keep_is_identity_with_same_type(avro_type: Any, value: Any, run: Any) -> None:
    t = build("keep", avro_type)
    assert t.fn is None
    assert run("keep", avro_type, value) == value
    if isinstance(avro_type, dict) and avro_type.get("type") == "enum":
        assert t.out_type == {"type": "enum", "name": "ns.Kind", "symbols": ["A", "B"]}
    else:
        assert t.out_type == avro_type


def test_keep_on_record_is_refused() -> None:
    with pytest.raises(SpecError, match="name the sub-fields"):
        build("keep", GEO)


def test_keep_on_array_of_records_is_refused() -> None:
    with pytest.raises(SpecError, match="name the sub-fields"):
        build("keep", {"type": "array", "items": GEO})


def test_keep_direct_is_identifying() -> None:
    assert build("keep", "string", pii="direct").identifying
    assert not build("keep", "string", pii="quasi").identifying


def test_drop_has_no_output() -> None:
    assert build("drop", GEO).out_type is None


@pytest.mark.parametrize(
    ("spec", "out_type", "out"),
    [
        ("redact", "string", "***"),
        ({"redact": "[entfernt]"}, "string", "[entfernt]"),
        ({"redact": 0}, "long", 0),
        ({"redact": -1.0}, "double", -1.0),
        ({"redact": False}, "boolean", False),
    ],
)
def test_redact_constant(spec: Any, out_type: str, out: Any, run: Any) -> None:
    t = build(spec, "int", pii="direct")
    assert t.out_type == out_type
    assert t.fn is not None and run(spec, "int", 123, None) == out
    assert t.pii == "none"


# --- pseudonymize -----------------------------------------------------------------------------


def test_pseudonym_format_and_key_id(run: Any) -> None:
    p = run("pseudonymize", "string", "R-4711")
    key_id, body = p.split(".")
    assert key_id == KEYS.key_id and len(key_id) == 8
    assert len(body) == 22 and "=" not in body


def test_pseudonym_same_for_str_int_bytes_and_key(run: Any) -> None:
    a = run("pseudonymize", "string", "4711")
    assert run("pseudonymize", "long", 4711) == a
    assert run("pseudonymize", "bytes", b"4711") == a
    assert build_key_transform(TransformSpec(kind="pseudonymize"), CTX)("4711") == a
    assert build_key_transform(TransformSpec(kind="pseudonymize"), CTX)(b"4711") == a


def test_pseudonym_differs_per_agreement_and_secret() -> None:
    other = derive_keys(b"unit-test-master-secret-32-bytes!", "agreement-b")
    rotated = derive_keys(b"another-master-secret-32-bytes!!!", "agreement-a")
    p = pseudonymizer(KEYS)(b"x")
    assert pseudonymizer(other)(b"x") != p
    assert pseudonymizer(rotated)(b"x").split(".")[0] != p.split(".")[0]  # key id rotates too


def test_pseudonymize_direct_becomes_quasi() -> None:
    assert build("pseudonymize", "string", pii="direct").pii == "quasi"
    assert build("pseudonymize", "string", pii="sensitive").pii == "sensitive"


@pytest.mark.parametrize("avro_type", ["double", "boolean", DATE, TS, GEO, DECIMAL])
def test_pseudonymize_refuses_non_ids(avro_type: Any) -> None:
    with pytest.raises(SpecError, match="pseudonymize needs"):
        build("pseudonymize", avro_type)


def test_short_master_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        derive_keys(b"short", "a")


# --- mask / postcode_prefix -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "value", "out"),
    [
        (4, "DE89370400440532013000", "******************3000"),
        (4, "1234", "****"),  # never the whole value
        (4, "12", "**"),
        (0, "abc", "***"),
        (2, "", ""),
        (1, "äöü", "**ü"),
    ],
)
def test_mask(n: int, value: str, out: str, run: Any) -> None:
    assert run({"mask": n}, "string", value) == out


@pytest.mark.parametrize("avro_type", ["int", "bytes", DATE, ENUM])
def test_mask_needs_string(avro_type: Any) -> None:
    with pytest.raises(SpecError, match="mask needs a string"):
        build({"mask": 2}, avro_type)


@pytest.mark.parametrize(
    ("n", "value", "out"), [(3, "59065", "590"), (1, "59065", "5"), (5, "590", "590")]
)
def test_postcode_prefix(n: int, value: str, out: str, run: Any) -> None:
    assert run({"postcode_prefix": n}, "string", value) == out


def test_postcode_prefix_needs_string() -> None:
    with pytest.raises(SpecError, match="postcode_prefix needs a string"):
        build({"postcode_prefix": 3}, "int")


# --- truncate ---------------------------------------------------------------------------------

MOMENT = dt.datetime(2026, 7, 15, 14, 33, 12, 345000, tzinfo=UTC)  # 16:33 in Hamm


@pytest.mark.parametrize(
    ("unit", "local"),
    [
        ("hour", dt.datetime(2026, 7, 15, 16, 0, tzinfo=BERLIN_SUMMER)),
        ("day", dt.datetime(2026, 7, 15, 0, 0, tzinfo=BERLIN_SUMMER)),
        ("month", dt.datetime(2026, 7, 1, 0, 0, tzinfo=BERLIN_SUMMER)),
        ("year", dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))),
    ],
)
def test_truncate_timestamp_in_city_time(unit: str, local: dt.datetime, run: Any) -> None:
    out = run({"truncate": unit}, TS, MOMENT)
    assert out == local
    assert build({"truncate": unit}, TS).out_type == TS


def test_truncate_day_near_midnight_uses_local_day(run: Any) -> None:
    late = dt.datetime(2026, 7, 15, 22, 30, tzinfo=UTC)  # 00:30 on the 16th in Hamm
    assert run({"truncate": "day"}, TS, late) == dt.datetime(2026, 7, 16, tzinfo=BERLIN_SUMMER)


def test_truncate_micros_and_local_timestamps(run: Any) -> None:
    assert build({"truncate": "day"}, TS_US).out_type == TS_US
    naive = dt.datetime(2026, 3, 29, 2, 30)
    assert run({"truncate": "day"}, LOCAL_TS, naive) == dt.datetime(2026, 3, 29)


@pytest.mark.parametrize(
    ("unit", "out"), [("month", dt.date(2024, 2, 1)), ("year", dt.date(2024, 1, 1))]
)
def test_truncate_date(unit: str, out: dt.date, run: Any) -> None:
    assert run({"truncate": unit}, DATE, dt.date(2024, 2, 29)) == out


@pytest.mark.parametrize(
    ("unit", "avro_type", "match"),
    [
        ("day", DATE, "does nothing to a date"),
        ("hour", "long", "truncate needs a timestamp"),
        ("day", "int", "truncate needs a timestamp"),
        ("day", "string", "truncate needs a timestamp"),
    ],
)
def test_truncate_refuses(unit: str, avro_type: Any, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        build({"truncate": unit}, avro_type)


# --- generalize -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "value", "out"),
    [
        ("year", dt.date(1984, 2, 29), 1984),
        ("month", dt.date(1984, 2, 29), "1984-02"),
        ("quarter", dt.date(2026, 3, 31), "2026-Q1"),
        ("quarter", dt.date(2026, 4, 1), "2026-Q2"),
        ("quarter", dt.date(2026, 9, 30), "2026-Q3"),
        ("quarter", dt.date(2026, 12, 31), "2026-Q4"),
        ("quarter", dt.date(2027, 1, 1), "2027-Q1"),
        # 23:30 UTC on New Year's Eve is already the new year (and quarter) in Hamm
        ("quarter", dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "2027-Q1"),
        ("year", dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), 2027),
        ("month", dt.datetime(2026, 6, 30, 22, 0, tzinfo=UTC), "2026-07"),
    ],
)
def test_generalize(unit: str, value: Any, out: Any, run: Any) -> None:
    avro_type = TS if isinstance(value, dt.datetime) else DATE
    assert run({"generalize": unit}, avro_type, value) == out


def test_generalize_output_types() -> None:
    assert build({"generalize": "year"}, DATE).out_type == "int"
    assert build({"generalize": "quarter"}, DATE).out_type == "string"
    assert build({"generalize": "month"}, TS).out_type == "string"


@pytest.mark.parametrize("avro_type", ["int", "string", "long"])
def test_generalize_needs_date(avro_type: Any) -> None:
    with pytest.raises(SpecError, match="generalize needs a date or timestamp"):
        build({"generalize": "year"}, avro_type)


# --- age_band ---------------------------------------------------------------------------------


def at(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (dt.date(2000, 2, 29), dt.date(2018, 2, 28), 17),  # common year: not yet on Feb 28
        (dt.date(2000, 2, 29), dt.date(2018, 3, 1), 18),
        (dt.date(2000, 2, 29), dt.date(2020, 2, 29), 20),
        (dt.date(2000, 1, 1), dt.date(2000, 1, 1), 0),
        (dt.date(1990, 12, 31), dt.date(2026, 12, 30), 35),
        (dt.date(1990, 12, 31), dt.date(2026, 12, 31), 36),
    ],
)
def test_age_at(birth: dt.date, on: dt.date, age: int) -> None:
    assert age_at(birth, on) == age


@pytest.mark.parametrize(
    ("spec", "birth", "event", "label"),
    [
        (10, dt.date(1990, 7, 16), at(2026, 7, 15), "30-39"),  # 35
        (10, dt.date(1996, 7, 15), at(2026, 7, 15), "30-39"),  # 30 on the day
        (10, dt.date(1996, 7, 16), at(2026, 7, 15), "20-29"),  # 29, birthday tomorrow
        (10, dt.date(2026, 7, 15), at(2026, 7, 15), "0-9"),
        (10, dt.date(1930, 1, 1), at(2026, 7, 15), "90+"),
        (10, dt.date(1936, 7, 16), at(2026, 7, 15), "80-89"),  # 89
        (20, dt.date(1930, 1, 1), at(2026, 7, 15), "80+"),
        (100, dt.date(1930, 1, 1), at(2026, 7, 15), "0-99"),
        ((0, 18, 30, 65), dt.date(2008, 7, 16), at(2026, 7, 15), "0-17"),
        ((0, 18, 30, 65), dt.date(2008, 7, 15), at(2026, 7, 15), "18-29"),
        ((0, 18, 30, 65), dt.date(1961, 7, 15), at(2026, 7, 15), "65+"),
        ((18, 65), dt.date(2020, 1, 1), at(2026, 7, 15), "<18"),
        # Feb 29 birthday: 18 only on Mar 1 in a common year
        ((0, 18), dt.date(2008, 2, 29), at(2026, 2, 28), "0-17"),
        ((0, 18), dt.date(2008, 2, 29), at(2026, 3, 1), "18+"),
        # event 23:30 UTC on Jul 14 is Jul 15 in Hamm: the birthday has come
        ((0, 18), dt.date(2008, 7, 15), dt.datetime(2026, 7, 14, 23, 30, tzinfo=UTC), "18+"),
    ],
)
def test_age_band(spec: Any, birth: dt.date, event: dt.datetime, label: str, run: Any) -> None:
    raw = {"age_band": list(spec) if isinstance(spec, tuple) else spec}
    assert run(raw, DATE, birth, occurred_at=event) == label


def test_age_band_labels_cover_every_age() -> None:
    labels, top = age_band_labels(10)
    assert labels[0] == "0-9" and labels[89] == "80-89" and top == "90+"
    labels, top = age_band_labels((0, 18, 30, 65))
    assert len(labels) == 65 and labels[64] == "30-64" and top == "65+"


def test_age_band_errors(run: Any) -> None:
    with pytest.raises(SpecError, match="age_band needs a birth date"):
        build({"age_band": 10}, "string")
    with pytest.raises(SpecError, match="age_band needs a birth date"):
        build({"age_band": 10}, TS)
    with pytest.raises(SpecError, match="occurred_at"):
        build({"age_band": 10}, DATE, event_time=False)
    with pytest.raises(TransformError, match="after the event time"):
        run({"age_band": 10}, DATE, dt.date(2030, 1, 1), None, occurred_at=at(2026, 1, 1))
    with pytest.raises(TransformError, match="occurred_at"):
        run({"age_band": 10}, DATE, dt.date(2000, 1, 1), None)


# --- bucket -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "value", "label"),
    [
        ([0, 100000, 500000], 250000, "[100000, 500000)"),
        ([0, 100000, 500000], 100000, "[100000, 500000)"),  # lower bound inclusive
        ([0, 100000, 500000], 99999, "[0, 100000)"),
        ([0, 100000, 500000], 500000, "[500000, inf)"),
        ([0, 100000, 500000], -5, "(-inf, 0)"),
        ([-10, 0, 10], -10, "[-10, 0)"),
        ([0.5, 1.5], 1.0, "[0.5, 1.5)"),
        (1000, 1999, "[1000, 2000)"),
        (1000, 0, "[0, 1000)"),
        (1000, -1, "[-1000, 0)"),  # floor, not truncation towards zero
        (1000, -1000, "[-1000, 0)"),
        (1000, -1001, "[-2000, -1000)"),
        (0.5, 1.2, "[1, 1.5)"),
        (2, -5e-324, "[-2, 0)"),  # the quotient underflows to -0.0
        (0.1, 0.3, "[0.3, 0.4)"),  # in floats 0.3 / 0.1 == 2.9999999999999996
        (0.1, -0.05, "[-0.1, 0)"),
        (2.5, 5.0, "[5, 7.5)"),
        (100, 812.5, "[800, 900)"),
    ],
)
def test_bucket(spec: Any, value: Any, label: str, run: Any) -> None:
    avro_type = "double" if isinstance(value, float) else "long"
    assert run({"bucket": spec}, avro_type, value) == label


def test_bucket_width_is_exact_for_big_longs(run: Any) -> None:
    big = 10**18  # beyond 2**53: float division would round
    assert run({"bucket": 10}, "long", big + 7) == f"[{big}, {big + 10})"
    assert run({"bucket": 10}, "long", -big - 1) == f"[{-big - 10}, {-big})"


def test_bucket_decimal(run: Any) -> None:
    assert run({"bucket": 1000}, DECIMAL, Decimal("-0.01")) == "[-1000, 0)"
    assert run({"bucket": [0, 30000]}, DECIMAL, Decimal("42000.50")) == "[30000, inf)"
    assert build({"bucket": 10}, DECIMAL).out_type == "string"


def test_bucket_refuses_nan_and_non_numbers(run: Any) -> None:
    with pytest.raises(TransformError, match="NaN"):
        run({"bucket": [0, 1]}, "double", float("nan"), None)
    for width in (10, 0.5):
        for bad in (float("inf"), float("-inf"), float("nan")):
            with pytest.raises(TransformError):
                run({"bucket": width}, "double", bad, None)
    for avro_type in ("string", DATE, "boolean", TS):
        with pytest.raises(SpecError, match="bucket needs a number"):
            build({"bucket": 10}, avro_type)


# --- h3 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("res", [0, 5, 8, 10, 15])
def test_h3_resolutions(res: int, run: Any) -> None:
    cell = run({"h3": res}, GEO, {"lat": 51.6806, "lon": 7.8153})
    assert h3.is_valid_cell(cell)
    assert h3.get_resolution(cell) == res
    assert h3.cell_to_parent(h3.latlng_to_cell(51.6806, 7.8153, 15), res) == cell


def test_h3_nullable_point_and_alternative_names(run: Any) -> None:
    alt = {
        "type": "record",
        "name": "P",
        "fields": [
            {"name": "latitude", "type": "float", "doc": "", "x-pii": "quasi"},
            {"name": "longitude", "type": "float", "doc": "", "x-pii": "quasi"},
        ],
    }
    assert h3.is_valid_cell(run({"h3": 7}, alt, {"latitude": 51.7, "longitude": 7.8}))
    assert build({"h3": 7}, ["null", GEO]).out_type == "string"


def test_h3_errors(run: Any) -> None:
    for avro_type in ("string", "double", {"type": "record", "name": "X", "fields": []}):
        with pytest.raises(SpecError, match="h3 needs a geo point"):
            build({"h3": 8}, avro_type)
    with pytest.raises(TransformError, match="H3"):
        run({"h3": 8}, GEO, {"lat": 200.0, "lon": 7.0}, None)


# --- date_shift -------------------------------------------------------------------------------


def test_date_shift_is_consistent_per_entity_and_bounded(run: Any) -> None:
    t = build({"date_shift": 30}, DATE)
    assert t.fn is not None and t.out_type == DATE
    day = dt.date(2026, 7, 1)
    offsets = set()
    for i in range(200):
        key = f"R-{i}".encode()
        a = run({"date_shift": 30}, DATE, day, key)
        b = run({"date_shift": 30}, DATE, dt.date(2026, 8, 1), key)
        assert (b - a).days == 31  # the same offset for every date of one entity
        assert abs((a - day).days) <= 30
        offsets.add((a - day).days)
    assert len(offsets) > 20  # entities do get different offsets


def test_date_shift_timestamps_keep_time_of_day(run: Any) -> None:
    out = run({"date_shift": 5}, TS, MOMENT, b"R-1")
    assert out.time() == MOMENT.time() and abs((out - MOMENT).days) <= 5
    assert (out - MOMENT).seconds == 0


def test_date_shift_needs_key_and_date(run: Any) -> None:
    with pytest.raises(TransformError, match="message key"):
        run({"date_shift": 5}, DATE, dt.date(2026, 1, 1), None)
    with pytest.raises(SpecError, match="date_shift needs a date"):
        build({"date_shift": 5}, "string")


def test_date_shift_offset_is_not_derived_from_the_pseudonym_key() -> None:
    assert KEYS.shift_key != KEYS.pseudonym_key


# --- the message key --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "key", "out"),
    [
        ("drop", "R-1", None),
        ("keep", "R-1", "R-1"),
        ("keep", b"R-1", "R-1"),
        ("redact", "R-1", "***"),
        ({"mask": 2}, b"R-4711", "****11"),
        ("pseudonymize", None, None),
        ("keep", None, None),
    ],
)
def test_key_transforms(spec: Any, key: Any, out: Any, run: Any) -> None:
    assert run.key(spec, key) == out


def test_key_transform_refuses_other_kinds() -> None:
    with pytest.raises(SpecError):
        build_key_transform(TransformSpec.model_validate({"h3": 3}), CTX)


def test_keys_repr_hides_key_material() -> None:
    assert "pseudonym_key" not in repr(KEYS) and KEYS.key_id in repr(KEYS)
