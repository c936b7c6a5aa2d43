"""The record of processing activities (Art. 30 Abs. 1 DSGVO) generated from the catalog, and
the organisation file it names the controller and DPO from."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from portal.catalog_files import CatalogFileError
from portal.facts import load_facts
from portal.organisation import load_organisation
from portal.ropa import record_of_processing, retention_text

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 1)
WEEK = 7 * 86_400_000


@pytest.fixture(scope="module")
def facts():
    return load_facts(REPO / "catalog", REPO / "schemas")


@pytest.fixture(scope="module")
def record(facts):
    retention = {t: WEEK for t in facts.datasets}
    retention["deliver.statistikstelle.buergeramt.resident.moved"] = 30 * 86_400_000
    retention["hub.audit"] = -1
    return record_of_processing(facts, retention, TODAY)


def test_controller_and_dpo_from_the_organisation_file(record):
    assert record["controller"]["name"] == "Stadt Hamm, Der Oberbürgermeister"
    assert record["dpo"]["email"] == "datenschutz@stadt.hamm.de"
    assert record["title"].endswith("Art. 30 Abs. 1 DSGVO")


def test_one_activity_per_agreement_with_every_heading_of_art_30(record, facts):
    assert [a["id"] for a in record["activities"]] == list(facts.agreements)
    for a in record["activities"]:
        for key in (
            "purpose",
            "legal_basis",
            "data_subjects",
            "recipients",
            "third_country_transfers",
            "retention",
            "measures",
        ):
            assert a[key], (a["id"], key)
        personal = facts.datasets[a["source"]].personal
        assert bool(a["data_categories"]) or not personal or a["id"].startswith("ki-"), a["id"]


def test_the_statistics_activity(record):
    a = next(x for x in record["activities"] if x["id"] == "statistikstelle-resident-moved")
    assert a["purpose"].startswith("Kommunale Wanderungsstatistik")
    assert a["data_subjects"] == ["Einwohnerinnen und Einwohner mit Wohnsitz in Hamm"]
    categories = {c["label"]: c for c in a["data_categories"]}
    assert categories["Geburtsdatum der Person"]["classification_text"] == "personenbezogen"
    assert "Altersgruppe" in categories["Geburtsdatum der Person"]["form"]
    assert "Haupt- oder Nebenwohnung der gemeldeten Wohnung" not in categories  # not personal
    assert "Kennung des Datensatzes" not in categories  # key: drop
    assert a["recipients"][0]["description"] == "Kommunale Statistikstelle"
    assert [r["period"] for r in a["retention"]] == ["7 Tage", "30 Tage"]
    assert any("deny by default" in m for m in a["measures"])
    assert a["status"] == "gültig"


def test_special_categories_name_their_art_9_basis(record):
    a = next(x for x in record["activities"] if x["id"] == "jugendhilfeplanung-daycare-requested")
    assert "Art. 9 Abs. 2 lit. h DSGVO" in a["sensitive_legal_basis"]
    assert any(c["classification"] == "sensitive" for c in a["data_categories"])


def test_general_measures(record):
    text = " ".join(record["measures"])
    for words in (
        "SASL/SCRAM-SHA-512",
        "deny by default",
        "HMAC-SHA256",
        "hub.audit",
        "k = 5",
        "Schulungen",
    ):
        assert words in text
    assert record["audit_retention"]["period"].startswith("unbegrenzt")


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "nicht ermittelbar"),
        (-1, "unbegrenzt"),
        (86_400_000, "1 Tag"),
        (WEEK, "7 Tage"),
        (365 * 86_400_000, "1 Jahr"),
        (730 * 86_400_000, "2 Jahre"),
        (3_600_000, "1 Stunden"),
        (5_400_000, "1,5 Stunden"),
    ],
)
def test_retention_in_words(ms, text):
    assert retention_text(ms).startswith(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("controller: {name: X}\n", "controller.address: Field required"),
        ("[]\n", "expected a mapping"),
        (
            "controller: {name: X, address: Y, email: nope}\ndpo: {name: D, address: A, email: d@x.de}\nspatial: {municipality_key: '05915000', name: Hamm}\n",
            "controller.email: 'nope' is not an e-mail address",
        ),
        (
            "controller: {name: X, address: Y, email: a@b.de}\ndpo: {name: D, address: A, email: d@x.de}\nspatial: {municipality_key: '5915', name: Hamm}\n",
            "spatial.municipality_key",
        ),
        (
            "controller: {name: X, address: Y, email: a@b.de}\ndpo: {name: D, address: A, email: d@x.de}\nspatial: {municipality_key: '05915000', name: Hamm}\ndata_subjects: {Bad Key: x}\n",
            "data_subjects: 'Bad Key' is not <department>.<entity>",
        ),
        ("controller: [\n", "not valid YAML"),
    ],
)
def test_a_bad_organisation_file_names_the_file_and_field(tmp_path, text, fragment):
    path = tmp_path / "organisation.yaml"
    path.write_text(text)
    with pytest.raises(CatalogFileError) as error:
        load_organisation(path)
    assert str(path) in str(error.value) and fragment in str(error.value)


def test_a_missing_organisation_file_names_it(tmp_path):
    with pytest.raises(CatalogFileError, match=r"organisation\.yaml: cannot read"):
        load_organisation(tmp_path / "organisation.yaml")
