"""Native validation against the oracle: decode + C checks vs apply + jsonschema, per record.

Records are generated from each mapping's own constraints (values on and around every bound,
enum members and strangers, real and impossible dates, strings that fit a pattern or not), then
encoded to bytes, so the whole path runs: C decode with the checks compiled into the plan, and,
for the oracle, the same document through Mapper.apply and JsonSchemaValidator (Draft 2020-12
with exact decimal bounds). Every record must get the same verdict and the same set of
(pointer, rule) pairs. Hypothesis draws the batch seeds; well over 100,000 records in all.
"""

from __future__ import annotations

import json
import logging
import random
import string
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Category, Field, Layout, Usage
from bridge.decode.encoder import encode_record
from bridge.mapping.check_plan import (
    V_ENUM,
    V_FIRST,
    V_PATTERN,
    NativeUnsupported,
    ValidatingDecoder,
    compile_pattern,
)
from bridge.mapping.model import FieldSpec, TargetType
from bridge.mapping.program import Program, load_program
from bridge.mapping.record_schema import case_schemas
from bridge.mapping.validate import JsonSchemaValidator, map_and_validate, violation_keys
from tests.volume import volume

from .conftest import ACCTMAST_MAPPING, ROOT, TEST_PII_KEY

BENCH_MAPPING = ROOT / "bench" / "account.mapping.json"
BATCH = 1000
# Batches per mapping: 70 x 1,000 ACCOUNT records and 30 x 1,000 ACCTMAST records.
BATCHES = {"account": volume(70), "acctmast": volume(30)}
P_WILD = (0.0, 0.0, 0.01, 0.03, 0.1, 0.3)

_ASCII_ODD = "é-'\n\t.,/ÀÝ"


def _runtime(path: Path, monkeypatch: pytest.MonkeyPatch) -> Program:
    monkeypatch.setenv("BRIDGE_PII_KEY", TEST_PII_KEY)
    return load_program(path)


def _native(runtime: Program) -> ValidatingDecoder:
    """A decoder validating with the program's C checks."""
    checks = runtime.cases[None].checks
    assert checks is not None
    return ValidatingDecoder(checks)


def _specs(runtime: Program) -> dict[str, FieldSpec]:
    return {s.source: s for s in runtime.mapping.fields}


# --- generating decoded values from a mapping's constraints ---------------------------------


def _date_text(rng: random.Random, fmt: str, window: int) -> str:
    day = date(1900, 1, 1) + timedelta(days=rng.randrange(75000))
    if rng.random() < 0.04:  # impossible or odd days
        y, m, d = rng.randrange(0, 2100), rng.randrange(0, 14), rng.randrange(0, 33)
        return f"{y:04d}{m:02d}{d:02d}" if "-" not in fmt else f"{y:04d}-{m:02d}-{d:02d}"
    if fmt == "YYYYMMDD":
        return day.strftime("%Y%m%d")
    if fmt == "YYMMDD":
        return day.strftime("%y%m%d")
    if fmt == "CYYMMDD":
        return f"{(day.year - 1900) // 100}{day.strftime('%y%m%d')}"
    if fmt == "YYDDD":
        julian = rng.choice([day.timetuple().tm_yday] * 20 + [366, 0, 365])
        return f"{day.strftime('%y')}{julian:03d}"
    if fmt == "YYYYDDD":
        return f"{day.year}{day.timetuple().tm_yday:03d}"
    if fmt == "YYYY-MM-DD":
        return day.isoformat()
    hms = [rng.randrange(25), rng.randrange(61), rng.randrange(61)]
    if rng.random() < 0.97:
        hms = [rng.randrange(24), rng.randrange(60), rng.randrange(60)]
    frac = f"{rng.randrange(10**6):06d}"
    if fmt == "YYYYMMDDHHMMSS":
        return day.strftime("%Y%m%d") + "".join(f"{v:02d}" for v in hms)
    if fmt == "YYYY-MM-DD HH:MM:SS":
        return f"{day.isoformat()} {hms[0]:02d}:{hms[1]:02d}:{hms[2]:02d}"
    if fmt == "YYYY-MM-DD HH:MM:SS.ffffff":
        return f"{day.isoformat()} {hms[0]:02d}:{hms[1]:02d}:{hms[2]:02d}.{frac}"
    return f"{day.isoformat()}-{hms[0]:02d}.{hms[1]:02d}.{hms[2]:02d}.{frac}"


def _pattern_text(rng: random.Random, spec: FieldSpec, length: int) -> str:
    pattern = spec.pattern or ""
    if "[0-9]" in pattern and "A-Z" not in pattern:
        alphabet = string.digits
    elif "À" in pattern:
        alphabet = string.ascii_uppercase + "ÀÉÜÝ' "
    else:
        alphabet = string.ascii_uppercase + string.digits
    size = spec.max_length or length
    if rng.random() < 0.1:
        size = rng.randint(0, length)
    return "".join(rng.choice(alphabet) for _ in range(min(size, length)))


def _number_text(rng: random.Random, spec: FieldSpec, width: int) -> str:
    """A number written as text, as a PIC X item may hold one: signs, points, padding, white
    space str.strip removes (tab, NBSP) and some that is not a number at all."""
    if spec.null_values and rng.random() < 0.1:
        return str(rng.choice(spec.null_values))
    bounds = [Decimal(b) for b in (spec.minimum, spec.maximum) if b is not None]
    bounds += [Decimal(v) for v in spec.enum or () if v is not None]
    scale = spec.scale or 0
    if rng.random() < 0.8:  # mostly fine: in range, at most padded with spaces
        if spec.enum:
            text = str(rng.choice(spec.enum))
        else:
            low = Decimal(spec.minimum) if spec.minimum is not None else Decimal(-(10**6))
            high = Decimal(spec.maximum) if spec.maximum is not None else Decimal(10**6)
            unit = Decimal(1).scaleb(-scale)
            text = str(low + unit * rng.randint(0, int((high - low) / unit)))
        fits = [t for t in (text, " " + text, "  " + text + " ") if len(t) <= width]
        return rng.choice(fits or [text[:width]])
    if bounds and rng.random() < 0.5:
        value = rng.choice(bounds) + rng.choice([0, 0, 1, -1]) * Decimal(1).scaleb(-scale)
        text = str(value)
    else:
        whole = "".join(rng.choice(string.digits) for _ in range(rng.randint(0, 22)))
        text = rng.choice(["", "+", "-"]) + whole
        if rng.random() < 0.5:
            point = rng.choice([".", ","])
            text += point + "".join(rng.choice("0123456789000") for _ in range(rng.randint(0, 7)))
    pad = rng.choice(["", "", " ", "  ", "\t", "\xa0", "0"])
    text = rng.choice([text, pad + text, text + pad, text.replace("1", " ", 1)])
    return text[:width]


def _text(rng: random.Random, item: Field, spec: FieldSpec | None, wild: bool) -> str | None:
    n = item.length
    if spec is None:
        return "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(0, n)))
    if wild:
        alphabet = rng.choice([string.ascii_letters + " ", string.digits, _ASCII_ODD + "AZ09 "])
        size = rng.choice([0, 1, n, rng.randint(0, n)])
        text = "".join(rng.choice(alphabet) for _ in range(size))
        return rng.choice([text, " " + text, text, None if rng.random() < 0.1 else text])
    kind = spec.type
    if kind in (TargetType.ENUM, TargetType.BOOLEAN):
        listed = [s for ev in spec.values for s in ev.source] + [
            *spec.true_values,
            *spec.false_values,
        ]
        return str(rng.choice(listed))
    if kind in (TargetType.DATE, TargetType.TIMESTAMP):
        if spec.null_values and rng.random() < 0.2:
            return str(rng.choice(spec.null_values))
        return _date_text(rng, spec.format or "", spec.century_window or 50)
    if kind in (TargetType.INTEGER, TargetType.DECIMAL):
        return _number_text(rng, spec, n)
    if spec.enum is not None:
        return str(rng.choice(spec.enum))
    if spec.pattern:
        return _pattern_text(rng, spec, n)
    low = spec.min_length or 0
    high = min(n, spec.max_length if spec.max_length is not None else n)
    return "".join(rng.choice(string.ascii_uppercase + " ,") for _ in range(rng.randint(low, high)))


def _number(rng: random.Random, item: Field, spec: FieldSpec | None, wild: bool) -> Any:
    scale = item.scale or 0
    digits = item.digits or 9
    limit = 10 ** min(digits, 18) - 1
    signed = item.signed
    unit = Decimal(1).scaleb(-scale) if scale > 0 else Decimal(1)

    def shaped(n: int) -> Any:
        n = max(-limit if signed else 0, min(limit, n))
        if scale < 0:  # P scaling: the digits stand for a multiple of 10**-scale
            return n * 10**-scale
        return Decimal(n).scaleb(-scale) if scale > 0 else n

    if spec is None or wild:
        return shaped(rng.choice([0, 1, -1, limit, -limit, rng.randint(-limit, limit)]))
    kind = spec.type
    if kind in (TargetType.DATE, TargetType.TIMESTAMP):
        if spec.null_values and rng.random() < 0.2:
            return shaped(int(spec.null_values[0]))
        text = _date_text(rng, spec.format or "", spec.century_window or 50)
        return shaped(int(text)) if text.isdigit() else 0
    if kind in (TargetType.ENUM, TargetType.BOOLEAN):
        listed = [s for ev in spec.values for s in ev.source] + [
            *spec.true_values,
            *spec.false_values,
        ]
        return shaped(int(rng.choice(listed)) + rng.choice([0, 0, 0, 1]))
    candidates: list[Decimal] = []
    for bound in (spec.minimum, spec.maximum):
        if bound is not None:
            candidates += [Decimal(bound), Decimal(bound) - unit, Decimal(bound) + unit]
    if spec.enum is not None:
        candidates += [Decimal(v) for v in spec.enum]
    low = Decimal(spec.minimum) if spec.minimum is not None else Decimal(-limit) * unit
    high = Decimal(spec.maximum) if spec.maximum is not None else Decimal(limit) * unit
    if low <= high:
        span = int((high - low) / unit)
        candidates += [low + unit * rng.randint(0, max(span, 0)) for _ in range(3)]
    value = rng.choice(candidates[-3:] if rng.random() < 0.8 else candidates)
    return shaped(int((value / unit).to_integral_value()))


def values_for(
    layout: Layout, specs: dict[str, FieldSpec], rng: random.Random, p_wild: float
) -> dict[str, Any]:
    """Decoded values of one record (decode_to_dict's shape), each leaf wild with p_wild."""

    def leaf(item: Field) -> Any:
        spec = specs.get(item.path)
        wild = rng.random() < p_wild
        if item.category in (Category.NUMERIC, Category.NUMERIC_EDITED) or item.usage in (
            Usage.POINTER,
            Usage.INDEX,
        ):
            return _number(rng, item, spec, wild)
        text = _text(rng, item, spec, wild)
        return text if text is None else text[: item.length]

    def element(item: Field) -> Any:
        if item.is_group:
            return {c.name: value(c) for c in item.children if not c.is_filler}
        return leaf(item)

    def value(item: Field) -> Any:
        if item.occurs is not None:
            return [element(item) for _ in range(item.occurs.max)]
        return element(item)

    return {c.name: value(c) for c in layout.root.children if not c.is_filler}


# --- the comparison --------------------------------------------------------------------------


def _oracle(runtime: Program) -> Callable[[dict[str, Any]], list[tuple[str | None, str]]]:
    schemas = case_schemas(runtime.mapping, runtime.layouts, published=False)
    validators = {case: JsonSchemaValidator(s) for case, s in schemas.items()}

    def judge(decoded: dict[str, Any]) -> list[tuple[str | None, str]]:
        outcome = map_and_validate(runtime.mapper, validators, decoded)
        return violation_keys(outcome.violations)

    return judge


def _run_batch(
    runtime: Program, native: ValidatingDecoder, rng: random.Random, tally: dict[str, int]
) -> None:
    layout = native.layout
    specs = _specs(runtime)
    oracle = _oracle(runtime)
    records = [
        encode_record(layout, values_for(layout, specs, rng, rng.choice(P_WILD)))
        for _ in range(BATCH)
    ]
    size = layout.record_length
    data = memoryview(b"".join(records))
    done = 0
    while done < BATCH:  # a batch may stop early when the error array fills
        batch = native.decode_batch(data[done * size :], fixed_length=size)
        decoder = native
        assert batch.count > 0
        for i, doc in enumerate(batch.documents()):
            if i in batch.errors:
                tally["decode"] += 1
                continue
            decoded = json.loads(doc, parse_float=Decimal)
            expected = oracle(decoded)
            at = (done + i) * size
            found = decoder.violations(i, doc, bytes(data[at : at + size]), at)
            got = violation_keys(found)
            assert got == expected, (decoded, [v.to_json() for v in found])
            tally["records"] += 1
            tally["valid"] += not expected
        done += batch.count


TEXT_NUMBERS = """\
       01  TXT-REC.
           05  TXT-INT     PIC X(8).
           05  TXT-DEC     PIC X(12).
           05  TXT-WIDE    PIC X(30).
           05  TXT-CODE    PIC X(4).
"""


def _text_numbers_mapping(tmp_path: Path) -> Path:
    """PIC X items mapped to integers and decimals: bounds, enums, scale, null values."""
    copybook = tmp_path / "txtnum.cpy"
    copybook.write_text(TEXT_NUMBERS)
    (layout,) = compile_copybook(copybook)
    fields: list[tuple[str, str, str, dict[str, Any]]] = [
        ("TXT-INT", "count", "integer", {"minimum": -500, "maximum": 99999, "required": True}),
        (
            "TXT-DEC",
            "amount",
            "decimal",
            {"precision": 9, "scale": 2, "minimum": "-1000.00", "maximum": "999999.99"},
        ),
        ("TXT-WIDE", "wide", "decimal", {"precision": 31, "scale": 4, "null_values": ["N/A"]}),
        ("TXT-CODE", "code", "integer", {"enum": [1, 20, 300]}),
    ]
    document = {
        "name": "text-numbers",
        "version": "1.0.0",
        "copybook": {"path": str(copybook), "fingerprint": layout.fingerprint},
        "source": {
            "framing": {"type": "fixed", "record_length": layout.record_length},
            "code_page": "cp037",
        },
        "fields": [
            {"source": f"TXT-REC.{name}", "target": target, "type": kind, **extra}
            for name, target, kind, extra in fields
        ],
    }
    path = tmp_path / "txtnum.mapping.json"
    path.write_text(json.dumps(document))
    return path


def test_text_numbers_native_vs_jsonschema(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Numbers held as text convert in C as apply.py converts them (20,000 records)."""
    runtime = _runtime(_text_numbers_mapping(tmp_path), monkeypatch)
    native = _native(runtime)
    tally = {"records": 0, "valid": 0, "decode": 0}
    rng = random.Random(5)
    for _ in range(volume(20)):
        _run_batch(runtime, native, rng, tally)
    assert tally["records"] == volume(20) * BATCH, tally
    assert 0.05 * tally["records"] < tally["valid"] < 0.95 * tally["records"], tally


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_differential_native_vs_jsonschema(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sum(BATCHES.values()) * BATCH >= volume(100_000)
    path = BENCH_MAPPING if name == "account" else ACCTMAST_MAPPING
    runtime = _runtime(path, monkeypatch)
    native = _native(runtime)
    tally = {"records": 0, "valid": 0, "decode": 0}

    @settings(max_examples=BATCHES[name], deadline=None, database=None)
    @given(seed=st.integers(min_value=0, max_value=2**64))
    def batch(seed: int) -> None:
        _run_batch(runtime, native, random.Random(seed), tally)

    batch()
    judged = tally["records"]
    assert judged >= 0.95 * BATCHES[name] * BATCH, tally
    assert 0.05 * judged < tally["valid"] < 0.95 * judged, tally


def test_violations_are_located(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = _runtime(BENCH_MAPPING, monkeypatch)
    native = _native(runtime)
    layout = native.layout
    values = values_for(layout, _specs(runtime), random.Random(1), 0.0)
    values.update({"ACCT-BRANCH": "nyc001", "ACCT-CREDIT-LIMIT": Decimal("-0.01")})
    record = encode_record(layout, values)
    batch = native.decode_batch(record, fixed_length=len(record), base_offset=1000)
    assert batch.errors == {}
    [doc] = batch.documents()
    by = {(v.pointer, v.rule): v for v in native.violations(0, doc, record, 1000)}
    assert set(by) == {
        ("/branch", "pattern"),
        ("/branch", "enum"),
        ("/creditLimit", "decimalMinimum"),
    }
    limit = by[("/creditLimit", "decimalMinimum")]
    assert limit.to_json() | {"message": ""} == {
        "check": "schema",
        "path": "ACCOUNT-RECORD.ACCT-CREDIT-LIMIT",
        "pointer": "/creditLimit",
        "rule": "decimalMinimum",
        "expected": "0.00",
        "actual": "-0.01",
        "offset": 1049,
        "length": 7,
        "raw": "0000000000001d",
        "message": "",
    }
    assert by[("/branch", "pattern")].raw == "95a883f0f0f1"


def test_rule_errors_by_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """Broken rules are grouped per record; a record that also failed to decode is judged by
    its decode errors alone."""
    runtime = _runtime(BENCH_MAPPING, monkeypatch)
    native = _native(runtime)
    layout = native.layout
    values: dict[str, Any] = {
        "ACCT-ID": 12345678901,
        "ACCT-STATUS": "A",
        "ACCT-NAME": "JANE DOE",
        "ACCT-BALANCE": Decimal("100.00"),
        "ACCT-CREDIT-LIMIT": Decimal("500.00"),
        "ACCT-OPEN-DATE": "2020-01-31",
        "ACCT-CYCLE-CREDIT": Decimal("10.00"),
        "ACCT-TXN-COUNT": 5,
        "ACCT-BRANCH": "NYC001",
    }
    good = encode_record(layout, values)
    bad_rules = encode_record(layout, values | {"ACCT-BRANCH": "nyc001"})
    bad_both = bytearray(bad_rules)
    bad_both[42] = 0xAA  # ACCT-BALANCE (COMP-3 at 42): two digit nibbles of X'A'
    batch = native.decode_batch(
        good + bad_rules + bytes(bad_both) + bad_rules, fixed_length=len(good)
    )
    rules = native.rule_errors
    assert set(batch.errors) == {2}
    assert [e.reason for e in batch.errors[2]] == ["bad-packed-digit"]
    assert len(rules) == 2
    assert list(rules) == [1, 3]
    assert 0 not in rules and 2 not in rules and 1 in rules
    assert rules.get(0) is None and rules.get(2) is None
    with pytest.raises(KeyError):
        rules[2]
    broken = {V_FIRST + V_PATTERN, V_FIRST + V_ENUM}
    assert {(e[0], e[4]) for e in rules[1]} == {(1, r) for r in broken}
    assert {(e[0], e[4]) for e in rules[3]} == {(3, r) for r in broken}
    native.decode_batch(good, fixed_length=len(good))
    assert len(native.rule_errors) == 0


@pytest.mark.parametrize(
    ("pattern", "texts"),
    [
        ("^[0-9]{5}$", ["12345", "1234", "123456", "12345\n", "1234\n", "", "abcde"]),
        ("^[A-Z0-9]{6,12}$", ["ABC123", "ABC12", "ABCDEFGHIJKLM", "abc123"]),
        ("^A+B?C*$", ["A", "AB", "ABCC", "B", "AAC", "ABB", "AC\n"]),
        ("^[^ ]x.", ["ax\n", "axy", " xy", "ax"]),
        ("^\\d\\w\\s", ["1a ", "11\t", "a1 "]),
    ],
)
def test_patterns_match_as_python_does(pattern: str, texts: list[str]) -> None:
    """The compiled atoms agree with re.search (checked through a one-field mapping below)."""
    atoms = compile_pattern(pattern, [chr(b) for b in range(256)])
    assert atoms[0] == (1 if pattern.endswith("$") else 0)
    assert (len(atoms) - 1) % 36 == 0


@pytest.mark.parametrize("pattern", ["[0-9]{5}", "^(a|b)$", "^a{2}?$", "^\\1$", "^a$b"])
def test_patterns_out_of_reach_fall_back(pattern: str) -> None:
    with pytest.raises(NativeUnsupported):
        compile_pattern(pattern, [chr(b) for b in range(256)])


def test_unsupported_mapping_warns_and_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    document = json.loads(BENCH_MAPPING.read_text())
    document["copybook"]["path"] = str(BENCH_MAPPING.parent / "account.cpy")
    for f in document["fields"]:
        if f["target"] == "branch":
            f["pattern"] = "^(NYC|LON|PAR|BER)[0-9]{3}$"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document))
    with caplog.at_level(logging.WARNING):
        runtime = _runtime(path, monkeypatch)
    assert runtime.cases[None].checks is None
    assert runtime.cases[None].refused
    assert "native validation does not cover" in caplog.text
