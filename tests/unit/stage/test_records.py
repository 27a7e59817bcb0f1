"""The record stage: every record of the bundled sample becomes an event or an audit document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.mapping.audit import audit_schema
from bridge.mapping.program import Program, load_program
from bridge.mapping.record_schema import record_schema
from bridge.mapping.validate import JsonSchemaValidator
from bridge.stage.records import Event, Rejected, judge_file

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "copybooks" / "samples"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Program:
    monkeypatch.setenv("BRIDGE_PII_KEY", "test-only-key-0123456789abcdef0123456789abcdef")
    return load_program(MAPPING)


def test_sample_is_accounted_for_record_by_record(runtime: Program) -> None:
    faults = json.loads((SAMPLES / "acctmast.faults.json").read_text())
    outcomes = list(judge_file(runtime, SAMPLES / faults["file"]))
    assert [o.record for o in outcomes] == list(range(faults["records"]))
    events = [o for o in outcomes if isinstance(o, Event)]
    rejected = [o for o in outcomes if isinstance(o, Rejected)]
    assert len(events) == faults["good"]
    got = [
        (r.record, reason["path"], r.stage, reason["rule"])
        for r in rejected
        for reason in r.audit["reasons"]
    ]
    expected = [(f["record"], f["path"], f["stage"], f["rule"]) for f in faults["faults"]]
    assert got == expected
    published = JsonSchemaValidator(record_schema(runtime.mapping, runtime.layouts))
    audits = JsonSchemaValidator(audit_schema())
    for event in events:
        assert published.validate(event.event) == []
        assert event.offset == event.record * 300
    for reject in rejected:
        assert audits.validate(reject.audit) == []
    keys = [e.kafka_key for e in events]
    assert None not in keys
    assert len(set(keys)) == len(keys)


def test_cut_file_becomes_a_framing_audit_document(runtime: Program, tmp_path: Path) -> None:
    cut = tmp_path / "cut.dat"
    cut.write_bytes((SAMPLES / "acctmast.dat").read_bytes()[: 300 * 4 + 17])
    outcomes = list(judge_file(runtime, cut))
    [reject] = [o for o in outcomes if isinstance(o, Rejected)]
    assert reject.stage == "framing"
    assert reject.audit["reasons"][0]["offset"] == 1200
    assert "cut off" in reject.audit["reasons"][0]["message"]
    assert JsonSchemaValidator(audit_schema()).validate(reject.audit) == []
