"""The record stage (judge_file) against the reference framing, for every framing.

Seeded random files of a few hundred records, some with bytes that do not decode, some with
values that break the mapping's constraints, some with their framing broken part way, judged
with events written in C and by the Python mapper alike. The oracle is ``frame()``: one
outcome per span, in order, where the span is, holding the span's bytes (a short line's own
bytes, a spanned record's pieces joined), with reasons pointing at the record's bytes in the
file; then exactly one framing audit iff ``frame()`` raised, starting where the last record
ends (or at the error, if before), with the reference's offset and message.
"""

from __future__ import annotations

import base64
import json
import random
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bridge.copybook.layout import Layout
from bridge.decode.framing import FramingError, RecordSpan
from bridge.decode.verdict import record_bytes, record_end
from bridge.stage.audits import FRAMING_RAW_LIMIT
from bridge.stage.records import Event, Rejected, judge_file
from tests.volume import volume

from ..descriptors import rdw
from .files import (
    CASES,
    DAMAGE,
    PII,
    comparable,
    damaged,
    layouts_of,
    load_runtime,
    make_bodies,
    make_file,
    reference_spans,
    small_batches,
)

ROOT = Path(__file__).resolve().parents[3]
AUDIT = jsonschema.Draft202012Validator(
    json.loads((ROOT / "schemas/audit-record.schema.json").read_text())
)


def _field_place(layouts: dict[str, Layout], reason: dict[str, Any]) -> tuple[int, int]:
    """Where the reason's field (a path with 0-based subscripts) starts in the record, and its
    length; an odo-out-of-range reason names the table and points at its count."""
    at = 0
    walked: list[str] = []
    for part in reason["path"].split("."):
        found = re.fullmatch(r"([^\[]+)(?:\[(\d+)\])?", part)
        assert found is not None, reason
        name, index = found.groups()
        walked.append(name)
        layout = layouts[walked[0]]
        if index is not None:
            at += int(index) * layout.field(".".join(walked)).length
    item = layout.field(".".join(walked))
    if reason["rule"] == "odo-out-of-range":
        assert item.occurs is not None and item.occurs.depending_on is not None
        count = layout.field(item.occurs.depending_on)
        return count.offset, count.length
    return at + item.offset, item.length


def _check_record(
    outcome: Event | Rejected, span: RecordSpan, data: bytes, layouts: dict[str, Layout]
) -> None:
    own = record_bytes(data, span.offset, span.length, span.segments)  # no padding
    assert outcome.offset == span.offset
    if isinstance(outcome, Event):
        assert (outcome.length, outcome.segments) == (span.length, span.segments)
        assert record_bytes(data, outcome.offset, outcome.length, outcome.segments) == own
        assert outcome.end == record_end(span.offset, span.length, span.segments)
        return
    assert outcome.stage in ("decode", "validate")
    record = outcome.audit["record"]
    pii = _pii_ranges(outcome.audit, layouts, len(own))
    redacted = bytearray(own)
    for at, n in pii:
        redacted[at : at + n] = bytes(n)
    assert base64.b64decode(record["raw_base64"]) == redacted
    assert (record["number"], record["offset"], record["length"]) == (
        span.number,
        span.offset,
        span.length,
    )
    listed = [(p["offset"], p["length"]) for p in record.get("segments", [])]
    assert listed == list(span.segments)
    # The record's bytes in the file; past its end (a short line's padding, a field the record
    # is too short for) where they would be were the record whole.
    pieces = span.segments or ((span.offset, span.length),)
    end = pieces[-1][0] + pieces[-1][1]
    places = [at + k for at, n in pieces for k in range(n)] + list(range(end, end + 64))
    ranges = outcome.audit["redaction"]["ranges"]
    assert [(r["offset"], r["length"]) for r in ranges] == pii
    for r in ranges:  # where each range's bytes are in the file, piece by piece
        in_file = [p["offset"] + k for p in r["file"] for k in range(p["length"])]
        assert in_file == places[r["offset"] : r["offset"] + r["length"]]
    padded = bytes(span.data(data))
    for reason in outcome.audit["reasons"]:
        hidden = re.sub(r"\[\d+\]", "", reason["path"] or "") in PII_FIELDS
        if reason["offset"] is not None:
            at, length = _field_place(layouts, reason)
            assert (reason["offset"], reason["length"]) == (places[at], length), (reason, span)
            hidden = hidden or any(a < at + length and at < a + n for a, n in pii)
        if hidden:
            assert (reason["raw"], reason["actual"]) == (None, None), reason
            assert reason["redacted"]["hmac_sha256"] is None  # the mapping names no pii_key
            continue
        assert "redacted" not in reason
        if reason["offset"] is not None and reason["raw"] is not None:
            # fewer bytes when the record ends inside the field
            assert bytes.fromhex(reason["raw"]) == padded[at : at + length], (reason, span)


PII_FIELDS = frozenset(p for paths in PII.values() for p in paths)


def _pii_ranges(
    audit: dict[str, Any], layouts: dict[str, Layout], size: int
) -> list[tuple[int, int]]:
    """(offset, length) in the record of every pii field occurrence the record holds: its
    case's layout, or every layout for a record of no known case."""
    named = [layouts[audit["layout"]["name"]]] if audit["case"] or len(layouts) == 1 else []
    out = []
    for layout in named or layouts.values():
        for path in PII_FIELDS:
            if path.split(".")[0] != layout.name:
                continue
            item = layout.field(path)
            table = layout.field(path.rpartition(".")[0])
            count, stride = (table.occurs.max, table.length) if table.occurs else (1, 0)
            for i in range(count):
                at = item.offset + i * stride
                if at < size:
                    out.append((at, min(item.length, size - at)))
    return sorted(out)


def _check_framing(
    outcome: Event | Rejected,
    spans: list[RecordSpan],
    error: FramingError,
    data: bytes,
    skip_header: int,
) -> None:
    assert isinstance(outcome, Rejected)
    assert (outcome.record, outcome.stage) == (len(spans), "framing")
    last = spans[-1] if spans else None
    done_to = record_end(last.offset, last.length, last.segments) if last else skip_header
    start = min(done_to, error.offset)
    assert outcome.offset == start
    record = outcome.audit["record"]
    assert (record["number"], record["offset"], record["length"]) == (
        len(spans),
        start,
        len(data) - start,
    )
    # A framing audit of a mapping with pii fields carries no clear byte (docs/audit.md).
    assert record["raw_base64"] == ""
    assert outcome.audit["redaction"]["withheld"] == {
        "offset": start,
        "length": len(data[start : start + FRAMING_RAW_LIMIT]),
    }
    [reason] = outcome.audit["reasons"]
    assert (reason["check"], reason["offset"], reason["message"]) == (
        "framing",
        error.offset,
        str(error),
    )


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize(("framing", "shape"), CASES)
def test_judge_file_against_the_reference_framing(
    tmp_path: Path, framing: str, shape: str, damage: str
) -> None:
    _checkfile(tmp_path, framing, shape, damage, f"{framing}/{shape}/{damage}")


def _checkfile(tmp_path: Path, framing: str, shape: str, damage: str, seed: str) -> None:
    """One random file of the framing and shape, damaged as said, judged against frame()."""
    rng = random.Random(seed)
    layouts = layouts_of(tmp_path, shape)
    bodies = make_bodies(framing, shape, layouts, rng, volume(rng.randint(250, 400), least=100))
    lrecl = max(lay.record_length for lay in layouts.values())
    data, spec = make_file(framing, lrecl, bodies, rng)
    data = damaged(data, spec, reference_spans(data, spec, layouts)[0], rng, damage)
    keys = rng.random() < 0.8
    with small_batches(rng.random() < 0.5):
        spans, error, outcomes = _judge(tmp_path, shape, spec, data, layouts, keys=keys)

    # The file tests what it is meant to: a framing error exactly when cut, and (records
    # enough) events beside rejections of both stages.
    if damage in ("none", "cut"):
        assert (error is not None) == (damage == "cut")
    if len(spans) >= 100:
        stages = [o.stage for o in outcomes if isinstance(o, Rejected)]
        assert len(outcomes) > len(stages)
        assert set(stages) >= {"decode", "validate"}


def _judge(
    tmp_path: Path,
    shape: str,
    spec: dict[str, Any],
    data: bytes,
    layouts: dict[str, Layout],
    *,
    keys: bool = True,
) -> tuple[list[RecordSpan], FramingError | None, list[Event | Rejected]]:
    """``data`` judged as a file of the mapping ``spec`` frames, checked against frame()."""
    path = tmp_path / "records.dat"
    path.write_bytes(data)
    runtime = load_runtime(tmp_path, shape, spec, keys)
    spans, error = reference_spans(data, spec, layouts)

    outcomes = list(judge_file(runtime, path))
    by_python = list(judge_file(runtime, path, native_events=False))
    assert [comparable(o) for o in outcomes] == [comparable(o) for o in by_python]

    assert [o.record for o in outcomes] == list(range(len(outcomes)))
    assert len(outcomes) == len(spans) + (error is not None)
    for span, outcome in zip(spans, outcomes, strict=False):
        _check_record(outcome, span, data, layouts)
    if error is not None:
        _check_framing(outcomes[-1], spans, error, data, spec.get("skip_header", 0))
    for outcome in outcomes:
        if isinstance(outcome, Rejected):
            assert not list(AUDIT.iter_errors(outcome.audit)), outcome.audit
    return spans, error, outcomes


def _vb(*segments: bytes) -> bytes:
    body = b"".join(segments)
    return (len(body) + 4).to_bytes(2, "big") + b"\0\0" + body


_ACCT = bytes(range(0xF0, 0xFA)) * 4  # 40 bytes: ACCT-REC's length
_PREFIX = b"\xf0\xf1\xf2"
EDGES = [
    pytest.param(
        {"type": "lines", "record_prefix": 3},
        _PREFIX + _ACCT[:20] + b"\n\xf0\n" + _ACCT[:10],
        id="lines-a-line-shorter-than-its-prefix",
    ),
    pytest.param(
        {"type": "lines"}, _ACCT[:20] + b"\r\r\n\n\n" + _ACCT[:10] + b"\r", id="lines-crs-as-data"
    ),
    pytest.param({"type": "lines"}, b"\r\n\n", id="lines-only-line-ends"),
    pytest.param({"type": "vbs"}, b"", id="vbs-an-empty-file"),
    pytest.param(
        {"type": "rdw", "record_prefix": 2},
        rdw(_PREFIX[:2] + _ACCT) + rdw(_PREFIX[:2]) + rdw(_PREFIX[:2] + _ACCT[:7]),
        id="rdw-empty-and-short-records",
    ),
    pytest.param(
        {"type": "rdw", "record_prefix": 2},
        rdw(_PREFIX[:2] + _ACCT) + rdw(b"\xf0"),
        id="rdw-a-record-shorter-than-its-prefix",
    ),
    pytest.param(
        {"type": "rdw", "rdw_includes_header": False},
        rdw(_ACCT, inclusive=False) + rdw(b"", inclusive=False),
        id="rdw-exclusive-empty-record",
    ),
    pytest.param(
        {"type": "vbs", "record_prefix": 3},
        _vb(rdw(_PREFIX[:2], code=1), rdw(_PREFIX[2:] + _ACCT[:20], code=3))
        + _vb(rdw(_ACCT[20:], code=2), rdw(_PREFIX + _ACCT))
        + _vb(rdw(_PREFIX[:1], code=1), rdw(_PREFIX[1:], code=2)),
        id="vbs-pieces-of-prefix-alone",
    ),
    pytest.param(
        {"type": "vbs"},
        _vb(rdw(b"", code=1), rdw(_ACCT, code=3), rdw(b"", code=2)) + _vb() + _vb(rdw(b"")),
        id="vbs-empty-pieces-and-blocks",
    ),
    pytest.param(
        {"type": "rdw-le", "skip_trailer": 2},
        rdw(_ACCT, little=True) + bytes(FRAMING_RAW_LIMIT + 100),  # an RDW of length 0
        id="rdw-le-more-after-the-error-than-an-audit-holds",
    ),
]


@pytest.mark.parametrize(("spec", "data"), EDGES)
@pytest.mark.parametrize("shape", ["flat", "multi"])
def test_judge_file_on_edge_files(
    tmp_path: Path, spec: dict[str, Any], data: bytes, shape: str
) -> None:
    """Files at the edges of their framing: empty records and pieces, prefixes longer than
    their record, a framing error followed by more bytes than an audit document holds."""
    _judge(tmp_path, shape, spec, data, layouts_of(tmp_path, shape))


@pytest.mark.parametrize("data", [b"", b"\xc8\xc8"], ids=["empty", "2-bytes"])
@pytest.mark.parametrize(("framing", "shape"), CASES)
def test_a_file_without_its_header_is_one_framing_audit(
    tmp_path: Path, framing: str, shape: str, data: bytes
) -> None:
    """A file shorter than the header and trailer its mapping names: a framing audit of its
    every byte, from byte 0 (the Rejected's offset too, not the header's end past the file).
    An empty one too: not a file of no records."""
    layouts = layouts_of(tmp_path, shape)
    spec: dict[str, Any] = {"type": framing, "skip_header": 5, "skip_trailer": 1}
    if framing == "fixed":
        spec["record_length"] = max(lay.record_length for lay in layouts.values())
    spans, error, outcomes = _judge(tmp_path, shape, spec, data, layouts)
    assert (spans, error is not None) == ([], True)
    assert [(o.record, o.offset, o.stage) for o in outcomes if isinstance(o, Rejected)] == [
        (0, 0, "framing")
    ]
