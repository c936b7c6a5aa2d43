"""The caching registry client against the hub's registry app (in memory), and the serde over it."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi.testclient import TestClient

from hub.registry.api import create_app
from hub.registry.memory_log import MemoryLog
from hub.registry.service import Registry
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryClient, RegistryError, parse

V1 = {"type": "record", "name": "Lamp", "fields": [{"name": "no", "type": "int"}]}
V2 = {
    "type": "record",
    "name": "Lamp",
    "fields": [{"name": "no", "type": "int"}, {"name": "lux", "type": "double", "default": 0.0}],
}


class CountingClient(TestClient):
    """A TestClient that counts the requests it sends (to see the cache work)."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        super().__init__(app)
        self.paths: list[str] = []

    def request(self, method, url, **kwargs):  # type: ignore[no-untyped-def, override]
        self.paths.append(f"{method} {url}")
        return super().request(method, url, **kwargs)


@pytest.fixture
def http() -> CountingClient:
    return CountingClient(create_app(Registry(MemoryLog())))


@pytest.fixture
def client(http: CountingClient) -> RegistryClient:
    return RegistryClient("http://testserver", client=http)


def test_register_is_cached(client: RegistryClient, http: CountingClient) -> None:
    assert client.register("lamp-value", V1) == 1
    assert client.register("lamp-value", V1) == 1
    assert len(http.paths) == 1
    # Other formatting of the same schema: asked once more (the cache is by text), same id.
    assert client.register("lamp-value", json.dumps(V1, indent=2)) == 1
    assert client.register("lamp-value", json.dumps(V1, indent=2)) == 1
    assert len(http.paths) == 2


def test_schema_by_id_is_cached_forever(client: RegistryClient, http: CountingClient) -> None:
    schema_id = client.register("lamp-value", V2)
    fresh = RegistryClient("http://testserver", client=http)
    assert json.loads(fresh.schema_by_id(schema_id)) == V2
    fresh.schema_by_id(schema_id)
    assert http.paths.count(f"GET /schemas/ids/{schema_id}") == 1


def test_lookup_latest_version_and_listing(client: RegistryClient) -> None:
    client.register("lamp-value", V1)
    client.register("lamp-value", V2)
    found = client.lookup("lamp-value", V1)
    assert (found.subject, found.version, found.id, found.schema_type) == (
        "lamp-value",
        1,
        1,
        "AVRO",
    )
    assert client.latest("lamp-value").version == 2
    assert client.version("lamp-value", 1).id == 1
    assert client.subjects() == ["lamp-value"]
    assert client.versions("lamp-value") == [1, 2]


def test_errors_carry_confluent_codes(client: RegistryClient) -> None:
    with pytest.raises(RegistryError) as info:
        client.latest("nope")
    assert (info.value.status, info.value.error_code) == (404, 40401)
    assert "Subject 'nope' not found." in str(info.value)
    with pytest.raises(RegistryError) as info:
        client.schema_by_id(12)
    assert info.value.error_code == 40403
    client.register("lamp-value", V1)
    with pytest.raises(RegistryError) as info:
        client.register(
            "lamp-value",
            {"type": "record", "name": "Lamp", "fields": []}
            | {"fields": [{"name": "other", "type": "string"}]},
        )
    assert info.value.error_code == 409


def test_compatibility_settings(client: RegistryClient) -> None:
    assert client.compatibility() == "BACKWARD"
    assert client.subject_compatibility("lamp-value") is None
    assert client.set_compatibility("FULL", "lamp-value") == "FULL"
    assert client.subject_compatibility("lamp-value") == "FULL"
    assert client.compatibility("lamp-value") == "FULL"
    client.register("lamp-value", V1)
    result = client.test_compatibility("lamp-value", V2)
    assert result.is_compatible and result.messages == ()
    assert client.delete_subject("lamp-value") == [1]


def test_unreachable_registry_is_a_registry_error() -> None:
    with (
        RegistryClient("http://127.0.0.1:9", timeout=0.5) as client,
        pytest.raises(RegistryError, match="unreachable"),
    ):
        client.subjects()


def test_serde_fetches_writer_schemas_through_the_client(client: RegistryClient) -> None:
    v1_id = client.register("lamp-value", V1)
    v2_id = client.register("lamp-value", V2)
    producer = AvroSerde(schema_source=client.schema_by_id)
    consumer = AvroSerde(schema_source=client.schema_by_id)
    data = producer.encode(v2_id, {"no": 7, "lux": 120.5})
    assert consumer.decode(data) == {"no": 7, "lux": 120.5}
    assert consumer.decode(data, reader_schema=parse(V1)) == {"no": 7}
    assert consumer.decode(producer.encode(v1_id, {"no": 1}), parse(V2)) == {"no": 1, "lux": 0.0}


async def test_async_client() -> None:
    app = create_app(Registry(MemoryLog()))
    transport = httpx.ASGITransport(app=app)
    async with AsyncRegistryClient(
        "http://test", client=httpx.AsyncClient(transport=transport, base_url="http://test")
    ) as client:
        assert await client.register("lamp-value", V1) == 1
        assert await client.register("lamp-value", V1) == 1
        assert json.loads(await client.schema_by_id(1)) == V1
        assert client.cached_schema(1) is not None and client.cached_schema(2) is None
        assert (await client.lookup("lamp-value", V1)).version == 1
        assert (await client.latest("lamp-value")).id == 1
        assert await client.subjects() == ["lamp-value"]
        assert await client.set_compatibility("NONE") == "NONE"
        with pytest.raises(RegistryError) as info:
            await client.version("lamp-value", 3)
        assert info.value.error_code == 40402
