"""A mapping whose source is LINE SEQUENTIAL text (``source.framing.type: "lines"``): the
meta-schema takes it, the record stage pads short lines, and a long line ends the file with a
framing audit document the run can resume from."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from bridge.copybook.compiler import compile_copybook
from bridge.decode.multi import resolve_field
from bridge.mapping.audit import audit_schema
from bridge.mapping.model import meta_problems
from bridge.mapping.program import Program, load_program
from bridge.mapping.scaffold import default_mapping, default_multi_mapping
from bridge.mapping.validate import JsonSchemaValidator
from bridge.stage.records import Event, Rejected, judge_file

from ..copybooks import MIXED
from .conftest import CARDDEMO, acct_document

CARDXREF = CARDDEMO / "ascii" / "cardxref.txt"  # 36-byte lines of 50-byte records


@pytest.mark.parametrize(
    ("framing", "ok"),
    [
        ({"type": "lines"}, True),
        ({"type": "lines", "record_length": 300, "skip_header": 80}, True),
        ({"type": "lines", "rdw_includes_header": True}, False),
        ({"type": "rdw", "record_length": 300}, False),
    ],
)
def test_lines_in_the_meta_schema(framing: dict[str, Any], ok: bool) -> None:
    doc = acct_document()
    doc["source"]["framing"] = framing
    problems = meta_problems(doc)
    assert (problems == []) is ok, problems
    assert all(p.pointer.startswith("/source/framing") for p in problems)


def _runtime(tmp_path: Path) -> Program:
    copybook = CARDDEMO / "cpy" / "CVACT03Y.cpy"
    doc = default_mapping(
        compile_copybook(copybook), str(copybook), name="cardxref", code_page="latin-1"
    )
    doc["source"]["framing"] = {"type": "lines"}
    path = tmp_path / "cardxref.mapping.json"
    path.write_text(json.dumps(doc))
    return load_program(path)


def test_short_lines_become_events(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    events = [o for o in judge_file(runtime, CARDXREF) if isinstance(o, Event)]
    assert [o.record for o in events] == list(range(50))
    assert [(o.offset, o.length) for o in events[:2]] == [(0, 36), (37, 36)]  # the lines' bytes


def test_a_long_line_ends_the_file_with_a_framing_audit(tmp_path: Path) -> None:
    lines = CARDXREF.read_bytes().splitlines(keepends=True)
    broken = tmp_path / "cardxref.txt"
    long_line = lines[3].rstrip(b"\n") + b" " * 20 + b"X\r\n"
    broken.write_bytes(b"".join([*lines[:3], long_line, *lines[4:]]))
    outcomes = list(judge_file(_runtime(tmp_path), broken))
    assert [type(o) for o in outcomes] == [Event, Event, Event, Rejected]
    reject = outcomes[-1]
    assert isinstance(reject, Rejected)
    # The audit holds every byte after the last record: the LF before the long line first.
    assert (reject.record, reject.offset, reject.stage) == (3, 3 * 37 - 1, "framing")
    assert reject.audit["record"]["length"] == broken.stat().st_size - (3 * 37 - 1)
    [reason] = reject.audit["reasons"]
    assert reason["offset"] == 3 * 37
    assert "line 4 (record 3) has 57 bytes, more than the record length 50" in reason["message"]
    assert JsonSchemaValidator(audit_schema()).validate(reject.audit) == []


def _mixed_runtime(tmp_path: Path, framing: dict[str, Any]) -> Program:
    copybook = tmp_path / "MIXED.cpy"
    copybook.write_text(MIXED)
    layouts = compile_copybook(copybook)
    doc = default_multi_mapping(
        layouts,
        str(copybook),
        name="mixed",
        discriminator=resolve_field(tuple(layouts), "HEAD-REC.REC-TYPE"),
        when=[("H", "HEAD-REC"), ("D", "ITEM-REC")],
        code_page="latin-1",
    )
    doc["source"]["framing"] = framing
    path = tmp_path / "mixed.mapping.json"
    path.write_text(json.dumps(doc))
    return load_program(path)


def test_a_multi_layout_text_file(tmp_path: Path) -> None:
    """Lines of two record types, framed to the longer (no record_length given): every
    outcome keeps its line's offset and length, and a rejected line's raw bytes are the
    line's own, never the padding or the lines after it."""
    lines = [
        b"H20261126",
        b"D0001000012{hello",
        b"X-unknown",
        b"D0003000000}a note  .",
        b"H2026113",  # padded: "2026113 " is no number
        b"D00x4",
        b"D0002000000J",
    ]
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"\r\n".join(lines[:2]) + b"\r\n" + b"\n".join(lines[2:]) + b"\n")
    offsets = [0]
    for n, line in enumerate(lines):
        offsets.append(offsets[-1] + len(line) + (2 if n < 2 else 1))
    outcomes = list(judge_file(_mixed_runtime(tmp_path, {"type": "lines"}), path))
    assert [o.record for o in outcomes] == list(range(len(lines)))
    assert [o.offset for o in outcomes] == offsets[:-1]
    assert [type(o) for o in outcomes] == [Event, Event, Rejected, Event, Rejected, Rejected, Event]
    for outcome, line in zip(outcomes, lines, strict=True):
        if isinstance(outcome, Event):
            assert outcome.length == len(line)
        else:
            assert outcome.audit["record"]["length"] == len(line)
            assert base64.b64decode(outcome.audit["record"]["raw_base64"]) == line
            # The layout the record was judged with (an unknown type: the first).
            want = "ITEM-REC" if line.startswith(b"D") else "HEAD-REC"
            assert outcome.audit["layout"]["name"] == want
            assert JsonSchemaValidator(audit_schema()).validate(outcome.audit) == []
    events = [json.loads(o.document) for o in outcomes if isinstance(o, Event)]
    assert [(e["recType"], e.get("itemId")) for e in events] == [
        ("H", None),
        ("D", 1),
        ("D", 3),
        ("D", 2),
    ]
    rules = [[r["rule"] for r in o.audit["reasons"]] for o in outcomes if isinstance(o, Rejected)]
    assert rules == [["unknown-record-type"], ["bad-zone"], ["bad-zone", "blank-numeric"]]
