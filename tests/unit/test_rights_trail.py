"""The trail of data-subject requests and where a case stands: confirmations count by the topic
they came from, for the round they answer; the hub_rights_* figures; the trail record holds
keyed hashes only and fits its schema."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import fastavro
import pytest

from consumers.rights.contract import (
    ACCESS,
    CONFIRMATION_SCHEMA,
    ERASURE,
    ERASURE_SCHEMA,
    RIGHTS_SCHEMA,
    confirmations_topic,
    subscriber_of_confirmations,
)
from consumers.rights.erasure import Outgoing
from consumers.rights.metrics import exposition
from consumers.rights.person import Person, keyed
from consumers.rights.trail import Confirmation, fold_cases, trail_record
from hub.receipts import receipts_key

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def sent(subscriber: str, request_id: str) -> Outgoing:
    return Outgoing(
        subscriber,
        f"{subscriber}-a",
        f"deliver.{subscriber}.x.y.z",
        None,
        {"request_id": request_id},
        [],
    )


def record(kind: str, case: str, at: datetime, requests=()):
    kp = keyed(Person.parse(["resident_id=HAM-00004711"]), receipts_key(b"s" * 32))
    return trail_record(
        request_id=f"{kind}-{at.isoformat()}",
        kind=kind,
        case=case,
        requested_by="dsb",
        principal="hub-rights",
        tool="cli",
        references=kp.references,
        since=None,
        recipients=[r.subscriber for r in requests],
        deliveries=len(requests),
        requests=requests,
        at=at,
    )


def test_the_trail_record_fits_its_schema_and_names_the_person_by_hash_only():
    r = record(ERASURE, "DS-1", T0, [sent("ordnungsamt", "q1")])
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(RIGHTS_SCHEMA), r)
    assert b"HAM-00004711" not in buf.getvalue()
    assert r["person"][0]["name"] == "resident_id" and len(r["person"][0]["hash"]) == 32
    with pytest.raises(ValueError, match="kind"):
        trail_record(**{**_args(), "kind": "DELETE"})


def _args():
    return dict(
        request_id="x",
        kind=ACCESS,
        case="C",
        requested_by="dsb",
        principal="hub-rights",
        tool="cli",
        references=(),
        since=None,
        recipients=(),
        deliveries=0,
        at=T0,
    )


@pytest.mark.parametrize("schema", [RIGHTS_SCHEMA, ERASURE_SCHEMA, CONFIRMATION_SCHEMA])
def test_every_field_of_the_contracts_has_doc_and_classification(schema):
    fastavro.parse_schema(schema)

    def fields(t):
        if isinstance(t, dict):
            if t.get("type") == "record":
                for f in t["fields"]:
                    yield f
                    yield from fields(f["type"])
            elif t.get("type") == "array":
                yield from fields(t["items"])
        elif isinstance(t, list):
            for b in t:
                yield from fields(b)

    for f in fields(schema):
        assert f.get("doc") and f.get("x-pii") in ("none", "quasi", "direct", "sensitive"), f


def test_confirmations_count_by_their_topic_and_round():
    trail = [
        record(ACCESS, "DS-1", T0 - timedelta(hours=1)),
        record(ERASURE, "DS-1", T0, [sent("ordnungsamt", "q1"), sent("statistik", "q2")]),
        record(ERASURE, "DS-2", T0, [sent("ordnungsamt", "q3")]),
    ]
    confirmations = [
        # by the topic: "statistik" wrote this one, whatever its record says
        Confirmation("statistik", "DS-1", ("q2",), T0 + timedelta(minutes=5)),
        # one from before the request (a CLI confirmation without ids) confirms nothing
        Confirmation("ordnungsamt", "DS-2", (), T0 - timedelta(minutes=5)),
        # naming another round's request
        Confirmation("ordnungsamt", "DS-1", ("q-old",), T0 + timedelta(minutes=6)),
        # a recipient never notified in the case
        Confirmation("bussgeldstelle", "DS-1", (), T0 + timedelta(minutes=7)),
    ]
    cases = fold_cases(trail, confirmations)
    assert cases["DS-1"].confirmed == ["statistik"]
    assert cases["DS-1"].outstanding == ["ordnungsamt"]
    assert cases["DS-1"].access_requests == 1 and cases["DS-1"].erasure_requests == 1
    assert cases["DS-2"].outstanding == ["ordnungsamt"]
    later = fold_cases(
        trail, [*confirmations, Confirmation("ordnungsamt", "DS-2", (), T0 + timedelta(1))]
    )
    assert later["DS-2"].outstanding == []
    # sent again: the earlier confirmation is for the earlier round
    again = [*trail, record(ERASURE, "DS-1", T0 + timedelta(hours=1), [sent("statistik", "q9")])]
    assert fold_cases(again, confirmations)["DS-1"].outstanding == ["ordnungsamt", "statistik"]


def test_the_figures():
    trail = [
        record(ACCESS, "DS-1", T0 - timedelta(hours=1)),
        record(ERASURE, "DS-1", T0, [sent("ordnungsamt", "q1"), sent("statistik", "q2")]),
    ]
    text = exposition(
        fold_cases(trail, [Confirmation("statistik", "DS-1", ("q2",), T0 + timedelta(1))])
    )
    assert 'hub_rights_requests_total{kind="access"} 1.0' in text
    assert 'hub_rights_requests_total{kind="erasure"} 1.0' in text
    assert "hub_rights_recipients_notified_total 2.0" in text
    assert 'hub_rights_confirmations_outstanding{case="DS-1"} 1.0' in text
    assert "hub_rights_cases_open 1.0" in text


def test_confirmation_topics_are_one_per_subscriber():
    assert confirmations_topic("ordnungsamt") == "hub.rights.confirmations.ordnungsamt"
    assert subscriber_of_confirmations("hub.rights.confirmations.ordnungsamt") == "ordnungsamt"
    assert subscriber_of_confirmations("hub.rights.confirmations.") is None
    assert subscriber_of_confirmations("hub.rights") is None
