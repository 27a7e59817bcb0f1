"""Running `bridge daemon` as a process on private inboxes and topics, and checking what it
published per file (several files share one set of topics)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.sinks import headers as h
from tests.integration.replay_support import MAPPING, PII_ENV, ROOT, SAMPLE, Topics, expected

RECORD_LENGTH = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sample_records(first: int, count: int) -> bytes:
    """``count`` records of the sample from record ``first`` on (wrapping): distinct content
    per (first, count), hence distinct SHA-256."""
    data = SAMPLE.read_bytes()
    n = len(data) // RECORD_LENGTH
    return b"".join(
        data[((first + i) % n) * RECORD_LENGTH : ((first + i) % n + 1) * RECORD_LENGTH]
        for i in range(count)
    )


class Setup:
    """A private set of topics, Redis namespace and one inbox (more via ``inbox``), with the
    configuration file naming them all."""

    def __init__(self, bootstrap: str, redis_url: str, tmp: Path, **daemon: Any) -> None:
        self.tmp = tmp
        self.topics = Topics(bootstrap, tmp, chunk_records="500")
        self.tag = self.topics.config.stem
        self.port = free_port()
        self.redis_url = redis_url
        self.daemon = {"settle": 0.3, "rescan": 1, "takeover": 5, "drain_timeout": 20, **daemon}
        self.inboxes: list[tuple[Path, Path, str]] = []
        self.inbox()

    def inbox(self, mapping: Path = MAPPING, trigger: str = ".done") -> Path:
        path = self.tmp / f"inbox{len(self.inboxes)}"
        path.mkdir()
        self.inboxes.append((path, mapping, trigger))
        return path

    def config(self, name: str = "a") -> Path:
        return self.tmp / f"{self.tag}-{name}.toml"

    def write(self, name: str = "a", port: int | None = None) -> Path:
        """Daemon ``name``'s configuration (the shared topics, inboxes and [daemon] options)."""
        base = self.topics.config.read_text()
        lines = [
            base.rstrip("\n"),
            "[redis]",
            f'url = "{self.redis_url}"',
            "[cache]",
            f'namespace = "{self.tag}"',
            f'group = "{self.tag}"',
            "[http]",
            f'listen = "127.0.0.1:{port or self.port}"',
            "[daemon]",
            f'name = "{name}"',
            *(f"{k} = {json.dumps(v)}" for k, v in self.daemon.items()),
        ]
        for path, mapping, trigger in self.inboxes:
            lines += ["[[inbox]]", f'path = "{path}"', f'mapping = "{mapping}"']
            lines.append(f'trigger = "{trigger}"')
        config = self.config(name)
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self, name: str = "a") -> Daemon:
        port = self.port if name == "a" else free_port()
        return Daemon(self.write(name, port), port, self.tmp / f"{name}.log")

    def delete(self) -> None:
        self.topics.delete()

    def published(self) -> dict[str, Counter[int]]:
        """Per file SHA-256, how many times each record number is on the events topic."""
        out: dict[str, Counter[int]] = {}
        for m in self.topics.read(self.topics.names.events):
            sha = m.header(h.FILE_SHA256) or ""
            out.setdefault(sha, Counter())[int(m.header(h.RECORD) or -1)] += 1
        return out


class Daemon:
    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config = config
        self.port = port
        self.log = log
        with open(log, "ab") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bridge", "daemon", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={**os.environ, **PII_ENV},
                cwd=ROOT,
            )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_ready(self, timeout: float = 60) -> None:
        wait_for(self._ready, timeout, f"{self.config.name} never ready: {self.logs()}")

    def _ready(self) -> bool:
        assert self.proc.poll() is None, f"daemon exited {self.proc.returncode}: {self.logs()}"
        try:
            return self.get("/readyz")[0] == 200
        except OSError:
            return False

    def logs(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"message": line})
        return out

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


def wait_for(condition: Callable[[], bool], timeout: float, what: object) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.2)


def drop(inbox: Path, name: str, data: bytes, trigger: str = ".done") -> None:
    """A transfer: written under a hidden name, renamed into place, then the trigger."""
    tmp = inbox / f".{name}.part"
    tmp.write_bytes(data)
    os.rename(tmp, inbox / name)
    if trigger:
        (inbox / (name + trigger)).touch()


def receipt(inbox: Path, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((inbox / "processed" / f"{name}.receipt.json").read_text())
    return doc


def check_file_once(published: dict[str, Counter[int]], path: Path) -> None:
    """Every valid record of ``path`` exactly once on the events topic."""
    want = expected(path)
    seen = published.get(want.sha256, Counter())
    assert set(seen) == set(want.events), (
        f"{path.name}: missing {sorted(set(want.events) - set(seen))[:5]}, "
        f"extra {sorted(set(seen) - set(want.events))[:5]}"
    )
    assert all(n == 1 for n in seen.values()), f"{path.name}: duplicated"


def unique() -> str:
    return uuid.uuid4().hex[:8]
