"""Publisher SDK: validated Avro events with CloudEvents headers onto the hub's raw topics."""

from producers.sdk.encoding import TopicSchema
from producers.sdk.errors import (
    NotPreparedError,
    NotStartedError,
    PublisherError,
    QualityRuleError,
    RecordValidationError,
    UnknownTopicError,
)
from producers.sdk.publisher import PublishedEvent, Publisher

__all__ = [
    "NotPreparedError",
    "NotStartedError",
    "PublishedEvent",
    "Publisher",
    "PublisherError",
    "QualityRuleError",
    "RecordValidationError",
    "TopicSchema",
    "UnknownTopicError",
]
