"""The access report and its German letter draft: recipients, forms from the agreement version,
times in Hamm's calendar, delivered values while kept; an empty answer for a person never seen;
never an identifier value; Markdown and HTML the same facts, escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.rights.letter import german_time, letter_blocks, to_html, to_markdown
from consumers.rights.lookup import find_hits
from consumers.rights.person import Person, keyed
from consumers.rights.report import Delivered, Recipient, build_report
from consumers.rights.versions import fold_versions
from hub.agreements.history import content_hash
from hub.agreements.model import load_agreement
from hub.receipts import identifier_hash, receipts_key
from hub.schemas.catalog import load_catalog

REPO = Path(__file__).resolve().parents[2]
KEY = receipts_key(b"test-master-secret-0123456789abcdef")
ORDNUNGSAMT = load_agreement(REPO / "catalog" / "agreements" / "ordnungsamt-resident-moved.yaml")
SOURCE = "buergeramt.resident.moved"
SCHEMAS = {t: s.latest.schema for t, s in load_catalog(REPO / "schemas").items()}
EVENT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
DELIVERED = datetime(2026, 11, 2, 9, 31, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def report_for(ids, delivered=None, recipients=None, agreement_hash=None):
    receipt = {
        "agreement_id": ORDNUNGSAMT.id,
        "agreement_hash": agreement_hash or content_hash(ORDNUNGSAMT),
        "subscriber": "ordnungsamt",
        "source_topic": SOURCE,
        "source_partition": 0,
        "delivery_topic": ORDNUNGSAMT.topic,
        "identifiers": ["resident_id"],
        "recorded_at": DELIVERED,
        "entries": [
            {"offset": 7, "event_time": EVENT, "hashes": [identifier_hash(KEY, "HAM-00004711")]}
        ],
    }
    person = Person.parse(ids)
    return build_report(
        case="DS-2026-0042",
        generated_at=NOW,
        since=None,
        identifier_names=person.names,
        hits=find_hits([receipt], keyed(person, KEY)),
        versions=fold_versions([], [ORDNUNGSAMT]),
        schemas=SCHEMAS,
        recipients=recipients
        or {"ordnungsamt": Recipient("ordnungsamt", "Ordnungsamt", "oa@hamm.de")},
        delivered=delivered or {},
    )


def test_the_report_names_the_recipient_forms_and_times():
    report = report_for(["resident_id=HAM-00004711"])
    data = report.as_json()
    assert data["found"] and data["deliveries"] == 1
    (recipient,) = data["recipients"]
    assert recipient["name"] == "Ordnungsamt"
    (agreement,) = recipient["agreements"]
    assert agreement["purpose"] == ORDNUNGSAMT.purpose
    assert agreement["legal_basis"] == "§ 34 Abs. 1 BMG"
    forms = {f["path"]: f["form"] for f in agreement["fields"]}
    assert forms["birth_date"] == "nur das Jahr"
    assert forms["moved_at"] == "nur der Tag, ohne Uhrzeit"
    assert "Pseudonym" in forms["resident_id"] and "(key)" in forms
    assert agreement["deliveries"][0]["delivery_id"] == f"{ORDNUNGSAMT.id}/{SOURCE}/0/7"
    assert agreement["deliveries"][0]["event_time"] == "2026-11-02T09:30:00Z"
    assert agreement["deliveries"][0]["retained"] is False
    text = to_markdown(letter_blocks(report))
    assert "Ordnungsamt" in text and "§ 34 Abs. 1 BMG" in text
    assert "2. November 2026, 10:30 Uhr" in text  # Hamm's time, CET
    assert "nicht mehr gespeichert" in text
    assert "Geburtsdatum" in text and "nur das Jahr" in text
    assert "(Ordnungsmerkmal der Person im Melderegister)" in text  # the id by its label
    for rendered in (text, to_html(letter_blocks(report)), orjson.dumps(data).decode()):
        assert "HAM-00004711" not in rendered


def test_the_delivered_values_appear_while_kept():
    kept = {
        f"{ORDNUNGSAMT.id}/{SOURCE}/0/7": Delivered(
            "ab12.KEY",
            {
                "resident_id": "ab12.PSEUDO",
                "birth_date": 1980,
                "new_address": {"postcode": "59065", "city": "Hamm"},
            },
        )
    }
    report = report_for(["resident_id=HAM-00004711"], delivered=kept)
    line = report.as_json()["recipients"][0]["agreements"][0]["deliveries"][0]
    assert line["retained"] and line["values"]["resident_id"] == "ab12.PSEUDO"
    text = to_markdown(letter_blocks(report))
    assert "`ab12.PSEUDO`" in text and "Fünfstellige Postleitzahl: `59065`" in text
    assert "nicht mehr gespeichert" not in text


def test_a_person_never_seen_gets_an_empty_well_formed_answer():
    report = report_for(["resident_id=HAM-99999999"])
    data = report.as_json()
    assert data == {
        **data,
        "found": False,
        "deliveries": 0,
        "recipients": [],
        "identifiers": ["resident_id"],
    }
    text = to_markdown(letter_blocks(report, ["Stadt Hamm"], "Die Datenschutzbeauftragte"))
    assert "keine Übermittlung" in text and "Ihre Rechte" in text
    assert "Die Datenschutzbeauftragte" in text
    html = to_html(letter_blocks(report))
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html


def test_an_unknown_version_is_said_not_guessed():
    report = report_for(["resident_id=HAM-00004711"], agreement_hash="0" * 16)
    assert report.problems and report.recipients[0].agreements[0].fields == []
    assert "nicht mehr ermitteln" in to_markdown(letter_blocks(report))


def test_german_time_follows_summer_time():
    assert german_time(datetime(2026, 7, 1, 8, 5, tzinfo=UTC)) == "1. Juli 2026, 10:05 Uhr"


@settings(max_examples=80, deadline=None)
@given(value=st.text(max_size=40), description=st.text(min_size=1, max_size=40))
def test_property_any_value_stays_inside_its_cell_and_is_escaped(value, description):
    kept = {f"{ORDNUNGSAMT.id}/{SOURCE}/0/7": Delivered(None, {"resident_id": value})}
    report = report_for(
        ["resident_id=HAM-00004711"],
        delivered=kept,
        recipients={"ordnungsamt": Recipient("ordnungsamt", description)},
    )
    blocks = letter_blocks(report)
    html = to_html(blocks)
    assert "<script" not in html.lower().replace("&lt;script", "")
    markdown = to_markdown(blocks)
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert all(line.count(" | ") - line.count("\\|") <= 3 for line in table)
