"""The live gateway against its own OpenAPI document: a uvicorn subprocess started as
`hub gateway serve` runs it, the real broker and registry, a department of the test's own with
a valid token, and schemathesis with every check it has. What it publishes goes to the
department's fresh topics."""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from connect_world import REPO
from ports import free_port

from hub.serde import RegistryClient
from hub.topics import TopicSpec, ensure_topics
from producers.gateway.app import DEFAULT_MAX_BODY_BYTES
from producers.gateway.departments import hash_token

TOKEN = "hub_openapi-test-token"
SERVE = [sys.executable, "-c", "from producers.gateway.cli import app; app()", "serve"]
# The default: a batch of MAX_BATCH + 1 ordinary events is smaller, so the fuzzer's too-long
# batches get the documented 400 (schemathesis counts 413 as no rejection of invalid data).
MAX_BODY_BYTES = DEFAULT_MAX_BODY_BYTES


def _field(name: str, avro: Any, doc: str, pii: str = "none", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": avro, "doc": doc, "x-pii": pii, **extra}


GEO = {
    "type": "record",
    "name": "GeoPoint",
    "doc": "WGS84-Koordinate.",
    "fields": [
        _field("lat", "double", "Breitengrad in Dezimalgrad.", "quasi"),
        _field("lon", "double", "Längengrad in Dezimalgrad.", "quasi"),
    ],
}
# The simulator's event type (its examples come from producers.simulators), self-contained so
# the test does not depend on how the catalog shares types between schemas.
PARKING: dict[str, Any] = {
    "type": "record",
    "name": "ParkingViolationRecorded",
    "namespace": "de.hamm.ordnungsamt",
    "doc": "Der kommunale Ordnungsdienst hat einen Parkverstoß festgestellt.",
    "x-key": "violation_id",
    "fields": [
        _field("violation_id", "string", "Aktenzeichen.", "quasi"),
        _field(
            "occurred_at",
            {"type": "long", "logicalType": "timestamp-millis"},
            "Zeitpunkt der Feststellung.",
        ),
        _field("licence_plate", "string", "Amtliches Kennzeichen.", "direct"),
        _field(
            "violation_type",
            {
                "type": "enum",
                "name": "ViolationType",
                "doc": "Tatbestand.",
                "symbols": [
                    "NO_STOPPING_ZONE",
                    "NO_PARKING_ZONE",
                    "EXPIRED_METER",
                    "DISABLED_SPACE",
                    "FIRE_LANE",
                    "SIDEWALK",
                    "BUS_STOP",
                    "OTHER",
                ],
                "default": "OTHER",
            },
            "Art des Verstoßes.",
        ),
        _field("location", GEO, "Standort des Fahrzeugs.", "quasi"),
        _field("street", "string", "Straße des Tatorts.", "quasi"),
        _field("postcode", "string", "Postleitzahl des Tatorts.", "quasi"),
        _field("fine_eur", "int", "Verwarnungsgeld in Euro."),
        _field("officer_id", "string", "Dienstnummer.", "quasi"),
        _field("obstruction", "boolean", "Mit Behinderung."),
    ],
}
# Every other Avro type the converter reads, for the fuzzer.
EVERYTHING: dict[str, Any] = {
    "type": "record",
    "name": "EverythingHappened",
    "namespace": "de.hamm.test",
    "doc": "Ein Ereignis mit jedem Avro-Typ.",
    "x-key": "id",
    "fields": [
        _field("id", "string", "Kennung.", "quasi"),
        _field("count", "int", "Anzahl."),
        _field("big", "long", "Große Zahl.", default=7),
        _field("ratio", "double", "Anteil."),
        _field("single", "float", "Einfache Genauigkeit.", default=0.5),
        _field("flag", "boolean", "Schalter."),
        _field("at", {"type": "long", "logicalType": "timestamp-millis"}, "Zeitpunkt."),
        _field(
            "local",
            ["null", {"type": "long", "logicalType": "local-timestamp-millis"}],
            "Ortszeit.",
            default=None,
        ),
        _field("day", {"type": "int", "logicalType": "date"}, "Tag."),
        _field(
            "kind",
            {"type": "enum", "name": "Kind", "doc": "Art.", "symbols": ["A", "B"]},
            "Art.",
        ),
        _field("note", ["null", "string"], "Notiz.", default=None),
        _field("choice", ["null", "int", "string"], "Auswahl.", default=None),
        _field("place", copy.deepcopy(GEO), "Ort.", "quasi"),
        _field("tags", {"type": "array", "items": "Kind"}, "Marken.", default=[]),
        _field("extra", {"type": "map", "values": "long"}, "Zähler.", default={}),
        _field("blob", ["null", "bytes"], "Daten.", default=None),
        _field("hash", {"type": "fixed", "name": "Hash", "size": 4}, "Prüfsumme.", default="abcd"),
        _field("ref", ["null", {"type": "string", "logicalType": "uuid"}], "Bezug.", default=None),
        _field(
            "clock",
            ["null", {"type": "int", "logicalType": "time-millis"}],
            "Uhrzeit.",
            default=None,
        ),
    ],
}


@dataclass(frozen=True)
class Gateway:
    url: str
    department: str
    topics: tuple[str, ...]
    registry_url: str


async def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for _ in range(300):  # up to 30 s for the service to come up
            if process.poll() is not None:
                break
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    output = process.stdout.read().decode() if process.stdout and process.poll() is not None else ""
    raise AssertionError(f"the gateway did not become healthy\n{output}")


@pytest.fixture
async def gateway(kafka_bootstrap, registry_url, tmp_path) -> AsyncIterator[Gateway]:
    department = "t" + uuid.uuid4().hex[:10]
    schemas = {
        f"{department}.parking-violation.recorded": PARKING,
        f"{department}.everything.happened": EVERYTHING,
    }
    with RegistryClient(registry_url) as client:
        for topic, schema in schemas.items():
            client.register(f"{topic}-value", schema)
    await ensure_topics(kafka_bootstrap, [TopicSpec(t) for t in schemas])
    departments = tmp_path / "departments.yaml"
    departments.write_text(
        f"departments:\n  {department}:\n    tokens: ['{hash_token(TOKEN)}']\n"
        # no 429 while the fuzzer runs
        "    rate_limit: {events_per_second: 1000000, burst: 1000000}\n"
    )
    port = free_port()
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "HUB_REGISTRY_URL": registry_url,
        "HUB_GATEWAY_DEPARTMENTS_FILE": str(departments),
        "HUB_GATEWAY_OPENAPI_TTL": "0.5",
    }
    process = subprocess.Popen(
        [*SERVE, "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(url, process)
        yield Gateway(url, department, tuple(sorted(schemas)), registry_url)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()


FRESH_KEYS_HOOK = """
import uuid

import schemathesis

from producers.gateway.idempotency import IdempotencyKeyError, parse_key


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            try:
                parse_key(str(headers[name]))
            except IdempotencyKeyError:
                continue
            headers[name] = str(uuid.uuid4())
"""


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


async def test_schemathesis_finds_no_failure(gateway, tmp_path):
    async with httpx.AsyncClient(base_url=gateway.url, headers=_auth()) as client:
        spec = (await client.get("/openapi.json")).json()
    paths = sorted(p for p in spec["paths"] if p.startswith("/v1/topics/"))
    assert paths == [f"/v1/topics/{t}/events" for t in gateway.topics]
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(tmp_path / "schemathesis.toml"),
        "run",
        f"{gateway.url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "15",
        "--seed",
        "20261125",
        # Each accepted request waits for Kafka (idempotency key, events, outcome): several
        # requests at a time, as clients send them, keep the run to about a minute.
        "--workers",
        "4",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    # A client makes a new Idempotency-Key per request and reuses it only to retry that
    # request; the fuzzer would reuse its few generated keys with other bodies (422 by the
    # draft). So each well-formed key it sends becomes a fresh one; malformed ones stay.
    (tmp_path / "fresh_keys.py").write_text(FRESH_KEYS_HOOK)
    # The token as the document's bearer scheme (so schemathesis knows what leaving it out
    # means), through the environment: never on a command line.
    config = tmp_path / "schemathesis.toml"
    config.write_text('[auth.openapi.bearerAuth]\nbearer = "${HUB_FUZZ_TOKEN}"\n')
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "fresh_keys",
        "HUB_FUZZ_TOKEN": TOKEN,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
    }
    result = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        timeout=400,
        cwd=tmp_path,
        env=env,
    )
    output = result.stdout + result.stderr
    # request bodies of many events make long lines: show their beginnings
    shown = "\n".join(line[:500] for line in output.splitlines())
    assert result.returncode == 0, shown[-20000:]
    # it tested every operation: the two topics, /healthz and /metrics
    assert "Tested: 4" in output and "No issues found" in output, shown[-5000:]


async def test_the_documented_examples_are_published(gateway):
    async with httpx.AsyncClient(base_url=gateway.url, headers=_auth(), timeout=30) as client:
        spec = (await client.get("/openapi.json")).json()
        parking = f"/v1/topics/{gateway.department}.parking-violation.recorded/events"
        media = spec["paths"][parking]["post"]["requestBody"]["content"]["application/json"]
        examples = media["examples"]
        # made by the department simulator, not by the schema's placeholders
        assert examples["event"]["value"]["postcode"].startswith("590")
        for example in examples.values():
            response = await client.post(parking, json=example["value"])
            assert response.status_code == 201, response.text


async def test_a_topic_shows_in_the_document_once_its_schema_is_registered(gateway):
    topic = f"{gateway.department}.late.arrival"
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        spec = (await client.get("/openapi.json")).json()
        assert f"/v1/topics/{topic}/events" not in spec["paths"]
        schema = {**copy.deepcopy(PARKING), "name": "LateArrival"}
        with RegistryClient(gateway.registry_url) as registry:
            registry.register(f"{topic}-value", schema)
        for _ in range(50):
            spec = (await client.get("/openapi.json")).json()
            if f"/v1/topics/{topic}/events" in spec["paths"]:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"{topic} did not appear in /openapi.json")


async def test_a_body_over_the_limit_is_413_on_the_wire(gateway):
    path = f"/v1/topics/{gateway.department}.everything.happened/events"
    body = b"[" + b" " * (MAX_BODY_BYTES + 1) + b"]"
    async with httpx.AsyncClient(base_url=gateway.url, headers=_auth(), timeout=30) as client:
        response = await client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert f"larger than {MAX_BODY_BYTES} bytes" in response.json()["detail"]
        # the connection the gateway closed does not break the next request
        assert (await client.get("/healthz")).status_code == 200
