"""The schema each topic's events are converted to: the one the Publisher encodes with.

The registry is the authority on which topics exist: a topic with no ``<topic>-value`` subject
is unknown (404). The Publisher fetches and keeps each topic's latest schema; here it is
compiled once per schema id into a JSON converter. Unknown topics are remembered briefly, so a
client hammering a typo does not hammer the registry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from producers.gateway.convert import FieldError, RecordConverter, compile_schema
from producers.sdk import encoding
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
        self._by_id: dict[tuple[str, int], RecordConverter] = {}
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
        converter = self._by_id.get((topic, prepared.schema_id))
        if converter is None:
            converter = compile_schema(prepared.schema)
            if getattr(prepared, "quality", None):  # the contract's reject rules, like the SDK
                check = self._quality_check(topic, prepared)
                converter = dataclasses.replace(converter, check=check)
            self._by_id[(topic, prepared.schema_id)] = converter
        return TopicSchema(topic, prepared.schema_id, converter)

    def _quality_check(
        self, topic: str, prepared: Any
    ) -> Callable[[dict[str, Any], bool], list[FieldError]]:
        def check(record: dict[str, Any], count: bool) -> list[FieldError]:
            found = (
                self._publisher.refusals(topic, record)  # counted as refused at the door
                if count
                else encoding.refusals(prepared, record)
            )
            return [FieldError(v.field or "", v.message(), v.rule) for v in found]

        return check
