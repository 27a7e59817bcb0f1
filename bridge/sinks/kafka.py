"""Kafka I/O of a replay: the transactional publisher, topic checks, and committed reads.

Everything here waits for an unreachable broker (a message every ``retry_interval`` seconds)
until the caller's deadline, then raises :class:`KafkaUnavailableError`; errors Kafka calls fatal
(fenced by a newer run, not authorized) raise :class:`KafkaFatalError` at once.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

# confluent_kafka.admin re-exports NewTopic without declaring it, which mypy --strict rejects.
from confluent_kafka.cimpl import NewTopic

from bridge.config import KafkaConfig, TopicNames, TopicsConfig
from bridge.errors import BridgeError

__all__ = [
    "PRODUCER_SETTINGS",
    "Headers",
    "KafkaFatalError",
    "KafkaUnavailableError",
    "Patience",
    "Publisher",
    "StoredMessage",
    "ensure_topics",
    "read_topic",
]

T = TypeVar("T")
Headers = list[tuple[str, str | bytes | None]]

# Producer settings a replay always uses; the [kafka] table may tune linger/batch/compression.
PRODUCER_SETTINGS: dict[str, Any] = {
    # No duplicates when a request is retried after a lost response (implied by transactions;
    # stated so nobody turns it off thinking it is safe).
    "enable.idempotence": True,
    # A write counts once every in-sync replica has it: a broker failover loses nothing.
    "acks": "all",
    # Wait a few ms to fill batches: far fewer requests for the same records.
    "linger.ms": 20,
    # Large batches (1 MB) carry a chunk in few requests; a batch never exceeds a chunk much.
    "batch.size": 1_000_000,
    # Events are repetitive JSON: lz4 shrinks them 3-5x for little CPU on both ends.
    "compression.type": "lz4",
    # Room for a whole chunk in the local queue, so produce() rarely waits.
    "queue.buffering.max.messages": 200_000,
    # The broker aborts a dead run's open transaction after this (a new run aborts it at once).
    "transaction.timeout.ms": 120_000,
    # A delivery may wait out a broker restart; it must end inside the transaction's lifetime.
    "message.timeout.ms": 110_000,
    # Errors only: "coordinator load in progress" and "connection refused" are retried here,
    # and reported by Patience with a clear message instead.
    "log_level": 3,
}

# What [kafka] may not turn off: exactly once depends on them.
_SAFETY = {"enable.idempotence": True, "acks": "all"}

_FATAL_CODES = {
    KafkaError._FENCED,
    KafkaError.PRODUCER_FENCED,
    KafkaError.INVALID_PRODUCER_EPOCH,
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError._AUTHENTICATION,
}


class KafkaUnavailableError(BridgeError):
    """Kafka did not answer within the deadline; nothing half-committed is left behind."""


class KafkaFatalError(BridgeError):
    """Kafka refused for good: fenced by a newer run of the same file, or not authorized."""


def kafka_error(exc: KafkaException) -> KafkaError | None:
    err = exc.args[0] if exc.args else None
    return err if isinstance(err, KafkaError) else None


def is_fatal(exc: KafkaException) -> bool:
    err = kafka_error(exc)
    return err is not None and (err.fatal() or err.code() in _FATAL_CODES)


@dataclass
class Patience:
    """How long to wait for Kafka, and who hears about the waiting."""

    bootstrap: str
    timeout: float | None = None  # seconds without progress before giving up; None: forever
    retry_interval: float = 5.0
    say: Callable[[str], None] = lambda message: None
    _deadline: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.progressed()

    def progressed(self) -> None:
        """Something went through: the clock starts again."""
        self._deadline = None if self.timeout is None else time.monotonic() + self.timeout

    def slice(self) -> float:
        """Seconds the next blocking call may take."""
        if self._deadline is None:
            return self.retry_interval
        return max(0.1, min(self.retry_interval, self._deadline - time.monotonic()))

    def expired(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def waited(self, what: str, problem: object) -> None:
        """A call failed for a passing reason: say so, or give up when the time is over."""
        if self.expired():
            raise KafkaUnavailableError(
                f"Kafka at {self.bootstrap} did not answer within {self.timeout:g} s "
                f"({what}: {problem}); nothing of the unfinished chunk was committed"
            )
        self.say(f"waiting for Kafka at {self.bootstrap} ({what}: {problem}); retrying")

    def attempt(self, what: str, call: Callable[[float], T]) -> T:
        """``call(seconds)`` until it succeeds; fatal errors raise at once."""
        while True:
            started = time.monotonic()
            try:
                result = call(self.slice())
            except KafkaException as exc:
                if is_fatal(exc):
                    raise KafkaFatalError(f"{what}: {kafka_error(exc) or exc}") from exc
                self.waited(what, kafka_error(exc) or exc)
                # A call that failed at once (connection refused) would spin: pace it.
                time.sleep(max(0.0, min(1.0, self.slice()) - (time.monotonic() - started)))
                continue
            self.progressed()
            return result


def ensure_topics(
    properties: Mapping[str, str], names: TopicNames, config: TopicsConfig, patience: Patience
) -> dict[str, int]:
    """Create the missing topics (when allowed); return each topic's partition count.

    The progress and schemas topics are compacted (the last record per key is the state); the
    audit topic keeps its records forever (retention.ms=-1) unless an operator says otherwise.
    """
    admin = AdminClient({**properties, "log_level": 3})
    metadata = patience.attempt("listing topics", lambda t: admin.list_topics(timeout=t))
    wanted: dict[str, tuple[int, dict[str, str]]] = {
        names.events: (config.partitions, {}),
        names.audit: (config.partitions, {"retention.ms": "-1", "retention.bytes": "-1"}),
        names.control: (1, {"retention.ms": "-1", "retention.bytes": "-1"}),
        names.progress: (1, {"cleanup.policy": "compact"}),
        names.schemas: (1, {"cleanup.policy": "compact"}),
    }
    missing = [name for name in wanted if name not in metadata.topics]
    if missing and not config.create:
        raise KafkaFatalError(
            f"topic {missing[0]} does not exist and [topics] create = false "
            f"(missing: {', '.join(missing)})"
        )
    partition_counts = {
        name: len(metadata.topics[name].partitions) for name in wanted if name not in missing
    }
    for name in missing:
        partitions, settings = wanted[name]
        topic = NewTopic(
            name, num_partitions=partitions, replication_factor=config.replication, config=settings
        )

        def create(seconds: float, topic: NewTopic = topic, name: str = name) -> None:
            future = admin.create_topics([topic], request_timeout=seconds)[name]
            try:
                future.result(timeout=seconds + 1)
            except KafkaException as exc:
                err = kafka_error(exc)
                if err is None or err.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise

        patience.attempt(f"creating topic {name}", create)
        partition_counts[name] = partitions
    return partition_counts


@dataclass(frozen=True)
class StoredMessage:
    """A committed message as read back."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Mapping[str, bytes]

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else value.decode("utf-8", "replace")


def read_topic(
    properties: Mapping[str, str],
    topic: str,
    patience: Patience,
    *,
    keep: Callable[[bytes | None], bool] = lambda key: True,
) -> Iterator[StoredMessage]:
    """Every committed message of ``topic`` (read_committed), partition by partition.

    Reads to the high watermark taken at the start: a read_committed consumer stops at the
    last stable offset, so this waits for transactions still open below it (another run's) to
    end, which is what makes "the last committed progress" exact.
    """
    consumer = Consumer(
        {
            **properties,
            "group.id": f"bridge-read-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 50,
            "log_level": 3,
        }
    )
    try:
        metadata = patience.attempt(
            f"reading {topic}", lambda t: consumer.list_topics(topic, timeout=t)
        )
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            raise KafkaFatalError(f"topic {topic} does not exist")
        for partition in sorted(described.partitions):
            yield from _read_partition(consumer, topic, partition, patience, keep)
    finally:
        consumer.close()


def _read_partition(
    consumer: Consumer,
    topic: str,
    partition: int,
    patience: Patience,
    keep: Callable[[bytes | None], bool],
) -> Iterator[StoredMessage]:
    tp = TopicPartition(topic, partition)
    low, high = patience.attempt(
        f"reading {topic}", lambda t: consumer.get_watermark_offsets(tp, timeout=t, cached=False)
    )
    if high <= low:
        return
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
    quiet_since = time.monotonic()
    try:
        while True:
            position = consumer.position([tp])[0].offset
            if position >= high:
                return
            msg: Message | None = consumer.poll(0.2)
            if msg is None:
                # Stuck below the end: a transaction still open there (another run's) holds
                # the last stable offset back until it commits, aborts or times out.
                if patience.expired() or time.monotonic() - quiet_since > patience.retry_interval:
                    problem = f"open transactions below offset {high}, at {position}"
                    patience.waited(f"reading {topic} [{partition}]", problem)
                    quiet_since = time.monotonic()
                continue
            quiet_since = time.monotonic()
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                patience.waited(f"reading {topic}", err)
                continue
            patience.progressed()
            key = msg.key()
            if not keep(key):
                continue
            raw = msg.headers() or []
            pairs = raw.items() if isinstance(raw, dict) else raw
            headers = {name: _bytes(value) for name, value in pairs}
            yield StoredMessage(topic, partition, msg.offset() or 0, key, msg.value(), headers)
            if (msg.offset() or 0) + 1 >= high:
                return
    finally:
        consumer.unassign()


@dataclass
class Delivered:
    """The open transaction: messages produced per topic, and first/last offset per partition
    from the delivery reports asked for. Once the transaction commits, every message produced
    in it was delivered (a failed one makes the commit fail), so the counts are exact."""

    counts: dict[str, int] = field(default_factory=dict)
    offsets: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def sent(self, topic: str, n: int = 1) -> None:
        self.counts[topic] = self.counts.get(topic, 0) + n

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        # Only records: the publisher decides after flush.
        if err is not None:
            self.failures.append(f"{msg.topic()}: {err}")
            return
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        first, last = self.offsets.get((topic, partition), (offset, offset))
        self.offsets[(topic, partition)] = (min(first, offset), max(last, offset))


class ChunkAborted(Exception):  # noqa: N818  (control flow: the chunk is published again)
    pass


class Publisher:
    """A transactional producer: each chunk commits whole or not at all, retried until the
    deadline; a newer run with the same transactional.id fences this one (KafkaFatalError)."""

    def __init__(self, kafka: KafkaConfig, transactional_id: str, patience: Patience) -> None:
        self.patience = patience
        self.fatal: KafkaError | None = None  # set by the client's error callback
        self.producer = Producer(
            {
                **PRODUCER_SETTINGS,
                **kafka.properties,
                **_SAFETY,
                "transactional.id": transactional_id,
                "error_cb": self._error,
            }
        )
        self.delivered = Delivered()

    def start(self) -> None:
        """Fence older runs of this id and abort what they left open."""
        self.patience.attempt("initialising transactions", self.producer.init_transactions)

    def produce(self, topic: str, value: bytes, key: bytes | None, headers: Headers) -> None:
        while True:
            try:
                self.producer.produce(
                    topic, value, key, headers=headers, on_delivery=self.delivered
                )
                break
            except BufferError:  # local queue full: serve delivery reports, never drop
                self.producer.poll(0.1)
        self.delivered.sent(topic)
        self.producer.poll(0)

    def transaction(self, fill: Callable[[Publisher], None]) -> Delivered:
        """Run ``fill`` in a transaction and commit it; on an abortable error, abort and run it
        again. Returns the delivery reports of the committed transaction."""
        while True:
            self.delivered = Delivered()
            try:
                self.producer.begin_transaction()
                fill(self)
                self._commit()
                self.patience.progressed()
                return self.delivered
            except ChunkAborted:
                self._abort()
            except KeyboardInterrupt:
                # Interrupted: abort now rather than leave it to the next run's fencing.
                with contextlib.suppress(KafkaException):
                    self.producer.abort_transaction(5.0)
                raise
            except SystemError as exc:
                # confluent-kafka 2.16 raises a malformed SystemError from flush() when the
                # producer turns fatal (fenced) meanwhile: the abort then says what it is.
                if self.fatal is not None:
                    raise KafkaFatalError(str(self.fatal)) from exc
                self.patience.waited("delivering", exc)
                self._abort()
            except KafkaException as exc:
                if is_fatal(exc):
                    raise KafkaFatalError(str(kafka_error(exc) or exc)) from exc
                err = kafka_error(exc)
                if err is None or not (err.txn_requires_abort() or err.retriable()):
                    raise KafkaFatalError(str(err or exc)) from exc
                self.patience.waited("transaction aborted", err)
                self._abort()

    def _error(self, err: KafkaError) -> None:
        # Only records: transient errors come back from the calls and are retried there.
        if err.fatal() or err.code() in _FATAL_CODES:
            self.fatal = err

    def flush(self) -> None:
        """Wait for every delivery of the open transaction (a chunk's records before its
        progress record, so the progress holds their offsets)."""
        while self.producer.flush(self.patience.slice()):
            self.patience.waited("delivering", f"{len(self.producer)} messages queued")
        if self.delivered.failures:
            self.patience.waited("delivering", self.delivered.failures[0])
            raise ChunkAborted

    def _commit(self) -> None:
        while True:
            try:
                self.producer.commit_transaction(self.patience.slice())
                return
            except KafkaException as exc:
                err = kafka_error(exc)
                if err is not None and err.retriable() and not err.txn_requires_abort():
                    self.patience.waited("committing", err)
                    continue
                raise

    def _abort(self) -> None:
        while True:
            try:
                self.producer.abort_transaction(self.patience.slice())
                return
            except KafkaException as exc:
                if is_fatal(exc):
                    raise KafkaFatalError(str(kafka_error(exc) or exc)) from exc
                self.patience.waited("aborting", kafka_error(exc) or exc)

    def close(self) -> None:
        # Nothing of an open transaction needs delivering (it is aborted or left to the next
        # run's fencing); a fenced producer may even fail here, which must not hide why.
        with contextlib.suppress(KafkaException, SystemError):
            self.producer.flush(1.0)


def merge_offsets(
    into: dict[str, Any], more: Mapping[tuple[str, int], tuple[int, int]]
) -> dict[str, Any]:
    """``into`` (JSON offsets) widened by ``more``."""
    for (topic, partition), (first, last) in more.items():
        per = into.setdefault(topic, {})
        old: Sequence[int] | None = per.get(str(partition))
        per[str(partition)] = (
            [first, last] if old is None else [min(old[0], first), max(old[1], last)]
        )
    return into


def _bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else value
