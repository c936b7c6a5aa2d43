"""Compiling agreements against source schemas: checks, output schema, deny by default."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import avro.schema
import fastavro
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from test_agreement_fixtures import (
    SECRET,
    agreement,
    record,
    resident_moved_v1,
    resident_moved_v2,
)

from hub.agreements.compile import CompiledAgreement, compile_agreement
from hub.agreements.errors import AgreementCheckError, TransformError

UTC = dt.UTC
FILE = "catalog/agreements/test.yaml"

RICH_FIELDS: dict[str, Any] = {
    "event_id": "keep",
    "occurred_at": {"truncate": "day"},
    "resident_id": "pseudonymize",
    "birth_date": {"age_band": [0, 18, 30, 65]},
    "old_address.city": "keep",
    "new_address.postcode": {"postcode_prefix": 3},
    "new_address.city": "keep",
    "location": {"h3": 8},
    "reason": "keep",
    "previous_reason": "keep",
    "rent": {"bucket": 100},
    "moved_on": {"date_shift": 14},
    "income": {"bucket": [0, 30000, 60000]},
    "name": "drop",
}


def rich(**overrides: Any) -> CompiledAgreement:
    return compile_agreement(
        agreement(fields=RICH_FIELDS, **overrides), resident_moved_v1(), SECRET
    )


def check_errors(
    fields: dict[str, Any], schema: dict[str, Any] | None = None, **kw: Any
) -> list[str]:
    with pytest.raises(AgreementCheckError) as info:
        compile_agreement(agreement(fields=fields, **kw), schema or resident_moved_v1(), SECRET)
    issues = info.value.issues
    assert all(i.file == FILE for i in issues)
    return [f"{i.field}: {i.message}" for i in issues]


def encode(c: CompiledAgreement, value: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, c.parsed_schema, value)
    return buf.getvalue()


# --- checks -----------------------------------------------------------------------------------


def test_unknown_field() -> None:
    (e,) = check_errors({"nope": "keep", "resident_id": "pseudonymize"})
    assert e.startswith("fields.nope: no such field in buergeramt.resident.moved")


def test_unknown_nested_field() -> None:
    (e,) = check_errors({"new_address.nope": "keep"})
    assert e.startswith("fields.new_address.nope: no such field")


def test_key_in_fields_gets_a_hint() -> None:
    (e,) = check_errors({"key": "keep", "resident_id": "pseudonymize"})
    assert "top-level `key:`" in e


def test_transform_that_does_not_fit() -> None:
    errors = check_errors(
        {
            "name": {"h3": 8},
            "household_size": {"truncate": "day"},
            "new_address.city": {"age_band": 10},
        }
    )
    assert errors == [
        "fields.name: h3 needs a geo point record with double fields lat and lon, "
        "but the source field is string",
        "fields.new_address.city: age_band needs a birth date (int, logicalType date), "
        "but the source field is string",
        "fields.household_size: truncate needs a timestamp or date, but the source field is int",
    ]


def test_direct_identifier_kept_needs_allows_identifying() -> None:
    errors = check_errors({"name": "keep", "citizen_no": "keep", "new_address.street": "keep"})
    assert len(errors) == 3
    assert all(
        "direct identifier delivered as it is (keep) without allows_identifying" in e
        for e in errors
    )
    assert compile_agreement(
        agreement(fields={"name": "keep"}, allows_identifying=True), resident_moved_v1(), SECRET
    )


def test_direct_identifier_masked_pseudonymized_or_redacted_is_fine() -> None:
    c = compile_agreement(
        agreement(
            fields={"name": {"mask": 2}, "citizen_no": "pseudonymize", "resident_id": "redact"}
        ),
        resident_moved_v1(),
        SECRET,
    )
    assert c.transform("k", record())[1]["name"] == "**************nn"


def test_key_kept_needs_allows_identifying() -> None:
    (e,) = check_errors({"resident_id": "pseudonymize"}, key="keep")
    assert e.startswith("key: the message key (entity id) is kept as it is")
    c = compile_agreement(
        agreement(key="keep", allows_identifying=True), resident_moved_v1(), SECRET
    )
    assert c.transform(b"R-1", record())[0] == "R-1"


def test_sensitive_field_needs_art9_basis() -> None:
    for spec in ("keep", "pseudonymize", "redact", {"mask": 1}):
        (e,) = check_errors({"religion": spec})
        assert e.startswith("fields.religion: special category data (Art. 9 GDPR) delivered")
    c = compile_agreement(
        agreement(fields={"religion": "keep"}, sensitive_legal_basis="Art. 9 Abs. 2 lit. b DSGVO"),
        resident_moved_v1(),
        SECRET,
    )
    assert c.output_schema["fields"][0]["x-pii"] == "sensitive"
    # dropping needs no basis (but an agreement must deliver something)
    compile_agreement(
        agreement(fields={"religion": "drop", "reason": "keep"}), resident_moved_v1(), SECRET
    )


def test_sensitive_is_inherited_by_nested_fields() -> None:
    schema = resident_moved_v1()
    for f in schema["fields"]:
        if f["name"] == "location":
            f["x-pii"] = "sensitive"
    (e,) = check_errors({"location.lat": "keep"}, schema=schema)
    assert e.startswith("fields.location.lat: special category data")


def test_filter_on_sensitive_field_needs_art9_basis() -> None:
    (e,) = check_errors({"reason": "keep"}, where={"religion": {"eq": "rk"}})
    assert e.startswith("where: filters on the sensitive field religion")


def test_filter_type_errors_are_reported_with_their_place() -> None:
    (e,) = check_errors({"reason": "keep"}, where={"household_size": {"eq": "three"}})
    assert e.startswith("where.household_size.eq: 'three' does not fit the int field")


def test_path_named_with_its_parent() -> None:
    errors = check_errors({"location": {"h3": 7}, "location.lat": "keep"})
    assert errors == ["fields.location.lat: named together with its enclosing record location"]


def test_keep_on_record_is_refused() -> None:
    (e,) = check_errors({"new_address": "keep"})
    assert e.startswith("fields.new_address: keep on a record would deliver every sub-field")


def test_only_drops_is_an_error() -> None:
    (e,) = check_errors({"name": "drop"})
    assert e.startswith("fields: delivers no field")


def test_all_errors_are_collected() -> None:
    errors = check_errors(
        {"nope": "keep", "name": "keep", "religion": "keep", "reason": {"h3": 3}},
        key="keep",
        where={"zzz": {"eq": 1}},
    )
    fields = [e.split(":")[0] for e in errors]
    assert fields == [
        "fields.nope",
        "fields.name",
        "fields.reason",
        "fields.religion",
        "key",
        "where.zzz.eq",
    ]


def test_error_message_names_the_file() -> None:
    with pytest.raises(AgreementCheckError) as info:
        compile_agreement(agreement(fields={"nope": "keep"}), resident_moved_v1(), SECRET)
    assert str(info.value).startswith(f"{FILE}: fields.nope: no such field")


def test_source_schema_must_be_a_record() -> None:
    with pytest.raises(
        AgreementCheckError, match="source: the source schema must be an Avro record"
    ):
        compile_agreement(agreement(), {"type": "string"}, SECRET)


# --- output schema ----------------------------------------------------------------------------


def test_output_schema_shape() -> None:
    schema = rich().output_schema
    assert schema["name"] == "de.hamm.deliver.ordnungsamt.ResidentMovedForOrdnungsamt"
    assert schema["x-agreement"] == "ordnungsamt-resident-moved"
    # The subscriber's SDK has no catalog: purpose and legal basis travel in the schema.
    assert schema["x-purpose"] == rich().agreement.purpose
    assert schema["x-legal-basis"] == rich().agreement.legal_basis
    names = [f["name"] for f in schema["fields"]]
    # source order, only named fields, dropped ones absent
    assert names == [
        "event_id", "occurred_at", "resident_id", "birth_date", "old_address", "new_address",
        "location", "reason", "rent", "moved_on", "income", "previous_reason",
    ]  # fmt: skip
    by_name = {f["name"]: f for f in schema["fields"]}
    new_address = by_name["new_address"]["type"]
    assert (
        new_address["name"] == "de.hamm.deliver.ordnungsamt.ResidentMovedForOrdnungsamtNewAddress"
    )
    assert [f["name"] for f in new_address["fields"]] == ["postcode", "city"]
    old = by_name["old_address"]
    assert old["type"][0] == "null" and old["default"] is None
    assert [f["name"] for f in old["type"][1]["fields"]] == ["city"]
    assert by_name["location"]["type"] == ["null", "string"]
    assert by_name["rent"]["type"] == ["null", "string"]
    assert by_name["moved_on"]["type"] == ["null", {"type": "int", "logicalType": "date"}]
    # an enum kept twice is defined once and referenced after
    assert by_name["reason"]["type"]["name"] == "de.hamm.deliver.ordnungsamt.MoveReason"
    assert by_name["previous_reason"]["type"] == ["null", "de.hamm.deliver.ordnungsamt.MoveReason"]
    assert by_name["birth_date"]["doc"].startswith(
        "buergeramt.resident.moved: birth_date, age_band: [0, 18, 30, 65]."
    )
    fastavro.parse_schema(schema)
    avro.schema.parse(json.dumps(schema))


def test_output_pii_classes() -> None:
    c = compile_agreement(
        agreement(
            fields={
                "resident_id": "pseudonymize",
                "name": "redact",
                "birth_date": {"generalize": "year"},
                "new_address.street": {"mask": 3},
                "new_address.city": "keep",
                "reason": "keep",
            }
        ),
        resident_moved_v1(),
        SECRET,
    )
    pii = {f["name"]: f["x-pii"] for f in c.output_schema["fields"]}
    assert pii == {
        "resident_id": "quasi",  # pseudonymized: personal, no longer direct
        "name": "none",  # a constant
        "birth_date": "quasi",
        "new_address": "direct",  # the most severe of what it holds (a masked street)
        "reason": "none",
    }


def test_field_transforms_for_audit() -> None:
    c = rich()
    assert c.field_transforms["birth_date"] == "age_band: [0, 18, 30, 65]"
    assert c.field_transforms["name"] == "drop"
    assert c.key_transform == "pseudonymize"
    assert c.delivery_topic == "deliver.ordnungsamt.buergeramt.resident.moved"


def test_output_schema_is_stable_across_source_versions() -> None:
    a = agreement(fields=RICH_FIELDS)
    v1 = compile_agreement(a, resident_moved_v1(), SECRET).output_schema
    v2 = compile_agreement(a, resident_moved_v2(), SECRET).output_schema
    assert v1 == v2
    checker = ReaderWriterCompatibilityChecker()
    old, new = avro.schema.parse(json.dumps(v1)), avro.schema.parse(json.dumps(v2))
    result = checker.get_compatibility(reader=new, writer=old)
    assert result.compatibility is SchemaCompatibilityType.compatible


def test_output_schema_does_not_depend_on_yaml_order() -> None:
    reordered = dict(reversed(list(RICH_FIELDS.items())))
    assert (
        rich().output_schema
        == compile_agreement(agreement(fields=reordered), resident_moved_v1(), SECRET).output_schema
    )


def test_named_type_references_in_source() -> None:
    # new_address refers to Address by name; the index resolves it
    c = compile_agreement(
        agreement(fields={"new_address.postcode": "keep"}), resident_moved_v1(), SECRET
    )
    assert c.transform("k", record())[1] == {"new_address": {"postcode": "59065"}}


# --- transform: values, keys, deny by default -------------------------------------------------


def test_transform_values() -> None:
    c = rich()
    key, value = c.transform("R-4711", record())
    assert key == value["resident_id"]  # key and field pseudonymize alike, so they join
    assert key is not None and key.startswith(c.key_id + ".")
    assert value["birth_date"] == "30-64"
    assert value["new_address"] == {"postcode": "590", "city": "Hamm"}
    assert value["old_address"] == {"city": "Hamm"}
    assert value["income"] == "[30000, 60000)"
    assert value["occurred_at"] == dt.datetime(2026, 7, 14, 22, 0, tzinfo=UTC)
    assert "name" not in value
    fastavro.validation.validate(value, c.parsed_schema, raise_errors=True)


def test_none_stays_none() -> None:
    c = rich()
    _, value = c.transform("R-1", record(old_address=None, location=None, rent=None, moved_on=None))
    assert value["old_address"] is None and value["location"] is None
    assert value["rent"] is None and value["moved_on"] is None
    fastavro.validation.validate(value, c.parsed_schema, raise_errors=True)


def test_missing_required_value_is_a_transform_error() -> None:
    c = rich()
    rec = record()
    del rec["reason"]
    with pytest.raises(TransformError, match="reason is missing or null but not nullable"):
        c.transform("R-1", rec)


def test_deny_by_default_extra_fields_never_leak() -> None:
    c = rich()
    rec = record(
        phone="0170 1234567",  # added by a later schema version
        secret_flag="LEAK-1",
        new_address={**record()["new_address"], "district": "LEAK-2", "street": "LEAK-3"},
    )
    _, value = c.transform("R-1", rec)
    blob = repr(value) + encode(c, value).decode("latin-1")
    for marker in ("LEAK-1", "LEAK-2", "LEAK-3", "0170", "Erika", "Mustermann", "R-4711"):
        assert marker not in blob
    assert set(value) == {f["name"] for f in c.output_schema["fields"]}


def test_key_default_is_pseudonymize_and_none_stays_none() -> None:
    c = compile_agreement(agreement(), resident_moved_v1(), SECRET)  # no date_shift
    assert c.transform(None, record())[0] is None
    k1, _ = c.transform("R-1", record())
    k2, _ = c.transform(b"R-1", record())
    assert k1 == k2 != "R-1"


def test_key_drop() -> None:
    c = rich(key="drop")
    assert c.transform("R-1", record())[0] is None


def test_matches() -> None:
    c = rich(where={"new_address.city": {"eq": "Hamm"}})
    assert c.matches(record())
    assert not c.matches(record(new_address={**record()["new_address"], "city": "Unna"}))


def test_is_active_end_of_day_inclusive_in_city_time() -> None:
    c = rich()  # 2026-01-01 .. 2027-12-31
    assert c.is_active(dt.datetime(2027, 12, 31, 22, 59, 59, tzinfo=UTC))  # 23:59:59 in Hamm
    assert not c.is_active(dt.datetime(2027, 12, 31, 23, 0, tzinfo=UTC))  # 00:00 next day
    assert c.is_active(dt.datetime(2025, 12, 31, 23, 0, tzinfo=UTC))  # 00:00 on Jan 1 in Hamm
    assert not c.is_active(dt.datetime(2025, 12, 31, 22, 59, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        c.is_active(dt.datetime(2026, 1, 1))


def test_is_active_without_valid_from() -> None:
    c = rich(valid_from=None)
    assert c.is_active(dt.datetime(1990, 1, 1, tzinfo=UTC))


def test_date_shift_uses_the_entity_key() -> None:
    c = rich()
    a = c.transform("R-1", record())[1]["moved_on"]
    b = c.transform("R-1", record(moved_on=dt.date(2026, 7, 2)))[1]["moved_on"]
    assert (b - a).days == 1
    with pytest.raises(TransformError, match="message key"):
        c.transform(None, record())
