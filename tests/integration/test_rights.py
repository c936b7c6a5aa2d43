"""Data-subject rights against the real broker, the hub's registry and the real router: a person
planted in two source topics, routed under four agreements (one filtering the person out), the
raw topics expired; `hub rights access` names exactly the recipients that got the person's
data, in the form and at the time they got it; the receipts hold no planted identifier; an
erasure reaches a subscriber through the SDK and one through a webhook, in each one's own
pseudonyms; the confirmations show in `hub rights status`. Every service runs as its own
principal under the ACLs of this world's catalog (hub-router, hub-rights, hub-webhooks, the
subscribers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from identity import confluent_security, registry_config
from ports import free_port
from prometheus_client import REGISTRY
from router_world import CANARY, REPO, SECRET

from consumers.rights.contract import ERASURE_TYPE, RIGHTS_SCHEMA
from consumers.rights.person import Person
from consumers.rights.service import Rights, RightsConfig
from consumers.router.audit import AUDIT_SCHEMA
from consumers.router.service import Router, RouterConfig
from consumers.subscriber import ErasureRequest, Subscription
from consumers.webhooks.receiver import Receiver, ReceiverThread
from consumers.webhooks.service import WebhookConfig, WebhookDispatcher
from consumers.webhooks.signing import generate_secret
from hub.access.acls import HubTopics
from hub.access.broker import BrokerAccess
from hub.access.service import plan_access
from hub.credentials import CredentialStore
from hub.kafka import KafkaSecurity
from hub.receipts import RECEIPT_SCHEMA
from hub.schemas.catalog import standalone_schema
from hub.serde import RegistryClient
from hub.topics import read_snapshot
from producers.simulators import generate

CASE = "DS-2026-0042"
RESIDENT = CANARY["resident_id"] + "-RIGHTS"
PHONE = CANARY["phone"] + "-77"
NOT_SEEN = CANARY["resident_id"] + "-NEVER"
SECRET_VAR = "HUB_TEST_RIGHTS_WEBHOOK_SECRET"
SUBSCRIBERS = ("ordnungsamt", "statistik", "umwelt", "kasse")

AGREEMENTS = {
    # the person moves within Hamm and once away: this one sees only the first
    "ordnungsamt": """\
id: {d}-ordnungsamt
subscriber: ordnungsamt
source: {d}.resident.moved
purpose: Zustellung von Bescheiden an die aktuelle Anschrift
legal_basis: "§ 34 Abs. 1 BMG"
valid_until: 2099-12-31
where: {{new_address.city: {{eq: Hamm}}}}
fields:
  resident_id: pseudonymize
  birth_date: {{generalize: year}}
  new_address.postcode: keep
  moved_at: {{truncate: day}}
""",
    "statistik": """\
id: {d}-statistik
subscriber: statistik
source: {d}.resident.moved
purpose: Wanderungsstatistik nach Stadtbezirken
legal_basis: "§ 4 Abs. 1 StatG NRW"
valid_until: 2099-12-31
fields:
  resident_id: pseudonymize
  birth_date: {{age_band: 10}}
  new_address.postcode: {{postcode_prefix: 3}}
  residence_type: keep
""",
    # filters the person out: gets other residents, never the person, so nothing to erase
    "kasse": """\
id: {d}-kasse
subscriber: kasse
source: {d}.resident.moved
purpose: Zweitwohnungsteuer
legal_basis: "§ 2 Zweitwohnungsteuersatzung"
valid_until: 2099-12-31
where: {{residence_type: {{eq: SECONDARY}}}}
fields:
  resident_id: pseudonymize
  new_address.postcode: keep
""",
    "umwelt": """\
id: {d}-umwelt
subscriber: umwelt
source: {d}.noise-complaint.filed
purpose: Lärmaktionsplanung nach § 47d BImSchG
legal_basis: "§ 47d BImSchG"
valid_until: 2099-12-31
fields:
  complainant_phone: pseudonymize
  postcode: keep
  noise_source: keep
  occurred_at: {{truncate: hour}}
""",
}


def at(minutes: int) -> datetime:
    return datetime(2026, 11, 2, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)


@dataclass
class Planted:
    key: str
    topic: str
    record: dict[str, Any]


class RightsWorld:
    """Two source topics of a department of its own, four agreements, the hub's own topics
    under names of its own, ACLs applied with a ledger of its own."""

    def __init__(self, bootstrap: str, registry_url: str, root: Path) -> None:
        self.bootstrap, self.registry_url, self.root = bootstrap, registry_url, root
        d = self.dept = "r" + uuid.uuid4().hex[:10]
        self.catalog = root / "catalog"
        self.schemas = root / "schemas"
        (self.catalog / "agreements").mkdir(parents=True)
        (self.catalog / "subscriptions").mkdir()
        (self.catalog / "organisation.yaml").write_text(
            (REPO / "catalog" / "organisation.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
        self.moves, self.complaints = f"{d}.resident.moved", f"{d}.noise-complaint.filed"
        for topic, source in (
            (self.moves, "buergeramt/resident.moved"),
            (self.complaints, "ordnungsamt/noise-complaint.filed"),
        ):
            target = self.schemas / d / topic.split(".", 1)[1]
            target.mkdir(parents=True)
            text = json.dumps(standalone_schema(REPO / "schemas" / source / "v1.avsc"))
            (target / "v1.avsc").write_text(text)
        (self.catalog / "departments.yaml").write_text(
            f"departments:\n  {d}: {{contact: it@hamm.de}}\nsubscribers:\n"
            + "".join(
                f"  {s}: {{contact: {s}@hamm.de, description: {s.title()}}}\n" for s in SUBSCRIBERS
            )
        )
        for name, text in AGREEMENTS.items():
            (self.catalog / "agreements" / f"{name}.yaml").write_text(text.format(d=d))
        self.topics = HubTopics(
            dlq=f"{d}.dlq",
            audit=f"{d}.audit",
            receipts=f"{d}.receipts",
            agreements=f"{d}.agreements",
            quality=f"{d}.quality",
            router_group=f"{d}-router",
            rights=f"{d}.rights",
            rights_confirmations=f"{d}.rights.confirmations.",
        )
        self.admin = AdminClient({"bootstrap.servers": bootstrap, **confluent_security()})
        self._registry = SchemaRegistryClient(registry_config(registry_url))
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, **confluent_security(), "enable.idempotence": True}
        )

    def close(self) -> None:
        """Let go of the world's Kafka clients while the broker still runs (a module's fixture
        value lives as long as the session: its clients would call a stopped broker)."""
        del self.admin, self._producer

    def delivery(self, subscriber: str) -> str:
        source = self.complaints if subscriber == "umwelt" else self.moves
        return f"deliver.{subscriber}.{source}"

    # -- access -------------------------------------------------------------------------------
    def govern(self, admin: KafkaSecurity) -> None:
        """Register the world's hub subjects as the admin (the registry's principal register
        does not know this department: only the admin writes them, the services look them
        up), then apply the catalog's ACLs."""
        schemas = {self.topics.audit: AUDIT_SCHEMA, self.topics.receipts: RECEIPT_SCHEMA}
        schemas[self.topics.rights] = RIGHTS_SCHEMA
        with contextlib.suppress(ImportError):  # the router's quality summaries
            from hub.quality.summary import SUMMARY_SCHEMA

            schemas[self.topics.quality] = SUMMARY_SCHEMA
        with RegistryClient(self.registry_url, auth=admin.credentials) as client:
            for topic, schema in schemas.items():
                client.register(f"{topic}-value", schema)
        access = BrokerAccess(self.bootstrap, admin, ledger_topic=f"hub.access.{self.dept}")
        plan = plan_access(self.catalog, access, topics=self.topics).plan
        access.apply(plan, CredentialStore(self.root / "credentials"))

    # -- the city ---------------------------------------------------------------------------
    def create_sources(self) -> None:
        # Short retention: the raw events are gone long before an access request comes.
        specs = [
            NewTopic(t, 1, 1, config={"retention.ms": "60000"})
            for t in (self.moves, self.complaints)
        ]
        for future in self.admin.create_topics(specs).values():
            future.result(30)

    def plant(self) -> list[Planted]:
        rng = random.Random(15)
        events: list[Planted] = []

        def move(resident: str, minutes: int, city: str, kind: str = "MAIN") -> None:
            _, record = generate("buergeramt.resident.moved", rng)
            record.update(resident_id=resident, occurred_at=at(minutes), residence_type=kind)
            record["new_address"]["city"] = city
            record["new_address"]["street"] = CANARY["street"]
            record["old_address"]["street"] = CANARY["old_street"]
            events.append(Planted(resident, self.moves, record))

        move(RESIDENT, 0, "Hamm")  # → ordnungsamt, statistik
        move(CANARY["resident_id"] + "-2", 1, "Hamm", "SECONDARY")  # → all three, not the person
        move(RESIDENT, 2, "Unna")  # → statistik only
        move(CANARY["resident_id"] + "-3", 3, "Hamm")
        _, complaint = generate("ordnungsamt.noise-complaint.filed", rng)
        complaint.update(
            complainant_phone=PHONE, occurred_at=at(4), complainant_name="Kanarienvogel"
        )
        events.append(Planted(complaint["complaint_id"], self.complaints, complaint))
        _, other = generate("ordnungsamt.noise-complaint.filed", rng)
        other.update(complainant_phone="+49-2381-000000", occurred_at=at(5))
        events.append(Planted(other["complaint_id"], self.complaints, other))
        for e in events:
            schema = json.loads(
                next(
                    (self.schemas / self.dept).glob(f"{e.topic.split('.', 1)[1]}/v1.avsc")
                ).read_text()
            )
            serialize = AvroSerializer(self._registry, json.dumps(schema))
            self._producer.produce(
                e.topic,
                serialize(e.record, SerializationContext(e.topic, MessageField.VALUE)),
                key=e.key.encode(),
                headers=[("ce_specversion", b"1.0"), ("ce_id", uuid.uuid4().hex.encode()),
                         ("ce_source", b"/hamm/test"), ("ce_type", b"de.hamm.test")],
            )  # fmt: skip
        assert self._producer.flush(30) == 0
        return events

    def expire(self, topic: str) -> None:
        """What the retention does to a topic, now: its log starts after its last record."""
        for future in self.admin.delete_records([TopicPartition(topic, 0, -1)]).values():
            future.result(30)

    def router(self, security: KafkaSecurity) -> RouterConfig:
        return RouterConfig(
            bootstrap=self.bootstrap,
            registry_url=self.registry_url,
            agreements_dir=self.catalog / "agreements",
            schemas_dir=self.schemas,
            group=self.topics.router_group,
            dlq_topic=self.topics.dlq,
            audit_topic=self.topics.audit,
            receipts_topic=self.topics.receipts,
            agreements_topic=self.topics.agreements,
            quality_topic=self.topics.quality,
            security=security,
        )

    def rights(self, security: KafkaSecurity) -> RightsConfig:
        return RightsConfig(
            bootstrap=self.bootstrap,
            registry_url=self.registry_url,
            catalog_dir=self.catalog,
            schemas_dir=self.schemas,
            master_secret=SECRET,
            security=security,
            receipts_topic=self.topics.receipts,
            agreements_topic=self.topics.agreements,
            rights_topic=self.topics.rights,
            confirmations_prefix=self.topics.rights_confirmations,
            retention_days=30,
            transactional_id=f"hub-rights-{self.dept}",
            topics=self.topics,
        )

    def env(self, principal: str) -> dict[str, str]:
        """``hub rights ...`` in a subprocess on this world, as ``principal``."""
        return {
            **os.environ,
            "HUB_BOOTSTRAP_SERVERS": self.bootstrap,
            "HUB_REGISTRY_URL": self.registry_url,
            "HUB_CATALOG_DIR": str(self.catalog),
            "HUB_SCHEMAS_DIR": str(self.schemas),
            "HUB_SECRET_FILE": str(self.root / "secret"),
            "HUB_RECEIPTS_TOPIC": self.topics.receipts,
            "HUB_AGREEMENTS_TOPIC": self.topics.agreements,
            "HUB_RIGHTS_TOPIC": self.topics.rights,
            "HUB_RIGHTS_CONFIRMATIONS_PREFIX": self.topics.rights_confirmations,
            "HUB_KAFKA_USERNAME": principal,
            "HUB_LOG_FORMAT": "text",
        }


def hub(world: RightsWorld, principal: str, *args: str) -> subprocess.CompletedProcess:
    (world.root / "secret").write_bytes(SECRET)
    return subprocess.run(
        [sys.executable, "-m", "hub", "rights", *args],
        env=world.env(principal),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=world.root,
    )


async def route_all(config: RouterConfig, world: RightsWorld, expected: dict[str, int]) -> dict:
    """Route everything planted; the committed deliveries by subscriber."""
    from committed import read_committed

    async with Router(config, SECRET) as router:
        task = asyncio.create_task(router.run())
        try:
            got = {}
            for subscriber, n in expected.items():
                got[subscriber] = await asyncio.to_thread(
                    read_committed, world.bootstrap, world.delivery(subscriber), n, settle=0.1
                )
        finally:
            router.stop()
            await asyncio.wait_for(task, 30)
    return got


def all_bytes(records) -> bytes:
    return b"".join(
        (r.key or b"") + (r.value or b"") + b"".join(k.encode() + (v or b"") for k, v in r.headers)
        for r in records
    )


def header(message, name: str) -> str:
    return dict(message.headers())[name].decode()


@dataclass
class Routed:
    """The world after the router delivered and the raw topics expired."""

    world: RightsWorld
    delivered: dict[str, list]  # committed deliveries by subscriber (confluent Messages)
    principals: dict[str, KafkaSecurity]
    rights: RightsConfig
    receiver: Receiver
    hook_secret: str

    def delivery_id(self, subscriber: str, offset: int) -> str:
        source = self.world.complaints if subscriber == "umwelt" else self.world.moves
        return f"{self.world.dept}-{subscriber}/{source}/0/{offset}"

    def received(self, subscriber: str, offset: int) -> tuple[str | None, dict[str, Any]]:
        """Key and record as ``subscriber`` received the source event at ``offset``."""
        from hub.serde import AvroSerde

        serde = AvroSerde(schema_source=RegistryClient(self.world.registry_url).schema_by_id)
        wanted = self.delivery_id(subscriber, offset)
        (m,) = [m for m in self.delivered[subscriber] if header(m, "ce_hubdelivery") == wanted]
        return (m.key().decode() if m.key() else None), serde.decode(m.value())


PERSON = Person.parse([f"resident_id={RESIDENT}", f"complainant_phone={PHONE}"])


@pytest.fixture(scope="module")
async def routed(
    kafka_bootstrap,
    registry_url,
    kafka_security,
    kafka_principal,
    router_security,
    tmp_path_factory,
):
    # the users first: the world's plan then only adds their ACLs
    principals = {n: kafka_principal(n) for n in (*SUBSCRIBERS, "hub-rights", "hub-webhooks")}
    principals["hub-router"] = router_security
    world = RightsWorld(kafka_bootstrap, registry_url, tmp_path_factory.mktemp("rights"))
    hook_secret = generate_secret()
    receiver = Receiver(hook_secret)
    with ReceiverThread(receiver, free_port()) as server:
        (world.catalog / "subscriptions" / "umwelt.yaml").write_text(
            f"id: {world.dept}-hook\nsubscriber: umwelt\nagreements: [{world.dept}-umwelt]\n"
            f"endpoint: {server.url}\nsecret: env:{SECRET_VAR}\n"
        )
        world.govern(kafka_security)
        world.create_sources()
        world.plant()
        delivered = await route_all(
            world.router(principals["hub-router"]),
            world,
            {"ordnungsamt": 3, "statistik": 4, "kasse": 1, "umwelt": 2},
        )
        # Long after: the raw events are gone, and so are statistik's deliveries.
        for topic in (world.moves, world.complaints, world.delivery("statistik")):
            world.expire(topic)
        yield Routed(
            world,
            delivered,
            principals,
            world.rights(principals["hub-rights"]),
            receiver,
            hook_secret,
        )
    world.close()


async def test_access_names_exactly_the_recipients_of_the_persons_data(routed):
    async with Rights(routed.rights) as service:
        report = await service.access(PERSON, case=CASE, requested_by="dsb")
        never = await service.access(
            Person.parse([f"resident_id={NOT_SEEN}"]), case="DS-2026-0043", requested_by="dsb"
        )
    data = report.as_json()
    by = {r["subscriber"]: r for r in data["recipients"]}
    # kasse's filter held the person back: it is not named
    assert {s: r["deliveries"] for s, r in by.items()} == {
        "ordnungsamt": 1,  # its filter let only the move within Hamm through
        "statistik": 2,
        "umwelt": 1,  # known by the phone number of the complaint
    }
    (oa,) = by["ordnungsamt"]["agreements"]
    assert oa["purpose"] == "Zustellung von Bescheiden an die aktuelle Anschrift"
    assert oa["legal_basis"] == "§ 34 Abs. 1 BMG"
    forms = {f["path"]: f["form"] for f in oa["fields"]}
    assert (
        forms["birth_date"] == "nur das Jahr" and forms["moved_at"] == "nur der Tag, ohne Uhrzeit"
    )
    (line,) = oa["deliveries"]
    assert line["delivery_id"] == routed.delivery_id("ordnungsamt", 0)
    assert line["event_time"] == "2026-11-02T09:00:00Z"
    key, value = routed.received("ordnungsamt", 0)
    assert line["retained"] and line["key"] == key
    assert line["values"]["resident_id"] == value["resident_id"]  # as the recipient got it
    (st,) = by["statistik"]["agreements"]
    assert [d["event_time"] for d in st["deliveries"]] == [
        "2026-11-02T09:00:00Z",
        "2026-11-02T09:02:00Z",
    ]
    assert not any(d["retained"] for d in st["deliveries"])  # expired: forms and times only
    assert "Altersgruppe" in {f["path"]: f["form"] for f in st["fields"]}["birth_date"]
    (uw,) = by["umwelt"]["agreements"]
    assert [(d["event_time"], d["delivery_id"]) for d in uw["deliveries"]] == [
        ("2026-11-02T09:04:00Z", routed.delivery_id("umwelt", 0))
    ]
    assert never.as_json()["found"] is False and never.as_json()["recipients"] == []
    assert RESIDENT not in json.dumps(data) and PHONE not in json.dumps(data)


async def test_the_receipts_hold_no_planted_identifier(routed):
    world = routed.world
    receipts = await read_snapshot(world.bootstrap, world.topics.receipts)
    versions = await read_snapshot(world.bootstrap, world.topics.agreements)
    assert receipts and versions, "the router wrote no receipts or agreement versions"
    for records in (receipts, versions):
        blob = all_bytes(records)
        for canary in (RESIDENT, PHONE, *CANARY.values(), "Kanarienvogel"):
            assert canary.encode() not in blob, canary


async def test_erasure_reaches_each_recipient_in_its_own_pseudonyms(routed):
    world, principals, receiver = routed.world, routed.principals, routed.receiver
    async with Rights(routed.rights) as service:
        outcome = await service.erase(PERSON, case=CASE, requested_by="dsb")
    sent = {r.subscriber: r for r in outcome.plan.requests}
    assert set(sent) == {"ordnungsamt", "statistik", "umwelt"}  # not kasse
    pseudonyms = {s: r.record["agreements"][0]["pseudonyms"] for s, r in sent.items()}
    oa_key, oa_value = routed.received("ordnungsamt", 0)
    _, st_value = routed.received("statistik", 0)  # read before its topic expired
    _, uw_value = routed.received("umwelt", 0)
    # each exactly what that recipient received, and two recipients' differ
    assert pseudonyms == {
        "ordnungsamt": [{"field": "resident_id", "pseudonym": oa_value["resident_id"]}],
        "statistik": [{"field": "resident_id", "pseudonym": st_value["resident_id"]}],
        "umwelt": [{"field": "complainant_phone", "pseudonym": uw_value["complainant_phone"]}],
    }
    assert oa_value["resident_id"] != st_value["resident_id"]
    assert sent["ordnungsamt"].record["agreements"][0]["key_pseudonyms"] == [oa_key]
    assert any("feature" in c.holds for c in outcome.copies)

    # -- the SDK: the request to its hook, never as a Delivery; confirm() --------------------
    requests: list[ErasureRequest] = []
    done = asyncio.Event()

    async def on_erasure(request: ErasureRequest) -> None:
        requests.append(request)
        await request.confirm(note="Az. OA-17")
        done.set()

    got = []
    async with subscribe(routed, on_erasure=on_erasure) as subscription:

        async def read() -> None:
            async for d in subscription:
                got.append(d)

        reading = asyncio.create_task(read())
        try:
            await asyncio.wait_for(done.wait(), 30)  # the request comes after the deliveries
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
    assert len(got) == 3 and all(d.agreement_id == f"{world.dept}-ordnungsamt" for d in got)
    assert requests[0].case == CASE and requests[0].pseudonyms == {oa_value["resident_id"], oa_key}
    assert requests[0].delivery_ids == [routed.delivery_id("ordnungsamt", 0)]

    # -- without a hook, in batches: passed over with a warning, counted, never a Delivery ----
    def passed_over() -> float:
        labels = {"subscriber": "ordnungsamt", "handled": "no"}
        return REGISTRY.get_sample_value("hub_subscriber_erasure_requests_total", labels) or 0

    before, batches = passed_over(), []
    async with subscribe(routed) as subscription:

        async def read_batches() -> None:
            async for batch in subscription.batches(max=10, timeout=0.5):
                batches.append(batch)

        reading = asyncio.create_task(read_batches())
        try:
            for _ in range(300):
                if passed_over() > before:
                    break
                await asyncio.sleep(0.1)
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
    assert passed_over() == before + 1
    assert [len(b) for b in batches] == [3]  # the deliveries before it, then nothing more

    # -- a webhook: a signed CloudEvent POST; the recipient confirms with the CLI -------------
    hooks = WebhookConfig(
        bootstrap=world.bootstrap,
        registry_url=world.registry_url,
        subscriptions_dir=world.catalog / "subscriptions",
        agreements_dir=world.catalog / "agreements",
        dlq_topic="hub.webhooks.dlq",  # the one its ACLs name
        commit_interval=0.2,
        environ={SECRET_VAR: routed.hook_secret},
        security=principals["hub-webhooks"],
    )

    def posted() -> list:
        return [r for r in receiver.accepted.values() if r.headers.get("ce-type") == ERASURE_TYPE]

    async with WebhookDispatcher(hooks) as dispatcher:
        task = asyncio.create_task(dispatcher.run())
        try:
            for _ in range(300):
                if posted():
                    break
                await asyncio.sleep(0.1)
        finally:
            dispatcher.stop()
            await asyncio.wait_for(task, 30)
    (request,) = posted()
    assert request.record["case"] == CASE
    assert request.record["agreements"][0]["pseudonyms"] == pseudonyms["umwelt"]
    assert request.id == sent["umwelt"].request_id and "ce-hubdelivery" not in request.headers
    assert len(receiver.accepted) == 3  # its two deliveries and the request
    confirmed = await asyncio.to_thread(
        hub, world, "umwelt", "confirm", "--case", CASE, "--subscriber", "umwelt"
    )
    assert confirmed.returncode == 0, confirmed.stderr
    # nobody confirms for another: umwelt may not write ordnungsamt's topic
    forged = await asyncio.to_thread(
        hub, world, "umwelt", "confirm", "--case", CASE, "--subscriber", "ordnungsamt"
    )
    assert forged.returncode == 1 and "may not write" in forged.stderr

    # -- a recipient that got nothing about the person got nothing -----------------------------
    kasse = await read_snapshot(world.bootstrap, world.delivery("kasse"))
    assert len(kasse) == 1 and (b"ce_type", ERASURE_TYPE.encode()) not in [
        (k.encode(), v) for r in kasse for k, v in r.headers
    ]

    # -- status: who confirmed, who has not; the figures -------------------------------------
    status = await asyncio.to_thread(hub, world, "hub-rights", "status", "--case", CASE)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == f"case {CASE}: 3 recipients notified, 2 confirmed, 1 outstanding"
    assert [line.split()[:2] for line in lines[1:4]] == [
        ["confirmed", "ordnungsamt"],
        ["outstanding", "statistik"],
        ["confirmed", "umwelt"],
    ]
    assert "Az. OA-17" in lines[1]
    assert f'hub_rights_confirmations_outstanding{{case="{CASE}"}} 1.0' in status.stdout


async def test_the_cli_writes_the_letter_and_the_trail_holds_hashes_only(routed):
    world = routed.world
    letter = world.root / "auskunft.pdf"
    made = await asyncio.to_thread(
        hub, world, "hub-rights", "access", "--id", f"resident_id={RESIDENT}", "--case", CASE,
        "--format", "pdf", "--output", str(letter),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert letter.read_bytes().startswith(b"%PDF")
    markdown = await asyncio.to_thread(
        hub, world, "hub-rights", "access", "--id", f"resident_id={RESIDENT}", "--case", CASE
    )
    assert markdown.returncode == 0, markdown.stderr
    assert "# Auskunft nach Art. 15 DSGVO" in markdown.stdout and "Statistik" in markdown.stdout
    trail = await read_snapshot(world.bootstrap, world.topics.rights)
    assert len(trail) >= 2
    for canary in (RESIDENT, PHONE):
        assert canary.encode() not in all_bytes(trail)
    bad = await asyncio.to_thread(
        hub, world, "hub-rights", "access", "--id", "resident_id", "--case", CASE
    )
    assert bad.returncode == 2 and "expected name=value" in bad.stderr


@contextlib.asynccontextmanager
async def subscribe(routed: Routed, **kw):
    async with Subscription(
        "ordnungsamt",
        name=f"t{uuid.uuid4().hex[:6]}",
        topics=[routed.world.delivery("ordnungsamt")],
        bootstrap_servers=routed.world.bootstrap,
        registry_url=routed.world.registry_url,
        security=routed.principals["ordnungsamt"],
        models=None,
        **kw,
    ) as subscription:
        yield subscription
