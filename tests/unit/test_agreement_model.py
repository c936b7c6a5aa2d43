"""Loading agreements from YAML: the model, transform specs, and errors naming file and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from test_agreement_fixtures import agreement

from hub.agreements.errors import AgreementError
from hub.agreements.model import TransformSpec, load_agreement, load_agreements

EXAMPLE = """\
id: ordnungsamt-resident-moved
subscriber: ordnungsamt
source: buergeramt.resident.moved
purpose: Zustellung von Bescheiden an die aktuelle Anschrift
legal_basis: "§ 34 Abs. 1 BMG"
valid_until: 2027-12-31
where: {new_address.city: {eq: Hamm}}
fields:
  resident_id: pseudonymize
  birth_date: {generalize: year}
  new_address.postcode: keep
  moved_at: {truncate: day}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_design_example_loads(tmp_path: Path) -> None:
    write(tmp_path, "ordnungsamt-resident-moved.yaml", EXAMPLE)
    (a,) = load_agreements(tmp_path)
    assert a.id == "ordnungsamt-resident-moved"
    assert a.valid_from is None and a.valid_until == dt.date(2027, 12, 31)
    assert a.topic == "deliver.ordnungsamt.buergeramt.resident.moved"
    assert a.key == TransformSpec(kind="pseudonymize")
    assert a.fields["birth_date"] == TransformSpec(kind="generalize", arg="year")
    assert a.where == {"new_address.city": {"eq": "Hamm"}}
    assert not a.allows_identifying
    assert a.origin.endswith("ordnungsamt-resident-moved.yaml")


@pytest.mark.parametrize(
    ("raw", "kind", "arg", "text"),
    [
        ("keep", "keep", None, "keep"),
        ("drop", "drop", None, "drop"),
        ("redact", "redact", None, "redact"),
        ({"redact": "[x]"}, "redact", "[x]", "redact: [x]"),
        ("pseudonymize", "pseudonymize", None, "pseudonymize"),
        ({"mask": 4}, "mask", 4, "mask: 4"),
        ({"truncate": "day"}, "truncate", "day", "truncate: day"),
        ({"generalize": "quarter"}, "generalize", "quarter", "generalize: quarter"),
        ({"age_band": 10}, "age_band", 10, "age_band: 10"),
        ({"age_band": [0, 18, 65]}, "age_band", (0, 18, 65), "age_band: [0, 18, 65]"),
        ({"bucket": 1000}, "bucket", 1000, "bucket: 1000"),
        ({"bucket": [-1.5, 0, 100000]}, "bucket", (-1.5, 0, 100000), "bucket: [-1.5, 0, 100000]"),
        ({"postcode_prefix": 3}, "postcode_prefix", 3, "postcode_prefix: 3"),
        ({"h3": 8}, "h3", 8, "h3: 8"),
        ({"date_shift": 30}, "date_shift", 30, "date_shift: 30"),
    ],
)
def test_transform_specs(raw: Any, kind: str, arg: Any, text: str) -> None:
    spec = TransformSpec.model_validate(raw)
    assert (spec.kind, spec.arg, str(spec)) == (kind, arg, text)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("anonymize", "unknown transform 'anonymize'"),
        ("truncate", "truncate needs an argument"),
        ({"keep": True}, "keep takes no argument"),
        ({"truncate": "week"}, "truncate takes one of hour, day, month, year"),
        ({"generalize": "day"}, "generalize takes one of year, quarter, month"),
        ({"mask": -1}, "mask takes"),
        ({"mask": True}, "mask takes"),
        ({"age_band": 0}, "age_band takes"),
        ({"age_band": [18, 0]}, "age_band takes"),
        ({"age_band": [0, 18, 18]}, "age_band takes"),
        ({"bucket": 0}, "bucket takes"),
        ({"bucket": [5, 1]}, "bucket takes"),
        ({"bucket": []}, "bucket takes"),
        ({"bucket": ["a"]}, "bucket takes"),
        ({"postcode_prefix": 0}, "postcode_prefix takes"),
        ({"h3": 16}, "h3 takes a resolution 0..15"),
        ({"h3": -1}, "h3 takes a resolution 0..15"),
        ({"date_shift": 0}, "date_shift takes"),
        ({"redact": [1]}, "redact takes a constant"),
        ({"truncate": "day", "mask": 2}, "one-key mapping"),
        (3, "one-key mapping"),
        ({"frobnicate": 1}, "unknown transform 'frobnicate'"),
        ({"mask": None}, "mask needs an argument"),
        ({"kind": "mask", "arg": -5}, "mask takes"),  # the model form is checked as well
        ({"kind": "keep", "arg": 1}, "keep takes no argument"),
        ({"kind": "eval"}, "unknown transform 'eval'"),
    ],
)
def test_bad_transform_specs(raw: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TransformSpec.model_validate(raw)


def problems(tmp_path: Path, text: str, name: str = "a.yaml") -> list[str]:
    write(tmp_path, name, text)
    with pytest.raises(AgreementError) as info:
        load_agreements(tmp_path)
    return [str(i) for i in info.value.issues]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("valid_until: 2027-12-31", "valid_until: 20271231"),
            "a.yaml: valid_until: expected a date",
        ),
        (("valid_until: 2027-12-31", "valid_until: 2027-12-31T00:00:00"), "a.yaml: valid_until"),
        (("valid_until: 2027-12-31\n", ""), "a.yaml: valid_until: Field required"),
        (
            ("birth_date: {generalize: year}", "birth_date: {generalize: week}"),
            "a.yaml: fields.birth_date: generalize takes one of year, quarter, month",
        ),
        (
            ("resident_id: pseudonymize", "resident_id: anonymize"),
            "a.yaml: fields.resident_id: unknown transform 'anonymize'",
        ),
        (
            ("source: buergeramt.resident.moved", "source: buergeramt"),
            "a.yaml: source: 'buergeramt' is not a topic <department>.<entity>.<event>",
        ),
        (("subscriber: ordnungsamt", "subscriber: Ordnungs Amt"), "a.yaml: subscriber:"),
        (
            ("{eq: Hamm}", "{like: Hamm}"),
            "a.yaml: where.new_address.city.like: unknown operator",
        ),
        (('legal_basis: "§ 34 Abs. 1 BMG"', "legal_basis: 34"), "a.yaml: legal_basis:"),
        (
            ("purpose: Zustellung von Bescheiden an die aktuelle Anschrift", "purpose: ''"),
            "a.yaml: purpose:",
        ),
        (("fields:", "colour: blue\nfields:"), "a.yaml: colour: Extra inputs are not permitted"),
        (
            ("  resident_id: pseudonymize", "  resident id: pseudonymize"),
            "a.yaml: fields: 'resident id' is not a dotted field path",
        ),
    ],
)
def test_load_errors_name_file_and_field(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    assert change[0] in EXAMPLE
    found = problems(tmp_path, EXAMPLE.replace(*change))
    assert any(p.startswith(str(tmp_path / expected.split(":")[0])) for p in found)
    assert any(expected.split(": ", 1)[1] in p for p in found), found


def test_multiple_problems_in_one_file_are_all_reported(tmp_path: Path) -> None:
    text = EXAMPLE.replace("{generalize: year}", "{generalize: week}").replace("keep", "kepp")
    found = problems(tmp_path, text)
    assert len(found) == 2
    assert "fields.birth_date" in found[0] and "fields.new_address.postcode" in found[1]


def test_problems_of_several_files_are_all_reported(tmp_path: Path) -> None:
    write(tmp_path, "b.yml", EXAMPLE.replace("id: ordnungsamt-resident-moved", "id: b"))
    found = problems(tmp_path, "just a string\n")
    assert found == [f"{tmp_path / 'a.yaml'}: an agreement must be a YAML mapping"]


def test_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", EXAMPLE)
    other = EXAMPLE.replace("subscriber: ordnungsamt", "subscriber: umweltamt")
    found = problems(tmp_path, other, name="b.yaml")
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'b.yaml'}: id: duplicate id")
    assert str(tmp_path / "a.yaml") in found[0]


def test_two_agreements_cannot_share_a_delivery_topic(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", EXAMPLE)
    other = EXAMPLE.replace("id: ordnungsamt-resident-moved", "id: other")
    (found,) = problems(tmp_path, other, name="b.yaml")
    assert "b.yaml: delivery_topic:" in found


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    text = EXAMPLE + "  resident_id: keep\n"
    (found,) = problems(tmp_path, text)
    assert "a.yaml: invalid YAML" in found and "duplicate key 'resident_id'" in found


def test_invalid_yaml(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, "id: [unclosed\n")
    assert "a.yaml: invalid YAML" in found


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(AgreementError, match="no such directory"):
        load_agreements(tmp_path / "nope")


def test_validity_order() -> None:
    with pytest.raises(AgreementError, match="valid_from 2028-01-01 is after valid_until"):
        agreement(valid_from=dt.date(2028, 1, 1))


def test_explicit_delivery_topic_and_key() -> None:
    a = agreement(delivery_topic="deliver.ordnungsamt.moves", key="drop")
    assert a.topic == "deliver.ordnungsamt.moves"
    assert a.key.kind == "drop"
    with pytest.raises(AgreementError, match="key: the message key takes one of"):
        agreement(key={"h3": 3})
    with pytest.raises(AgreementError, match="delivery_topic: 'a b' is not a valid Kafka topic"):
        agreement(delivery_topic="a b")


def test_sensitive_legal_basis_must_cite_art_9() -> None:
    assert agreement(sensitive_legal_basis="Art. 9 Abs. 2 lit. h DSGVO").sensitive_legal_basis
    assert agreement(sensitive_legal_basis="Art 9 (2)(g) GDPR i.V.m. § 22 BDSG")
    with pytest.raises(AgreementError, match=r"sensitive_legal_basis: .* must cite the Art\. 9"):
        agreement(sensitive_legal_basis="§ 34 BMG")


def test_allows_identifying_is_strict() -> None:
    with pytest.raises(AgreementError, match="allows_identifying"):
        agreement(allows_identifying="yes")


def test_at_least_one_field() -> None:
    with pytest.raises(AgreementError, match="fields"):
        agreement(fields={})


def test_load_agreement_unreadable(tmp_path: Path) -> None:
    with pytest.raises(AgreementError, match="cannot read"):
        load_agreement(tmp_path / "missing.yaml")
