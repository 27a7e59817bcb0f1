"""The cache's pieces that need no services: version order, script calls, the mapping's cache
rules, the configuration."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.cli import main
from bridge.copybook.compiler import compile_copybook
from bridge.exitcodes import RET_COPYBOOK_INVALID, RET_NOT_FOUND, RET_USAGE
from bridge.mapping.lint import check_mapping, errors
from bridge.mapping.model import MappingError, parse_mapping
from bridge.sinks.cache_config import ConfigError, load_cache_config
from bridge.sinks.materializer import CacheRules, Materializer, MaterializerStats, rules_for
from bridge.sinks.redis import ORDER_TEXT_BYTES, StateUpdate, connect, order_of, split_calls
from tests.unit.mapping.conftest import ACCTMAST_CPY, ACCTMAST_MAPPING

LOCALE_SAFE = set("0123456789abcdef")

ints = st.integers(min_value=-(10**20) + 1, max_value=10**20 - 1)
texts = st.text(max_size=20).filter(lambda s: len(s.encode()) <= ORDER_TEXT_BYTES)
positions = st.tuples(st.integers(0, 10**4), st.integers(0, 10**15))


@given(ints, ints, positions, positions)
def test_integer_versions_order_as_numbers(
    a: int, b: int, pa: tuple[int, int], pb: tuple[int, int]
) -> None:
    oa, ob = order_of(*pa, a), order_of(*pb, b)
    assert set(oa) <= LOCALE_SAFE and len(oa) == len(ob)
    assert (oa < ob) == ((a, *pa) < (b, *pb))


@given(texts, texts, positions, positions)
def test_text_versions_order_as_their_bytes(
    a: str, b: str, pa: tuple[int, int], pb: tuple[int, int]
) -> None:
    oa, ob = order_of(*pa, a), order_of(*pb, b)
    assert set(oa) <= LOCALE_SAFE and len(oa) == len(ob)
    # Padding with zero bytes: a text and the same text plus NULs are the same version.
    ka, kb = a.encode().ljust(ORDER_TEXT_BYTES, b"\0"), b.encode().ljust(ORDER_TEXT_BYTES, b"\0")
    assert (oa < ob) == ((ka, *pa) < (kb, *pb))


@given(positions, positions)
def test_offset_versions_order_by_partition_then_offset(
    pa: tuple[int, int], pb: tuple[int, int]
) -> None:
    assert (order_of(*pa) < order_of(*pb)) == (pa < pb)


def test_versions_the_cache_cannot_order_are_refused() -> None:
    with pytest.raises(ValueError, match="more than 20 digits"):
        order_of(0, 0, 10**20)
    with pytest.raises(ValueError, match="longer than 64 bytes"):
        order_of(0, 0, "x" * 65)
    with pytest.raises(ValueError, match="not a boolean"):
        order_of(0, 0, True)


def _update(partition: int, offset: int) -> StateUpdate:
    return StateUpdate(
        b"k", order_of(partition, offset), "", 0, b"{}", "", "", "t", partition, offset, ""
    )


class FakeMessage:
    def __init__(self, partition: int, offset: int, headers: list[tuple[str, bytes]]) -> None:
        self._p, self._o, self._h = partition, offset, headers

    def topic(self) -> str:
        return "t"

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def value(self) -> bytes:
        return b'{"seq": 7, "status": "D"}'

    def headers(self) -> list[tuple[str, bytes]]:
        return self._h


@given(positions)
def test_updates_of_events(at: tuple[int, int]) -> None:
    """The materializer's update of an event, with and without cache rules."""
    headers = [
        ("ce_id", b"abc:3"),
        ("ce_type", b"acct.DETAIL"),
        ("bridge_file_sha256", b"abc"),
        ("bridge_record", b"3"),
        ("bridge_redis_key", b"acct:1"),
    ]
    msg = FakeMessage(*at, headers)
    plain = Materializer.__new__(Materializer)
    plain.rules, plain._by_type, plain.stats = {}, {}, MaterializerStats()
    update = plain._update(msg)
    assert update == StateUpdate(
        b"acct:1",
        order_of(*at),
        f"{at[0]}:{at[1]}",
        0,
        msg.value(),
        b"abc",
        b"3",
        "t",
        *at,
        b"abc:3",
    )
    ruled = Materializer.__new__(Materializer)
    ruled.rules = {"acct": CacheRules(("seq",), ("status",), ("D",))}
    ruled._by_type, ruled.stats = {}, MaterializerStats()
    update = ruled._update(msg)
    assert update is not None
    assert (update.order, update.version, update.deleted) == (order_of(*at, 7), "7", 1)
    assert plain._update(FakeMessage(*at, headers[:4])) is None
    assert plain.stats.without_key == 1


def test_split_calls_carry_the_offsets_they_reach() -> None:
    items = [("t", i % 2, i // 2, _update(i % 2, i // 2) if i % 3 else None) for i in range(10)]
    calls = split_calls(items, size=3)
    assert [len(c.updates) for c in calls] == [3, 3, 0]
    # Updates at items 1, 2, 4 | 5, 7, 8 | none; each call reaches past its last item.
    assert [dict(c.reached) for c in calls] == [
        {("t", 0): 3, ("t", 1): 2},
        {("t", 1): 4, ("t", 0): 5},
        {("t", 1): 5},
    ]
    assert sum(len(c.updates) for c in calls) == sum(1 for i in items if i[3] is not None)


def test_mapping_cache_rules() -> None:
    doc = json.loads(ACCTMAST_MAPPING.read_text())
    doc["cache"] = {
        "version": "ACCT-MASTER-REC.AM-LAST-TXN-DATE",
        "deleted": {"source": "ACCT-MASTER-REC.AM-STATUS", "values": ["CLOSED"]},
    }
    mapping = parse_mapping(doc, base_dir=ACCTMAST_MAPPING.parent)
    assert rules_for(mapping) == CacheRules(("lastTransactionDate",), ("status",), ("CLOSED",))
    assert rules_for(parse_mapping(json.loads(ACCTMAST_MAPPING.read_text()))) == CacheRules()

    unmapped = copy.deepcopy(doc)
    unmapped["cache"]["version"] = "ACCT-MASTER-REC.NO-SUCH-FIELD"
    layouts = compile_copybook(ACCTMAST_CPY)
    problems = errors(check_mapping(parse_mapping(unmapped, ACCTMAST_MAPPING.parent), layouts))
    assert [(p.pointer, p.message) for p in problems if p.pointer.startswith("/cache")] == [
        ("/cache/version", "a cache field must be a mapped field")
    ]
    decimal = copy.deepcopy(doc)
    decimal["cache"]["version"] = "ACCT-MASTER-REC.AM-BALANCES.AM-LEDGER-BAL"
    problems = errors(check_mapping(parse_mapping(decimal, ACCTMAST_MAPPING.parent), layouts))
    assert [p.message[:40] for p in problems if p.pointer.startswith("/cache")] == [
        "a decimal cannot order versions (the cac"
    ]
    bad = copy.deepcopy(doc)
    bad["cache"]["deleted"] = {"source": "ACCT-MASTER-REC.AM-STATUS", "values": []}
    with pytest.raises(MappingError, match="/cache/deleted/values"):
        parse_mapping(bad)


def test_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no bridge.toml here: the environment alone
    monkeypatch.setenv("BRIDGE_KAFKA_BOOTSTRAP", "k:1")
    monkeypatch.setenv("BRIDGE_REDIS_URL", "redis://r:2/0")
    monkeypatch.setenv("SECRET_RING", "s3cr3t")
    env_only = load_cache_config(None)
    assert env_only.kafka == {"bootstrap.servers": "k:1"} and env_only.redis_url == "redis://r:2/0"
    assert (env_only.topics, env_only.mappings, env_only.batch) == ((), (), 500)
    path = tmp_path / "conf" / "bridge.toml"
    path.parent.mkdir()
    path.write_text(
        '[kafka]\n"bootstrap.servers" = "b:3"\n"sasl.password" = "${SECRET_RING}"\n'
        '[redis]\nurl = "rediss://cache:6380/1"\ntimeout = 2\n'
        '[cache]\ntopics = ["ev"]\nmappings = ["m.json"]\ngroup = "g"\nbatch = 10\n'
    )
    config = load_cache_config(path)
    assert config.kafka == {"bootstrap.servers": "b:3", "sasl.password": "s3cr3t"}
    assert (config.redis_url, config.redis_timeout) == ("rediss://cache:6380/1", 2.0)
    assert (config.topics, config.mappings, config.group, config.batch) == (
        ("ev",),
        (path.parent / "m.json",),
        "g",
        10,
    )
    for text, key, message in [
        ("[redis]\nurl = 'http://x'\n", "redis.url", "expected a redis://"),
        ("[redis]\ntimeout = 0\n", "redis.timeout", "expected seconds > 0"),
        ("[cache]\ntopics = 'ev'\n", "cache.topics", "expected a list of names"),
        ("[cache]\nbatch = 0\n", "cache.batch", "expected an integer >= 1"),
        ("[cache]\nbach = 1\n", "cache.bach", "unknown key"),
        ("cache = 3\n", "cache", "expected a table"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=f"^{path}: {key}: {message}"):
            load_cache_config(path)


def test_connect_takes_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_REDIS_USERNAME", "cache")
    monkeypatch.setenv("BRIDGE_REDIS_PASSWORD", "pw-from-env")
    monkeypatch.setenv("BRIDGE_REDIS_CA", "/etc/ssl/ca.pem")
    tls = connect("rediss://cache.example:6380/2", timeout=3)
    options = tls.connection_pool.connection_kwargs
    assert (options["host"], options["port"], options["db"]) == ("cache.example", 6380, 2)
    assert (options["username"], options["password"]) == ("cache", "pw-from-env")
    assert options["ssl_ca_certs"] == "/etc/ssl/ca.pem"
    assert tls.connection_pool.connection_class.__name__ == "SSLConnection"
    assert options["socket_timeout"] == 3
    monkeypatch.delenv("BRIDGE_REDIS_PASSWORD")
    plain = connect("redis://u:p@h:1/0")
    assert plain.connection_pool.connection_kwargs["password"] == "p"
    assert "ssl_ca_certs" not in plain.connection_pool.connection_kwargs


def test_cache_command_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text("[cache]\nbatch = -1\n")
    assert main(["cache", "--config", str(bad)]) == RET_COPYBOOK_INVALID
    assert main(["cache"]) == RET_USAGE  # no topic, no mapping
    assert main(["cache", "--mapping", str(tmp_path / "none.json")]) == RET_NOT_FOUND
