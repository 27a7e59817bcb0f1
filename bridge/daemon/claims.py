"""Several daemons on one inbox: each file is claimed by one of them, a dead one's claims are
taken over.

A claim is an atomic rename of the file (then of its trigger) into the daemon's own folder,
``INBOX/.claims/NAME/``: of two daemons renaming the same file, exactly one succeeds. Each
daemon touches ``.claims/NAME/.heartbeat`` every few seconds from a thread of its own (so a
long file does not look like a death); a folder whose heartbeat is older than ``takeover``
seconds belongs to a dead daemon, and its files are renamed into the taker's folder, again
atomically. Publishing does not depend on the claims being right: the replay engine's
transactional.id is per file SHA-256, so a daemon wrongly thought dead is fenced by the one
that took its file over and cannot commit anything more of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from bridge.daemon.settings import Inbox

__all__ = ["Claims", "Heartbeat"]

log = logging.getLogger("bridge.daemon")
HEARTBEAT = ".heartbeat"


class Claims:
    def __init__(self, name: str, takeover: float) -> None:
        self.name = name
        self.takeover = takeover

    def folder(self, inbox: Inbox) -> Path:
        return inbox.claims / self.name

    def prepare(self, inbox: Inbox) -> None:
        for folder in (self.folder(inbox), inbox.processed, inbox.failed):
            folder.mkdir(parents=True, exist_ok=True)
        self.beat(inbox)

    def beat(self, inbox: Inbox) -> None:
        (self.folder(inbox) / HEARTBEAT).touch()

    def held(self, inbox: Inbox) -> list[str]:
        """The files already in this daemon's folder (a previous life's, or taken over),
        oldest first."""
        folder = self.folder(inbox)
        names = []
        for entry in os.scandir(folder):
            if entry.name.startswith(".") or (inbox.trigger and entry.name.endswith(inbox.trigger)):
                continue
            names.append((entry.stat(follow_symlinks=False).st_mtime, entry.name))
        return [n for _, n in sorted(names)]

    def claim(self, inbox: Inbox, name: str) -> bool:
        """Rename ``name`` into this daemon's folder; False when another daemon was first (or
        a file of that name is still being worked on here)."""
        target = self.folder(inbox) / name
        if os.path.lexists(target):
            return False
        try:
            os.rename(inbox.path / name, target)
        except FileNotFoundError:
            return False
        if inbox.trigger:
            with contextlib.suppress(FileNotFoundError):  # a file without trigger: taken over
                os.rename(
                    inbox.path / (name + inbox.trigger), target.with_name(name + inbox.trigger)
                )
        return True

    def take_over(self, inbox: Inbox, now: float | None = None) -> list[str]:
        """Files of daemons whose heartbeat is older than ``takeover``, renamed into this
        daemon's folder; their names."""
        now = time.time() if now is None else now
        taken: list[str] = []
        try:
            folders = [Path(e.path) for e in os.scandir(inbox.claims) if e.is_dir()]
        except FileNotFoundError:
            return taken
        mine = self.folder(inbox)
        for folder in folders:
            if folder == mine:
                continue
            try:
                last = os.stat(folder / HEARTBEAT).st_mtime
            except FileNotFoundError:
                last = os.stat(folder).st_mtime
            if now - last < self.takeover:
                continue
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.name == HEARTBEAT or os.path.lexists(mine / entry.name):
                    continue
                try:
                    os.rename(entry.path, mine / entry.name)
                except FileNotFoundError:
                    continue  # another daemon took it first
                if not (inbox.trigger and entry.name.endswith(inbox.trigger)):
                    taken.append(entry.name)
                    log.warning(
                        "took over a claim of a silent daemon",
                        extra={"inbox": str(inbox.path), "file": entry.name, "from": folder.name},
                    )
        return taken


class Heartbeat:
    """Touches every inbox's heartbeat from a thread of its own."""

    def __init__(self, claims: Claims, inboxes: Iterable[Inbox], interval: float) -> None:
        self.claims = claims
        self.inboxes = list(inboxes)
        self.interval = interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            for inbox in self.inboxes:
                try:
                    self.claims.beat(inbox)
                except OSError as exc:
                    log.warning(
                        "heartbeat failed: %s", exc.strerror, extra={"inbox": str(inbox.path)}
                    )
