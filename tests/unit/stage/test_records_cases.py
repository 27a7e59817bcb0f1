"""The record stage on a multi-layout file (header, details, trailer by a record-type byte).

Records are judged in chunks: the discriminator alone picks each record's case, each case's
records decode, validate and become events as one batch. The oracle judges every record on
its own in Python: the case from the type byte, the reference decoder with that case's layout,
the Python mapper and jsonschema. Both must agree on every record: the same stage, the same
broken rules, the same event bytes and keys, in file order.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.copybook.compiler import compile_copybook
from bridge.decode.encoder import encode_record
from bridge.decode.reference import decode_record
from bridge.mapping.plan import layouts_fingerprint
from bridge.mapping.program import Program, load_program
from bridge.mapping.validate import violation_keys
from bridge.stage.records import Event, Rejected, judge_file
from tests.volume import volume

COPYBOOK = """\
       01  HDR-REC.
           05  REC-TYPE     PIC X.
           05  HDR-BATCH    PIC 9(6).
           05  HDR-DATE     PIC 9(8).
           05  FILLER       PIC X(25).
       01  DTL-REC.
           05  REC-TYPE     PIC X.
           05  DTL-ACCT     PIC 9(10).
           05  DTL-AMT      PIC S9(9)V99 COMP-3.
           05  DTL-NAME     PIC X(20).
           05  FILLER       PIC X(3).
       01  TRL-REC.
           05  REC-TYPE     PIC X.
           05  TRL-COUNT    PIC 9(7).
           05  TRL-TOTAL    PIC S9(13)V99 COMP-3.
           05  FILLER       PIC X(24).
"""
PII_KEY = "test-only-key-0123456789abcdef0123456789abcdef"


def _mapping(tmp_path: Path) -> Path:
    copybook = tmp_path / "batch.cpy"
    copybook.write_text(COPYBOOK)
    layouts = compile_copybook(copybook)
    fields: list[dict[str, Any]] = [
        {"source": "HDR-REC.REC-TYPE", "target": "type", "type": "string"},
        {"source": "HDR-REC.HDR-BATCH", "target": "batch", "type": "integer", "minimum": 1},
        {"source": "HDR-REC.HDR-DATE", "target": "date", "type": "date", "format": "YYYYMMDD"},
        {"source": "DTL-REC.REC-TYPE", "target": "type", "type": "string"},
        {"source": "DTL-REC.DTL-ACCT", "target": "account", "type": "string"},
        {
            "source": "DTL-REC.DTL-AMT",
            "target": "amount",
            "type": "decimal",
            "precision": 11,
            "scale": 2,
            "minimum": "-1000000.00",
        },
        {
            "source": "DTL-REC.DTL-NAME",
            "target": "name",
            "type": "string",
            "minLength": 1,
            "classification": "pii",
            "pii": {"policy": "hash"},
        },
        {"source": "TRL-REC.REC-TYPE", "target": "type", "type": "string"},
        {"source": "TRL-REC.TRL-COUNT", "target": "count", "type": "integer"},
        {
            "source": "TRL-REC.TRL-TOTAL",
            "target": "total",
            "type": "decimal",
            "precision": 15,
            "scale": 2,
        },
    ]
    document = {
        "name": "batch",
        "version": "1.0.0",
        "copybook": {"path": str(copybook), "fingerprint": layouts_fingerprint(layouts)},
        "source": {"framing": {"type": "fixed", "record_length": 40}, "code_page": "cp037"},
        "discriminator": {
            "source": "HDR-REC.REC-TYPE",
            "cases": [
                {"name": "header", "when": ["H"], "layout": "HDR-REC"},
                {"name": "detail", "when": ["D"], "layout": "DTL-REC"},
                {"name": "trailer", "when": ["T"], "layout": "TRL-REC"},
            ],
        },
        "keys": {"kafka": ["DTL-REC.DTL-ACCT", "HDR-REC.HDR-BATCH"]},
        "pii_key": {"env": "BRIDGE_PII_KEY"},
        "fields": fields,
    }
    path = tmp_path / "batch.mapping.json"
    path.write_text(json.dumps(document))
    return path


def _file(tmp_path: Path, n: int, rng: random.Random) -> Path:
    layouts = {lay.name: lay for lay in compile_copybook(tmp_path / "batch.cpy")}
    out = bytearray()
    for i in range(n):
        kind = "H" if i % 500 == 0 else "T" if i % 500 == 499 else "D"
        if kind == "H":
            values: dict[str, Any] = {
                "REC-TYPE": "H",
                "HDR-BATCH": rng.choice([0, rng.randint(1, 999999)]),
                "HDR-DATE": rng.choice([20240229, 20230229, 19991231]),
            }
            record = encode_record(layouts["HDR-REC"], values)
        elif kind == "T":
            values = {"REC-TYPE": "T", "TRL-COUNT": i, "TRL-TOTAL": Decimal("123.45")}
            record = encode_record(layouts["TRL-REC"], values)
        else:
            values = {
                "REC-TYPE": "D",
                "DTL-ACCT": rng.randint(0, 10**10 - 1),
                "DTL-AMT": Decimal(rng.randint(-(10**9), 10**9)).scaleb(-2),
                "DTL-NAME": rng.choice(["", "ANNE", 'BO "Q" LEE', "ÉLISE"]),
            }
            detail = bytearray(encode_record(layouts["DTL-REC"], values))
            fault = rng.random()
            if fault < 0.02:
                detail[0] = 0xE7  # X: no such record type
            elif fault < 0.04:
                detail[12] = 0xAA  # a packed digit nibble of X'A'
            record = bytes(detail)
        out += record
    path = tmp_path / "batch.dat"
    path.write_bytes(bytes(out))
    return path


def _oracle(runtime: Program, path: Path) -> list[tuple[Any, ...]]:
    """Every record judged alone, in Python."""
    data = path.read_bytes()
    layouts = {lay.name: lay for lay in runtime.layouts}
    disc = runtime.mapping.discriminator
    assert disc is not None
    out: list[tuple[Any, ...]] = []
    for number, at in enumerate(range(0, len(data), 40)):
        record = data[at : at + 40]
        type_byte = record[:1].decode("cp037")
        case = next((c for c in disc.cases if type_byte in c.when), None)
        if case is None:
            out.append((number, "decode", {(disc.source, "unknown-record-type")}))
            continue
        options = runtime.decode_options(case.name)
        result = decode_record(layouts[case.layout], record, options=options, record_number=number)
        if result.errors:
            out.append((number, "decode", {(e.path, str(e.reason)) for e in result.errors}))
            continue
        values = json.loads(result.document, parse_float=Decimal)
        outcome = runtime.process(values, case.name, record=record, record_offset=at)
        if not outcome.valid:
            out.append((number, "validate", set(violation_keys(outcome.violations))))
            continue
        document = json.dumps(outcome.event, ensure_ascii=False, separators=(",", ":")).encode()
        out.append((number, "event", document, runtime.kafka_key(outcome.event), case.name))
    return out


def _judged(runtime: Program, path: Path, native_events: bool) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for o in judge_file(runtime, path, native_events=native_events):
        if isinstance(o, Event):
            out.append((o.record, "event", o.document, o.kafka_key, o.case))
            continue
        assert isinstance(o, Rejected)
        reasons = o.audit["reasons"]
        if o.stage == "validate":
            keys = {(r["pointer"], r["rule"]) for r in reasons}
        else:
            keys = {(r["path"], r["rule"]) for r in reasons}
        out.append((o.record, o.stage, keys))
    return out


@pytest.mark.parametrize(("native_events", "chunked"), [(True, True), (False, True), (True, False)])
def test_a_multi_layout_file_is_judged_as_each_record_alone(
    native_events: bool, chunked: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunked (events from C or from the mapper), and record by record (the way spanned or
    padded records go)."""
    monkeypatch.setenv("BRIDGE_PII_KEY", PII_KEY)
    runtime = load_program(_mapping(tmp_path))
    assert runtime.discriminator_decoder() is not None  # the file allows the chunked path
    if not chunked:

        def refused(program: Program) -> None:
            return None  # record by record, for this test

        monkeypatch.setattr(Program, "discriminator_decoder", refused)
    for case in ("header", "detail", "trailer"):
        assert runtime.cases[case].checks is not None
        assert runtime.cases[case].events is not None
    n = volume(20_000, least=10_000)  # more than a chunk of 8,192, headers among them
    path = _file(tmp_path, n, random.Random(1))  # chunks of 8,192: a partial last one
    want = _oracle(runtime, path)
    got = _judged(runtime, path, native_events)
    assert len(got) == len(want) == n
    for g, w in zip(got, want, strict=True):
        assert g == w
    stages = {w[1] for w in want}
    assert stages == {"event", "decode", "validate"}
    assert {w[4] for w in want if w[1] == "event"} == {"header", "detail", "trailer"}


def test_unknown_record_types_name_the_discriminator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGE_PII_KEY", PII_KEY)
    runtime = load_program(_mapping(tmp_path))
    path = _file(tmp_path, 2_000, random.Random(2))
    unknown = [
        o
        for o in judge_file(runtime, path)
        if isinstance(o, Rejected) and o.audit["reasons"][0].get("rule") == "unknown-record-type"
    ]
    assert unknown
    for o in unknown:
        [reason] = o.audit["reasons"]
        assert reason["path"] == "HDR-REC.REC-TYPE"
        assert o.audit["record"]["offset"] == 40 * o.record


def test_a_framing_error_comes_after_every_record_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RDW records, one RDW broken after 8,500 of them (the second chunk): every record before
    it is judged, then one framing audit covers the rest; records in = outcomes."""
    monkeypatch.setenv("BRIDGE_PII_KEY", PII_KEY)
    path = _mapping(tmp_path)
    document = json.loads(path.read_text())
    document["source"]["framing"] = {"type": "rdw"}
    path.write_text(json.dumps(document))
    runtime = load_program(path)
    data = _file(tmp_path, 9_000, random.Random(3)).read_bytes()
    records = [data[at : at + 40] for at in range(0, len(data), 40)]
    rdw = [(n + 4).to_bytes(2, "big") + b"\0\0" for n in (40,) * len(records)]
    rdw[8_500] = b"\x00\x02\x00\x00"  # a length shorter than the RDW itself
    blocked = tmp_path / "batch.rdw"
    blocked.write_bytes(b"".join(h + r for h, r in zip(rdw, records, strict=True)))
    outcomes = list(judge_file(runtime, blocked))
    assert [o.record for o in outcomes] == list(range(8_501))
    last = outcomes[-1]
    assert isinstance(last, Rejected)
    assert (last.stage, last.offset) == ("framing", 8_500 * 44)
    assert last.audit["record"]["length"] == 500 * 44
    assert not any(isinstance(o, Rejected) and o.stage == "framing" for o in outcomes[:-1])
    assert sum(isinstance(o, Event) for o in outcomes) > 3_000
