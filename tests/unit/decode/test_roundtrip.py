"""Property tests: random layouts and values survive encode -> reference decode unchanged, and
random bytes never crash the reference decoder (every fault is a verdict from the contract)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.copybook.layout import Layout
from bridge.decode.encoder import encode_record
from bridge.decode.reference import decode_record, decode_to_dict, to_json
from bridge.decode.verdict import DecodeOptions, Reason
from tests.volume import volume

from .strategies import CP037, as_number, hfp, records


@settings(
    max_examples=volume(300, least=10), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(records())
def test_encode_then_decode_gives_the_values_back(case: tuple[Layout, dict[str, Any]]) -> None:
    layout, values = case
    data = encode_record(layout, values)
    result = decode_record(layout, data, options=DecodeOptions())
    assert result.errors == ()
    assert decode_to_dict(layout, data) == values
    assert result.document.decode() == to_json(values)  # exact scale of every number
    json.loads(result.document)


@settings(
    max_examples=volume(300, least=10), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(records(), st.binary(max_size=200), st.sampled_from(["cp037", "ascii", "cp875"]))
def test_random_bytes_never_crash(
    case: tuple[Layout, dict[str, Any]], data: bytes, codepage: str
) -> None:
    layout, _ = case
    options = DecodeOptions(codepage=codepage, trunc="std")
    result = decode_record(layout, data, options=options, file_offset=100)
    json.loads(result.document)
    for error in result.errors:
        assert isinstance(error.reason, Reason)
        at = error.offset - 100
        assert error.raw == data[at : at + error.length]
        assert error.path.startswith("R.")
    stops = [
        e for e in result.errors if e.reason in (Reason.RECORD_TOO_SHORT, Reason.ODO_OUT_OF_RANGE)
    ]
    assert len(stops) <= 1 and (not stops or stops[0] == result.errors[-1])


_COPYBOOK = """
       01  ACCOUNT.
           05  ACCT-ID             PIC 9(11).
           05  ACCT-NAME           PIC X(20).
           05  ACCT-BAL            PIC S9(10)V99 COMP-3.
           05  ACCT-RATE           PIC SV9(5) COMP.
           05  ACCT-LIMIT          PIC S9(7)V99 SIGN LEADING SEPARATE.
           05  ACCT-SHOWN          PIC $$$,$$9.99-.
           05  ACCT-FLOAT          COMP-2.
           05  ACCT-N              PIC 9(2).
           05  ACCT-HIST OCCURS 0 TO 5 TIMES DEPENDING ON ACCT-N.
               10  HIST-DATE       PIC X(8).
               10  HIST-AMT        PIC S9(7)V99 COMP-3.
           05  ACCT-TAIL           PIC X(4).
"""


@settings(max_examples=volume(100, least=10), deadline=None)
@given(
    st.integers(0, 10**11 - 1),
    st.text(st.sampled_from(CP037), max_size=20).map(lambda s: s.rstrip(" ")),
    st.integers(-(10**12) + 1, 10**12 - 1),
    st.lists(st.integers(-(10**9) + 1, 10**9 - 1), max_size=5),
    hfp(8),
)
def test_compiled_copybook_round_trip(
    ident: int, name: str, balance: int, amounts: list[int], number: float
) -> None:
    compiler = pytest.importorskip("bridge.copybook.compiler")
    (layout,) = compiler.compile_text(_COPYBOOK, "ACCOUNT")
    values = {
        "ACCT-ID": ident,
        "ACCT-NAME": name,
        "ACCT-BAL": as_number(balance, 2),
        "ACCT-RATE": Decimal("0.12345"),
        "ACCT-LIMIT": Decimal("-1234567.89"),
        "ACCT-SHOWN": Decimal("-1234.50"),
        "ACCT-FLOAT": number,
        "ACCT-N": len(amounts),
        "ACCT-HIST": [
            {"HIST-DATE": f"2024010{i}", "HIST-AMT": as_number(a, 2)} for i, a in enumerate(amounts)
        ],
        "ACCT-TAIL": "END",
    }
    data = encode_record(layout, values)
    assert len(data) == layout.record_length - (5 - len(amounts)) * 13
    result = decode_record(layout, data)
    assert result.errors == ()
    assert result.document.decode() == to_json(values)
