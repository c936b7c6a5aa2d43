"""Errors of the subscriber SDK; each message names the subscriber, topic or record it is about."""

from __future__ import annotations


class SubscriberError(Exception):
    """Base class: the subscription cannot start or go on (credential, topics, registry)."""


class TopicAccessError(SubscriberError):
    """The principal may not read a delivery topic it asked for (or the topic does not exist):
    a subscriber reads the delivery topics of its own valid agreements and nothing else."""


class NoDeliveryTopicsError(SubscriberError):
    """No delivery topic of the subscriber (or of the named agreements) is visible to it."""


class SchemaUnavailableError(SubscriberError):
    """The registry could not be asked for a schema (unreachable, 5xx): the record stays where
    it is, and iterating again asks again."""

    def __init__(self, message: str, *, topic: str, partition: int, offset: int, schema_id: int):
        super().__init__(message)
        self.topic, self.partition, self.offset, self.schema_id = (
            topic,
            partition,
            offset,
            schema_id,
        )


class UndecodableDeliveryError(SubscriberError):
    """A record of a delivery topic cannot be turned into a ``Delivery``: not Confluent wire
    format, a schema id the registry does not know, an Avro body that does not match its schema,
    or headers that do not make it a hub delivery.

    Never skipped silently: the record stays at the head of its partition, iterating again raises
    again, and the subscriber decides: fix the cause, or ``await subscription.skip(error)`` to
    acknowledge it unread (the hub's dead letter and audit trail keep the original)."""

    def __init__(
        self,
        reason: str,
        *,
        topic: str,
        partition: int,
        offset: int,
        schema_id: int | None,
        cause: str,
    ) -> None:
        schema = f"schema id {schema_id}" if schema_id is not None else "no schema id"
        super().__init__(f"{topic}/{partition}/{offset} ({schema}): {reason}")
        self.reason = reason
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.schema_id = schema_id
        self.cause = cause  # a short class of the failure, the metric's label
