"""Who may do what for data-subject rights: hub-rights' ACLs, every recipient's confirmation
topic, the registry's subjects, and how the SDK and the webhooks tell a request from a
delivery."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from consumers.rights.contract import CONFIRMATION_SUBJECT, ERASURE_SUBJECT, ERASURE_TYPE
from consumers.subscriber.erasure import is_erasure
from consumers.webhooks.encoding import cloudevent_headers, delivery_id
from hub.access.acls import (
    CREATE,
    DESCRIBE,
    LITERAL,
    PREFIXED,
    READ,
    TOPIC,
    TXN,
    WRITE,
    Grant,
    desired_bindings,
    reads_raw,
)
from hub.access.catalog import load_access_catalog
from hub.access.principals import SERVICES, parse_principals
from hub.registry.access import Action, authorize

TODAY = dt.date(2026, 12, 1)
REPO = Path(__file__).resolve().parents[2]
PRINCIPALS = parse_principals(
    {
        "departments": {"buergeramt": {}},
        "subscribers": {"statistikstelle": {}, "ordnungsamt": {}},
    }
)


def grant(agreement: str, subscriber: str, until: dt.date = dt.date(2027, 12, 31)) -> Grant:
    source = "buergeramt.resident.moved"
    return Grant(agreement, subscriber, source, f"deliver.{subscriber}.{source}", "p", None, until)


def of(bindings, principal):
    return {
        (b.resource_type, b.pattern, b.name, b.operation)
        for b in bindings
        if b.principal == principal
    }


def test_hub_rights_reads_receipts_versions_deliveries_and_writes_requests_and_trail():
    grants = [grant("oa", "ordnungsamt"), grant("st", "statistikstelle", dt.date(2026, 1, 1))]
    acls = desired_bindings(PRINCIPALS, grants, today=TODAY)
    rights = of(acls, "hub-rights")
    assert "hub-rights" in SERVICES
    for topic in ("hub.receipts", "hub.agreements"):
        assert (TOPIC, LITERAL, topic, READ) in rights
        assert (TOPIC, LITERAL, topic, WRITE) not in rights
    for op in (READ, WRITE, DESCRIBE, CREATE):
        assert (TOPIC, LITERAL, "hub.rights", op) in rights
    assert (TOPIC, PREFIXED, "hub.rights.confirmations.", READ) in rights
    assert (TOPIC, PREFIXED, "hub.rights.confirmations.", WRITE) not in rights
    assert (TXN, PREFIXED, "hub-rights", WRITE) in rights
    # every delivery topic, also of an expired agreement: its recipient may still hold data
    for g in grants:
        assert {(TOPIC, LITERAL, g.delivery_topic, op) for op in (READ, WRITE)} <= rights
    # never a raw topic, never the audit trail's writes
    assert not any(reads_raw(b, PRINCIPALS) for b in acls if b.principal == "hub-rights")
    assert not any(n == "hub.audit" for _, _, n, _ in rights)


def test_each_recipient_writes_its_own_confirmations_and_no_other():
    grants = [grant("oa", "ordnungsamt"), grant("st", "statistikstelle", dt.date(2026, 1, 1))]
    acls = desired_bindings(PRINCIPALS, grants, today=TODAY)
    writes = {
        (b.principal, b.name)
        for b in acls
        if b.operation == WRITE and b.name.startswith("hub.rights.confirmations.")
    }
    assert writes == {
        ("ordnungsamt", "hub.rights.confirmations.ordnungsamt"),
        ("statistikstelle", "hub.rights.confirmations.statistikstelle"),
    }
    # nobody reads a confirmation topic but hub-rights
    readers = {
        b.principal for b in acls if b.operation == READ and b.name.startswith("hub.rights.")
    }
    assert readers == {"hub-rights"}


def test_the_repository_catalog_gives_hub_rights_every_delivery_topic():
    catalog = load_access_catalog(REPO / "catalog")
    rights = of(catalog.bindings(TODAY), "hub-rights")
    assert {g.delivery_topic for g in catalog.grants} <= {
        n for _, _, n, op in rights if op == WRITE
    }


def test_the_registry_lets_only_hub_rights_write_its_subjects():
    for subject in ("hub.rights-value", ERASURE_SUBJECT, CONFIRMATION_SUBJECT):
        assert authorize("hub-rights", Action.REGISTER, subject, PRINCIPALS).allowed
        assert not authorize("ordnungsamt", Action.REGISTER, subject, PRINCIPALS).allowed
        assert not authorize("hub-router", Action.REGISTER, subject, PRINCIPALS).allowed
        # a recipient looks the confirmation schema up: a read
        assert authorize("ordnungsamt", Action.READ, subject, PRINCIPALS).allowed
    assert not authorize("hub-rights", Action.REGISTER, "deliver.x.y.z.w-value", PRINCIPALS).allowed


HEADERS = [
    ("ce_specversion", b"1.0"),
    ("ce_id", b"6f1c-req"),
    ("ce_source", b"/hamm/hub/rights"),
    ("ce_type", ERASURE_TYPE.encode()),
    ("ce_time", b"2026-12-01T10:00:00.000Z"),
    ("content-type", b"application/avro"),
    ("ce_hubagreement", b"oa"),
]


def test_the_sdk_tells_a_request_by_its_type():
    assert is_erasure(HEADERS)
    assert not is_erasure([("ce_type", b"de.hamm.buergeramt.resident.moved")])
    assert not is_erasure([])


def test_a_webhook_posts_a_request_under_its_own_id_and_type():
    text = {k: v.decode() for k, v in HEADERS}
    msg_id = delivery_id(text, "deliver.ordnungsamt.x", 0, 42, "oa")
    assert msg_id == "6f1c-req"
    out = cloudevent_headers(text, msg_id, "oa")
    assert out["ce-type"] == ERASURE_TYPE and out["ce-id"] == "6f1c-req"
    assert out["ce-hubagreement"] == "oa" and "ce-hubdelivery" not in out
    assert out["content-type"] == "application/json"
