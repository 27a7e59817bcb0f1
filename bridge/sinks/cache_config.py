"""The cache's part of the configuration: the ``[cache]`` table of bridge's TOML file.

    [cache]
    mappings = ["acctmast.mapping.json"]  # their cache rules, and their events topics
    topics = ["bridge.acctmast.events"]   # more events topics (default: the mappings')
    group = "bridge-cache"
    namespace = "bridge:cache"            # Redis key prefix of the offsets hash and epoch marker
    batch = 5000                          # messages per consumed batch

Kafka, Redis and the topic names come from the rest of the file (bridge/config.py): ``[redis]``
``url`` (``redis://`` or ``rediss://``) and ``timeout`` (seconds); credentials from
BRIDGE_REDIS_USERNAME / BRIDGE_REDIS_PASSWORD, never from the file. Mapping paths are relative
to the configuration file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.config import Config, ConfigError, load_config

__all__ = ["CacheConfig", "ConfigError", "load_cache_config"]

KNOWN = ("mappings", "topics", "group", "namespace", "batch")


@dataclass(frozen=True)
class CacheConfig:
    config: Config
    redis_timeout: float = 5.0
    topics: tuple[str, ...] = ()
    mappings: tuple[Path, ...] = ()
    group: str = "bridge-cache"
    namespace: str = "bridge:cache"
    batch: int = 5000

    @property
    def kafka(self) -> dict[str, Any]:
        return dict(self.config.kafka.properties)

    @property
    def redis_url(self) -> str:
        return self.config.redis.url


def load_cache_config(path: str | Path | None) -> CacheConfig:
    """The configuration (bridge/config.py's rules: ``bridge.toml`` when ``path`` is None and
    it exists, else the environment) with its [cache] table; raises ConfigError."""
    config = load_config(path)
    cache: dict[str, Any] = {}
    base = Path(".")
    if config.source != "environment":
        base = Path(config.source).parent
        with open(config.source, "rb") as f:
            cache = tomllib.load(f).get("cache", {})
        if not isinstance(cache, dict):
            raise ConfigError(config.source, "cache", "expected a table ([cache])")
    source = config.source
    for key in cache:
        if key not in KNOWN:
            raise ConfigError(source, f"cache.{key}", f"unknown key (known: {', '.join(KNOWN)})")

    def strings(key: str) -> tuple[str, ...]:
        value = cache.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(source, f"cache.{key}", f"expected a list of names, got {value!r}")
        return tuple(value)

    def text(key: str, default: str) -> str:
        value = cache.get(key, default)
        if not isinstance(value, str) or not value:
            raise ConfigError(source, f"cache.{key}", f"expected a non-empty string, got {value!r}")
        return value

    batch = cache.get("batch", 5000)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConfigError(source, "cache.batch", f"expected an integer >= 1, got {batch!r}")
    timeout = config.redis.options.get("timeout", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(source, "redis.timeout", f"expected seconds > 0, got {timeout!r}")
    url = config.redis.url
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(source, "redis.url", "expected a redis://, rediss:// or unix:// URL")
    return CacheConfig(
        config=config,
        redis_timeout=float(timeout),
        topics=strings("topics"),
        mappings=tuple(base / m for m in strings("mappings")),
        group=text("group", "bridge-cache"),
        namespace=text("namespace", "bridge:cache"),
        batch=batch,
    )
