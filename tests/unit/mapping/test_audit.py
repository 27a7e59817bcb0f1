"""Audit records: one per rejected record, valid against schemas/audit-record.schema.json,
with decode errors and validation failures in one reason format."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Layout
from bridge.decode.encoder import encode_record
from bridge.decode.reference import decode_record, decode_to_dict
from bridge.mapping.apply import Mapper
from bridge.mapping.audit import AuditContext, audit_json, audit_schema, file_sha256
from bridge.mapping.lint import errors, load_checked
from bridge.mapping.model import MappingDoc, parse_mapping
from bridge.mapping.reasons import Violation
from bridge.mapping.record_schema import case_schemas, schema_id
from bridge.mapping.scaffold import default_mapping
from bridge.mapping.validate import map_and_validate, validators_for

from .conftest import ACCTMAST_MAPPING, CARDDEMO, TEST_PII_KEY, acct_values

AUDIT = Draft202012Validator(audit_schema(), format_checker=FormatChecker())


def _valid(record: dict[str, Any]) -> None:
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in AUDIT.iter_errors(record)]
    assert problems == []
    # It survives the trip through the queue unchanged.
    assert json.loads(audit_json(record)) == record
    assert "\n" not in audit_json(record)


def _context(tmp_path: Path, mapping: MappingDoc, layout: Layout, data: bytes) -> AuditContext:
    source = tmp_path / "ACCTMAST.DAT"
    source.write_bytes(data)
    return AuditContext.for_file(
        source,
        layout_name=layout.name,
        fingerprint=layout.fingerprint,
        mapping_name=mapping.name,
        mapping_version=mapping.version,
        schema_id=schema_id(mapping),
        pii_key_id="pii-2026-q4",
    )


def test_decode_and_validate_rejections(
    tmp_path: Path,
    acct_mapping: MappingDoc,
    acct_layouts: tuple[Layout, ...],
    pii_env: str,
) -> None:
    layout = acct_layouts[0]
    good = encode_record(layout, acct_values())
    bad_decode = bytearray(good)
    bad_decode[47 + 7] = 0x13  # AM-LEDGER-BAL: sign nibble 3
    values = acct_values()
    values["AM-STMT-CYCLE"] = 45
    bad_rule = encode_record(layout, values)
    data = good + bytes(bad_decode) + bad_rule
    context = _context(tmp_path, acct_mapping, layout, data)
    mapper = Mapper(acct_mapping, acct_layouts, pii_key=TEST_PII_KEY.encode())
    validators = validators_for(case_schemas(acct_mapping, acct_layouts, published=False))
    audits = []
    size = layout.record_length
    for number in range(3):
        offset = number * size
        raw = data[offset : offset + size]
        result = decode_record(layout, raw, record_number=number, file_offset=offset)
        if result.errors:
            audits.append(
                context.record(
                    stage="decode",
                    record_number=number,
                    offset=offset,
                    raw=raw,
                    reasons=result.errors,
                )
            )
            continue
        document = json.loads(result.document, parse_float=Decimal)
        outcome = map_and_validate(mapper, validators, document, record=raw, record_offset=offset)
        if not outcome.valid:
            audits.append(
                context.record(
                    stage="validate",
                    record_number=number,
                    offset=offset,
                    raw=raw,
                    reasons=outcome.violations,
                )
            )
    assert [a["stage"] for a in audits] == ["decode", "validate"]
    for audit in audits:
        _valid(audit)
        assert audit["source"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert audit["mapping"]["schema_id"].startswith("urn:bridge:schema:acctmast:1.0.0:")
    decoded, validated = audits
    assert base64.b64decode(decoded["record"]["raw_base64"]) == bytes(bad_decode)
    assert (decoded["record"]["number"], decoded["record"]["offset"]) == (1, size)
    [reason] = decoded["reasons"]
    assert reason["check"] == "decode"
    assert reason["rule"] == "bad-packed-sign"
    assert reason["path"] == "ACCT-MASTER-REC.AM-BALANCES.AM-LEDGER-BAL"
    assert (reason["offset"], reason["length"]) == (size + 47, 8)
    [rule] = validated["reasons"]
    assert (rule["check"], rule["rule"], rule["expected"], rule["actual"]) == (
        "schema",
        "maximum",
        31,
        45,
    )
    assert (rule["path"], rule["offset"], rule["raw"]) == (
        "ACCT-MASTER-REC.AM-STMT-CYCLE",
        2 * size + 156,
        "002d",
    )
    # One format: decode and validation reasons have the same keys.
    assert reason.keys() == rule.keys()


def test_framing_rejection_without_a_mapping(tmp_path: Path) -> None:
    source = tmp_path / "broken.vb"
    source.write_bytes(b"\x00\x05\x00\x00abc")
    context = AuditContext.for_file(source, layout_name="R", fingerprint="0" * 64)
    reason = Violation(
        "framing",
        "bad-rdw",
        "RDW length 5 is shorter than the 4-byte RDW plus data",
        offset=0,
        length=4,
        raw="00050000",
    )
    moment = datetime(2026, 11, 26, 14, 0, 0, 5, tzinfo=UTC)
    audit = context.record(
        stage="framing",
        record_number=0,
        offset=0,
        raw=b"\x00\x05\x00\x00abc",
        reasons=[reason],
        time=moment,
    )
    _valid(audit)
    assert audit["mapping"] is None
    assert audit["time"] == "2026-11-26T14:00:00.000005Z"
    assert audit["source"]["sha256"] == file_sha256(source)


def test_audit_record_refuses_nonsense(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    context = AuditContext.for_file(source, layout_name="R", fingerprint="0" * 64)
    with pytest.raises(ValueError, match="stage"):
        context.record(stage="kafka", record_number=0, offset=0, raw=b"x", reasons=[])
    with pytest.raises(ValueError, match="at least one reason"):
        context.record(stage="decode", record_number=0, offset=0, raw=b"x", reasons=[])


def test_schema_rejects_a_malformed_audit_record(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    context = AuditContext.for_file(source, layout_name="R", fingerprint="0" * 64)
    reason = Violation("decode", "bad-zone", "zone C1", path="R.A", offset=0, length=1, raw="c1")
    audit = context.record(stage="decode", record_number=0, offset=0, raw=b"x", reasons=[reason])
    _valid(audit)
    broken = json.loads(audit_json(audit))
    broken["reasons"][0]["raw"] = "C1"  # upper-case hex
    del broken["record"]["offset"]
    assert len(list(AUDIT.iter_errors(broken))) == 2


def test_carddemo_accounts_through_a_default_mapping(tmp_path: Path) -> None:
    """Every real account record maps and validates; a damaged copy of one is audited."""
    copybook = CARDDEMO / "cpy" / "CVACT01Y.cpy"
    layouts = compile_copybook(copybook)
    layout = layouts[0]
    mapping = parse_mapping(default_mapping(layouts, str(copybook), name="cvact01y"))
    mapper = Mapper(mapping, layouts)
    validators = validators_for(case_schemas(mapping, layouts, published=False))
    data = bytearray((CARDDEMO / "ebcdic" / "AWS.M2.CARDDEMO.ACCTDATA.PS").read_bytes())
    size = layout.record_length
    assert len(data) == 50 * size
    data[7 * size + 20] = 0x7B  # '#' in ACCT-CURR-BAL (zoned): bad-zone
    source = tmp_path / "ACCTDATA.PS"
    source.write_bytes(bytes(data))
    context = AuditContext.for_file(
        source,
        layout_name=layout.name,
        fingerprint=layout.fingerprint,
        mapping_name=mapping.name,
        mapping_version=mapping.version,
    )
    rejected = []
    for number in range(50):
        raw = bytes(data[number * size : (number + 1) * size])
        result = decode_record(layout, raw, record_number=number, file_offset=number * size)
        if result.errors:
            rejected.append(
                context.record(
                    stage="decode",
                    record_number=number,
                    offset=number * size,
                    raw=raw,
                    reasons=result.errors,
                )
            )
            continue
        outcome = map_and_validate(mapper, validators, decode_to_dict(layout, raw), record=raw)
        assert outcome.valid, outcome.violations
        assert Decimal(outcome.event["acctCurrBal"]) == decode_to_dict(layout, raw)["ACCT-CURR-BAL"]
    assert [r["record"]["number"] for r in rejected] == [7]
    _valid(rejected[0])
    assert rejected[0]["reasons"][0]["path"] == "ACCOUNT-RECORD.ACCT-CURR-BAL"


def test_example_mapping_still_checks() -> None:
    _, _, problems = load_checked(ACCTMAST_MAPPING)
    assert errors(problems) == []
