"""The bundled ACCTMAST sample through the mapping: exactly its documented faults are rejected,
with the documented field, stage and rule; every other record becomes a valid event."""

from __future__ import annotations

import json
from typing import Any

from bridge.decode.reference import decode_record
from bridge.decode.verdict import FieldError
from bridge.mapping.audit import AuditContext, audit_schema
from bridge.mapping.reasons import Violation
from bridge.mapping.record_schema import record_schema
from bridge.mapping.runtime import Runtime, document_values
from bridge.mapping.validate import FastValidator, JsonSchemaValidator

from .conftest import ACCTMAST_MAPPING, ROOT

SAMPLES = ROOT / "copybooks" / "samples"


def test_sample_faults_exactly(pii_env: str) -> None:
    faults = json.loads((SAMPLES / "acctmast.faults.json").read_text())
    runtime = Runtime.load(ACCTMAST_MAPPING)
    layout = runtime.layout()
    source = SAMPLES / faults["file"]
    data = source.read_bytes()
    context = AuditContext.for_file(
        source,
        layout_name=layout.name,
        fingerprint=layout.fingerprint,
        mapping_name=runtime.mapping.name,
        mapping_version=runtime.mapping.version,
        schema_id=runtime.schema_id,
    )
    published = FastValidator(record_schema(runtime.mapping, runtime.layouts))
    audit_check = JsonSchemaValidator(audit_schema())
    rejected: list[dict[str, Any]] = []
    events = 0
    for span in runtime.frame(data):
        raw = bytes(span.data(data))
        result = decode_record(
            layout,
            raw,
            options=runtime.decode_options(),
            record_number=span.number,
            file_offset=span.offset,
        )
        reasons: list[Violation | FieldError]
        if result.errors:
            stage, reasons = "decode", list(result.errors)
        else:
            outcome = runtime.process(
                document_values(result), record=raw, record_offset=span.offset
            )
            if outcome.valid:
                assert published.validate(outcome.event) == []
                events += 1
                continue
            stage, reasons = "validate", list(outcome.violations)
        audit = context.record(
            stage=stage, record_number=span.number, offset=span.offset, raw=raw, reasons=reasons
        )
        assert audit_check.validate(audit) == []
        rejected.append(audit)
    got = [
        (a["record"]["number"], r["path"], a["stage"], r["rule"])
        for a in rejected
        for r in a["reasons"]
    ]
    expected = [(f["record"], f["path"], f["stage"], f["rule"]) for f in faults["faults"]]
    assert got == expected
    assert events == faults["good"]
