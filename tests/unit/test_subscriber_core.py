"""The subscriber SDK's pure parts (headers, delivery ids, schema fingerprints and model choice,
acknowledgement bookkeeping, topic choice) and its iteration over a scripted consumer: what is
acknowledged when, what is committed, and what an undecodable record does."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import fastavro
import pytest
from aiokafka import TopicPartition

from consumers.subscriber import (
    Delivery,
    NoDeliveryTopicsError,
    SchemaUnavailableError,
    Subscription,
    TopicAccessError,
    UndecodableDeliveryError,
    parse_delivery_id,
)
from consumers.subscriber.acks import AckTracker
from consumers.subscriber.delivery import build_delivery, describe_schema, parse_headers
from consumers.subscriber.models import model_of
from consumers.subscriber.models.base import fingerprint
from consumers.subscriber.models.generate import default_agreements_dir, delivery_schemas
from consumers.subscriber.topics import (
    check_topic_access,
    own_delivery_topics,
    topics_of_agreements,
)
from hub.agreements.model import load_agreements
from hub.kafka import KafkaSecurity
from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import RegistryError
from hub.serde.wire import frame

AGREEMENT = "ordnungsamt-resident-moved"
TOPIC = "deliver.ordnungsamt.buergeramt.resident.moved"
SCHEMA = next(
    s.schema
    for s in delivery_schemas(
        load_agreements(default_agreements_dir()), load_catalog(default_schemas_dir())
    )
    if s.agreement.id == AGREEMENT
)
PARSED = fastavro.parse_schema(SCHEMA)
VALUE = {
    "resident_id": "k1.abc",
    "moved_at": dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
    "birth_date": 1980,
    "new_address": {"postcode": "59077", "city": "Hamm"},
}


def avro(value: dict[str, Any], schema_id: int = 7, parsed: Any = PARSED) -> bytes:
    out = BytesIO()
    fastavro.schemaless_writer(out, parsed, value)
    return frame(schema_id, out.getvalue())


def headers(offset: int, agreement: str = AGREEMENT) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", f"event-{offset}".encode()),
        ("ce_source", b"/hamm/buergeramt/meso"),
        ("ce_type", b"de.hamm.buergeramt.resident.moved"),
        ("ce_time", b"2026-11-02T10:30:00.000Z"),
        ("content-type", b"application/avro"),
        ("ce_hubagreement", agreement.encode()),
        ("ce_hubdelivery", f"{agreement}/buergeramt.resident.moved/0/{offset}".encode()),
    ]


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = b"k1.abc"
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp: int = 1_790_000_000_000


def record(offset: int, partition: int = 0, **kw: Any) -> Record:
    kw.setdefault("value", avro(VALUE))
    kw.setdefault("headers", headers(offset))
    return Record(TOPIC, partition, offset, **kw)


# -- headers and delivery ids ----------------------------------------------------------------


def test_headers_become_cloudevents_attributes_with_the_hub_extensions():
    envelope = parse_headers([*headers(5), ("x-other", b"ignored"), ("traceparent", b"00-1")])
    assert envelope.cloudevent == {
        "specversion": "1.0",
        "id": "event-5",
        "source": "/hamm/buergeramt/meso",
        "type": "de.hamm.buergeramt.resident.moved",
        "time": "2026-11-02T10:30:00.000Z",
        "datacontenttype": "application/avro",
        "hubagreement": AGREEMENT,
        "hubdelivery": f"{AGREEMENT}/buergeramt.resident.moved/0/5",
    }
    assert envelope.agreement_id == AGREEMENT
    assert envelope.delivery_id == f"{AGREEMENT}/buergeramt.resident.moved/0/5"
    assert parse_headers([]).delivery_id is None


def test_a_delivery_id_names_the_source_event():
    parsed = parse_delivery_id("ordnungsamt-resident-moved/buergeramt.resident.moved/2/4711")
    assert parsed == ("ordnungsamt-resident-moved", "buergeramt.resident.moved", 2, 4711)
    assert parsed.source_offset == 4711
    for bad in ("a/b/c", "a/b/x/1", "/b/1/2", "a/b/1/2/3"):
        with pytest.raises(ValueError, match="is not a delivery id"):
            parse_delivery_id(bad)


# -- schemas and models ----------------------------------------------------------------------


def test_the_fingerprint_ignores_docs_and_props_but_not_shape():
    base = fingerprint(SCHEMA)
    reworded = copy.deepcopy(SCHEMA)
    reworded["doc"] = "anders"
    reworded["x-purpose"] = "ein anderer Zweck"
    reworded["fields"][0]["x-pii"] = "none"
    assert fingerprint(reworded) == base
    spelled_out = json.loads(
        json.dumps(SCHEMA).replace('"type": "string"', '"type": {"type": "string"}')
    )
    assert fingerprint(spelled_out) == base  # a registry may serve either form
    renamed = copy.deepcopy(SCHEMA)
    renamed["fields"][0]["name"] = "person"
    retyped = copy.deepcopy(SCHEMA)
    retyped["fields"][1]["type"] = "long"  # the logical type is part of the shape
    assert len({base, fingerprint(renamed), fingerprint(retyped)}) == 3


def test_describe_schema_reads_the_agreement_from_the_props_and_picks_the_model():
    schema = describe_schema(7, json.dumps(SCHEMA), subscriber="ordnungsamt")
    assert schema.agreement_id == AGREEMENT
    assert schema.purpose == "Zustellung von Bescheiden an die aktuelle Anschrift"
    assert schema.legal_basis == "§ 34 Abs. 1 BMG"
    assert schema.source == "buergeramt.resident.moved"
    assert schema.model is model_of(AGREEMENT)
    newer = copy.deepcopy(SCHEMA)
    newer["fields"].pop(2)  # birth_date no longer delivered: another shape, no model
    assert describe_schema(8, newer).model is None
    legacy = {k: v for k, v in SCHEMA.items() if k not in ("x-purpose", "x-legal-basis")}
    assert describe_schema(9, legacy).purpose is None  # registered before the props existed


def test_a_delivery_is_typed_when_its_schema_has_a_model_and_a_dict_otherwise():
    typed_schema = describe_schema(7, SCHEMA)
    delivery = build_delivery(record(3), typed_schema, fastavro_read(avro(VALUE)))
    assert type(delivery.record) is model_of(AGREEMENT)
    assert delivery.record.new_address.postcode == "59077"
    assert delivery.key == "k1.abc"
    assert delivery.agreement_id == AGREEMENT
    assert delivery.purpose == typed_schema.purpose
    assert delivery.delivery_id == f"{AGREEMENT}/buergeramt.resident.moved/0/3"
    assert delivery.source.source_offset == 3
    assert delivery.cloudevent == parse_headers(headers(3)).cloudevent  # made when asked for
    assert delivery.cloudevent["id"] == "event-3"
    assert (delivery.topic, delivery.partition, delivery.offset, delivery.schema_id) == (
        TOPIC,
        0,
        3,
        7,
    )
    untyped = describe_schema(7, SCHEMA, models=lambda agreement, shape: None)
    assert build_delivery(record(3), untyped, fastavro_read(avro(VALUE))).record == VALUE


def fastavro_read(data: bytes) -> dict[str, Any]:
    return fastavro.schemaless_reader(BytesIO(data[5:]), PARSED, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"headers": headers(1)[:-1]}, "no ce_hubdelivery header"),
        ({"headers": headers(1, agreement="other")}, "names 'other', the schema"),
        ({"key": b"\xff\xfe"}, "the key is not UTF-8"),
    ],
)
def test_a_record_that_is_not_a_proper_delivery_is_refused_naming_where_it_is(change, message):
    schema = describe_schema(7, SCHEMA)
    with pytest.raises(UndecodableDeliveryError, match=message) as caught:
        build_delivery(record(1, **change), schema, fastavro_read(avro(VALUE)))
    assert str(caught.value).startswith(f"{TOPIC}/0/1 (schema id 7): ")


# -- acknowledgement bookkeeping -------------------------------------------------------------


def test_acks_in_order_move_the_commit_point():
    tracker = AckTracker()
    for offset in (10, 11, 13):  # 12: a transaction marker, never delivered
        tracker.delivered("p", offset)
    assert tracker.committable() == {}
    assert tracker.ack("p", 10)
    assert tracker.committable() == {"p": 11}
    tracker.committed({"p": 11})
    assert tracker.committable() == {}  # nothing new
    assert tracker.ack("p", 11) and tracker.ack("p", 13)
    assert tracker.committable() == {"p": 14}
    assert tracker.outstanding() == 0


def test_an_ack_ahead_of_an_open_delivery_waits_for_it():
    tracker = AckTracker()
    for offset in range(5):
        tracker.delivered("p", offset)
    assert tracker.ack("p", 3) and tracker.ack("p", 1)
    assert tracker.committable() == {}  # 0 is still open: a crash must deliver it again
    assert tracker.outstanding("p") == 3
    assert tracker.ack("p", 0)
    assert tracker.committable() == {"p": 2}  # 2 still open, 3 waits behind it
    assert tracker.ack("p", 2)
    assert tracker.committable() == {"p": 4}
    assert not tracker.ack("p", 2)  # twice is once
    assert not tracker.ack("p", 99)  # never delivered


def test_partitions_are_independent_and_forgotten_ones_do_not_count():
    tracker = AckTracker()
    tracker.delivered("a", 0)
    tracker.delivered("b", 0)
    tracker.ack("b", 0)
    assert tracker.committable() == {"b": 1}
    tracker.forget(["a"])  # revoked: another consumer owns it now
    assert not tracker.ack("a", 0)
    assert tracker.outstanding() == 0
    with pytest.raises(ValueError, match="handed out after"):
        tracker.delivered("b", 0)


def test_a_skipped_record_is_committed_past():
    tracker = AckTracker()
    tracker.skipped("p", 4)
    assert tracker.committable() == {"p": 5}


# -- topics ----------------------------------------------------------------------------------


def test_only_the_subscribers_delivery_topics_are_chosen():
    visible = [
        "deliver.ordnungsamt.buergeramt.resident.moved",
        "ordnungsamt.parking-violation.recorded",  # the department's own raw topic
        "deliver.ordnungsamtx.other",
        "deliver.ordnungsamt.a.b.c",
    ]
    assert own_delivery_topics(visible, "ordnungsamt") == [
        "deliver.ordnungsamt.a.b.c",
        "deliver.ordnungsamt.buergeramt.resident.moved",
    ]


def test_a_refused_topic_is_named_with_the_principal():
    with pytest.raises(TopicAccessError) as caught:
        check_topic_access(
            ["deliver.a.x", "deliver.b.y", "deliver.a.z"],
            {"deliver.a.x": 0, "deliver.b.y": 29, "deliver.a.z": 3},
            "a",
        )
    assert "the principal 'a' may not read deliver.b.y" in str(caught.value)
    assert "no such topic: deliver.a.z" in str(caught.value)
    check_topic_access(["deliver.a.x"], {"deliver.a.x": 0}, "a")


def test_agreements_are_found_by_the_x_agreement_of_their_topics():
    agreement_of = {"deliver.s.t1": "s-one", "deliver.s.t2": "s-two", "deliver.s.t3": None}
    assert topics_of_agreements(agreement_of, ["s-two"], "s") == ["deliver.s.t2"]
    with pytest.raises(NoDeliveryTopicsError, match="agreement s-three is visible"):
        topics_of_agreements(agreement_of, ["s-one", "s-three"], "s")


# -- iteration over a scripted consumer ------------------------------------------------------


class ScriptedConsumer:
    """aiokafka's consumer as far as the subscription uses it: fetches come from a script."""

    def __init__(self, *fetches: list[Record]) -> None:
        self.fetches = list(fetches)
        self.commits: list[dict[TopicPartition, int]] = []
        self.tps = {TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)}

    async def getmany(self, timeout_ms: int, max_records: int) -> dict:
        await asyncio.sleep(0)
        if not self.fetches:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        out: dict[TopicPartition, list[Record]] = {}
        for r in self.fetches.pop(0):
            out.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
        return out

    def assignment(self) -> set[TopicPartition]:
        return self.tps

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))

    async def stop(self) -> None:
        pass

    @property
    def last(self) -> dict[int, int]:
        merged: dict[int, int] = {}
        for commit in self.commits:
            merged.update({tp.partition: offset for tp, offset in commit.items()})
        return merged


class ScriptedRegistry:
    def __init__(self, schemas: dict[int, Any], fail: int = 0) -> None:
        self.schemas = schemas
        self.asked: list[int] = []
        self.fail = fail

    async def schema_by_id(self, schema_id: int) -> str:
        self.asked.append(schema_id)
        if self.fail:
            self.fail -= 1
            raise RegistryError(0, 0, "registry unreachable")
        if schema_id not in self.schemas:
            raise RegistryError(404, 40403, f"Schema {schema_id} not found")
        return json.dumps(self.schemas[schema_id])

    async def aclose(self) -> None:
        pass


def subscription(consumer: ScriptedConsumer, registry: ScriptedRegistry, **kw: Any) -> Subscription:
    sub = Subscription(
        "ordnungsamt",
        bootstrap_servers="127.0.0.1:1",
        registry_url="http://127.0.0.1:1",
        security=KafkaSecurity(protocol="PLAINTEXT"),
        commit_interval=3600,  # commits only where the test makes them happen
        fetch_timeout=0.01,
        **kw,
    )
    sub._consumer = consumer  # type: ignore[assignment]
    sub._registry = registry  # type: ignore[assignment]
    return sub


async def take(sub: Subscription, count: int) -> list[Delivery]:
    return [await asyncio.wait_for(sub.__anext__(), 5) for _ in range(count)]


async def test_auto_ack_acknowledges_the_previous_delivery_when_the_next_is_asked_for():
    consumer = ScriptedConsumer([record(0), record(1), record(2)])
    sub = subscription(consumer, ScriptedRegistry({7: SCHEMA}))
    first, second = await take(sub, 2)
    assert first.acked and not second.acked  # second is in the handler right now
    assert sub.outstanding == 1
    await sub.commit()
    assert consumer.last == {0: 1}
    await sub.stop(clean=True)  # a clean exit: the one in hand was handled
    assert consumer.last == {0: 2}


async def test_an_exception_leaves_the_delivery_in_hand_unacknowledged():
    consumer = ScriptedConsumer([record(0), record(1)])
    sub = subscription(consumer, ScriptedRegistry({7: SCHEMA}))
    with pytest.raises(RuntimeError):
        async with sub:
            async for delivery in sub:
                if delivery.offset == 1:
                    raise RuntimeError("the handler failed")
    assert consumer.last == {0: 1}  # 0 was handled; 1 comes again


async def test_explicit_acks_commit_only_the_acknowledged_prefix_per_partition():
    consumer = ScriptedConsumer([record(0), record(1), record(0, partition=1), record(2)])
    sub = subscription(consumer, ScriptedRegistry({7: SCHEMA}), auto_ack=False)
    deliveries = await take(sub, 4)
    by_place = {(d.partition, d.offset): d for d in deliveries}
    await by_place[(0, 1)].ack()
    await by_place[(1, 0)].ack()
    await sub.commit()
    assert consumer.last == {1: 1}  # partition 0 still waits for offset 0
    await sub.ack([by_place[(0, 0)], by_place[(0, 2)]])
    await sub.stop()
    assert consumer.last == {0: 3, 1: 1}


async def test_batches_are_acknowledged_as_a_whole_on_the_next_ask():
    consumer = ScriptedConsumer([record(i) for i in range(5)], [record(5)])
    sub = subscription(consumer, ScriptedRegistry({7: SCHEMA}))
    batches = sub.batches(max=3, timeout=0.01)
    first = await batches.__anext__()
    assert [d.offset for d in first] == [0, 1, 2] and not any(d.acked for d in first)
    second = await batches.__anext__()
    assert all(d.acked for d in first) and [d.offset for d in second] == [3, 4]
    await sub.stop(clean=False)
    assert consumer.last == {0: 3}


async def test_a_new_schema_id_is_fetched_once_and_a_record_of_it_is_a_dict():
    newer = copy.deepcopy(SCHEMA)
    newer["fields"].pop(2)
    newer["x-purpose"] = "Zustellung, neu gefasst"
    newer_value = {k: v for k, v in VALUE.items() if k != "birth_date"}
    parsed_newer = fastavro.parse_schema(newer)
    registry = ScriptedRegistry({7: SCHEMA, 8: newer})
    consumer = ScriptedConsumer(
        [record(0), record(1, value=avro(newer_value, 8, parsed_newer)), record(2)]
    )
    sub = subscription(consumer, registry)
    old, new, old_again = await take(sub, 3)
    assert registry.asked == [7, 8]
    assert type(old.record) is model_of(AGREEMENT) and type(old_again.record) is model_of(AGREEMENT)
    assert new.record == newer_value and new.purpose == "Zustellung, neu gefasst"
    assert new.schema_id == 8


async def test_an_undecodable_record_is_raised_every_time_until_skipped():
    garbage = record(1, value=frame(7, b"\xff\xff\xff"))
    consumer = ScriptedConsumer([record(0), garbage, record(2, value=None), record(3)])
    sub = subscription(consumer, ScriptedRegistry({7: SCHEMA}))
    await take(sub, 1)
    for _ in range(2):
        with pytest.raises(UndecodableDeliveryError) as caught:
            await take(sub, 1)
        assert (caught.value.topic, caught.value.partition, caught.value.offset) == (TOPIC, 0, 1)
        assert caught.value.schema_id == 7
        assert str(caught.value).startswith(f"{TOPIC}/0/1 (schema id 7): ")
    await sub.skip(caught.value)
    with pytest.raises(UndecodableDeliveryError, match="tombstone") as tombstone:
        await take(sub, 1)
    with pytest.raises(ValueError, match="not the record at the head"):
        await sub.skip(caught.value)
    await sub.skip(tombstone.value)
    last = await take(sub, 1)
    assert last[0].offset == 3
    await sub.stop()
    assert consumer.last == {0: 4}  # past the skipped ones too


async def test_an_unknown_schema_id_is_undecodable_an_unreachable_registry_is_not():
    consumer = ScriptedConsumer([record(0, value=avro(VALUE, 99)), record(1)])
    sub = subscription(consumer, ScriptedRegistry({7: SCHEMA}))
    with pytest.raises(UndecodableDeliveryError, match="schema id 99 is unknown to the registry"):
        await take(sub, 1)
    registry = ScriptedRegistry({7: SCHEMA}, fail=1)
    sub = subscription(ScriptedConsumer([record(0)]), registry)
    with pytest.raises(SchemaUnavailableError, match="cannot fetch schema id 7"):
        await take(sub, 1)
    assert (await take(sub, 1))[0].offset == 0  # asked again: the record waited


async def test_a_batch_ends_before_an_undecodable_record():
    consumer = ScriptedConsumer([record(0), record(1), record(2, value=b"nope"), record(3)])
    sub = subscription(consumer, ScriptedRegistry({7: SCHEMA}))
    batches = sub.batches(max=10, timeout=0.01)
    assert [d.offset for d in await batches.__anext__()] == [0, 1]
    with pytest.raises(UndecodableDeliveryError, match="not Confluent wire format") as caught:
        await batches.__anext__()
    await sub.skip(caught.value)
    assert [d.offset for d in await batches.__anext__()] == [3]
