"""How the tests' own Kafka clients authenticate: as this process's identity (hub-admin, see
conftest), unless a test connects as a principal of its own (``kafka_principal``)."""

from __future__ import annotations

from typing import Any

from hub.kafka import KafkaSecurity


def aiokafka_security() -> dict[str, Any]:
    """Keyword arguments for aiokafka clients."""
    return KafkaSecurity.from_settings().aiokafka()


def confluent_security() -> dict[str, str]:
    """Configuration properties for confluent-kafka clients."""
    return KafkaSecurity.from_settings().confluent()


def registry_config(url: str) -> dict[str, str]:
    """confluent-kafka's SchemaRegistryClient configuration, authenticated as this process."""
    credentials = KafkaSecurity.from_settings().credentials
    if credentials is None:
        return {"url": url}
    return {"url": url, "basic.auth.user.info": f"{credentials.username}:{credentials.password}"}
