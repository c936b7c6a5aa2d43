"""The catalog loader, the field walker, and the real schemas/ tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.schemas.catalog import (
    SchemaCatalogError,
    SchemaFile,
    Subject,
    default_schemas_dir,
    load_catalog,
)
from hub.schemas.compatibility import check_compatibility
from hub.schemas.fields import iter_fields, resolve_named_types
from hub.schemas.lint import lint
from hub.schemas.naming import record_name_for

REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def event(name="ResidentMoved", namespace="de.hamm.buergeramt", extra_fields=()):
    return {
        "type": "record",
        "name": name,
        "namespace": namespace,
        "doc": "Test event.",
        "x-key": "resident_id",
        "fields": [
            {"name": "resident_id", "type": "string", "doc": "Id.", "x-pii": "direct"},
            {
                "name": "occurred_at",
                "type": {"type": "long", "logicalType": "timestamp-millis"},
                "doc": "Event time.",
                "x-pii": "none",
            },
            *extra_fields,
        ],
    }


def write(root: Path, relative: str, content) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


# --- the real tree --------------------------------------------------------------------------


def test_default_schemas_dir_is_the_repository_folder():
    assert default_schemas_dir() == REPO_SCHEMAS


def test_real_tree_lints_clean():
    assert [str(e) for e in lint(REPO_SCHEMAS)] == []


def test_real_tree_has_the_departments_and_event_types():
    catalog = load_catalog(REPO_SCHEMAS)
    departments = {subject.latest.department for subject in catalog.values()}
    assert {
        "buergeramt",
        "ordnungsamt",
        "tiefbauamt",
        "umweltamt",
        "bauordnungsamt",
        "feuerwehr",
        "jugendamt",
    } <= departments
    assert len(catalog) >= 15
    assert "buergeramt.resident.moved" in catalog
    assert sum(len(s.versions) > 1 for s in catalog.values()) >= 3


def test_real_subjects_are_compatible_across_their_versions():
    for subject in load_catalog(REPO_SCHEMAS).values():
        schemas = [v.schema for v in subject.versions]
        for n in range(1, len(schemas)):
            assert check_compatibility(schemas[n], schemas[:n], subject.compatibility) == [], (
                subject.topic
            )


def test_real_v2s_evolve_as_intended():
    catalog = load_catalog(REPO_SCHEMAS)

    def field(subject, version, name):
        schema = catalog[subject].versions[version - 1].schema
        return next(f for f in schema["fields"] if f["name"] == name)

    added = field("buergeramt.resident.moved", 2, "information_block")
    assert added["type"][0] == "null" and added["default"] is None
    v1_enum = field("ordnungsamt.parking-violation.recorded", 1, "violation_type")["type"]
    v2_enum = field("ordnungsamt.parking-violation.recorded", 2, "violation_type")["type"]
    assert set(v2_enum["symbols"]) > set(v1_enum["symbols"]) and v2_enum["default"] == "OTHER"
    assert field("tiefbauamt.roadworks.started", 1, "estimated_cost_cents")["type"] == "int"
    assert field("tiefbauamt.roadworks.started", 2, "estimated_cost_cents")["type"] == "long"


def test_every_real_event_follows_the_key_and_time_conventions():
    for subject in load_catalog(REPO_SCHEMAS).values():
        for version in subject.versions:
            fields = {f["name"]: f for f in version.schema["fields"]}
            assert fields["occurred_at"]["type"] == {
                "type": "long",
                "logicalType": "timestamp-millis",
            }
            assert version.key_field in fields
            assert version.schema["name"] == record_name_for(version.entity_event)


def test_jugendamt_flags_health_and_disability_as_sensitive():
    catalog = load_catalog(REPO_SCHEMAS)
    schema = catalog["jugendamt.daycare-place.requested"].latest.schema
    pii = {info.path: info.pii for info in iter_fields(schema)}
    assert pii["child.care_needs.disability"] == "sensitive"
    assert pii["child.care_needs.health_conditions"] == "sensitive"


# --- the loader -----------------------------------------------------------------------------


def test_load_catalog_builds_subjects(tmp_path):
    write(tmp_path, "buergeramt/resident.moved/v2.avsc", event())
    write(tmp_path, "buergeramt/resident.moved/v1.avsc", event())
    write(tmp_path, "buergeramt/resident.moved/subject.yaml", "compatibility: full\n")
    write(
        tmp_path,
        "ordnungsamt/noise-complaint.filed/v1.avsc",
        event("NoiseComplaintFiled", "de.hamm.ordnungsamt"),
    )
    catalog = load_catalog(tmp_path)
    assert list(catalog) == ["buergeramt.resident.moved", "ordnungsamt.noise-complaint.filed"]
    subject = catalog["buergeramt.resident.moved"]
    assert isinstance(subject, Subject)
    assert subject.subject == "buergeramt.resident.moved-value"
    assert subject.compatibility == "FULL"
    assert [v.version for v in subject.versions] == [1, 2]
    latest = subject.latest
    assert isinstance(latest, SchemaFile) and latest.version == 2
    assert (latest.department, latest.entity_event) == ("buergeramt", "resident.moved")
    assert latest.topic == "buergeramt.resident.moved"
    assert latest.subject == "buergeramt.resident.moved-value"
    assert latest.key_field == "resident_id"
    assert latest.schema["fields"][0]["x-pii"] == "direct"  # attributes kept
    assert catalog["ordnungsamt.noise-complaint.filed"].compatibility == "BACKWARD_TRANSITIVE"


@pytest.mark.parametrize(
    ("relative", "content", "message"),
    [
        ("buergeramt/resident.moved/v1.avsc", "{nope", "bad JSON"),
        (
            "buergeramt/resident.moved/v1.avsc",
            json.dumps(event() | {"fields": [{"name": "a", "type": "Nope"}]}),
            "unknown type name 'Nope'",
        ),
        ("buergeramt/resident.moved/v1.avsc", '"string"', "must be a record"),
        ("buergeramt/resident.moved/version1.avsc", json.dumps(event()), "v<N>.avsc"),
        ("buergeramt/resident_moved/v1.avsc", json.dumps(event()), "<entity>.<event>"),
        ("Buergeramt/resident.moved/v1.avsc", json.dumps(event()), "department"),
        ("buergeramt/v1.avsc", json.dumps(event()), "expected <department>"),
        ("buergeramt/resident.moved/v01.avsc", json.dumps(event()), "leading 0"),
        ("buergeramt/resident.moved/v2.avsc", json.dumps(event()), "consecutive"),
    ],
)
def test_load_catalog_names_the_bad_file(tmp_path, relative, content, message):
    path = write(tmp_path, relative, content)
    with pytest.raises(SchemaCatalogError, match=message) as caught:
        load_catalog(tmp_path)
    assert str(path.parent if "consecutive" in message else path) in str(caught.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("compatibility: SIDEWAYS\n", "unknown compatibility level"),
        ("level: FULL\n", "only the key"),
        ("a: [", "cannot read"),
    ],
)
def test_bad_subject_yaml_is_an_error(tmp_path, config, message):
    write(tmp_path, "buergeramt/resident.moved/v1.avsc", event())
    write(tmp_path, "buergeramt/resident.moved/subject.yaml", config)
    with pytest.raises(SchemaCatalogError, match=message):
        load_catalog(tmp_path)


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(SchemaCatalogError, match="not a directory"):
        load_catalog(tmp_path / "absent")


# --- the field walker -----------------------------------------------------------------------

ADDRESS = {
    "type": "record",
    "name": "Address",
    "fields": [
        {"name": "street", "type": "string", "doc": "Straße.", "x-pii": "direct"},
        {"name": "postcode", "type": "string", "doc": "PLZ.", "x-pii": "quasi"},
    ],
}


def test_iter_fields_walks_nested_records_references_arrays_maps_unions():
    schema = event(
        extra_fields=[
            {"name": "old_address", "type": ADDRESS, "doc": "Alt.", "x-pii": "direct"},
            {
                "name": "new_address",
                "type": ["null", "Address"],
                "default": None,
                "doc": "Neu.",
                "x-pii": "direct",
            },
            {
                "name": "children",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "Kid",
                        "fields": [
                            {
                                "name": "birth_date",
                                "type": {"type": "int", "logicalType": "date"},
                                "doc": "Geb.",
                                "x-pii": "quasi",
                            }
                        ],
                    },
                },
                "doc": "Kinder.",
                "x-pii": "quasi",
            },
            {
                "name": "tags",
                "type": {
                    "type": "map",
                    "values": {
                        "type": "record",
                        "name": "Tag",
                        "fields": [{"name": "v", "type": "string"}],
                    },
                },
                "doc": "Tags.",
                "x-pii": "none",
            },
        ]
    )
    infos = {info.path: info for info in iter_fields(schema)}
    assert list(infos) == [
        "resident_id",
        "occurred_at",
        "old_address",
        "old_address.street",
        "old_address.postcode",
        "new_address",
        "new_address.street",
        "new_address.postcode",
        "children",
        "children[].birth_date",
        "tags",
        "tags{}.v",
    ]
    assert infos["new_address"].optional and infos["new_address"].type_name == "record"
    assert infos["new_address"].avro_type[1]["name"] == "Address"  # reference resolved
    assert infos["new_address.postcode"].pii == "quasi"
    assert infos["children[].birth_date"].logical_type == "date"
    assert infos["occurred_at"].logical_type == "timestamp-millis"
    assert infos["tags{}.v"].pii is None and infos["tags{}.v"].doc is None
    assert infos["old_address.street"].record == "de.hamm.buergeramt.Address"
    assert set(resolve_named_types(schema)) == {
        "de.hamm.buergeramt.ResidentMoved",
        "de.hamm.buergeramt.Address",
        "de.hamm.buergeramt.Kid",
        "de.hamm.buergeramt.Tag",
    }


def test_iter_fields_stops_at_a_recursive_reference():
    # The type's fields are already listed where it is defined; unrolling would never end.
    schema = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "value", "type": "long"},
            {"name": "next", "type": ["null", "Node"], "default": None},
        ],
    }
    assert [i.path for i in iter_fields(schema)] == ["value", "next"]
