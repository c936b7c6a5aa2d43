"""Generated event models: never stale, one per topic, and they accept exactly what the
schemas accept."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import random
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import fastavro
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.schemas.catalog import SchemaFile, Subject, default_schemas_dir, load_catalog
from producers.models import MODELS, EventModel
from producers.models.generate import OUT_DIR, generate, render_department, stale_files
from producers.sdk.validation import find_problem
from producers.simulators import generate as simulate

CATALOG = load_catalog(default_schemas_dir())
REPO = Path(__file__).resolve().parents[2]


def test_committed_models_are_what_the_schemas_generate_byte_for_byte():
    files = generate()
    assert stale_files(files) == [], "run: python -m producers.models.generate"
    for name, source in files.items():
        assert (OUT_DIR / name).read_bytes() == source.encode("utf-8")


def test_generator_check_mode_exits_zero_when_up_to_date():
    done = subprocess.run(
        [sys.executable, "-m", "producers.models.generate", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_mode_names_a_stale_file(tmp_path):
    for name, source in generate().items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    (tmp_path / "buergeramt.py").write_text("# edited by hand\n", encoding="utf-8")
    assert stale_files(generate(), tmp_path) == ["buergeramt.py"]


def test_generated_code_is_ruff_clean():
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        pytest.skip("ruff not installed")
    for args in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [str(ruff), *args, str(OUT_DIR)], cwd=REPO, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_one_model_per_topic_with_its_topic():
    assert set(MODELS) == set(CATALOG)
    for topic, model in MODELS.items():
        assert topic == model.TOPIC
        assert issubclass(model, EventModel)
        assert model.__name__ == CATALOG[topic].latest.schema["name"]


def test_types_and_docs_follow_the_schema():
    from producers.models.buergeramt import ResidenceType, ResidentMoved

    fields = ResidentMoved.model_fields
    assert fields["occurred_at"].annotation is dt.datetime
    assert fields["birth_date"].annotation is dt.date
    assert fields["residence_type"].annotation is ResidenceType
    assert fields["information_block"].annotation == bool | None
    assert fields["information_block"].default is None
    assert fields["resident_id"].description.startswith("Ordnungsmerkmal der Person")
    assert issubclass(ResidenceType, str)
    assert [m.value for m in ResidenceType] == ["MAIN", "SECONDARY", "UNKNOWN"]


@settings(max_examples=60, deadline=None)
@given(topic=st.sampled_from(sorted(CATALOG)), seed=st.integers(0, 2**32 - 1))
def test_every_simulated_record_round_trips_through_its_model(topic, seed):
    _, record = simulate(topic, random.Random(seed))
    model = MODELS[topic].model_validate(record)
    dumped = model.to_avro()
    parsed = fastavro.parse_schema(CATALOG[topic].latest.schema)
    assert find_problem(parsed, dumped) is None
    from_model, from_dict = BytesIO(), BytesIO()
    fastavro.schemaless_writer(from_model, parsed, dumped)
    fastavro.schemaless_writer(from_dict, parsed, record)
    assert from_model.getvalue() == from_dict.getvalue()


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"residence_type": "HAUPTWOHNUNG"}, "residence_type"),
        ({"new_adress": {}}, "new_adress"),
        ({"birth_date": "kein Datum"}, "birth_date"),
        ({"new_address": {"street": "Weststraße"}}, "new_address.house_number"),
    ],
)
def test_models_refuse_what_the_schema_refuses(change, where):
    from producers.models.buergeramt import ResidentMoved

    record = simulate("buergeramt.resident.moved", random.Random(1))[1] | change
    with pytest.raises(pydantic.ValidationError) as caught:
        ResidentMoved.model_validate(record)
    assert where in {".".join(map(str, e["loc"])) for e in caught.value.errors()}


def test_avro_int_range_is_enforced():
    from producers.models.ordnungsamt import ParkingViolationRecorded

    record = simulate("ordnungsamt.parking-violation.recorded", random.Random(1))[1]
    with pytest.raises(pydantic.ValidationError, match="fine_eur"):
        ParkingViolationRecorded.model_validate(record | {"fine_eur": 2**31})


def _subject(department: str, name: str, schema: dict) -> Subject:
    path = Path(f"schemas/{department}/{name}/v1.avsc")
    file = SchemaFile(path, department, name, 1, schema)
    return Subject(file.topic, file.subject, "BACKWARD_TRANSITIVE", (file,))


def test_python_keywords_get_aliases_and_defaults_are_kept(tmp_path, monkeypatch):
    schema = {
        "type": "record",
        "name": "ThingHappened",
        "namespace": "de.hamm.test",
        "x-key": "id",
        "fields": [
            {"name": "id", "type": "string", "doc": "Id."},
            {"name": "class", "type": "string", "doc": 'Klasse "A" oder "B".'},
            {"name": "from", "type": ["null", "long"], "default": None, "doc": "Von."},
            {"name": "count", "type": "int", "default": 3, "doc": "Anzahl."},
            {
                "name": "tags",
                "type": {"type": "array", "items": "string"},
                "default": [],
                "doc": "Tags.",
            },
            {
                "name": "level",
                "type": {"type": "enum", "name": "Level", "symbols": ["LOW", "HIGH"]},
                "default": "LOW",
                "doc": "Stufe.",
            },
            {
                "name": "amount",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
                "doc": "Betrag.",
            },
        ],
    }
    source = render_department("testamt", [_subject("testamt", "thing.happened", schema)])
    (tmp_path / "testamt_models.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    model = importlib.import_module("testamt_models").ThingHappened
    assert model.TOPIC == "testamt.thing.happened"
    thing = model.model_validate({"id": "1", "class": "A", "amount": "1.50"})
    assert thing.class_ == "A"
    assert thing.to_avro() == {
        "id": "1",
        "class": "A",
        "from": None,
        "count": 3,
        "tags": [],
        "level": "LOW",
        "amount": thing.amount,
    }
    assert str(thing.amount) == "1.50"


def test_model_of_and_lazily_imported_names():
    import producers.models as models
    from producers.models import model_of
    from producers.models.buergeramt import ResidentMoved

    assert model_of("buergeramt.resident.moved") is ResidentMoved is models.ResidentMoved
    with pytest.raises(KeyError, match=r"no event model for topic 'x\.y\.z'"):
        model_of("x.y.z")
    with pytest.raises(AttributeError, match="NoSuchModel"):
        _ = models.NoSuchModel


def test_shared_types_live_in_one_module_and_are_re_exported():
    from producers.models import buergeramt, feuerwehr, types, umweltamt

    assert buergeramt.Address is types.Address  # `from producers.models.buergeramt import Address`
    assert "Address" in buergeramt.__all__
    assert "class Address" not in (OUT_DIR / "buergeramt.py").read_text(encoding="utf-8")
    assert feuerwehr.HydrantInspected.model_fields["location"].annotation is (
        types.InfrastructureGeoPoint
    )
    assert feuerwehr.IncidentClosed.model_fields["location"].annotation is types.GeoPoint
    assert umweltamt.TreeInspected.model_fields["location"].annotation is (
        types.InfrastructureGeoPoint
    )
    assert set(types.__all__) == {"Address", "GeoPoint", "InfrastructureGeoPoint"}


def test_a_schema_pinning_an_older_type_version_gets_a_class_of_its_own(tmp_path, monkeypatch):
    address = {
        "type": "record",
        "name": "de.hamm.types.Address",
        "doc": "Anschrift.",
        "fields": [{"name": "street", "type": "string", "doc": "Straße."}],
    }
    newer = {
        **address,
        "fields": [*address["fields"], {"name": "city", "type": "string", "default": "Hamm"}],
    }

    def event(name: str, **extra):
        return {
            "type": "record",
            "name": name,
            "namespace": "de.hamm.testamt",
            "x-key": "id",
            "fields": [
                {"name": "id", "type": "string"},
                {"name": "address", "type": "de.hamm.types.Address"},
            ],
            **extra,
        }

    files = {
        "_types/de.hamm.types.Address/v1.avsc": address,
        "_types/de.hamm.types.Address/v2.avsc": newer,
        "testamt/thing.happened/v1.avsc": event("ThingHappened"),  # Address v1
        "testamt/thing.moved/v1.avsc": event(
            "ThingMoved", **{"x-type-versions": {"de.hamm.types.Address": 2}}
        ),
    }
    for relative, schema in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(json.dumps(schema), encoding="utf-8")
    generated = generate(tmp_path)
    assert "class Address(RecordModel)" in generated["types.py"]
    assert "city: str" in generated["types.py"]  # the latest version
    source = generated["testamt.py"]
    assert "from producers.models.types import Address" in source
    assert "class ThingHappenedAddress(RecordModel)" in source  # v1, pinned by default
    out = tmp_path / "out" / "producers_models_test"
    out.mkdir(parents=True)
    for name, text in generated.items():
        text = text.replace("producers.models.types", "producers_models_test.types")
        (out / name).write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(out.parent))
    module = importlib.import_module("producers_models_test.testamt")
    assert module.ThingMoved.model_fields["address"].annotation is module.Address
    assert "city" not in module.ThingHappenedAddress.model_fields
