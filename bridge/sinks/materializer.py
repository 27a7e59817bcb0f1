"""The materializer: events topics -> Redis latest state, never regressing, resumable.

A Kafka consumer (``isolation.level=read_committed``, so aborted replays never reach Redis) in a
consumer group: several materializers with the same group share the partitions. It resumes from
the offsets Redis holds (bridge/sinks/redis.py), not from the group's: on every assignment it
seeks each partition to the offset the cache reached, or to the topic start when Redis holds
none (a first run, or a Redis that came back empty: the cache is rebuilt). Offsets are committed
to the group too, but only so that ``kafka-consumer-groups`` shows the group's lag.

Each consumed batch becomes pipelined script calls; a call that finds Redis holding other
offsets than expected changes nothing, and every assigned partition seeks back to what Redis
holds. While Redis is unreachable the batch is retried every few seconds with a message saying
so. ``stop`` (SIGTERM in ``bridge cache``) is looked at between batches.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from bridge.mapping.model import MappingDoc
from bridge.sinks import headers as h
from bridge.sinks.redis import (
    CacheStore,
    Call,
    OffsetsMovedError,
    StateUpdate,
    order_of,
    split_calls,
)

__all__ = ["CacheRules", "Materializer", "MaterializerStats", "catch_up", "rules_for"]

log = logging.getLogger("bridge.cache")

RETRY_SECONDS = 2.0
LAG_EVERY_SECONDS = 5.0


@dataclass(frozen=True)
class CacheRules:
    """What the cache reads from one mapping's events: event property paths."""

    version: tuple[str, ...] | None = None
    deleted: tuple[str, ...] | None = None
    deleted_values: tuple[Any, ...] = ()


def rules_for(mapping: MappingDoc) -> CacheRules:
    def target(source: str | None) -> tuple[str, ...] | None:
        if source is None:
            return None
        spec = mapping.field_spec(source)
        if spec is None:
            raise ValueError(f"mapping {mapping.name}: cache field {source} is not mapped")
        return tuple(spec.target.split("."))

    return CacheRules(
        target(mapping.cache.version),
        target(mapping.cache.deleted),
        mapping.cache.deleted_values,
    )


@dataclass
class MaterializerStats:
    consumed: int = 0  # messages read (each exactly once per position, resyncs aside)
    applied: int = 0  # keys written (upserts and tombstones)
    stale: int = 0  # duplicates, redeliveries and older versions: changed nothing
    without_key: int = 0  # events without bridge_redis_key (their mapping names no Redis key)
    refused: int = 0  # events the cache could not read (no JSON object, bad version)
    resyncs: int = 0  # times Redis held other offsets than expected
    rebuilds: int = 0  # times Redis had lost the cache entirely
    lag_records: int = 0
    lag_seconds: float = 0.0
    last: dict[str, int] = field(default_factory=dict)  # "topic/partition" -> next offset

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _lookup(document: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


@dataclass(frozen=True)
class _Batch:
    calls: list[Call]
    messages: int
    newest: dict[tuple[str, int], float]  # each partition's newest message timestamp


class Materializer:
    """Keep ``store`` at the latest state of every key of ``topics``' events."""

    def __init__(
        self,
        kafka: Mapping[str, Any],
        topics: Sequence[str],
        store: CacheStore,
        *,
        group: str = "bridge-cache",
        rules: Mapping[str, CacheRules] | None = None,
        batch: int = 2000,
        poll_seconds: float = 0.5,
    ) -> None:
        self.topics = list(topics)
        self.store = store
        self.rules = dict(rules or {})
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.stats = MaterializerStats()
        # Offsets Redis holds for the partitions assigned here, as the last call left them.
        self.expected: dict[tuple[str, int], int | None] = {}
        conf = dict(kafka)
        conf.update(
            {
                "group.id": group,
                # Aborted transactions (a replay that crashed) must never reach Redis.
                "isolation.level": "read_committed",
                # Positions come from Redis; the group's offsets are only for monitoring.
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
            }
        )
        self.consumer = Consumer(conf)
        self._last_lag = 0.0
        self._newest_ts: dict[tuple[str, int], float] = {}
        self._by_type: dict[str, CacheRules] = {}
        # Offsets Redis will hold once the batch in flight (sent, replies not read) applied.
        self._sent: dict[tuple[str, int], int | None] = {}
        self._inflight: _Batch | None = None

    # -- assignment ------------------------------------------------------------------------

    def _positions(self, partitions: Sequence[TopicPartition]) -> list[TopicPartition]:
        """``partitions`` at the offsets Redis holds (waiting for Redis while it is down)."""
        while True:
            try:
                if self.store.mark():
                    self.stats.rebuilds += 1
                    log.warning(
                        "Redis holds no cache under %s (first run, or Redis came back empty): "
                        "building it from the start of %s",
                        self.store.namespace,
                        ", ".join(self.topics),
                    )
                out = []
                for topic in {tp.topic for tp in partitions}:
                    mine = [tp.partition for tp in partitions if tp.topic == topic]
                    held = self.store.offsets(topic, mine)
                    for p in mine:
                        at = held[p]
                        self.expected[(topic, p)] = self._sent[(topic, p)] = at
                        out.append(TopicPartition(topic, p, OFFSET_BEGINNING if at is None else at))
                return out
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self._wait(exc)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        placed = self._positions(partitions)
        log.info(
            "assigned %s", ", ".join(f"{tp.topic}/{tp.partition}@{tp.offset}" for tp in placed)
        )
        consumer.assign(placed)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._drain(resync=False)
        for tp in partitions:
            self.expected.pop((tp.topic, tp.partition), None)
            self._sent.pop((tp.topic, tp.partition), None)
        consumer.unassign()

    def _resync(self, why: str) -> None:
        """Seek every assigned partition to the offset Redis holds (nothing in flight)."""
        self.stats.resyncs += 1
        self._inflight = None
        self.store.drop()
        placed = self._positions(self.consumer.assignment())
        for tp in placed:
            if tp.offset == OFFSET_BEGINNING:
                low, _ = self.consumer.get_watermark_offsets(
                    TopicPartition(tp.topic, tp.partition), timeout=10
                )
                tp.offset = low
            try:
                self.consumer.seek(tp)
            except KafkaException:
                self.consumer.assign(placed)  # not fetching yet: place the whole assignment
                break
        log.warning(
            "%s: resumed from the offsets Redis holds: %s",
            why,
            ", ".join(f"{tp.topic}/{tp.partition}@{tp.offset}" for tp in placed) or "none",
        )

    # -- the loop --------------------------------------------------------------------------

    def _update(self, msg: Any) -> StateUpdate | None:
        headers = dict(msg.headers() or ())
        key = headers.get(h.REDIS_KEY)
        if key is None:
            self.stats.without_key += 1
            return None
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        value = msg.value() or b""
        if not self.rules:  # the default: (partition, offset) versions, no deletions
            # A plain tuple in StateUpdate's field order: half the cost of its constructor.
            return (  # type: ignore[return-value]
                key,
                f"0{partition:010d}{offset:020d}",  # order_of(partition, offset), inlined
                f"{partition}:{offset}",
                0,
                value,
                headers.get(h.FILE_SHA256) or b"",
                headers.get(h.RECORD) or b"",
                topic,
                partition,
                offset,
                headers.get(h.CE_ID) or b"",
            )
        rules = self._rules((headers.get(h.CE_TYPE) or b"").decode("utf-8", "replace"))
        business: Any = None
        deleted = False
        if rules.version is not None or rules.deleted is not None:
            try:
                document = json.loads(value)
            except ValueError as exc:
                self.stats.refused += 1
                log.error("%s/%d@%d: not JSON (%s): left out", topic, partition, offset, exc)
                return None
            if rules.version is not None:
                business = _lookup(document, rules.version)
            if rules.deleted is not None:
                deleted = _lookup(document, rules.deleted) in rules.deleted_values
        try:
            order = order_of(partition, offset, business)
        except ValueError as exc:
            self.stats.refused += 1
            log.error("%s/%d@%d: %s: left out", topic, partition, offset, exc)
            return None
        return StateUpdate(
            key,
            order,
            f"{partition}:{offset}" if business is None else str(business),
            int(deleted),
            value,
            headers.get(h.FILE_SHA256) or b"",
            headers.get(h.RECORD) or b"",
            topic,
            partition,
            offset,
            headers.get(h.CE_ID) or b"",
        )

    def _rules(self, ce_type: str) -> CacheRules:
        rules = self._by_type.get(ce_type)
        if rules is None:
            rules = self.rules.get(ce_type)
            # ce_type is the mapping name, then the case of a multi-layout record.
            for name, found in self.rules.items():
                if rules is None and ce_type.startswith(name) and not ce_type[len(name)].isalnum():
                    rules = found
            rules = self._by_type[ce_type] = rules or CacheRules()
        return rules

    def _send(self, messages: list[Any]) -> None:
        """Send a batch's calls, then take the replies of the batch sent before it: Redis
        applies one batch while the next is read from Kafka and packed."""
        items = [(m.topic(), m.partition(), m.offset(), self._update(m)) for m in messages]
        newest = {(m.topic(), m.partition()): m for m in messages}
        batch = _Batch(
            split_calls(items),
            len(messages),
            {tp: m.timestamp()[1] / 1000.0 for tp, m in newest.items()},
        )
        try:
            self.store.send(batch.calls, self._sent)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._redis_down(exc)
            return
        previous, self._inflight = self._inflight, batch
        if previous is not None:
            self._receive(previous)

    def _receive(self, batch: _Batch, resync: bool = True) -> None:
        try:
            applied, stale = self.store.receive(batch.calls, self.expected)
        except Exception as exc:
            self._inflight = None  # its replies are abandoned with the connection
            if not resync:
                self.store.drop()
            elif isinstance(exc, OffsetsMovedError):
                self._resync(f"Redis holds other offsets than expected ({exc})")
            elif isinstance(exc, redis.exceptions.NoScriptError):
                self._resync("Redis lost the upsert script (restarted)")
            elif isinstance(exc, redis.ConnectionError | redis.TimeoutError):
                self._redis_down(exc)
            else:
                raise
            return
        self.stats.consumed += batch.messages
        self.stats.applied += applied
        self.stats.stale += stale
        for call in batch.calls:
            for (topic, partition), nxt in call.reached.items():
                self.stats.last[f"{topic}/{partition}"] = nxt
        self._newest_ts.update(batch.newest)
        self.consumer.commit(asynchronous=True)

    def _drain(self, resync: bool = True) -> None:
        batch, self._inflight = self._inflight, None
        if batch is not None:
            self._receive(batch, resync)

    def _wait(self, exc: Exception) -> None:
        log.warning(
            "Redis unreachable (%s): retrying every %.0f s; events wait in Kafka",
            exc,
            RETRY_SECONDS,
        )
        time.sleep(RETRY_SECONDS)

    def _redis_down(self, exc: Exception) -> None:
        """Wait for Redis, then resume from what it holds (the batches in flight are lost)."""
        self._wait(exc)
        self._resync("Redis answers again")

    def _advance_idle(self) -> None:
        """Record positions past what no message carries (transaction markers at the end of a
        partition), so Redis reaches the committed end and the lag reads zero."""
        self._drain()
        try:
            positions = self.consumer.position(self.consumer.assignment())
        except KafkaException:
            return
        reached = {}
        for tp in positions:
            at = self.expected.get((tp.topic, tp.partition))
            if tp.offset >= 0 and (at is None or tp.offset > at):
                reached[(tp.topic, tp.partition)] = tp.offset
        if not reached or self._inflight is not None:
            return
        self._inflight = _Batch([Call((), reached)], 0, {})
        try:
            self.store.send(self._inflight.calls, self._sent)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._inflight = None
            self._redis_down(exc)
            return
        self._drain()

    def lag(self) -> tuple[int, float]:
        """Records and seconds the cache is behind the committed end of its partitions."""
        records, seconds = 0, 0.0
        for tp in self.consumer.assignment():
            # The high watermark of the last fetch response: no broker round trip.
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if high < 0:
                continue
            at = self.expected.get((tp.topic, tp.partition))
            behind = max(0, high - (at or 0))
            records += behind
            if behind:
                newest = self._newest_ts.get((tp.topic, tp.partition))
                if newest is not None:
                    seconds = max(seconds, time.time() - newest)
        return records, seconds

    def _report_lag(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_lag < LAG_EVERY_SECONDS:
            return
        self._last_lag = now
        try:
            self.stats.lag_records, self.stats.lag_seconds = self.lag()
        except KafkaException as exc:
            log.warning("lag unknown: %s", exc)
            return
        log.info(
            "cache lag: %d records, %.1f s; applied %d, stale %d",
            self.stats.lag_records,
            self.stats.lag_seconds,
            self.stats.applied,
            self.stats.stale,
        )

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        until: Callable[[Materializer], bool] | None = None,
    ) -> MaterializerStats:
        """Materialize until ``stop`` is set (checked between batches) or ``until(self)``."""
        stop = stop or threading.Event()
        self.consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        try:
            while not stop.is_set():
                messages = self.consumer.consume(self.batch, timeout=self.poll_seconds)
                good = []
                for m in messages:
                    err = m.error()
                    if err is None:
                        good.append(m)
                    elif err.code() != KafkaError._PARTITION_EOF:
                        log.warning("Kafka: %s", err)
                if good:
                    self._send(good)
                elif not messages:
                    self._advance_idle()
                self._report_lag()
                if until is not None and until(self):
                    break
            self._drain()
        finally:
            self._report_lag(force=True)
            self.consumer.close()
            self.store.drop()
        return self.stats

    def caught_up(self, ends: Mapping[tuple[str, int], int]) -> bool:
        """True once Redis holds offsets at or past ``ends`` (committed ends to reach)."""
        return all((self.expected.get(tp) or 0) >= end for tp, end in ends.items())


def catch_up(
    materializer: Materializer,
    targets: Mapping[tuple[str, int], int],
    *,
    timeout: float | None = None,
    stop: threading.Event | None = None,
) -> bool:
    """Run ``materializer`` until Redis holds, per (topic, partition), at least the next offset
    in ``targets`` (whoever in the group applied it); False when ``timeout`` ran out first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    by_topic: dict[str, list[int]] = {}
    for topic, partition in targets:
        by_topic.setdefault(topic, []).append(partition)
    reached = False

    def done(m: Materializer) -> bool:
        nonlocal reached
        try:
            for topic, partitions in by_topic.items():
                held = m.store.offsets(topic, partitions)
                if any((held[p] or 0) < targets[(topic, p)] for p in partitions):
                    return deadline is not None and time.monotonic() > deadline
        except (redis.ConnectionError, redis.TimeoutError):
            return deadline is not None and time.monotonic() > deadline
        reached = True
        return True

    materializer.run(stop, until=done)
    return reached
