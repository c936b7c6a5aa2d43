"""The simulated city publishes as its departments: one Publisher a department, each its own
principal, so the simulation goes through the same ACLs as the real systems would.

Where the process has an identity of its own (``HUB_KAFKA_USERNAME``, e.g. the tests, which
are ``hub-admin``), one Publisher serves every topic.
"""

from __future__ import annotations

from typing import Any

from hub.settings import get_settings
from hub.topics import ensure_topics
from producers.sdk import Publisher
from producers.sdk.publisher import PublishedEvent


class DepartmentPublishers:
    """The ``prepare``/``send`` part of ``Publisher``, dispatched by the topic's department."""

    def __init__(
        self, source_system: str = "simulator", *, single_source: str | None = None, **options: Any
    ) -> None:
        """Sources are ``/hamm/<department>/<source_system>``; ``single_source`` is the one
        source when the process publishes everything as one principal."""
        self._system = source_system
        self._single_source = single_source
        self._options = options
        self._by_department: dict[str, Publisher] = {}
        self._single = get_settings().kafka_username is not None

    def _department(self, topic: str) -> str:
        return "*" if self._single else topic.split(".", 1)[0]

    async def _publisher(self, topic: str) -> Publisher:
        department = self._department(topic)
        publisher = self._by_department.get(department)
        if publisher is None:
            source = (
                (self._single_source or f"/hamm/hub/{self._system}")
                if department == "*"
                else f"/hamm/{department}/{self._system}"
            )
            publisher = Publisher(source=source, **self._options)
            await publisher.start()
            self._by_department[department] = publisher
        return publisher

    async def ensure_topics(self, topics: list[str]) -> None:
        """Create missing topics, each as the department that owns it (no auto-creation races)."""
        by_department: dict[str, list[str]] = {}
        for topic in topics:
            by_department.setdefault(self._department(topic), []).append(topic)
        for names in by_department.values():
            publisher = await self._publisher(names[0])
            await ensure_topics(publisher.bootstrap_servers, names, security=publisher.security)

    async def prepare(self, topic: str) -> None:
        await (await self._publisher(topic)).prepare(topic)

    async def send(self, topic: str, record: Any, **kwargs: Any) -> Any:
        return await (await self._publisher(topic)).send(topic, record, **kwargs)

    async def publish(self, topic: str, record: Any, **kwargs: Any) -> PublishedEvent:
        return await (await self._publisher(topic)).publish(topic, record, **kwargs)

    async def stop(self) -> None:
        publishers, self._by_department = list(self._by_department.values()), {}
        for publisher in publishers:
            await publisher.stop()

    async def __aenter__(self) -> DepartmentPublishers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
