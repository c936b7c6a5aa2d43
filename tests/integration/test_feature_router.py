"""End to end with the real router: raw noise complaints → router under the shipped
ki-featurestore agreement (hour-truncated times, pseudonymized complainant, no key) →
delivery topic → feature pipeline → published windows, with the k gate. Nothing personal that
the raw events carry reaches the feature store's output."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import yaml
from aiokafka import TopicPartition
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from identity import confluent_security, registry_config

from consumers.features.pipeline import FeaturePipeline, PipelineConfig, read_log
from consumers.router.service import Router, RouterConfig
from hub.schemas.catalog import standalone_schema

REPO = Path(__file__).resolve().parents[2]
SECRET = b"test-master-secret-0123456789abcdef"
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def complaint(i: int, minutes: int, postcode: str, name: str) -> dict:
    at = T0 + timedelta(minutes=minutes)
    return {
        "complaint_id": f"OA-L-CANARY-{i}",
        "occurred_at": at,
        "noise_observed_at": at,
        "location": {"lat": 51.68, "lon": 7.82},
        "postcode": postcode,
        "noise_source": "NEIGHBOURHOOD",
        "channel": "PHONE",
        "night_time": False,
        "complainant_name": name,
        "complainant_phone": "+49-2381-CANARY",
        "description": "Kanarienvogel CANARY singt",
    }


async def test_router_to_features_end_to_end(kafka_bootstrap, registry_url, tmp_path):
    dept = "t" + uuid.uuid4().hex[:10]
    source = f"{dept}.noise-complaint.filed"
    schema_dir = tmp_path / "schemas" / dept / "noise-complaint.filed"
    schema_dir.mkdir(parents=True)
    source_schema = REPO / "schemas" / "ordnungsamt" / "noise-complaint.filed" / "v1.avsc"
    # Standalone: this tree has no _types/, and Confluent's serializer takes the text as it is.
    (schema_dir / "v1.avsc").write_text(json.dumps(standalone_schema(source_schema)))
    agreements = tmp_path / "catalog" / "agreements"
    features = tmp_path / "catalog" / "features"
    agreements.mkdir(parents=True)
    features.mkdir(parents=True)
    # The shipped agreement and view, moved onto this test's own source topic.
    shipped = yaml.safe_load(
        (REPO / "catalog/agreements/ki-featurestore-noise-complaints.yaml").read_text()
    )
    shipped.update(id=f"ki-featurestore-{dept}", source=source)
    (agreements / "noise.yaml").write_text(yaml.safe_dump(shipped, allow_unicode=True))
    view = yaml.safe_load((REPO / "catalog/features/noise_complaints_hourly.yaml").read_text())
    view.update(name=f"noise_{dept}", agreement=f"ki-featurestore-{dept}")
    (features / "noise.yaml").write_text(yaml.safe_dump(view, allow_unicode=True))
    delivery = f"deliver.ki-featurestore.{source}"

    raw_schema = (schema_dir / "v1.avsc").read_text()
    serializer = AvroSerializer(SchemaRegistryClient(registry_config(registry_url)), raw_schema)
    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, **confluent_security(), "enable.idempotence": True}
    )
    events = [
        *[complaint(i, 5 + i, "59063", f"Erika Canary {i}") for i in range(6)],
        complaint(6, 40, "59063", "Erika Canary 0"),  # same person again
        *[complaint(10 + i, 10 + i, "59065", f"Max Canary {i}") for i in range(3)],
        complaint(20, 135, "59069", "Otto Canary"),  # truncated to T0+2h: closes the first hour
    ]

    def produce() -> None:
        ctx = SerializationContext(source, MessageField.VALUE)
        for e in events:
            producer.produce(
                source,
                serializer(e, ctx),
                key=e["complaint_id"].encode(),
                headers=[("ce_specversion", b"1.0"), ("ce_id", uuid.uuid4().hex.encode())],
            )
        assert producer.flush(30) == 0

    await asyncio.to_thread(produce)
    router_config = RouterConfig(
        bootstrap=kafka_bootstrap,
        registry_url=registry_url,
        agreements_dir=agreements,
        schemas_dir=tmp_path / "schemas",
        group=f"{dept}-router",
        dlq_topic=f"{dept}.dlq",
        audit_topic=f"{dept}.audit",
    )
    pipeline_config = PipelineConfig(
        bootstrap=kafka_bootstrap,
        registry_url=registry_url,
        agreements_dir=agreements,
        schemas_dir=tmp_path / "schemas",
        features_dir=features,
        group=f"{dept}-features",
        changelog_topic=f"{dept}.features.state",
        output_prefix=f"{dept}.features.",
    )
    async with (
        Router(router_config, SECRET) as router,
        FeaturePipeline(pipeline_config) as pipeline,
    ):
        assert pipeline.topics == [delivery]
        tasks = [asyncio.create_task(router.run()), asyncio.create_task(pipeline.run())]
        try:
            deadline = time.monotonic() + 60
            tp = TopicPartition(delivery, 0)
            while (await pipeline._consumer.committed(tp) or 0) < len(events):
                assert time.monotonic() < deadline, "the pipeline did not consume the deliveries"
                await asyncio.sleep(0.2)
        finally:
            router.stop()
            pipeline.stop()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)

    output = await read_log(kafka_bootstrap, f"{dept}.features.noise_{dept}")
    results = [orjson.loads(r.value) for r in output]
    assert [(r["entity"], r["features"]["complaints"]) for r in results] == [("59063", 7)]
    assert results[0]["window_start_ms"] == int(T0.timestamp() * 1000)
    # Neither the deliveries nor the state changelog nor the output carry a planted value.
    for topic in (delivery, f"{dept}.features.state", f"{dept}.features.noise_{dept}"):
        for r in await read_log(kafka_bootstrap, topic):
            blob = (r.key or b"") + (r.value or b"") + b"".join(v for _, v in r.headers)
            assert b"CANARY" not in blob.upper() and b"Canary" not in blob, topic
    assert "Canary" not in json.dumps(results)
