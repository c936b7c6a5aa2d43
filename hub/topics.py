"""Create the topics a service needs before it uses them (idempotent)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 1
    replication: int = 1
    config: dict[str, str] = field(default_factory=dict)


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec | str]) -> list[str]:
    """Create the topics that do not exist yet; return the names that were created."""
    wanted = [TopicSpec(s) if isinstance(s, str) else s for s in specs]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in wanted if s.name not in existing]
        if missing:
            new = [
                NewTopic(s.name, s.partitions, s.replication, topic_configs=s.config)
                for s in missing
            ]
            # Another instance may create it meanwhile: that is what we wanted anyway.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        return [s.name for s in missing]
    finally:
        await admin.close()
