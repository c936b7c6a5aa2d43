"""The router's Kafka side on confluent-kafka (librdkafka): a consumer and a transactional
producer for the event loop.

librdkafka does in C what aiokafka did in Python (fetch parsing, record batches, murmur2
partitioning), see DESIGN.md, "The hot path"; what stays per record here is a ``Record`` built
from each message (~1 µs). The native core's deliveries are produced by the core itself, into
this producer's librdkafka handle (``hub_core.Sender``, well under 1 µs a delivery, without the
GIL); other records by a ``produce`` call each (~1.5–3.5 µs with headers). A whole transaction
(begin, every record, the offsets, the commit) is one call in a thread, and every call on the
consumer runs in a thread of its own: its rebalance callbacks run there (inside ``consume``)
and may block on the loop (the revocation waits for the batch in flight to commit).

Errors leave here as ``Fenced`` (another producer took our transactional id: stop),
``BrokerUnreachable`` (a ``ConnectionError``, so ``hub.outage`` counts it as the broker being
away) or ``KafkaFailure`` (anything else: the batch is read again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka import TopicPartition as _TopicPartition

from hub.kafka import KafkaSecurity
from hub.logs import RDKAFKA

# Codes that say the broker (or the coordinator on it) is not there, rather than something
# about a request or a record.
_UNREACHABLE = frozenset(
    {
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TIMED_OUT,
        KafkaError._MSG_TIMED_OUT,
        KafkaError._RESOLVE,
        KafkaError._WAIT_COORD,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NETWORK_EXCEPTION,
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.NOT_ENOUGH_REPLICAS,
    }
)
_FENCED = frozenset(
    {
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.FENCED_INSTANCE_ID,  # a consumer of the same instance joined the group
    }
)
# How librdkafka words those codes, as the cause inside a fatal error's text.
_FENCED_TEXTS = tuple(KafkaError(code).str() for code in _FENCED)
# Consumer errors that are no failure of ours: a source topic not created yet (found by the
# 5 s metadata refresh once it is), the end of a partition.
_QUIET = frozenset(
    {KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._PARTITION_EOF}
)
TIMEOUT_S = 30.0  # for the producer's blocking calls
# The confluent-kafka major version whose layouts the core reads: the Producer's librdkafka
# handle right after the object header (Sender), the consumed Message's fields (Intake).
SENDER_CONFLUENT_MAJOR = "2."

log = logging.getLogger("hub.router")


class TopicPartition(NamedTuple):
    topic: str
    partition: int


class Fenced(Exception):
    """Another router with our instance name started (its producer took our transactional id,
    or its consumer our group instance id): this router must stop."""


class BrokerUnreachable(ConnectionError):
    """The broker (or its group or transaction coordinator) did not answer."""


class KafkaFailure(RuntimeError):
    """A Kafka call failed otherwise; the transaction is aborted and the batch read again.
    ``fatal``: the producer is unusable and must be made anew (librdkafka's fatal errors)."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


def failure(error: KafkaException | KafkaError) -> Exception:
    """The router's exception for a librdkafka error."""
    err = error.args[0] if isinstance(error, KafkaException) and error.args else error
    if not isinstance(err, KafkaError):
        return KafkaFailure(str(error))
    code, text = err.code(), f"{err.name()}: {err.str()}"
    if code in _FENCED:
        return Fenced(text)
    if err.fatal() or code == KafkaError._FATAL:
        # librdkafka reports a fatal error as _FATAL (a consumed message's error without the
        # fatal flag), its cause only in the text
        if any(cause in text for cause in _FENCED_TEXTS):
            return Fenced(text)
        return KafkaFailure(text, fatal=True)
    if code in _UNREACHABLE:
        return BrokerUnreachable(text)
    return KafkaFailure(text)


class Record:
    """A consumed record with the attributes the engines read (an ``Event``: the native core
    reads ``key``, ``value``, ``timestamp``, ``offset``, ``headers`` as attributes)."""

    __slots__ = ("headers", "key", "offset", "partition", "timestamp", "topic", "value")

    def __init__(self, message: Any) -> None:
        self.topic = message.topic()
        self.partition = message.partition()
        self.offset = message.offset()
        self.key = message.key()
        self.value = message.value()
        self.headers = message.headers() or []
        self.timestamp = message.timestamp()[1]


def _error_callback(
    on_error: Callable[[Exception], None], *, outages: bool = True
) -> Callable[[KafkaError], None]:
    """librdkafka's client-wide errors: every broker gone is an outage (``outages``), and a
    fatal error is passed on; lone disconnects and the like it retries itself (and logs,
    burst-filtered)."""

    def called(error: KafkaError) -> None:
        if (outages and error.code() == KafkaError._ALL_BROKERS_DOWN) or error.fatal():
            on_error(failure(error))

    return called


def _client_config(bootstrap: str, security: KafkaSecurity) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        **security.confluent(),
        # librdkafka's log lines through Python's logging (and so the burst filter, not stderr)
        "logger": RDKAFKA,
        "socket.nagle.disable": True,  # small requests (commits, markers) leave at once
        "log.connection.close": False,  # a broker closing an idle connection is no news
        # librdkafka's warnings are retries it makes itself ("coordinator load in progress"
        # while a fresh broker starts); what fails for good reaches us as an error.
        "log_level": 3,
        # No re-bootstrap when every broker was away: with it, librdkafka 2.16 retired the
        # restarted broker's handle and a transaction hung on it for good (the outage test).
        "metadata.recovery.strategy": "none",
    }


class RouterConsumer:
    """A ``read_committed`` group member fetching batches; offsets go into transactions.

    ``on_assign`` and ``on_revoke`` are called with sets of ``TopicPartition`` in the consumer's
    thread; ``on_error`` with a ``BrokerUnreachable`` or ``KafkaFailure`` (also in that thread).
    """

    def __init__(
        self,
        bootstrap: str,
        security: KafkaSecurity,
        group: str,
        *,
        instance_id: str,
        fetch_wait_ms: int,
        metadata_refresh_ms: int,
        on_assign: Callable[[set[TopicPartition]], None],
        on_revoke: Callable[[set[TopicPartition]], None],
        on_error: Callable[[Exception], None],
        intake: bool = False,
    ) -> None:
        self._on_assign, self._on_revoke, self._on_error = on_assign, on_revoke, on_error
        self._consumer = Consumer(
            {
                **_client_config(bootstrap, security),
                "group.id": group,
                # Static membership (KIP-345): a restarted instance takes its partitions back
                # at once, instead of waiting for the session of its killed self to end (45 s);
                # an instance that stops for good hands them on after that session.
                "group.instance.id": instance_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "max.partition.fetch.bytes": 4 * 1024 * 1024,
                # Prefetched records held in librdkafka's queue: 16 MB (not 64) is many batches
                # ahead and keeps the router's memory flat and small.
                "queued.max.messages.kbytes": 16 * 1024,
                # The broker answers a fetch as soon as there is data; when there is none, this
                # bounds how long a new event waits for the next fetch.
                "fetch.wait.max.ms": fetch_wait_ms,
                # A source topic the department has not created yet is found this soon.
                "topic.metadata.refresh.interval.ms": metadata_refresh_ms,
                "error_cb": _error_callback(on_error),
            }
        )
        # One thread for every call on the consumer: its callbacks run there, never on the loop.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="router-consumer")
        self.subscription: list[str] = []
        self.assignment: set[TopicPartition] = set()
        self._metadata: Any = None  # the group's metadata since the last rebalance
        # The core gathers the consumed messages (no Python record per event), if it can.
        self.intake = attach_intake() if intake else None

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)
        except KafkaException as error:
            raise failure(error) from error

    def subscribe(self, topics: list[str]) -> None:
        self._consumer.subscribe(
            topics, on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._revoked
        )
        self.subscription = list(topics)

    def unsubscribe(self) -> None:
        self._consumer.unsubscribe()
        self.subscription = []

    def _assigned(self, _consumer: Any, partitions: list) -> None:
        assigned = {TopicPartition(p.topic, p.partition) for p in partitions}
        self._metadata = None  # a new generation of the group
        self.assignment = self.assignment | assigned
        self._on_assign(assigned)

    def _revoked(self, _consumer: Any, partitions: list) -> None:
        revoked = {TopicPartition(p.topic, p.partition) for p in partitions}
        self._metadata = None
        self._on_revoke(revoked)  # first: the batch in flight commits while they are ours
        self.assignment = self.assignment - revoked

    async def fetch(self, max_records: int, timeout_s: float) -> dict[TopicPartition, list]:
        """The records there now (up to ``max_records``), else those arriving within
        ``timeout_s``: returns as soon as there are some, as aiokafka's ``getmany`` did
        (librdkafka's ``consume(n, timeout)`` would wait for all n, adding the wait to the lag)."""
        return await self._call(self._fetch, max_records, timeout_s)

    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in the consumer's thread, where it may call ``fetch_now``."""
        return await self._call(fn, *args)

    def fetch_now(self, max_records: int, timeout_s: float) -> dict[TopicPartition, list]:
        """``fetch`` in the consumer's thread (``in_thread``)."""
        try:
            return self._fetch(max_records, timeout_s)
        except KafkaException as error:
            raise failure(error) from error

    def _fetch(self, max_records: int, timeout_s: float) -> dict[TopicPartition, list]:
        consume = self._consumer.consume
        messages = consume(max_records, 0)
        if not messages:
            messages = consume(1, timeout_s)
            if messages and max_records > 1:
                messages += consume(max_records - 1, 0)
        if self.intake is not None and messages:
            try:
                parts, errors = self.intake.gather(messages)
            except ValueError as error:  # hub_core.Refused: Python builds the records
                log.warning("consumed records are built in Python", extra={"reason": str(error)})
                self.intake = None
            else:
                for message in errors:
                    self._report(message.error())
                return {TopicPartition(topic, p): arrived for topic, p, arrived in parts}
        batch: dict[TopicPartition, list] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                self._report(error)
                continue
            tp = TopicPartition(message.topic(), message.partition())
            records = batch.get(tp)
            if records is None:
                records = batch[tp] = []
            records.append(Record(message))
        return batch

    def _report(self, error: KafkaError) -> None:
        if error.code() not in _QUIET:
            self._on_error(failure(error))

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """Read ``tp`` again from ``offset``; records fetched before are dropped by librdkafka."""
        self._consumer.seek(_TopicPartition(tp.topic, tp.partition, offset))

    @property
    def knows_group_metadata(self) -> bool:
        """``group_metadata`` answers without a call in the consumer's thread."""
        return self._metadata is not None

    async def group_metadata(self) -> Any:
        """What a transaction's offsets are committed with; the same until the next rebalance.
        Asked in the consumer's thread: asked from another while that thread waited in a
        fetch, librdkafka answered only after the fetch (up to its whole wait, with every
        event of the batch waiting too)."""
        if self._metadata is None:
            self._metadata = await self._call(self._consumer.consumer_group_metadata)
        return self._metadata

    async def close(self) -> None:
        """Leave the group (its revocation callback runs: nothing is in flight by then)."""
        try:
            await self._call(self._consumer.close)
        finally:
            self._thread.shutdown(wait=False)


class TransactionalProducer:
    """A transactional, idempotent producer. ``transact`` delivers a batch's records with
    the offsets, in one transaction, or raises (and ``abort`` ends what it left open)."""

    def __init__(
        self,
        bootstrap: str,
        security: KafkaSecurity,
        transactional_id: str,
        *,
        linger_ms: float,
        batch_bytes: int,
        on_error: Callable[[Exception], None],
        native: bool = True,
    ) -> None:
        self._producer = Producer(
            {
                **_client_config(bootstrap, security),
                "transactional.id": transactional_id,
                # The core's Sender checks the handle it borrows by this name.
                "client.id": transactional_id,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": linger_ms,
                # A transaction begun while the coordinator still completes the one before is
                # told CONCURRENT_TRANSACTIONS and retried after this backoff: librdkafka's
                # 100 ms (up to 1 s) put p50/p99 lag at ~190/550 ms at half the max rate,
                # 10 ms (up to 100 ms) at ~60/350 ms on the same (shared, loaded) machine.
                "retry.backoff.ms": 10,
                "retry.backoff.max.ms": 100,
                "batch.size": batch_bytes,
                # A whole batch of deliveries is queued before its commit flushes it.
                "queue.buffering.max.messages": 1_000_000,
                # No report for each delivered record: the commit fails if one was not.
                "delivery.report.only.error": True,
                # Kafka's default partitioner (Java, aiokafka): murmur2 of the key, random
                # without one, so every client puts a key where the others do.
                "partitioner": "murmur2_random",
                # Only fatal errors: the producer's callbacks run when it is next polled (at
                # the commit after the outage), too late to say the broker is away; the
                # consumer's say it at once, and failed commits count.
                "error_cb": _error_callback(on_error, outages=False),
            }
        )
        self._open = False  # a transaction begun and not yet committed or aborted
        # Sends a transaction's offsets while its records are queued (``_transact``).
        self._offsets = ThreadPoolExecutor(1, thread_name_prefix="router-offsets")
        self.transactional_id = transactional_id
        self.committed = 0  # transactions committed
        self.sender = attach_sender(self._producer, transactional_id) if native else None

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args)
        except KafkaException as error:
            raise failure(error) from error

    async def start(self) -> None:
        """Fence an older producer with our transactional id (a crashed instance of ours) and
        abort whatever it left open: no half-written batch survives."""
        await self._call(self._producer.init_transactions, TIMEOUT_S)

    async def transact(
        self,
        head: list[tuple],
        batches: list[Any],
        tail: list[tuple],
        offsets: dict[TopicPartition, int],
        group_metadata: Any,
    ) -> None:
        """One whole transaction in one thread hop: begin; queue ``head`` (``(topic, key,
        value, headers)``), the core's ``batches`` and ``tail``; the group's ``offsets``;
        commit. Each hop waits for the GIL on a busy router, and a commit waiting for a hop
        waits with every event in it. On failure the transaction is left open: ``abort``."""
        if self._open:  # an abort that failed before (broker away): finish it first
            await self.abort()
        positions = [_TopicPartition(tp.topic, tp.partition, o) for tp, o in offsets.items()]
        await self._call(self._transact, head, batches, tail, positions, group_metadata)

    def _transact(
        self, head: list, batches: list, tail: list, positions: list, group_metadata: Any
    ) -> None:
        producer = self._producer
        producer.begin_transaction()
        self._open = True
        # The offsets' two round trips (AddOffsetsToTxn, TxnOffsetCommit) go on while the
        # records are queued: a transaction is as long as the longer of the two, not their sum
        # (at half the maximum rate, p50/p99 of a transaction 13/54 ms before, 11/37 after).
        offsets = self._offsets.submit(
            producer.send_offsets_to_transaction, positions, group_metadata, TIMEOUT_S
        )
        try:
            self._queue(head)
            for deliveries in batches:
                self._queue_batch(deliveries)
            self._queue(tail)
        except BaseException:
            # No other call on the transaction (here: the abort after this failure) while the
            # offsets are being sent: librdkafka takes one transactional call at a time.
            with contextlib.suppress(Exception):
                offsets.result()
            raise
        offsets.result()
        producer.commit_transaction(TIMEOUT_S)
        self._open = False
        self.committed += 1

    def _queue(self, records: list[tuple]) -> None:
        produce = self._producer.produce  # bound once: called per record
        for topic, key, value, headers in records:
            try:
                produce(topic, value, key, headers=headers)
            except BufferError:  # the local queue is full: let librdkafka send first
                self._producer.flush(TIMEOUT_S)
                produce(topic, value, key, headers=headers)

    def _queue_batch(self, deliveries: Any) -> None:
        if self.sender is None:
            self._queue(deliveries.to_list())
            return
        import hub_core

        at, total = 0, len(deliveries)
        while True:
            try:
                at = deliveries.produce(self.sender, at)  # without the GIL
            except hub_core.ProduceError as error:
                code, message, fatal = error.args
                raise KafkaException(KafkaError(code, message, fatal=fatal)) from error
            if at >= total:
                return
            self._producer.flush(TIMEOUT_S)  # the queue was full

    async def abort(self) -> None:
        await self._call(self._producer.abort_transaction, TIMEOUT_S)
        self._open = False

    async def partitions(self, topic: str) -> set[int]:
        metadata = await self._call(self._producer.list_topics, topic, TIMEOUT_S)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            raise KafkaFailure(f"no metadata for {topic}: {found.error if found else 'absent'}")
        return set(found.partitions)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._producer.flush, 5.0)
        self._offsets.shutdown(wait=False)


def attach_sender(producer: Producer, client_id: str) -> Any | None:
    """The native core's ``Sender`` for ``producer`` (its ``client.id`` ``client_id``), or None
    (no core, another confluent-kafka, librdkafka not found): then records are produced
    through Python, as before, and the log says why once."""
    try:
        import hub_core
    except ImportError:
        return None
    if not confluent_kafka.version().startswith(SENDER_CONFLUENT_MAJOR):
        why = f"confluent-kafka {confluent_kafka.version()} (the sender reads 2.x)"
    elif type(producer) is not Producer:
        why = f"{type(producer).__name__} is not confluent-kafka's Producer"
    elif (library := loaded_librdkafka()) is None:
        why = "no librdkafka among this process's libraries"
    else:
        try:
            return hub_core.Sender(producer, str(library), client_id)
        except hub_core.Refused as error:
            why = str(error)
    log.warning("deliveries are produced through Python", extra={"reason": why})
    return None


def attach_intake() -> Any | None:
    """The native core's ``Intake`` for confluent-kafka's messages, or None (no core, another
    confluent-kafka, librdkafka not found): then each record is built in Python, as before,
    and the log says why once. The intake checks the layout it reads on every batch."""
    try:
        import hub_core
    except ImportError:
        return None
    if not confluent_kafka.version().startswith(SENDER_CONFLUENT_MAJOR):
        why = f"confluent-kafka {confluent_kafka.version()} (the intake reads 2.x)"
    elif (library := loaded_librdkafka()) is None:
        why = "no librdkafka among this process's libraries"
    else:
        try:
            return hub_core.Intake(confluent_kafka.Message, str(library), Record)
        except hub_core.Refused as error:
            why = str(error)
    log.warning("consumed records are built in Python", extra={"reason": why})
    return None


def loaded_librdkafka(maps: Path = Path("/proc/self/maps")) -> Path | None:
    """The file of the librdkafka this process has loaded (confluent-kafka's own copy)."""
    try:
        lines = maps.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(maxsplit=5)  # address perms offset dev inode [path]
        if len(fields) == 6 and "/librdkafka" in fields[5] and ".so" in fields[5]:
            return Path(fields[5].strip())
    return None


def group_metadata_of(bootstrap: str, security: KafkaSecurity, group: str) -> Any:
    """The metadata ``send_offsets_to_transaction`` takes for a group this process is no
    member of (the dead-letter replay's): a consumer that never joins, only names the group."""
    consumer = Consumer({**_client_config(bootstrap, security), "group.id": group})
    try:
        return consumer.consumer_group_metadata()
    finally:
        consumer.close()
