"""Shared types (``schemas/_types/``): the catalog's references and standalone forms, the lint's
rules on them, and the real tree's types."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.schemas.catalog import (
    SchemaCatalogError,
    default_schemas_dir,
    load_catalog,
    standalone_schema,
)
from hub.schemas.cli import app
from hub.schemas.compatibility import check_compatibility
from hub.schemas.fields import iter_fields
from hub.schemas.lint import lint
from hub.schemas.parsing import parse_schema
from hub.schemas.references import Reference
from hub.schemas.shared_types import load_types, type_subject

TS = {"type": "long", "logicalType": "timestamp-millis"}
ADDRESS = {
    "type": "record",
    "name": "Address",
    "namespace": "de.hamm.types",
    "doc": "Anschrift.",
    "fields": [
        {"name": "street", "type": "string", "doc": "Straße.", "x-pii": "direct"},
        {"name": "postcode", "type": "string", "doc": "PLZ.", "x-pii": "quasi"},
    ],
}
POINT = {
    "type": "record",
    "name": "de.hamm.types.GeoPoint",
    "doc": "Koordinate.",
    "fields": [
        {"name": "lat", "type": "double", "doc": "Breite.", "x-pii": "quasi"},
        {"name": "lon", "type": "double", "doc": "Länge.", "x-pii": "quasi"},
    ],
}
PLACE = {  # a shared type that names another
    "type": "record",
    "name": "Place",
    "namespace": "de.hamm.types",
    "doc": "Ort mit Anschrift und Koordinate.",
    "fields": [
        {
            "name": "address",
            "type": "de.hamm.types.Address",
            "doc": "Anschrift.",
            "x-pii": "direct",
        },
        {"name": "point", "type": "de.hamm.types.GeoPoint", "doc": "Koordinate.", "x-pii": "quasi"},
    ],
}
A = Reference("de.hamm.types.Address", "de.hamm.types.Address", 1)
G = Reference("de.hamm.types.GeoPoint", "de.hamm.types.GeoPoint", 1)
P = Reference("de.hamm.types.Place", "de.hamm.types.Place", 1)


def event(*fields: dict, **top: object) -> dict:
    return {
        "type": "record",
        "name": "ResidentMoved",
        "namespace": "de.hamm.buergeramt",
        "doc": "Umzug.",
        "x-key": "resident_id",
        "fields": [
            {"name": "resident_id", "type": "string", "doc": "Id.", "x-pii": "direct"},
            {"name": "occurred_at", "type": TS, "doc": "Zeit.", "x-pii": "none"},
            *fields,
        ],
        **top,
    }


def uses(name: str, type_name: object, pii: str = "direct") -> dict:
    return {"name": name, "type": type_name, "doc": f"{name}.", "x-pii": pii}


def write(root: Path, relative: str, content: object) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def tree(root: Path, *types: dict, schema: dict | None = None) -> Path:
    """``types`` under _types/ (each as v1 unless it says ``x-version``), ``schema`` as the
    resident.moved v1; returns the schema's path."""
    for each in types:
        each = dict(each)
        version = each.pop("x-version", 1)
        name = each["name"] if "." in each["name"] else f"{each['namespace']}.{each['name']}"
        write(root, f"_types/{name}/v{version}.avsc", each)
    return write(root, "buergeramt/resident.moved/v1.avsc", schema or event())


def rules(root: Path) -> list[tuple[str, str, str | None]]:
    return [(e.file.relative_to(root).as_posix(), e.rule, e.field) for e in lint(root)]


# --- the catalog ------------------------------------------------------------------------------


def test_a_schema_names_a_shared_type_and_reads_standalone(tmp_path):
    tree(
        tmp_path,
        ADDRESS,
        schema=event(
            uses("old_address", "de.hamm.types.Address"),
            uses("new_address", ["null", "de.hamm.types.Address"]) | {"default": None},
        ),
    )
    catalog = load_catalog(tmp_path)
    moved = catalog["buergeramt.resident.moved"].latest
    assert moved.references == (A,)
    assert moved.uses == (A,)
    assert moved.raw["fields"][2]["type"] == "de.hamm.types.Address"  # as written
    old, new = moved.schema["fields"][2]["type"], moved.schema["fields"][3]["type"]
    assert old["type"] == "record" and old["name"] == "de.hamm.types.Address"
    assert new == ["null", "de.hamm.types.Address"]  # defined at its first use, named after
    parse_schema(moved.schema)
    assert {i.path: i.pii for i in iter_fields(moved.schema)}["new_address.street"] == "direct"
    assert list(catalog.types) == ["de.hamm.types.Address"]
    address = catalog.types["de.hamm.types.Address"]
    assert address.subject == type_subject(address.name) == "de.hamm.types.Address"
    assert address.compatibility == "BACKWARD_TRANSITIVE"
    assert address.latest.references == ()


def test_x_pii_of_the_using_field_stays_on_it(tmp_path):
    tree(tmp_path, ADDRESS, schema=event(uses("site_address", "de.hamm.types.Address", "quasi")))
    schema = load_catalog(tmp_path)["buergeramt.resident.moved"].latest.schema
    pii = {i.path: i.pii for i in iter_fields(schema)}
    assert pii["site_address"] == "quasi" and pii["site_address.street"] == "direct"


def test_a_schema_using_two_types_references_each_once_in_order_of_use(tmp_path):
    tree(
        tmp_path,
        ADDRESS,
        POINT,
        schema=event(
            uses("point", "de.hamm.types.GeoPoint", "quasi"),
            uses("address", "de.hamm.types.Address"),
            uses("points", {"type": "array", "items": "de.hamm.types.GeoPoint"}, "quasi"),
        ),
    )
    moved = load_catalog(tmp_path)["buergeramt.resident.moved"].latest
    assert moved.references == (G, A)
    parse_schema(moved.schema)


def test_nested_types_reference_directly_and_read_standalone(tmp_path):
    tree(tmp_path, ADDRESS, POINT, PLACE, schema=event(uses("place", "de.hamm.types.Place")))
    catalog = load_catalog(tmp_path)
    place = catalog.types["de.hamm.types.Place"].latest
    assert place.references == (A, G) and place.uses == (A, G)
    moved = catalog["buergeramt.resident.moved"].latest
    assert moved.references == (P,)  # Confluent's way: only what the schema names itself
    assert moved.uses == (A, G, P)  # dependencies first
    paths = [i.path for i in iter_fields(moved.schema)]
    assert "place.address.street" in paths and "place.point.lat" in paths


def test_a_schema_naming_a_type_and_its_user_holds_it_once(tmp_path):
    schema = event(
        uses("place", "de.hamm.types.Place"), uses("point", "de.hamm.types.GeoPoint", "quasi")
    )
    tree(tmp_path, ADDRESS, POINT, PLACE, schema=schema)
    moved = load_catalog(tmp_path)["buergeramt.resident.moved"].latest
    assert moved.references == (P, G)
    assert moved.uses == (A, G, P)
    parse_schema(moved.schema)  # GeoPoint defined once (inside Place), named by "point"


@pytest.mark.parametrize(
    ("field_type", "message"),
    [
        (
            "de.hamm.types.Adress",
            r"v1\.avsc: uses the shared type de\.hamm\.types\.Adress, which schemas/_types/ "
            r"does not define",
        ),
        (
            "Address",  # the short name, resolved in de.hamm.buergeramt: not the shared type
            r"unknown type name 'Address' .*named by its full name: de\.hamm\.types\.Address",
        ),
        ("Nope", r"unknown type name 'Nope'"),  # anything else: the Avro parser's word
    ],
)
def test_a_missing_type_names_the_type_and_the_file(tmp_path, field_type, message):
    path = tree(tmp_path, ADDRESS, schema=event(uses("address", field_type)))
    with pytest.raises(SchemaCatalogError, match=message) as caught:
        load_catalog(tmp_path)
    assert str(path) in str(caught.value)


def test_a_pinned_version_is_used_and_a_missing_one_named(tmp_path):
    v2 = copy.deepcopy(ADDRESS)
    v2["fields"].append(
        {"name": "city", "type": "string", "default": "Hamm", "doc": "Ort.", "x-pii": "quasi"}
    )
    pinned = event(uses("address", "de.hamm.types.Address"))
    pinned["x-type-versions"] = {"de.hamm.types.Address": 2}
    tree(tmp_path, ADDRESS, v2 | {"x-version": 2}, schema=pinned)
    catalog = load_catalog(tmp_path)
    moved = catalog["buergeramt.resident.moved"].latest
    assert moved.references == (Reference(A.name, A.subject, 2),)
    assert "x-type-versions" not in moved.raw and "x-type-versions" not in moved.schema
    assert [f["name"] for f in moved.schema["fields"][2]["type"]["fields"]][-1] == "city"
    assert [v.version for v in catalog.types[A.name].versions] == [1, 2]

    pinned["x-type-versions"] = {"de.hamm.types.Address": 3}
    path = write(tmp_path, "buergeramt/resident.moved/v1.avsc", pinned)
    with pytest.raises(SchemaCatalogError, match=r"Address v3, but .* has only v1, v2") as caught:
        load_catalog(tmp_path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("pins", "message"),
    [
        ({"de.hamm.types.GeoPoint": 1}, "pins de.hamm.types.GeoPoint, which this schema does not"),
        ({"de.hamm.types.Address": 0}, "must map full names of shared types to versions"),
        (["de.hamm.types.Address"], "must map full names of shared types to versions"),
    ],
)
def test_bad_pins_are_errors(tmp_path, pins, message):
    schema = event(uses("address", "de.hamm.types.Address"), **{"x-type-versions": pins})
    tree(tmp_path, ADDRESS, POINT, schema=schema)
    with pytest.raises(SchemaCatalogError, match=message):
        load_catalog(tmp_path)


def test_one_name_in_two_versions_is_an_error(tmp_path):
    point_v2 = copy.deepcopy(POINT) | {"x-version": 2}
    point_v2["fields"].append(
        {"name": "alt", "type": "double", "default": 0.0, "doc": "Höhe.", "x-pii": "none"}
    )
    schema = event(
        uses("place", "de.hamm.types.Place"),
        uses("point", "de.hamm.types.GeoPoint", "quasi"),
        **{"x-type-versions": {"de.hamm.types.GeoPoint": 2}},
    )
    tree(tmp_path, ADDRESS, POINT, point_v2, PLACE, schema=schema)
    with pytest.raises(
        SchemaCatalogError, match=r"GeoPoint v1 \(through de\.hamm\.types\.Place v1\)"
    ):
        load_catalog(tmp_path)


@pytest.mark.parametrize(
    ("relative", "content", "rule", "message"),
    [
        ("_types/de.hamm.types.Address/v1.avsc", "{nope", "invalid-json", "bad JSON"),
        ("_types/Address/v1.avsc", ADDRESS, "layout", "not the full name of a type"),
        ("_types/de.hamm.types.Address/one.avsc", ADDRESS, "layout", "is not v<N>.avsc"),
        ("_types/de.hamm.types.Address/x/v1.avsc", ADDRESS, "layout", "expected _types/"),
        ("_types/de.hamm.types.Street/v1.avsc", ADDRESS, "type-name", "its folder names"),
        ("_types/de.hamm.types.Address/v1.avsc", '"string"', "type-name", "a named type"),
        ("_types/de.hamm.types.Address/v2.avsc", ADDRESS, "version-sequence", "consecutive"),
        (
            "_types/de.hamm.types.Address/v1.avsc",
            ADDRESS | {"fields": [{"name": "a", "type": "Nope", "doc": "A.", "x-pii": "none"}]},
            "unknown-type",  # a short name inside de.hamm.types is a shared type's
            "uses the shared type de.hamm.types.Nope",
        ),
        (
            "_types/de.hamm.types.Address/v1.avsc",
            ADDRESS | {"fields": [{"name": "n", "type": "int", "default": "x"}]},
            "invalid-schema",
            "bad default",
        ),
        (
            "_types/de.hamm.types.Address/v1.avsc",
            ADDRESS
            | {
                "fields": [
                    {
                        "name": "kind",
                        "type": {"type": "enum", "name": "Kind", "symbols": ["A"], "default": "A"},
                        "doc": "Art.",
                        "x-pii": "none",
                    }
                ]
            },
            "type-name",
            "defines de.hamm.types.Kind inside de.hamm.types.Address",
        ),
    ],
)
def test_a_bad_type_file_is_named(tmp_path, relative, content, rule, message):
    path = write(tmp_path, relative, content)
    with pytest.raises(SchemaCatalogError, match=message) as caught:
        load_catalog(tmp_path)
    where = path.parent if rule == "version-sequence" else path
    assert str(where) in str(caught.value)
    _, problems = load_types(tmp_path)
    assert rule in {p.rule for p in problems}


def test_types_naming_each_other_in_a_circle_are_an_error(tmp_path):
    one = {
        "type": "record",
        "name": "de.hamm.types.One",
        "doc": "1.",
        "fields": [
            {"name": "two", "type": ["null", "de.hamm.types.Two"], "default": None},
        ],
    }
    two = {
        "type": "record",
        "name": "de.hamm.types.Two",
        "doc": "2.",
        "fields": [
            {"name": "one", "type": ["null", "de.hamm.types.One"], "default": None},
        ],
    }
    tree(tmp_path, one, two)
    with pytest.raises(SchemaCatalogError, match="cycle"):
        load_catalog(tmp_path)
    assert {p.rule for p in load_types(tmp_path)[1]} == {"type-cycle"}


def test_a_type_subject_reads_its_level(tmp_path):
    tree(tmp_path, ADDRESS)
    write(tmp_path, "_types/de.hamm.types.Address/subject.yaml", "compatibility: full\n")
    assert load_catalog(tmp_path).types[A.name].compatibility == "FULL"
    write(tmp_path, "_types/de.hamm.types.Address/subject.yaml", "compatibility: SIDEWAYS\n")
    with pytest.raises(SchemaCatalogError, match=r"subject\.yaml"):
        load_catalog(tmp_path)


def test_standalone_schema_of_one_file(tmp_path):
    path = tree(tmp_path, ADDRESS, POINT, PLACE, schema=event(uses("place", "de.hamm.types.Place")))
    assert (
        standalone_schema(path) == load_catalog(tmp_path)["buergeramt.resident.moved"].latest.schema
    )
    place = standalone_schema(tmp_path / "_types/de.hamm.types.Place/v1.avsc")
    assert place["fields"][0]["type"]["name"] == "de.hamm.types.Address"
    lonely = write(tmp_path / "elsewhere", "v1.avsc", event())  # outside a tree: as it is
    assert standalone_schema(lonely) == event()
    broken = write(
        tmp_path, "buergeramt/resident.moved/v2.avsc", event(uses("a", "de.hamm.types.X"))
    )
    with pytest.raises(
        SchemaCatalogError, match=r"v2\.avsc: uses the shared type de\.hamm\.types\.X"
    ):
        standalone_schema(broken)


def test_compat_command_resolves_the_shared_types(tmp_path):
    v1 = tree(tmp_path, ADDRESS, schema=event(uses("address", "de.hamm.types.Address")))
    v2 = write(
        tmp_path,
        "buergeramt/resident.moved/v2.avsc",
        event(uses("address", "de.hamm.types.Address"), uses("n", "int", "none") | {"default": 0}),
    )
    runner = CliRunner()
    result = runner.invoke(app, ["compat", str(v1), str(v2), "--level", "FULL"])
    assert result.exit_code == 0, result.output
    write(
        tmp_path, "buergeramt/resident.moved/v2.avsc", event(uses("address", "de.hamm.types.Nope"))
    )
    result = runner.invoke(app, ["compat", str(v1), str(v2)])
    assert result.exit_code == 2 and "de.hamm.types.Nope" in result.output


# --- the lint ---------------------------------------------------------------------------------


def test_a_tree_with_shared_types_lints_clean(tmp_path):
    tree(tmp_path, ADDRESS, POINT, PLACE, schema=event(uses("place", "de.hamm.types.Place")))
    assert rules(tmp_path) == []


def test_a_type_field_without_x_pii_is_reported_once_in_the_type_file(tmp_path):
    address = copy.deepcopy(ADDRESS)
    del address["fields"][1]["x-pii"]
    del address["doc"]
    tree(
        tmp_path,
        address,
        schema=event(uses("a", "de.hamm.types.Address"), uses("b", "de.hamm.types.Address")),
    )
    assert rules(tmp_path) == [
        ("_types/de.hamm.types.Address/v1.avsc", "missing-doc", None),
        ("_types/de.hamm.types.Address/v1.avsc", "missing-x-pii", "postcode"),
    ]


def test_a_shared_enum_needs_a_doc_and_a_default(tmp_path):
    channel = {
        "type": "enum",
        "name": "de.hamm.types.ReportChannel",
        "symbols": ["PHONE", "OTHER"],
    }
    tree(tmp_path, channel, schema=event(uses("channel", "de.hamm.types.ReportChannel", "none")))
    assert rules(tmp_path) == [
        ("_types/de.hamm.types.ReportChannel/v1.avsc", "missing-doc", None),
        ("_types/de.hamm.types.ReportChannel/v1.avsc", "enum-default", None),
    ]


def test_lint_reports_reference_problems_and_goes_on(tmp_path):
    tree(tmp_path, ADDRESS, schema=event(uses("a", "de.hamm.types.Adress")))
    write(tmp_path, "ordnungsamt/noise-complaint.filed/v1.avsc", "{nope")
    write(tmp_path, "_types/de.hamm.types.Bad/v1.avsc", ADDRESS)
    assert rules(tmp_path) == [
        ("_types/de.hamm.types.Bad/v1.avsc", "type-name", None),
        ("buergeramt/resident.moved/v1.avsc", "unknown-type", None),
        ("ordnungsamt/noise-complaint.filed/v1.avsc", "invalid-json", None),
    ]


def test_a_user_of_a_broken_type_says_so(tmp_path):
    broken = ADDRESS | {"fields": [{"name": "n", "type": "int", "default": "x", "doc": "N."}]}
    tree(tmp_path, broken, schema=event(uses("a", "de.hamm.types.Address")))
    found = lint(tmp_path)
    assert [(e.rule, e.file.name) for e in found] == [
        ("invalid-schema", "v1.avsc"),
        ("invalid-schema", "v1.avsc"),
    ]
    assert "not valid itself" in found[1].message


def test_an_event_schema_may_not_define_a_shared_type_itself(tmp_path):
    tree(tmp_path, schema=event(uses("a", ADDRESS)))
    assert rules(tmp_path) == [("buergeramt/resident.moved/v1.avsc", "redefines-type", None)]


def test_incompatible_type_versions_are_reported(tmp_path):
    v2 = copy.deepcopy(ADDRESS) | {"x-version": 2}
    v2["fields"].append({"name": "city", "type": "string", "doc": "Ort.", "x-pii": "quasi"})
    tree(tmp_path, ADDRESS, v2)
    assert rules(tmp_path) == [("_types/de.hamm.types.Address/v2.avsc", "incompatible", None)]


def test_a_subject_adopting_a_new_type_version_is_judged_on_its_standalone_form(tmp_path):
    # Address v2 adds a direct identifier: the event's v2 that adopts it needs an approval,
    # and a required field breaks the event's compatibility, though the event file is the same.
    v2 = copy.deepcopy(ADDRESS) | {"x-version": 2}
    v2["fields"].append(
        {
            "name": "phone",
            "type": ["null", "string"],
            "default": None,
            "doc": "Tel.",
            "x-pii": "direct",
        }
    )
    tree(tmp_path, ADDRESS, v2, schema=event(uses("address", "de.hamm.types.Address")))
    adopted = event(uses("address", "de.hamm.types.Address"))
    adopted["x-type-versions"] = {"de.hamm.types.Address": 2}
    write(tmp_path, "buergeramt/resident.moved/v2.avsc", adopted)
    assert rules(tmp_path) == [
        ("buergeramt/resident.moved/v2.avsc", "pii-approval-missing", "address.phone")
    ]


# --- the real tree ----------------------------------------------------------------------------


def test_the_real_types_and_who_uses_them():
    catalog = load_catalog(default_schemas_dir())
    assert set(catalog.types) == {
        "de.hamm.types.Address",
        "de.hamm.types.GeoPoint",
        "de.hamm.types.infrastructure.GeoPoint",
    }
    users: dict[str, set[str]] = {}
    for subject in catalog.values():
        for version in subject.versions:
            for ref in version.references:
                users.setdefault(ref.name, set()).add(subject.topic)
    assert users["de.hamm.types.Address"] == {
        "bauordnungsamt.building-permit.applied",
        "buergeramt.resident.deregistered",
        "buergeramt.resident.moved",
        "buergeramt.resident.registered",
        "jugendamt.daycare-place.requested",
    }
    # A coordinate that may point to a person is quasi-identifying; one of public
    # infrastructure is not: two types, classified as the data-protection officer reads them.
    assert users["de.hamm.types.GeoPoint"] == {
        "feuerwehr.incident.closed",
        "ordnungsamt.noise-complaint.filed",
        "ordnungsamt.parking-violation.recorded",
    }
    for name, pii in (
        ("de.hamm.types.GeoPoint", "quasi"),
        ("de.hamm.types.infrastructure.GeoPoint", "none"),
    ):
        assert {f["x-pii"] for f in catalog.types[name].latest.schema["fields"]} == {pii}
        for topic in users[name]:
            fields = {i.path: i.pii for i in iter_fields(catalog[topic].latest.schema)}
            assert {v for k, v in fields.items() if k.endswith((".lat", ".lon"))} == {pii}


def test_the_standalone_forms_keep_the_wire_names_of_the_nested_records():
    # Avro resolution matches nested records by unqualified name: what was registered before
    # (de.hamm.<department>.Address, ...GeoPoint) stays compatible with the standalone forms.
    for subject in load_catalog(default_schemas_dir()).values():
        for version in subject.versions:
            for ref in version.uses:
                assert ref.name.rpartition(".")[2] in ("Address", "GeoPoint")
            if not version.uses:
                continue
            # The same types in the namespaces they had before: a department's own.
            text = json.dumps(version.schema).replace("de.hamm.types.infrastructure.", "de.hamm.x.")
            before = json.loads(text.replace("de.hamm.types.", "de.hamm.y."))
            assert before != version.schema
            assert check_compatibility(version.schema, [before], "FULL") == []
            assert check_compatibility(before, [version.schema], "FULL") == []
