"""The Redis materializer against the real Kafka and Redis: every key holds its last event,
nothing regresses (offset and business versions, duplicates, redeliveries, aborted
transactions), deletions leave tombstones, two materializers share a group, a Redis that comes
back empty is rebuilt."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bridge.sinks.materializer import CacheRules
from tests.integration.conftest import CreateTopic
from tests.integration.events import (
    Ev,
    committed_ends,
    held_offsets,
    produce,
    start,
    states,
    wait_caught_up,
)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_url, socket_timeout=5)
    yield conn
    conn.close()


@pytest.fixture
def space(client: redis.Redis) -> Iterator[str]:
    """A key prefix (records under it, the namespace beside them) deleted afterwards."""
    pfx = f"bridge-it:{uuid.uuid4().hex[:12]}:"
    yield pfx
    keys = list(client.scan_iter(match=f"{pfx}*", count=1000))
    if keys:
        client.delete(*keys)


def history(prefix: str, keys: int, events: int, seed: int) -> list[Ev]:
    """``events`` updates of ``keys`` keys in random order, each with its key's next seq."""
    rng = random.Random(seed)
    seq: dict[int, int] = {}
    out = []
    for n in range(events):
        k = rng.randrange(keys)
        seq[k] = seq.get(k, 0) + 1
        doc = {"id": f"{k:05d}", "seq": seq[k], "status": "A", "n": n}
        out.append(Ev(f"{prefix}acct:{k:05d}", doc, record=n))
    return out


def last_of(events: list[Ev]) -> dict[str, Ev]:
    last: dict[str, Ev] = {}
    for ev in events:
        assert ev.redis_key is not None
        last[ev.redis_key] = ev
    return last


def assert_holds(client: redis.Redis, prefix: str, expected: dict[str, Ev]) -> None:
    held = dict(states(client, f"{prefix}acct:"))
    assert sorted(held) == sorted(expected)
    for key, ev in expected.items():
        assert json.loads(held[key]["event"]) == ev.document, key
        assert held[key]["ce_id"] == f"{ev.sha}:{ev.record}".encode()
        assert held[key]["record"] == str(ev.record).encode()


def test_every_key_holds_its_last_event(
    kafka_bootstrap: str, redis_url: str, client: redis.Redis, space: str, create_topic: CreateTopic
) -> None:
    topic = create_topic(3)
    events = history(space, keys=200, events=3000, seed=1)
    produce(kafka_bootstrap, topic, events[:1500], chunk=300)
    # An aborted replay's events (a crashed run) must never reach Redis.
    junk = [Ev(e.redis_key, {**e.document, "seq": 10**6}, record=9) for e in events[:200]]
    produce(kafka_bootstrap, topic, junk, chunk=100, abort=True)
    produce(kafka_bootstrap, topic, events[1500:], chunk=300)
    # Events without a Redis key (a mapping without one) are read and left out.
    produce(kafka_bootstrap, topic, [Ev(None, {"x": 1})] * 5)
    ns = f"{space}ns"
    running = start(kafka_bootstrap, redis_url, [topic], ns)
    ends = committed_ends(kafka_bootstrap, topic)
    wait_caught_up(client, ns, ends)
    stats = running.stop().stats
    assert_holds(client, space, last_of(events))
    assert stats.consumed == 3005
    assert stats.without_key == 5
    assert stats.applied + stats.stale == 3000
    assert stats.applied == 3000  # one partition per key: offsets only grow
    assert held_offsets(client, ns) == {f"{t}/{p}": end for (t, p), end in ends.items()}
    assert stats.lag_records == 0

    # A redelivery (the offsets lost, everything read again) changes nothing and is counted.
    client.delete(f"{ns}:offsets")
    running = start(kafka_bootstrap, redis_url, [topic], ns)
    wait_caught_up(client, ns, ends)
    stats = running.stop().stats
    assert (stats.applied, stats.stale) == (0, 3000)
    assert_holds(client, space, last_of(events))


def test_business_version_never_regresses_and_deletes_leave_tombstones(
    kafka_bootstrap: str, redis_url: str, client: redis.Redis, space: str, create_topic: CreateTopic
) -> None:
    topic = create_topic(2)
    newer = history(space, keys=50, events=400, seed=2)
    # The newer file's last event of key 7 deletes it.
    last7 = max(i for i, e in enumerate(newer) if e.redis_key == f"{space}acct:00007")
    newer[last7] = Ev(newer[last7].redis_key, {**newer[last7].document, "status": "D"}, 7)
    older = [
        Ev(
            e.redis_key,
            {**e.document, "seq": e.document["seq"] - 1000, "n": -1},
            e.record,
            "1" * 64,
        )
        for e in newer
    ]
    rules = {"acct": CacheRules(version=("seq",), deleted=("status",), deleted_values=("D",))}
    ns = f"{space}ns"
    produce(kafka_bootstrap, topic, newer)
    produce(kafka_bootstrap, topic, older)  # replayed after the newer one (--force)
    produce(kafka_bootstrap, topic, newer)  # the newer file again: same versions
    running = start(kafka_bootstrap, redis_url, [topic], ns, rules=rules)
    wait_caught_up(client, ns, committed_ends(kafka_bootstrap, topic))
    stats = running.stop().stats
    expected = last_of(newer)
    gone = expected.pop(f"{space}acct:00007")
    held = dict(states(client, f"{space}acct:"))
    assert sorted(held) == sorted([*expected, str(gone.redis_key)])
    for key, ev in expected.items():
        assert json.loads(held[key]["event"]) == ev.document
        assert held[key]["version"] == str(ev.document["seq"]).encode()
    tomb = held[str(gone.redis_key)]
    assert "event" not in tomb and tomb["deleted"] == b"1"
    assert tomb["version"] == str(gone.document["seq"]).encode()
    # Every older event and every repeat of the newer file was a counted no-op; the first pass
    # of the newer file applied its events whenever they raised a key's seq (all of them).
    assert stats.applied == 400
    assert stats.stale == 800


def test_offset_version_orders_a_key_by_its_offsets(
    kafka_bootstrap: str, redis_url: str, client: redis.Redis, space: str, create_topic: CreateTopic
) -> None:
    """Without a business version the later offset wins, whatever its content says."""
    topic = create_topic(1)
    key = f"{space}acct:00001"
    produce(kafka_bootstrap, topic, [Ev(key, {"seq": 5}, 0), Ev(key, {"seq": 2}, 1)])
    ns = f"{space}ns"
    running = start(kafka_bootstrap, redis_url, [topic], ns)
    wait_caught_up(client, ns, committed_ends(kafka_bootstrap, topic))
    running.stop()
    held = dict(states(client, f"{space}acct:"))
    assert json.loads(held[key]["event"]) == {"seq": 2}
    assert held[key]["version"] == b"0:1"


def test_two_materializers_share_a_group(
    kafka_bootstrap: str, redis_url: str, client: redis.Redis, space: str, create_topic: CreateTopic
) -> None:
    topic = create_topic(4)
    ns, group = f"{space}ns", f"cache-{uuid.uuid4().hex[:8]}"
    first = history(space, keys=300, events=2000, seed=3)
    a = start(kafka_bootstrap, redis_url, [topic], ns, group=group, batch=100)
    b = start(kafka_bootstrap, redis_url, [topic], ns, group=group, batch=100)
    deadline = time.monotonic() + 60
    while not (a.materializer.expected and b.materializer.expected):
        assert time.monotonic() < deadline, "the group never gave both members partitions"
        time.sleep(0.1)
    produce(kafka_bootstrap, topic, first, chunk=100)
    wait_caught_up(client, ns, committed_ends(kafka_bootstrap, topic))
    sa, sb = a.stop().stats, b.stop().stats
    assert_holds(client, space, last_of(first))
    assert sa.consumed > 0 and sb.consumed > 0  # both had partitions
    # Each message applied once: a key's events come from one partition, one owner at a time.
    assert sa.applied + sb.applied == 2000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_server(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("redis-server")
    assert exe, "redis-server (Debian's, installed by scripts/services) is missing"
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis(port=port, socket_timeout=1).ping()
            return proc
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "private redis-server did not start"
            time.sleep(0.05)


def test_redis_restarted_empty_is_rebuilt(
    kafka_bootstrap: str, create_topic: CreateTopic, tmp_path: Path
) -> None:
    topic = create_topic(2)
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = _redis_server(port, tmp_path)
    client = redis.Redis(port=port, socket_timeout=5)
    try:
        events = history("", keys=100, events=1200, seed=4)
        ns = "ns"
        running = start(kafka_bootstrap, url, [topic], ns, batch=100)
        produce(kafka_bootstrap, topic, events[:600], chunk=100)
        wait_caught_up(client, ns, committed_ends(kafka_bootstrap, topic))
        server.kill()
        server.wait()
        produce(kafka_bootstrap, topic, events[600:900], chunk=100)  # while Redis is down
        time.sleep(1)
        server = _redis_server(port, tmp_path)  # back, empty
        produce(kafka_bootstrap, topic, events[900:], chunk=100)
        wait_caught_up(client, ns, committed_ends(kafka_bootstrap, topic))
        stats = running.stop().stats
        assert_holds(client, "", last_of(events))
        assert stats.rebuilds == 2  # the first start, and Redis back empty
        assert stats.resyncs >= 1
    finally:
        client.close()
        server.kill()
        server.wait()


KILL_TRIALS = int(os.environ.get("BRIDGE_CACHE_SOAK_TRIALS", "10"))


def test_kill_9_at_random_points_never_regresses_and_catches_up(
    kafka_bootstrap: str,
    redis_url: str,
    client: redis.Redis,
    space: str,
    create_topic: CreateTopic,
    tmp_path: Path,
) -> None:
    """`bridge cache` killed with SIGKILL at random instants while events keep coming: after
    every kill no key holds an older seq than before; the last run catches up exactly."""
    topic = create_topic(3)
    ns = f"{space}ns"
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[kafka]\n"bootstrap.servers" = "{kafka_bootstrap}"\n'
        # Static membership: a restarted member takes its partitions back at once, where a
        # killed dynamic member holds them until its session times out.
        '"group.instance.id" = "cache-1"\n"session.timeout.ms" = 6000\n'
        f'[redis]\nurl = "{redis_url}"\n'
        f'[cache]\ntopics = ["{topic}"]\nnamespace = "{ns}"\ngroup = "g-{uuid.uuid4().hex[:8]}"\n'
        "batch = 300\n"
    )
    # A key's seq grows with its events, produced in order, a stretch before each trial.
    renumbered = history(space, keys=400, events=5000 * (KILL_TRIALS + 1), seed=5)
    per_trial = len(renumbered) // (KILL_TRIALS + 1)
    rng = random.Random(6)
    seen: dict[str, int] = {}
    midway = 0  # trials killed before catching up
    command = [sys.executable, "-m", "bridge", "cache", "--config", str(config)]

    def check_monotonic() -> None:
        for key, fields in states(client, f"{space}acct:"):
            now = json.loads(fields["event"])["seq"]
            assert now >= seen.get(key, 0), f"{key} went back from {seen[key]} to {now}"
            seen[key] = now

    for trial in range(KILL_TRIALS):
        produce(
            kafka_bootstrap,
            topic,
            renumbered[trial * per_trial : (trial + 1) * per_trial],
            chunk=250,
        )
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.4, 1.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check_monotonic()
        held = held_offsets(client, ns)
        ends = committed_ends(kafka_bootstrap, topic)
        midway += any(held.get(f"{t}/{p}", 0) < end for (t, p), end in ends.items())
    produce(kafka_bootstrap, topic, renumbered[KILL_TRIALS * per_trial :], chunk=250)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_caught_up(client, ns, committed_ends(kafka_bootstrap, topic), timeout=120)
    finally:
        proc.send_signal(signal.SIGTERM)  # stops cleanly after its batch
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    check_monotonic()
    assert_holds(client, space, last_of(renumbered))
    summary = json.loads(out.splitlines()[-1])
    assert summary["lag_records"] == 0
    assert midway >= KILL_TRIALS // 2, f"only {midway} kills landed before the cache caught up"
