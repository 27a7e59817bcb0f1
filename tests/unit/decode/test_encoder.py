"""The encoder against hand-computed bytes, and the HFP conversion both ways."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.copybook.layout import Field, Usage
from bridge.decode.edited import EditedPicture, expand_picture
from bridge.decode.encoder import EncodeError, encode_record
from bridge.decode.hfp import HFP_MAX, from_hfp, to_hfp

from .layouts import alnum, edited, float_item, group, national, num, occurs, record


def test_every_usage_to_bytes() -> None:
    layout = record(
        "R",
        alnum("A", 4),
        alnum("FILLER", 2),
        num("Z", 3, signed=True, scale=1),
        num("P", 5, signed=True, scale=2, usage=Usage.COMP3),
        num("B", 4, signed=True, usage=Usage.COMP),
        num("S", 3, signed=True, separate=True, leading=True),
        num("U", 3, usage=Usage.COMP3),
        national("N", 2),
        float_item("F", Usage.COMP1),
        edited("E", "ZZ9.99-", scale=2),
    )
    data = encode_record(
        layout,
        {
            "A": "AB",
            "Z": Decimal("-12.3"),
            "P": Decimal("123.45"),
            "B": -123,
            "S": 42,
            "U": 7,
            "N": "\u00e9",
            "F": -118.625,
            "E": Decimal("-1.5"),
        },
    )
    assert data.hex() == (
        "c1c24040"  # A
        "4040"  # FILLER
        "f1f2d3"  # Z: overpunch D
        "12345c"  # P
        "ff85"  # B
        "4ef0f4f2"  # S: leading separate +
        "007f"  # U: unsigned packed sign F
        "00e90020"  # N
        "c276a000" + "4040f14bf5f060"  # F  # E: "  1.50-"
    )


def test_more_than_28_digits_stay_exact() -> None:
    # Decimal arithmetic rounds to 28 digits by default; the encoder must not.
    digits = "9" * 38
    field = num("P", 38, signed=True, scale=3, usage=Usage.COMP3)
    value = Decimal(f"-{digits[:35]}.{digits[35:]}")
    assert encode_record(record("R", field), {"P": value}).hex() == "0" + digits + "d"


def test_justified_right_and_low_values() -> None:
    layout = record("R", alnum("A", 4, justified=True), alnum("B", 2))
    assert encode_record(layout, {"A": "AB", "B": None}) == b"\x40\x40\xc1\xc2\x00\x00"


def test_odo_count_from_the_table_and_shifted_tail() -> None:
    layout = record(
        "R",
        group("H", num("CNT", 1)),
        occurs(alnum("T", 2), 3, low=0, on="R.H.CNT"),
        alnum("Z", 1),
    )
    data = encode_record(layout, {"H": {}, "T": ["AB", "CD"], "Z": "Z"})
    assert data == "2ABCDZ".encode("cp037")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (num("Z", 3), -1),
        (num("Z", 3), 1000),
        (num("Z", 3, scale=1), Decimal("1.25")),
        (num("B", 4, usage=Usage.COMP), 10000),
        (num("B", 4, signed=True, usage=Usage.COMP5), 40000),
        (alnum("A", 2), "ABC"),
        (alnum("A", 2), "\u20ac"),
        (edited("E", "ZZ9"), 1000),
        (float_item("F", Usage.COMP1), math.inf),
    ],
)
def test_values_that_do_not_fit(field: Field, value: object) -> None:
    with pytest.raises(EncodeError) as info:
        encode_record(record("R", field), {field.name: value})
    assert "R." in str(info.value)


def test_expand_picture() -> None:
    assert expand_picture("Z(3)9.9(2)CR") == ["Z", "Z", "Z", "9", ".", "9", "9", "CR"]
    assert expand_picture("$$,$$9DB") == ["$", "$", ",", "$", "$", "9", "DB"]
    picture = EditedPicture.parse("$$,$$9.99")
    assert picture.width == 9 and len(picture.digit_positions) == 6


@pytest.mark.parametrize(
    ("picture", "magnitude", "negative", "text"),
    [
        # IBM Enterprise COBOL Language Reference, "Editing rules" examples.
        ("$$,$$9", 100, False, "  $100"),
        ("$$,$$9", 1000, False, "$1,000"),
        ("ZZ9.99", 0, False, "  0.00"),
        ("ZZZZ.ZZ", 0, False, "       "),
        ("****.**", 0, False, "****.**"),
        ("++++9", 12, True, "  -12"),
        ("----9", 12, False, "   12"),
        ("99.9CR", 123, True, "12.3CR"),
        ("99.9DB", 123, False, "12.3  "),
        ("-999.99", 12345, True, "-123.45"),
        ("999.99+", 12345, False, "123.45+"),
        ("+$$$9", 5, True, "-  $5"),
    ],
)
def test_editing(picture: str, magnitude: int, negative: bool, text: str) -> None:
    edited_picture = EditedPicture.parse(picture)
    assert edited_picture.edit(magnitude, negative) == text
    assert edited_picture.read(text) == (magnitude, negative)


@pytest.mark.parametrize(
    ("value", "size", "raw"),
    [
        (1.0, 4, "41100000"),
        (-118.625, 4, "c276a000"),
        (100.0, 4, "42640000"),
        (0.0, 4, "00000000"),
        (0.1, 4, "4019999a"),  # 0x199999.99.. rounded to nearest
        (1.0, 8, "4110000000000000"),
        (0.1, 8, "401999999999999a"),
        (16.0, 4, "42100000"),
        (15.999999, 4, "41ffffff"),  # 16777214.95 rounds up
    ],
)
def test_to_hfp(value: float, size: int, raw: str) -> None:
    assert to_hfp(value, size).hex() == raw


def test_hfp_limits() -> None:
    assert from_hfp(to_hfp(HFP_MAX, 8)) == HFP_MAX
    with pytest.raises(ValueError):
        to_hfp(1e80, 8)
    assert to_hfp(1e-90, 8) == bytes(8)  # below the smallest normalised value
    with pytest.raises(ValueError):
        to_hfp(math.nan, 4)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e75, max_value=1e75))
def test_every_double_in_range_survives_long_hfp(value: float) -> None:
    if value != 0 and abs(value) < 16.0**-65:
        return
    assert from_hfp(to_hfp(value, 8)) == value
