"""Property tests: random layouts and values survive encode -> reference decode unchanged, and
random bytes never crash the reference decoder (every fault is a verdict from the contract)."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.codepages import encode_table
from bridge.copybook.layout import Field, Layout, Usage
from bridge.decode.encoder import encode_record
from bridge.decode.hfp import from_hfp
from bridge.decode.reference import decode_record, decode_to_dict, to_json
from bridge.decode.verdict import DecodeOptions, Reason

from .layouts import alnum, edited, float_item, group, national, num, occurs, record

Leaf = tuple[Field, st.SearchStrategy[Any]]
Draw = Callable[[st.SearchStrategy[Any]], Any]

_CP037_CHARS = sorted(c for c in encode_table("cp037") if c != "\x00")


def _text(size: int, alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    # Right-trimmed on decode, so no trailing spaces; None is low-values.
    strings = st.text(alphabet, max_size=size).map(lambda s: s.rstrip(" "))
    return st.none() | strings


def _scaled(digits: int, scale: int, signed: bool) -> st.SearchStrategy[int | Decimal]:
    top = 10**digits - 1
    ints = st.integers(-top if signed else 0, top)
    if scale == 0:
        return ints
    if scale < 0:
        return ints.map(lambda n: Decimal(n * 10**-scale))
    return ints.map(functools.partial(_as_number, scale=scale))


def _hfp(size: int) -> st.SearchStrategy[float]:
    """Floats that a normalised HFP number of ``size`` bytes holds exactly."""
    fraction_bits = size * 8 - 8
    low = 1 << (fraction_bits - 4)
    words = st.tuples(
        st.booleans(), st.integers(0, 127), st.integers(low, (1 << fraction_bits) - 1)
    ).map(lambda t: (t[0] << (size * 8 - 1)) | (t[1] << fraction_bits) | t[2])
    return words.map(lambda w: from_hfp(w.to_bytes(size, "big")))


_EDITED = [
    ("ZZ,ZZ9.99-", 2),
    ("$$$,$$9.99", 2),
    ("**,**9.99", 2),
    ("+ZZ9", 0),
    ("ZZ9CR", 0),
    ("---9", 0),
    ("+++9.99", 2),
    ("99/99/99", 0),
    ("ZZZ.ZZ", 2),
    ("ZZ,ZZZ", 0),
    ("$$$.99", 2),
]


@st.composite
def leaves(draw: Draw, name: str) -> Leaf:
    kind = draw(st.sampled_from(["x", "n", "zoned", "packed", "binary", "comp5", "float", "ed"]))
    if kind == "x":
        size = draw(st.integers(1, 12))
        return alnum(name, size), _text(size, st.sampled_from(_CP037_CHARS))
    if kind == "n":
        size = draw(st.integers(1, 6))
        chars = st.characters(
            max_codepoint=0xFFFF, exclude_categories=["Cs"], exclude_characters="\x00"
        )
        return national(name, size), _text(size, chars)
    if kind == "float":
        usage = draw(st.sampled_from([Usage.COMP1, Usage.COMP2]))
        return float_item(name, usage), _hfp(4 if usage is Usage.COMP1 else 8)
    if kind == "ed":
        picture, scale = draw(st.sampled_from(_EDITED))
        field = edited(name, picture, scale=scale, bwz=draw(st.booleans()))
        signed = any(s in picture for s in ("+", "-", "CR"))
        return field, _scaled(field.digits or 0, scale, signed)
    signed = draw(st.booleans())
    if kind in ("binary", "comp5"):
        digits = draw(st.integers(1, 18))
        usage = Usage.COMP if kind == "binary" else Usage.COMP5
        scale = draw(st.integers(-2, min(digits, 4)))
        field = num(name, digits, scale=scale, signed=signed, usage=usage)
        if kind == "comp5":
            bits = field.length * 8
            low, high = (
                (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
            )
            return field, st.integers(low, high).map(functools.partial(_as_number, scale=scale))
        return field, _scaled(digits, scale, signed)
    digits = draw(st.integers(1, 38 if kind == "packed" else 31))
    scale = draw(st.integers(-3, digits + 2))
    if kind == "packed":
        return num(name, digits, scale=scale, signed=signed, usage=Usage.COMP3), _scaled(
            digits, scale, signed
        )
    leading = signed and draw(st.booleans())
    separate = signed and draw(st.booleans())
    field = num(name, digits, scale=scale, signed=signed, leading=leading, separate=separate)
    return field, _scaled(digits, scale, signed)


def _as_number(n: int, scale: int) -> int | Decimal:
    if scale == 0:
        return n
    # From text: exact at any length (Decimal arithmetic rounds to 28 digits).
    return Decimal(n * 10**-scale) if scale < 0 else Decimal(f"{n}E-{scale}")


@st.composite
def members(draw: Draw, names: itertools.count[int], depth: int) -> tuple[Field, Any]:
    """A member (leaf, group or table) and a strategy-drawn value for it."""
    name = f"F{next(names)}"
    if depth < 2 and draw(st.integers(0, 4)) == 0:
        children = [draw(members(names, depth + 1)) for _ in range(draw(st.integers(1, 4)))]
        field: Field = group(name, *(c for c, _ in children))
        value: Any = {c.name: v for c, v in children if c.name != "FILLER"}
    elif draw(st.integers(0, 6)) == 0:
        field = alnum("FILLER", draw(st.integers(1, 4)))
        value = None
    else:
        field, values = draw(leaves(name))
        value = draw(values)
    if depth < 2 and field.name != "FILLER" and draw(st.integers(0, 5)) == 0:
        count = draw(st.integers(1, 3))
        elements = [value] + [draw(members_like(field, value)) for _ in range(count - 1)]
        return occurs(field, count), elements
    return field, value


def members_like(field: Field, first: Any) -> st.SearchStrategy[Any]:
    # Other occurrences repeat the first value: good enough to test addressing.
    return st.just(first)


@st.composite
def records(draw: Draw) -> tuple[Layout, dict[str, Any]]:
    names = itertools.count(1)
    drawn = [draw(members(names, 1)) for _ in range(draw(st.integers(1, 6)))]
    fields = [f for f, _ in drawn]
    values = {f.name: v for f, v in drawn if f.name != "FILLER"}
    if draw(st.booleans()):  # an ODO table, then an item it moves
        count = draw(st.integers(0, 4))
        item, strategy = draw(leaves("ELEM"))
        fields += [
            num("CNT", 2),
            occurs(item, 4, low=0, on="R.CNT"),
            alnum("LAST", 3),
        ]
        values.update(CNT=count, ELEM=[draw(strategy) for _ in range(count)], LAST="END")
    return record("R", *fields), values


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_encode_then_decode_gives_the_values_back(case: tuple[Layout, dict[str, Any]]) -> None:
    layout, values = case
    data = encode_record(layout, values)
    result = decode_record(layout, data, options=DecodeOptions())
    assert result.errors == ()
    assert decode_to_dict(layout, data) == values
    assert result.document.decode() == to_json(values)  # exact scale of every number
    json.loads(result.document)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 10**11 - 1),
    st.text(st.sampled_from(_CP037_CHARS), max_size=20).map(lambda s: s.rstrip(" ")),
    st.integers(-(10**12) + 1, 10**12 - 1),
    st.lists(st.integers(-(10**9) + 1, 10**9 - 1), max_size=5),
    _hfp(8),
)
def test_compiled_copybook_round_trip(
    ident: int, name: str, balance: int, amounts: list[int], number: float
) -> None:
    compiler = pytest.importorskip("bridge.copybook.compiler")
    (layout,) = compiler.compile_text(_COPYBOOK, "ACCOUNT")
    values = {
        "ACCT-ID": ident,
        "ACCT-NAME": name,
        "ACCT-BAL": _as_number(balance, 2),
        "ACCT-RATE": Decimal("0.12345"),
        "ACCT-LIMIT": Decimal("-1234567.89"),
        "ACCT-SHOWN": Decimal("-1234.50"),
        "ACCT-FLOAT": number,
        "ACCT-N": len(amounts),
        "ACCT-HIST": [
            {"HIST-DATE": f"2024010{i}", "HIST-AMT": _as_number(a, 2)}
            for i, a in enumerate(amounts)
        ],
        "ACCT-TAIL": "END",
    }
    data = encode_record(layout, values)
    assert len(data) == layout.record_length - (5 - len(amounts)) * 13
    result = decode_record(layout, data)
    assert result.errors == ()
    assert result.document.decode() == to_json(values)
