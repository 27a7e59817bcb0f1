"""Redis I/O of the latest-state cache: one Lua upsert script, loaded once, called with EVALSHA.

A record key's state is a **hash** (one round trip reads it whole, a field can be read alone,
and the version sits beside the event so the script compares without decoding JSON):

    event        the event JSON, exactly the Kafka message value (absent in a tombstone)
    version      readable version: the business version's text, else "<partition>:<offset>"
    order        what the script compares: the version encoded so that byte order is version
                 order (digits and lower-case hex only, fixed width: see ``order_of``)
    deleted      "1" for a tombstone (the mapping's deleted value), else "0"
    file_sha256, record, topic, partition, offset, ce_id   provenance

An event whose ``order`` is not greater than the stored one, or whose ``ce_id`` (file SHA-256
and record number) is the stored one's, changes nothing and is counted as stale (a redelivery,
an older version, the same record published again by a forced re-run). A deletion leaves a
tombstone (``event`` removed, version and provenance kept) rather than removing the key, so an
older event of a deleted record cannot bring it back.

Where the cache has got to is the hash ``<namespace>:offsets`` (field ``<topic>/<partition>``,
value the next offset to apply), written by the same script call as the upserts it covers, so
the two never disagree. Each call also names the offsets it expects to find there; when they
differ (Redis restarted empty or failed over to a stale replica, or another materializer of the
group moved on) the call changes nothing and fails with :class:`OffsetsMovedError`, and the
materializer seeks back to what Redis holds. ``<namespace>:epoch`` marks a Redis that has held
this cache: its absence at a resync means Redis lost everything and the cache is rebuilt from
the topic start.

Redis Cluster is not supported: one call touches the keys of a whole batch and the offsets hash,
which a cluster would need to be in one slot.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import redis
from hiredis import pack_command
from redis.connection import Connection

from bridge.errors import BridgeError

__all__ = [
    "CALL_EVENTS",
    "UPSERT_SCRIPT",
    "CacheStore",
    "OffsetsMovedError",
    "StateUpdate",
    "connect",
    "order_of",
]

CALL_EVENTS = 256  # updates per script call: short enough not to stall Redis for others

# KEYS[1] offsets hash, KEYS[2..] state keys, one per update.
# ARGV[1] = n, then n triples (offsets field, expected stored offset or "", next offset),
# then 10 values per update: order, version, deleted, event, file_sha256, record, topic,
# partition, offset, ce_id.
UPSERT_SCRIPT = """
local n = tonumber(ARGV[1])
local i = 2
for _ = 1, n do
  local cur = redis.call('HGET', KEYS[1], ARGV[i]) or ''
  if cur ~= ARGV[i + 1] then
    return redis.error_reply('BRIDGE_OFFSETS ' .. ARGV[i] .. ' holds "' .. cur ..
      '", expected "' .. ARGV[i + 1] .. '"')
  end
  i = i + 3
end
i = 2
for _ = 1, n do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  i = i + 3
end
local applied, stale = 0, 0
for k = 2, #KEYS do
  local cur = redis.call('HMGET', KEYS[k], 'order', 'ce_id')
  if cur[1] and (cur[1] >= ARGV[i] or cur[2] == ARGV[i + 9]) then
    stale = stale + 1
  else
    if ARGV[i + 2] == '1' then
      redis.call('HDEL', KEYS[k], 'event')
    else
      redis.call('HSET', KEYS[k], 'event', ARGV[i + 3])
    end
    redis.call('HSET', KEYS[k], 'order', ARGV[i], 'version', ARGV[i + 1],
      'deleted', ARGV[i + 2], 'file_sha256', ARGV[i + 4], 'record', ARGV[i + 5],
      'topic', ARGV[i + 6], 'partition', ARGV[i + 7], 'offset', ARGV[i + 8],
      'ce_id', ARGV[i + 9])
    applied = applied + 1
  end
  i = i + 10
end
return {applied, stale}
"""

ORDER_TEXT_BYTES = 64  # longest business version text (UTF-8 bytes) the cache can order
_INT_WIDTH = 20


class OffsetsMovedError(BridgeError):
    """Redis does not hold the offsets a call expected: resync from what it holds."""


def order_of(partition: int, offset: int, business: Any = None) -> str:
    """The comparable form of a version: byte order (and any locale's order of digits and
    a-f, which Lua's string comparison uses) is version order.

    The business part (absent: all equal) is an integer, sign then 20 digits, or a text's UTF-8
    bytes in hex padded to a fixed width; then partition and offset as fixed-width digits.
    """
    if business is None:
        head = "0"
    elif isinstance(business, bool):
        raise ValueError("a business version is an integer or a text, not a boolean")
    elif isinstance(business, int):
        if abs(business) >= 10**_INT_WIDTH:
            raise ValueError(f"business version {business} has more than {_INT_WIDTH} digits")
        head = (
            "2" + f"{business:0{_INT_WIDTH}d}"
            if business >= 0
            else "1" + f"{10**_INT_WIDTH + business:0{_INT_WIDTH}d}"
        )
    else:
        raw = str(business).encode()
        if len(raw) > ORDER_TEXT_BYTES:
            raise ValueError(
                f"business version {str(business)[:80]!r} is longer than {ORDER_TEXT_BYTES} bytes"
            )
        head = "3" + raw.hex().ljust(2 * ORDER_TEXT_BYTES, "0")
    return f"{head}{partition:010d}{offset:020d}"


class StateUpdate(NamedTuple):
    """One event for one Redis key; after ``key``, the script's arguments in their order (text
    fields as the Kafka headers carried them)."""

    key: bytes
    order: str
    version: str
    deleted: int  # 1: the mapping's deleted value (a tombstone), else 0
    event: bytes
    file_sha256: bytes | str
    record: bytes | str
    topic: str
    partition: int
    offset: int
    ce_id: bytes | str


@dataclass(frozen=True)
class Call:
    """One script call: the updates of a stretch of messages and the offsets they reach."""

    updates: Sequence[StateUpdate]
    reached: Mapping[tuple[str, int], int]  # (topic, partition) -> next offset


def connect(url: str, *, timeout: float = 5.0) -> redis.Redis:
    """A client for ``redis://`` or ``rediss://`` (TLS) ``url``.

    BRIDGE_REDIS_USERNAME / BRIDGE_REDIS_PASSWORD, when set, give the credentials (so they stay
    out of configuration files); BRIDGE_REDIS_CA names a CA bundle for rediss://.
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": 30,
    }
    if os.environ.get("BRIDGE_REDIS_USERNAME"):
        options["username"] = os.environ["BRIDGE_REDIS_USERNAME"]
    if os.environ.get("BRIDGE_REDIS_PASSWORD"):
        options["password"] = os.environ["BRIDGE_REDIS_PASSWORD"]
    if url.startswith("rediss://") and os.environ.get("BRIDGE_REDIS_CA"):
        options["ssl_ca_certs"] = os.environ["BRIDGE_REDIS_CA"]
    client: redis.Redis = redis.Redis.from_url(url, **options)
    return client


def offsets_field(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"


class CacheStore:
    """The cache in one Redis: the upsert script, the offsets hash and the epoch marker."""

    def __init__(self, client: redis.Redis, namespace: str = "bridge:cache") -> None:
        self.client = client
        self.namespace = namespace
        self.offsets_key = f"{namespace}:offsets"
        self.epoch_key = f"{namespace}:epoch"
        self._sha: str | None = None
        self._conn: Connection | None = None  # the calls' own connection: replies in order

    def _script(self) -> str:
        if self._sha is None:
            self._sha = str(self.client.script_load(UPSERT_SCRIPT))
        return self._sha

    def mark(self) -> bool:
        """Set the epoch marker unless present; True when it was missing (Redis held no cache)."""
        return bool(self.client.set(self.epoch_key, uuid.uuid4().hex, nx=True))

    def offsets(self, topic: str, partitions: Sequence[int]) -> dict[int, int | None]:
        """The next offset to apply per partition (None: nothing applied from it)."""
        if not partitions:
            return {}
        fields = [offsets_field(topic, p) for p in partitions]
        values = self.client.hmget(self.offsets_key, fields)
        return {p: None if v is None else int(v) for p, v in zip(partitions, values, strict=True)}

    def apply(
        self, calls: Sequence[Call], expected: dict[tuple[str, int], int | None]
    ) -> tuple[int, int]:
        """Run ``calls`` and wait for them; returns (applied, stale). See send and receive."""
        self.send(calls, dict(expected))
        return self.receive(calls, expected)

    def send(self, calls: Sequence[Call], after: dict[tuple[str, int], int | None]) -> None:
        """Write ``calls`` to Redis without waiting for their replies (they run in order, after
        the calls sent before them). ``after`` holds the offsets Redis will hold once every call
        sent so far has applied, and is advanced call by call."""
        sha = self._script()
        packed = []
        for call in calls:
            keys: list[bytes | str] = [self.offsets_key]
            args: list[bytes | str | int] = [len(call.reached)]
            for (topic, partition), nxt in call.reached.items():
                now = after.get((topic, partition))
                args += [offsets_field(topic, partition), "" if now is None else str(now), nxt]
                after[(topic, partition)] = nxt
            for update in call.updates:
                keys.append(update[0])  # the key (the materializer builds plain tuples)
                args += update[1:]
            command = ("EVALSHA", sha, len(keys), *keys, *args)
            # hiredis packs in C (redis-py's encoder is a Python loop over every argument); its
            # stub types the tuple as having one element.
            packed.append(pack_command(command))  # type: ignore[arg-type]
        if self._conn is None:
            self._conn = self.client.connection_pool.get_connection()
        try:
            self._conn.send_packed_command([b"".join(packed)], check_health=False)  # type: ignore[no-untyped-call]
        except Exception:
            self.drop()
            raise

    def receive(
        self, calls: Sequence[Call], expected: dict[tuple[str, int], int | None]
    ) -> tuple[int, int]:
        """The replies of ``calls`` (the oldest sent and not yet received); ``expected`` is
        advanced by each call that applied. Raises OffsetsMovedError when a call found other
        offsets, NoScriptError when Redis lost the script, redis.ConnectionError/TimeoutError
        when it is unreachable; after any of them the calls sent later are abandoned (their
        replies are never read: send again after a resync)."""
        applied = stale = 0
        assert self._conn is not None
        try:
            for call in calls:
                result = self._conn.read_response()
                applied += int(result[0])
                stale += int(result[1])
                expected.update(call.reached)
        except redis.exceptions.NoScriptError:
            self._sha = None
            self.drop()
            raise
        except redis.ResponseError as exc:
            self.drop()
            if "BRIDGE_OFFSETS" in str(exc):
                raise OffsetsMovedError(str(exc)) from exc
            raise
        except Exception:
            self.drop()
            raise
        return applied, stale

    def drop(self) -> None:
        """Forget the connection and the replies still owed on it."""
        if self._conn is not None:
            self._conn.disconnect()  # type: ignore[no-untyped-call]
            self.client.connection_pool.release(self._conn)
            self._conn = None


def split_calls(
    items: Sequence[tuple[str, int, int, StateUpdate | None]], size: int = CALL_EVENTS
) -> list[Call]:
    """Script calls for consumed messages (topic, partition, offset, update or None), in order."""
    calls: list[Call] = []
    updates: list[StateUpdate] = []
    reached: dict[tuple[str, int], int] = {}
    for topic, partition, offset, update in items:
        if update is not None:
            updates.append(update)
        reached[(topic, partition)] = offset + 1
        if len(updates) >= size:
            calls.append(Call(updates, reached))
            updates, reached = [], {}
    if reached:
        calls.append(Call(updates, reached))
    return calls
