"""Validation errors of the publisher SDK name the topic and the dotted field path."""

from __future__ import annotations

import copy
import datetime as dt
import random
import re
from io import BytesIO
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import AvroSerde
from producers.sdk.encoding import TopicSchema, encode_value, validate
from producers.sdk.errors import RecordValidationError
from producers.sdk.validation import compile_guard, find_problem
from producers.simulators import generate

CATALOG = load_catalog(default_schemas_dir())
MOVED = "buergeramt.resident.moved"


SERDE = AvroSerde()


def topic_schema(topic: str) -> TopicSchema:
    schema_id = sorted(CATALOG).index(topic) + 1
    return TopicSchema.register(SERDE, topic, schema_id, CATALOG[topic].latest.schema)


SCHEMAS = {topic: topic_schema(topic) for topic in CATALOG}


def sample(topic: str, seed: int = 1) -> dict[str, Any]:
    return copy.deepcopy(generate(topic, random.Random(seed))[1])


def problem_of(topic: str, record: Any) -> RecordValidationError:
    with pytest.raises(RecordValidationError) as caught:
        validate(SCHEMAS[topic], record)
    strict = caught.value
    # The fast path (fastavro first, validator on failure) must name the same field.
    with pytest.raises(RecordValidationError) as fast:
        encode_value(SERDE, SCHEMAS[topic], record)
    assert fast.value.field == strict.field, (fast.value, strict)
    return strict


def test_a_valid_record_passes_and_comes_back_as_dict():
    record = sample(MOVED)
    assert validate(SCHEMAS[MOVED], record) == record


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda r: r.pop("resident_id"), "resident_id", "missing, expected string"),
        (
            lambda r: r["new_address"].pop("postcode"),
            "new_address.postcode",
            "missing, expected string",
        ),
        (
            lambda r: r["new_address"].update(postcode=59077),
            "new_address.postcode",
            "expected string, got int",
        ),
        (
            lambda r: r["old_address"].update(city=None),
            "old_address.city",
            "expected string, got null",
        ),
        (
            lambda r: r.update(residence_type="HAUPTWOHNUNG"),
            "residence_type",
            "'HAUPTWOHNUNG' is not a symbol of enum ResidenceType (MAIN, SECONDARY, UNKNOWN)",
        ),
        (
            lambda r: r.update(residence_type=None),
            "residence_type",
            "expected enum ResidenceType, got null",
        ),
        (
            lambda r: r.update(moved_at="2026-11-02"),
            "moved_at",
            "expected long (timestamp-millis), got string",
        ),
        (lambda r: r.update(birth_date=1.5), "birth_date", "expected int (date), got float"),
        (
            lambda r: r.update(information_block="yes"),
            "information_block",
            "expected one of null, boolean, got string",
        ),
        (
            lambda r: r.update(new_address="Weststraße 1"),
            "new_address",
            "expected record Address, got string",
        ),
        (
            lambda r: r.update(new_adress={}),
            "new_adress",
            "unknown field, not in record ResidentMoved",
        ),
        (
            lambda r: r["new_address"].update(zip="59065"),
            "new_address.zip",
            "unknown field, not in record Address",
        ),
    ],
)
def test_resident_moved_errors_name_the_field(mutate, field, message):
    record = sample(MOVED)
    mutate(record)
    error = problem_of(MOVED, record)
    assert error.field == field
    assert error.topic == MOVED
    assert error.message.startswith(message)
    assert str(error).startswith(f"{MOVED}: {field}: {message}")


@pytest.mark.parametrize(
    ("topic", "mutate", "field", "message"),
    [
        (
            "buergeramt.resident.registered",
            lambda r: r.update(nationalities=["DE", 276]),
            "nationalities[1]",
            "expected string, got int",
        ),
        (
            "buergeramt.resident.registered",
            lambda r: r.update(nationalities="DE"),
            "nationalities",
            "expected array of string, got string",
        ),
        (
            "umweltamt.air-quality.measured",
            lambda r: r.update(other_components={"O3": "hoch"}),
            "other_components[O3]",
            "expected double, got string",
        ),
        (
            "umweltamt.air-quality.measured",
            lambda r: r.update(pm10_ug_m3="12"),
            "pm10_ug_m3",
            "expected one of null, double, got string",
        ),
        (
            "umweltamt.air-quality.measured",
            lambda r: r["station_location"].update(lat=None),
            "station_location.lat",
            "expected double, got null",
        ),
        (
            "jugendamt.daycare-place.requested",
            lambda r: r["child"]["care_needs"].update(disability="nein"),
            "child.care_needs.disability",
            "expected boolean, got string",
        ),
        (
            "jugendamt.daycare-place.requested",
            lambda r: r["child"]["care_needs"].update(dietary_requirements=["VEGAN"]),
            "child.care_needs.dietary_requirements[0]",
            "'VEGAN' is not a symbol of enum DietaryRequirement",
        ),
        (
            "jugendamt.daycare-place.requested",
            lambda r: r["guardian"].update(email=42),
            "guardian.email",
            "expected one of null, string, got int",
        ),
        (
            "bauordnungsamt.building-permit.applied",
            lambda r: r["applicant"]["address"].pop("street"),
            "applicant.address.street",
            "missing, expected string",
        ),
        (
            "bauordnungsamt.building-permit.applied",
            lambda r: r["parcel"].update(cadastral_map=2**31),
            "parcel.cadastral_map",
            "2147483648 is out of range for Avro int",
        ),
        (
            "ordnungsamt.parking-violation.recorded",
            lambda r: r.update(fine_eur=True),
            "fine_eur",
            "expected int, got boolean",
        ),
        (
            "ordnungsamt.parking-violation.recorded",
            lambda r: r.update(fine_eur=35.5),
            "fine_eur",
            "expected int, got float",
        ),
        (
            "tiefbauamt.roadworks.finished",
            lambda r: r.update(final_cost_cents=2**63),
            "final_cost_cents",
            "9223372036854775808 is out of range for Avro long",
        ),
        (
            "umweltamt.tree.inspected",
            lambda r: r.update(measures=["FELLING", "MOWING"]),
            "measures[1]",
            "'MOWING' is not a symbol of enum Measure",
        ),
    ],
)
def test_errors_in_nested_records_arrays_and_maps(topic, mutate, field, message):
    record = sample(topic)
    mutate(record)
    with pytest.raises(RecordValidationError) as caught:
        validate(SCHEMAS[topic], record)
    assert caught.value.field == field
    assert caught.value.message.startswith(message), caught.value.message


def test_missing_optional_field_is_fine_fastavro_writes_null():
    record = sample(MOVED)
    del record["information_block"]
    validate(SCHEMAS[MOVED], record)
    encode_value(SERDE, SCHEMAS[MOVED], record)


def test_record_that_is_not_a_mapping_is_refused_as_a_whole():
    with pytest.raises(RecordValidationError) as caught:
        validate(SCHEMAS[MOVED], ["not", "a", "record"])
    assert caught.value.field is None
    assert "expected a mapping or a pydantic model, got list" in str(caught.value)


def test_timestamp_as_epoch_millis_and_date_as_days_are_accepted():
    record = sample(MOVED)
    record["moved_at"] = 1_764_000_000_000
    record["birth_date"] = 4_000
    validate(SCHEMAS[MOVED], record)


def test_encoded_value_is_confluent_framed_and_decodes_to_the_record():
    schema = SCHEMAS[MOVED]
    record = sample(MOVED)
    data = encode_value(SERDE, schema, record)
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == schema.schema_id
    reader = AvroSerde()
    reader.add_schema(schema.schema_id, CATALOG[MOVED].latest.schema)
    assert reader.decode(data) == record


def test_a_misspelt_field_is_not_dropped_silently_on_the_fast_path():
    record = sample(MOVED)
    record["information_blok"] = True
    with pytest.raises(RecordValidationError, match="information_blok: unknown field"):
        encode_value(SERDE, SCHEMAS[MOVED], record)


def test_guard_passes_every_simulated_record():
    for topic, schema in SCHEMAS.items():
        guard = compile_guard(schema.parsed)
        assert all(guard(sample(topic, seed)) for seed in range(20)), topic


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("information_block", "yes"),  # fastavro would write true
        ("information_block", 0),  # fastavro would write false
        ("birth_date", 1.5),  # fastavro would write 1
        ("moved_at", True),  # fastavro would write 1
        ("moved_at", 2**63),
    ],
)
def test_what_fastavro_would_coerce_is_refused(field, value):
    record = sample(MOVED)
    record[field] = value
    with pytest.raises(RecordValidationError) as caught:
        encode_value(SERDE, SCHEMAS[MOVED], record)
    assert caught.value.field == field


def test_a_missing_boolean_is_not_written_as_false():
    record = sample("ordnungsamt.noise-complaint.filed")
    del record["night_time"]
    with pytest.raises(RecordValidationError, match="night_time: missing, expected boolean"):
        encode_value(SERDE, SCHEMAS["ordnungsamt.noise-complaint.filed"], record)


def _leaves(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict) and value:
        out = []
        for key, inner in value.items():
            out += _leaves(inner, f"{path}.{key}" if path else key)
        return out
    return [path]


@settings(max_examples=150, deadline=None)
@given(
    topic=st.sampled_from(sorted(CATALOG)),
    seed=st.integers(0, 2**32 - 1),
    pick=st.integers(0, 10_000),
    bad=st.sampled_from([{1, 2}, object(), b"\x00", dt.timedelta(1), complex(1, 1)]),
)
def test_any_field_set_to_a_wrong_type_is_named_exactly(topic, seed, pick, bad):
    record = sample(topic, seed)
    leaves = [p for p in _leaves(record) if p]
    path = leaves[pick % len(leaves)]
    target = record
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    target[last] = bad
    problem = find_problem(SCHEMAS[topic].parsed, record)
    assert problem is not None
    # Map entries are named ``other_components[O3]``; the walk above spells them with a dot.
    assert re.sub(r"\[([A-Za-z_][^\]]*)\]", r".\1", problem.path) == path, (problem, path)
    assert not SCHEMAS[topic].accepts(record)


MUTATIONS = [None, True, 0, -1, 2**31, 2**63, 1.5, "", "x", "MAIN", [], ["a"], [1], {}, {"a": 1.0}]


@settings(max_examples=300, deadline=None)
@given(
    topic=st.sampled_from(sorted(CATALOG)),
    seed=st.integers(0, 2**32 - 1),
    pick=st.integers(0, 10_000),
    value=st.sampled_from(MUTATIONS),
    drop=st.booleans(),
)
def test_guard_and_validator_always_agree(topic, seed, pick, value, drop):
    record = sample(topic, seed)
    leaves = [p for p in _leaves(record) if p]
    path = leaves[pick % len(leaves)]
    target = record
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    if drop:
        del target[last]
    else:
        target[last] = value
    accepted = SCHEMAS[topic].accepts(record)
    problem = find_problem(SCHEMAS[topic].parsed, record)
    assert accepted == (problem is None), (path, value, problem)
    if accepted:  # what both accept, fastavro writes
        fastavro.schemaless_writer(BytesIO(), SCHEMAS[topic].parsed, record)


def test_fastavro_and_validator_agree_on_every_simulated_record():
    for topic, schema in SCHEMAS.items():
        for seed in range(10):
            record = sample(topic, seed)
            assert find_problem(schema.parsed, record) is None
            fastavro.schemaless_writer(BytesIO(), schema.parsed, record)
