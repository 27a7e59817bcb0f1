"""The TOML configuration shared by ``bridge replay``, the Redis cache and the daemon.

```toml
[kafka]                      # passed to librdkafka as is (bootstrap.servers, sasl.*, ssl.*)
"bootstrap.servers" = "${BRIDGE_KAFKA_BOOTSTRAP}"
"sasl.password" = "${KAFKA_PASSWORD}"     # secrets come from the environment, never printed

[topics]                     # names; "{mapping}" stands for the mapping's name
events = "bridge.{mapping}.events"
partitions = 3               # for topics bridge creates
replication = 1
create = true                # create missing topics (else a missing topic is an error)

[redis]
url = "${BRIDGE_REDIS_URL}"

[replay]
chunk_records = 20000        # records per Kafka transaction

[cache]                      # bridge cache's own table: bridge/sinks/cache_config.py
```

``${NAME}`` in any string is replaced by the environment variable NAME (``$$`` is a literal
``$``); an unset variable is an error naming the key. Without a file, the broker comes from
``BRIDGE_KAFKA_BOOTSTRAP``, Redis from ``BRIDGE_REDIS_URL`` (what ``scripts/services env``
exports) and the topics take their default names. Every error names the file, the key and what
is wrong (:class:`ConfigError`; the commands exit 3).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import BridgeError

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "Config",
    "ConfigError",
    "KafkaConfig",
    "RedisConfig",
    "ReplayConfig",
    "TopicNames",
    "TopicsConfig",
    "load_config",
    "redact",
]

DEFAULT_CONFIG_FILE = "bridge.toml"  # read from the working directory when --config is not given
DEFAULT_BOOTSTRAP = "127.0.0.1:19092"  # scripts/services' broker, when nothing else is said
DEFAULT_REDIS_URL = "redis://127.0.0.1:16379/0"  # scripts/services' Redis
DEFAULT_CHUNK_RECORDS = 20_000  # per transaction: a few MB, commits every fraction of a second
DEFAULT_TOPIC_NAMES = {
    "events": "bridge.{mapping}.events",
    "audit": "bridge.{mapping}.audit",
    "control": "bridge.{mapping}.control",
    "progress": "bridge.{mapping}.progress",
    "schemas": "bridge.schemas",
}

# librdkafka properties whose values are secrets: shown as "***" by redact().
_SECRET = re.compile(r"(password|secret|credentials|private|token|\.key\.pem$|^ssl\.key$)")
_REFERENCE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|)")


class ConfigError(BridgeError):
    """A configuration file or value is wrong: names the file, the key and what is wrong."""

    def __init__(self, source: str, key: str | None, message: str) -> None:
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {message}")
        self.source = source
        self.key = key


def redact(properties: Mapping[str, Any]) -> dict[str, Any]:
    """``properties`` fit to print: secret values replaced by ``***``."""
    return {k: "***" if _SECRET.search(k) else v for k, v in properties.items()}


@dataclass(frozen=True)
class KafkaConfig:
    """librdkafka properties, as the [kafka] table gives them (with bootstrap.servers set)."""

    properties: Mapping[str, str] = field(repr=False)

    @property
    def bootstrap(self) -> str:
        return str(self.properties["bootstrap.servers"])

    def __repr__(self) -> str:
        return f"KafkaConfig({redact(self.properties)!r})"


@dataclass(frozen=True)
class TopicNames:
    """The five topics of one mapping, resolved."""

    events: str
    audit: str
    control: str
    progress: str
    schemas: str

    def all(self) -> tuple[str, ...]:
        return (self.events, self.audit, self.control, self.progress, self.schemas)


@dataclass(frozen=True)
class TopicsConfig:
    names: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TOPIC_NAMES))
    partitions: int = 3  # events topic; audit, control, progress and schemas have one
    replication: int = 1
    create: bool = True

    def for_mapping(self, mapping_name: str) -> TopicNames:
        resolved = {k: v.replace("{mapping}", mapping_name) for k, v in self.names.items()}
        return TopicNames(**resolved)


@dataclass(frozen=True)
class RedisConfig:
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)  # the rest of [redis], as given

    def __repr__(self) -> str:
        return f"RedisConfig(url={_redact_url(self.url)!r})"


@dataclass(frozen=True)
class ReplayConfig:
    chunk_records: int = DEFAULT_CHUNK_RECORDS
    timeout: float | None = None  # seconds to wait for Kafka before giving up (None: forever)
    retry_interval: float = 5.0  # seconds between "still waiting for Kafka" messages


@dataclass(frozen=True)
class Config:
    """Where bridge publishes and caches: Kafka properties, topic names, Redis, replay tuning
    (``load_config``: a bridge.toml, or the environment)."""

    source: str  # the file read, or "environment"
    kafka: KafkaConfig
    topics: TopicsConfig
    redis: RedisConfig
    replay: ReplayConfig


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The configuration from ``path``, else ``bridge.toml`` when present, else the environment."""
    env = os.environ if environ is None else environ
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = DEFAULT_CONFIG_FILE
    if path is None:
        return _build("environment", {}, env)
    source = str(path)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError as exc:
        raise ConfigError(source, None, "no such file") from exc
    except OSError as exc:
        raise ConfigError(source, None, f"cannot be read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, None, f"not valid TOML: {exc}") from exc
    return _build(source, doc, env)


def _build(source: str, doc: dict[str, Any], env: Mapping[str, str]) -> Config:
    # [cache] is read by bridge/sinks/cache_config.py, [[inbox]], [http] and [daemon] by
    # bridge/daemon/settings.py.
    known = {"kafka", "topics", "redis", "replay", "cache", "inbox", "http", "daemon"}
    unknown = set(doc) - known
    if unknown:
        raise ConfigError(
            source, sorted(unknown)[0], f"unknown table (known: {', '.join(sorted(known))})"
        )
    kafka = _table(source, doc, "kafka")
    props: dict[str, str] = {}
    for key, value in kafka.items():
        name = f"kafka.{key}"
        if isinstance(value, dict):
            raise ConfigError(source, name, "a librdkafka property is a value, not a table")
        if isinstance(value, bool):
            props[key] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            props[key] = _substitute(source, name, str(value), env)
        else:
            raise ConfigError(source, name, f"expected a string or number, got {value!r}")
    if not props.get("bootstrap.servers"):
        props["bootstrap.servers"] = env.get("BRIDGE_KAFKA_BOOTSTRAP") or DEFAULT_BOOTSTRAP

    topics = _table(source, doc, "topics")
    names = dict(DEFAULT_TOPIC_NAMES)
    for key, value in topics.items():
        if key in ("partitions", "replication", "create"):
            continue
        if key not in names:
            listed = ", ".join([*DEFAULT_TOPIC_NAMES, "partitions", "replication", "create"])
            raise ConfigError(source, f"topics.{key}", f"unknown key (known: {listed})")
        text = _string(source, f"topics.{key}", value, env)
        if not re.fullmatch(r"[A-Za-z0-9._\-{}]+", text) or len(text) > 249:
            raise ConfigError(
                source,
                f"topics.{key}",
                f"{text!r} is not a Kafka topic name (letters, digits, '.', '_', '-')",
            )
        names[key] = text
    topics_config = TopicsConfig(
        names=names,
        partitions=_int(source, "topics.partitions", topics.get("partitions", 3), 1),
        replication=_int(source, "topics.replication", topics.get("replication", 1), 1),
        create=_bool(source, "topics.create", topics.get("create", True)),
    )

    redis = _table(source, doc, "redis")
    url = redis.get("url")
    url = (
        _string(source, "redis.url", url, env)
        if url is not None
        else env.get("BRIDGE_REDIS_URL") or DEFAULT_REDIS_URL
    )
    options = {
        k: _string(source, f"redis.{k}", v, env) if isinstance(v, str) else v
        for k, v in redis.items()
        if k != "url"
    }

    replay = _table(source, doc, "replay")
    known = {"chunk_records", "timeout", "retry_interval"}
    for key in replay:
        if key not in known:
            raise ConfigError(
                source, f"replay.{key}", f"unknown key (known: {', '.join(sorted(known))})"
            )
    timeout = replay.get("timeout")
    replay_config = ReplayConfig(
        chunk_records=_int(
            source, "replay.chunk_records", replay.get("chunk_records", DEFAULT_CHUNK_RECORDS), 1
        ),
        timeout=None if timeout is None else _seconds(source, "replay.timeout", timeout),
        retry_interval=_seconds(source, "replay.retry_interval", replay.get("retry_interval", 5)),
    )
    return Config(
        source=source,
        kafka=KafkaConfig(props),
        topics=topics_config,
        redis=RedisConfig(url, options),
        replay=replay_config,
    )


def _table(source: str, doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(source, name, "expected a table ([" + name + "])")
    return value


def _substitute(source: str, key: str, text: str, env: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if name is None:
            raise ConfigError(source, key, "a '$' starts ${NAME} (write $$ for a '$')")
        if name not in env:
            raise ConfigError(source, key, f"environment variable {name} is not set")
        return env[name]

    return _REFERENCE.sub(one, text)


def _string(source: str, key: str, value: Any, env: Mapping[str, str]) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(source, key, f"expected a non-empty string, got {value!r}")
    return _substitute(source, key, value, env)


def _int(source: str, key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(source, key, f"expected an integer >= {minimum}, got {value!r}")
    return value


def _seconds(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(source, key, f"expected a number of seconds > 0, got {value!r}")
    return float(value)


def _bool(source: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(source, key, f"expected true or false, got {value!r}")
    return value


def _redact_url(url: str) -> str:
    return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)
