"""Which files of an inbox are complete, in arrival order, and which inbox serves next.

A file is complete when its trigger file (``NAME.done``, the inbox's ``trigger``) exists, or
when the inbox has no trigger and the file arrived by an atomic rename; in both cases its size
and mtime must also have stayed the same for ``settle`` seconds (a transfer that still writes
is never read). Names starting with ``.`` (a transfer's temporary name before its rename) and
the inbox's own folders are ignored. Arrival order is the trigger's mtime (else the file's),
then the name. Kernel notifications (watchfiles) wake the daemon early; the periodic rescan
is what makes the result right, so nothing is missed after a restart or a lost notification.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from watchfiles import watch

from bridge.daemon.settings import Inbox

__all__ = ["Arrival", "Scanner", "Watcher", "fair_order"]

RESERVED = {"processed", "failed", ".claims"}


@dataclass(frozen=True)
class Arrival:
    inbox: Inbox
    name: str
    arrived: float  # epoch seconds: the trigger's mtime, else the file's
    size: int


class Scanner:
    """Complete files per inbox; remembers what it saw to tell a stable file from a growing
    one (the first sighting of a file never makes it ready)."""

    def __init__(self, settle: float) -> None:
        self.settle = settle
        self._seen: dict[Path, tuple[int, int, float]] = {}  # path -> size, mtime_ns, since
        self._pending: dict[Path, int] = {}  # per inbox: files seen but not complete yet

    @property
    def pending(self) -> int:
        """Files seen but not yet complete at each inbox's last scan (worth an early look)."""
        return sum(self._pending.values())

    def ready(self, inbox: Inbox, now: float | None = None) -> list[Arrival]:
        now = time.time() if now is None else now
        try:
            entries = list(os.scandir(inbox.path))
        except OSError:
            return []
        names = {e.name for e in entries}
        out: list[Arrival] = []
        pending = 0
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name in RESERVED:
                continue
            if inbox.trigger and name.endswith(inbox.trigger):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.is_dir(follow_symlinks=False):
                continue
            path = Path(entry.path)
            key = (st.st_size, st.st_mtime_ns)
            before = self._seen.get(path)
            if before is None or before[:2] != key:
                self._seen[path] = (*key, now)
                pending += 1
                continue
            stable = now - before[2] >= self.settle and now - st.st_mtime >= self.settle
            trigger_mtime: float | None = None
            if inbox.trigger:
                if name + inbox.trigger not in names:
                    pending += 1
                    continue
                try:
                    trigger_mtime = os.stat(path.with_name(name + inbox.trigger)).st_mtime
                except OSError:
                    pending += 1
                    continue
            if not stable:
                pending += 1
                continue
            arrived = trigger_mtime if trigger_mtime is not None else st.st_mtime
            out.append(Arrival(inbox, name, arrived, st.st_size))
        self._pending[inbox.path] = pending
        self._forget(inbox.path, names)
        out.sort(key=lambda a: (a.arrived, a.name))
        return out

    def taken(self, arrival: Arrival) -> None:
        self._seen.pop(arrival.inbox.path / arrival.name, None)

    def _forget(self, folder: Path, names: set[str]) -> None:
        for path in [p for p in self._seen if p.parent == folder and p.name not in names]:
            del self._seen[path]


def fair_order(per_inbox: Sequence[list[Arrival]]) -> Iterator[Arrival]:
    """Round robin over the inboxes, each in its own arrival order: a busy inbox cannot hold
    back a quiet one by more than one file."""
    queues = [list(q) for q in per_inbox if q]
    i = 0
    while queues:
        i %= len(queues)
        yield queues[i].pop(0)
        if not queues[i]:
            del queues[i]
        else:
            i += 1


class Watcher:
    """Kernel notifications on the inbox folders, in a thread: each change sets ``wake``."""

    def __init__(self, folders: Iterable[Path], wake: threading.Event) -> None:
        self.folders = [str(f) for f in folders]
        self.wake = wake
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="inbox-watcher", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        try:
            for _ in watch(
                *self.folders,
                stop_event=self.stop,
                recursive=False,
                debounce=200,
                rust_timeout=1000,
            ):
                self.wake.set()
        except Exception:  # the rescan still finds every file: notifications only speed it up
            logging.getLogger(__name__).warning("kernel notifications stopped; rescans go on")
