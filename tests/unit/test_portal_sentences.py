"""The agreement pages' sentences: one for every transform kind the hub has, in German a
citizen understands, generated from the transform and never written per agreement."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.agreements.model import TransformKind, TransformSpec
from portal.facts import load_facts
from portal.sentences import describe, field_sentence, key_sentence, label_of, where_sentence

REPO = Path(__file__).resolve().parents[2]

# (spec as an agreement writes it, words the sentence must contain)
CASES = [
    ("keep", ["unverändert"]),
    ("drop", ["nicht übermittelt"]),
    ("redact", ["Platzhalter", "„***“"]),
    ({"redact": "(geschwärzt)"}, ["„(geschwärzt)“", "nie der eigentliche Wert"]),
    ("pseudonymize", ["Pseudonym, das nur dieser Empfänger kennt", "nicht mit den Pseudonymen"]),
    ({"mask": 4}, ["die letzten 4 Zeichen", "Sternchen"]),
    ({"mask": 1}, ["das letzte Zeichen"]),
    ({"mask": 0}, ["vollständig unkenntlich"]),
    ({"truncate": "hour"}, ["volle Stunde"]),
    ({"truncate": "day"}, ["nur der Tag, ohne Uhrzeit"]),
    ({"truncate": "month"}, ["nur Monat und Jahr"]),
    ({"truncate": "year"}, ["nur das Jahr"]),
    ({"generalize": "year"}, ["nur das Jahr"]),
    ({"generalize": "quarter"}, ["nur Jahr und Quartal"]),
    ({"generalize": "month"}, ["nur Jahr und Monat"]),
    ({"age_band": 10}, ["Schritten von 10 Jahren", "ab 90 Jahren", "Geburtsdatum selbst"]),
    ({"age_band": [0, 18, 30, 65]}, ["0 bis 17 Jahre", "18 bis 29 Jahre", "65 Jahre und älter"]),
    ({"age_band": [18, 65]}, ["unter 18 Jahre", "18 bis 64 Jahre", "65 Jahre und älter"]),
    ({"age_band": [0, 1, 2]}, ["0 Jahre", "1 Jahr", "2 Jahre und älter"]),
    ({"bucket": 50}, ["Schritten von 50", "nicht der genaue Wert"]),
    ({"bucket": 0.5}, ["Schritten von 0,5"]),
    ({"bucket": [0, 100000, 500000]}, ["unter 0", "0 bis unter 100.000", "ab 500.000"]),
    ({"postcode_prefix": 3}, ["die ersten 3 Stellen der Postleitzahl"]),
    ({"postcode_prefix": 1}, ["die erste Stelle der Postleitzahl"]),
    ({"h3": 8}, ["H3-Auflösung 8", "km²", "nicht der genaue Ort"]),
    ({"h3": 0}, ["H3-Auflösung 0"]),
    ({"date_shift": 14}, ["höchstens 14", "je Person", "Abstände"]),
]


def spec(raw) -> TransformSpec:
    return TransformSpec.model_validate(raw)


@pytest.mark.parametrize(("raw", "words"), CASES, ids=[str(c[0]) for c in CASES])
def test_each_transform_reads_as_a_sentence(raw, words):
    text = describe(spec(raw))
    for word in words:
        assert word in text, (text, word)


def test_every_transform_kind_of_the_hub_has_cases():
    covered = {spec(raw).kind for raw, _ in CASES}
    assert covered == set(get_args(TransformKind))


def test_keeping_a_direct_identifier_says_so():
    assert "direkt erkennbar" in describe(spec("keep"), pii="direct")
    assert "direkt erkennbar" not in describe(spec("keep"), pii="quasi")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("drop", ["nicht übermittelt", "keiner Person zuordnen"]),
        ("pseudonymize", ["Pseudonym"]),
        ({"mask": 4}, ["die letzten 4 Zeichen"]),
        ("keep", ["direkt erkennbar"]),
        ("redact", ["Platzhalter"]),
    ],
)
def test_the_message_key_has_its_sentence(raw, words):
    sentence = key_sentence(spec(raw))
    assert sentence.label == "Kennung des Datensatzes"
    assert sentence.delivered == (spec(raw).kind != "drop")
    for word in words:
        assert word in sentence.text


@pytest.mark.parametrize(
    ("doc", "label"),
    [
        (
            "Geburtsdatum der Person (XÖV: geburtsdatum), z. B. für Altersbänder.",
            "Geburtsdatum der Person",
        ),
        ("Straßenname (XÖV: strasse), z. B. 'Weststraße'.", "Straßenname"),
        ("Fünfstellige Postleitzahl; in Hamm 59063 bis 59077.", "Fünfstellige Postleitzahl"),
        ("Zeitpunkt des Einzugs in die neue Wohnung.", "Zeitpunkt des Einzugs in die neue Wohnung"),
        (
            "Auskunftssperre nach § 51 BMG eingetragen: Empfänger dürfen nichts.",
            "Auskunftssperre nach § 51 BMG eingetragen",
        ),
        ("", "birth_date"),
        (None, "birth_date"),
    ],
)
def test_a_field_is_named_by_the_head_of_its_doc(doc, label):
    assert label_of(doc, "birth_date") == label


@pytest.mark.parametrize(
    ("where", "text"),
    [
        (None, None),
        ({"city": {"eq": "Hamm"}}, "Nur Ereignisse, bei denen Ort gleich „Hamm“ ist."),
        ({"weight": {"gte": 3.5}}, "Nur Ereignisse, bei denen weight mindestens 3,5 ist."),
        ({"city": {"in": ["Hamm", "Unna"]}}, "Ort einer von „Hamm“, „Unna“ ist"),
        ({"city": {"not_in": ["Unna"]}}, "Ort keiner von „Unna“ ist"),
        ({"phone": {"exists": False}}, "phone nicht angegeben ist"),
        ({"flag": {"eq": True}}, "flag gleich ja ist"),
        (
            {"any": [{"city": {"eq": "Hamm"}}, {"n": {"lt": 5}}]},
            "(Ort gleich „Hamm“ ist oder n kleiner als 5 ist)",
        ),
        ({"not": {"city": {"ne": "Hamm"}}}, "nicht (Ort ungleich „Hamm“ ist)"),
        (
            {"all": [{"n": {"gt": 1}}, {"n": {"lte": 9}}]},
            "(n größer als 1 ist und n höchstens 9 ist)",
        ),
    ],
)
def test_the_row_filter_in_words(where, text):
    found = where_sentence(where, {"city": "Ort"})
    if text is None:
        assert found is None
    else:
        assert text in found


# -- properties -------------------------------------------------------------------------------

specs = st.one_of(
    st.sampled_from(["keep", "drop", "redact", "pseudonymize"]),
    st.builds(
        lambda v: {"redact": v}, st.one_of(st.text(max_size=10), st.integers(), st.booleans())
    ),
    st.builds(lambda n: {"mask": n}, st.integers(0, 40)),
    st.builds(lambda u: {"truncate": u}, st.sampled_from(["hour", "day", "month", "year"])),
    st.builds(lambda u: {"generalize": u}, st.sampled_from(["year", "quarter", "month"])),
    st.builds(lambda n: {"age_band": n}, st.integers(1, 100)),
    st.builds(
        lambda xs: {"age_band": sorted(set(xs))},
        st.lists(st.integers(0, 120), min_size=1, max_size=8),
    ),
    st.builds(lambda n: {"bucket": n}, st.integers(1, 10**9)),
    st.builds(
        lambda xs: {"bucket": sorted(set(xs))},
        st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=6),
    ),
    st.builds(lambda n: {"postcode_prefix": n}, st.integers(1, 5)),
    st.builds(lambda n: {"h3": n}, st.integers(0, 15)),
    st.builds(lambda n: {"date_shift": n}, st.integers(1, 365)),
)
labels = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


@given(specs, labels, st.sampled_from(["direct", "quasi", "sensitive", "none", None]))
def test_every_field_under_any_transform_gets_a_sentence(raw, label, pii):
    s = field_sentence("a.b", spec(raw), label=label, pii=pii)
    assert s.text.startswith(f"{label}: ")
    assert s.what and "None" not in s.what
    assert s.delivered == (s.kind != "drop")


def test_every_field_of_every_shipped_agreement_gets_a_sentence():
    facts = load_facts(REPO / "catalog", REPO / "schemas")
    assert not facts.problems
    assert facts.agreements
    for a in facts.agreements.values():
        assert [s.path for s in a.sentences] == list(a.agreement.fields)
        for s in a.sentences:
            assert s.label and s.what and s.label != s.path, (a.id, s)


def test_the_statistics_office_gets_age_bands_and_districts_of_a_move():
    """The question of the issue: what of a change of address reaches the Statistikstelle."""
    facts = load_facts(REPO / "catalog", REPO / "schemas")
    a = facts.agreements["statistikstelle-resident-moved"]
    text = {s.path: s.text for s in a.sentences}
    assert text["birth_date"].startswith("Geburtsdatum der Person: nur die Altersgruppe")
    assert "die ersten 3 Stellen der Postleitzahl" in text["new_address.postcode"]
    assert text["moved_at"].endswith("nur Monat und Jahr")
    assert "keiner Person zuordnen" in a.key.text
    assert "Neue Anschrift – Straßenname" in a.withheld
