"""The Redis cache's throughput against the server's ceiling, and its lag behind a replay.

    .venv/bin/python bench/cache_bench.py [--events N] [--partitions P]

On a private redis-server (started here, no persistence) and the broker of scripts/services:

(a) redis-benchmark (Debian's, beside redis-server) calling the cache's upsert script with
    EVALSHA, one event per call, pipelined (-P 64, 4 connections), N calls on fresh keys with an
    event of the sample's average size: the server's ceiling for this script here.
(c) N events (the sample's events, keys made distinct) produced in transactions of 5,000 to a
    fresh topic, as a replay publishes them, while a materializer follows: seconds from the
    producer's last commit until Redis holds the topic's committed end (the cache lag).
(b) Redis emptied, then a materializer (new group) applying the N events from the topic
    start: upserts/s from its first batch to the committed end; then the same with M
    (--members, 2) `bridge cache` processes in one group sharing the partitions (scale-out).

Prints upserts/s of (a) and (b), the ratio (target >= 0.5) and the lag (target < 5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import redis
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from bridge.sinks import headers as h
from bridge.sinks.materializer import Materializer
from bridge.sinks.redis import UPSERT_SCRIPT, CacheStore, connect, order_of

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
PII_KEY = "bench-only-key-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_events() -> list[bytes]:
    out = subprocess.run(
        [sys.executable, "-m", "bridge", "decode", "--mapping", str(MAPPING), str(SAMPLE)],
        capture_output=True,
        env={**os.environ, "BRIDGE_PII_KEY": PII_KEY},
        check=False,
    )
    return [line for line in out.stdout.splitlines() if line]


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("cache_bench: redis-server is missing (scripts/services installs it)")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            redis.Redis(port=port).ping()
            return proc, port
        except redis.ConnectionError:
            time.sleep(0.05)
    sys.exit("cache_bench: the private redis-server did not start")


def server_ceiling(port: int, events: int, event: bytes) -> float:
    """(a): redis-benchmark calling the upsert script, one event per call, pipelined."""
    client = redis.Redis(port=port)
    sha = client.script_load(UPSERT_SCRIPT)
    exe = shutil.which("redis-benchmark")
    if exe is None:
        sys.exit("cache_bench: redis-benchmark is missing (Debian's redis-tools)")
    # __rand_int__ gives fresh keys (of 10^11) and a version; no offsets pair (ARGV[1] = 0).
    command = [
        exe, "-p", str(port), "-n", str(events), "-c", "4", "-P", "64", "-r", "100000000000",
        "--csv", "EVALSHA", sha, "2", "bench:offsets", "bench:acct:__rand_int__", "0",
        order_of(0, 0), "0:1", "0", event.decode(), "f" * 64, "1", "events", "0", "1",
        "e:__rand_int__",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    # The last column values: rps, then seven latencies (the test name holds quotes itself).
    rate = re.findall(r'"([0-9.]+)"(?:,"[0-9.]+"){6}\s*$', out.strip())
    if not rate:
        sys.exit(f"cache_bench: cannot read redis-benchmark's output: {out!r}")
    client.flushall()
    return float(rate[-1])


def produce_events(bootstrap: str, topic: str, events: list[bytes], total: int) -> float:
    """The replay's part: ``total`` events in transactions of 5,000; when the last committed."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": f"cache-bench-{uuid.uuid4().hex}",
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.kbytes": 512 * 1024,
        }
    )
    producer.init_transactions(30)
    sha = "b" * 64
    for start in range(0, total, 5000):
        producer.begin_transaction()
        for n in range(start, min(total, start + 5000)):
            headers: list[tuple[str, str | bytes | None]] = [
                (h.CE_ID, h.event_id(sha, n).encode()),
                (h.CE_TYPE, b"acctmast"),
                (h.FILE_SHA256, sha.encode()),
                (h.RECORD, str(n).encode()),
                (h.REDIS_KEY, f"bench:acct:{n:09d}".encode()),
            ]
            while True:
                try:
                    producer.produce(
                        topic, events[n % len(events)], f"{n:09d}".encode(), headers=headers
                    )
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.commit_transaction(60)
    return time.monotonic()


def ends(bootstrap: str, topic: str, partitions: int) -> dict[str, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "cache-bench-probe"})
    try:
        return {
            f"{topic}/{p}": consumer.get_watermark_offsets(TopicPartition(topic, p), 15)[1]
            for p in range(partitions)
        }
    finally:
        consumer.close()


def follow(
    bootstrap: str, port: int, topic: str, batch: int
) -> tuple[Materializer, threading.Event]:
    store = CacheStore(connect(f"redis://127.0.0.1:{port}/0"), "bench")
    m = Materializer(
        {"bootstrap.servers": bootstrap}, [topic], store, group=f"bench-{uuid.uuid4().hex}",
        batch=batch, poll_seconds=0.05,
    )  # fmt: skip
    stop = threading.Event()
    threading.Thread(target=m.run, args=(stop,), daemon=True).start()
    return m, stop


def wait_for(client: redis.Redis, target: dict[str, int], poll: float = 0.01) -> float:
    while True:
        raw: dict[bytes, bytes] = client.hgetall("bench:offsets")  # type: ignore[assignment]
        held = {k.decode(): int(v) for k, v in raw.items()}
        if all(held.get(tp, -1) >= end for tp, end in target.items()):
            return time.monotonic()
        time.sleep(poll)


def scale_out(
    bootstrap: str, port: int, topic: str, target: dict[str, int], members: int, tmp: Path
) -> float:
    """Seconds ``members`` ``bridge cache`` processes in one group take to apply the topic
    into an empty Redis (from the first offsets written to the committed end)."""
    client = redis.Redis(port=port)
    client.flushall()
    config = tmp / "bench.toml"
    config.write_text(
        f'[kafka]\n"bootstrap.servers" = "{bootstrap}"\n[redis]\nurl = "redis://127.0.0.1:{port}/0"\n'
        f'[cache]\ntopics = ["{topic}"]\ngroup = "bench-{uuid.uuid4().hex}"\nnamespace = "bench"\n'
    )
    command = [sys.executable, "-m", "bridge", "cache", "--config", str(config)]
    procs = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(members)
    ]
    try:
        while not client.exists("bench:offsets"):
            time.sleep(0.005)
        first = time.monotonic()
        return wait_for(client, target) - first
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5000, help="materializer batch")
    parser.add_argument("--members", type=int, default=2, help="processes of the scale-out run")
    args = parser.parse_args()
    bootstrap = os.environ.get("BRIDGE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    events = sample_events()
    size = sum(map(len, events)) // len(events)
    with tempfile.TemporaryDirectory() as tmp:
        server, port = start_redis(Path(tmp))
        client = redis.Redis(port=port)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topic = f"cache-bench-{uuid.uuid4().hex[:8]}"
        try:
            a = server_ceiling(port, args.events, events[0])
            print(f"(a) redis-benchmark EVALSHA upsert, {size}-byte events: {a:,.0f}/s")

            admin.create_topics([NewTopic(topic, args.partitions, 1)])[topic].result(30)
            m, stop = follow(bootstrap, port, topic, args.batch)
            produced = time.monotonic()
            last_commit = produce_events(bootstrap, topic, events, args.events)
            produce_s = last_commit - produced
            done = wait_for(client, ends(bootstrap, topic, args.partitions))
            stop.set()
            lag = done - last_commit
            print(
                f"(c) {args.events:,} events produced in {produce_s:.1f} s "
                f"({args.events / produce_s:,.0f}/s), cache lag after the last commit: {lag:.2f} s"
            )

            client.flushall()
            target = ends(bootstrap, topic, args.partitions)
            m, stop = follow(bootstrap, port, topic, args.batch)
            while not client.exists("bench:offsets"):
                time.sleep(0.005)
            first = time.monotonic()
            done = wait_for(client, target)
            stop.set()
            applied = m.stats.applied
            b = args.events / (done - first)
            print(f"(b) materializer from the topic: {b:,.0f} upserts/s ({applied:,} applied)")
            b2 = scale_out(bootstrap, port, topic, target, args.members, Path(tmp))
            print(
                f"(b{args.members}) {args.members} bridge cache processes in one group: "
                f"{args.events / b2:,.0f} upserts/s"
            )
            print(f"ratio (b)/(a) = {b / a:.2f} (target >= 0.5); lag {lag:.2f} s (target < 5)")
            figures = {"a": a, "b": b, "ratio": b / a, "lag_seconds": lag, "size": size}
            figures[f"b{args.members}"] = args.events / b2
            print(json.dumps(figures))
        finally:
            admin.delete_topics([topic])
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
