"""The audit record: one JSON document per rejected record (schemas/audit-record.schema.json).

It carries everything needed to find, understand and replay the rejection without the source
system: which file (path and SHA-256), which record (number, byte offset, length, the raw bytes),
which layout and mapping judged it, at which stage, and every reason in the shared format
(reasons.py). Under a mapping with protected fields (PII, masked, hashed) the context's
redaction plan (redact.py, docs/audit.md) withholds their bytes and values; otherwise the raw
bytes are the record's as it is.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from bridge.copybook.layout import Layout
from bridge.decode.verdict import FieldError, Segments
from bridge.mapping.model import SCHEMA_DIR
from bridge.mapping.reasons import Violation
from bridge.mapping.redact import Redaction

AUDIT_SCHEMA_PATH = SCHEMA_DIR / "audit-record.schema.json"
AUDIT_VERSION = 1
STAGES = ("framing", "decode", "validate")


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@cache
def audit_schema() -> dict[str, Any]:
    with AUDIT_SCHEMA_PATH.open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@dataclass(frozen=True)
class AuditContext:
    """What every audit record of one run over one file shares."""

    source_path: str
    source_sha256: str
    layout_name: str
    fingerprint: str
    mapping_name: str | None = None
    mapping_version: str | None = None
    schema_id: str | None = None
    pii_key_id: str | None = None
    redaction: Redaction | None = None  # what the documents withhold (None: nothing)

    @classmethod
    def for_file(cls, path: str | Path, **kwargs: Any) -> AuditContext:
        return cls(source_path=str(path), source_sha256=file_sha256(path), **kwargs)

    def record(
        self,
        *,
        stage: str,
        record_number: int,
        offset: int,
        raw: bytes,
        reasons: Iterable[Violation | FieldError],
        length: int | None = None,
        case: str | None = None,
        time: datetime | None = None,
        segments: Segments = (),
        layout: Layout | None = None,
    ) -> dict[str, Any]:
        """The audit document of one rejected record (``segments``: a spanned record's pieces
        in the file; ``raw`` is then the pieces joined; ``layout``: the record layout it was judged
        with, in a multi-layout file, when it is not the run's first)."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}: {stage!r}")
        listed = [
            (r if isinstance(r, Violation) else Violation.from_field_error(r)).to_json()
            for r in reasons
        ]
        if not listed:
            raise ValueError("an audit record needs at least one reason")
        moment = (time or datetime.now(UTC)).astimezone(UTC)
        record: dict[str, Any] = {
            "number": record_number,
            "offset": offset,
            "length": len(raw) if length is None else length,
            "raw_base64": base64.b64encode(raw).decode("ascii"),
        }
        if segments:
            record["segments"] = [{"offset": at, "length": n} for at, n in segments]
        document = {
            "audit_version": AUDIT_VERSION,
            "time": moment.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "stage": stage,
            "source": {"path": self.source_path, "sha256": self.source_sha256},
            "record": record,
            "layout": (
                {"name": layout.name, "fingerprint": layout.fingerprint}
                if layout is not None
                else {"name": self.layout_name, "fingerprint": self.fingerprint}
            ),
            "mapping": (
                {
                    "name": self.mapping_name,
                    "version": self.mapping_version,
                    "schema_id": self.schema_id,
                    "pii_key_id": self.pii_key_id,
                }
                if self.mapping_name is not None
                else None
            ),
            "case": case,
            "reasons": listed,
        }
        if self.redaction is None:
            return document
        return self.redaction.apply(
            document, raw, listed, case=case, offset=offset, segments=segments
        )


def audit_json(record: Mapping[str, Any]) -> str:
    """One line of compact JSON, as it goes on the audit queue."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
