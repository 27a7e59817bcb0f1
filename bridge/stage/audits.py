"""Audit documents of the record stage: a rejected record's, and the unframed rest of a file's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge.copybook.layout import Layout
from bridge.decode.framing import FramingError, RecordSpan
from bridge.decode.verdict import FieldError, RecordResult, in_file
from bridge.mapping.audit import AuditContext
from bridge.mapping.program import Program
from bridge.mapping.reasons import Violation
from bridge.mapping.redact import redaction_plan
from bridge.stage.batch import RejectedRecord

__all__ = ["FRAMING_RAW_LIMIT", "audit_context", "framing_audit", "reject", "unknown_type"]

# The most bytes a framing audit document carries: enough to see what went wrong.
FRAMING_RAW_LIMIT = 64 * 1024


def audit_context(program: Program, path: str | Path) -> AuditContext:
    mapping = program.mapping
    layout = program.layout(mapping.discriminator.cases[0].name if mapping.discriminator else None)
    return AuditContext.for_file(
        path,
        layout_name=layout.name,
        fingerprint=layout.fingerprint,
        mapping_name=mapping.name,
        mapping_version=mapping.version,
        schema_id=program.schema_id,
        pii_key_id=mapping.pii_key.key_id if mapping.pii_key else None,
        redaction=redaction_plan(program),
    )


def unknown_type(
    program: Program, violation: Violation, record: bytes, span: RecordSpan
) -> Violation:
    """An unknown record type's violation with the discriminator's place and bytes (its
    offset counted as if contiguous; reject places it in a spanned record's piece)."""
    path = violation.path
    item = next((f for lay in program.layouts for f in lay.fields() if f.path == path), None)
    if item is None:
        return violation
    raw = record[item.offset : item.offset + item.length].hex()
    return violation.located(path, span.offset + item.offset, item.length, raw)


def reject(
    context: AuditContext,
    stage: str,
    result: RecordResult,
    record: bytes,
    reasons: Any,
    case: str | None = None,
    layout: Layout | None = None,
) -> RejectedRecord:
    """``layout``: the case's record layout, named in the audit (None: the run's first)."""
    reasons_list: list[Violation | FieldError] = list(reasons)
    if result.segments:  # field errors come placed; a validator's offsets count as contiguous
        reasons_list = [
            replace(r, offset=in_file(r.offset, result.offset, result.segments))
            if isinstance(r, Violation) and r.offset is not None
            else r
            for r in reasons_list
        ]
    audit = context.record(
        stage=stage,
        record_number=result.record,
        offset=result.offset,
        raw=record,
        reasons=reasons_list,
        case=case,
        segments=result.segments,
        layout=layout,
    )
    return RejectedRecord(result.record, result.offset, stage, audit)


def framing_audit(
    context: AuditContext, exc: FramingError, path: str | Path, done_to: int, number: int
) -> dict[str, Any]:
    """The bytes from where framing failed, as a ``framing`` audit document numbered as the
    record that would have come next (at most FRAMING_RAW_LIMIT of them). It starts at
    ``done_to`` or at the error if before (a file shorter than its header): its Rejected
    stands where it starts."""
    at = getattr(exc, "offset", done_to)
    start = min(done_to, at)
    with Path(path).open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(start)
        raw = fh.read(FRAMING_RAW_LIMIT)
    reason = Violation("framing", "framing", str(exc), offset=at, length=max(0, size - at))
    return context.record(
        stage="framing",
        record_number=number,
        offset=start,
        raw=raw,
        reasons=[reason],
        length=size - start,
    )
