"""Erasure requests, planned without a broker: the person in each recipient's own key space,
exactly what that agreement's transforms delivered; nothing in clear; the feature store and
unknown versions get none; the request decodes under its own schema."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.rights.contract import ERASURE_SCHEMA, ERASURE_TYPE, LEGAL_GROUND
from consumers.rights.erasure import plan_erasure
from consumers.rights.lookup import find_hits, group_hits
from consumers.rights.person import Person, keyed
from consumers.rights.versions import fold_versions
from hub.agreements.compile import compile_agreement
from hub.agreements.history import agreement_bytes, content_hash
from hub.agreements.model import load_agreement, parse_agreement
from hub.receipts import identifier_hash, receipts_key
from hub.schemas.catalog import load_catalog
from producers.simulators import generate

REPO = Path(__file__).resolve().parents[2]
SECRET = b"test-master-secret-0123456789abcdef"
KEY = receipts_key(SECRET)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SOURCE = "buergeramt.resident.moved"
CATALOG = load_catalog(REPO / "schemas")
ORDNUNGSAMT = load_agreement(REPO / "catalog" / "agreements" / "ordnungsamt-resident-moved.yaml")
STATISTIK = load_agreement(REPO / "catalog" / "agreements" / "statistikstelle-resident-moved.yaml")
FEATURES = load_agreement(REPO / "catalog" / "agreements" / "ki-featurestore-resident-moved.yaml")
# The same terms for another recipient: its own key, so its own pseudonyms.
OTHER = parse_agreement(
    {
        **ORDNUNGSAMT.model_dump(mode="json"),
        "id": "kasse-resident-moved",
        "subscriber": "stadtkasse",
        "delivery_topic": None,
    },
    "<test>",
)


def receipt_of(agreement, offsets_values, at=NOW - timedelta(days=30)):
    return {
        "agreement_id": agreement.id,
        "agreement_hash": content_hash(agreement),
        "subscriber": agreement.subscriber,
        "source_topic": agreement.source,
        "source_partition": 0,
        "delivery_topic": agreement.topic,
        "identifiers": ["resident_id"],
        "recorded_at": at,
        "entries": [
            {"offset": o, "event_time": at, "hashes": [identifier_hash(KEY, v)]}
            for o, v in offsets_values
        ],
    }


def plan_for(resident, agreements, **kw):
    receipts = [
        receipt_of(a, [(i, resident), (i + 100, "someone-else")]) for i, a in enumerate(agreements)
    ]
    hits = find_hits(receipts, keyed(Person.parse([f"resident_id={resident}"]), KEY))
    versions = fold_versions([], agreements)
    return plan_erasure(
        group_hits(hits),
        case="DS-2026-0042",
        versions=versions,
        catalog=CATALOG,
        master_secret=SECRET,
        now=NOW,
        new_id=iter(f"req-{i}" for i in range(100)).__next__,
        **kw,
    )


def delivered(agreement, resident):
    """What the router delivered for a resident under ``agreement``: (key, record)."""
    _, record = generate(SOURCE, random.Random(1))
    record["resident_id"] = resident
    compiled = compile_agreement(agreement, CATALOG[SOURCE].latest.schema, SECRET)
    return compiled.transform(resident, record)


def test_each_recipient_gets_its_own_pseudonyms_exactly_as_delivered():
    plan = plan_for("HAM-00004711", [ORDNUNGSAMT, OTHER])
    assert [r.subscriber for r in plan.requests] == ["ordnungsamt", "stadtkasse"]
    seen = set()
    for request, agreement in zip(plan.requests, [ORDNUNGSAMT, OTHER], strict=True):
        key, value = delivered(agreement, "HAM-00004711")
        (scope,) = request.record["agreements"]
        assert scope["pseudonyms"] == [{"field": "resident_id", "pseudonym": value["resident_id"]}]
        assert scope["key_pseudonyms"] == [key]
        assert request.key == key.encode()  # on the partition of the person's deliveries
        assert scope["delivery_ids"] == [
            f"{agreement.id}/{SOURCE}/0/{0 if agreement is ORDNUNGSAMT else 1}"
        ]
        seen.add(value["resident_id"])
    assert len(seen) == 2  # unlinkable across recipients


def test_the_request_holds_no_identifier_in_clear_and_decodes_under_its_schema():
    plan = plan_for("HAM-00004711", [ORDNUNGSAMT, STATISTIK])
    parsed = fastavro.parse_schema(ERASURE_SCHEMA)
    for request in plan.requests:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, request.record)
        assert b"HAM-00004711" not in buf.getvalue()
        assert not any(b"HAM-00004711" in v for _, v in request.headers)
        back = fastavro.schemaless_reader(io.BytesIO(buf.getvalue()), parsed)
        assert back["case"] == "DS-2026-0042" and back["legal_ground"] == LEGAL_GROUND
        headers = dict(request.headers)
        assert headers["ce_type"] == ERASURE_TYPE.encode()
        assert headers["ce_id"] == request.request_id.encode()
        assert headers["ce_hubagreement"] == request.agreement_id.encode()
        assert request.record["confirm_topic"] == f"hub.rights.confirmations.{request.subscriber}"
    statistik = next(r for r in plan.requests if r.subscriber == "statistikstelle")
    (scope,) = statistik.record["agreements"]
    # no pseudonym there (key dropped, id not delivered): the delivery ids find the data
    assert scope["pseudonyms"] == [] and scope["key_pseudonyms"] == []
    assert statistik.key is None
    assert scope["delivery_ids"]


def test_the_feature_store_and_an_unknown_version_get_none():
    plan = plan_for("R-1", [ORDNUNGSAMT, FEATURES], internal_topics=frozenset({FEATURES.topic}))
    assert plan.recipients == ["ordnungsamt"]
    assert [(s.subscriber, "k-anonymous" in s.reason) for s in plan.skipped] == [
        ("ki-featurestore", True)
    ]
    receipts = [{**receipt_of(ORDNUNGSAMT, [(1, "R-1")]), "agreement_hash": "0" * 16}]
    hits = find_hits(receipts, keyed(Person.parse(["resident_id=R-1"]), KEY))
    unknown = plan_erasure(
        group_hits(hits),
        case="C",
        versions=fold_versions([], []),
        catalog=CATALOG,
        master_secret=SECRET,
        now=NOW,
    )
    assert not unknown.requests and "unknown" in unknown.skipped[0].reason


def test_an_agreement_no_longer_valid_is_sent_with_a_note_to_write():
    expired = parse_agreement(
        {**ORDNUNGSAMT.model_dump(mode="json"), "valid_until": "2026-06-30"}, "<test>"
    )
    plan = plan_for("R-1", [expired])
    assert plan.recipients == ["ordnungsamt"]
    assert "in writing" in plan.notes[0]


def test_versions_round_trip_through_the_topic_and_refuse_a_wrong_key():
    good = (content_hash(ORDNUNGSAMT).encode(), agreement_bytes(ORDNUNGSAMT))
    wrong = (b"0123456789abcdef", agreement_bytes(STATISTIK))
    versions = fold_versions([good, wrong, (b"x", b"not json"), (b"gone", None)])
    back = versions.get(content_hash(ORDNUNGSAMT))
    assert back is not None and back.model_dump() == ORDNUNGSAMT.model_dump()
    assert content_hash(back) == content_hash(ORDNUNGSAMT)
    assert versions.get("0123456789abcdef") is None
    assert len(versions.problems) == 2


resident_ids = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=30,
).filter(lambda s: "=" not in s and s == s.strip())


@settings(max_examples=60, deadline=None)
@given(resident=resident_ids)
def test_property_the_erasure_pseudonym_is_the_delivered_one(resident):
    plan = plan_for(resident, [ORDNUNGSAMT])
    key, value = delivered(ORDNUNGSAMT, resident)
    (scope,) = plan.requests[0].record["agreements"]
    assert scope["pseudonyms"][0]["pseudonym"] == value["resident_id"]
    assert scope["key_pseudonyms"] == [key]


@pytest.mark.parametrize("value", ["4711", "0815"])
def test_an_int_identifier_is_pseudonymized_as_its_number(value, tmp_path):
    """A long id hashes as its digits; its pseudonym is the transform's of the number."""
    from consumers.rights.erasure import person_pseudonyms

    schema = {
        "type": "record",
        "name": "Case",
        "namespace": "de.hamm.t",
        "x-key": "case_id",
        "fields": [
            {"name": "case_id", "type": "long", "doc": "Fall.", "x-pii": "direct"},
            {
                "name": "occurred_at",
                "type": {"type": "long", "logicalType": "timestamp-millis"},
                "doc": "t",
                "x-pii": "none",
            },
        ],
    }
    agreement = parse_agreement(
        {
            "id": "t-case",
            "subscriber": "t",
            "source": "t.case.opened",
            "purpose": "p",
            "legal_basis": "b",
            "valid_until": "2099-12-31",
            "fields": {"case_id": "pseudonymize"},
        },
        "<test>",
    )
    compiled = compile_agreement(agreement, schema, SECRET)
    got = person_pseudonyms(compiled, schema, SECRET, {"case_id": {value}})
    key, out = compiled.transform(str(int(value)), {"case_id": int(value), "occurred_at": NOW})
    assert got.fields == (("case_id", out["case_id"]),)
    assert got.keys == (key,)
