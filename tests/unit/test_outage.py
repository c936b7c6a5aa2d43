"""Quiet when things break (hub/outage.py, hub/logs.py): one line per state change of the
broker's reachability, never more, whatever the sequence of successes and failures; the first
record of a library's burst written, the rest counted."""

from __future__ import annotations

import asyncio
import io
import logging
from itertools import pairwise

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from hub import outage
from hub.logs import BurstFilter, JsonFormatter
from hub.outage import REACHABLE_AGAIN, UNREACHABLE, BrokerWatch, Bursts, Reachability

# A sequence of observations: (succeeded?, seconds since the one before).
observations = st.lists(
    st.tuples(st.booleans(), st.floats(min_value=0, max_value=120, allow_nan=False)),
    max_size=200,
)


def feed(sequence: list[tuple[bool, float]]) -> tuple[list, list[bool], list[float]]:
    state, now, changes, states, times = Reachability(), 0.0, [], [], []
    for succeeded, dt in sequence:
        now += dt
        change = state.success(now) if succeeded else state.failure(now, "refused")
        changes.append(change)
        states.append(state.reachable)
        times.append(now)
    return changes, states, times


@given(observations)
def test_one_line_per_state_change_never_more(sequence):
    changes, states, _ = feed(sequence)
    before = [True, *states][:-1]
    flips = [now != was for now, was in zip(states, before, strict=True)]
    assert [c is not None for c in changes] == flips
    assert sum(c is not None for c in changes) == sum(flips)


@given(observations)
def test_lines_alternate_and_start_with_unreachable(sequence):
    changes, _, _ = feed(sequence)
    lines = [c.message for c in changes if c is not None]
    expected = [UNREACHABLE, REACHABLE_AGAIN] * (len(lines) // 2 + 1)
    assert lines == expected[: len(lines)]


@given(observations)
def test_the_recovery_says_how_long_and_how_many_failures(sequence):
    changes, _, times = feed(sequence)
    down_at, failures = None, 0
    for (succeeded, _), change, now in zip(sequence, changes, times, strict=True):
        if not succeeded:
            failures = failures + 1 if down_at is not None else 1
            down_at = now if down_at is None else down_at
        elif change is not None:
            assert change.reachable and change.down_s == pytest.approx(now - down_at)
            assert change.failures == failures >= 1
            down_at = None


def test_a_long_outage_is_two_lines():
    state = Reachability()
    lines = [state.failure(t / 10, "refused") for t in range(600)]
    lines.append(state.success(60.0))
    said = [c for c in lines if c is not None]
    assert [c.message for c in said] == [UNREACHABLE, REACHABLE_AGAIN]
    assert said[0].error == "refused"
    assert said[1].down_s == pytest.approx(60.0) and said[1].failures == 600
    assert said[1].fields() == {"down_s": 60.0, "failures": 600}


def test_successes_while_reachable_say_nothing():
    state = Reachability()
    assert all(state.success(t) is None for t in range(100))


# -- bursts ---------------------------------------------------------------------------------

gaps = st.lists(st.floats(min_value=0, max_value=90, allow_nan=False), min_size=1, max_size=300)


@given(gaps, st.floats(min_value=1, max_value=60, allow_nan=False))
def test_the_first_record_of_each_burst_passes_and_the_rest_are_counted(gaps, quiet):
    bursts, now, times = Bursts(quiet), 0.0, []
    for gap in gaps:
        now += gap
        times.append(now)
    admitted = [bursts.admit("aiokafka", t) for t in times]
    # A burst: records each within ``quiet`` of the one before.
    starts = [True] + [b - a >= quiet for a, b in pairwise(times)]
    assert admitted == starts
    assert bursts.suppressed["aiokafka"] == len(gaps) - sum(starts)


def test_bursts_are_per_library():
    bursts = Bursts(30)
    assert bursts.admit("aiokafka", 0) and bursts.admit("rdkafka", 0.1)
    assert not bursts.admit("aiokafka", 0.2) and not bursts.admit("rdkafka", 0.3)


def _logger(name: str, stream: io.StringIO) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(BurstFilter(quiet_s=30))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_the_filter_writes_the_first_library_error_and_counts_the_rest():
    stream = io.StringIO()
    kafka = _logger("aiokafka.consumer.fetcher", stream)
    before = outage.LOG_SUPPRESSED.labels("aiokafka")._value.get()
    for _ in range(650):
        kafka.error("Failed fetch messages from %s: %s", 1, "NodeNotReadyError")
    kafka.info("an info line is never held back")
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    assert lines[0]["msg"] == "Failed fetch messages from 1: NodeNotReadyError"
    assert "hub_log_suppressed_total" in lines[0]["repeats"]
    assert outage.LOG_SUPPRESSED.labels("aiokafka")._value.get() - before == 649


def test_the_filter_leaves_the_hubs_own_lines_alone():
    stream = io.StringIO()
    own = _logger("hub.router.filtertest", stream)
    for _ in range(5):
        own.warning("batch not committed, reading it again")
    assert len(stream.getvalue().splitlines()) == 5


# -- the watch ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_watch_logs_twice_for_an_outage_and_counts_every_failure(caplog):
    clock = Clock()
    watch = BrokerWatch("unit-outage", logging.getLogger("hub.unit"), clock=clock)
    up, errors = outage.BROKER_UP.labels("unit-outage"), outage.BROKER_ERRORS.labels("unit-outage")
    counted = errors._value.get()
    with caplog.at_level(logging.INFO, logger="hub.unit"):
        watch.ok()
        for _ in range(300):
            watch.failed(ConnectionRefusedError(111, "Connect call failed"))
            clock.now += 0.02
            assert up._value.get() == 0
        watch.ok()
        watch.ok()
    assert [r.getMessage() for r in caplog.records] == [UNREACHABLE, REACHABLE_AGAIN]
    first, again = caplog.records
    assert first.levelno == logging.WARNING and "Connect call failed" in first.error
    assert again.down_s == 6.0 and again.failures == 300 and again.service == "unit-outage"
    assert up._value.get() == 1
    assert errors._value.get() - counted == 300


def test_report_takes_connection_errors_and_whatever_comes_while_away():
    from aiokafka.errors import KafkaConnectionError, NodeNotReadyError, ProducerFenced

    watch = BrokerWatch("unit-report", clock=Clock())
    assert not watch.report(ValueError("a bad record"))  # the caller logs it, as before
    assert not watch.report(ProducerFenced())
    assert watch.report(NodeNotReadyError("node 1"))
    assert not watch.reachable
    assert watch.report(ValueError("while away: a consequence, counted"))
    watch.ok()
    wrapped = RuntimeError("commit failed")
    wrapped.__cause__ = KafkaConnectionError("refused")
    assert watch.report(wrapped)  # what it was raised from counts


@pytest.mark.parametrize(
    ("began", "taken"),
    [(-1.0, True), (0.0, True), (5.0, True), (10.0, True), (10.5, False), (60.0, False)],
)
def test_work_begun_before_the_broker_came_back_fails_as_part_of_the_outage(began, taken, caplog):
    """A transaction begun before "reachable again" (10 s after the outage began here) and failing after it (its
    commit ends when librdkafka gives up, later than any grace) is the outage's: counted, not
    logged; one begun after it is the caller's to log, however soon."""
    clock = Clock()
    watch = BrokerWatch("unit-since", logging.getLogger("hub.unit.since"), clock=clock)
    errors = outage.BROKER_ERRORS.labels("unit-since")
    start = clock.now
    watch.failed(ConnectionRefusedError(111, "refused"))
    clock.now = start + 10.0
    watch.ok()
    clock.now = start + 10.0 + 3 * outage.RECOVERY_GRACE_S
    counted = errors._value.get()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="hub.unit.since"):
        assert watch.report(RuntimeError("INVALID_TXN_STATE"), since=start + began) is taken
    assert errors._value.get() - counted == int(taken)
    assert watch.reachable and not caplog.records  # no new outage either way
    assert not watch.report(RuntimeError("no since: the caller's"))


def test_a_watch_that_never_saw_an_outage_leaves_every_failure_to_the_caller():
    watch = BrokerWatch("unit-since-never", clock=Clock())
    assert not watch.report(RuntimeError("INVALID_TXN_STATE"), since=0.0)


def test_bursts_outlast_librdkafkas_own_repeat_interval():
    """librdkafka repeats an identical connection error at most every 30 s: a long outage
    must stay one burst (one line), not a line every 30 s."""
    bursts = Bursts()
    assert bursts.admit("rdkafka", 0)
    assert not any(bursts.admit("rdkafka", t) for t in range(30, 600, 30))


def test_the_metrics_are_served_from_a_services_own_registry_too():
    registry = CollectorRegistry()
    outage.expose(registry)
    outage.expose(registry)  # idempotent
    BrokerWatch("unit-expose")
    text = generate_latest(registry).decode()
    assert 'hub_broker_up{service="unit-expose"} 1.0' in text
    assert "hub_broker_errors_total" in text and "hub_log_suppressed_total" in text


async def test_the_probe_notices_a_broker_that_is_not_there(unused_tcp_port):
    from hub.kafka import KafkaSecurity

    watch = BrokerWatch("unit-probe", interval=0.05)
    await watch.start(f"127.0.0.1:{unused_tcp_port}", KafkaSecurity(protocol="PLAINTEXT"))
    for _ in range(100):
        if not watch.reachable:
            break
        await asyncio.sleep(0.05)
    await watch.stop()
    assert not watch.reachable


# -- the registry ---------------------------------------------------------------------------


def test_a_registry_outage_is_two_lines_however_many_requests_fail(caplog):
    """The client feeds its watch: 200 failed lookups (refused, then server errors) are one
    line, the first answer after them the second; 4xx answers are the registry being there."""
    import httpx

    from hub.outage import REGISTRY_REACHABLE_AGAIN, REGISTRY_UNREACHABLE, RegistryWatch
    from hub.serde import AsyncRegistryClient, RegistryError

    state = {"mode": "up"}

    def answer(request: httpx.Request) -> httpx.Response:
        if state["mode"] == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        if state["mode"] == "500":
            return httpx.Response(500, json={"error_code": 50001, "message": "store down"})
        if request.url.path.startswith("/schemas/ids/404"):
            return httpx.Response(404, json={"error_code": 40403, "message": "not found"})
        return httpx.Response(200, json={"schema": '"string"'})

    clock = Clock()
    watch = RegistryWatch("unit-registry", logging.getLogger("hub.unit.registry"), clock=clock)
    errors = outage.REGISTRY_ERRORS.labels("unit-registry")
    counted = errors._value.get()

    async def run() -> None:
        http = httpx.AsyncClient(
            base_url="http://registry.test", transport=httpx.MockTransport(answer)
        )
        client = AsyncRegistryClient("http://registry.test", client=http, auth=None, watch=watch)
        await client.schema_by_id(1)
        for i in range(200):
            state["mode"] = "refused" if i < 100 else "500"
            with pytest.raises(RegistryError):
                await client.schema_by_id(1000 + i)
            clock.now += 0.05
        state["mode"] = "up"
        with pytest.raises(RegistryError):
            await client.schema_by_id(404)  # an answer: the registry is back
        await client.schema_by_id(2)
        await client.aclose()

    with caplog.at_level(logging.INFO, logger="hub.unit.registry"):
        asyncio.run(run())
    assert [r.getMessage() for r in caplog.records] == [
        REGISTRY_UNREACHABLE,
        REGISTRY_REACHABLE_AGAIN,
    ]
    assert caplog.records[1].failures == 200 and caplog.records[1].down_s == 10.0
    assert errors._value.get() - counted == 200
    assert watch.reachable and outage.REGISTRY_REACHABLE.labels("unit-registry")._value.get() == 1


def test_a_registry_error_is_not_the_broker_being_away():
    """A refused registry connection ends in ConnectionRefusedError too; the broker's watch
    must not take it for the broker."""
    from hub.serde import RegistryError

    error = RegistryError(0, 0, "registry unreachable")
    error.__cause__ = ConnectionRefusedError(111, "refused")
    outer = RuntimeError("pull failed")
    outer.__cause__ = error
    assert not outage.is_connection_error(outer)
    assert outage.is_connection_error(ConnectionRefusedError(111, "refused"))


def test_a_failure_just_after_the_recovery_is_counted_not_a_new_outage(caplog):
    """librdkafka reports a connection the outage broke once more at the next commit: within
    the grace after "reachable again" that is counted; failing on past it is a new outage."""
    clock = Clock()
    watch = BrokerWatch("unit-grace", logging.getLogger("hub.unit.grace"), clock=clock)
    with caplog.at_level(logging.INFO, logger="hub.unit.grace"):
        watch.failed(ConnectionRefusedError(111, "refused"))
        clock.now += 5
        watch.ok()
        clock.now += 4
        watch.failed(ConnectionRefusedError(111, "late word"))
        assert watch.reachable
        clock.now += outage.RECOVERY_GRACE_S
        watch.failed(ConnectionRefusedError(111, "a new outage"))
    assert [r.getMessage() for r in caplog.records] == [UNREACHABLE, REACHABLE_AGAIN, UNREACHABLE]
    assert caplog.records[2].error.endswith("a new outage")
