"""Where a file ends: ``processed/`` with ``NAME.receipt.json`` beside it, or ``failed/`` with
``NAME.reason.txt``. Nothing is deleted: a name already there gets ``.1``, ``.2``, ... The
receipt is written (atomically) before the file moves, so a crash between the two leaves the
file claimed with its receipt already there, and the next attempt keeps that receipt.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bridge.daemon.settings import Inbox

__all__ = ["RECEIPT_FORMAT", "fail", "finish", "free_name", "receipt_path"]

RECEIPT_FORMAT = "bridge.receipt/1"


def free_name(folder: Path, name: str, *, beside: tuple[str, ...] = ()) -> str:
    """``name``, or ``name.N`` for the first N for which neither it nor its companions
    (``name + suffix`` for each suffix in ``beside``) exist in ``folder``."""
    candidate, n = name, 0
    while os.path.lexists(folder / candidate) or any(
        os.path.lexists(folder / (candidate + s)) for s in beside
    ):
        n += 1
        candidate = f"{name}.{n}"
    return candidate


def receipt_path(inbox: Inbox, name: str) -> Path:
    return inbox.processed / f"{name}.receipt.json"


def finish(inbox: Inbox, claimed: Path, receipt: dict[str, Any]) -> Path:
    """Write the receipt into processed/ and move the file (and its trigger) beside it; the
    receipt's path."""
    name = _existing(inbox, claimed.name, str(receipt.get("sha256")))
    if name is None:
        name = free_name(inbox.processed, claimed.name, beside=(".receipt.json",))
        receipt["processed_as"] = name
        _write_atomic(inbox.processed / f"{name}.receipt.json", _dump(receipt))
    _move(inbox, claimed, inbox.processed / name)
    return inbox.processed / f"{name}.receipt.json"


def fail(inbox: Inbox, claimed: Path, reason: str, receipt: dict[str, Any] | None) -> Path:
    """Move the file (and its trigger) into failed/ with ``NAME.reason.txt`` (and the
    receipt of what was published, when there is one); the reason file's path."""
    name = free_name(inbox.failed, claimed.name, beside=(".reason.txt",))
    if receipt is not None:
        receipt["failed_as"] = name
        _write_atomic(inbox.failed / f"{name}.receipt.json", _dump(receipt))
    _write_atomic(inbox.failed / f"{name}.reason.txt", reason.rstrip("\n") + "\n")
    _move(inbox, claimed, inbox.failed / name)
    return inbox.failed / f"{name}.reason.txt"


def _existing(inbox: Inbox, name: str, sha256: str) -> str | None:
    """The processed/ name whose receipt already describes this content and has no file beside
    it yet (a crash between receipt and move)."""
    candidate, n = name, 0
    while os.path.lexists(inbox.processed / f"{candidate}.receipt.json"):
        if not os.path.lexists(inbox.processed / candidate):
            try:
                doc = json.loads((inbox.processed / f"{candidate}.receipt.json").read_text())
            except (OSError, ValueError):
                doc = {}
            if doc.get("sha256") == sha256:
                return candidate
        n += 1
        candidate = f"{name}.{n}"
    return None


def _move(inbox: Inbox, claimed: Path, target: Path) -> None:
    os.rename(claimed, target)
    if inbox.trigger:
        trigger = claimed.with_name(claimed.name + inbox.trigger)
        if os.path.lexists(trigger):
            os.rename(trigger, target.with_name(target.name + inbox.trigger))


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
