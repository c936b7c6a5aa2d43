"""Read ``hub.quality`` to its end: every committed summary record, decoded with the schema it
was written with (Confluent framing, fetched from the registry once per id)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hub.kafka import KafkaSecurity, registry_auth
from hub.quality.summary import SUMMARY_SCHEMA
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryError, SerdeError
from hub.topics import read_snapshot

FIELDS = frozenset(f["name"] for f in SUMMARY_SCHEMA["fields"])

PRINCIPAL = "hub-audit"
"""Who reads the summaries for ``hub quality report``: the data-protection officer's and data
steward's reader, which may read ``hub.audit`` and ``hub.quality`` and nothing of the data."""


@dataclass(frozen=True)
class Summaries:
    records: list[dict[str, Any]]
    undecodable: int = 0


async def decode_all(values: Iterable[bytes | None], registry: AsyncRegistryClient) -> Summaries:
    """Decode each value; tombstones are skipped, what does not decode (no Confluent framing,
    a schema id the registry does not know, bytes that do not fit) is counted. A registry that
    cannot be reached raises RegistryError: no report is better than one that drops figures."""
    serde = AvroSerde()
    records: list[dict[str, Any]] = []
    bad = 0
    for value in values:
        if value is None:
            continue  # a tombstone: compaction removes the key, nothing to count
        if len(value) < 5 or value[0] != 0:
            bad += 1
            continue
        schema_id = int.from_bytes(value[1:5], "big")
        try:
            if schema_id not in serde:
                serde.add_schema(schema_id, await registry.schema_by_id(schema_id))
            record = serde.decode(value)
        except RegistryError as error:
            if error.status != 404:
                raise
            bad += 1
            continue
        except SerdeError:
            bad += 1
            continue
        if isinstance(record, dict) and record.keys() >= FIELDS:
            records.append(record)
        else:  # another record type in the topic: not a summary
            bad += 1
    return Summaries(records, bad)


async def read_summaries(
    bootstrap: str, registry_url: str, topic: str, *, security: KafkaSecurity
) -> Summaries:
    """Every committed record of ``topic`` (read_committed), decoded."""
    records = await read_snapshot(bootstrap, topic, security=security)
    registry = AsyncRegistryClient(registry_url, auth=registry_auth(security))
    try:
        return await decode_all((r.value for r in records), registry)
    finally:
        await registry.aclose()
