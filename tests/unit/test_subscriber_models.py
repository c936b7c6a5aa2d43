"""Generated delivery models: never stale, one per agreement, and they accept exactly what the
router delivers under each sample agreement."""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import fastavro
import pytest

from consumers.subscriber.models import AGREEMENTS, MODELS, DeliveryModel, model_for, model_of
from consumers.subscriber.models.base import fingerprint
from consumers.subscriber.models.generate import (
    OUT_DIR,
    default_agreements_dir,
    delivery_schemas,
    generate,
    stale_files,
)
from hub.agreements import compile_agreement
from hub.agreements.model import load_agreements
from hub.schemas.catalog import default_schemas_dir, load_catalog
from producers.simulators import generate as simulate

REPO = Path(__file__).resolve().parents[2]
AGREEMENTS_LOADED = load_agreements(default_agreements_dir())
CATALOG = load_catalog(default_schemas_dir())
SPECS = {s.agreement.id: s for s in delivery_schemas(AGREEMENTS_LOADED, CATALOG)}
SECRET = b"unit-test-master-secret-0123456789"


def test_committed_models_are_what_the_catalog_generates_byte_for_byte():
    files = generate()
    assert stale_files(files, OUT_DIR) == [], "run: python -m consumers.subscriber.models.generate"
    for name, source in files.items():
        assert (OUT_DIR / name).read_bytes() == source.encode("utf-8")


def test_generator_check_mode_exits_zero_when_up_to_date():
    done = subprocess.run(
        [sys.executable, "-m", "consumers.subscriber.models.generate", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_mode_names_a_stale_file(tmp_path):
    for name, source in generate().items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    (tmp_path / "ordnungsamt.py").write_text("# edited by hand\n", encoding="utf-8")
    assert stale_files(generate(), tmp_path) == ["ordnungsamt.py"]


def test_an_agreement_change_makes_the_models_stale(tmp_path):
    agreements = tmp_path / "agreements"
    agreements.mkdir()
    for path in default_agreements_dir().glob("*.yaml"):
        (agreements / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    changed = agreements / "statistikstelle-resident-moved.yaml"
    changed.write_text(changed.read_text().replace("  residence_type: keep\n", ""))
    assert sorted(stale_files(generate(agreements), OUT_DIR)) == [
        "__init__.py",
        "statistikstelle.py",
    ]


def test_generated_code_is_ruff_clean():
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        pytest.skip("ruff not installed")
    for args in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [str(ruff), *args, str(OUT_DIR)], cwd=REPO, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_one_model_per_agreement_carrying_the_agreement():
    assert set(MODELS) == {a.id for a in AGREEMENTS_LOADED} == set(AGREEMENTS)
    for agreement in AGREEMENTS_LOADED:
        model = model_of(agreement.id)
        assert issubclass(model, DeliveryModel)
        assert agreement.id == model.AGREEMENT
        assert agreement.topic == model.TOPIC
        assert agreement.source == model.SOURCE
        assert agreement.purpose == model.PURPOSE
        assert agreement.legal_basis == model.LEGAL_BASIS
        assert model.FINGERPRINT == SPECS[agreement.id].fingerprint == AGREEMENTS[agreement.id][2]
        assert model.__name__ == SPECS[agreement.id].schema["name"].rpartition(".")[2]
        assert model.__module__ == f"consumers.subscriber.models.{AGREEMENTS[agreement.id][0]}"


def test_the_delivery_schema_carries_purpose_and_legal_basis():
    for agreement in AGREEMENTS_LOADED:
        schema = SPECS[agreement.id].schema
        assert schema["x-agreement"] == agreement.id
        assert schema["x-purpose"] == agreement.purpose
        assert schema["x-legal-basis"] == agreement.legal_basis


@pytest.mark.parametrize("agreement", AGREEMENTS_LOADED, ids=lambda a: a.id)
def test_every_delivery_of_a_sample_agreement_fits_its_model(agreement):
    """What the router would deliver (compile, transform, encode, decode) validates against the
    generated model and dumps back to the same Avro bytes."""
    compiled = compile_agreement(agreement, CATALOG[agreement.source].latest.schema, SECRET)
    parsed = fastavro.parse_schema(compiled.output_schema)
    model = model_of(agreement.id)
    rng = random.Random(agreement.id)
    checked = 0
    for _ in range(40):
        key, record = simulate(agreement.source, rng)
        if not compiled.matches(record):
            continue
        _, value = compiled.transform(key, record)
        written = BytesIO()
        fastavro.schemaless_writer(written, parsed, value)
        decoded = fastavro.schemaless_reader(BytesIO(written.getvalue()), parsed, None)
        typed = model.model_validate(decoded)
        again = BytesIO()
        fastavro.schemaless_writer(again, parsed, typed.to_avro())
        assert again.getvalue() == written.getvalue()
        checked += 1
    assert checked >= 10, f"{agreement.id}: too few simulated events pass its filter"


def test_model_for_picks_the_model_of_exactly_that_shape():
    spec = SPECS["ordnungsamt-resident-moved"]
    model = model_of("ordnungsamt-resident-moved")
    assert model_for("ordnungsamt-resident-moved", spec.fingerprint) is model
    reworded = copy.deepcopy(spec.schema)
    reworded["x-purpose"] = reworded["doc"] = "Ein anderer Wortlaut desselben Zwecks"
    reworded["fields"][0]["doc"] = "anders beschrieben"
    assert model_for("ordnungsamt-resident-moved", fingerprint(reworded)) is model
    fewer = copy.deepcopy(spec.schema)
    fewer["fields"].pop()
    assert model_for("ordnungsamt-resident-moved", fingerprint(fewer)) is None
    assert model_for("an-agreement-nobody-generated", spec.fingerprint) is None
    assert model_for(None, spec.fingerprint) is None
    with pytest.raises(KeyError, match="no delivery model for agreement 'nope'"):
        model_of("nope")
