"""Errors of the publisher SDK; each message names the topic and, where known, the field."""

from __future__ import annotations

from hub.quality.rules import Violation


class PublisherError(Exception):
    """Base class of what the publisher SDK raises besides RecordValidationError."""


class RecordValidationError(ValueError):
    """A record does not match the registered schema of its topic.

    ``field`` is the dotted path of the offending field (``new_address.postcode``,
    ``nationalities[2]``), None when the record as a whole is wrong.
    """

    def __init__(self, topic: str, field: str | None, message: str) -> None:
        where = f"{field}: " if field else ""
        super().__init__(f"{topic}: {where}{message}")
        self.topic = topic
        self.field = field
        self.message = message


class QualityRuleError(RecordValidationError):
    """A record breaks a ``reject`` quality rule of its contract (``x-quality``): refused like a
    schema error. ``rule`` names the rule, ``fields`` every field it reads (``field`` the first).
    """

    def __init__(self, topic: str, violation: Violation) -> None:
        super().__init__(topic, violation.field, violation.message())
        self.rule = violation.rule
        self.fields = violation.fields
        self.violation = violation


class UnknownTopicError(PublisherError, LookupError):
    """No schema is registered under ``<topic>-value``: the topic is not part of the catalog."""


class NotPreparedError(PublisherError, LookupError):
    """``validate`` was called for a topic whose schema was not fetched: ``await prepare(topic)``."""


class NotStartedError(PublisherError, RuntimeError):
    """The publisher was used before ``start()`` (or after ``stop()``)."""
