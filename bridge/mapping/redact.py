"""What an audit document withholds: the PII policy of a mapping applied to the audit queue.

The redaction plan is built once per run from the mapping and its layouts (``redaction_plan``):
the byte ranges of every field the mapping classifies ``pii`` or protects (mask, hash), and of
dropped fields when ``audit.redact_dropped`` says so, for each case's own layout. Applied to an
audit document it fills those bytes of ``record.raw_base64`` with X'00', lists the ranges, and
strips ``raw``, ``actual`` and the message text from every reason on a protected field, giving a
keyed HMAC of the raw bytes instead. A framing audit (bytes that did not frame into records)
carries no clear bytes at all. With a seal key the original goes along sealed (sealing.py).
docs/audit.md is the contract. A mapping without protected fields gets no plan: its audit
documents are unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.copybook.layout import Field, Layout
from bridge.decode.verdict import Segments
from bridge.mapping.apply import Mapper
from bridge.mapping.model import Classification, MappingDoc, PiiPolicyKind
from bridge.mapping.program import Program, load_pii_key
from bridge.mapping.sealing import Sealer, load_sealer

FILLER = 0x00  # never valid packed or zoned data, so a redacted field cannot pass for a value
HMAC_ALGORITHM = "HMAC-SHA256"

_SUBSCRIPT = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class Span:
    """The bytes of one protected item (one occurrence of a table item) in its record."""

    path: str  # layout path with 0-based subscripts
    offset: int  # from the record's first byte
    length: int


def protected_sources(mapping: MappingDoc) -> frozenset[str]:
    """Layout paths whose bytes audits withhold (an item below one is withheld too)."""
    paths = {
        s.source
        for s in mapping.fields
        if s.classification is Classification.PII or s.protection is not PiiPolicyKind.KEEP
    }
    if mapping.audit.redact_dropped:
        paths.update(d.source for d in mapping.drops)
    return frozenset(paths)


def _under(path: str, protected: frozenset[str]) -> bool:
    parts = _SUBSCRIPT.sub("", path).split(".")
    return any(".".join(parts[:n]) in protected for n in range(1, len(parts) + 1))


def layout_spans(layout: Layout, protected: frozenset[str]) -> tuple[Span, ...]:
    """Every protected item's bytes in a record of ``layout``, one span per occurrence, in
    record order. An item an OCCURS DEPENDING ON table moves cannot be placed without the
    record's counts: its span runs from the first such table's start to the record's end."""
    items = {f.path: f for f in layout.fields()}
    odo = [f.offset for f in items.values() if f.occurs and f.occurs.depending_on]
    spans: list[Span] = []
    for item in items.values():
        if item.level == 66 or item.renames is not None or item.path not in protected:
            continue
        if _under(item.path.rpartition(".")[0], protected):
            continue  # inside a protected group: its bytes are in the group's span
        if item.variable_offset and odo:
            spans.append(Span(item.path, min(odo), layout.record_length - min(odo)))
            continue
        spans.extend(_occurrences(item, items))
    return tuple(sorted(spans, key=lambda s: (s.offset, s.path)))


def _occurrences(item: Field, items: Mapping[str, Field]) -> Iterator[Span]:
    """One span per occurrence of ``item`` in the tables around it (and its own OCCURS)."""
    parts = item.path.split(".")
    tables = [
        items[p]
        for p in (".".join(parts[:n]) for n in range(1, len(parts) + 1))
        if items[p].occurs is not None
    ]
    counts = [range(t.occurs.max if t.occurs else 1) for t in tables]
    for index in itertools.product(*counts):
        offset = item.offset + sum(i * t.length for i, t in zip(index, tables, strict=True))
        path = item.path
        for t, i in reversed(list(zip(tables, index, strict=True))):
            path = f"{t.path}[{i}]{path[len(t.path) :]}"
        yield Span(path, offset, item.length)


def file_pieces(offset: int, length: int, record_offset: int, segments: Segments) -> list[Any]:
    """Where ``length`` bytes at ``offset`` in a record lie in the file (a spanned record's
    bytes may lie in several pieces)."""
    if not segments:
        return [{"offset": record_offset + offset, "length": length}]
    out = []
    pos, end = offset, offset + length
    start = 0
    for at, n in segments:
        lo, hi = max(pos, start), min(end, start + n)
        if lo < hi:
            out.append({"offset": at + lo - start, "length": hi - lo})
        start += n
    return out


def in_record(file_offset: int, record_offset: int, segments: Segments) -> int | None:
    """Where a byte of the file lies in a record (the pieces of a spanned one joined); None
    when it is in none of its pieces."""
    if not segments:
        return file_offset - record_offset
    start = 0
    for at, n in segments:
        if at <= file_offset < at + n:
            return start + file_offset - at
        start += n
    return None


@dataclass(frozen=True)
class Redaction:
    """A run's redaction plan: what every audit document of the run withholds, and how."""

    spans: Mapping[str | None, tuple[Span, ...]]  # by case; None: a record of no known case
    protected: frozenset[str]
    mapper: Mapper = field(repr=False)
    hmac_key: bytes | None = field(default=None, repr=False)
    key_id: str | None = None
    sealer: Sealer | None = None

    def apply(
        self,
        document: dict[str, Any],
        raw: bytes,
        reasons: Sequence[Mapping[str, Any]],
        *,
        case: str | None,
        offset: int,
        segments: Segments,
    ) -> dict[str, Any]:
        """The audit document with its protected bytes and values withheld (``raw`` and
        ``reasons``: the record's bytes and reasons in clear, as the document had them)."""
        record = document["record"]
        ranges: list[dict[str, Any]] = []
        withheld: dict[str, int] | None = None
        if document["stage"] == "framing":  # no fields to tell apart: no clear byte at all
            record["raw_base64"] = ""
            withheld = {"offset": offset, "length": len(raw)}
        else:
            clear = bytearray(raw)
            for span in self.spans.get(case, self.spans[None]):
                n = min(span.length, len(raw) - span.offset)
                if n <= 0:
                    continue
                clear[span.offset : span.offset + n] = bytes([FILLER]) * n
                ranges.append(
                    {
                        "path": span.path,
                        "offset": span.offset,
                        "length": n,
                        "file": file_pieces(span.offset, n, offset, segments),
                    }
                )
            record["raw_base64"] = base64.b64encode(bytes(clear)).decode("ascii")
        hidden = [(r["offset"], r["offset"] + r["length"]) for r in ranges]
        document["reasons"] = [
            self._reason(r, case) if self._protects(r, case, hidden, offset, segments) else dict(r)
            for r in reasons
        ]
        document["redaction"] = {
            "filler": f"{FILLER:02x}",
            "ranges": ranges,
            "withheld": withheld,
            "hmac": (
                {"algorithm": HMAC_ALGORITHM, "key_id": self.key_id}
                if self.hmac_key is not None
                else None
            ),
        }
        if self.sealer is not None:
            document["sealed"] = self.sealer.seal(
                {
                    "source_sha256": document["source"]["sha256"],
                    "record_number": record["number"],
                    "offset": record["offset"],
                    "raw_base64": base64.b64encode(raw).decode("ascii"),
                    "reasons": list(reasons),
                }
            )
        return document

    def _protects(
        self,
        reason: Mapping[str, Any],
        case: str | None,
        hidden: list[tuple[int, int]],
        offset: int,
        segments: Segments,
    ) -> bool:
        """Whether a reason is on protected bytes (``hidden``: redacted [start, end) in the
        record), a protected field's path, or a protected field's event pointer."""
        if reason.get("check") == "framing":
            return False  # offsets, lengths and descriptor bytes: no field's value
        at, n = reason.get("offset"), reason.get("length")
        start = None if at is None else in_record(at, offset, segments)
        if start is not None and n and any(lo < start + n and start < hi for lo, hi in hidden):
            return True
        path = reason.get("path")
        if path and _under(path, self.protected):
            return True
        pointer = reason.get("pointer")
        if pointer:
            for c in [case] if case is not None or None in self.mapper.plans else self.mapper.plans:
                try:
                    site = self.mapper.site(pointer, c)
                except (KeyError, ValueError, IndexError):
                    continue
                if site is not None and _under(site.path, self.protected):
                    return True
        return False

    def _reason(self, reason: Mapping[str, Any], case: str | None) -> dict[str, Any]:
        """A reason on a protected field: rule, place and length, never the value."""
        digest: str | None = None
        of: str | None = None
        if self.hmac_key is not None:
            if reason.get("raw") is not None:
                data, of = bytes.fromhex(reason["raw"]), "raw"
            elif reason.get("actual") is not None:
                text = json.dumps(reason["actual"], ensure_ascii=False, sort_keys=True)
                data, of = text.encode(), "value"
            if of is not None:
                digest = hmac.new(self.hmac_key, data, hashlib.sha256).hexdigest()
        out = dict(reason)
        out["actual"] = None
        out["raw"] = None
        where = reason.get("path") or reason.get("pointer") or "a protected field"
        out["message"] = f"{where}: {reason['rule']} failed; the value is redacted"
        out["redacted"] = {"hmac_sha256": digest, "of": of, "key_id": self.key_id}
        return out


def redaction_plan(program: Program, environ: Mapping[str, str] | None = None) -> Redaction | None:
    """The plan for a run of the program's mapping, or None when it protects nothing. The HMAC
    key is the mapping's pii_key (MappingError when it names one that cannot be read); a mapping
    naming none gives reasons without a digest. The seal key likewise, when ``audit.seal_key``
    names one."""
    mapping = program.mapping
    protected = protected_sources(mapping)
    if not protected:
        return None
    cases = [c.name for c in mapping.discriminator.cases] if mapping.discriminator else [None]
    spans: dict[str | None, tuple[Span, ...]] = {
        case: layout_spans(program.layout(case), protected) for case in cases
    }
    if None not in spans:  # a record of no known case: whatever any case protects
        spans[None] = tuple(
            sorted({s for v in spans.values() for s in v}, key=lambda s: (s.offset, s.path))
        )
    pii_key = program.pii_key
    if pii_key is None and mapping.pii_key is not None:
        pii_key = load_pii_key(mapping.pii_key, environ)
    sealer = load_sealer(mapping.audit.seal_key, environ) if mapping.audit.seal_key else None
    return Redaction(
        spans,
        protected,
        program.mapper,
        pii_key,
        mapping.pii_key.key_id if mapping.pii_key and pii_key is not None else None,
        sealer,
    )
