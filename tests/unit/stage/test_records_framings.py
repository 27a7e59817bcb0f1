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
import contextlib
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Layout
from bridge.decode.encoder import encode_record
from bridge.decode.framing import FramingError, RecordSpan, frame
from bridge.decode.multi import resolve_field
from bridge.decode.native import Batch, NativeDecoder
from bridge.decode.verdict import record_bytes, record_end
from bridge.mapping.program import Program, load_program
from bridge.mapping.scaffold import default_mapping, default_multi_mapping
from bridge.stage import judge as stage_judge
from bridge.stage.judge import FRAMING_RAW_LIMIT
from bridge.stage.records import Event, Rejected, judge_file

from .descriptors import blocks, rdw, spanned

ROOT = Path(__file__).resolve().parents[2]
AUDIT = jsonschema.Draft202012Validator(
    json.loads((ROOT / "schemas/audit-record.schema.json").read_text())
)
SPACE = 0x40  # cp037


@dataclass(frozen=True)
class Shape:
    copybook: str
    limits: dict[str, int]  # maxima a share of the random values break: validate rejections
    keys: list[str]
    multi: bool = False


SHAPES = {
    "flat": Shape(
        """\
       01  ACCT-REC.
           05  ACCT-ID       PIC 9(6).
           05  ACCT-NAME     PIC X(12).
           05  BALANCE       PIC S9(7)V99 COMP-3.
           05  OPENED        PIC 9(8).
           05  STATUS-CODE   PIC X.
           05  REMARK        PIC X(8).
""",
        {"ACCT-REC.ACCT-ID": 900000},
        ["ACCT-REC.ACCT-ID"],
    ),
    "odo": Shape(
        """\
       01  ORDER-REC.
           05  ORDER-ID      PIC 9(6).
           05  LINE-COUNT    PIC 9(2).
           05  ORDER-LINE OCCURS 0 TO 5 TIMES DEPENDING ON LINE-COUNT.
               10  SKU       PIC X(4).
               10  QTY       PIC S9(3) COMP-3.
""",
        {"ORDER-REC.ORDER-LINE.QTY": 500},
        ["ORDER-REC.ORDER-ID"],
    ),
    # Two record types of different lengths by their first byte (H, D; anything else is an
    # unknown record type).
    "multi": Shape(
        """\
       01  HEAD-REC.
           05  REC-TYPE      PIC X.
           05  BATCH-NO      PIC 9(6).
           05  RUN-DATE      PIC 9(8).
       01  ITEM-REC.
           05  REC-TYPE      PIC X.
           05  ITEM-ID       PIC 9(6).
           05  AMOUNT        PIC S9(7)V99 COMP-3.
           05  NOTE          PIC X(10).
""",
        {"ITEM-REC.ITEM-ID": 900000},
        ["ITEM-REC.ITEM-ID", "HEAD-REC.BATCH-NO"],
        multi=True,
    ),
}
FRAMINGS = ["fixed", "lines", "rdw", "rdw-le", "vb", "vbs", "odo"]
CASES = [
    (f, s)
    for f in FRAMINGS
    for s in SHAPES
    # ODO framing reads one layout's counts; fixed framing refuses a layout of varying length.
    if (f, s) not in (("odo", "multi"), ("fixed", "odo"))
]
# none: field faults only; cut: the framing breaks part way, for sure; descriptor: a byte of
# one record's RDW (or line end, or ODO count) overwritten; byte: a few bytes anywhere. The
# last two may frame, misframe or break: whatever the reference makes of them.
DAMAGE = ["none", "cut", "descriptor", "byte"]


TEXTS = ["", "ANNE", "  LEAD", 'O"BRIEN\\', "ÉLISE", "a-b c", "   "]  # quotes, escapes, spaces


def _values(layout: Layout, rng: random.Random) -> dict[str, Any]:
    if layout.name == "ACCT-REC":
        return {
            "ACCT-ID": rng.randint(0, 999999),
            "ACCT-NAME": rng.choice(TEXTS),
            "BALANCE": Decimal(rng.randint(-(10**9) + 1, 10**9 - 1)).scaleb(-2),
            "OPENED": rng.randint(19000101, 20991231),
            "STATUS-CODE": rng.choice(["A", "C", ""]),
            "REMARK": rng.choice(TEXTS),
        }
    if layout.name == "ORDER-REC":
        lines = [
            {"SKU": rng.choice(TEXTS)[:4], "QTY": rng.randint(-999, 999)}
            for _ in range(rng.randint(0, 5))
        ]
        return {"ORDER-ID": rng.randint(0, 999999), "ORDER-LINE": lines}
    if layout.name == "HEAD-REC":
        return {"REC-TYPE": "H", "BATCH-NO": rng.randint(0, 999999), "RUN-DATE": 20261126}
    return {
        "REC-TYPE": rng.choice("DDDDDDDDDDDDDDDDDDDX"),  # one in twenty of no known type
        "ITEM-ID": rng.randint(0, 999999),
        "AMOUNT": Decimal(rng.randint(-(10**9) + 1, 10**9 - 1)).scaleb(-2),
        "NOTE": rng.choice(TEXTS),
    }


def _bodies(
    framing: str, shape: str, layouts: dict[str, Layout], rng: random.Random, n: int
) -> list[bytes]:
    """Encoded records: about one in eight with a byte no field of its kind holds, a few all
    spaces, and where the framing has room for them, a few cut short or with bytes to spare.
    An ODO file's records keep their length and counts (else they frame otherwise)."""
    layout = next(iter(layouts.values()))
    spare = (
        layout.field("ORDER-REC.ORDER-LINE").offset if framing == "odo" and shape == "odo" else 0
    )
    bodies = []
    for _ in range(n):
        if shape == "multi":
            layout = layouts["HEAD-REC" if rng.random() < 0.2 else "ITEM-REC"]
        body = bytearray(encode_record(layout, _values(layout, rng)))
        roll = rng.random()
        if roll < 0.12 and len(body) > spare:
            bad = rng.choice([0x00, 0xFF, 0x5C, 0xC1, rng.randrange(256)])
            if framing == "lines" and bad == 0x0A:  # a line end: the line would frame otherwise
                bad = 0xFF
            body[rng.randrange(spare, len(body))] = bad
        elif roll < 0.14 and framing != "odo":
            body = bytearray([SPACE]) * len(body)
        elif roll < 0.18 and framing not in ("odo", "fixed"):
            del body[rng.randrange(len(body)) :]
        elif roll < 0.2 and framing in ("rdw", "rdw-le", "vb", "vbs"):
            body += bytes(rng.randrange(256) for _ in range(rng.randint(1, 9)))
        bodies.append(bytes(body))
    return bodies


def _file(
    framing: str, lrecl: int, bodies: list[bytes], rng: random.Random
) -> tuple[bytes, dict[str, Any]]:
    """The records framed as ``framing`` says, and the mapping's framing object for them
    (``lrecl``: the longest record the layouts hold)."""
    spec: dict[str, Any] = {"type": framing}
    prefix = rng.choice([0, 0, 1, 3])
    if prefix:
        spec["record_prefix"] = prefix
    records = [bytes([0xF0 + i for i in range(prefix)]) + body for body in bodies]
    if framing == "fixed":
        spec["record_length"] = lrecl + rng.choice([0, 3])
        width = spec["record_length"] + prefix
        data = b"".join(r.ljust(width, bytes([SPACE])) for r in records)
    elif framing == "lines":
        if rng.random() < 0.5:
            spec["record_length"] = lrecl + rng.choice([0, 3])
        ends = [rng.choice([b"\n", b"\r\n"]) for _ in records]
        # LINE SEQUENTIAL drops trailing spaces; the last line may have no line end.
        data = b"".join(r.rstrip(bytes([SPACE])) + e for r, e in zip(records, ends, strict=True))
        if rng.random() < 0.5:
            data = data.rstrip(b"\r\n")
    elif framing in ("rdw", "rdw-le"):
        inclusive = rng.random() < 0.7
        if not inclusive:
            spec["rdw_includes_header"] = False
        little = framing == "rdw-le"
        data = b"".join(rdw(r, little=little, inclusive=inclusive) for r in records)
    elif framing == "vb":
        data = blocks([rdw(r) for r in records], rng)
    elif framing == "vbs":
        data = blocks(spanned(records, rng), rng)
    else:
        data = b"".join(records)
    if rng.random() < 0.5:
        spec["skip_header"] = rng.randint(1, 6)
        spec["skip_trailer"] = rng.randint(0, 6)
        data = b"\xc8" * spec["skip_header"] + data + b"\xe3" * spec["skip_trailer"]
    return data, spec


def _damage(
    data: bytes, spec: dict[str, Any], spans: list[RecordSpan], rng: random.Random, how: str
) -> bytes:
    """``data`` damaged as ``how`` says (``spans``: its records, as framed before)."""
    if how == "none":
        return data
    framing = spec["type"]
    head, tail = spec.get("skip_header", 0), spec.get("skip_trailer", 0)
    out = bytearray(data)
    if how == "byte":
        for _ in range(rng.randint(1, 3)):
            out[rng.randrange(head, len(out) - tail)] = rng.choice([0, 1, 3, 0x0A, 0x80, 0xFF])
    elif how == "descriptor":
        span = spans[rng.randrange(len(spans) // 2, len(spans))]
        start = span.offset - spec.get("record_prefix", 0)  # where the record's bytes begin
        if framing == "fixed":  # no descriptor: one byte less shifts every record after it
            del out[start]
        elif framing == "lines":  # two lines made one
            out[start - 1] = 0xC1
        elif framing == "odo":  # the record's ODO count (the flat layout's ACCT-NAME)
            out[span.offset + rng.choice([6, 7])] = rng.choice([0xF0, 0xF6, 0xF9, 0xC1])
        else:  # a byte of its RDW
            out[start - rng.randint(1, 4)] = rng.choice([0, 1, 3, 0x80, 0xFF])
    elif framing == "lines":  # a line longer than any record
        at = out.index(b"\n", len(out) // 2)
        out[at:at] = b"\xc1" * 80
    else:  # the file ends inside a record
        span = rng.choice([s for s in spans[len(spans) // 2 :] if s.length > 1])
        cut = span.offset + rng.randrange(1, span.length)
        del out[cut : len(out) - tail]
    return bytes(out)


def _runtime(tmp_path: Path, shape: str, framing: dict[str, Any], keys: bool) -> Program:
    """``bridge mapping init``'s mapping of the shape's copybook (written by ``_layouts``),
    framed as said, with its maxima (and message keys)."""
    copybook = tmp_path / f"{shape}.cpy"
    layouts = compile_copybook(copybook)
    if SHAPES[shape].multi:
        doc = default_multi_mapping(
            layouts,
            str(copybook),
            name=shape,
            discriminator=resolve_field(layouts, "REC-TYPE"),
            when=[("H", "HEAD-REC"), ("D", "ITEM-REC")],
            code_page="cp037",
        )
    else:
        doc = default_mapping(layouts, str(copybook), name=shape, code_page="cp037")
    doc["source"]["framing"] = framing
    for spec in doc["fields"]:
        if spec["source"] in SHAPES[shape].limits:
            spec["maximum"] = SHAPES[shape].limits[spec["source"]]
    if keys:
        doc["keys"] = {"kafka": SHAPES[shape].keys, "redis": SHAPES[shape].keys}
    path = tmp_path / f"{shape}.mapping.json"
    path.write_text(json.dumps(doc))
    return load_program(path)


def _reference(
    data: bytes, spec: dict[str, Any], layouts: dict[str, Layout]
) -> tuple[list[RecordSpan], FramingError | None]:
    options = {k: v for k, v in spec.items() if k != "type"}
    if spec["type"] == "lines":  # several record types: lines of the longest (docs/decoding.md)
        options.setdefault("record_length", max(lay.record_length for lay in layouts.values()))
    spans: list[RecordSpan] = []
    first = next(iter(layouts.values()))
    try:
        spans.extend(frame(data, spec["type"], layout=first, codepage="cp037", **options))
    except FramingError as exc:
        return spans, exc
    return spans, None


def _comparable(outcome: Event | Rejected) -> tuple[Any, ...]:
    if isinstance(outcome, Event):
        return (
            "event",
            outcome.record,
            outcome.offset,
            outcome.length,
            outcome.segments,
            outcome.document,
            outcome.case,
            outcome.kafka_key,
            outcome.redis_key,
        )
    audit = {k: v for k, v in outcome.audit.items() if k != "time"}
    return ("rejected", outcome.record, outcome.offset, outcome.stage, audit)


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
    assert base64.b64decode(record["raw_base64"]) == own
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
    padded = bytes(span.data(data))
    for reason in outcome.audit["reasons"]:
        if reason["offset"] is None:
            continue
        at, length = _field_place(layouts, reason)
        assert (reason["offset"], reason["length"]) == (places[at], length), (reason, span)
        if reason["raw"] is not None:  # fewer bytes when the record ends inside the field
            assert bytes.fromhex(reason["raw"]) == padded[at : at + length], (reason, span)


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
    assert base64.b64decode(record["raw_base64"]) == data[start : start + FRAMING_RAW_LIMIT]
    [reason] = outcome.audit["reasons"]
    assert (reason["check"], reason["offset"], reason["message"]) == (
        "framing",
        error.offset,
        str(error),
    )


def _layouts(tmp_path: Path, shape: str) -> dict[str, Layout]:
    copybook = tmp_path / f"{shape}.cpy"
    copybook.write_text(SHAPES[shape].copybook)
    return {lay.name: lay for lay in compile_copybook(copybook)}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize(("framing", "shape"), CASES)
def test_judge_file_against_the_reference_framing(
    tmp_path: Path, framing: str, shape: str, damage: str
) -> None:
    _check_file(tmp_path, framing, shape, damage, f"{framing}/{shape}/{damage}")


def _check_file(tmp_path: Path, framing: str, shape: str, damage: str, seed: str) -> None:
    """One random file of the framing and shape, damaged as said, judged against frame()."""
    rng = random.Random(seed)
    layouts = _layouts(tmp_path, shape)
    bodies = _bodies(framing, shape, layouts, rng, rng.randint(250, 400))
    lrecl = max(lay.record_length for lay in layouts.values())
    data, spec = _file(framing, lrecl, bodies, rng)
    data = _damage(data, spec, _reference(data, spec, layouts)[0], rng, damage)
    keys = rng.random() < 0.8
    with _small_batches(rng.random() < 0.5):
        spans, error, outcomes = _judge(tmp_path, shape, spec, data, layouts, keys=keys)

    # The file tests what it is meant to: a framing error exactly when cut, and (records
    # enough) events beside rejections of both stages.
    if damage in ("none", "cut"):
        assert (error is not None) == (damage == "cut")
    if len(spans) >= 100:
        stages = [o.stage for o in outcomes if isinstance(o, Rejected)]
        assert len(outcomes) > len(stages)
        assert set(stages) >= {"decode", "validate"}


@contextlib.contextmanager
def _small_batches(small: bool) -> Iterator[None]:
    """With ``small``, files walked in the smallest windows and batches of a few records, and
    multi-layout chunks of a few records, so records straddle every boundary."""
    if not small:
        yield
        return
    init = NativeDecoder.__init__
    decode_file = NativeDecoder.decode_file

    def tiny_init(self: NativeDecoder, *args: Any, **kw: Any) -> None:
        init(self, *args, **{**kw, "out_bytes": 1024, "error_cap": 16})

    def tiny_walk(self: NativeDecoder, *args: Any, **kw: Any) -> Iterator[Batch]:
        small = min(7, kw.get("batch_records", 7))
        return decode_file(self, *args, **{**kw, "batch_records": small, "window_bytes": 1})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(NativeDecoder, "__init__", tiny_init)
        patch.setattr(NativeDecoder, "decode_file", tiny_walk)
        patch.setattr(stage_judge, "BATCH_RECORDS", 5)
        yield


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
    runtime = _runtime(tmp_path, shape, spec, keys)
    spans, error = _reference(data, spec, layouts)

    outcomes = list(judge_file(runtime, path))
    by_python = list(judge_file(runtime, path, native_events=False))
    assert [_comparable(o) for o in outcomes] == [_comparable(o) for o in by_python]

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
    _judge(tmp_path, shape, spec, data, _layouts(tmp_path, shape))


@pytest.mark.parametrize("data", [b"", b"\xc8\xc8"], ids=["empty", "2-bytes"])
@pytest.mark.parametrize(("framing", "shape"), CASES)
def test_a_file_without_its_header_is_one_framing_audit(
    tmp_path: Path, framing: str, shape: str, data: bytes
) -> None:
    """A file shorter than the header and trailer its mapping names: a framing audit of its
    every byte, from byte 0 (the Rejected's offset too, not the header's end past the file).
    An empty one too: not a file of no records."""
    layouts = _layouts(tmp_path, shape)
    spec: dict[str, Any] = {"type": framing, "skip_header": 5, "skip_trailer": 1}
    if framing == "fixed":
        spec["record_length"] = max(lay.record_length for lay in layouts.values())
    spans, error, outcomes = _judge(tmp_path, shape, spec, data, layouts)
    assert (spans, error is not None) == ([], True)
    assert [(o.record, o.offset, o.stage) for o in outcomes if isinstance(o, Rejected)] == [
        (0, 0, "framing")
    ]
