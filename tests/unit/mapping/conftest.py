"""Shared fixtures: the ACCTMAST example (copybook, mapping, a realistic record) and paths."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.copybook.compiler import compile_copybook, compile_text
from bridge.copybook.layout import Layout
from bridge.mapping.lint import check_mapping, errors
from bridge.mapping.model import MappingDoc, load_mapping, parse_mapping
from bridge.mapping.scaffold import default_mapping

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "schemas"
ACCTMAST_CPY = ROOT / "copybooks" / "ACCTMAST.cpy"
ACCTMAST_MAPPING = SCHEMAS / "acctmast.mapping.json"
CARDDEMO = ROOT.parent / "shared" / "realdata" / "carddemo"

# A test key only: the product never carries one (it reads pii_key.env or pii_key.file).
TEST_PII_KEY = "test-only-key-0123456789abcdef0123456789abcdef"

_ACCT: dict[str, Any] = {
    "AM-KEY": {"AM-BRANCH-NO": 123, "AM-ACCT-NO": 4567890123},
    "AM-REC-TYPE": "A",
    "AM-PRODUCT-CODE": "CHQ1",
    "AM-CURRENCY": "CAD",
    "AM-STATUS": "A",
    "AM-OPEN-DATE": 20190315,
    "AM-LAST-TXN-DATE": 1261124,
    "AM-MATURITY-DATE": 0,
    "AM-REVIEW-DATE": "270101",
    "AM-BALANCES": {
        "AM-LEDGER-BAL": Decimal("12345.67"),
        "AM-AVAIL-BAL": Decimal("-91.90"),
        "AM-OVERDRAFT-LIMIT": Decimal("500.00"),
        "AM-ACCRUED-INT": Decimal("1.234567"),
        "AM-INT-RATE": Decimal("2.45000"),
    },
    "AM-CUSTOMER": {
        "AM-CUST-ID": 9876543210,
        "AM-CUST-NAME": "TREMBLAY, MARIE",
        "AM-NATIONAL-ID": "046454286",
        "AM-NATIONAL-ID-TYPE": "SN",
        "AM-BIRTH-DATE": 19800517,
    },
    "AM-KYC-RISK": 2,
    "AM-STMT-CYCLE": 15,
    "AM-HOLD-COUNT": 1,
    "AM-HOLDS": [
        {"AM-HOLD-AMT": Decimal("250.00"), "AM-HOLD-REASON": "CK", "AM-HOLD-EXPIRY": 20261201}
    ]
    + [
        {"AM-HOLD-AMT": Decimal("0.00"), "AM-HOLD-REASON": "", "AM-HOLD-EXPIRY": 0}
        for _ in range(4)
    ],
    "AM-LAST-MAINT-TS": "2026-11-24-09.15.02.123456",
    "AM-JOINT-FLAG": "N",
    "AM-LAST-MAINT-USER": "OPS001",
}


def acct_values() -> dict[str, Any]:
    """A decoded ACCTMAST record (decode_to_dict's shape), fresh for each caller to edit."""
    return copy.deepcopy(_ACCT)


@pytest.fixture(scope="session")
def acct_layouts() -> tuple[Layout, ...]:
    return compile_copybook(ACCTMAST_CPY)


@pytest.fixture(scope="session")
def acct_mapping() -> MappingDoc:
    return load_mapping(ACCTMAST_MAPPING)


@pytest.fixture
def pii_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BRIDGE_PII_KEY", TEST_PII_KEY)
    return TEST_PII_KEY


def acct_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ACCTMAST_MAPPING.read_text())
    return document


def mapping_for(
    text: str, name: str = "T", **changes: Any
) -> tuple[MappingDoc, tuple[Layout, ...]]:
    """A default mapping of copybook ``text``, optionally edited, checked clean."""
    layouts = compile_text(text, name)
    doc = default_mapping(layouts, "t.cpy", name="t")
    doc.update(changes)
    mapping = parse_mapping(doc)
    problems = errors(check_mapping(mapping, layouts))
    assert not problems, problems
    return mapping, layouts
