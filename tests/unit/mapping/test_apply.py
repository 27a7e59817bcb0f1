"""apply: decoded record -> event. Dates, timestamps, exact decimals, enums, booleans, PII."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from bridge.copybook.compiler import compile_text
from bridge.copybook.layout import Field, Layout
from bridge.decode.encoder import encode_record
from bridge.decode.reference import decode_to_dict
from bridge.mapping.apply import Mapper
from bridge.mapping.convert import (
    ConversionError,
    convert_date,
    convert_timestamp,
    make_converter,
    mask,
)
from bridge.mapping.keys import MessageKey
from bridge.mapping.model import (
    EnumValue,
    FieldSpec,
    MappingDoc,
    MappingError,
    PiiKeySource,
    TargetType,
)
from bridge.mapping.program import load_pii_key, pii_key_for

from .conftest import TEST_PII_KEY, acct_values


def _hash(text: str) -> str:
    return hmac.new(TEST_PII_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def test_acctmast_end_to_end(
    acct_mapping: MappingDoc, acct_layouts: tuple[Layout, ...], pii_env: str
) -> None:
    layout = acct_layouts[0]
    record = encode_record(layout, acct_values())
    decoded = decode_to_dict(layout, record)
    applied = Mapper(acct_mapping, acct_layouts, pii_key=TEST_PII_KEY.encode()).apply(decoded)
    assert applied.violations == []
    empty_hold = {"amount": "0.00", "reason": "", "expiry": None}
    assert applied.event == {
        "branch": "00123",
        "accountNumber": "004567890123",
        "recordType": "ACCOUNT",
        "productCode": "CHQ1",
        "currency": "CAD",
        "status": "ACTIVE",
        "openDate": "2019-03-15",
        "lastTransactionDate": "2026-11-24",
        "maturityDate": None,
        "nextReviewDate": "2027-01-01",
        "ledgerBalance": "12345.67",
        "availableBalance": "-91.90",
        "overdraftLimit": "500.00",
        "accruedInterest": "1.234567",
        "interestRate": "2.45000",
        "customer": {
            "id": 9876543210,
            "name": "*" * len("TREMBLAY, MARIE"),
            "nationalIdHash": _hash("046454286"),
            "nationalIdType": "SIN",
            "birthDate": "*" * 10,
        },
        "kycRisk": "MEDIUM",
        "statementCycleDay": 15,
        "holdCount": 1,
        "holds": [{"amount": "250.00", "reason": "CK", "expiry": "2026-12-01"}] + [empty_hold] * 4,
        "lastMaintained": "2026-11-24T09:15:02.123456",
        "joint": False,
    }
    # The clear event keeps the values PII policies hide (validation sees them).
    assert applied.clear["customer"]["nationalIdHash"] == "046454286"
    assert applied.clear["customer"]["birthDate"] == "1980-05-17"
    assert MessageKey(acct_mapping, "kafka")(applied.event) == "00123-004567890123"
    assert MessageKey(acct_mapping, "redis")(applied.event) == "acct:00123-004567890123"


def test_conversion_failures_are_reported_not_guessed(
    acct_mapping: MappingDoc, acct_layouts: tuple[Layout, ...], pii_env: str
) -> None:
    values = acct_values()
    values["AM-OPEN-DATE"] = 20230230  # no 30 February
    values["AM-STATUS"] = "X"
    values["AM-HOLDS"][2]["AM-HOLD-EXPIRY"] = 20261399
    values["AM-JOINT-FLAG"] = "?"
    applied = Mapper(acct_mapping, acct_layouts, pii_key=TEST_PII_KEY.encode()).apply(values)
    got = {(v.pointer, v.rule, v.path) for v in applied.violations}
    assert got == {
        ("/openDate", "date-format", "ACCT-MASTER-REC.AM-OPEN-DATE"),
        ("/status", "enum", "ACCT-MASTER-REC.AM-STATUS"),
        ("/holds/2/expiry", "date-format", "ACCT-MASTER-REC.AM-HOLDS[2].AM-HOLD-EXPIRY"),
        ("/joint", "boolean", "ACCT-MASTER-REC.AM-JOINT-FLAG"),
    }
    status = next(v for v in applied.violations if v.rule == "enum")
    assert status.expected == ["A", "D", "F", "C"]
    assert status.actual == "X"
    assert applied.clear["openDate"] == 20230230  # left as decoded, never coerced


def test_missing_hash_key(acct_mapping: MappingDoc, acct_layouts: tuple[Layout, ...]) -> None:
    with pytest.raises(MappingError, match="BRIDGE_PII_KEY is not set"):
        pii_key_for(acct_mapping, environ={})


def test_pii_key_sources(tmp_path: Path) -> None:
    key_file = tmp_path / "pii.key"
    key_file.write_bytes(TEST_PII_KEY.encode() + b"\n")
    assert load_pii_key(PiiKeySource(file=str(key_file))) == TEST_PII_KEY.encode()
    assert load_pii_key(PiiKeySource(env="K"), {"K": TEST_PII_KEY}) == TEST_PII_KEY.encode()
    with pytest.raises(MappingError, match="at least 32"):
        load_pii_key(PiiKeySource(env="K"), {"K": "short"})
    with pytest.raises(MappingError, match="cannot read"):
        load_pii_key(PiiKeySource(file=str(tmp_path / "absent")))


def test_hash_depends_on_the_key(
    acct_mapping: MappingDoc, acct_layouts: tuple[Layout, ...]
) -> None:
    one = Mapper(acct_mapping, acct_layouts, pii_key=b"k" * 32).apply(acct_values())
    two = Mapper(acct_mapping, acct_layouts, pii_key=b"j" * 32).apply(acct_values())
    again = Mapper(acct_mapping, acct_layouts, pii_key=b"k" * 32).apply(acct_values())
    h1 = one.event["customer"]["nationalIdHash"]
    assert h1 == again.event["customer"]["nationalIdHash"]  # joinable
    assert h1 != two.event["customer"]["nationalIdHash"]
    assert "046454286" not in repr(one.event)


@pytest.mark.parametrize(
    ("text", "keep", "expected"),
    [("4500123412341234", 4, "************1234"), ("AB", 4, "**"), ("", 0, ""), ("XYZ", 0, "***")],
)
def test_mask(text: str, keep: int, expected: str) -> None:
    assert mask(text, keep, "*") == expected


# --- conversions, one field at a time -----------------------------------------------------


def _item(pic: str) -> Field:
    layout = compile_text(f"       01  R.\n           05  F  PIC {pic}.\n", "R")[0]
    return layout.field("R.F")


def _convert(pic: str, value: Any, kind: TargetType, **spec: Any) -> Any:
    field_spec = FieldSpec(source="R.F", target="f", type=kind, pointer="/fields/0", **spec)
    return make_converter(field_spec, _item(pic))(value)


@pytest.mark.parametrize(
    ("value", "fmt", "window", "expected"),
    [
        (20190315, "YYYYMMDD", None, "2019-03-15"),
        ("20190315", "YYYYMMDD", None, "2019-03-15"),
        (1261124, "CYYMMDD", None, "2026-11-24"),
        (991231, "CYYMMDD", None, "1999-12-31"),  # C 0, packed 9(7) with a leading zero
        ("991231", "YYMMDD", 60, "1999-12-31"),
        ("250101", "YYMMDD", 60, "2025-01-01"),
        (10101, "YYMMDD", 60, "2001-01-01"),  # zero-padded: 010101
        (24366, "YYDDD", 50, "2024-12-31"),  # leap year, day 366
        (2024060, "YYYYDDD", None, "2024-02-29"),
        ("2024-02-29", "YYYY-MM-DD", None, "2024-02-29"),
    ],
)
def test_dates(value: Any, fmt: str, window: int | None, expected: str) -> None:
    assert convert_date(value, fmt, window) == expected


@pytest.mark.parametrize(
    ("value", "fmt", "window"),
    [
        (20230230, "YYYYMMDD", None),
        (20231301, "YYYYMMDD", None),
        (123456789, "YYYYMMDD", None),
        (-20230101, "YYYYMMDD", None),
        ("2023-2-01", "YYYY-MM-DD", None),
        ("2023-02-30", "YYYY-MM-DD", None),
        (23366, "YYDDD", 50),  # 2023 has 365 days
        (24000, "YYDDD", 50),
        ("ABCDEF", "YYMMDD", 50),
        ("\uff12\uff10\uff12\uff13\uff10\uff11\uff10\uff11", "YYYYMMDD", None),  # full-width digits
        (Decimal("20230101"), "YYYYMMDD", None),
    ],
)
def test_bad_dates(value: Any, fmt: str, window: int | None) -> None:
    with pytest.raises(ConversionError):
        convert_date(value, fmt, window)


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("2022-06-10 19:27:53.000000", "YYYY-MM-DD HH:MM:SS.ffffff", "2022-06-10T19:27:53.000000"),
        ("2026-11-24-09.15.02.123456", "YYYY-MM-DD-HH.MM.SS.ffffff", "2026-11-24T09:15:02.123456"),
        (20220610192753, "YYYYMMDDHHMMSS", "2022-06-10T19:27:53"),
        ("2022-06-10 19:27:53", "YYYY-MM-DD HH:MM:SS", "2022-06-10T19:27:53"),
    ],
)
def test_timestamps(value: Any, fmt: str, expected: str) -> None:
    assert convert_timestamp(value, fmt) == expected


@pytest.mark.parametrize(
    "value", ["2022-06-10 25:27:53.000000", "2022-06-10T19:27:53.000000", "", "2022-06-10"]
)
def test_bad_timestamps(value: str) -> None:
    with pytest.raises(ConversionError):
        convert_timestamp(value, "YYYY-MM-DD HH:MM:SS.ffffff")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("12.5"), "12.50"),
        (Decimal("-91.90"), "-91.90"),
        (Decimal("-0.00"), "0.00"),
        (7, "7.00"),
        ("12.50", "12.50"),
        (Decimal("1.000"), "1.00"),  # trailing zeros beyond the scale lose nothing
    ],
)
def test_decimals_exact(value: Any, expected: str) -> None:
    assert _convert("S9(5)V99", value, TargetType.DECIMAL, precision=7, scale=2) == expected


def test_decimal_31_digits_exact() -> None:
    value = Decimal("-12345678901234567890123456789.01")
    got = _convert("S9(29)V99", value, TargetType.DECIMAL, precision=38, scale=2)
    assert got == "-12345678901234567890123456789.01"


@pytest.mark.parametrize(
    ("value", "rule"),
    [(Decimal("1.005"), "scale"), (1.5, "type"), ("1,50", "type"), (True, "type")],
)
def test_decimals_never_rounded_or_from_float(value: Any, rule: str) -> None:
    with pytest.raises(ConversionError) as info:
        _convert("S9(5)V99", value, TargetType.DECIMAL, precision=7, scale=2)
    assert info.value.rule == rule


def test_integers_and_strings() -> None:
    assert _convert("9(5)", 42, TargetType.INTEGER) == 42
    assert _convert("X(5)", " 42  ", TargetType.INTEGER) == 42
    with pytest.raises(ConversionError):
        _convert("X(5)", "4 2", TargetType.INTEGER)
    with pytest.raises(ConversionError):
        _convert("9(5)", True, TargetType.INTEGER)
    assert _convert("9(5)", 123, TargetType.STRING) == "00123"
    assert _convert("S9(5)", -123, TargetType.STRING) == "-00123"
    assert _convert("X(6)", "  ab  ", TargetType.STRING, trim="both") == "ab"
    assert _convert("X(6)", "  ab  ", TargetType.STRING) == "  ab"
    assert _convert("X(6)", None, TargetType.STRING) is None


def test_enums_and_booleans_from_88_levels() -> None:
    values = (
        EnumValue("LOW", ranges=((1, 9),)),
        EnumValue("HIGH", source=(10, 99)),
    )
    assert _convert("9(3)", 5, TargetType.ENUM, values=values) == "LOW"
    assert _convert("9(3)", 99, TargetType.ENUM, values=values) == "HIGH"
    with pytest.raises(ConversionError) as info:
        _convert("9(3)", 50, TargetType.ENUM, values=values)
    assert info.value.expected == [10, 99, "1..9"]
    flag = {"true_values": ("Y",), "false_values": ("N", "")}
    assert _convert("X", "Y", TargetType.BOOLEAN, **flag) is True
    assert _convert("X", "", TargetType.BOOLEAN, **flag) is False
    with pytest.raises(ConversionError):
        _convert("X", "y", TargetType.BOOLEAN, **flag)


def test_null_values() -> None:
    spec = {"format": "YYYYMMDD", "null_values": (0, 99999999)}
    assert _convert("9(8)", 0, TargetType.DATE, **spec) is None
    assert _convert("9(8)", 99999999, TargetType.DATE, **spec) is None
    assert _convert("9(8)", 20240101, TargetType.DATE, **spec) == "2024-01-01"


def test_message_keys_per_mapping(acct_mapping: MappingDoc) -> None:
    """Each mapping's key builder reads its own key fields, from an event or any mapping."""
    event = {"branch": "00123", "accountNumber": 4567890123, "customer": {"id": True}}
    assert MessageKey(acct_mapping, "kafka")(event) == "00123-4567890123"
    assert MessageKey(acct_mapping, "redis")(event) == "acct:00123-4567890123"
    assert MessageKey(acct_mapping, "kafka")({"branch": None}) == "-"
    other = replace(
        acct_mapping,
        keys=replace(acct_mapping.keys, kafka=("ACCT-MASTER-REC.AM-CUSTOMER.AM-CUST-ID",)),
    )
    assert MessageKey(other, "kafka")(event) == "true"
    assert MessageKey(other, "kafka")(MappingProxyType(event)) == "true"
    keyless = replace(acct_mapping, keys=replace(acct_mapping.keys, kafka=()))
    assert MessageKey(keyless, "kafka")(event) is None
