"""The schema each topic's events are converted to: the one the Publisher encodes with.

The registry is the authority on which topics exist: a topic with no ``<topic>-value`` subject
is unknown (404). The Publisher fetches and keeps each topic's latest schema; here it is
compiled once per schema id into a JSON converter. Unknown topics are remembered briefly, so a
client hammering a typo does not hammer the registry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from producers.gateway.convert import RecordConverter, compile_schema
from producers.sdk.errors import UnknownTopicError


@dataclass(frozen=True)
class TopicSchema:
    topic: str
    schema_id: int
    converter: RecordConverter


class SchemaCache:
    def __init__(
        self,
        publisher: Any,
        *,
        negative_ttl: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publisher = publisher
        self._negative_ttl = negative_ttl
        self._clock = clock
        self._unknown: dict[str, float] = {}
        self._by_id: dict[int, RecordConverter] = {}
        self._lock = asyncio.Lock()

    async def get(self, topic: str) -> TopicSchema | None:
        """The topic's schema, None when no schema is registered for it.

        Raises ``PublisherError`` when the registry cannot answer (the caller says 503).
        """
        until = self._unknown.get(topic)
        if until is not None and until > self._clock():
            return None
        try:
            await self._publisher.prepare(topic)
        except UnknownTopicError:
            if len(self._unknown) > 10_000:  # typos must not grow memory without bound
                self._unknown.clear()
            self._unknown[topic] = self._clock() + self._negative_ttl
            return None
        prepared = self._publisher.schema(topic)
        converter = self._by_id.get(prepared.schema_id)
        if converter is None:
            converter = self._by_id[prepared.schema_id] = compile_schema(prepared.schema)
        return TopicSchema(topic, prepared.schema_id, converter)
