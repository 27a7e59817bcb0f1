"""Program: a mapping compiled once, the one object the record stage needs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.copybook.compiler import compile_text
from bridge.decode.encoder import encode_record
from bridge.decode.reference import decode_record
from bridge.mapping.lint import check_mapping
from bridge.mapping.model import MappingError, parse_mapping
from bridge.mapping.program import load_program
from bridge.mapping.scaffold import default_mapping

from .conftest import ACCTMAST_MAPPING, acct_document, acct_values


def test_runtime_end_to_end(pii_env: str) -> None:
    runtime = load_program(ACCTMAST_MAPPING)
    assert runtime.warnings == ()
    assert runtime.schema_id.startswith("urn:bridge:schema:acctmast:1.0.0:")
    options = runtime.decode_options()
    assert (options.codepage, options.trim, dict(options.redefines)) == ("cp037", "right", {})
    layout = runtime.layout()
    record = encode_record(layout, acct_values())
    result = decode_record(layout, record, options=options, record_number=4, file_offset=1200)
    decoded = json.loads(result.document, parse_float=Decimal)
    outcome = runtime.process(decoded, record=record, record_offset=1200)
    assert outcome.valid
    assert outcome.event["ledgerBalance"] == "12345.67"
    assert runtime.kafka_key(outcome.event) == "00123-004567890123"
    assert runtime.redis_key(outcome.event) == "acct:00123-004567890123"
    case = runtime.cases[None]
    assert case.validator.name == "jsonschema"
    assert (case.checks, case.events, case.keys) != (None, None, None)
    assert None not in (case.checks, case.events, case.keys) and case.refused == ()


def test_runtime_frames_as_the_mapping_says(pii_env: str) -> None:
    runtime = load_program(ACCTMAST_MAPPING)
    layout = runtime.layout()
    data = b"".join(encode_record(layout, acct_values()) for _ in range(3))
    spans = list(runtime.frame(data))
    assert [(s.number, s.offset, s.length) for s in spans] == [
        (0, 0, 300),
        (1, 300, 300),
        (2, 600, 300),
    ]


def test_runtime_refuses_a_mapping_check_refuses(tmp_path: Path, pii_env: str) -> None:
    doc = acct_document()
    doc["copybook"]["path"] = str(ACCTMAST_MAPPING.parent / doc["copybook"]["path"])
    doc["fields"] = doc["fields"][1:]
    (tmp_path / "m.json").write_text(json.dumps(doc))
    with pytest.raises(MappingError, match="neither mapped nor dropped"):
        load_program(tmp_path / "m.json")


def test_long_integers_warn() -> None:
    layouts = compile_text("       01  R.\n           05  BIG  PIC 9(18).\n", "R")
    problems = check_mapping(parse_mapping(default_mapping(layouts, "r.cpy", name="r")), layouts)
    [problem] = problems
    assert problem.severity == "warning"
    assert "lose precision beyond 2**53" in problem.message
