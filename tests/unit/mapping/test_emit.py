"""Events written by C (bridge/mapping/event_plan.py, native/emit.c) against the Python mapper.

Records are generated from each mapping's constraints (the generator of
test_native_validate.py), encoded, judged by the native checks; every record that passes
must give, from the event plan, exactly the bytes ``json.dumps(Mapper.apply(...).event)``
writes. The mappings: the bundled ACCTMAST (COMP-3, packed and zoned dates, enums, mask and
keyed hash, a table), the benchmark's account record, and EVENTS below, which uses every
conversion the event plan has (each date and timestamp format, numeric enums with ranges,
booleans, null values, zero-filled strings, P scaling, padded decimals, masks with a
multi-byte character, hashes of numbers, nested targets, an ODO table with items after it).
"""

from __future__ import annotations

import itertools
import json
import logging
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge import _native
from bridge.copybook.compiler import compile_copybook
from bridge.decode.encoder import encode_record
from bridge.mapping.check_plan import ValidatingDecoder
from bridge.mapping.event_plan import EventDecoder
from bridge.mapping.program import Program, load_program
from bridge.mapping.scaffold import default_mapping
from bridge.stage.records import Event, judge_file
from tests.volume import volume

from .conftest import ACCTMAST_MAPPING, CARDDEMO, ROOT, TEST_PII_KEY
from .test_native_validate import P_WILD, _specs, _text_numbers_mapping, values_for

BENCH_MAPPING = ROOT / "bench" / "account.mapping.json"
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"

EVENTS = """\
       01  EVT-REC.
           05  E-KEY           PIC 9(6).
           05  E-CODE          PIC X(3).
           05  E-FLAG          PIC X.
           05  E-FLAG-N        PIC 9.
           05  E-LEVEL         PIC S9(3) COMP-3.
           05  E-NAME          PIC X(20).
           05  E-NOTE          PIC X(12).
           05  E-ACCT          PIC 9(10).
           05  E-PSCALED       PIC 9(3)PP.
           05  E-AMT           PIC S9(7)V99 COMP-3.
           05  E-RATE          PIC S9(3)V9(4).
           05  E-BIN           PIC S9(9) COMP.
           05  E-D8            PIC 9(8).
           05  E-D7P           PIC 9(7) COMP-3.
           05  E-DYY           PIC X(6).
           05  E-DJUL          PIC 9(5).
           05  E-DJUL4         PIC X(7).
           05  E-DISO          PIC X(10).
           05  E-TS14          PIC 9(14).
           05  E-TSS           PIC X(19).
           05  E-TSF           PIC X(26).
           05  E-TSDB2         PIC X(26).
           05  E-SCORE         PIC 9(3).
           05  E-NATID         PIC X(9).
           05  E-PHONE         PIC X(12).
           05  E-PARTY.
               10  E-P-ID      PIC 9(5).
               10  E-P-NAME    PIC X(10).
           05  E-CNT           PIC 9.
           05  E-ITEMS OCCURS 0 TO 4 TIMES DEPENDING ON E-CNT.
               10  E-I-QTY     PIC S9(5) COMP-3.
               10  E-I-TAG     PIC X(4).
           05  E-TAGS          PIC X(3) OCCURS 3 TIMES.
"""


def _events_mapping(tmp_path: Path, **change: Any) -> Path:
    copybook = tmp_path / "events.cpy"
    copybook.write_text(EVENTS)
    (layout,) = compile_copybook(copybook)
    fields: list[tuple[str, str, str, dict[str, Any]]] = [
        ("E-KEY", "key", "integer", {"required": True}),
        (
            "E-CODE",
            "code",
            "enum",
            {
                "values": [
                    {"target": "ALPHA", "source": ["A01"]},
                    {"target": "BETA", "source": ["B02"]},
                ]
            },
        ),
        ("E-FLAG", "active", "boolean", {"true": ["Y"], "false": ["N", ""]}),
        ("E-FLAG-N", "flagN", "boolean", {"true": [1], "false": [0]}),
        (
            "E-LEVEL",
            "level",
            "enum",
            {
                "values": [
                    {"target": "LOW", "source": [1, 2]},
                    {"target": "MID", "ranges": [{"low": 3, "high": 10}]},
                    {"target": "NEG", "ranges": [{"low": -999, "high": -1}]},
                    {"target": "NONE", "source": [0]},
                    {"target": "HIGH", "ranges": [{"low": "10.5", "high": 999}]},
                ]
            },
        ),
        ("E-NAME", "name", "string", {"trim": "both", "pii": {"policy": "mask", "keep_last": 3}}),
        ("E-NOTE", "note", "string", {"trim": "none"}),
        ("E-ACCT", "account", "string", {}),
        ("E-PSCALED", "pscaled", "string", {}),
        ("E-AMT", "amount", "decimal", {"precision": 11, "scale": 4}),
        ("E-RATE", "rate", "decimal", {"precision": 7, "scale": 4}),
        ("E-BIN", "binHash", "integer", {"pii": {"policy": "hash"}}),
        ("E-D8", "d8", "date", {"format": "YYYYMMDD", "null_values": [0]}),
        ("E-D7P", "d7", "date", {"format": "CYYMMDD", "null_values": [0, 9999999]}),
        ("E-DYY", "dyy", "date", {"format": "YYMMDD", "century_window": 50}),
        ("E-DJUL", "djul", "date", {"format": "YYDDD", "century_window": 40}),
        ("E-DJUL4", "djul4", "date", {"format": "YYYYDDD", "null_values": ["0000000"]}),
        ("E-DISO", "diso", "date", {"format": "YYYY-MM-DD", "null_values": ["0001-01-01"]}),
        ("E-TS14", "ts14", "timestamp", {"format": "YYYYMMDDHHMMSS"}),
        ("E-TSS", "tss", "timestamp", {"format": "YYYY-MM-DD HH:MM:SS"}),
        ("E-TSF", "tsf", "timestamp", {"format": "YYYY-MM-DD HH:MM:SS.ffffff"}),
        ("E-TSDB2", "tsdb2", "timestamp", {"format": "YYYY-MM-DD-HH.MM.SS.ffffff"}),
        ("E-SCORE", "score", "integer", {"null_values": [999]}),
        ("E-NATID", "party.natIdHash", "string", {"pii": {"policy": "hash"}}),
        (
            "E-PHONE",
            "party.phone",
            "string",
            {"pii": {"policy": "mask", "keep_last": 4, "mask_char": "•"}},
        ),
        ("E-PARTY.E-P-ID", "party.id", "integer", {}),
        ("E-PARTY.E-P-NAME", "party.alias", "string", {"trim": "both"}),
        ("E-CNT", "itemCount", "integer", {}),
        ("E-ITEMS.E-I-QTY", "qty", "integer", {}),
        ("E-ITEMS.E-I-TAG", "tag", "string", {}),
        ("E-TAGS", "tags", "string", {}),
    ]
    document: dict[str, Any] = {
        "name": "events",
        "version": "1.0.0",
        "copybook": {"path": str(copybook), "fingerprint": layout.fingerprint},
        "source": {
            "framing": {"type": "rdw"},
            "code_page": "cp037",
        },
        "keys": {"kafka": ["EVT-REC.E-KEY"], "redis": ["EVT-REC.E-KEY", "EVT-REC.E-CODE"]},
        "pii_key": {"env": "BRIDGE_PII_KEY"},
        "tables": [{"source": "EVT-REC.E-ITEMS", "target": "items"}],
        "fields": [
            {"source": f"EVT-REC.{name}", "target": target, "type": kind, **extra}
            | ({"classification": "pii"} if "pii" in extra else {})
            for name, target, kind, extra in fields
        ],
    }
    document.update(change)
    path = tmp_path / "events.mapping.json"
    path.write_text(json.dumps(document, ensure_ascii=False))
    return path


def _runtime(path: Path, monkeypatch: pytest.MonkeyPatch) -> Program:
    monkeypatch.setenv("BRIDGE_PII_KEY", TEST_PII_KEY)
    return load_program(path)


def _values(layout: Any, specs: Any, rng: random.Random) -> dict[str, Any]:
    values = values_for(layout, specs, rng, rng.choice(P_WILD))
    if "E-CNT" in values:  # EVENTS' ODO table: as many items as its count says
        values["E-CNT"] = n = rng.randint(0, 4)
        values["E-ITEMS"] = values["E-ITEMS"][:n]
    return values


def _compare(runtime: Program, rng: random.Random, batches: int) -> dict[str, int]:
    """Valid generated records: C's events == the Python mapper's, byte for byte."""
    case = runtime.cases[None]
    assert case.checks is not None and case.events is not None
    native = ValidatingDecoder(case.checks)
    events = EventDecoder(case.events)
    layout = native.layout
    specs = _specs(runtime)
    tally = {"records": 0, "events": 0, "nulls": 0}
    for _ in range(batches):
        records = [encode_record(layout, _values(layout, specs, rng)) for _ in range(500)]
        data = b"".join(records)
        lengths = [len(r) for r in records]
        offsets = list(itertools.accumulate(lengths[:-1], initial=0))
        batch = native.decode_batch(data, offsets, lengths)
        assert batch.count == len(records)
        valid = [
            i for i in range(batch.count) if i not in batch.errors and i not in native.rule_errors
        ]
        docs = batch.documents()
        got = events.events(data, [offsets[i] for i in valid], [lengths[i] for i in valid])
        for i, event in zip(valid, got, strict=True):
            decoded = json.loads(docs[i], parse_float=Decimal)
            applied = runtime.mapper.apply(decoded)
            assert not applied.violations, (decoded, applied.violations)
            want = json.dumps(applied.event, ensure_ascii=False, separators=(",", ":"))
            assert event == want.encode(), (decoded, event)
            tally["nulls"] += event.count(b":null")
        tally["records"] += len(records)
        tally["events"] += len(valid)
    return tally


@pytest.mark.parametrize(("name", "batches"), [("account", 20), ("acctmast", 20)])
def test_events_match_the_python_mapper(
    name: str, batches: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = BENCH_MAPPING if name == "account" else ACCTMAST_MAPPING
    tally = _compare(_runtime(path, monkeypatch), random.Random(11), volume(batches))
    assert tally["events"] > 0.15 * tally["records"], tally


def test_every_conversion_matches_the_python_mapper(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runtime = _runtime(_events_mapping(tmp_path), monkeypatch)
    tally = _compare(runtime, random.Random(12), volume(30))
    assert tally["events"] > 0.2 * tally["records"], tally
    assert tally["nulls"] > 0, tally


def test_the_sample_publishes_the_same_events_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """judge_file with C's events and keys == judge_file with the Python mapper's."""
    runtime = _runtime(ACCTMAST_MAPPING, monkeypatch)
    assert runtime.cases[None].checks is not None  # else both runs are the Python path
    native = [o for o in judge_file(runtime, SAMPLE) if isinstance(o, Event)]
    python = [o for o in judge_file(runtime, SAMPLE, native_events=False) if isinstance(o, Event)]
    assert len(native) == len(python) == 988
    for a, b in zip(native, python, strict=True):
        assert (a.record, a.offset, a.length) == (b.record, b.offset, b.length)
        assert a.document == b.document
        assert (a.kafka_key, a.redis_key) == (b.kafka_key, b.redis_key)
        assert a.event == b.event
    assert native[0].kafka_key and native[0].redis_key


def test_a_split_target_object_keeps_the_python_mapper(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """party.* properties interrupted by another: C writes objects in one run, so the case
    falls back (warned), and the events are still the mapper's."""
    path = _events_mapping(tmp_path)
    document = json.loads(path.read_text())
    for f in document["fields"]:
        if f["source"] == "EVT-REC.E-SCORE":
            f["target"] = "party.score"
        if f["source"] == "EVT-REC.E-NATID":
            f["target"] = "natIdHash"
    path.write_text(json.dumps(document, ensure_ascii=False))
    with caplog.at_level(logging.WARNING):
        runtime = _runtime(path, monkeypatch)
    assert runtime.cases[None].events is None
    assert "native events do not cover" in caplog.text
    assert "split by other properties" in caplog.text


def test_the_plan_check_refuses_broken_emit_bytes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Emit bytes C would read past, or a bound too small for what it writes: refused."""
    ffi, lib = _native.ffi, _native.lib
    runtime = _runtime(_events_mapping(tmp_path), monkeypatch)
    events = runtime.cases[None].events
    assert events is not None
    plan = events.plan
    bad = ffi.new("uint32_t *")
    assert lib.bridge_plan_check(plan.c, bad) == lib.BRIDGE_OK
    n = plan.c.n_ops
    checked = 0
    for i in range(n):
        op = plan.c.ops[i]
        if op.emit_len == 0:
            continue
        header = bytes(plan.c.blob[op.emit_off : op.emit_off + lib.BRIDGE_EMIT_HEADER])
        for at, value in ((40, 1), (16, 0xFFFF0000), (24, 0xFFFF0000), (32, 0xFFFF0000)):
            count_at = {16: 12, 24: 20, 32: 36}.get(at)
            if count_at is not None and header[count_at : count_at + 4] == bytes(4):
                continue  # no list / no protection there: nothing to point elsewhere
            blob = ffi.new("uint8_t[]", bytes(plan.c.blob[0 : plan.c.blob_len]))
            blob[op.emit_off + at : op.emit_off + at + 4] = value.to_bytes(4, "little")
            copy = ffi.new("bridge_plan *", plan.c[0])
            copy.blob = blob
            assert lib.bridge_plan_check(copy, bad) == lib.BRIDGE_E_PLAN, (i, at)
            assert bad[0] == i
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize(
    ("copybook", "rendering"),
    [("CVACT03Y", "cardxref.txt"), ("CVACT01Y", "acctdata.txt"), ("CVTRA06Y", "dailytran.txt")],
)
def test_line_files_publish_the_same_events_either_way(
    copybook: str, rendering: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """CardDemo's ASCII renderings as LINE SEQUENTIAL files (cardxref.txt's lines are short:
    padded) with a default mapping: C's events == the Python mapper's."""
    source = CARDDEMO / "cpy" / f"{copybook}.cpy"
    doc = default_mapping(compile_copybook(source), str(source), name="t", code_page="latin-1")
    doc["source"]["framing"] = {"type": "lines"}
    path = tmp_path / "t.mapping.json"
    path.write_text(json.dumps(doc))
    runtime = _runtime(path, monkeypatch)
    assert runtime.cases[None].checks is not None  # else both runs are the Python path
    assert runtime.cases[None].events is not None
    file = CARDDEMO / "ascii" / rendering
    native = [o for o in judge_file(runtime, file) if isinstance(o, Event)]
    python = [o for o in judge_file(runtime, file, native_events=False) if isinstance(o, Event)]
    assert len(native) == len(python) > 0
    assert [(e.record, e.offset, e.length, e.document) for e in native] == [
        (e.record, e.offset, e.length, e.document) for e in python
    ]


def test_numbers_held_as_text_match_the_python_mapper(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """PIC X items mapped to integers and decimals: signs, padding, white space, points."""
    runtime = _runtime(_text_numbers_mapping(tmp_path), monkeypatch)
    assert runtime.cases[None].events is not None
    tally = _compare(runtime, random.Random(13), 20)
    assert tally["events"] > 0.2 * tally["records"], tally
