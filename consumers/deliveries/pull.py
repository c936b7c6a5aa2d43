"""One pull: verify the cursor, read from it, decode, build the events and the next cursor.

The glue between the pure parts (cursor, encoding) and the reader; the HTTP layer (``app.py``)
only authenticates, authorizes and maps errors to statuses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord

from consumers.deliveries.cursor import CursorCodec
from consumers.deliveries.encoding import cloudevent
from consumers.deliveries.reader import DeliveriesUnavailable, DeliveryReader
from hub.agreements.model import Agreement
from hub.serde import AvroSerde, RegistryError, SerdeError
from hub.serde.client import AsyncRegistryClient
from hub.serde.wire import HEADER_SIZE, MAGIC_BYTE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pulled:
    """The events of one pull and the cursor to continue from."""

    events: list[dict[str, Any]]
    cursor: str
    undecodable: int = 0


class Puller:
    """Pulls of any agreement through one reader, one registry client and one cursor key."""

    def __init__(
        self,
        reader: DeliveryReader,
        registry: AsyncRegistryClient,
        codec: CursorCodec,
        serde: AvroSerde | None = None,
    ) -> None:
        self.reader = reader
        self.registry = registry
        self.codec = codec
        # Writer schemas only: each delivery is given as the router wrote it (a newer version
        # of an agreement may hold other fields; the record says which).
        self.serde = serde or AvroSerde()

    async def pull(self, agreement: Agreement, cursor: str | None, limit: int) -> Pulled:
        """Up to ``limit`` deliveries of ``agreement`` after ``cursor`` (None: from the start).
        CursorError for a cursor not issued for this agreement; DeliveriesUnavailable when the
        broker or the registry cannot serve now."""
        topic = agreement.topic
        positions = None if cursor is None else self.codec.decode(agreement.id, topic, cursor)
        batch = await self.reader.read(topic, positions, limit)
        await self._fetch_schemas(batch.records)
        events = []
        undecodable = 0
        for record in batch.records:
            event = self._event(agreement.id, record)
            undecodable += "huberror" in event
            events.append(event)
        return Pulled(events, self.codec.encode(agreement.id, topic, batch.positions), undecodable)

    async def _fetch_schemas(self, records: Sequence[ConsumerRecord]) -> None:
        """Fetch the writer schemas not seen yet (by id, once: ids never change)."""
        wanted = set()
        for record in records:
            value = record.value
            if value and len(value) >= HEADER_SIZE and value[0] == MAGIC_BYTE:
                schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
                if schema_id not in self.serde:
                    wanted.add(schema_id)
        for schema_id in sorted(wanted):
            try:
                text = await self.registry.schema_by_id(schema_id)
            except RegistryError as exc:
                if exc.status == 404:
                    continue  # the record says so itself (huberror); the stream goes on
                raise DeliveriesUnavailable(f"schema registry: {exc}") from exc
            except Exception as exc:  # httpx transport errors
                raise DeliveriesUnavailable(f"schema registry unreachable: {exc!r}") from exc
            try:
                self.serde.add_schema(schema_id, text)
            except SerdeError as exc:
                log.error("unusable schema", extra={"schema_id": schema_id, "error": str(exc)})

    def _event(self, agreement_id: str, record: ConsumerRecord) -> dict[str, Any]:
        error = None
        data = None
        if record.value is None:
            error = "the delivery has no value"
        else:
            try:
                data = self.serde.decode(record.value)
            except SerdeError as exc:
                error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            log.error(
                "undecodable delivery",
                extra={
                    "agreement": agreement_id,
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    "error": error,
                },
            )
        return cloudevent(
            agreement_id,
            record.topic,
            record.partition,
            record.offset,
            record.key,
            record.headers,
            data,
            error,
        )
