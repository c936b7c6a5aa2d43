"""The ACL set as a pure function of the catalog: many catalog shapes, and the property that
nobody but hub-router and the owning department ever reads a raw topic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.access.acls import (
    CREATE,
    DESCRIBE,
    DESCRIBE_CONFIGS,
    GROUP,
    LITERAL,
    PREFIXED,
    READ,
    TOPIC,
    TXN,
    WRITE,
    Binding,
    Grant,
    desired_bindings,
    reads_raw,
)
from hub.access.catalog import load_access_catalog
from hub.access.plan import Ledger, make_plan
from hub.access.principals import PrincipalsError, parse_principals

TODAY = dt.date(2026, 12, 1)
REPO = Path(__file__).resolve().parents[2]


def principals(departments=("buergeramt", "ordnungsamt"), subscribers=("statistikstelle",)):
    return parse_principals(
        {
            "departments": {d: {"contact": f"{d}@hamm.de"} for d in departments},
            "subscribers": {s: {"contact": f"{s}@hamm.de"} for s in subscribers},
        }
    )


def grant(
    agreement_id: str = "statistik-moves",
    subscriber: str = "statistikstelle",
    source: str = "buergeramt.resident.moved",
    valid_until: dt.date = dt.date(2027, 12, 31),
    valid_from: dt.date | None = None,
) -> Grant:
    return Grant(
        agreement_id,
        subscriber,
        source,
        f"deliver.{subscriber}.{source}",
        "Statistik",
        valid_from,
        valid_until,
    )


def of(bindings, principal):
    return {
        (b.resource_type, b.pattern, b.name, b.operation)
        for b in bindings
        if b.principal == principal
    }


def test_a_department_owns_its_prefix():
    acls = desired_bindings(principals(), [], today=TODAY)
    mine = of(acls, "buergeramt")
    for op in (WRITE, DESCRIBE, CREATE, READ):
        assert (TOPIC, PREFIXED, "buergeramt.", op) in mine
    assert (GROUP, PREFIXED, "buergeramt.", READ) in mine
    assert (TXN, PREFIXED, "buergeramt.", WRITE) in mine
    assert (TOPIC, LITERAL, "hub.connect.progress.buergeramt", WRITE) in mine
    # nothing of another department
    assert not any(name.startswith("ordnungsamt") for _, _, name, _ in mine)


def test_a_subscriber_reads_exactly_the_deliveries_of_its_valid_agreements():
    acls = desired_bindings(principals(), [grant()], today=TODAY)
    assert of(acls, "statistikstelle") == {
        (TOPIC, LITERAL, "deliver.statistikstelle.buergeramt.resident.moved", READ),
        (TOPIC, LITERAL, "deliver.statistikstelle.buergeramt.resident.moved", DESCRIBE),
        (GROUP, PREFIXED, "statistikstelle.", READ),
        # and it confirms erasure requests on its own topic (consumers/rights)
        (TOPIC, LITERAL, "hub.rights.confirmations.statistikstelle", WRITE),
        (TOPIC, LITERAL, "hub.rights.confirmations.statistikstelle", DESCRIBE),
    }


@pytest.mark.parametrize(
    "valid_from, valid_until, opens",
    [
        (None, dt.date(2026, 12, 1), True),  # the last day still counts
        (None, dt.date(2026, 11, 30), False),  # expired yesterday
        (dt.date(2026, 12, 1), dt.date(2027, 1, 1), True),
        (dt.date(2026, 12, 2), dt.date(2027, 1, 1), False),  # not yet in force
    ],
)
def test_validity_decides_the_subscribers_read(valid_from, valid_until, opens):
    acls = desired_bindings(
        principals(), [grant(valid_from=valid_from, valid_until=valid_until)], today=TODAY
    )
    reads = {b for b in of(acls, "statistikstelle") if b[3] == READ}
    assert bool(reads) is opens  # (it may still confirm erasures of what it got: not a read)
    # The router keeps its access: it may still route events of the agreement's time.
    assert (TOPIC, LITERAL, "buergeramt.resident.moved", READ) in of(acls, "hub-router")


def test_the_router_reads_literal_sources_and_writes_deliveries():
    acls = desired_bindings(principals(), [grant()], today=TODAY)
    router = of(acls, "hub-router")
    assert (TOPIC, LITERAL, "buergeramt.resident.moved", READ) in router
    assert not any(p == PREFIXED and n.startswith("buergeramt") for _, p, n, _ in router)
    assert (TOPIC, LITERAL, "deliver.statistikstelle.buergeramt.resident.moved", WRITE) in router
    assert (TOPIC, LITERAL, "hub.dlq", WRITE) in router
    assert (TOPIC, LITERAL, "hub.audit", WRITE) in router
    assert (TXN, PREFIXED, "hub-router", WRITE) in router
    assert (GROUP, PREFIXED, "hub-router", READ) in router


def test_no_agreement_no_router_read():
    router = of(desired_bindings(principals(), [], today=TODAY), "hub-router")
    assert not any(n.startswith("buergeramt") for _, _, n, _ in router)


def test_hub_services():
    acls = desired_bindings(principals(), [grant()], ["deliver.ki-featurestore.x.y.z"], today=TODAY)
    assert (TOPIC, LITERAL, "deliver.ki-featurestore.x.y.z", READ) in of(acls, "hub-features")
    assert (TOPIC, PREFIXED, "hub.features.", WRITE) in of(acls, "hub-features")
    assert (TOPIC, LITERAL, "_schemas", WRITE) in of(acls, "hub-registry")
    assert of(acls, "hub-audit") == {
        (TOPIC, LITERAL, "hub.audit", READ),
        (TOPIC, LITERAL, "hub.audit", DESCRIBE),
        (TOPIC, LITERAL, "hub.quality", READ),  # hub quality report
        (TOPIC, LITERAL, "hub.quality", DESCRIBE),
    }
    gateway = of(acls, "hub-gateway")
    assert (TOPIC, PREFIXED, "buergeramt.", WRITE) in gateway
    # it reads nothing but the Idempotency-Keys it writes itself
    reads = {(t, p, n) for t, p, n, op in gateway if op == READ}
    assert reads == {(TOPIC, LITERAL, "hub.gateway.idempotency")}
    assert of(acls, "hub-admin") == set()  # a super user needs no ACL


def test_the_portal_reads_the_hubs_logs_and_published_windows_and_no_data():
    acls = desired_bindings(
        principals(), [grant()], today=TODAY, feature_views=["noise_complaints_hourly"]
    )
    portal = of(acls, "hub-portal")
    reads = {(t, p, n) for t, p, n, op in portal if op == READ}
    assert reads == {
        (TOPIC, LITERAL, "hub.audit"),
        (TOPIC, LITERAL, "hub.dlq"),
        (TOPIC, LITERAL, "hub.quality"),
        # a view's published, k-anonymous windows by name: never the prefix, which would open
        # the feature store's state changelog (contributor pseudonyms) too
        (TOPIC, LITERAL, "hub.features.noise_complaints_hourly"),
    }
    assert (GROUP, LITERAL, "hub-router-dlq-replay", DESCRIBE) in portal
    # how long the topics keep data (the record of processing), not what they hold
    assert (TOPIC, PREFIXED, "buergeramt.", DESCRIBE_CONFIGS) in portal
    assert (TOPIC, PREFIXED, "deliver.", DESCRIBE_CONFIGS) in portal
    assert not any(op in (WRITE, CREATE) for *_, op in portal)
    assert not any(reads_raw(b, principals()) for b in acls if b.principal == "hub-portal")
    assert "hub-portal" in principals().names()


def test_a_department_can_keep_the_gateway_out():
    p = parse_principals({"departments": {"jugendamt": {"gateway": False}, "umweltamt": {}}})
    gateway = of(desired_bindings(p, [], today=TODAY), "hub-gateway")
    assert (TOPIC, PREFIXED, "umweltamt.", WRITE) in gateway
    assert not any(n.startswith("jugendamt") for _, _, n, _ in gateway)


def test_binding_keys_round_trip():
    for b in desired_bindings(principals(), [grant()], ["deliver.a.b.c.d"], today=TODAY):
        again = Binding.from_key(b.key)
        assert again == b and again.key == b.key


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"departments": {"Bad Name": {}}}, "lowercase"),
        ({"departments": {"a": {}, "b": {"topic_prefix": "a"}}}, "also the prefix of a"),
        ({"departments": {"hub-router": {}}}, "built-in hub service"),
        ({"departments": {"x": {"topic_prefix": "deliver"}}}, "reserved"),
        ({"departments": {}, "subscribers": {"s": {"colour": "red"}}}, "subscribers.s.colour"),
        ({"departments": {}, "subscribers": []}, "subscribers: expected a mapping"),
        ({"departments": {}, "users": {}}, "unknown top-level key"),
    ],
)
def test_bad_registers_name_the_key(data, fragment):
    with pytest.raises(PrincipalsError, match=r"departments\.yaml") as info:
        parse_principals(data, "departments.yaml")
    assert fragment in str(info.value)


def test_the_shipped_catalog():
    access = load_access_catalog(REPO / "catalog")
    assert access.problems == ()
    names = access.principals.names()
    for name in ("statistikstelle", "bussgeldstelle", "ki-featurestore", "hub-router", "hub-audit"):
        assert name in names
    agreements_subscribers = {g.subscriber for g in access.grants}
    assert all(access.principals.may_subscribe(s) for s in agreements_subscribers)
    assert access.feature_topics  # the feature views read ki-featurestore deliveries
    acls = access.bindings(TODAY)
    portal = {b.name for b in acls if b.principal == "hub-portal" and b.operation == READ}
    assert {f"hub.features.{v}" for v in access.feature_views} <= portal
    assert "noise_complaints_hourly" in access.feature_views
    assert "hub.features.state" not in portal
    raw = {b.principal for b in acls if reads_raw(b, access.principals)}
    assert raw <= {"hub-router", *access.principals.departments}


def test_an_unregistered_subscriber_opens_nothing(tmp_path):
    (tmp_path / "agreements").mkdir()
    (tmp_path / "departments.yaml").write_text("departments: {buergeramt: {}}\n")
    (tmp_path / "agreements" / "a.yaml").write_text(
        "id: x\nsubscriber: schattenamt\nsource: buergeramt.resident.moved\npurpose: p\n"
        "legal_basis: b\nvalid_until: 2099-01-01\nfields: {resident_id: pseudonymize}\n"
    )
    access = load_access_catalog(tmp_path)
    assert access.grants == ()
    assert "schattenamt" in access.problems[0] and "a.yaml" in access.problems[0]


# -- the plan -------------------------------------------------------------------------------


def test_plan_adds_everything_on_a_fresh_broker_and_nothing_after():
    want = desired_bindings(principals(), [grant()], today=TODAY)
    first = make_plan(want, [], Ledger(), desired_users=["a", "b"], actual_users=["broker"])
    assert {b.key for b in first.add} == {b.key for b in want}
    assert first.add_users == ("a", "b") and not first.remove
    second = make_plan(
        want, want, first.ledger, desired_users=["a", "b"], actual_users=["a", "b", "broker"]
    )
    assert second.empty
    assert second.lines()[-1].startswith("No changes")


def test_plan_removes_only_what_the_hub_made():
    want = desired_bindings(principals(), [grant()], today=TODAY)
    ledger = make_plan(want, [], Ledger(), desired_users=[], actual_users=[]).ledger
    by_hand = Binding("statistikstelle", TOPIC, LITERAL, "handmade", READ)
    fewer = desired_bindings(principals(), [], today=TODAY)
    plan = make_plan(fewer, [*want, by_hand], ledger, desired_users=[], actual_users=[])
    removed = {b.key for b in plan.remove}
    assert removed == {b.key for b in want} - {b.key for b in fewer}
    assert by_hand.key not in removed
    assert by_hand in plan.unmanaged
    assert any("left alone" in line for line in plan.lines())


def test_plan_never_removes_the_broker_or_the_admin():
    ledger = Ledger(users=frozenset({"hub-admin", "broker", "gone"}))
    plan = make_plan([], [], ledger, desired_users=[], actual_users=["hub-admin", "broker", "gone"])
    assert plan.remove_users == ("gone",)


# -- the property -----------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9]{1,8}", fullmatch=True)


@st.composite
def catalogs(draw):
    departments = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    # prefixes must not contain one another, or ownership would be ambiguous
    departments = [
        d for d in departments if not any(o != d and o.startswith(d) for o in departments)
    ]
    subscribers = draw(
        st.lists(names.filter(lambda n: n not in departments), max_size=4, unique=True)
    )
    p = parse_principals(
        {"departments": {d: {} for d in departments}, "subscribers": {s: {} for s in subscribers}}
    )
    grants = []
    for i in range(draw(st.integers(0, 6))):
        subscriber = draw(st.sampled_from(subscribers + departments))
        owner = draw(st.sampled_from(departments))
        entity = draw(names)
        until = TODAY + dt.timedelta(days=draw(st.integers(-30, 30)))
        grants.append(grant(f"a{i}", subscriber, f"{owner}.{entity}.happened", until))
    feature_topics = [g.delivery_topic for g in grants if draw(st.booleans())]
    return p, grants, feature_topics


@settings(max_examples=200, deadline=None)
@given(catalogs())
def test_no_one_but_the_router_and_the_owner_reads_a_raw_topic(catalog):
    p, grants, feature_topics = catalog
    for b in desired_bindings(p, grants, feature_topics, today=TODAY):
        owner = reads_raw(b, p)
        if owner is not None:
            assert b.principal in ("hub-router", owner), b.key


@settings(max_examples=100, deadline=None)
@given(catalogs())
def test_a_subscriber_reads_only_its_own_deliveries(catalog):
    p, grants, feature_topics = catalog
    acls = desired_bindings(p, grants, feature_topics, today=TODAY)
    for b in acls:
        if b.resource_type == TOPIC and b.operation == READ and b.name.startswith("deliver."):
            if b.principal == "hub-features":
                assert b.name in feature_topics
                continue
            if b.principal in ("hub-webhooks", "hub-deliveries"):
                continue  # on a subscriber's behalf: tested on its own
            if b.principal == "hub-rights":
                continue  # the data-protection officer's tool: tests/unit/test_rights_access.py
            assert b.principal != "hub-router"
            assert b.name.startswith(f"deliver.{b.principal}."), b.key
            assert any(g.delivery_topic == b.name and g.valid_on(TODAY) for g in grants), b.key


def test_plan_never_creates_the_admin_either():
    plan = make_plan([], [], Ledger(), desired_users=["hub-admin", "x"], actual_users=[])
    assert plan.add_users == ("x",)


def test_the_http_ways_in_read_only_what_their_subscriber_may():
    p = parse_principals(
        {
            "departments": {"buergeramt": {}},
            "subscribers": {
                "statistikstelle": {"pull_tokens": ["sha256:" + "a" * 64]},
                "bussgeldstelle": {},
            },
        }
    )
    grants = [
        grant("pulled", "statistikstelle"),
        grant("pushed", "bussgeldstelle"),
        grant("expired", "bussgeldstelle", "buergeramt.x.y", valid_until=dt.date(2020, 1, 1)),
    ]
    acls = desired_bindings(p, grants, today=TODAY, webhook_agreements=["pushed", "expired"])

    def reads(who):
        return {
            b.name
            for b in acls
            if b.principal == who and b.operation == READ and b.resource_type == TOPIC
        }

    assert reads("hub-deliveries") == {"deliver.statistikstelle.buergeramt.resident.moved"}
    assert reads("hub-webhooks") == {
        "deliver.bussgeldstelle.buergeramt.resident.moved",
        "hub.webhooks.dlq",
    }
