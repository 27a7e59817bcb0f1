"""bridge schema: the record JSON Schema of a mapping, its $id, decimals, PII, multi-layout."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bridge.cli import main
from bridge.copybook.compiler import compile_text
from bridge.copybook.layout import Layout
from bridge.mapping.apply import Mapper
from bridge.mapping.lint import check_mapping, errors
from bridge.mapping.model import MappingDoc, parse_mapping
from bridge.mapping.record_schema import (
    HASH_PATTERN,
    canonical_decimal,
    case_schemas,
    decimal_pattern,
    record_schema,
)
from bridge.mapping.scaffold import default_mapping
from bridge.mapping.validate import JsonSchemaValidator

from .conftest import ACCTMAST_MAPPING, TEST_PII_KEY, acct_values


def test_cli_prints_the_schema(
    acct_layouts: tuple[Layout, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", str(ACCTMAST_MAPPING)]) == 0
    schema = json.loads(capsys.readouterr().out)
    Draft202012Validator.check_schema(schema)
    fingerprint = acct_layouts[0].fingerprint
    assert schema["$id"] == f"urn:bridge:schema:acctmast:1.0.0:{fingerprint}"
    assert "never JSON numbers" in schema["description"]
    assert main(["schema", str(ACCTMAST_MAPPING), "--clear"]) == 0
    clear = json.loads(capsys.readouterr().out)
    assert clear["$id"] == f"urn:bridge:schema:acctmast:1.0.0:{fingerprint}:clear"


def test_cli_refuses_an_invalid_mapping(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(ACCTMAST_MAPPING.read_text())
    doc["copybook"]["path"] = str(ACCTMAST_MAPPING.parent / doc["copybook"]["path"])
    doc["copybook"]["fingerprint"] = "a" * 64
    (tmp_path / "m.json").write_text(json.dumps(doc))
    assert main(["schema", str(tmp_path / "m.json")]) == 3
    assert capsys.readouterr().out == ""
    assert main(["schema", str(tmp_path / "none.json")]) == 4


def test_shape(acct_mapping: MappingDoc, acct_layouts: tuple[Layout, ...]) -> None:
    schema = record_schema(acct_mapping, acct_layouts)
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == list(props)
    assert props["ledgerBalance"]["type"] == "string"
    assert props["ledgerBalance"]["pattern"] == decimal_pattern(15, 2)
    assert props["interestRate"]["decimalMinimum"] == "0.00000"
    assert props["maturityDate"]["type"] == ["string", "null"]
    assert props["maturityDate"]["format"] == "date"
    holds = props["holds"]
    assert (holds["type"], holds["minItems"], holds["maxItems"]) == ("array", 5, 5)
    assert holds["items"]["properties"]["amount"]["x-bridge-source"] == (
        "ACCT-MASTER-REC.AM-HOLDS.AM-HOLD-AMT"
    )
    customer = props["customer"]
    assert customer["additionalProperties"] is False
    assert list(customer["properties"]) == [
        "id",
        "name",
        "nationalIdHash",
        "nationalIdType",
        "birthDate",
    ]
    # Published: the hash; clear: the rule on the clear value.
    assert customer["properties"]["nationalIdHash"]["pattern"] == HASH_PATTERN
    clear = record_schema(acct_mapping, acct_layouts, published=False)
    assert clear["properties"]["customer"]["properties"]["nationalIdHash"]["pattern"] == (
        "^[A-Z0-9]{6,12}$"
    )
    assert props["joint"]["type"] == "boolean"
    assert props["status"]["enum"] == ["ACTIVE", "DORMANT", "FROZEN", "CLOSED"]


def test_events_satisfy_their_schemas(
    acct_mapping: MappingDoc, acct_layouts: tuple[Layout, ...], pii_env: str
) -> None:
    applied = Mapper(acct_mapping, acct_layouts, pii_key=TEST_PII_KEY.encode()).apply(acct_values())
    published = JsonSchemaValidator(record_schema(acct_mapping, acct_layouts))
    clear = JsonSchemaValidator(record_schema(acct_mapping, acct_layouts, published=False))
    assert published.validate(applied.event) == []
    assert clear.validate(applied.clear) == []
    # And a plain 2020-12 validator (a consumer's) accepts the published event too.
    Draft202012Validator(record_schema(acct_mapping, acct_layouts)).validate(applied.event)


@pytest.mark.parametrize(
    ("precision", "scale", "good", "bad"),
    [
        (
            7,
            2,
            ["0.00", "-91.90", "12345.67", "0.05"],
            ["-0.00", "12.5", "012.50", "123456.00", "1.000", "1", "+1.00", " 1.00", "1e2"],
        ),
        (3, 3, ["0.123", "-0.001", "0.000"], ["1.000", ".123", "-0.000", "0.12"]),
        (5, 0, ["0", "-12345", "7"], ["-0", "00", "123456", "1.0"]),
    ],
)
def test_decimal_pattern(precision: int, scale: int, good: list[str], bad: list[str]) -> None:
    schema = {"type": "string", "pattern": decimal_pattern(precision, scale)}
    for validator in (JsonSchemaValidator(schema),):
        assert [v for v in good if validator.validate(v)] == []
        assert [v for v in bad if not validator.validate(v)] == []


def test_canonical_decimal() -> None:
    assert canonical_decimal(Decimal("-0.000"), 2) == "0.00"
    assert canonical_decimal(Decimal("12.5"), 2) == "12.50"
    assert canonical_decimal(3, 0) == "3"
    big = Decimal("12345678901234567890123456789012345.678")
    assert canonical_decimal(big, 3) == "12345678901234567890123456789012345.678"


def test_decimal_bounds_are_exact() -> None:
    schema = {
        "type": "string",
        "decimalMinimum": "-0.01",
        "decimalMaximum": "99999999999999999999999999999999999.99",
    }
    validator = JsonSchemaValidator(schema)
    assert validator.validate("99999999999999999999999999999999999.99") == []
    over = validator.validate("100000000000000000000000000000000000.00")
    assert [v.rule for v in over] == ["decimalMaximum"]
    assert [v.rule for v in validator.validate("-0.02")] == ["decimalMinimum"]


MULTI = """
       01  TXN-REC.
           05  TX-TYPE      PIC X.
           05  TX-BODY      PIC X(10).
           05  TX-PAY REDEFINES TX-BODY.
               10  PAY-AMT  PIC S9(7)V99 COMP-3.
               10  FILLER   PIC X(5).
           05  TX-NOTE REDEFINES TX-BODY.
               10  NOTE-TXT PIC X(10).
"""


def _multi() -> tuple[MappingDoc, tuple[Layout, ...]]:
    layouts = compile_text(MULTI, "T")
    doc = default_mapping(layouts, "t.cpy", name="t")
    doc["drop"] = [{"source": "TXN-REC.TX-BODY", "reason": "each case decodes its own shape"}]
    doc["fields"] = [f for f in doc["fields"] if f["source"] != "TXN-REC.TX-BODY"] + [
        {
            "source": "TXN-REC.TX-PAY.PAY-AMT",
            "target": "amount",
            "type": "decimal",
            "precision": 9,
            "scale": 2,
            "required": True,
        },
        {"source": "TXN-REC.TX-NOTE.NOTE-TXT", "target": "note", "type": "string"},
    ]
    doc["discriminator"] = {
        "source": "TXN-REC.TX-TYPE",
        "cases": [
            {
                "name": "payment",
                "when": ["P"],
                "layout": "TXN-REC",
                "redefines": {"TXN-REC.TX-BODY": "TXN-REC.TX-PAY"},
            },
            {
                "name": "note",
                "when": ["N"],
                "layout": "TXN-REC",
                "redefines": {"TXN-REC.TX-BODY": "TXN-REC.TX-NOTE"},
            },
        ],
        "otherwise": "reject",
    }
    mapping = parse_mapping(doc)
    assert errors(check_mapping(mapping, layouts)) == []
    return mapping, layouts


def test_multi_layout() -> None:
    mapping, layouts = _multi()
    schema = record_schema(mapping, layouts)
    Draft202012Validator.check_schema(schema)
    assert schema["oneOf"] == [{"$ref": "#/$defs/payment"}, {"$ref": "#/$defs/note"}]
    mapper = Mapper(mapping, layouts)
    assert mapper.redefines_for("payment") == {"TXN-REC.TX-BODY": "TXN-REC.TX-PAY"}
    decoded = {"TX-TYPE": "P", "TX-PAY": {"PAY-AMT": Decimal("12.30")}}
    assert mapper.case_for({"TX-TYPE": "P", "TX-BODY": "xx"}) == "payment"
    rejected = mapper.case_for({"TX-TYPE": "Z", "TX-BODY": "xx"})
    assert not isinstance(rejected, str) and rejected is not None
    assert (rejected.check, rejected.rule) == ("decode", "unknown-record-type")
    assert rejected.path == "TXN-REC.TX-TYPE"
    applied = mapper.apply(decoded, "payment")
    assert applied.event == {"recordType": "payment", "txType": "P", "amount": "12.30"}
    # The combined document (oneOf) and each case's schema.
    assert JsonSchemaValidator(schema).validate(applied.event) == []
    per_case = case_schemas(mapping, layouts)
    assert JsonSchemaValidator(per_case["payment"]).validate(applied.event) == []
    wrong = JsonSchemaValidator(per_case["note"]).validate(applied.event)
    assert {v.rule for v in wrong} == {"const", "required", "additionalProperties"}


def test_discriminator_target_clash() -> None:
    mapping, layouts = _multi()
    doc = dict(mapping.document)
    doc["fields"] = [dict(f) for f in doc["fields"]]
    doc["fields"][0]["target"] = "recordType"
    problems = check_mapping(parse_mapping(doc), layouts)
    assert any("carries the discriminator case" in p.message for p in problems)
