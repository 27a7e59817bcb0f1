"""Event messages as the replay engine writes them (bridge/sinks/headers.py), for the cache and
consume tests: produced in Kafka transactions, with the CloudEvents and bridge headers."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis
from confluent_kafka import Consumer, Producer, TopicPartition

from bridge.sinks import headers as h
from bridge.sinks.materializer import CacheRules, Materializer
from bridge.sinks.redis import CacheStore, connect


@dataclass(frozen=True)
class Ev:
    """One event: its Redis key (None: no bridge_redis_key header) and document."""

    redis_key: str | None
    document: Mapping[str, Any]
    record: int = 0
    sha: str = "0" * 64
    ce_type: str = "acct"
    schema_id: str = "urn:bridge:schema:acct:1:test"
    value: bytes | None = None  # raw value instead of the document's JSON

    def headers(self) -> list[tuple[str, str | bytes | None]]:
        out: list[tuple[str, str | bytes | None]] = [
            (h.CE_SPECVERSION, b"1.0"),
            (h.CE_ID, h.event_id(self.sha, self.record).encode()),
            (h.CE_SOURCE, b"bridge-test"),
            (h.CE_TYPE, self.ce_type.encode()),
            (h.CE_TIME, b"2026-12-02T00:00:00Z"),
            (h.CE_DATASCHEMA, self.schema_id.encode()),
            (h.CONTENT_TYPE, b"application/json"),
            (h.FILE_SHA256, self.sha.encode()),
            (h.RECORD, str(self.record).encode()),
            (h.OFFSET, str(self.record * 100).encode()),
            (h.FINGERPRINT, b"f" * 64),
        ]
        if self.redis_key is not None:
            out.append((h.REDIS_KEY, self.redis_key.encode()))
        return out


def produce(
    bootstrap: str,
    topic: str,
    events: Iterable[Ev],
    *,
    chunk: int = 500,
    abort: bool = False,
    partition_of: Any = None,
) -> None:
    """Publish ``events`` in transactions of ``chunk`` (aborted ones with ``abort``)."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": f"bridge-it-{uuid.uuid4().hex}",
            "linger.ms": 5,
        }
    )
    producer.init_transactions(30)
    pending = 0
    producer.begin_transaction()
    for ev in events:
        value = ev.value if ev.value is not None else json.dumps(ev.document).encode()
        extra = {} if partition_of is None else {"partition": partition_of(ev)}
        producer.produce(
            topic, value=value, key=(ev.redis_key or "").encode(), headers=ev.headers(), **extra
        )
        pending += 1
        if pending >= chunk:
            _end(producer, abort)
            producer.begin_transaction()
            pending = 0
    _end(producer, abort)
    producer.flush(30)


def _end(producer: Producer, abort: bool) -> None:
    if abort:
        producer.flush(30)
        producer.abort_transaction(30)
    else:
        producer.commit_transaction(30)


def committed_ends(bootstrap: str, topic: str) -> dict[tuple[str, int], int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4()}"})
    try:
        meta = consumer.list_topics(topic, timeout=15)
        ends = {}
        for p in meta.topics[topic].partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=15)
            ends[(topic, p)] = high
        return ends
    finally:
        consumer.close()


def held_offsets(client: redis.Redis, namespace: str) -> dict[str, int]:
    raw: dict[bytes, bytes] = client.hgetall(f"{namespace}:offsets")  # type: ignore[assignment]
    return {k.decode(): int(v) for k, v in raw.items()}


def wait_caught_up(
    client: redis.Redis, namespace: str, ends: Mapping[tuple[str, int], int], timeout: float = 60
) -> None:
    """Wait until Redis holds offsets at the committed ends (a materializer reached them)."""
    deadline = time.monotonic() + timeout
    while True:
        held = held_offsets(client, namespace)
        if all(held.get(f"{t}/{p}", -1) >= end for (t, p), end in ends.items()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"cache did not catch up: holds {held}, ends {dict(ends)}")
        time.sleep(0.1)


@dataclass
class Running:
    """A materializer on a thread; ``stop()`` stops it after its batch and returns its stats."""

    materializer: Materializer
    thread: threading.Thread
    halt: threading.Event = field(default_factory=threading.Event)
    failure: BaseException | None = None

    def stop(self) -> Materializer:
        self.halt.set()
        self.thread.join(60)
        assert not self.thread.is_alive()
        if self.failure is not None:
            raise self.failure
        return self.materializer


def start(
    bootstrap: str,
    redis_url: str,
    topics: list[str],
    namespace: str,
    *,
    group: str | None = None,
    rules: Mapping[str, CacheRules] | None = None,
    batch: int = 500,
) -> Running:
    store = CacheStore(connect(redis_url), namespace)
    m = Materializer(
        {"bootstrap.servers": bootstrap, "session.timeout.ms": 6000},
        topics,
        store,
        group=group or f"cache-{uuid.uuid4().hex[:8]}",
        rules=rules,
        batch=batch,
        poll_seconds=0.1,
    )
    halt = threading.Event()
    running = Running(m, threading.Thread(), halt)

    def target() -> None:
        try:
            m.run(halt)
        except BaseException as exc:
            running.failure = exc
            raise

    running.thread = threading.Thread(target=target, daemon=True)
    running.thread.start()
    return running


def states(client: redis.Redis, prefix: str) -> Iterator[tuple[str, dict[str, bytes]]]:
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        fields: dict[bytes, bytes] = client.hgetall(key)  # type: ignore[assignment]
        yield key.decode(), {k.decode(): v for k, v in fields.items()}
