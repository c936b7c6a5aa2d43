"""Access control on the real broker, with the authorizer on and confluent-kafka as the
independent client: what a department, a subscriber and the router may do, what they are
refused, and `hub access plan/apply` against a broker.

Each test world has principals of its own (unique names), its own catalog, credential store
and ledger topic, so it neither sees nor touches the ACLs of the shipped catalog.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from hub.access.acls import LITERAL, READ, TOPIC, Binding, HubTopics
from hub.access.broker import BrokerAccess
from hub.access.plan import Plan
from hub.access.service import plan_access
from hub.credentials import Credentials, CredentialStore
from hub.kafka import KafkaSecurity

AGREEMENT = """\
id: {id}
subscriber: {subscriber}
source: {source}
purpose: Wanderungsstatistik
legal_basis: "§ 4 Abs. 1 StatG NRW"
valid_until: {until}
fields:
  resident_id: pseudonymize
"""


@dataclass
class AccessWorld:
    """Two departments, two subscribers, one agreement each, on the shared test broker."""

    bootstrap: str
    admin: KafkaSecurity
    root: Path

    def __post_init__(self) -> None:
        uid = uuid.uuid4().hex[:8]
        self.a, self.b = f"a{uid}", f"b{uid}"
        self.s, self.t = f"s{uid}", f"t{uid}"
        self.catalog = self.root / "catalog"
        (self.catalog / "agreements").mkdir(parents=True)
        (self.catalog / "departments.yaml").write_text(
            f"departments:\n  {self.a}: {{contact: a@hamm.de}}\n  {self.b}: {{contact: b@hamm.de}}\n"
            f"subscribers:\n  {self.s}: {{contact: s@hamm.de}}\n  {self.t}: {{contact: t@hamm.de}}\n"
        )
        self.raw_a = f"{self.a}.resident.moved"
        self.raw_b = f"{self.b}.permit.applied"
        self.agree("s-on-a", self.s, self.raw_a)
        self.agree("t-on-b", self.t, self.raw_b)
        self.store = CredentialStore(self.root / "credentials")
        self.access = BrokerAccess(
            self.bootstrap, self.admin, ledger_topic=f"hub.access.test-{uid}"
        )
        self.topics = HubTopics(dlq=f"{self.a}.dlq", audit=f"{self.a}.audit")

    def agree(self, name: str, subscriber: str, source: str, until: str = "2099-12-31") -> Path:
        path = self.catalog / "agreements" / f"{name}.yaml"
        path.write_text(
            AGREEMENT.format(
                id=f"{name}-{self.a}", subscriber=subscriber, source=source, until=until
            )
        )
        return path

    def delivery(self, subscriber: str, source: str) -> str:
        return f"deliver.{subscriber}.{source}"

    def plan(self) -> Plan:
        return plan_access(self.catalog, self.access, topics=self.topics).plan

    def apply(self) -> Plan:
        plan = self.plan()
        self.access.apply(plan, self.store)
        return plan

    def mine(self, plan_bindings) -> set[str]:
        """Keys of the bindings that concern this world's principals or topics."""
        names = (self.a, self.b, self.s, self.t)
        return {b.key for b in plan_bindings if any(n in b.key for n in names)}

    def security(self, principal: str) -> KafkaSecurity:
        return self.admin.for_principal(self.store.read(principal))

    def create_topics(self, *names: str) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap, **self.admin.confluent()})
        for future in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
            try:
                future.result(30)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise


@pytest.fixture
def world(kafka_bootstrap, kafka_security, tmp_path) -> AccessWorld:
    w = AccessWorld(kafka_bootstrap, kafka_security, tmp_path)
    w.apply()
    w.create_topics(w.raw_a, w.raw_b, w.delivery(w.s, w.raw_a), w.delivery(w.t, w.raw_b))
    return w


def produce(
    bootstrap: str,
    security: KafkaSecurity,
    topic: str,
    value: bytes = b"x",
    *,
    idempotent: bool = True,
) -> None:
    """Produce one record; raise KafkaException with the broker's error. (An idempotent
    producer of a principal that may write nothing fails earlier, at its producer id.)"""
    errors: list[KafkaError] = []

    def delivered(err: KafkaError | None, _message: object) -> None:
        if err is not None:
            errors.append(err)

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            **security.confluent(),
            "enable.idempotence": idempotent,
            "message.timeout.ms": 10000,
        }
    )
    producer.produce(topic, value, on_delivery=delivered)
    left = producer.flush(15)
    if errors:
        raise KafkaException(errors[0])
    assert left == 0, "not delivered"


def read_one(bootstrap: str, security: KafkaSecurity, topic: str, group: str) -> bytes | None:
    """Read the first record of ``topic`` in ``group``; raise KafkaException on a refusal."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            **security.confluent(),
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(message.error())
            return message.value()
        return None
    finally:
        consumer.close()


def refused(call, *args) -> str:
    with pytest.raises(KafkaException) as info:
        call(*args)
    return info.value.args[0].name()


# -- enforcement --------------------------------------------------------------------------


def test_a_department_writes_its_own_topic_and_nothing_else(world):
    a = world.security(world.a)
    produce(world.bootstrap, a, world.raw_a, b"own event")
    assert read_one(world.bootstrap, a, world.raw_a, f"{world.a}.check") == b"own event"
    assert refused(produce, world.bootstrap, a, world.raw_b) == "TOPIC_AUTHORIZATION_FAILED"
    produce(world.bootstrap, world.admin, world.raw_b, b"b's event")
    assert (
        refused(read_one, world.bootstrap, a, world.raw_b, f"{world.a}.peek")
        == "TOPIC_AUTHORIZATION_FAILED"
    )


def test_a_subscriber_reads_its_delivery_and_no_raw_topic(world):
    produce(world.bootstrap, world.admin, world.raw_a, b"raw personal data")
    produce(world.bootstrap, world.admin, world.delivery(world.s, world.raw_a), b"pseudonymous")
    produce(world.bootstrap, world.admin, world.delivery(world.t, world.raw_b), b"t's delivery")
    s = world.security(world.s)
    mine = world.delivery(world.s, world.raw_a)
    assert read_one(world.bootstrap, s, mine, f"{world.s}.app") == b"pseudonymous"
    for topic in (world.raw_a, world.raw_b, world.delivery(world.t, world.raw_b)):
        assert (
            refused(read_one, world.bootstrap, s, topic, f"{world.s}.app")
            == "TOPIC_AUTHORIZATION_FAILED"
        ), topic
    # its groups are its own: another prefix is refused
    assert (
        refused(read_one, world.bootstrap, s, mine, f"{world.t}.app")
        == "GROUP_AUTHORIZATION_FAILED"
    )


def test_a_subscriber_cannot_write_anything(world):
    s = world.security(world.s)
    for topic in (world.delivery(world.s, world.raw_a), world.raw_a):
        with pytest.raises(KafkaException) as info:
            produce(world.bootstrap, s, topic, idempotent=False)
        assert info.value.args[0].name() == "TOPIC_AUTHORIZATION_FAILED", topic


def attempt(bootstrap: str, security: KafkaSecurity, topic: str) -> tuple[list, list[str]]:
    """What a client gets in 8 s: the records it read and the errors librdkafka reported."""
    errors: list[str] = []
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            **security.confluent(),
            "group.id": "intruder",
            "auto.offset.reset": "earliest",
            "error_cb": lambda err: errors.append(err.name()),
        }
    )
    records = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                records.append(message.value())
    finally:
        consumer.close()
    return records, errors


def test_a_wrong_password_and_no_credential_get_nothing(world):
    produce(world.bootstrap, world.admin, world.raw_a, b"raw personal data")
    wrong = world.admin.for_principal(Credentials(world.a, "not-the-password"))
    records, errors = attempt(world.bootstrap, wrong, world.raw_a)
    assert records == [] and "_AUTHENTICATION" in errors
    # No credential at all (PLAINTEXT against the SASL listener): the broker closes the door.
    records, errors = attempt(world.bootstrap, KafkaSecurity(protocol="PLAINTEXT"), world.raw_a)
    assert records == [] and errors  # disconnected, every time


# -- plan and apply -------------------------------------------------------------------------


def test_plan_is_empty_after_apply_and_removal_takes_exactly_the_agreements_bindings(world):
    assert world.plan().empty
    # Remove the agreement of s on a: its read, its group, the router's access to its topics.
    (world.catalog / "agreements" / "s-on-a.yaml").unlink()
    plan = world.plan()
    assert not plan.add
    removed = {b.key for b in plan.remove}
    delivery = world.delivery(world.s, world.raw_a)
    assert removed == {
        f"User:{world.s} read topic:{delivery} host=*",
        f"User:{world.s} describe topic:{delivery} host=*",
        f"User:{world.s} read group:{world.s}.* host=*",
        f"User:hub-router read topic:{world.raw_a} host=*",
        f"User:hub-router describe topic:{world.raw_a} host=*",
        f"User:hub-router write topic:{delivery} host=*",
        f"User:hub-router describe topic:{delivery} host=*",
        f"User:hub-router create topic:{delivery} host=*",
        # the data-protection officer's tool (consumers/rights) and s's erasure confirmations
        f"User:hub-rights read topic:{delivery} host=*",
        f"User:hub-rights write topic:{delivery} host=*",
        f"User:hub-rights describe topic:{delivery} host=*",
        f"User:{world.s} write topic:hub.rights.confirmations.{world.s} host=*",
        f"User:{world.s} describe topic:hub.rights.confirmations.{world.s} host=*",
    }
    world.access.apply(plan, world.store)
    assert world.plan().empty
    produce(world.bootstrap, world.admin, delivery, b"after the agreement ended")
    # Its only agreement gone, the subscriber has lost its groups as well as the topic.
    assert refused(
        read_one, world.bootstrap, world.security(world.s), delivery, f"{world.s}.app"
    ) in ("TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED")


def test_an_expired_agreement_closes_the_read(world):
    world.agree("s-on-a", world.s, world.raw_a, until="2020-01-01")
    plan = world.plan()
    assert {b.key for b in plan.remove} == {
        f"User:{world.s} read topic:{world.delivery(world.s, world.raw_a)} host=*",
        f"User:{world.s} describe topic:{world.delivery(world.s, world.raw_a)} host=*",
        f"User:{world.s} read group:{world.s}.* host=*",
    }


def test_a_hand_made_acl_survives_apply(world):
    by_hand = Binding(world.s, TOPIC, LITERAL, f"handmade.{world.s}", READ)
    world.access.create_acls([by_hand])
    (world.catalog / "agreements" / "s-on-a.yaml").unlink()
    plan = world.apply()
    assert by_hand.key not in {b.key for b in plan.remove}
    assert by_hand.key in {b.key for b in plan.unmanaged}
    assert by_hand.key in {b.key for b in world.access.bindings()}
    assert any("left alone" in line for line in plan.lines())


def test_a_fresh_world_plans_all_its_bindings_and_users(kafka_bootstrap, kafka_security, tmp_path):
    w = AccessWorld(kafka_bootstrap, kafka_security, tmp_path)
    plan = w.plan()
    assert {w.a, w.b, w.s, w.t} <= set(plan.add_users)
    added = w.mine(plan.add)
    assert f"User:{w.s} read topic:{w.delivery(w.s, w.raw_a)} host=*" in added
    assert f"User:{w.a} write topic:{w.a}.* host=*" in added
    assert f"User:hub-router read topic:{w.raw_a} host=*" in added
    w.access.apply(plan, w.store)
    assert w.plan().empty
    for user in (w.a, w.b, w.s, w.t):
        assert w.store.exists(user)
