"""File-drop mappings (validation errors name the file and key), rows to records, CSV and
JSON-lines reading with line numbers, and the reject file's cut-back on restart."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.schemas.catalog import standalone_schema
from producers.connectors.files import RejectFile, event_id
from producers.connectors.mapping import (
    MappingError,
    RowErrors,
    bind,
    load_mapping,
    parse_mapping,
    schema_fields,
)
from producers.connectors.readers import FileFormatError, Row, read_csv, read_jsonl

REPO = Path(__file__).resolve().parents[2]
MAPPING = REPO / "catalog" / "mappings" / "ordnungsamt-parking-violations.yaml"
SAMPLE = REPO / "catalog" / "mappings" / "ordnungsamt-parking-violations.sample.csv"
PARKING = standalone_schema(REPO / "schemas/ordnungsamt/parking-violation.recorded/v1.avsc")
TREE = standalone_schema(REPO / "schemas/umweltamt/tree.inspected/v1.avsc")


def bound():
    return bind(load_mapping(MAPPING), PARKING)


def mapping(**changes):
    data = {
        "topic": "ordnungsamt.parking-violation.recorded",
        "source": "/hamm/ordnungsamt/test",
        "columns": {
            "AZ": "violation_id",
            "Zeit": {"field": "occurred_at", "type": "timestamp"},
            "Kz": "licence_plate",
            "Lat": "location.lat",
            "Lon": "location.lon",
            "Str": "street",
            "PLZ": "postcode",
            "Betrag": "fine_eur",
            "DN": "officer_id",
            "Beh": "obstruction",
        },
        "defaults": {"violation_type": "OTHER"},
    }
    data.update(changes)
    return parse_mapping(data, "m.yaml")


ROW = {
    "AZ": "A-1",
    "Zeit": "24.11.2026 07:45",
    "Kz": "HAM-A 1",
    "Lat": "51,68",
    "Lon": "7,82",
    "Str": "Weg",
    "PLZ": "59065",
    "Betrag": "55",
    "DN": "OD-1",
    "Beh": "nein",
}


# -- loading ------------------------------------------------------------------------------------


def test_the_shipped_mapping_binds_to_its_schema():
    b = bound()
    assert b.topic == "ordnungsamt.parking-violation.recorded"
    assert {c.column for c in b.columns} >= {"Aktenzeichen", "Tatzeit", "Längengrad"}
    kinds = {c.column: c.type for c in b.columns}
    assert kinds["Aktenzeichen"] == "string" and kinds["Tatbestand"] == "enum"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"topic": "Ordnungsamt"}, "m.yaml: topic: String should match pattern"),
        ({"source": "hamm"}, "m.yaml: source: String should match pattern"),
        ({"format": "xlsx"}, "m.yaml: format: Input should be 'csv' or 'jsonl'"),
        ({"delimiter": ";;"}, "m.yaml: delimiter"),
        ({"decimal": ";"}, "m.yaml: decimal"),
        ({"timezone": "Europe/Hamm"}, "m.yaml: timezone: unknown time zone 'Europe/Hamm'"),
        (
            {"columns": {"AZ": {"field": "violation_id", "type": "money"}}},
            "m.yaml: columns.AZ.type",
        ),
        ({"columns": {"AZ": {"feld": "violation_id"}}}, "m.yaml: columns.AZ.feld: Extra inputs"),
        ({"colums": {}}, "m.yaml: colums: Extra inputs are not permitted"),
    ],
)
def test_structural_errors_name_file_and_key(changes, fragment):
    with pytest.raises(MappingError) as info:
        mapping(**changes)
    assert fragment in str(info.value)


def test_missing_keys_are_named():
    with pytest.raises(MappingError, match=r"m\.yaml: topic: Field required"):
        parse_mapping({"source": "/x"}, "m.yaml")
    with pytest.raises(MappingError, match=r"m\.yaml: expected a mapping"):
        parse_mapping(["x"], "m.yaml")


def test_load_mapping_names_the_file(tmp_path):
    with pytest.raises(MappingError, match=r"nope\.yaml: cannot read"):
        load_mapping(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("topic: [")
    with pytest.raises(MappingError, match=r"bad\.yaml: not valid YAML"):
        load_mapping(bad)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        (
            {"columns": {**mapping().model.model_dump()["columns"], "X": "colour"}},
            "m.yaml: columns.X.field: 'colour' is not a field of ordnungsamt.parking-violation.recorded",
        ),
        (
            {
                "columns": {
                    **mapping().model.model_dump()["columns"],
                    "T": {"field": "violation_type", "values": {"Gehweg": "PAVEMENT"}},
                }
            },
            "m.yaml: columns.T.values.Gehweg: 'PAVEMENT' is not a symbol of violation_type",
        ),
        (
            {"columns": {**mapping().model.model_dump()["columns"], "K2": "licence_plate"}},
            "columns.K2.field: licence_plate is also filled by column 'Kz'",
        ),
        (
            {
                "columns": {
                    **mapping().model.model_dump()["columns"],
                    "P": {"field": "postcode", "values": {"a": "b"}},
                }
            },
            "columns.P.values: only enum fields take values",
        ),
        (
            {"constants": {"location.alt": 3}},
            "m.yaml: constants.location.alt: 'location.alt' is not a field",
        ),
        ({"defaults": {"nope": 3}}, "m.yaml: defaults.nope: 'nope' is not a field"),
    ],
)
def test_schema_errors_name_file_and_key(changes, fragment):
    with pytest.raises(MappingError) as info:
        bind(mapping(**changes), PARKING)
    assert fragment in str(info.value)


def test_a_required_field_nobody_provides_is_named():
    columns = dict(mapping().model.model_dump()["columns"])
    del columns["Kz"]
    with pytest.raises(MappingError) as info:
        bind(mapping(columns=columns), PARKING)
    assert (
        "m.yaml: field licence_plate of ordnungsamt.parking-violation.recorded is required"
        in str(info.value)
    )
    # a constant or a default provides it too
    bind(mapping(columns=columns, constants={"licence_plate": "UNBEKANNT"}), PARKING)


def test_schema_fields_walk_nested_records_and_named_references():
    fields = schema_fields(TREE)
    assert fields["location.lat"].kind == "double"
    assert fields["next_inspection_due"].kind == "date"
    assert (
        fields["condition"].kind == "enum"
        and fields["condition"].avro_type["symbols"][0] == "HEALTHY"
    )
    assert not fields["occurred_at"].nullable


# -- rows to records ----------------------------------------------------------------------------


def test_a_row_becomes_a_record_with_types_from_the_schema():
    record = bind(mapping(), PARKING).record(ROW)
    assert record["occurred_at"] == datetime(2026, 11, 24, 6, 45, tzinfo=UTC)
    assert record["location"] == {"lat": 51.68, "lon": 7.82}
    assert record["fine_eur"] == 55 and record["obstruction"] is False
    assert record["violation_type"] == "OTHER"  # the mapping's default


def test_enum_values_by_mapping_symbol_or_case_insensitively():
    b = bound()
    row = {
        "Aktenzeichen": "A",
        "Tatzeit": "24.11.2026 07:45",
        "Kennzeichen": "K",
        "Breitengrad": "51,6",
        "Längengrad": "7,8",
        "Straße": "S",
        "PLZ": "59065",
        "Verwarngeld": "55",
        "Dienstnummer": "D",
        "Behinderung": "ja",
    }
    assert b.record({**row, "Tatbestand": "Gehweg"})["violation_type"] == "SIDEWALK"
    assert b.record({**row, "Tatbestand": "FIRE_LANE"})["violation_type"] == "FIRE_LANE"
    assert b.record({**row, "Tatbestand": "bus_stop"})["violation_type"] == "BUS_STOP"
    assert b.record({**row, "Tatbestand": ""})["violation_type"] == "OTHER"  # mapping default


def test_every_problem_of_a_row_names_column_and_field():
    with pytest.raises(RowErrors) as info:
        bind(mapping(), PARKING).record({**ROW, "Zeit": "", "Lat": "51.68", "Beh": "vielleicht"})
    problems = {(e.column, e.field) for e in info.value.errors}
    assert problems == {("Lat", "location.lat"), ("Beh", "obstruction")}
    assert "column 'Lat' field location.lat: '51.68' is not a number" in str(info.value)
    # an empty required cell is reported once the cells parse
    with pytest.raises(RowErrors) as info:
        bind(mapping(), PARKING).record({**ROW, "Zeit": " "})
    assert str(info.value) == "column 'Zeit' field occurred_at: empty, but the field is required"


def test_constants_and_defaults():
    columns = dict(mapping().model.model_dump()["columns"])
    del columns["DN"]
    b = bind(
        mapping(
            columns=columns,
            constants={"officer_id": "OD-0"},
            defaults={"fine_eur": 10, "violation_type": "OTHER"},
        ),
        PARKING,
    )
    record = b.record({**ROW, "Betrag": ""})
    assert record["officer_id"] == "OD-0" and record["fine_eur"] == 10


def test_json_lines_without_columns_convert_objects_directly():
    b = bind(
        parse_mapping({"topic": "umweltamt.tree.inspected", "source": "/x", "format": "jsonl"}),
        TREE,
    )
    obj = {
        "tree_id": "B-1",
        "occurred_at": "2026-11-25T09:30:00+01:00",
        "location": {"lat": 51.6, "lon": 7.8},
        "species": "Tilia",
        "trunk_circumference_cm": 80,
        "height_m": 9,
        "condition": "HEALTHY",
        "measures": ["PRUNING"],
        "inspector_id": "UA-1",
        "next_inspection_due": "2027-11-25",
    }
    assert b.record(obj)["height_m"] == 9.0
    with pytest.raises(RowErrors, match="field measures\\[0\\]"):
        b.record({**obj, "measures": ["ABHOLZEN"]})


def test_json_lines_with_columns_take_typed_values_as_they_are():
    b = bind(mapping(format="jsonl"), PARKING)
    record = b.record({**ROW, "Betrag": 70, "Lat": 51.7, "Beh": True})
    assert (record["fine_eur"], record["location"]["lat"], record["obstruction"]) == (
        70,
        51.7,
        True,
    )


# -- reading files ------------------------------------------------------------------------------


def test_csv_rows_carry_their_starting_line():
    text = 'a;b\n1;2\n\n"multi\nline";3\n4;5;6\n7;8\n'
    parsed = read_csv(text)
    rows = list(parsed.rows)
    assert parsed.header == ["a", "b"]
    assert [(r.line, r.cells, r.error) for r in rows] == [
        (2, {"a": "1", "b": "2"}, None),
        (4, {"a": "multi\nline", "b": "3"}, None),
        (6, None, "expected 2 cells (header), got 3"),
        (7, {"a": "7", "b": "8"}, None),
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        (";\n1;2", "the header is empty"),
        ("a;a\n1;2", "duplicate column(s) a"),
    ],
)
def test_bad_csv_headers(text, fragment):
    with pytest.raises(FileFormatError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        read_csv(text)


def test_the_sample_csv_reads():
    parsed = read_csv(SAMPLE.read_text(encoding="utf-8"))
    rows = list(parsed.rows)
    assert len(rows) == 10 and all(r.error is None for r in rows)
    assert bound().missing_columns(parsed.header) == []
    assert bound().missing_columns(["Aktenzeichen"])[0] == "Tatzeit"


def test_jsonl_rows():
    rows = list(read_jsonl('{"a": 1}\n\nnot json\n[1]\n{"b": 2}\n').rows)
    assert [(r.line, r.cells) for r in rows] == [(1, {"a": 1}), (3, None), (4, None), (5, {"b": 2})]
    assert rows[1].error.startswith("not valid JSON") and rows[2].error == "expected a JSON object"


# -- reject file and event ids ------------------------------------------------------------------


def test_reject_file_is_cut_back_to_the_committed_line_of_its_own_file(tmp_path):
    path = tmp_path / "rejects" / "x.csv.rejects.csv"
    with RejectFile(path, "a" * 64, ["A", "B"]) as rejects:
        for line in (3, 5, 9):
            rejects.write(Row(line, None, [f"a{line}", "b"]), f"bad {line}")
    with RejectFile(path, "b" * 64, ["A", "B"]) as other:  # another export of the same name
        other.write(Row(12, None, ["x", "y"]), "other")
    RejectFile(path, "a" * 64, ["A", "B"]).cut_back(5)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0] == ["_line", "_error", "_sha256", "A", "B"]
    assert [r[0] for r in rows[1:]] == ["3", "5", "12"]


def test_event_ids_are_deterministic_per_file_and_line():
    assert event_id("ab", 2) == event_id("ab", 2)
    assert len({event_id("ab", 2), event_id("ab", 3), event_id("ac", 2)}) == 3
