"""The pull API in-process (httpx over ASGI) against the real broker and the hub's registry:
paging through 10k transactional deliveries without gap or repeat, forged cursors refused,
401/403/404, and the service as ``hub-deliveries`` under the ACLs of a world's catalog."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from identity import aiokafka_security
from ports import free_port
from router_world import CANARY, ORDNUNGSAMT, SECRET, STATISTIK, World, resident

from consumers.deliveries.app import create_app
from consumers.deliveries.catalog import CatalogSource, PullCatalog, load_pull_catalog
from consumers.deliveries.cursor import CursorCodec
from consumers.deliveries.encoding import BATCH_MEDIA_TYPE
from consumers.deliveries.pull import Puller
from consumers.deliveries.reader import DeliveryReader
from consumers.router.service import Router
from hub.access.tokens import hash_token
from hub.agreements.compile import compile_agreement
from hub.agreements.model import load_agreement
from hub.kafka import KafkaSecurity
from hub.schemas.catalog import load_catalog
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryClient
from hub.topics import TopicSpec, ensure_topics

REPO = Path(__file__).resolve().parents[2]
TOKEN = "hub_statistik-pull-token-of-the-test"
OTHER_TOKEN = "hub_bussgeld-pull-token-of-the-test"
PARTITIONS = 3


class Deliveries:
    """A delivery topic of its own, written directly as the router would (transactions, the
    derived schema, the router's headers), so 10k deliveries take a second, not a router run."""

    def __init__(self, bootstrap: str, registry_url: str, root: Path) -> None:
        self.bootstrap = bootstrap
        self.registry_url = registry_url
        self.dept = "t" + uuid.uuid4().hex[:10]
        self.source = f"{self.dept}.resident.moved"
        self.catalog_dir = root / "catalog"
        (self.catalog_dir / "agreements").mkdir(parents=True)
        (self.catalog_dir / "departments.yaml").write_text(
            f"departments:\n  {self.dept}: {{}}\n"
            "subscribers:\n"
            f"  statistikstelle: {{pull_tokens: ['{hash_token(TOKEN)}']}}\n"
            f"  bussgeldstelle: {{pull_tokens: ['{hash_token(OTHER_TOKEN)}']}}\n"
        )
        self.agreement = self._agree(f"{self.dept}-statistik", "statistikstelle")
        self.foreign = self._agree(f"{self.dept}-bussgeld", "bussgeldstelle")
        self.topic = self.agreement.topic
        self.written: list[str] = []  # delivery ids, in the order written
        self.aborted: list[str] = []

    def _agree(self, agreement_id: str, subscriber: str):
        path = self.catalog_dir / "agreements" / f"{agreement_id}.yaml"
        path.write_text(
            f"id: {agreement_id}\nsubscriber: {subscriber}\nsource: {self.source}\n"
            "purpose: Wanderungsstatistik\nlegal_basis: '§ 4 Abs. 1 StatG NRW'\n"
            "valid_until: 2099-12-31\n"
            "fields:\n  resident_id: pseudonymize\n  birth_date: {age_band: 10}\n"
            "  moved_at: {truncate: day}\n  residence_type: keep\n"
        )
        return load_agreement(path)

    async def setup(self) -> None:
        source = load_catalog(REPO / "schemas")["buergeramt.resident.moved"].latest.schema
        self.compiled = compile_agreement(self.agreement, source, SECRET)
        with RegistryClient(self.registry_url) as client:
            self.schema_id = client.register(f"{self.topic}-value", self.compiled.output_schema)
        await ensure_topics(self.bootstrap, [TopicSpec(self.topic, partitions=PARTITIONS)])
        self.serde = AvroSerde()
        self.serde.add_schema(self.schema_id, self.compiled.output_schema)

    async def write(self, count: int, *, abort_every: int = 0, batch: int = 500) -> None:
        """``count`` committed deliveries in transactions of ``batch``; with ``abort_every``,
        every so many transactions one more is aborted (its records must never be pulled)."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            transactional_id=f"{self.dept}-writer-{uuid.uuid4().hex[:6]}",
            enable_idempotence=True,
            **aiokafka_security(),
        )
        await producer.start()
        try:
            done = 0
            transactions = 0
            while done < count:
                transactions += 1
                if abort_every and transactions % abort_every == 0:
                    await self._transaction(producer, 50, aborted=True)
                n = min(batch, count - done)
                await self._transaction(producer, n, aborted=False)
                done += n
        finally:
            await producer.stop()

    async def _transaction(self, producer: AIOKafkaProducer, n: int, *, aborted: bool) -> None:
        await producer.begin_transaction()
        futures = []
        for _ in range(n):
            i = len(self.written) + len(self.aborted)
            delivery = f"{self.agreement.id}/{self.source}/0/{i}"
            key, value = self.compiled.transform(
                f"R-{i}",
                {
                    **resident(i),
                    "occurred_at": dt.datetime(2026, 11, 25, 8, 30, tzinfo=dt.UTC),
                },
            )
            headers = [
                ("ce_specversion", b"1.0"),
                ("ce_id", f"event-{i}".encode()),
                ("ce_source", b"/hamm/buergeramt/test"),
                ("ce_type", b"de.hamm.buergeramt.resident.moved"),
                ("ce_time", b"2026-11-25T08:30:00Z"),
                ("content-type", b"application/avro"),
                ("ce_hubagreement", self.agreement.id.encode()),
                ("ce_hubdelivery", delivery.encode()),
            ]
            futures.append(
                await producer.send(
                    self.topic,
                    self.serde.encode(self.schema_id, value),
                    key=key.encode() if key else None,
                    headers=headers,
                )
            )
            (self.aborted if aborted else self.written).append(delivery)
        await asyncio.gather(*futures)
        if aborted:
            await producer.abort_transaction()
        else:
            await producer.commit_transaction()


@contextlib.asynccontextmanager
async def pull_api(
    bootstrap: str,
    registry_url: str,
    catalog: PullCatalog | CatalogSource,
    security: KafkaSecurity | None = None,
    **reader_options,
):
    security = security or KafkaSecurity.from_settings()
    reader = DeliveryReader(bootstrap, security, **reader_options)
    registry = AsyncRegistryClient(registry_url, auth=security.credentials)
    puller = Puller(reader, registry, CursorCodec.from_master_secret(SECRET))
    app = create_app(puller, catalog, schemas_dir=REPO / "schemas")
    async with reader:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://pull", timeout=30
        ) as client:
            yield client
    await registry.aclose()


@pytest.fixture
async def deliveries(kafka_bootstrap, registry_url, tmp_path) -> Deliveries:
    found = Deliveries(kafka_bootstrap, registry_url, tmp_path)
    await found.setup()
    return found


async def pull_all(
    client: httpx.AsyncClient, url: str, cursor: str | None, limit, expected: int | None = None
) -> tuple:
    """Every event until an empty batch; the events and the last cursor. With ``expected``, an
    empty batch before that many is a pull whose short wait ended first (a busy machine, a
    pooled consumer serving another cursor): pull on, up to a minute."""
    events: list[dict] = []
    deadline = time.monotonic() + 60
    for _ in range(10_000):
        params = {"limit": str(limit())} | ({"cursor": cursor} if cursor else {})
        response = await client.get(url, params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == BATCH_MEDIA_TYPE
        batch = response.json()
        cursor = response.headers["hub-next-cursor"]
        if not batch:
            if expected is None or len(events) >= expected or time.monotonic() > deadline:
                return events, cursor
            continue
        events += batch
    raise AssertionError("the pulls never caught up")


async def test_cursor_round_trip_over_10k_deliveries_without_gap_or_repeat(deliveries):
    await deliveries.write(10_000, abort_every=4)
    assert deliveries.aborted  # the log holds aborted records and transaction markers
    catalog = load_pull_catalog(deliveries.catalog_dir)
    url = f"/v1/deliveries/{deliveries.agreement.id}"
    async with pull_api(deliveries.bootstrap, deliveries.registry_url, catalog) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        events, cursor = await pull_all(client, url, None, lambda: 1000, len(deliveries.written))

        ids = [e["hubdelivery"] for e in events]
        assert len(ids) == len(set(ids)), "a delivery was handed out twice"
        assert set(ids) == set(deliveries.written), "a gap, or something uncommitted"
        assert not set(ids) & set(deliveries.aborted)
        # in order within each partition (the key decides the partition)
        by_key = defaultdict(list)
        for event in events:
            by_key[event["partitionkey"]].append(int(event["hubdelivery"].rsplit("/", 1)[1]))
        assert all(seq == sorted(seq) for seq in by_key.values())
        first = events[0]
        # truncate: day, by the city's calendar: midnight in Hamm, written in UTC
        assert first["data"]["moved_at"] == "2026-11-01T23:00:00Z"
        assert set(first["data"]) == {"resident_id", "birth_date", "moved_at", "residence_type"}

        # Later deliveries continue from the last cursor, in pages of any size.
        await deliveries.write(1_234, abort_every=2, batch=300)
        rng = random.Random(7)
        more, _ = await pull_all(client, url, cursor, lambda: rng.randint(1, 1000))
        later = [e["hubdelivery"] for e in more]
        assert sorted(later) == sorted(deliveries.written[10_000:])
        assert len(later) == len(set(later)) == 1_234

        # A pull from the start again sees everything once more: the service kept nothing.
        again, _ = await pull_all(client, url, None, lambda: 1000)
        assert len(again) == 11_234


async def test_concurrent_clients_sharing_few_consumers_each_get_everything_once(deliveries):
    """Four cursors paging at once through two pooled consumers: every pull may land on a
    consumer that stands elsewhere, and must still continue exactly where its cursor says."""
    await deliveries.write(3_000, abort_every=3, batch=250)
    catalog = load_pull_catalog(deliveries.catalog_dir)
    url = f"/v1/deliveries/{deliveries.agreement.id}"
    async with pull_api(
        deliveries.bootstrap, deliveries.registry_url, catalog, consumers=2
    ) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"

        async def one(seed: int) -> list[str]:
            rng = random.Random(seed)
            events, _ = await pull_all(client, url, None, lambda: rng.randint(1, 400), 3_000)
            return [e["hubdelivery"] for e in events]

        results = await asyncio.gather(*(one(seed) for seed in range(4)))
    for ids in results:
        assert len(ids) == len(set(ids)) == 3_000
        assert set(ids) == set(deliveries.written)


async def test_a_caught_up_pull_answers_soon_with_the_same_cursor(deliveries):
    await deliveries.write(10)
    catalog = load_pull_catalog(deliveries.catalog_dir)
    url = f"/v1/deliveries/{deliveries.agreement.id}"
    async with pull_api(deliveries.bootstrap, deliveries.registry_url, catalog, wait=0.3) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        events, cursor = await pull_all(client, url, None, lambda: 100)
        assert len(events) == 10
        started = asyncio.get_running_loop().time()
        response = await client.get(url, params={"cursor": cursor})
        waited = asyncio.get_running_loop().time() - started
        assert response.json() == [] and response.headers["hub-next-cursor"] == cursor
        assert waited < 2.0


async def test_forged_and_foreign_cursors_are_refused(deliveries):
    await deliveries.write(20)
    catalog = load_pull_catalog(deliveries.catalog_dir)
    url = f"/v1/deliveries/{deliveries.agreement.id}"
    async with pull_api(deliveries.bootstrap, deliveries.registry_url, catalog) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        response = await client.get(url, params={"limit": "5"})
        cursor = response.headers["hub-next-cursor"]
        # one character changed
        tampered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
        response = await client.get(url, params={"cursor": tampered})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "cursor"
        # a cursor signed with another secret, naming offsets of the client's choosing
        forged = CursorCodec.from_master_secret(b"x" * 32).encode(
            deliveries.agreement.id, deliveries.topic, {0: 0, 1: 0, 2: 0}
        )
        assert (await client.get(url, params={"cursor": forged})).status_code == 400
        # bussgeldstelle's own cursor does not open statistikstelle's agreement
        client.headers["Authorization"] = f"Bearer {OTHER_TOKEN}"
        own = await client.get(f"/v1/deliveries/{deliveries.foreign.id}")
        assert own.status_code == 200 and own.json() == []  # its topic has no delivery yet
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        replayed = await client.get(url, params={"cursor": own.headers["hub-next-cursor"]})
        assert replayed.status_code == 400
        assert "not valid for agreement" in replayed.json()["detail"]


async def test_401_403_404_and_only_the_subscribers_own_agreements(deliveries):
    await deliveries.write(5)
    catalog = load_pull_catalog(deliveries.catalog_dir)
    url = f"/v1/deliveries/{deliveries.agreement.id}"
    async with pull_api(deliveries.bootstrap, deliveries.registry_url, catalog) as client:
        assert (await client.get(url)).status_code == 401
        wrong = {"Authorization": "Bearer hub_wrong-token"}
        assert (await client.get(url, headers=wrong)).status_code == 401
        assert (await client.get(url, headers={"Authorization": TOKEN})).status_code == 401

        client.headers["Authorization"] = f"Bearer {OTHER_TOKEN}"
        response = await client.get(url)
        assert response.status_code == 403
        assert "delivers to statistikstelle, not to bussgeldstelle" in response.json()["detail"]
        assert (await client.get("/v1/deliveries/no-such-agreement")).status_code == 404
        listed = (await client.get("/v1/agreements")).json()
        assert [a["id"] for a in listed] == [deliveries.foreign.id]

        client.headers["Authorization"] = f"Bearer {TOKEN}"
        assert len((await client.get(url)).json()) == 5
        assert (await client.get("/healthz")).json() == {
            "status": "ok",
            "broker": "ok",
            "registry": "ok",
        }


# -- the service as `hub deliveries serve` runs it ---------------------------------------------


async def test_the_service_serves_and_answers_the_pulls_in_flight_at_sigterm(deliveries, tmp_path):
    await deliveries.write(30)
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET)
    port = free_port()
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": deliveries.bootstrap,
        "HUB_REGISTRY_URL": deliveries.registry_url,
        "HUB_CATALOG_DIR": str(deliveries.catalog_dir),
        "HUB_SCHEMAS_DIR": str(REPO / "schemas"),
        "HUB_SECRET_FILE": str(secret),
        "HUB_DELIVERIES_WAIT": "2",  # a caught-up pull is still waiting when SIGTERM comes
    }
    command = [sys.executable, "-m", "consumers.deliveries", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    path = f"/v1/deliveries/{deliveries.agreement.id}"
    try:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
            for _ in range(300):  # up to 30 s for the service to come up
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the pull API did not become healthy")
            events, cursor = await pull_all(client, path, None, lambda: 8)
            assert len(events) == 30
            docs = (await client.get("/openapi.json")).json()
            assert f"/v1/deliveries/{deliveries.agreement.id}" in docs["paths"]
            assert "hub_deliveries_served_total" in (await client.get("/metrics")).text

            in_flight = asyncio.create_task(client.get(path, params={"cursor": cursor}))
            await asyncio.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            answered = await in_flight
        exit_code = await asyncio.to_thread(process.wait, 60)
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read().decode() if process.stdout else ""
    assert exit_code == 0, output
    assert answered.status_code == 200 and answered.json() == []
    assert answered.headers["hub-next-cursor"] == cursor
    assert TOKEN not in output and SECRET.decode() not in output  # nothing secret is logged


# -- as hub-deliveries, under the ACLs Kafka enforces -------------------------------------------


class PullWorld(World):
    """A router world whose ordnungsamt pulls (has a pull token) and whose statistik does not;
    its catalog is what the world's ACLs are derived from."""

    def govern(self, admin, router, *, apply=True):
        super().govern(admin, router, apply=False)
        (self.agreements_dir.parent / "departments.yaml").write_text(
            f"departments:\n  {self.dept}: {{contact: it@hamm.de}}\n"
            "subscribers:\n"
            f"  ordnungsamt: {{contact: oa@hamm.de, pull_tokens: ['{hash_token(TOKEN)}']}}\n"
            "  statistik: {contact: statistik@hamm.de}\n"
        )
        self._auto_apply = apply
        if apply:
            self.apply_access()
        return self


async def test_as_hub_deliveries_only_what_the_acls_open(
    kafka_bootstrap, registry_url, tmp_path, kafka_security, router_security, kafka_principal
):
    service = kafka_principal("hub-deliveries")  # before the world's apply: it keeps this one
    world = PullWorld(kafka_bootstrap, registry_url, tmp_path).govern(
        kafka_security, router_security
    )
    world.agree("ordnungsamt", ORDNUNGSAMT)
    world.agree("statistik", STATISTIK)
    await asyncio.to_thread(world.produce, [resident(i) for i in range(20)])
    async with Router(world.config(), SECRET) as router:
        task = asyncio.create_task(router.run())
        try:
            await asyncio.to_thread(world.read, world.delivery_topic("ordnungsamt"), 20)
            await asyncio.to_thread(world.read, world.delivery_topic("statistik"), 20)
        finally:
            router.stop()
            await asyncio.wait_for(task, 30)

    # The service's own catalog wrongly lets statistik pull too; the broker's ACLs, derived
    # from the world's catalog, do not: Kafka has the last word.
    permissive = tmp_path / "service-departments.yaml"
    permissive.write_text(
        f"departments:\n  {world.dept}: {{}}\n"
        "subscribers:\n"
        f"  ordnungsamt: {{pull_tokens: ['{hash_token(TOKEN)}']}}\n"
        f"  statistik: {{pull_tokens: ['{hash_token(OTHER_TOKEN)}']}}\n"
    )
    catalog = CatalogSource(world.agreements_dir.parent, permissive)
    async with pull_api(kafka_bootstrap, registry_url, catalog, service) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        url = f"/v1/deliveries/{world.dept}-ordnungsamt"
        events, _ = await pull_all(client, url, None, lambda: 7)
        assert len(events) == 20
        assert {e["hubagreement"] for e in events} == {f"{world.dept}-ordnungsamt"}
        assert {e["type"] for e in events} == {"de.hamm.buergeramt.resident.moved"}
        assert set(events[0]["data"]) == {"resident_id", "birth_date", "new_address", "moved_at"}
        assert events[0]["data"]["new_address"] == {"postcode": "59077", "city": "Hamm"}
        assert events[0]["partitionkey"] == events[0]["data"]["resident_id"]  # the pseudonym
        text = str(events)
        assert not any(planted in text for planted in CANARY.values())
        hub_ids = {e["hubdelivery"] for e in events}
        assert all(h.startswith(f"{world.dept}-ordnungsamt/{world.source}/0/") for h in hub_ids)

        client.headers["Authorization"] = f"Bearer {OTHER_TOKEN}"
        refused = await client.get(f"/v1/deliveries/{world.dept}-statistik")
        assert refused.status_code == 503
        assert "does not let hub-deliveries read" in refused.json()["detail"]
        assert "hub access apply" in refused.json()["detail"]
