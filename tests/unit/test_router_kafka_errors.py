"""How the router reads librdkafka's errors: another instance taking over (``Fenced``: stop),
the broker away (``BrokerUnreachable``: an outage), the rest (``KafkaFailure``: read the batch
again; ``fatal``: the client is unusable)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from consumers.router.kafka import BrokerUnreachable, Fenced, KafkaFailure, failure


def _fatal(cause: int) -> KafkaError:
    """librdkafka's form of a fatal error: code _FATAL, the cause only in the text."""
    text = (
        f"Fatal error: {KafkaError(cause).str()}: Fatal consumer error: {KafkaError(cause).str()}"
    )
    return KafkaError(KafkaError._FATAL, text, fatal=True)


@pytest.mark.parametrize(
    "cause",
    [
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError._FENCED,
    ],
)
def test_a_fencing_is_fenced_plain_or_as_a_fatal_error(cause):
    assert isinstance(failure(KafkaError(cause)), Fenced)
    assert isinstance(failure(_fatal(cause)), Fenced)
    assert isinstance(failure(KafkaException(_fatal(cause))), Fenced)


def test_a_consumed_messages_fatal_error_counts_as_fatal_without_the_flag():
    """A message's error carries code _FATAL but not always the fatal flag."""
    error = KafkaError(
        KafkaError._FATAL,
        "Fatal error: Broker: Static consumer fenced by other consumer with same group.instance.id",
    )
    assert isinstance(failure(error), Fenced)
    other = failure(KafkaError(KafkaError._FATAL, "Fatal error: something else"))
    assert isinstance(other, KafkaFailure) and other.fatal


@pytest.mark.parametrize(
    "code",
    [KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError.COORDINATOR_NOT_AVAILABLE],
)
def test_the_broker_away_is_unreachable(code):
    assert isinstance(failure(KafkaError(code)), BrokerUnreachable)


@pytest.mark.parametrize(
    ("error", "fatal"),
    [
        (KafkaError(KafkaError.INVALID_TXN_STATE), False),
        (KafkaError(KafkaError.INVALID_TXN_STATE, fatal=True), True),
        (_fatal(KafkaError.INVALID_TXN_STATE), True),
        (KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), False),
    ],
)
def test_the_rest_is_a_failure_fatal_when_librdkafka_says_so(error, fatal):
    result = failure(error)
    assert type(result) is KafkaFailure and result.fatal is fatal
    assert KafkaError(error.code()).name() in str(result) or "_FATAL" in str(result)
