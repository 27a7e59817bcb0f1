"""The progress record (compacted progress topic, keyed by the file's SHA-256) and the file
summary (control topic): what a replay commits with every chunk, and once at the end.

Both are compact JSON objects. A progress record::

    {"format": "bridge.progress/1", "file": {"path", "sha256", "size"},
     "mapping": {"name", "version", "fingerprint", "schema_id"}, "run": 1,
     "next": {"record", "offset", "block_end"}, "counts": {...}, "chain": {"entries", "head"},
     "offsets": {topic: {partition: [first, last]}}, "complete": false,
     "framing_failed": false, "started": RFC 3339, "updated": RFC 3339}

The summary is the last progress record's content with ``"format": "bridge.summary/1"``,
``"ended"`` and ``"reconciled"``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bridge.engine.chain import ChainHead
from bridge.stage.batch import Checkpoint

__all__ = ["PROGRESS_FORMAT", "SUMMARY_FORMAT", "Counts", "FileRef", "Progress", "now"]

PROGRESS_FORMAT = "bridge.progress/1"
SUMMARY_FORMAT = "bridge.summary/1"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Counts:
    """Records read, events published and records rejected (by stage and by rule)."""

    read: int = 0
    published: int = 0
    rejected: int = 0
    by_stage: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)

    @property
    def reconciled(self) -> bool:
        return self.read == self.published + self.rejected

    def to_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "published": self.published,
            "rejected": self.rejected,
            "rejected_by_stage": dict(sorted(self.by_stage.items())),
            "rejected_by_rule": dict(sorted(self.by_rule.items())),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Counts:
        return cls(
            int(value["read"]),
            int(value["published"]),
            int(value["rejected"]),
            Counter(value.get("rejected_by_stage", {})),
            Counter(value.get("rejected_by_rule", {})),
        )

    def copy(self) -> Counts:
        return Counts(
            self.read, self.published, self.rejected, Counter(self.by_stage), Counter(self.by_rule)
        )


@dataclass(frozen=True)
class FileRef:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Progress:
    file: FileRef
    mapping: dict[str, Any]
    run: int
    next: Checkpoint
    counts: Counts
    chain: ChainHead
    offsets: dict[str, Any]
    complete: bool = False
    framing_failed: bool = False
    started: str = field(default_factory=now)
    updated: str = field(default_factory=now)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PROGRESS_FORMAT,
            "file": {"path": self.file.path, "sha256": self.file.sha256, "size": self.file.size},
            "mapping": self.mapping,
            "run": self.run,
            "next": self.next.to_json(),
            "counts": self.counts.to_json(),
            "chain": self.chain.to_json(),
            "offsets": self.offsets,
            "complete": self.complete,
            "framing_failed": self.framing_failed,
            "started": self.started,
            "updated": self.updated,
        }

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    def summary(self, ended: str) -> dict[str, Any]:
        doc = self.to_json()
        doc["format"] = SUMMARY_FORMAT
        doc["ended"] = ended
        doc["reconciled"] = self.counts.reconciled
        del doc["updated"]
        return doc

    @classmethod
    def decode(cls, raw: bytes) -> Progress:
        doc = json.loads(raw)
        if doc.get("format") != PROGRESS_FORMAT:
            raise ValueError(f"not a progress record (format {doc.get('format')!r})")
        f = doc["file"]
        return cls(
            file=FileRef(f["path"], f["sha256"], int(f["size"])),
            mapping=doc["mapping"],
            run=int(doc["run"]),
            next=Checkpoint.from_json(doc["next"]),
            counts=Counts.from_json(doc["counts"]),
            chain=ChainHead.from_json(doc["chain"]),
            offsets=doc["offsets"],
            complete=bool(doc["complete"]),
            framing_failed=bool(doc.get("framing_failed", False)),
            started=doc["started"],
            updated=doc["updated"],
        )

    def advanced(self, **changes: Any) -> Progress:
        return replace(self, updated=now(), **changes)
