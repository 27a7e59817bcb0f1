"""Validation in Python: jsonschema with the bridge's decimal bounds, every violated rule."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.copybook.compiler import compile_text
from bridge.copybook.layout import Layout
from bridge.decode.encoder import encode_record
from bridge.decode.reference import decode_to_dict
from bridge.mapping.apply import Mapper
from bridge.mapping.lint import check_mapping, errors, load_checked
from bridge.mapping.model import MappingDoc, parse_mapping
from bridge.mapping.record_schema import case_schemas, record_schema
from bridge.mapping.scaffold import default_mapping
from bridge.mapping.validate import (
    JsonSchemaValidator,
    map_and_validate,
    validators_for,
)

from .conftest import ACCTMAST_MAPPING, TEST_PII_KEY, acct_values

SYNTHETIC = """
       01  S.
           05  CODE       PIC X(3).
           05  QTY        PIC S9(4).
           05  AMT        PIC S9(5)V99 COMP-3.
           05  RATE       PIC V999.
           05  DT         PIC 9(8).
           05  TS         PIC X(26).
           05  FLAG       PIC X.
           05  KIND       PIC X.
               88  KIND-A VALUE 'A'.
               88  KIND-B VALUE 'B'.
           05  SECRET     PIC X(9).
           05  MONTHLY    PIC S9(3)V99 OCCURS 3.
           05  ITEMS      OCCURS 2.
               10  ITEM-ID   PIC 9(4).
               10  ITEM-TXT  PIC X(5).
           05  N-NOTES    PIC 9.
           05  NOTES      OCCURS 0 TO 3 DEPENDING ON N-NOTES.
               10  NOTE      PIC X(4).
"""


def synthetic() -> tuple[MappingDoc, tuple[Layout, ...]]:
    """A mapping using every kind of constraint a record schema can carry."""
    layouts = compile_text(SYNTHETIC, "S")
    doc = default_mapping(layouts, "s.cpy", name="s")
    by = {f["source"].split(".")[-1]: f for f in doc["fields"]}
    by["CODE"].update(target="meta.code", minLength=1, pattern="^[A-Z]+$", required=True)
    by["QTY"].update(minimum=-100, maximum=100, enum=[-100, 0, 1, 2, 3, 100])
    by["AMT"].update(minimum="-500.00", maximum="500.00")
    by["RATE"].update(enum=["0.125", "0.250", "0.500"], required=False)
    by["DT"] = {"source": "S.DT", "target": "meta.date", "type": "date", "format": "YYYYMMDD"}
    by["TS"] = {
        "source": "S.TS",
        "target": "ts",
        "type": "timestamp",
        "format": "YYYY-MM-DD HH:MM:SS.ffffff",
        "required": True,
    }
    by["FLAG"] = {
        "source": "S.FLAG",
        "target": "flag",
        "type": "boolean",
        "true": ["Y"],
        "false": ["N"],
    }
    by["SECRET"].update(classification="pii", pii={"policy": "hash"}, pattern="^[0-9]{9}$")
    doc["fields"] = list(by.values())
    doc["pii_key"] = {"env": "BRIDGE_PII_KEY"}
    doc["discriminator"] = {
        "source": "S.KIND",
        "cases": [{"name": "only", "when": ["A", "B"], "layout": "S"}],
    }
    mapping = parse_mapping(doc)
    assert errors(check_mapping(mapping, layouts)) == []
    return mapping, layouts


def _schemas() -> dict[str, dict[str, Any]]:
    acct, acct_layouts, _ = load_checked(ACCTMAST_MAPPING)
    syn, syn_layouts = synthetic()
    out = {}
    for name, (mapping, layouts) in {
        "acct": (acct, acct_layouts),
        "syn": (syn, syn_layouts),
    }.items():
        for published in (False, True):
            [schema] = case_schemas(mapping, layouts, published=published).values()
            out[f"{name}-{'published' if published else 'clear'}"] = schema
    return out


SCHEMAS = _schemas()


def test_every_violated_rule_is_listed() -> None:
    schema = SCHEMAS["syn-clear"]
    event = {
        "recordType": "other",
        "meta": {"code": "abcd", "date": "2023-02-30", "extra": 1},
        "qty": 101,
        "amt": "-500.01",
        "rate": "0.3",
        "ts": None,
        "flag": "Y",
        "kind": "C",
        "secret": "12345678",
        "monthly": ["1.00", "2.00"],
        "items": [{"itemId": 1, "itemTxt": "abcdef"}, {"itemId": 2}],
        "nNotes": 4,
        "notes": [{"note": "a"}, {"note": "b"}, {"note": "c"}, {"note": "d"}],
    }
    for validator in (JsonSchemaValidator(schema),):
        got = {(v.pointer, v.rule): (v.expected, v.actual) for v in validator.validate(event)}
        assert set(got) == {
            ("/recordType", "const"),
            ("/notes", "maxItems"),
            ("/meta", "additionalProperties"),
            ("/meta/code", "maxLength"),
            ("/meta/code", "pattern"),
            ("/meta/date", "format"),
            ("/qty", "maximum"),
            ("/qty", "enum"),
            ("/amt", "decimalMinimum"),
            ("/rate", "pattern"),
            ("/rate", "enum"),
            ("/ts", "type"),
            ("/flag", "type"),
            ("/kind", "enum"),
            ("/secret", "pattern"),
            ("/monthly", "minItems"),
            ("/items/0/itemTxt", "maxLength"),
            ("/items/1/itemTxt", "required"),
        }, validator.name
        assert got[("/qty", "maximum")] == (100, 101)
        assert got[("/amt", "decimalMinimum")] == ("-500.00", "-500.01")
        assert got[("/meta", "additionalProperties")] == (["code", "date"], ["extra"])
        assert got[("/items/1/itemTxt", "required")] == ("itemTxt", None)


def test_located_violations(
    acct_mapping: MappingDoc, acct_layouts: tuple[Layout, ...], pii_env: str
) -> None:
    layout = acct_layouts[0]
    values = acct_values()
    values["AM-STMT-CYCLE"] = 45  # maximum 31
    values["AM-OPEN-DATE"] = 20231301  # no month 13
    values["AM-HOLDS"][3]["AM-HOLD-AMT"] = Decimal("-5.00")  # minimum 0.00
    record = encode_record(layout, values)
    mapper = Mapper(acct_mapping, acct_layouts, pii_key=TEST_PII_KEY.encode())
    validators = validators_for(case_schemas(acct_mapping, acct_layouts, published=False))
    outcome = map_and_validate(
        mapper, validators, decode_to_dict(layout, record), record=record, record_offset=3000
    )
    by = {v.pointer: v for v in outcome.violations}
    assert set(by) == {"/statementCycleDay", "/openDate", "/holds/3/amount"}
    cycle = by["/statementCycleDay"]
    assert (cycle.check, cycle.rule, cycle.expected, cycle.actual) == ("schema", "maximum", 31, 45)
    assert cycle.path == "ACCT-MASTER-REC.AM-STMT-CYCLE"
    assert (cycle.offset, cycle.length, cycle.raw) == (3000 + 156, 2, "002d")
    date = by["/openDate"]  # reported once, as a conversion failure: not again as pattern/type
    assert (date.check, date.rule, date.raw) == ("convert", "date-format", "f2f0f2f3f1f3f0f1")
    hold = by["/holds/3/amount"]
    assert hold.path == "ACCT-MASTER-REC.AM-HOLDS[3].AM-HOLD-AMT"
    assert (hold.offset, hold.raw) == (3000 + 160 + 3 * 17, "0000000000500d")
    assert not outcome.valid


# --- differential: fast validator vs the oracle ------------------------------------------

NASTY: list[Any] = [
    None, True, False, 0, 1, -1, 2**63, -(10**20), 1.0, -0.0, 1.5, float("nan"), float("inf"),
    Decimal("1"), Decimal("1.50"), "", " ", "A", "ACTIVE", "null", "0", "-0", "0.00", "-0.00",
    "12.5", "1e3", "2024-02-29", "2023-02-30", "2024-2-01", "2024-02-29T00:00:00",
    "2022-06-10T19:27:53.000000", "\u0663\u0660", "x" * 70, "0" * 64, "f" * 64, [], [1], {},
    {"a": 1}, ["0.00", "1.00", "2.00"],
]  # fmt: skip


def test_published_events_from_real_mapping_pass(
    acct_mapping: MappingDoc, acct_layouts: tuple[Layout, ...]
) -> None:
    mapper = Mapper(acct_mapping, acct_layouts, pii_key=TEST_PII_KEY.encode())
    schema = record_schema(acct_mapping, acct_layouts)
    event = mapper.apply(acct_values()).event
    assert JsonSchemaValidator(schema).validate(event) == []
