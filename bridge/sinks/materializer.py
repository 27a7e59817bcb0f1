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

__all__ = ["CacheRules", "Materializer", "MaterializerStats", "rules_for"]

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


def _header(headers: Sequence[tuple[str, bytes | None]] | None, name: str) -> str | None:
    for key, value in headers or ():
        if key == name and value is not None:
            return value.decode("utf-8", "replace")
    return None


def _lookup(document: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


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
                        self.expected[(topic, p)] = at
                        out.append(TopicPartition(topic, p, OFFSET_BEGINNING if at is None else at))
                return out
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self._redis_down(exc)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        placed = self._positions(partitions)
        log.info(
            "assigned %s", ", ".join(f"{tp.topic}/{tp.partition}@{tp.offset}" for tp in placed)
        )
        consumer.assign(placed)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.expected.pop((tp.topic, tp.partition), None)
        consumer.unassign()

    def _resync(self) -> None:
        self.stats.resyncs += 1
        assigned = self.consumer.assignment()
        placed = self._positions(assigned)
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
            "Redis holds other offsets than this materializer wrote (restarted, failed over or "
            "moved on by another group member): resumed from %s",
            ", ".join(f"{tp.topic}/{tp.partition}@{tp.offset}" for tp in placed),
        )

    def _redis_down(self, exc: Exception) -> None:
        log.warning(
            "Redis unreachable (%s): retrying in %.0f s; events wait in Kafka", exc, RETRY_SECONDS
        )
        time.sleep(RETRY_SECONDS)

    # -- the loop --------------------------------------------------------------------------

    def _update(self, msg: Any) -> StateUpdate | None:
        key = _header(msg.headers(), h.REDIS_KEY)
        if key is None:
            self.stats.without_key += 1
            return None
        value = msg.value() or b""
        ce_type = _header(msg.headers(), h.CE_TYPE) or ""
        rules = self._rules(ce_type)
        business: Any = None
        deleted = False
        if rules.version is not None or rules.deleted is not None:
            try:
                document = json.loads(value)
                if rules.version is not None:
                    business = _lookup(document, rules.version)
                if rules.deleted is not None:
                    deleted = _lookup(document, rules.deleted) in rules.deleted_values
            except ValueError as exc:
                self.stats.refused += 1
                log.error(
                    "%s/%d@%d: not a JSON event (%s): left out of the cache",
                    msg.topic(),
                    msg.partition(),
                    msg.offset(),
                    exc,
                )
                return None
        try:
            order = order_of(msg.partition(), msg.offset(), business)
        except ValueError as exc:
            self.stats.refused += 1
            log.error("%s/%d@%d: %s", msg.topic(), msg.partition(), msg.offset(), exc)
            return None
        return StateUpdate(
            key=key.encode(),
            order=order,
            version=str(business) if business is not None else f"{msg.partition()}:{msg.offset()}",
            deleted=deleted,
            event=value,
            file_sha256=_header(msg.headers(), h.FILE_SHA256) or "",
            record=_header(msg.headers(), h.RECORD) or "",
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
            ce_id=_header(msg.headers(), h.CE_ID) or "",
        )

    def _rules(self, ce_type: str) -> CacheRules:
        rules = self.rules.get(ce_type)
        if rules is not None:
            return rules
        # ce_type is the mapping name, then the case of a multi-layout record.
        for name, found in self.rules.items():
            if ce_type.startswith(name) and not ce_type[len(name)].isalnum():
                return found
        return CacheRules()

    def _apply(self, messages: list[Any]) -> None:
        items = [(m.topic(), m.partition(), m.offset(), self._update(m)) for m in messages]
        calls = split_calls(items)
        while True:
            try:
                applied, stale = self.store.apply(calls, self.expected)
                break
            except OffsetsMovedError:
                self._resync()
                return
            except redis.exceptions.NoScriptError:
                continue  # Redis restarted: the script is loaded again on the retry
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self._redis_down(exc)
        self.stats.consumed += len(messages)
        self.stats.applied += applied
        self.stats.stale += stale
        for m in messages:
            self.stats.last[f"{m.topic()}/{m.partition()}"] = m.offset() + 1
            _, ts = m.timestamp()
            self._newest_ts[(m.topic(), m.partition())] = ts / 1000.0
        self.consumer.commit(asynchronous=True)

    def _advance_idle(self) -> None:
        """Record positions past what no message carries (transaction markers at the end of a
        partition), so Redis reaches the committed end and the lag reads zero."""
        try:
            positions = self.consumer.position(self.consumer.assignment())
        except KafkaException:
            return
        reached = {}
        for tp in positions:
            at = self.expected.get((tp.topic, tp.partition))
            if tp.offset >= 0 and (at is None or tp.offset > at):
                reached[(tp.topic, tp.partition)] = tp.offset
        if not reached:
            return
        try:
            self.store.apply([Call((), reached)], self.expected)
        except OffsetsMovedError:
            self._resync()
        except (redis.ConnectionError, redis.TimeoutError, redis.exceptions.NoScriptError):
            pass  # the next batch retries with a message

    def lag(self) -> tuple[int, float]:
        """Records and seconds the cache is behind the committed end of its partitions."""
        records, seconds = 0, 0.0
        for tp in self.consumer.assignment():
            _, high = self.consumer.get_watermark_offsets(tp, timeout=10, cached=False)
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
                    self._apply(good)
                elif not messages:
                    self._advance_idle()
                self._report_lag()
                if until is not None and until(self):
                    break
        finally:
            self._report_lag(force=True)
            self.consumer.close()
        return self.stats

    def caught_up(self, ends: Mapping[tuple[str, int], int]) -> bool:
        """True once Redis holds offsets at or past ``ends`` (committed ends to reach)."""
        return all((self.expected.get(tp) or 0) >= end for tp, end in ends.items())
