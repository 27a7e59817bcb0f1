"""What the daemon tells its monitoring: ``/healthz`` (alive), ``/readyz`` (Kafka and Redis
reachable, configuration loaded, not draining), ``/metrics`` (prometheus_client), and
systemd's notification socket (``READY=1``, ``RELOADING=1``, ``STOPPING=1``)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["HealthServer", "Metrics", "Readiness", "sd_notify"]

log = logging.getLogger("bridge.daemon")


class Metrics:
    """The daemon's metrics, in a registry of its own. Record counts are added when a file
    completes, from the same summary its receipt holds, so the two always agree."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.records_read = Counter(
            "bridge_records_read", "records read from completed files", ["profile"], registry=r
        )
        self.records_published = Counter(
            "bridge_records_published", "events published", ["profile"], registry=r
        )
        self.records_rejected = Counter(
            "bridge_records_rejected",
            "records rejected (audits published)",
            ["profile", "rule"],
            registry=r,
        )
        self.bytes_read = Counter(
            "bridge_bytes_read", "bytes of completed files", ["profile"], registry=r
        )
        self.stage_seconds = Histogram(
            "bridge_stage_seconds",
            "seconds per file and stage (wait: arrival to claim; replay; cache; file: claim to "
            "receipt)",
            ["profile", "stage"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
            registry=r,
        )
        self.transactions = Counter(
            "bridge_transactions",
            "Kafka transactions by outcome (committed, aborted)",
            ["profile", "outcome"],
            registry=r,
        )
        self.kafka_errors = Counter(
            "bridge_kafka_errors", "Kafka unreachable or refusing", ["kind"], registry=r
        )
        self.cache_lag = Gauge(
            "bridge_cache_lag_records",
            "events not yet in Redis after the last file's catch-up",
            ["profile"],
            registry=r,
        )
        self.files = Gauge(
            "bridge_files", "files now waiting or in progress", ["profile", "state"], registry=r
        )
        self.files_done = Counter(
            "bridge_files_done",
            "files finished, by outcome (processed, duplicate, failed)",
            ["profile", "outcome"],
            registry=r,
        )
        self.last_success = Gauge(
            "bridge_last_success_timestamp_seconds",
            "when a file was last processed",
            ["profile"],
            registry=r,
        )
        self.ready = Gauge("bridge_ready", "1 when /readyz answers 200", registry=r)

    def file_done(self, profile: str, outcome: str, receipt: dict[str, Any]) -> None:
        self.files_done.labels(profile, outcome).inc()
        if outcome == "processed":
            self.last_success.labels(profile).set(time.time())
        if outcome == "duplicate":
            return  # published before: its records were counted then
        counts = receipt.get("counts") or {}
        self.records_read.labels(profile).inc(counts.get("read", 0))
        self.records_published.labels(profile).inc(counts.get("published", 0))
        for rule, n in (counts.get("rejected_by_rule") or {}).items():
            self.records_rejected.labels(profile, rule).inc(n)
        self.bytes_read.labels(profile).inc(receipt.get("size", 0))


class Readiness:
    """Kafka (and Redis, when the daemon feeds the cache) probed every ``interval`` seconds in
    a thread; ``ready`` also needs a loaded configuration and no drain."""

    def __init__(
        self,
        probes: dict[str, Callable[[], None]],
        metrics: Metrics,
        interval: float = 5.0,
    ) -> None:
        self.probes = probes
        self.metrics = metrics
        self.interval = interval
        self.reachable: dict[str, bool] = dict.fromkeys(probes, False)
        self.loaded = False
        self.draining = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="readiness", daemon=True)

    @property
    def ready(self) -> bool:
        return self.loaded and not self.draining and all(self.reachable.values())

    def reasons(self) -> list[str]:
        out = [f"{name} unreachable" for name, ok in self.reachable.items() if not ok]
        if not self.loaded:
            out.append("configuration not loaded")
        if self.draining:
            out.append("draining")
        return out

    def check_now(self) -> None:
        for name, probe in self.probes.items():
            try:
                probe()
                ok = True
            except Exception as exc:  # any failure means not reachable
                if self.reachable.get(name):
                    log.warning("%s unreachable: %s", name, type(exc).__name__)
                ok = False
            self.reachable[name] = ok
        self.metrics.ready.set(1 if self.ready else 0)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            self.check_now()
            if self.stop.wait(self.interval):
                return


class HealthServer:
    def __init__(self, host: str, port: int, readiness: Readiness, metrics: Metrics) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    self._send(200, b"ok\n", "text/plain")
                elif path == "/readyz":
                    r = outer.readiness
                    r.metrics.ready.set(1 if r.ready else 0)
                    if r.ready:
                        self._send(200, b"ready\n", "text/plain")
                    else:
                        text = "not ready: " + ", ".join(r.reasons()) + "\n"
                        self._send(503, text.encode(), "text/plain")
                elif path == "/metrics":
                    self._send(200, generate_latest(outer.metrics.registry), CONTENT_TYPE_LATEST)
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # probes every few seconds are not news

        self.readiness = readiness
        self.metrics = metrics
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="http", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sd_notify(state: str) -> None:
    """One message to systemd's notification socket, when there is one (Type=notify)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(address)
            s.sendall(state.encode())
    except OSError as exc:
        log.warning("cannot notify systemd: %s", exc.strerror)
