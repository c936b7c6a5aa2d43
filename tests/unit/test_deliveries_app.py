"""The pull API's HTTP behaviour over an in-memory delivery log (no broker): statuses in order,
the batch format, the cursor header, the docs and the metrics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from consumers.deliveries.app import create_app
from consumers.deliveries.catalog import PullCatalog
from consumers.deliveries.cursor import CursorCodec
from consumers.deliveries.encoding import BATCH_MEDIA_TYPE
from consumers.deliveries.pull import Puller
from consumers.deliveries.reader import Batch, DeliveriesUnavailable, NotAuthorized
from hub.access.principals import parse_principals
from hub.access.tokens import hash_token
from hub.agreements.compile import compile_agreement
from hub.agreements.model import load_agreement
from hub.schemas.catalog import load_catalog
from hub.serde import AvroSerde

REPO = Path(__file__).resolve().parents[2]
SECRET = b"test-master-secret-0123456789abcdef"
TOKEN = "hub_statistik-pull-token"
OTHER = "hub_bussgeld-pull-token"
TODAY = dt.date(2026, 11, 25)
AGREEMENT = load_agreement(REPO / "catalog" / "agreements" / "statistikstelle-resident-moved.yaml")
FOREIGN = load_agreement(REPO / "catalog" / "agreements" / "bussgeldstelle-parking-violation.yaml")
SCHEMA_ID = 7


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple


class MemoryReader:
    """The reader's interface over lists of records per partition."""

    def __init__(self, log: dict[str, dict[int, list[Record]]]) -> None:
        self.log = log
        self.fail: Exception | None = None

    async def read(self, topic, positions, limit) -> Batch:
        if self.fail is not None:
            raise self.fail
        partitions = self.log.get(topic)
        if partitions is None:
            return Batch([], dict(positions or {}))
        at = {p: (positions or {}).get(p, 0) for p in partitions}
        out = []
        for p, records in sorted(partitions.items()):
            for record in records:
                if record.offset >= at[p] and len(out) < limit:
                    out.append(record)
                    at[p] = record.offset + 1
        return Batch(out, at)

    async def check(self) -> None:
        if self.fail is not None:
            raise self.fail


class NoRegistry:
    async def schema_by_id(self, schema_id):  # every id is known to the serde already
        raise AssertionError(f"unexpected registry lookup of {schema_id}")

    async def subjects(self):
        return []


def delivery_log(count: int, partitions: int = 2) -> tuple[dict, AvroSerde]:
    source = load_catalog(REPO / "schemas")[AGREEMENT.source].latest.schema
    compiled = compile_agreement(AGREEMENT, source, SECRET)
    serde = AvroSerde()
    serde.add_schema(SCHEMA_ID, compiled.output_schema)
    log: dict[int, list[Record]] = {p: [] for p in range(partitions)}
    for i in range(count):
        p = i % partitions
        value = serde.encode(
            SCHEMA_ID,
            {
                "moved_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                "birth_date": "30-44",
                "old_address": {"postcode": "590"},
                "new_address": {"postcode": "590"},
                "residence_type": "MAIN",
            },
        )
        offset = len(log[p]) * 2  # every other offset is a transaction marker
        headers = (
            ("ce_specversion", b"1.0"),
            ("ce_id", f"event-{i}".encode()),
            ("ce_source", b"/hamm/buergeramt"),
            ("ce_type", b"de.hamm.buergeramt.resident.moved"),
            ("ce_hubagreement", AGREEMENT.id.encode()),
            ("ce_hubdelivery", f"{AGREEMENT.id}/{AGREEMENT.source}/0/{i}".encode()),
        )
        log[p].append(Record(AGREEMENT.topic, p, offset, f"k{i}".encode(), value, headers))
    return {AGREEMENT.topic: log}, serde


def pull_catalog() -> PullCatalog:
    principals = parse_principals(
        {
            "departments": {},
            "subscribers": {
                "statistikstelle": {"pull_tokens": [hash_token(TOKEN)]},
                "bussgeldstelle": {"pull_tokens": [hash_token(OTHER)]},
            },
        }
    )
    return PullCatalog.of(principals, [AGREEMENT, FOREIGN])


@pytest.fixture
async def api():
    log, serde = delivery_log(25)
    reader = MemoryReader(log)
    puller = Puller(reader, NoRegistry(), CursorCodec.from_master_secret(SECRET), serde)
    app = create_app(puller, pull_catalog(), schemas_dir=REPO / "schemas", today=lambda: TODAY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pull") as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield client, reader


URL = f"/v1/deliveries/{AGREEMENT.id}"


async def test_pages_through_every_delivery_once(api):
    client, _ = api
    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": "10"} | ({"cursor": cursor} if cursor else {})
        response = await client.get(URL, params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == BATCH_MEDIA_TYPE
        assert response.headers["cache-control"] == "no-store"
        events = response.json()
        cursor = response.headers["hub-next-cursor"]
        if not events:
            break
        assert len(events) <= 10
        seen += [e["id"] for e in events]
    assert sorted(seen) == sorted(f"event-{i}" for i in range(25))
    assert len(seen) == len(set(seen)) == 25
    # caught up: an empty batch, and the same cursor again
    again = await client.get(URL, params={"cursor": cursor})
    assert again.json() == [] and again.headers["hub-next-cursor"] == cursor


async def test_an_event_is_a_structured_cloudevent_with_the_record_as_json(api):
    client, _ = api
    [event] = (await client.get(URL, params={"limit": "1"})).json()
    assert event == {
        "specversion": "1.0",
        "id": "event-0",
        "source": "/hamm/buergeramt",
        "type": "de.hamm.buergeramt.resident.moved",
        "datacontenttype": "application/json",
        "hubagreement": AGREEMENT.id,
        "hubdelivery": f"{AGREEMENT.id}/{AGREEMENT.source}/0/0",
        "partitionkey": "k0",
        "data": {
            "moved_at": "2026-11-01T00:00:00Z",
            "birth_date": "30-44",
            "old_address": {"postcode": "590"},
            "new_address": {"postcode": "590"},
            "residence_type": "MAIN",
        },
    }


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [(None, "missing or unknown"), ("Bearer nope", "missing or unknown"), ("Basic x", "missing")],
)
async def test_401_without_a_valid_token(api, authorization, detail):
    client, _ = api
    headers = {"Authorization": authorization} if authorization else {}
    client.headers.pop("Authorization")
    for url in (URL, "/v1/deliveries/unknown", "/v1/agreements"):
        response = await client.get(url, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert detail in response.json()["detail"]


async def test_404_unknown_then_403_foreign(api):
    client, _ = api
    response = await client.get("/v1/deliveries/no-such-agreement")
    assert response.status_code == 404
    assert response.json()["detail"] == "unknown agreement 'no-such-agreement'"
    response = await client.get(f"/v1/deliveries/{FOREIGN.id}")
    assert response.status_code == 403
    assert "delivers to bussgeldstelle, not to statistikstelle" in response.json()["detail"]


async def test_a_foreign_agreement_is_403_before_its_parameters_are_looked_at(api):
    client, _ = api
    response = await client.get(f"/v1/deliveries/{FOREIGN.id}", params={"limit": "x"})
    assert response.status_code == 403


async def test_400_names_the_bad_parameter(api):
    client, _ = api
    response = await client.get(URL, params={"limit": "5000"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "limit", "message": "must be between 1 and 1000, got 5000"}
    ]
    response = await client.get(URL, params={"cursor": "AQEAAA" + "A" * 22})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["field"] == "cursor"
    assert "altered, forged" in body["detail"]


async def test_another_subscribers_cursor_does_not_open_its_agreement(api):
    client, _ = api
    # bussgeldstelle's own cursor of its own agreement, replayed on statistikstelle's
    codec = CursorCodec.from_master_secret(SECRET)
    foreign = codec.encode(FOREIGN.id, FOREIGN.topic, {0: 0})
    response = await client.get(URL, params={"cursor": foreign})
    assert response.status_code == 400
    assert f"not valid for agreement {AGREEMENT.id}" in response.json()["detail"]


async def test_503_with_retry_after_when_the_broker_cannot_serve(api):
    client, reader = api
    reader.fail = NotAuthorized(AGREEMENT.topic, "hub-deliveries")
    response = await client.get(URL)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "hub access apply" in response.json()["detail"]
    reader.fail = DeliveriesUnavailable("no broker")
    assert (await client.get("/healthz")).status_code == 503


async def test_the_agreements_of_the_token(api):
    client, _ = api
    response = await client.get("/v1/agreements")
    assert response.status_code == 200
    assert [a["id"] for a in response.json()] == [AGREEMENT.id]
    assert response.json()[0]["href"] == URL


async def test_the_docs_show_each_agreements_record(api):
    client, _ = api
    doc = (await client.get("/openapi.json")).json()
    record = doc["components"]["schemas"][f"Record_{AGREEMENT.id}"]
    assert record["properties"]["moved_at"]["format"] == "date-time"
    assert record["properties"]["residence_type"]["enum"] == ["MAIN", "SECONDARY", "UNKNOWN"]
    assert record["properties"]["birth_date"]["x-pii"] == "quasi"
    operation = doc["paths"][URL]["get"]
    batch = operation["responses"]["200"]["content"][BATCH_MEDIA_TYPE]["schema"]
    ref = batch["items"]["allOf"][1]["properties"]["data"]["$ref"]
    assert ref == f"#/components/schemas/Record_{AGREEMENT.id}"
    assert {p["name"] for p in operation["parameters"]} == {"cursor", "limit"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    generic = doc["paths"]["/v1/deliveries/{agreement}"]["get"]
    assert "Hub-Next-Cursor" in generic["responses"]["200"]["headers"]
    assert (await client.get("/docs")).status_code == 200


async def test_metrics_count_requests_and_deliveries(api):
    client, _ = api
    await client.get(URL, params={"limit": "5"})
    await client.get("/v1/deliveries/unknown-agreement")
    text = (await client.get("/metrics")).text
    assert (
        f'hub_deliveries_requests_total{{agreement="{AGREEMENT.id}",status="200",'
        'subscriber="statistikstelle"} 1.0' in text
    )
    assert 'agreement="-",status="404"' in text  # unknown names stay out of the labels
    assert (
        f'hub_deliveries_served_total{{agreement="{AGREEMENT.id}",subscriber="statistikstelle"}} 5.0'
        in text
    )
