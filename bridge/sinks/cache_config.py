"""The cache's configuration: the ``[kafka]``, ``[redis]`` and ``[cache]`` tables of a TOML file.

    [kafka]                       # passed to librdkafka as is
    "bootstrap.servers" = "127.0.0.1:19092"
    [redis]
    url = "redis://127.0.0.1:16379/0"   # or rediss:// (TLS); credentials: BRIDGE_REDIS_USERNAME,
    timeout = 5                         # BRIDGE_REDIS_PASSWORD (never in the file)
    [cache]
    topics = ["acctmast.events"]        # the events topics to materialize
    mappings = ["acctmast.mapping.json"]  # their mappings' cache rules (relative to the file)
    group = "bridge-cache"
    namespace = "bridge:cache"          # Redis key prefix of the offsets hash and epoch marker
    batch = 2000                        # messages per consumed batch

``${NAME}`` in a string is replaced by the environment variable NAME. Without a file (or a key),
Kafka comes from BRIDGE_KAFKA_BOOTSTRAP and Redis from BRIDGE_REDIS_URL.

Provisional: the replay engine's bridge/config.py (issue 10) is the configuration of the
whole product; when it lands this reads the same file through it.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import BridgeError

__all__ = ["CacheConfig", "ConfigError", "load_cache_config"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(BridgeError):
    """The configuration file is unreadable or a key is wrong: names the file and the key."""


@dataclass(frozen=True)
class CacheConfig:
    kafka: dict[str, Any]
    redis_url: str
    redis_timeout: float = 5.0
    topics: tuple[str, ...] = ()
    mappings: tuple[Path, ...] = ()
    group: str = "bridge-cache"
    namespace: str = "bridge:cache"
    batch: int = 2000
    source: str = field(default="(environment)", compare=False)


def _expand(value: Any, where: str, source: str) -> Any:
    if isinstance(value, str):

        def var(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                raise ConfigError(f"{source}: {where}: environment variable {name} is not set")
            return os.environ[name]

        return _VAR.sub(var, value)
    return value


def load_cache_config(path: str | Path | None) -> CacheConfig:
    """Read ``path`` (None: environment only); raises ConfigError naming the file and key."""
    data: dict[str, Any] = {}
    source = "(environment)"
    base = Path(".")
    if path is not None:
        source = str(path)
        base = Path(path).parent
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{source}: no such configuration file") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: cannot read: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not TOML: {exc}") from exc

    def table(name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        return value

    kafka = {k: _expand(v, f"kafka.{k}", source) for k, v in table("kafka").items()}
    kafka.setdefault(
        "bootstrap.servers", os.environ.get("BRIDGE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    redis_t, cache = table("redis"), table("cache")
    unknown = sorted(set(redis_t) - {"url", "timeout"}) + sorted(
        f"cache.{k}" for k in set(cache) - {"topics", "mappings", "group", "namespace", "batch"}
    )
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]}")
    url = _expand(
        redis_t.get("url", os.environ.get("BRIDGE_REDIS_URL", "redis://127.0.0.1:16379/0")),
        "redis.url",
        source,
    )
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{source}: redis.url: {url!r} is not a redis:// or rediss:// URL")

    def strings(key: str) -> tuple[str, ...]:
        value = cache.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{source}: cache.{key}: a list of non-empty strings")
        return tuple(_expand(v, f"cache.{key}", source) for v in value)

    def number(tbl: dict[str, Any], key: str, where: str, default: float) -> float:
        value = tbl.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{source}: {where}: a positive number")
        return float(value)

    for key in ("group", "namespace"):
        if key in cache and (not isinstance(cache[key], str) or not cache[key]):
            raise ConfigError(f"{source}: cache.{key}: a non-empty string")
    return CacheConfig(
        kafka=kafka,
        redis_url=url,
        redis_timeout=number(redis_t, "timeout", "redis.timeout", 5.0),
        topics=strings("topics"),
        mappings=tuple(base / m for m in strings("mappings")),
        group=cache.get("group", "bridge-cache"),
        namespace=cache.get("namespace", "bridge:cache"),
        batch=int(number(cache, "batch", "cache.batch", 2000)),
        source=source,
    )
