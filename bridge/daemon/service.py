"""The daemon's loop: claim complete files, replay each (bridge/engine/engine.py, exactly
once), feed the Redis cache (bridge/sinks/materializer.py), write the receipt, and answer
signals.

Signals only set flags (and wake the loop): the first SIGTERM/SIGINT drains (no new file; the
open transaction commits, then the replay stops before the next one; a timer bounds the wait),
a second one exits at once, which the transactions make safe (the file stays claimed and the
next start resumes it). SIGHUP reloads the configuration; one that does not load is logged
with its reason and the old one kept. Shutdown runs in a fixed order: stop intake, drain,
clear readiness, stop the threads, close the HTTP server.
"""

from __future__ import annotations

import ctypes
import gc
import glob
import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from confluent_kafka.admin import AdminClient

from bridge.config import ConfigError
from bridge.daemon import receipts
from bridge.daemon.claims import Claims, Heartbeat
from bridge.daemon.health import HealthServer, Metrics, Readiness, sd_notify
from bridge.daemon.inbox import Arrival, Scanner, Watcher, fair_order
from bridge.daemon.settings import Inbox, Settings, load_settings
from bridge.engine.engine import ReplayConflictError, Summary, replay
from bridge.engine.progress import Progress
from bridge.errors import BridgeError
from bridge.exitcodes import RET_INTERRUPTED, RET_OK
from bridge.sinks.cache_config import load_cache_config
from bridge.sinks.kafka import KafkaFatalError, KafkaUnavailableError
from bridge.sinks.materializer import Materializer, catch_up, rules_for
from bridge.sinks.redis import CacheStore, connect

__all__ = ["Daemon"]

log = logging.getLogger("bridge.daemon")
RETRY_SECONDS = 10.0  # before a file whose replay could not reach Kafka is tried again


class Drained(Exception):  # noqa: N818  (a request, not an error)
    """Raised between two transactions when the daemon drains."""


@dataclass
class _Work:
    inbox: Inbox
    name: str
    arrived: float
    claimed: float = field(default_factory=time.time)


class Daemon:
    def __init__(self, settings: Settings, config_path: str | Path) -> None:
        self.settings = settings
        self.config_path = str(config_path)
        self.claims = Claims(settings.daemon.name, settings.daemon.takeover)
        self.scanner = Scanner(settings.daemon.settle)
        self.metrics = Metrics()
        self.wake = threading.Event()
        self.stopping = threading.Event()  # set with draining: ends a cache catch-up early
        self.draining = False
        self.reload_requested = False
        self.retry_at: dict[Path, float] = {}
        self.turn = 0  # the inbox served first in the next pass
        self.readiness = Readiness(self._probes(), self.metrics)
        self.http = HealthServer(
            settings.http.host, settings.http.port, self.readiness, self.metrics
        )
        self.heartbeat: Heartbeat | None = None
        self.watcher: Watcher | None = None

    # -- life cycle ------------------------------------------------------------------------

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        self._start_inboxes()
        self.http.start()
        self.readiness.check_now()
        self.readiness.loaded = True
        self.readiness.start()
        log.info(
            "daemon started",
            extra={
                "daemon": self.settings.daemon.name,
                "http": self.http.address,
                "inboxes": [str(i.path) for i in self.settings.inboxes],
            },
        )
        sd_notify("READY=1\nSTATUS=taking files")
        try:
            while not self.draining:
                if self.reload_requested:
                    self._reload()
                did = self._one_pass()
                if self.draining:
                    break
                if not did:
                    pending = self.scanner.pending or self.retry_at
                    d = self.settings.daemon
                    self.wake.wait(min(d.rescan, d.settle / 2) if pending else d.rescan)
                    self.wake.clear()
        finally:
            self._close()
        return RET_OK

    def _start_inboxes(self) -> None:
        for inbox in self.settings.inboxes:
            self.claims.prepare(inbox)
        interval = max(0.2, min(5.0, self.settings.daemon.takeover / 4))
        self.heartbeat = Heartbeat(self.claims, self.settings.inboxes, interval)
        self.heartbeat.start()
        self.watcher = Watcher([i.path for i in self.settings.inboxes], self.wake)
        self.watcher.start()

    def _stop_inboxes(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
        if self.heartbeat is not None:
            self.heartbeat.close()

    def _close(self) -> None:
        sd_notify("STOPPING=1")
        self.readiness.draining = True
        self._stop_inboxes()
        self.readiness.close()
        self.http.close()
        log.info("daemon stopped", extra={"daemon": self.settings.daemon.name})

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.draining:
            os._exit(RET_INTERRUPTED)  # the second signal: at once (the transactions keep it safe)
        self.draining = True
        self.readiness.draining = True
        self.stopping.set()
        self.wake.set()
        bound = self.settings.daemon.drain_timeout
        timer = threading.Timer(bound, lambda: os._exit(RET_INTERRUPTED))
        timer.daemon = True
        timer.start()
        log.info("draining", extra={"signal": signal.Signals(signum).name, "bound_s": bound})

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self.reload_requested = True
        self.wake.set()

    def _reload(self) -> None:
        self.reload_requested = False
        sd_notify("RELOADING=1")
        try:
            new = load_settings(self.config_path)
        except (ConfigError, OSError) as exc:
            log.error("configuration not reloaded, the old one is kept: %s", exc)
            sd_notify("READY=1")
            return
        if new.http != self.settings.http:
            log.warning("[http] listen changes only at a restart; the rest is reloaded")
        self._stop_inboxes()
        self.settings = new
        self.claims = Claims(new.daemon.name, new.daemon.takeover)
        self.scanner = Scanner(new.daemon.settle)
        self.readiness.probes = self._probes()
        self._start_inboxes()
        sd_notify("READY=1")
        log.info("configuration reloaded", extra={"inboxes": [str(i.path) for i in new.inboxes]})

    def _probes(self) -> dict[str, Any]:
        config = self.settings.config
        props: dict[str, str | int | float | bool] = dict(config.kafka.properties)

        def kafka() -> None:
            AdminClient(props).list_topics(timeout=3)

        probes: dict[str, Any] = {"kafka": kafka}
        if self.settings.daemon.cache:
            url = config.redis.url

            def redis() -> None:
                client = connect(url, timeout=3)
                try:
                    client.ping()
                finally:
                    client.close()

            probes["redis"] = redis
        return probes

    # -- files -----------------------------------------------------------------------------

    def _one_pass(self) -> bool:
        """Every file this daemon holds, then one complete file (inboxes take turns, each in
        arrival order; the next pass rescans, so a file arriving in a quiet inbox waits for
        one file at most); True when a file was worked on."""
        did = False
        for inbox in self.settings.inboxes:
            try:
                self.claims.take_over(inbox)
                held = self.claims.held(inbox)
            except OSError as exc:
                log.warning("inbox unreadable: %s", exc.strerror, extra=_context(inbox, ""))
                continue
            for name in held:
                if self.draining:
                    return did
                path = self.claims.folder(inbox) / name
                if self.retry_at.get(path, 0) > time.time():
                    continue
                try:
                    mtime = os.lstat(path).st_mtime
                except FileNotFoundError:
                    continue  # taken over by another daemon meanwhile
                self._process(_Work(inbox, name, mtime))
                did = True
        inboxes = self.settings.inboxes
        turn = self.turn % len(inboxes)
        order = [*inboxes[turn:], *inboxes[:turn]]
        ready = [self.scanner.ready(inbox) for inbox in order]
        for inbox, arrivals in zip(order, ready, strict=True):
            self.metrics.files.labels(inbox.profile, "waiting").set(len(arrivals))
        for arrival in fair_order(ready):
            if self.draining:
                return did
            if self._claim(arrival):
                self.turn = inboxes.index(arrival.inbox) + 1
                self._process(_Work(arrival.inbox, arrival.name, arrival.arrived))
                return True
        return did

    def _claim(self, a: Arrival) -> bool:
        self.scanner.taken(a)
        if not self.claims.claim(a.inbox, a.name):
            return False
        self.metrics.files.labels(a.inbox.profile, "waiting").dec()
        log.info("claimed", extra=_context(a.inbox, a.name))
        return True

    def _process(self, work: _Work) -> None:
        inbox = work.inbox
        gauge = self.metrics.files.labels(inbox.profile, "in_progress")
        gauge.inc()
        try:
            self._replay(work)
        except Exception as exc:
            # Not the file's fault as far as we know (a bug, a disk, a file moved under us):
            # it stays where it is and is tried again later, the other files go on.
            self.retry_at[self.claims.folder(inbox) / work.name] = time.time() + RETRY_SECONDS
            log.exception(
                "unexpected %s; the file stays claimed and is tried again",
                type(exc).__name__,
                extra=_context(inbox, work.name),
            )
        finally:
            gauge.dec()
            # A replay leaves a few MB in reference cycles (batches, clients' callbacks): freed
            # here, between files, rather than whenever the oldest generation fills; and glibc
            # gives the freed pages of the file's Kafka clients back, so the RSS of a daemon
            # that ran for days reflects what it holds.
            gc.collect()
            _release_free_memory()

    def _replay(self, work: _Work) -> None:
        inbox, name = work.inbox, work.name
        claimed = self.claims.folder(inbox) / name
        ctx = _context(inbox, name)
        self.metrics.stage_seconds.labels(inbox.profile, "wait").observe(
            max(0.0, work.claimed - work.arrived)
        )
        try:
            with open(claimed, "rb"):
                pass
        except OSError as exc:
            self._failed(work, f"cannot be read: {exc.strerror}", None)
            return
        config = self.settings.config
        profile = inbox.profile

        def on_chunk(progress: Progress) -> None:
            self.metrics.transactions.labels(profile, "committed").inc()
            if self.draining:
                raise Drained

        def say(message: str) -> None:
            log.info(message, extra=ctx)

        started = time.time()
        try:
            summary = replay(
                inbox.runtime, claimed, config, timeout=config.replay.timeout, say=say,
                on_chunk=on_chunk,
            )  # fmt: skip
        except Drained:
            log.info("stopped between two transactions; the next start resumes it", extra=ctx)
            return
        except KafkaUnavailableError as exc:
            self.metrics.kafka_errors.labels("unavailable").inc()
            self.metrics.transactions.labels(profile, "aborted").inc()
            self.retry_at[claimed] = time.time() + RETRY_SECONDS
            log.warning("Kafka unavailable, the file stays claimed: %s", exc, extra=ctx)
            return
        except KafkaFatalError as exc:
            self.metrics.kafka_errors.labels("fatal").inc()
            self.metrics.transactions.labels(profile, "aborted").inc()
            self.retry_at[claimed] = time.time() + RETRY_SECONDS
            log.error("Kafka refused (fenced by another daemon?): %s", exc, extra=ctx)
            return
        except ReplayConflictError as exc:
            self._failed(work, str(exc), None)
            return
        except (BridgeError, OSError) as exc:
            self._failed(work, f"{type(exc).__name__}: {exc}", None)
            return
        self.retry_at.pop(claimed, None)
        replayed = time.time()
        self.metrics.stage_seconds.labels(profile, "replay").observe(replayed - started)
        complete_before = summary.outcome == "already-complete"
        duplicate = complete_before and not _earlier_life(inbox, name, summary)
        cache = None if duplicate else self._feed_cache(inbox, summary)
        ended = time.time()
        if cache is not None:
            self.metrics.stage_seconds.labels(profile, "cache").observe(ended - replayed)
        receipt = _receipt(
            self.settings.daemon.name, work, summary, duplicate, started, replayed, ended
        )
        if cache is not None:
            receipt["cache"] = cache
        status = summary.exit_code
        if summary.progress.framing_failed or not summary.progress.counts.reconciled:
            why = (
                f"the file cannot be framed from byte {summary.progress.next.offset} on "
                f"(record {summary.progress.next.record}); the records before it are published "
                "and the framing audit is in the audit topic"
                if summary.progress.framing_failed
                else "records read != published + rejected"
            )
            self._failed(work, why, receipt)
            return
        outcome = "duplicate" if duplicate else "processed"
        path = receipts.finish(inbox, claimed, receipt)
        self.metrics.file_done(profile, outcome, receipt)
        self.metrics.stage_seconds.labels(profile, "file").observe(time.time() - work.claimed)
        log.info(
            "duplicate: published before, nothing published" if outcome == "duplicate" else "done",
            extra={**ctx, "receipt": str(path), "exit_code": status, "counts": receipt["counts"]},
        )

    def _failed(self, work: _Work, reason: str, receipt: dict[str, Any] | None) -> None:
        inbox = work.inbox
        claimed = self.claims.folder(inbox) / work.name
        path = receipts.fail(inbox, claimed, reason, receipt)
        self.metrics.file_done(inbox.profile, "failed", receipt or {})
        log.error("failed", extra={**_context(inbox, work.name), "reason_file": str(path)})

    def _feed_cache(self, inbox: Inbox, summary: Summary) -> dict[str, Any] | None:
        """The materializer, in this process, until Redis holds the file's last events."""
        if not self.settings.daemon.cache or summary.topics is None:
            return None
        topic = summary.topics.events
        offsets = summary.progress.offsets.get(topic, {})
        targets = {(topic, int(p)): int(span[1]) + 1 for p, span in offsets.items()}
        if not targets:
            return {"holds_last_events": True, "applied": 0}
        if not self.readiness.reachable.get("redis", True):
            # The materializer would wait for Redis and hold every other file back; the next
            # file's catch-up (or a `bridge cache`) applies these events from Kafka later.
            log.warning("Redis unreachable: the cache catches up later", extra=_context(inbox, ""))
            return {"holds_last_events": False, "skipped": "Redis unreachable"}
        cfg = load_cache_config(self.config_path)
        try:
            store = CacheStore(connect(cfg.redis_url, timeout=cfg.redis_timeout), cfg.namespace)
            # Static membership: a restarted daemon (same name) takes its place in the cache's
            # group at once, where a new member would wait out the dead one's session (45 s).
            kafka = {**cfg.kafka, "group.instance.id": f"bridge-daemon-{self.settings.daemon.name}"}
            materializer = Materializer(
                kafka, [topic], store, group=cfg.group,
                rules={inbox.runtime.mapping.name: rules_for(inbox.runtime.mapping)},
                batch=cfg.batch,
            )  # fmt: skip
            reached = catch_up(
                materializer,
                targets,
                timeout=self.settings.daemon.cache_timeout,
                stop=self.stopping,
            )
        except Exception as exc:  # Kafka holds the events; the next file catches the cache up
            log.warning("cache not fed: %s", type(exc).__name__, extra=_context(inbox, ""))
            return {"holds_last_events": False, "error": type(exc).__name__}
        stats = materializer.stats
        self.metrics.cache_lag.labels(inbox.profile).set(stats.lag_records)
        if not reached:
            log.warning("Redis does not hold the file's last events yet; the cache catches up")
        return {"holds_last_events": reached, "applied": stats.applied, "stale": stats.stale}


def _release_free_memory() -> None:
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_MALLOC_TRIM = _malloc_trim()


def _context(inbox: Inbox, name: str) -> dict[str, Any]:
    return {"inbox": str(inbox.path), "profile": inbox.profile, "file": name}


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _earlier_life(inbox: Inbox, name: str, summary: Summary) -> bool:
    """Whether a complete run found in Kafka is this very arrival's, finished by a daemon that
    died before its receipt (the run's file was ``NAME`` in this inbox's claims, and no
    receipt of that content and name was written beside a processed file): not a duplicate."""
    ran_as = Path(summary.progress.file.path)
    if ran_as.name != name or ran_as.parent.parent != inbox.claims:
        return False
    sha = summary.progress.file.sha256
    for receipt in inbox.processed.glob(f"{glob.escape(name)}*.receipt.json"):
        done_as = receipt.name.removesuffix(".receipt.json")
        if done_as != name and not done_as.startswith(f"{name}."):
            continue
        try:
            same = json.loads(receipt.read_text()).get("sha256") == sha
        except (OSError, ValueError):
            continue
        if same and os.path.lexists(inbox.processed / done_as):
            return False  # published and received before: this arrival is a second copy
    return True


def _receipt(
    daemon: str,
    work: _Work,
    summary: Summary,
    duplicate: bool,
    started: float,
    replayed: float,
    ended: float,
) -> dict[str, Any]:
    doc = summary.document()
    p = summary.progress
    return {
        "format": receipts.RECEIPT_FORMAT,
        "file": work.name,
        "inbox": str(work.inbox.path),
        "profile": work.inbox.profile,
        "daemon": daemon,
        "sha256": p.file.sha256,
        "size": p.file.size,
        "outcome": "duplicate" if duplicate else "published",
        "duplicate": duplicate,
        # published by an earlier life of a daemon that died before writing this receipt
        "completed_before": summary.outcome == "already-complete" and not duplicate,
        "exit_code": summary.exit_code,
        "run": p.run,
        "mapping": p.mapping,
        "counts": doc["counts"],
        "reconciled": p.counts.reconciled,
        "published_now": summary.published_now,
        "rejected_now": summary.rejected_now,
        "resumed_from": doc.get("resumed_from"),
        "topics": doc.get("topics"),
        "offsets": p.offsets,
        "chain": doc["chain"],
        "first_published": {"started": p.started, "ended": p.updated} if duplicate else None,
        "arrived": _iso(work.arrived),
        "claimed": _iso(work.claimed),
        "finished": _iso(ended),
        "durations": {
            "wait_s": round(max(0.0, work.claimed - work.arrived), 3),
            "replay_s": round(replayed - started, 3),
            "cache_s": round(ended - replayed, 3),
            "total_s": round(ended - work.claimed, 3),
        },
    }
