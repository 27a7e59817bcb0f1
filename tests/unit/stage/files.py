"""Seeded record files for the record-stage tests: mapping shapes, every framing, damage.

``bodies`` makes encoded records (some with bad field bytes, all spaces, cut short or longer
than their layout), ``file`` frames them as a mapping's framing says (with record prefixes,
headers and trailers), ``damage`` breaks a file's framing or bytes, ``runtime`` writes and
loads the default mapping of a shape framed so, ``reference`` frames a file with the
reference framing, ``comparable`` reduces an outcome to what two runs must share, and
``small_batches`` walks files in the smallest windows and batches.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Layout
from bridge.decode.encoder import encode_record
from bridge.decode.framing import FramingError, RecordSpan, frame
from bridge.decode.multi import resolve_field
from bridge.decode.native import Batch, NativeDecoder
from bridge.mapping.program import Program, load_program
from bridge.mapping.scaffold import default_mapping, default_multi_mapping
from bridge.stage import judge as stage_judge
from bridge.stage.records import Event, Rejected

from ..descriptors import blocks, rdw, spanned

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
# Fields classified pii (besides those `mapping init` classifies by name: ACCT-NAME): their
# bytes are redacted in every audit document (docs/audit.md), each case's in its own layout,
# every case's in a record of no known case; an ODO table's elements as far as the record goes.
PII = {
    "flat": {"ACCT-REC.ACCT-NAME"},
    "odo": {"ORDER-REC.ORDER-LINE.SKU"},
    "multi": {"HEAD-REC.RUN-DATE", "ITEM-REC.NOTE"},
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


def record_values(layout: Layout, rng: random.Random) -> dict[str, Any]:
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


def make_bodies(
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
        body = bytearray(encode_record(layout, record_values(layout, rng)))
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


def make_file(
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


def damaged(
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


def load_runtime(tmp_path: Path, shape: str, framing: dict[str, Any], keys: bool) -> Program:
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
        if spec["source"] in PII[shape] and spec["classification"] != "pii":
            spec["classification"] = "pii"  # kept in clear in events, still not in audits
            spec["pii"] = {"policy": "keep"}
    assert {s["source"] for s in doc["fields"] if s["classification"] == "pii"} == PII[shape]
    if keys:
        doc["keys"] = {"kafka": SHAPES[shape].keys, "redis": SHAPES[shape].keys}
    path = tmp_path / f"{shape}.mapping.json"
    path.write_text(json.dumps(doc))
    return load_program(path)


def reference_spans(
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


def comparable(outcome: Event | Rejected) -> tuple[Any, ...]:
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


def layouts_of(tmp_path: Path, shape: str) -> dict[str, Layout]:
    copybook = tmp_path / f"{shape}.cpy"
    copybook.write_text(SHAPES[shape].copybook)
    return {lay.name: lay for lay in compile_copybook(copybook)}


@contextlib.contextmanager
def small_batches(small: bool) -> Iterator[None]:
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
