"""The live OpenAPI document of the gateway: one operation per topic it accepts events for.

Which topics: every ``<topic>-value`` subject of the registry whose topic belongs to a department
of ``departments.yaml`` that publishes through the gateway (``gateway: false`` excluded); with a
department's bearer token on ``/openapi.json``, that department's topics only. Each topic's
schema is the one the gateway converts to (``SchemaCache``, so the document and the converter
never disagree), its examples made by the department simulators and checked by the converter.

The subject list is fetched at most every ``ttl`` seconds, and each topic's part of the document
is derived once per schema id, so ``/openapi.json`` costs a dictionary copy most of the time and
a new topic shows within ``ttl`` seconds of its registration.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from producers.gateway.convert import SchemaError
from producers.gateway.departments import Department, Departments
from producers.gateway.openapi import TopicDoc, document, example_event, to_json
from producers.gateway.schemas import SchemaCache
from producers.sdk.errors import PublisherError

log = logging.getLogger(__name__)

EXAMPLE_SEED = 20261125


class DocumentUnavailable(Exception):
    """The registry could not be asked and there is no earlier document to fall back on."""


class ApiDocument:
    def __init__(
        self,
        base: Callable[[], dict[str, Any]],
        registry: Any,
        schemas: SchemaCache,
        departments: Departments,
        *,
        max_batch: int,
        max_body_bytes: int,
        ttl: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``base``: FastAPI's document of the app's own routes (built once, on first use)."""
        self._base_factory = base
        self._base: dict[str, Any] | None = None
        self._registry = registry
        self._schemas = schemas
        self._departments = departments
        self._max_batch = max_batch
        self._max_body_bytes = max_body_bytes
        self._ttl = ttl
        self._clock = clock
        self._topics: list[str] | None = None
        self._listed_at = float("-inf")
        self._docs: dict[tuple[str, int], TopicDoc] = {}
        self._built: dict[str | None, tuple[float, dict[str, Any]]] = {}
        self._lock = asyncio.Lock()

    def base(self) -> dict[str, Any]:
        if self._base is None:
            self._base = self._base_factory()
        return self._base

    def latest(self) -> dict[str, Any]:
        """The last document built for everyone (the base document before the first)."""
        built = self._built.get(None)
        return built[1] if built else self.base()

    async def get(self, department: Department | None = None) -> dict[str, Any]:
        """The document for everyone, or only ``department``'s topics.

        Raises DocumentUnavailable when the registry fails and nothing was built before.
        """
        key = department.name if department else None
        built = self._built.get(key)
        if built is not None and self._clock() - built[0] < self._ttl:
            return built[1]
        async with self._lock:  # one refresh at a time; the others take its result
            built = self._built.get(key)
            if built is not None and self._clock() - built[0] < self._ttl:
                return built[1]
            try:
                spec = await self._build(department)
            except Exception as exc:
                if built is None:
                    raise DocumentUnavailable(f"schema registry unavailable: {exc}") from exc
                log.warning("OpenAPI document not refreshed", extra={"error": repr(exc)})
                # stale beats none (/docs keeps working); the next try after another ttl, so
                # an outage costs one slow request a ttl, not every request
                self._built[key] = (self._clock(), built[1])
                return built[1]
            self._built[key] = (self._clock(), spec)
            return spec

    async def _build(self, department: Department | None) -> dict[str, Any]:
        wanted: list[tuple[str, Department]] = []
        for topic in await self._list():
            owner = self._owner(topic)
            if owner is not None and (department is None or owner.name == department.name):
                wanted.append((topic, owner))
        results = await asyncio.gather(*(self._topic(t, owner) for t, owner in wanted))
        docs = [d for d in results if d is not None]
        descriptions = {d.name: d.description for d in self._departments.by_name.values()}
        return document(
            self.base(),
            docs,
            max_batch=self._max_batch,
            max_body_bytes=self._max_body_bytes,
            departments=descriptions,
        )

    async def _list(self) -> list[str]:
        if self._topics is None or self._clock() - self._listed_at >= self._ttl:
            subjects = await self._registry.subjects()
            self._topics = sorted(
                s.removesuffix("-value") for s in subjects if s.endswith("-value")
            )
            self._listed_at = self._clock()
        return self._topics

    def _owner(self, topic: str) -> Department | None:
        for department in self._departments.by_name.values():
            if department.gateway and department.may_publish(topic):
                return department
        return None

    async def _topic(self, topic: str, owner: Department) -> TopicDoc | None:
        try:
            schema = await self._schemas.get(topic)
        except (PublisherError, SchemaError) as exc:
            # one unusable schema must not take the whole document down
            log.warning(
                "topic left out of the OpenAPI document", extra={"topic": topic, "error": str(exc)}
            )
            return None
        if schema is None:
            return None
        cached = self._docs.get((topic, schema.schema_id))
        if cached is None:
            avro = schema.converter.schema
            examples = simulated_examples(topic, schema.converter)
            if not examples:
                fallback = example_event(avro)
                examples = (fallback,) if not schema.converter.errors(fallback) else ()
            cached = TopicDoc(topic, owner.name, avro, schema.schema_id, examples)
            self._docs[(topic, schema.schema_id)] = cached
        return cached


def simulated_examples(topic: str, converter: Any, count: int = 2) -> tuple[dict[str, Any], ...]:
    """Events of ``topic`` made by the department simulator of its event type (matched by
    ``<entity>.<event>``, so a test department's copy of a topic gets them too), as the gateway
    takes them in JSON; only those the converter accepts (a newer schema may want more)."""
    from producers.simulators.events import GENERATORS, generate

    suffix = topic.partition(".")[2]
    name = (
        topic
        if topic in GENERATORS
        else next((t for t in sorted(GENERATORS) if t.partition(".")[2] == suffix), None)
    )
    if name is None:
        return ()
    rng = random.Random(EXAMPLE_SEED)
    events: list[dict[str, Any]] = []
    for _ in range(count):
        try:
            _, record = generate(name, rng)
        except Exception:  # a simulator's bug costs the example, not the document
            log.warning("no simulated example", extra={"topic": topic}, exc_info=True)
            return tuple(events)
        event = to_json(record)
        if isinstance(event, Mapping) and not converter.errors(event):
            events.append(dict(event))
    return tuple(events)
