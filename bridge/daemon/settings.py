"""The daemon's part of the TOML configuration (the same file as replay's, bridge/config.py).

```toml
[http]
listen = "127.0.0.1:9464"        # /healthz, /readyz, /metrics

[daemon]
name = "host-a"                  # this daemon's claim folder; unique per running daemon
                                 # (default: the host name)
rescan = 5                       # seconds between full rescans (beside kernel notifications)
settle = 2                       # seconds a file's size and mtime must stay unchanged
takeover = 60                    # seconds without a heartbeat before a daemon's claims are taken
drain_timeout = 30               # seconds the first SIGTERM waits for the open transaction
cache = true                     # run the Redis materializer after each file (false: a
                                 # separate `bridge cache` does it)
cache_timeout = 60               # seconds to wait for Redis to hold a file's last events

[[inbox]]
path = "/srv/landing/accounts"   # processed/ and failed/ inside it
mapping = "schemas/acctmast.mapping.json"   # relative to this file's folder
trigger = ".done"                # NAME.done marks NAME complete; "" = a stable size is enough
```

Every error names the file, the key and the reason (:class:`~bridge.config.ConfigError`).
Mappings are loaded here, so a broken one stops the start (and a reload) before any file.
"""

from __future__ import annotations

import re
import socket
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.config import Config, ConfigError, load_config
from bridge.errors import BridgeError
from bridge.mapping.program import Program, load_program

__all__ = [
    "DEFAULT_LISTEN",
    "DaemonSettings",
    "HttpSettings",
    "Inbox",
    "Settings",
    "http_settings",
    "load_settings",
]

DEFAULT_LISTEN = "127.0.0.1:9464"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Inbox:
    path: Path
    mapping_path: Path
    runtime: Program
    trigger: str  # suffix of the trigger file ("" when a stable size and mtime suffice)
    profile: str  # the metrics' and logs' label: the mapping's name

    @property
    def processed(self) -> Path:
        return self.path / "processed"

    @property
    def failed(self) -> Path:
        return self.path / "failed"

    @property
    def claims(self) -> Path:
        return self.path / ".claims"


@dataclass(frozen=True)
class HttpSettings:
    host: str
    port: int


@dataclass(frozen=True)
class DaemonSettings:
    name: str
    rescan: float = 5.0
    settle: float = 2.0
    takeover: float = 60.0
    drain_timeout: float = 30.0
    cache: bool = True
    cache_timeout: float = 60.0


@dataclass(frozen=True)
class Settings:
    config: Config
    http: HttpSettings
    daemon: DaemonSettings
    inboxes: tuple[Inbox, ...]


def load_settings(path: str | Path) -> Settings:
    """The whole configuration, validated, mappings loaded; raises ConfigError."""
    config = load_config(path)
    source = str(path)
    with open(path, "rb") as f:  # load_config read it already: errors were raised there
        doc = tomllib.load(f)
    base = Path(path).resolve().parent
    http = _http(source, doc.get("http", {}))
    daemon = _daemon(source, doc.get("daemon", {}))
    raw = doc.get("inbox")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(source, "inbox", "at least one [[inbox]] table (path, mapping) is needed")
    inboxes: list[Inbox] = []
    seen: set[Path] = set()
    for i, table in enumerate(raw):
        inbox = _inbox(source, f"inbox[{i}]", table, base)
        if inbox.path in seen:
            raise ConfigError(source, f"inbox[{i}].path", f"{inbox.path} is given twice")
        seen.add(inbox.path)
        inboxes.append(inbox)
    return Settings(config, http, daemon, tuple(inboxes))


def http_settings(path: str | Path) -> HttpSettings:
    """The [http] table alone (for ``bridge check``: no mapping is loaded)."""
    load_config(path)
    with open(path, "rb") as f:
        return _http(str(path), tomllib.load(f).get("http", {}))


def _http(source: str, table: Any) -> HttpSettings:
    if not isinstance(table, dict):
        raise ConfigError(source, "http", "expected a table ([http])")
    for key in table:
        if key != "listen":
            raise ConfigError(source, f"http.{key}", "unknown key (known: listen)")
    listen = table.get("listen", DEFAULT_LISTEN)
    host, sep, port = str(listen).rpartition(":")
    if not isinstance(listen, str) or not sep or not host or not port.isdigit():
        raise ConfigError(source, "http.listen", f"expected HOST:PORT, got {listen!r}")
    if int(port) > 65535:
        raise ConfigError(source, "http.listen", f"port {port} is out of range")
    return HttpSettings(host.strip("[]"), int(port))


def _daemon(source: str, table: Any) -> DaemonSettings:
    if not isinstance(table, dict):
        raise ConfigError(source, "daemon", "expected a table ([daemon])")
    seconds = ("rescan", "settle", "takeover", "drain_timeout", "cache_timeout")
    known = {"name", "cache", *seconds}
    values: dict[str, Any] = {}
    for key, value in table.items():
        where = f"daemon.{key}"
        if key not in known:
            raise ConfigError(source, where, f"unknown key (known: {', '.join(sorted(known))})")
        if key == "name":
            if not isinstance(value, str) or not _NAME.fullmatch(value):
                raise ConfigError(source, where, "expected letters, digits, '.', '_', '-'")
        elif key == "cache":
            if not isinstance(value, bool):
                raise ConfigError(source, where, f"expected true or false, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(source, where, f"expected a number of seconds > 0, got {value!r}")
        values[key] = float(value) if key in seconds else value
    name = values.pop("name", None) or re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:64]
    return DaemonSettings(name=name, **values)


def _inbox(source: str, where: str, table: Any, base: Path) -> Inbox:
    if not isinstance(table, dict):
        raise ConfigError(source, where, "expected a table ([[inbox]])")
    known = {"path", "mapping", "trigger"}
    for key in table:
        if key not in known:
            raise ConfigError(
                source, f"{where}.{key}", f"unknown key (known: {', '.join(sorted(known))})"
            )
    for key in ("path", "mapping"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise ConfigError(source, f"{where}.{key}", "expected a non-empty string")
    path = (base / table["path"]).resolve()
    if not path.is_dir():
        raise ConfigError(source, f"{where}.path", f"{path} is not a directory")
    trigger = table.get("trigger", ".done")
    if not isinstance(trigger, str) or (trigger and not re.fullmatch(r"\.[A-Za-z0-9_-]+", trigger)):
        raise ConfigError(
            source, f"{where}.trigger", f'expected a suffix like ".done" or "", got {trigger!r}'
        )
    mapping_path = (base / table["mapping"]).resolve()
    try:
        runtime = load_program(mapping_path)
    except (BridgeError, OSError) as exc:
        raise ConfigError(source, f"{where}.mapping", f"{mapping_path}: {exc}") from exc
    return Inbox(path, mapping_path, runtime, trigger, runtime.mapping.name)
