"""Hypothesis strategies for random layouts and values, shared by the decoder property tests.

``leaves`` draws one elementary item (every usage: text, national, DBCS, zoned, packed,
binary, COMP-5, floats, numeric-edited, pointers) with a strategy for its values; ``members``
nests them in groups and tables; ``records`` makes a whole record, maybe with an ODO table.
Values are what the reference decoder gives back: right-trimmed text (None is low-values),
ints for unscaled numbers and exact Decimals otherwise.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from bridge.codepages import encode_table
from bridge.copybook.layout import Category, Field, Layout, Usage
from bridge.decode.hfp import from_hfp

from .layouts import alnum, dbcs, edited, float_item, group, national, num, occurs, record

Leaf = tuple[Field, st.SearchStrategy[Any]]
Draw = Callable[[st.SearchStrategy[Any]], Any]

CP037 = sorted(c for c in encode_table("cp037") if c != "\x00")
EDITED = [
    ("ZZ,ZZ9.99-", 2),
    ("$$$,$$9.99", 2),
    ("**,**9.99", 2),
    ("+ZZ9", 0),
    ("ZZ9CR", 0),
    ("9(3)DB", 0),
    ("---9", 0),
    ("+++9.99", 2),
    ("99/99/99", 0),
    ("ZZZ.ZZ", 2),
    ("ZZ,ZZZ", 0),
    ("$$$.99", 2),
    ("-9(4)", -2),
    ("BZZ9.99+", 2),
    ("Z(3)0", 0),
]
# Repeats weight the draw towards the common usages.
KINDS = [
    "x",
    "x",
    "n",
    "g",
    "zoned",
    "zoned",
    "packed",
    "packed",
    "comp",
    "comp5",
    "float",
    "edited",
    "pointer",
]
# DBCS items never decode (no codec): round trips that want no errors leave them out.
DECODABLE_KINDS = [k for k in KINDS if k != "g"]


def as_number(n: int, scale: int) -> int | Decimal:
    if scale == 0:
        return n
    # From text: exact at any length (Decimal arithmetic rounds to 28 digits).
    return Decimal(n * 10**-scale) if scale < 0 else Decimal(f"{n}E-{scale}")


def scaled(digits: int, scale: int, signed: bool) -> st.SearchStrategy[int | Decimal]:
    top = 10**digits - 1
    return st.integers(-top if signed else 0, top).map(functools.partial(as_number, scale=scale))


def texts(size: int, alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    # Right-trimmed on decode, so no trailing spaces; None is low-values.
    return st.none() | st.text(alphabet, max_size=size).map(lambda s: s.rstrip(" "))


def hfp(size: int) -> st.SearchStrategy[float]:
    """Floats that a normalised HFP number of ``size`` bytes holds exactly."""
    fraction_bits = size * 8 - 8
    low = 1 << (fraction_bits - 4)
    # A double keeps 53 bits: drop the fraction's extra low bits (8-byte HFP has 56), or
    # from_hfp rounds, and an all-ones fraction at the top exponent rounds past the range.
    keep = ~((1 << max(fraction_bits - 53, 0)) - 1)
    fractions = st.integers(low, (1 << fraction_bits) - 1).map(lambda f: f & keep)
    words = st.tuples(st.booleans(), st.integers(0, 127), fractions).map(
        lambda t: (t[0] << (size * 8 - 1)) | (t[1] << fraction_bits) | t[2]
    )
    return words.map(lambda w: from_hfp(w.to_bytes(size, "big")))


@st.composite
def leaves(draw: Draw, name: str, kinds: list[str] = KINDS) -> Leaf:
    """An elementary item of one of ``kinds`` and a strategy for its values."""
    kind = draw(st.sampled_from(kinds))
    if kind == "x":
        size = draw(st.integers(1, 12))
        return alnum(name, size), texts(size, st.sampled_from(CP037))
    if kind == "n":
        size = draw(st.integers(1, 6))
        chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
        return national(name, size), texts(size, chars).filter(
            lambda s: s is None or len(s.encode("utf-16-be")) <= 2 * size
        )
    if kind == "g":
        return dbcs(name, draw(st.integers(1, 3))), st.none()
    if kind == "float":
        usage = draw(st.sampled_from([Usage.COMP1, Usage.COMP2]))
        return float_item(name, usage), hfp(4 if usage is Usage.COMP1 else 8)
    if kind == "edited":
        picture, scale = draw(st.sampled_from(EDITED))
        field = edited(name, picture, scale=scale, bwz=draw(st.booleans()))
        signed = any(s in picture for s in ("+", "-", "CR", "DB"))
        return field, scaled(field.digits or 0, scale, signed)
    if kind == "pointer":
        field = replace(
            num(name, 9, usage=Usage.COMP5),
            usage=Usage.POINTER,
            category=Category.POINTER,
            picture=None,
            digits=None,
            scale=None,
        )
        return field, st.integers(0, 2**32 - 1)
    signed = draw(st.booleans())
    if kind in ("comp", "comp5"):
        digits = draw(st.integers(1, 18))
        usage = Usage.COMP if kind == "comp" else Usage.COMP5
        scale = draw(st.integers(-2, min(digits, 4)))
        field = num(name, digits, scale=scale, signed=signed, usage=usage)
        if usage is Usage.COMP5:
            bits = field.length * 8
            low, high = (
                (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
            )
            return field, st.integers(low, high).map(functools.partial(as_number, scale=scale))
        return field, scaled(digits, scale, signed)
    digits = draw(st.integers(1, 38 if kind == "packed" else 31))
    scale = draw(st.integers(-3, digits + 2))
    if kind == "packed":
        return num(name, digits, scale=scale, signed=signed, usage=Usage.COMP3), scaled(
            digits, scale, signed
        )
    leading = signed and draw(st.booleans())
    separate = signed and draw(st.booleans())
    field = num(name, digits, scale=scale, signed=signed, leading=leading, separate=separate)
    return field, scaled(digits, scale, signed)


@st.composite
def members(
    draw: Draw, names: itertools.count[int], depth: int, kinds: list[str] = KINDS
) -> tuple[Field, Any]:
    """A member (leaf, group or table; tables and groups nest) and a value for it."""
    name = f"F{next(names)}"
    roll = draw(st.integers(0, 9))
    if depth < 3 and roll < 2:
        children = [draw(members(names, depth + 1, kinds)) for _ in range(draw(st.integers(1, 4)))]
        field: Field = group(name, *(c for c, _ in children))
        value: Any = {c.name: v for c, v in children if not c.is_filler}
    elif roll == 2:
        field, value = alnum("FILLER", draw(st.integers(1, 4))), None
    else:
        field, values = draw(leaves(name, kinds))
        value = draw(values)
    if depth < 3 and not field.is_filler and draw(st.integers(0, 4)) == 0:
        count = draw(st.integers(1, 3))
        elements = [value] + [draw(members_like(field, value)) for _ in range(count - 1)]
        return occurs(field, count), elements
    return field, value


def members_like(field: Field, first: Any) -> st.SearchStrategy[Any]:
    # Other occurrences repeat the first value: good enough to test addressing.
    return st.just(first)


@st.composite
def records(draw: Draw, kinds: list[str] = DECODABLE_KINDS) -> tuple[Layout, dict[str, Any]]:
    """A record of members, maybe ending in an ODO table and an item it moves.

    By default without DBCS items, so the record decodes back without errors.
    """
    names = itertools.count(1)
    drawn = [draw(members(names, 1, kinds)) for _ in range(draw(st.integers(1, 6)))]
    fields = [f for f, _ in drawn]
    values = {f.name: v for f, v in drawn if not f.is_filler}
    if draw(st.booleans()):
        count = draw(st.integers(0, 4))
        item, strategy = draw(leaves("ELEM", kinds))
        fields += [
            num("CNT", 2),
            occurs(item, 4, low=0, on="R.CNT"),
            alnum("LAST", 3),
        ]
        values.update(CNT=count, ELEM=[draw(strategy) for _ in range(count)], LAST="END")
    return record("R", *fields), values
