#!/usr/bin/env python3
"""`make demo`: the main job, end to end, on the bundled sample (copybooks/samples/).

copybook -> native decode -> mapping + validation -> ONE Kafka transaction (events and audit
entries) -> latest state per key in Redis -> read back (read_committed) -> reconciliation.
A smoke run of what becomes `bridge replay`; it talks to the real services of
`scripts/services up`, found through BRIDGE_KAFKA_BOOTSTRAP / BRIDGE_REDIS_URL.

Re-runnable: it starts from empty demo topics and an empty demo key space (see reset_outputs),
so every count it prints is exact for this run.

Exit codes (bridge/exitcodes.py): 0 reconciled, 3 mapping or copybook invalid, 4 sample
missing, 5 sample cannot be framed, 6 Kafka or Redis unreachable or failing, 7 reconciliation
failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
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

from bridge.errors import BridgeError, CopybookNotFoundError
from bridge.exitcodes import (
    RET_CONNECT,
    RET_COPYBOOK_INVALID,
    RET_NOT_FOUND,
    RET_OK,
    RET_UNRECONCILED,
)
from bridge.mapping.audit import audit_json
from bridge.mapping.model import MappingNotFoundError, load_mapping
from bridge.mapping.program import Program, load_program
from bridge.stage.audits import audit_context
from bridge.stage.records import Event, judge_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
EVENTS_TOPIC = "bridge.demo.acctmast.events"
AUDIT_TOPIC = "bridge.demo.acctmast.audit"
EVENTS_PARTITIONS = 3  # keyed: one account's events stay in order on one partition
REDIS_PREFIX = "bridge:demo:acctmast:"  # stands in for the mapping's redis_prefix
TRANSACTIONAL_ID = "bridge-demo-acctmast"
# Not a secret: it only lets the demo run where BRIDGE_PII_KEY is unset (the mapping hashes
# national ids). Real runs read the key the mapping names and never fall back to this one.
DEMO_PII_KEY = "bridge-demo-only-pii-key-not-a-secret-0000"
HINT = "run scripts/services up"
TIMEOUT_S = 30.0


Headers = list[tuple[str, str | bytes | None]]


class DemoError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Outgoing:
    key: bytes
    value: bytes
    headers: Headers


@dataclass
class Judged:
    """Every record of the sample, sorted into events and audit entries."""

    records: int = 0
    events: list[Outgoing] = field(default_factory=list)
    audits: list[Outgoing] = field(default_factory=list)
    states: dict[str, dict[str, str]] = field(default_factory=dict)  # Redis key -> hash
    reasons: Counter[str] = field(default_factory=Counter)
    redis_keys: dict[int, str] = field(default_factory=dict)  # record number -> Redis key


@dataclass(frozen=True)
class Services:
    bootstrap: str
    redis_url: str


# --- 1. decode, map, validate -----------------------------------------------------------


def load(mapping_path: Path) -> Program:
    environ = dict(os.environ)
    try:
        mapping = load_mapping(mapping_path)
        env = mapping.pii_key.env if mapping.pii_key is not None else None
        if env and not environ.get(env):
            print(f"note: {env} is not set; hashing with the demo's built-in key")
            environ[env] = DEMO_PII_KEY
        runtime = load_program(mapping_path, environ=environ)
    except (FileNotFoundError, MappingNotFoundError, CopybookNotFoundError) as exc:
        raise DemoError(RET_NOT_FOUND, str(exc)) from exc
    except BridgeError as exc:
        raise DemoError(RET_COPYBOOK_INVALID, f"{mapping_path}: {exc}") from exc
    if runtime.mapping.discriminator is not None:
        raise DemoError(RET_COPYBOOK_INVALID, "the demo runs single-layout mappings only")
    return runtime


def judge(sample: Path, runtime: Program) -> Judged:
    """Every record through the record stage (bridge/stage/): each becomes exactly one
    event or one audit entry; the read-back in main checks that Kafka agrees."""
    if not sample.is_file():
        raise DemoError(RET_NOT_FOUND, f"{sample}: no such file (scripts/make_sample.py makes it)")
    mapping = runtime.mapping
    context = audit_context(runtime, sample)
    judged = Judged()
    for outcome in judge_file(runtime, sample, context):
        judged.records += 1
        meta = {
            "bridge.layout.fingerprint": context.fingerprint,
            "bridge.record": str(outcome.record),
            "bridge.offset": str(outcome.offset),
            "bridge.source.sha256": context.source_sha256,
            "bridge.mapping": f"{mapping.name}:{mapping.version}",
        }
        if isinstance(outcome, Event):
            judged.events.append(_event(outcome, meta))
            key = outcome.redis_key or str(outcome.record)
            key = REDIS_PREFIX + key.removeprefix(mapping.keys.redis_prefix)
            # A later record of the same key replaces the earlier state.
            judged.states[key] = {"event": judged.events[-1].value.decode(), **meta}
            judged.redis_keys[outcome.record] = key
            continue
        judged.reasons.update(
            f"{outcome.stage}:{reason['rule']}" for reason in outcome.audit["reasons"]
        )
        # Keyed by the rejection's identity (file and record): replays deduplicate.
        key_text = f"{context.source_sha256}:{outcome.record}"
        judged.audits.append(
            Outgoing(
                key_text.encode(),
                audit_json(outcome.audit).encode(),
                _headers({**meta, "bridge.stage": outcome.stage}),
            )
        )
    return judged


def _event(event: Event, meta: dict[str, str]) -> Outgoing:
    key = event.kafka_key or ""
    return Outgoing(key.encode(), event.document, _headers(meta))


def _headers(meta: dict[str, str]) -> Headers:
    return [(name, value.encode()) for name, value in meta.items()]


# --- 2. services ------------------------------------------------------------------------


def check_services(services: Services) -> AdminClient:
    """Fail fast with the hint, where librdkafka would retry quietly until its own timeout."""
    host, _, port = services.bootstrap.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3.0).close()
        admin = AdminClient({"bootstrap.servers": services.bootstrap})
        admin.list_topics(timeout=10)
    except (OSError, ValueError, KafkaException) as exc:
        raise DemoError(
            RET_CONNECT, f"Kafka is not reachable at {services.bootstrap} ({exc}): {HINT}"
        ) from exc
    try:
        with _redis(services) as client:
            client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise DemoError(
            RET_CONNECT, f"Redis does not answer at {services.redis_url} ({exc}): {HINT}"
        ) from exc
    return admin


def _redis(services: Services) -> redis.Redis:
    return redis.Redis.from_url(services.redis_url, socket_timeout=10, socket_connect_timeout=3)


def reset_outputs(admin: AdminClient, services: Services) -> None:
    """Empty demo topics and no demo keys in Redis.

    Why delete and recreate rather than a fresh transactional.id (or topic) per run: the demo
    reads its topics back from the beginning and reports exact counts, which only holds if the
    topics contain this run alone; a per-run id would also pile up topics and never fence a
    crashed run. The transactional.id stays fixed instead, so init_transactions (before this
    reset) aborts whatever an interrupted earlier run left open.
    """
    topics = [EVENTS_TOPIC, AUDIT_TOPIC]
    existing = [t for t in topics if t in admin.list_topics(timeout=10).topics]
    if existing:
        for future in admin.delete_topics(existing, operation_timeout=30).values():
            future.result(timeout=30)
    deadline = time.monotonic() + TIMEOUT_S
    pending = {EVENTS_TOPIC: EVENTS_PARTITIONS, AUDIT_TOPIC: 1}
    while pending:
        new = [NewTopic(t, num_partitions=n, replication_factor=1) for t, n in pending.items()]
        for name, future in admin.create_topics(new, operation_timeout=30).items():
            try:
                future.result(timeout=30)
                del pending[name]
            except KafkaException as exc:
                # A deleted topic lingers briefly ("marked for deletion"): try again.
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
                if time.monotonic() > deadline:
                    raise DemoError(RET_CONNECT, f"topic {name} is still being deleted") from exc
        if pending:
            time.sleep(0.2)
    with _redis(services) as client:
        stale = list(client.scan_iter(match=REDIS_PREFIX + "*", count=1000))
        for i in range(0, len(stale), 500):
            client.delete(*stale[i : i + 500])


# --- 3. one Kafka transaction -------------------------------------------------------------


def transactional_producer(services: Services) -> Producer:
    producer = Producer(
        {
            "bootstrap.servers": services.bootstrap,
            # Stable across runs: a new run fences a crashed one and aborts its open transaction.
            "transactional.id": TRANSACTIONAL_ID,
            # Implied by transactional.id; stated so nobody turns them off thinking it is safe:
            # no duplicates on retry, and a write counts only once every in-sync replica has it.
            "enable.idempotence": True,
            "acks": "all",
            # The broker aborts the transaction if the demo dies in the middle of it.
            "transaction.timeout.ms": 60_000,
            # Deliveries must finish (or fail) inside the transaction's lifetime.
            "message.timeout.ms": 55_000,
            # A few ms of batching: 1,000 records go in a handful of requests.
            "linger.ms": 5,
            # Errors only: right after `services up` the transaction coordinator logs "load in
            # progress" warnings while init_transactions retries; real failures raise anyway.
            "log_level": 3,
        }
    )
    producer.init_transactions(TIMEOUT_S)
    return producer


def produce_all(producer: Producer, judged: Judged) -> None:
    """Events and audit entries in ONE transaction: all visible together, or none."""
    failures: list[str] = []

    def delivered(err: KafkaError | None, msg: Message) -> None:
        if err is not None:  # only record: the decision is made after flush
            failures.append(f"{msg.topic()}: {err}")

    producer.begin_transaction()
    try:
        for topic, messages in ((EVENTS_TOPIC, judged.events), (AUDIT_TOPIC, judged.audits)):
            for m in messages:
                while True:
                    try:
                        producer.produce(
                            topic, m.value, m.key, headers=m.headers, on_delivery=delivered
                        )
                        break
                    except BufferError:  # local queue full: serve callbacks, never drop
                        producer.poll(0.1)
                producer.poll(0)
        left = producer.flush(TIMEOUT_S)
        if left or failures:
            raise DemoError(
                RET_CONNECT,
                f"{left} messages still queued, {len(failures)} failed"
                + (f" (first: {failures[0]})" if failures else ""),
            )
        producer.commit_transaction(TIMEOUT_S)
    except (DemoError, KafkaException) as exc:
        # If even the abort fails, the broker's transaction timeout aborts it.
        with contextlib.suppress(KafkaException):
            producer.abort_transaction(TIMEOUT_S)
        if isinstance(exc, DemoError):
            raise
        raise DemoError(RET_CONNECT, f"Kafka transaction failed: {exc}") from exc


# --- 4. Redis, 5. read back ----------------------------------------------------------------


def write_states(services: Services, judged: Judged) -> int:
    """The latest state of each key, written after the Kafka commit (Kafka is the record)."""
    with _redis(services) as client:
        pipe = client.pipeline(transaction=True)
        for key, state in judged.states.items():
            pipe.hset(key, mapping=state)
        pipe.execute()
        return sum(1 for _ in client.scan_iter(match=REDIS_PREFIX + "*", count=1000))


def read_committed(services: Services, topic: str, expected: int) -> list[Message]:
    """Every committed message of ``topic``, read until ``expected`` and end of every partition.

    End of partition alone is not enough: right after commit_transaction returns, the commit
    markers may not be written yet and a read_committed consumer briefly sees nothing. Going on
    to end-of-partition after ``expected`` is what lets extra messages show up in the counts.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": services.bootstrap,
            "group.id": f"bridge-demo-readback-{os.getpid()}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            # The broker otherwise holds an empty fetch 500 ms before saying end-of-partition.
            "fetch.wait.max.ms": 50,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        partitions = sorted(metadata.partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        at_end: set[int] = set()
        out: list[Message] = []
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            if len(out) >= expected and len(at_end) == len(partitions):
                break
            msg = consumer.poll(0.1)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition() or 0)
                    continue
                raise DemoError(RET_CONNECT, f"reading {topic}: {err}")
            at_end.discard(msg.partition() or 0)
            out.append(msg)
        return out
    finally:
        consumer.close()


# --- report --------------------------------------------------------------------------------


def _pretty(msg: Message, shorten: Callable[[Any], Any] = lambda d: d) -> str:
    value = json.loads(msg.value() or b"null")
    headers = _read_headers(msg)
    shown = {
        "topic": msg.topic(),
        "partition": msg.partition(),
        "offset": msg.offset(),
        "key": (msg.key() or b"").decode(),
        "headers": headers,
        "value": shorten(value),
    }
    return json.dumps(shown, indent=2, ensure_ascii=False)


def _read_headers(msg: Message) -> dict[str, str | None]:
    found = msg.headers() or []
    pairs = found.items() if isinstance(found, dict) else found
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in pairs}


def _header(msg: Message, name: str) -> str | None:
    return _read_headers(msg).get(name)


def _short_raw(audit: Any) -> Any:
    record = audit.get("record", {}) if isinstance(audit, dict) else {}
    raw = record.get("raw_base64")
    if isinstance(raw, str) and len(raw) > 48:
        record["raw_base64"] = f"{raw[:48]}... ({len(raw)} chars, shortened here)"
    return audit


def _lines(title: str, rows: list[str]) -> str:
    return "\n".join([title, *(f"  {r}" for r in rows)])


def run(sample: Path, mapping_path: Path, services: Services) -> int:
    started = last = time.monotonic()
    laps: list[str] = []

    def lap(name: str) -> None:
        nonlocal last
        now = time.monotonic()
        laps.append(f"{name} {now - last:.2f}")
        last = now

    admin = check_services(services)
    runtime = load(mapping_path)
    mapping, layout = runtime.mapping, runtime.layout()
    lap("setup")
    judged = judge(sample, runtime)
    lap("decode+validate")
    try:
        producer = transactional_producer(services)
    except KafkaException as exc:
        raise DemoError(RET_CONNECT, f"Kafka transactions unavailable ({exc}): {HINT}") from exc
    lap("init_transactions")
    reset_outputs(admin, services)
    lap("reset")
    produce_all(producer, judged)
    lap("transaction")
    redis_keys = write_states(services, judged)
    lap("redis")
    events = read_committed(services, EVENTS_TOPIC, len(judged.events))
    audits = read_committed(services, AUDIT_TOPIC, len(judged.audits))
    lap("read back")
    elapsed = time.monotonic() - started

    records_in, out, audit = judged.records, len(events), len(audits)
    reconciled = records_in == out + audit and records_in > 0
    keys_ok = redis_keys == len(judged.states)
    redis_host = urlsplit(services.redis_url)
    redis_cli = f"redis-cli -h {redis_host.hostname or '127.0.0.1'} -p {redis_host.port or 6379}"
    shown = _header(events[0], "bridge.record") if events else None
    sample_key = judged.redis_keys.get(int(shown or -1), REDIS_PREFIX + "*")
    where = sample.relative_to(ROOT) if sample.is_relative_to(ROOT) else sample
    print(
        "\n".join(
            [
                f"bridge demo: {where} with {mapping_path.name} ({mapping.name} {mapping.version}),"
                f" layout {layout.name} {layout.fingerprint[:12]}",
                "",
                f"  records in        {records_in:>6}",
                f"  events out        {out:>6}   -> {EVENTS_TOPIC}",
                f"  audit entries     {audit:>6}   -> {AUDIT_TOPIC}",
                f"  redis keys        {redis_keys:>6}   ({REDIS_PREFIX}<branch>-<account>)",
                f"  reconciliation    in = out + audit: {records_in} = {out} + {audit}"
                f"  {'PASS' if reconciled else 'FAIL'}",
                f"  elapsed           {elapsed:.2f} s",
                f"                    ({', '.join(laps)})",
                "",
                _lines(
                    "rejections by reason:",
                    [f"{n:>3}  {reason}" for reason, n in sorted(judged.reasons.items())],
                ),
                "",
                "sample event:",
                _pretty(events[0]) if events else "  (none read back)",
                "",
                "sample audit entry:",
                _pretty(audits[0], _short_raw) if audits else "  (none read back)",
                "",
                _lines(
                    "where to look:",
                    [
                        f"Kafka {services.bootstrap}: topics {EVENTS_TOPIC} "
                        f"({EVENTS_PARTITIONS} partitions), {AUDIT_TOPIC}",
                        f"{redis_cli} --scan --pattern '{REDIS_PREFIX}*' | wc -l",
                        f"{redis_cli} HGETALL '{sample_key}'",
                        f"the sample's faults: {sample.parent / 'README.md'}",
                    ],
                ),
            ]
        )
    )
    if not (reconciled and keys_ok):
        print(
            f"bridge demo: FAILED: in {records_in}, out {out} (produced {len(judged.events)}), "
            f"audit {audit} (produced {len(judged.audits)}), redis keys {redis_keys} "
            f"(expected {len(judged.states)})",
            file=sys.stderr,
        )
        return RET_UNRECONCILED
    return RET_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the main job on the bundled sample.")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help=f"default {SAMPLE}")
    parser.add_argument("--mapping", type=Path, default=MAPPING, help=f"default {MAPPING}")
    args = parser.parse_args(argv)
    services = Services(
        os.environ.get("BRIDGE_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
        os.environ.get("BRIDGE_REDIS_URL", "redis://127.0.0.1:16379/0"),
    )
    try:
        return run(args.sample.resolve(), args.mapping.resolve(), services)
    except DemoError as exc:
        print(f"bridge demo: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
