"""Round trips against the real Redis: plain keys, a hash and an optimistic transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from redis.client import Pipeline


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    yield conn
    conn.close()


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    """A key prefix no other test or run shares; every key under it is deleted afterwards."""
    pfx = f"bridge-it:{uuid.uuid4().hex[:12]}:"
    yield pfx
    keys = list(client.scan_iter(match=f"{pfx}*", count=1000))
    if keys:
        client.delete(*keys)
    assert list(client.scan_iter(match=f"{pfx}*")) == []


def test_set_get(client: redis.Redis, prefix: str) -> None:
    key = f"{prefix}plain"
    assert client.set(key, b"\x00record\xff", ex=60)
    assert client.get(key) == b"\x00record\xff"
    assert 0 < client.ttl(key) <= 60
    assert client.set(key, b"other", nx=True) is None  # NX must not overwrite
    assert client.get(f"{prefix}missing") is None


def test_hash(client: redis.Redis, prefix: str) -> None:
    key = f"{prefix}account"
    assert client.hset(key, mapping={"id": "0042", "name": "ACME", "balance": "10"}) == 3
    assert client.hincrby(key, "balance", 5) == 15
    assert client.hgetall(key) == {b"id": b"0042", b"name": b"ACME", b"balance": b"15"}
    assert client.hdel(key, "name") == 1
    assert client.hget(key, "name") is None


def test_multi_exec_pipeline(client: redis.Redis, prefix: str) -> None:
    with client.pipeline(transaction=True) as pipe:
        pipe.set(f"{prefix}a", "1")
        pipe.incrby(f"{prefix}a", 41)
        pipe.rpush(f"{prefix}list", "x", "y")
        assert pipe.execute() == [True, 42, 2]
    assert client.mget(f"{prefix}a", f"{prefix}list-missing") == [b"42", None]
    assert client.lrange(f"{prefix}list", 0, -1) == [b"x", b"y"]


def test_watch_retries_after_a_concurrent_write(client: redis.Redis, prefix: str) -> None:
    key = f"{prefix}counter"
    client.set(key, 1)
    attempts = 0

    def bump(pipe: Pipeline) -> None:
        nonlocal attempts
        attempts += 1
        raw = pipe.get(key)  # executes immediately: the pipeline is WATCHing `key`
        assert isinstance(raw, bytes)
        if attempts == 1:
            client.set(key, 100)  # someone else writes between WATCH and EXEC
        pipe.multi()
        pipe.set(key, int(raw) + 1)

    # The first EXEC must be refused (WatchError inside transaction()), the retry sees 100.
    client.transaction(bump, key)
    assert attempts == 2
    assert client.get(key) == b"101"
