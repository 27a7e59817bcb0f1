"""Validation: jsonschema is the oracle; the fast validator must give the same violations.

The differential tests check well over 100,000 generated events (valid and invalid, from
hypothesis strategies and from seeded batches) against four record schemas, comparing the
(pointer, rule) of every violation, not only the verdict.
"""

from __future__ import annotations

import random
import re
import string
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    FastValidator,
    JsonSchemaValidator,
    fast_path_supported,
    make_validator,
    map_and_validate,
    unsupported_keywords,
    validators_for,
    violation_keys,
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


def test_record_schemas_are_fast_path_material() -> None:
    for schema in SCHEMAS.values():
        assert fast_path_supported(schema)
        assert make_validator(schema).name == "fast"


@pytest.mark.parametrize(
    ("schema", "pointers"),
    [
        ({"oneOf": [{"type": "string"}]}, ["/oneOf"]),
        ({"properties": {"a": {"multipleOf": 0.01}}}, ["/properties/a/multipleOf"]),
        ({"format": "email"}, ["/format"]),
        ({"additionalProperties": {"type": "string"}}, ["/additionalProperties"]),
        ({"items": {"$ref": "#/$defs/x"}, "$defs": {"x": {}}}, ["/items/$ref", "/$defs"]),
        ({"type": "decimal"}, ["/type"]),
        ({"title": "t", "x-bridge-source": "R.A", "type": "string"}, []),
    ],
)
def test_fast_path_whitelist(schema: dict[str, Any], pointers: list[str]) -> None:
    assert unsupported_keywords(schema) == pointers
    assert fast_path_supported(schema) is (not pointers)
    if pointers:
        with pytest.raises(ValueError, match="not fast-path material"):
            FastValidator(schema)


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
    for validator in (JsonSchemaValidator(schema), FastValidator(schema)):
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
    mapper = Mapper(acct_mapping, acct_layouts)
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


def _decimal_shape(pattern: str) -> tuple[int, int]:
    """(integer digits, scale) of a record schema's decimal pattern."""
    match = re.search(r"\{0,([0-9]+)\}", pattern)
    whole = int(match.group(1)) + 1 if match else 0
    scale = int(pattern.rsplit("{", 1)[1].split("}", 1)[0]) if "\\." in pattern else 0
    return whole, scale


def _decimal_text(rng: random.Random, pattern: str) -> str:
    """Decimal-looking text, right about as often as wrong."""
    _, scale = _decimal_shape(pattern)
    digits = rng.choice([1, 1, 2, 3, 5, 8, 13, 16])
    whole = str(rng.randrange(10**digits)) if rng.random() < 0.9 else "0" + str(rng.randrange(9))
    frac_len = scale if rng.random() < 0.85 else rng.choice([0, 1, scale + 1])
    frac = "".join(rng.choice(string.digits) for _ in range(frac_len))
    sign = "-" if rng.random() < 0.3 else ""
    return sign + whole + ("." + frac if frac_len else "")


def _string(rng: random.Random, schema: dict[str, Any]) -> str:
    pattern = schema.get("pattern", "")
    if pattern.startswith("^(?!-0"):
        return _decimal_text(rng, pattern)
    if schema.get("format") == "date" or pattern.startswith("^[0-9]{4}-"):
        y, m, d = rng.randrange(1890, 2100), rng.randrange(0, 14), rng.randrange(0, 33)
        text = f"{y:04d}-{m:02d}-{d:02d}"
        if "T" in pattern:
            text += f"T{rng.randrange(25):02d}:{rng.randrange(61):02d}:{rng.randrange(61):02d}"
            text += rng.choice(["", ".000000", ".123", ".1234567"])
        return text
    if pattern == "^[0-9a-f]{64}$":
        return "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice([63, 64, 64])))
    alphabet = rng.choice([string.digits, string.ascii_uppercase, string.ascii_letters + " é-"])
    limit = schema.get("maxLength", 12)
    size = rng.choice([0, 1, limit, limit, limit + 1, rng.randrange(limit + 2)])
    return "".join(rng.choice(alphabet) for _ in range(size))


def wild_value(rng: random.Random, schema: dict[str, Any]) -> Any:
    """Plausible-looking values for ``schema``, valid about half of the time, some nasty."""
    if rng.random() < 0.1:
        return rng.choice(NASTY)
    if "enum" in schema and rng.random() < 0.5:
        return rng.choice(schema["enum"])
    types = schema.get("type", "string")
    kind = rng.choice(types) if isinstance(types, list) else types
    if kind == "null":
        return None
    if kind == "object":
        out = {
            name: wild_value(rng, sub)
            for name, sub in schema.get("properties", {}).items()
            if rng.random() > 0.1
        }
        if rng.random() < 0.2:
            out[rng.choice(["extra", "Extra", "recordType"])] = 1
        return out
    if kind == "array":
        low, high = schema.get("minItems", 0), schema.get("maxItems", 3)
        n = rng.randrange(max(0, low - 1), high + 2)
        return [wild_value(rng, schema.get("items", {})) for _ in range(n)]
    if kind == "integer":
        low, high = schema.get("minimum", -(10**12)), schema.get("maximum", 10**12)
        value = rng.choice([low, high, low - 1, high + 1, rng.randint(low, high)])
        return float(value) if rng.random() < 0.1 else value
    if kind == "boolean":
        return rng.random() < 0.5
    return _string(rng, schema)


def _valid_string(rng: random.Random, schema: dict[str, Any]) -> str:
    pattern = schema.get("pattern", "")
    if pattern.startswith("^(?!-0"):
        whole, scale = _decimal_shape(pattern)
        low = Decimal(schema.get("decimalMinimum", "-" + "9" * max(whole, 1)))
        high = Decimal(schema.get("decimalMaximum", "9" * max(whole, 1)))
        unit = Decimal(1).scaleb(-scale)
        steps = int((high - low) / unit)
        value = low + unit * rng.randint(0, steps)
        text = f"{value:.{scale}f}"
        return text[1:] if text.startswith("-") and Decimal(text) == 0 else text
    if schema.get("format") == "date" or pattern.startswith("^[0-9]{4}-"):
        day = date(1900, 1, 1) + timedelta(days=rng.randrange(80000))
        if "T" in pattern:
            return f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.000000"
        return day.isoformat()
    if pattern == "^[0-9a-f]{64}$":
        return "".join(rng.choice("0123456789abcdef") for _ in range(64))
    low, high = schema.get("minLength", 0), schema.get("maxLength", 12)
    if not pattern:
        size = rng.randint(low, high)
        return "".join(rng.choice(string.ascii_letters + " 0") for _ in range(size))
    alphabet = string.digits if "[0-9]" in pattern else string.ascii_uppercase + string.digits
    regex = re.compile(pattern)
    for _ in range(200):
        size = rng.choice([high, rng.randint(low, high)])
        text = "".join(rng.choice(alphabet) for _ in range(size))
        if regex.search(text):
            return text
    return ""


def random_value(rng: random.Random, schema: dict[str, Any], p_wild: float) -> Any:
    """A value meant to be valid, except that each leaf goes wild with probability p_wild."""
    if rng.random() < p_wild:
        return wild_value(rng, schema)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    types = schema.get("type", "string")
    kind = rng.choice(types) if isinstance(types, list) else types
    if kind == "null":
        return None
    if kind == "object":
        return {
            name: random_value(rng, sub, p_wild)
            for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        n = rng.randint(schema.get("minItems", 0), schema.get("maxItems", 3))
        return [random_value(rng, schema.get("items", {}), p_wild) for _ in range(n)]
    if kind == "integer":
        low, high = schema.get("minimum", -(10**12)), schema.get("maximum", 10**12)
        return rng.choice([low, high, rng.randint(low, high)])
    if kind == "boolean":
        return rng.random() < 0.5
    return _valid_string(rng, schema)


BATCH = 1000
# Seeded batches per schema: 2 x 13 + 2 x 39 = 104 batches of 1,000 = 104,000 records (the
# small synthetic schema is cheaper per record), plus the hypothesis examples below.
EXAMPLES = {"acct-clear": 13, "acct-published": 13, "syn-clear": 39, "syn-published": 39}
P_WILD = (0.0, 0.0, 0.005, 0.01, 0.02, 0.05, 0.2, 1.0)  # per record: how wild its leaves go


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_differential_seeded_batches(name: str) -> None:
    assert sum(EXAMPLES.values()) * BATCH >= 100_000
    schema = SCHEMAS[name]
    oracle, fast = JsonSchemaValidator(schema), FastValidator(schema)
    tally = {"records": 0, "valid": 0}

    @settings(max_examples=EXAMPLES[name], deadline=None, database=None)
    @given(seed=st.integers(min_value=0, max_value=2**64))
    def batch(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(BATCH):
            event = random_value(rng, schema, rng.choice(P_WILD))
            expected = violation_keys(oracle.validate(event))
            assert violation_keys(fast.validate(event)) == expected, event
            tally["records"] += 1
            tally["valid"] += not expected

    batch()
    assert tally["records"] >= EXAMPLES[name] * BATCH
    # Both verdicts are well represented.
    assert 0.05 * tally["records"] < tally["valid"] < 0.95 * tally["records"], tally


def _strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Hypothesis values for ``schema``: plausible ones and anything JSON-ish."""
    nasty = st.sampled_from(NASTY) | st.text(max_size=8) | st.integers() | st.floats()
    if "enum" in schema or "const" in schema:
        choices = schema.get("enum", [schema.get("const")])
        return st.sampled_from(choices) | nasty
    types = schema.get("type", "string")
    kinds = types if isinstance(types, list) else [types]
    options: list[st.SearchStrategy[Any]] = [nasty]
    for kind in kinds:
        if kind == "null":
            options.append(st.none())
        elif kind == "object":
            props = schema.get("properties", {})
            options.append(
                st.fixed_dictionaries(
                    {},
                    optional={name: _strategy(sub) for name, sub in props.items()},
                )
                | st.fixed_dictionaries({name: _strategy(sub) for name, sub in props.items()})
            )
        elif kind == "array":
            options.append(
                st.lists(
                    _strategy(schema.get("items", {})),
                    min_size=max(0, schema.get("minItems", 0) - 1),
                    max_size=schema.get("maxItems", 3) + 1,
                )
            )
        elif kind == "integer":
            low, high = schema.get("minimum"), schema.get("maximum")
            options.append(
                st.integers(
                    min_value=None if low is None else low - 2,
                    max_value=None if high is None else high + 2,
                )
            )
        elif kind == "boolean":
            options.append(st.booleans())
        else:
            seeds = st.integers(min_value=0, max_value=2**32)
            options.append(seeds.map(lambda s: _string(random.Random(s), schema)))
            options.append(seeds.map(lambda s: _valid_string(random.Random(s), schema)))
            if "pattern" in schema:
                options.append(st.from_regex(schema["pattern"], fullmatch=False))
    return st.one_of(options)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_differential_hypothesis(name: str) -> None:
    schema = SCHEMAS[name]
    oracle, fast = JsonSchemaValidator(schema), FastValidator(schema)

    @settings(
        max_examples=400,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(event=_strategy(schema))
    def one(event: Any) -> None:
        assert violation_keys(fast.validate(event)) == violation_keys(oracle.validate(event))

    one()


def test_published_events_from_real_mapping_pass_both(
    acct_mapping: MappingDoc, acct_layouts: tuple[Layout, ...]
) -> None:
    mapper = Mapper(acct_mapping, acct_layouts, pii_key=TEST_PII_KEY.encode())
    schema = record_schema(acct_mapping, acct_layouts)
    event = mapper.apply(acct_values()).event
    assert JsonSchemaValidator(schema).validate(event) == []
    assert FastValidator(schema).validate(event) == []
