"""The reference decoder against hand-computed bytes: every usage, every reason, exact JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from bridge.copybook.layout import Field, Layout, Usage
from bridge.decode.reference import decode_record, decode_to_dict
from bridge.decode.verdict import DecodeOptions, DecodeOptionsError, Reason, RecordResult

from .layouts import (
    alnum,
    dbcs,
    edited,
    float_item,
    group,
    national,
    num,
    occurs,
    record,
    redefines,
)


def e(text: str) -> bytes:
    return text.encode("cp037")


def one(field: Field, raw: bytes, **options: object) -> RecordResult:
    return decode_record(record("R", field), raw, options=DecodeOptions(**options))  # type: ignore[arg-type]


def value_json(field: Field, raw: bytes, **options: object) -> str:
    """The JSON text of the field's value (the document is ``{"NAME":value}``)."""
    result = one(field, raw, **options)
    assert result.valid, result.errors
    text = result.document.decode()
    prefix = '{"' + field.name + '":'
    assert text.startswith(prefix) and text.endswith("}")
    return text[len(prefix) : -1]


def reason(field: Field, raw: bytes, **options: object) -> Reason:
    result = one(field, raw, **options)
    assert len(result.errors) == 1, result.errors
    assert result.document == b'{"' + field.name.encode() + b'":null}'
    return result.errors[0].reason


# --- text ----------------------------------------------------------------------------------


def test_alphanumeric_trims_and_nulls() -> None:
    f = alnum("A", 6)
    assert value_json(f, e(" AB C ")) == '" AB C"'
    assert value_json(f, e(" AB C "), trim="both") == '"AB C"'
    assert value_json(f, e(" AB C "), trim="none") == '" AB C "'
    assert value_json(f, e("      ")) == '""'
    assert value_json(f, bytes(6)) == "null"
    assert value_json(f, b"\x00" + e("A    ")) == '"\\u0000A"'


def test_json_escapes_like_python() -> None:
    f = alnum("A", 6)
    raw = bytes([0x7F, 0xE0, 0x05, 0x25, 0x0D, 0x9F])  # " \ TAB LF CR currency sign
    assert value_json(f, raw) == '"\\"\\\\\\t\\n\\r\u00a4"'
    assert json.loads(value_json(f, raw)) == '"\\\t\n\r\u00a4'


def test_code_pages_differ() -> None:
    f = alnum("A", 1)
    assert value_json(f, b"\xba") == '"["'
    assert value_json(f, b"\xba", codepage="cp1047") == '"\u00dd"'
    assert value_json(f, b"\x9f", codepage="cp1140") == '"\u20ac"'


def test_unmappable_character() -> None:
    result = one(alnum("A", 3), b"AB\x80", codepage="ascii")
    (error,) = result.errors
    assert error.reason is Reason.UNMAPPABLE_CHARACTER
    assert (error.path, error.offset, error.length, error.raw) == ("R.A", 0, 3, b"AB\x80")
    assert "byte 2" in error.message


def test_national() -> None:
    f = national("N", 4)
    assert value_json(f, "AB\u00e9 ".encode("utf-16-be")) == '"AB\u00e9"'
    assert value_json(f, bytes(8)) == "null"
    assert value_json(f, "\U0001f600  ".encode("utf-16-be")) == '"\U0001f600"'
    assert (
        reason(f, b"\xd8\x00\x00\x41" + " ".encode("utf-16-be") * 2) is Reason.UNMAPPABLE_CHARACTER
    )


def test_dbcs_has_no_codec() -> None:
    assert reason(dbcs("G", 2), b"\x42\xc1\x42\xc2") is Reason.NO_CODEC


# --- zoned decimal ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (num("N", 3), "f1f2f3", "123"),
        (num("N", 3), "f0f0f0", "0"),
        (num("N", 3, signed=True), "f1f2c3", "123"),
        (num("N", 3, signed=True), "f1f2d3", "-123"),
        (num("N", 3, signed=True), "f1f2f3", "123"),  # F in the sign position: positive
        (num("N", 3, signed=True, scale=1), "f1f2d3", "-12.3"),
        (num("N", 12, signed=True, scale=2), "f0f0f0f0f0f0f0f1f9f4f0c0", "194.00"),
        (num("N", 11, signed=True, scale=2), "f0f0f0f0f0f0f0f9f1f9d0", "-91.90"),
        (num("N", 3, signed=True, scale=2), "f0f0d0", "0.00"),  # negative zero has no sign
        (num("N", 2, signed=True), "f0d0", "0"),
        (num("N", 3, signed=True, leading=True), "d1f2f3", "-123"),
        (num("N", 3, signed=True, separate=True), "f1f2f360", "-123"),
        (num("N", 3, signed=True, separate=True, leading=True), "4ef1f2f3", "123"),
        (num("N", 3, scale=-2), "f1f2f3", "12300"),  # PIC 9(3)PP
        (num("N", 2, scale=4), "f1f2", "0.0012"),  # PIC PP99 (scale beyond the digits)
        (num("N", 3, scale=2), "f0f0f5", "0.05"),
    ],
)
def test_zoned(field: Field, raw: str, expected: str) -> None:
    assert value_json(field, bytes.fromhex(raw)) == expected


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (num("N", 3), "f1c2f3", Reason.BAD_ZONE),  # a sign zone before the sign position
        (num("N", 3), "f1faf3", Reason.BAD_ZONE),  # digit nibble A
        (num("N", 3), "f1f240", Reason.BAD_ZONE),  # space inside
        (num("N", 3), "f1f2d3", Reason.BAD_SIGN),  # negative in an unsigned item
        (num("N", 3), "f1f2c3", Reason.BAD_SIGN),  # any sign in an unsigned item
        (num("N", 3, signed=True), "f1f2a3", Reason.BAD_ZONE),  # zone A is no sign
        (num("N", 3, signed=True), "f1f2db", Reason.BAD_ZONE),
        (num("N", 3, signed=True, separate=True), "f1f2f3f4", Reason.BAD_SIGN),
        (num("N", 3, signed=True, separate=True), "f1f2c3f4", Reason.BAD_ZONE),
        (num("N", 3), "404040", Reason.BLANK_NUMERIC),
        (num("N", 3), "000000", Reason.BLANK_NUMERIC),
        (num("N", 3, signed=True, separate=True), "40404040", Reason.BLANK_NUMERIC),
    ],
)
def test_zoned_errors(field: Field, raw: str, expected: Reason) -> None:
    assert reason(field, bytes.fromhex(raw)) is expected


def test_first_fault_from_the_left_names_the_reason() -> None:
    # A bad zone in byte 0 and a bad sign in the last byte: the bad zone is reported.
    assert reason(num("N", 3), bytes.fromhex("c1f2d3")) is Reason.BAD_ZONE
    assert reason(num("N", 3, signed=True, leading=True, separate=True), e("*12A")) is (
        Reason.BAD_SIGN
    )


# --- packed decimal --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (num("P", 7, signed=True, scale=2, usage=Usage.COMP3), "0012345c", "123.45"),
        (num("P", 7, signed=True, scale=2, usage=Usage.COMP3), "0012345d", "-123.45"),
        (num("P", 7, signed=True, scale=2, usage=Usage.COMP3), "0000000d", "0.00"),
        (num("P", 5, signed=True, usage=Usage.COMP3), "12345a", "12345"),
        (num("P", 5, signed=True, usage=Usage.COMP3), "12345b", "-12345"),
        (num("P", 5, signed=True, usage=Usage.COMP3), "12345e", "12345"),
        (num("P", 5, signed=True, usage=Usage.COMP3), "12345f", "12345"),
        (num("P", 5, usage=Usage.COMP3), "12345f", "12345"),
        (num("P", 5, usage=Usage.COMP3), "12345c", "12345"),
        (num("P", 7, usage=Usage.COMP3), "0040118c", "40118"),  # DTAR020's DATE
        (num("P", 1, usage=Usage.COMP3), "9f", "9"),
        (num("P", 4, usage=Usage.COMP3), "12345f", "12345"),  # the pad nibble counts
    ],
)
def test_packed(field: Field, raw: str, expected: str) -> None:
    assert value_json(field, bytes.fromhex(raw)) == expected


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (num("P", 5, signed=True, usage=Usage.COMP3), "12a45c", Reason.BAD_PACKED_DIGIT),
        (num("P", 5, signed=True, usage=Usage.COMP3), "12345f"[:4] + "f5", Reason.BAD_PACKED_DIGIT),
        (num("P", 5, signed=True, usage=Usage.COMP3), "123453", Reason.BAD_PACKED_SIGN),
        (num("P", 5, signed=True, usage=Usage.COMP3), "123459", Reason.BAD_PACKED_SIGN),
        (num("P", 5, usage=Usage.COMP3), "12345d", Reason.BAD_PACKED_SIGN),
        (num("P", 5, usage=Usage.COMP3), "12345a", Reason.BAD_PACKED_SIGN),
        (num("P", 5, usage=Usage.COMP3), "404040", Reason.BLANK_NUMERIC),
        (num("P", 5, usage=Usage.COMP3), "000000", Reason.BLANK_NUMERIC),
        # Digits are checked before the sign: a bad digit and a bad sign give bad-packed-digit.
        (num("P", 5, signed=True, usage=Usage.COMP3), "1b3453", Reason.BAD_PACKED_DIGIT),
    ],
)
def test_packed_errors(field: Field, raw: str, expected: Reason) -> None:
    assert reason(field, bytes.fromhex(raw)) is expected


def test_38_digits_are_exact() -> None:
    field = num("P", 38, signed=True, scale=10, usage=Usage.COMP3)
    digits = "12345678901234567890123456789012345678"
    text = value_json(field, bytes.fromhex("0" + digits + "d"))
    assert text == "-" + digits[:28] + "." + digits[28:]
    assert decode_to_dict(record("R", field), bytes.fromhex("0" + digits + "d"))["P"] == Decimal(
        "-" + digits[:28] + "." + digits[28:]
    )


# --- binary ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "expected", "trunc"),
    [
        (num("B", 4, signed=True, usage=Usage.COMP), "ff85", "-123", "std"),
        (num("B", 4, usage=Usage.COMP), "270f", "9999", "std"),
        (num("B", 4, usage=Usage.COMP), "2710", "10000", "bin"),
        (num("B", 4, usage=Usage.COMP), "ffff", "65535", "bin"),
        (num("B", 4, signed=True, usage=Usage.COMP), "8000", "-32768", "bin"),
        (num("B", 7, signed=True, scale=2, usage=Usage.COMP), "00003039", "123.45", "std"),
        (num("B", 7, signed=True, scale=2, usage=Usage.COMP), "ffffcfc7", "-123.45", "std"),
        (
            num("B", 18, signed=True, usage=Usage.COMP),
            "f21f494c589c0001",
            "-999999999999999999",
            "std",
        ),
        (num("B", 4, signed=True, usage=Usage.COMP5), "8000", "-32768", "std"),
        (num("B", 4, usage=Usage.COMP5), "ffff", "65535", "std"),
        (num("B", 18, usage=Usage.COMP5), "ffffffffffffffff", "18446744073709551615", "std"),
    ],
)
def test_binary(field: Field, raw: str, expected: str, trunc: str) -> None:
    assert value_json(field, bytes.fromhex(raw), trunc=trunc) == expected


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        (num("B", 4, usage=Usage.COMP), "2710"),  # 10000 in PIC 9(4)
        (num("B", 4, signed=True, usage=Usage.COMP), "d8f0"),  # -10000
        (num("B", 4, usage=Usage.COMP), "ffff"),  # unsigned, high bit: 65535
        (num("B", 9, usage=Usage.COMP), "3b9aca00"),  # 10**9 in PIC 9(9)
    ],
)
def test_binary_out_of_range_under_trunc_std(field: Field, raw: str) -> None:
    assert reason(field, bytes.fromhex(raw)) is Reason.BINARY_OUT_OF_RANGE


def test_pointer_and_index() -> None:
    pointer = replace(alnum("PTR", 4), usage=Usage.POINTER, picture=None)
    assert value_json(pointer, bytes.fromhex("ffffffff")) == "4294967295"
    index = replace(alnum("IX", 4), usage=Usage.INDEX, picture=None)
    assert value_json(index, bytes.fromhex("0000002a")) == "42"


# --- floating point --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "raw", "expected"),
    [
        (Usage.COMP1, "41100000", 1.0),
        (Usage.COMP1, "c276a000", -118.625),
        (Usage.COMP1, "42640000", 100.0),
        (Usage.COMP1, "40800000", 0.5),
        (Usage.COMP1, "3f100000", 1 / 256),
        (Usage.COMP1, "40100000", 1 / 16),
        (Usage.COMP1, "00000000", 0.0),
        (Usage.COMP1, "80000000", 0.0),  # negative zero: no sign
        (Usage.COMP1, "4110000a", 1.0 + 10 / 2**20),  # 0x10000A/2**24 * 16
        (Usage.COMP2, "4110000000000000", 1.0),
        (Usage.COMP2, "c276a00000000000", -118.625),
        (Usage.COMP2, "7fffffffffffffff", (2**56 - 1) / 2**56 * 16.0**63),
        (Usage.COMP2, "0010000000000000", 16.0**-65),
    ],
)
def test_hfp(usage: Usage, raw: str, expected: float) -> None:
    text = value_json(float_item("F", usage), bytes.fromhex(raw))
    assert json.loads(text) == expected
    assert not text.startswith("-0")


def test_hfp_long_rounds_once_to_nearest() -> None:
    # 0.1 in long HFP: 0x1999999999999A / 2**56; the double nearest to it is 0.1.
    assert (
        json.loads(value_json(float_item("F", Usage.COMP2), bytes.fromhex("401999999999999a")))
        == 0.1
    )


@pytest.mark.parametrize(
    ("usage", "raw", "expected"),
    [
        (Usage.COMP1, "3f800000", 1.0),
        (Usage.COMP1, "c2ed4000", -118.625),
        (Usage.COMP2, "3ff0000000000000", 1.0),
        (Usage.COMP2, "8000000000000000", 0.0),
    ],
)
def test_ieee(usage: Usage, raw: str, expected: float) -> None:
    text = value_json(float_item("F", usage), bytes.fromhex(raw), float_format="ieee")
    assert json.loads(text) == expected


@pytest.mark.parametrize("raw", ["7f800000", "ff800000", "7fc00000"])
def test_ieee_nan_and_infinity_are_bad_float(raw: str) -> None:
    field = float_item("F", Usage.COMP1)
    assert reason(field, bytes.fromhex(raw), float_format="ieee") is Reason.BAD_FLOAT


# --- numeric-edited --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("picture", "scale", "text", "expected"),
    [
        ("ZZ,ZZ9.99-", 2, " 1,234.50-", "-1234.50"),
        ("ZZ,ZZ9.99-", 2, "     0.00 ", "0.00"),
        ("ZZ,ZZ9.99-", 2, "    12.00 ", "12.00"),
        ("$$$,$$9.99", 2, " $1,234.56", "1234.56"),
        ("$$$,$$9.99", 2, "     $0.05", "0.05"),
        ("**,**9.99", 2, "****12.50", "12.50"),
        ("+ZZ9", 0, "-  5", "-5"),
        ("+ZZ9", 0, "+ 45", "45"),
        ("ZZ9CR", 0, "  5CR", "-5"),
        ("ZZ9DB", 0, "  5  ", "5"),
        ("---9", 0, "  -5", "-5"),
        ("---9", 0, "   5", "5"),
        ("+++9", 0, "+123", "123"),
        ("99/99/99", 0, "12/31/99", "123199"),
        ("999B99", 0, "123 45", "12345"),
        ("9990", 0, "1230", "123"),
        ("ZZZ", 0, "   ", "0"),
        ("ZZZ.ZZ", 2, "      ", "0.00"),
        ("ZZZ.ZZ", 2, "   .05", "0.05"),
        ("ZZZ.99", 2, "   .00", "0.00"),
        ("***.**", 2, "***.**", "0.00"),
        ("$$$.99", 2, "  $.50", "0.50"),
        ("ZZPP", -2, " 1", "100"),
    ],
)
def test_edited(picture: str, scale: int, text: str, expected: str) -> None:
    field = edited("E", picture, scale=scale)
    assert value_json(field, e(text)) == expected


def test_blank_when_zero() -> None:
    field = edited("E", "999.99", scale=2, bwz=True)
    assert value_json(field, e("      ")) == "0.00"
    assert value_json(field, e("001.50")) == "1.50"
    assert reason(field, e("000.00")) is Reason.BAD_EDITED


@pytest.mark.parametrize(
    ("picture", "text"),
    [
        ("ZZZ9", "0012"),  # a MOVE would have suppressed the zeros
        ("ZZZ9", "   A"),
        ("ZZ,ZZ9.99-", " 1,234.50+"),
        ("99/99/99", "12-31-99"),
        ("$$$,$$9.99", "$  1234.56"),
        ("9999", "    "),  # spaces where digits must be
        ("ZZ9", bytes(3).decode("cp037")),  # low-values
    ],
)
def test_edited_text_that_does_not_fit(picture: str, text: str) -> None:
    assert reason(edited("E", picture), e(text)) is Reason.BAD_EDITED


# --- groups, tables, REDEFINES, FILLER -------------------------------------------------------


def test_groups_nest_and_filler_is_omitted() -> None:
    layout = record(
        "R",
        group("G", alnum("A", 2), alnum("FILLER", 2), num("N", 2)),
        group("FILLER", num("BAD", 2)),
        alnum("B", 1),
    )
    raw = e("AB??") + e("12") + e("XX") + e("C")
    result = decode_record(layout, raw)
    assert result.document == b'{"G":{"A":"AB","N":12},"B":"C"}'
    assert result.valid  # the FILLER group's bad digits are not looked at


def test_occurs_nested_and_error_paths() -> None:
    inner = occurs(group("U", num("A", 1)), 3)
    layout = record("R", occurs(group("T", alnum("K", 1), inner), 2))
    raw = e("X123") + e("Y4") + b"\xc5" + e("6")
    result = decode_record(layout, raw, file_offset=1000)
    assert result.document == (
        b'{"T":[{"K":"X","U":[{"A":1},{"A":2},{"A":3}]},{"K":"Y","U":[{"A":4},{"A":null},{"A":6}]}]}'
    )
    (error,) = result.errors
    assert error.path == "R.T[1].U[1].A"
    assert (error.offset, error.length, error.raw) == (1006, 1, b"\xc5")
    assert error.reason is Reason.BAD_SIGN
    assert error.to_json()["raw"] == "c5"


def _odo_layout() -> Layout:
    return record(
        "R",
        num("N", 1),
        occurs(group("T", alnum("A", 2)), 4, low=1, on="R.N"),
        alnum("Z", 1),
    )


def test_odo_uses_the_count_and_shifts_what_follows() -> None:
    layout = _odo_layout()
    result = decode_record(layout, e("2ABCDZ"))
    assert result.document == b'{"N":2,"T":[{"A":"AB"},{"A":"CD"}],"Z":"Z"}'
    assert result.valid and result.length == 6
    full = decode_record(layout, e("4ABCDEFGHZ"))
    assert json.loads(full.document)["Z"] == "Z"


@pytest.mark.parametrize(("count", "shown"), [("5", "is 5"), ("0", "is 0"), (" ", "did not")])
def test_odo_out_of_range_stops(count: str, shown: str) -> None:
    result = decode_record(_odo_layout(), e(count + "ABCDEFGHZ"), file_offset=50)
    assert (
        result.document == b'{"N":' + (b"null" if count == " " else count.encode()) + b',"T":null}'
    )
    error = result.errors[-1]
    assert error.reason is Reason.ODO_OUT_OF_RANGE
    # The table's path, the count's place and bytes.
    assert (error.path, error.offset, error.length, error.raw) == ("R.T", 50, 1, e(count))
    assert shown in error.message and "R.N" in error.message


def test_odo_count_inside_filler_still_counts() -> None:
    layout = record(
        "R",
        group("FILLER", num("N", 1)),
        occurs(alnum("A", 1), 3, low=0, on="R.FILLER.N"),
    )
    assert decode_record(layout, e("2XY")).document == b'{"A":["X","Y"]}'


def test_record_too_short_stops_at_the_first_field_that_does_not_fit() -> None:
    layout = record("R", alnum("A", 2), occurs(group("T", num("B", 2), alnum("C", 3)), 2))
    result = decode_record(layout, e("AB12XYZ3"), file_offset=10)
    assert result.document == b'{"A":"AB","T":[{"B":12,"C":"XYZ"},{"B":null}]}'
    (error,) = result.errors
    assert error.reason is Reason.RECORD_TOO_SHORT
    assert (error.path, error.offset, error.length, error.raw) == ("R.T[1].B", 17, 2, e("3"))


def test_trailing_filler_may_be_cut_off() -> None:
    layout = record("R", alnum("A", 2), alnum("FILLER", 10))
    assert decode_record(layout, e("AB")).valid


def test_redefines_default_and_choice() -> None:
    layout = record(
        "R",
        alnum("ORIG", 4),
        redefines(num("ALT", 4), "ORIG"),
        redefines(group("ALT2", num("X", 2), num("Y", 2)), "ORIG"),
        alnum("Z", 1),
    )
    raw = e("1234Z")
    assert decode_record(layout, raw).document == b'{"ORIG":"1234","Z":"Z"}'
    chosen = DecodeOptions(redefines={"R.ORIG": "R.ALT"})
    assert decode_record(layout, raw, options=chosen).document == b'{"ALT":1234,"Z":"Z"}'
    chosen = DecodeOptions(redefines={"R.ORIG": "R.ALT2"})
    assert (
        decode_record(layout, raw, options=chosen).document == b'{"ALT2":{"X":12,"Y":34},"Z":"Z"}'
    )
    with pytest.raises(DecodeOptionsError):
        decode_record(layout, raw, options=DecodeOptions(redefines={"R.ORIG": "R.Z"}))
    with pytest.raises(DecodeOptionsError):
        decode_record(layout, raw, options=DecodeOptions(redefines={"R.NOPE": "R.ALT"}))


def test_several_errors_in_one_record() -> None:
    layout = record("R", num("A", 2), alnum("B", 1), num("C", 2, usage=Usage.COMP3, signed=True))
    result = decode_record(layout, e("1X") + e("B") + b"\x12\x33", record_number=7)
    assert result.record == 7 and not result.valid
    assert [(x.path, x.reason) for x in result.errors] == [
        ("R.A", Reason.BAD_ZONE),
        ("R.C", Reason.BAD_PACKED_SIGN),
    ]
    assert result.document == b'{"A":null,"B":"B","C":null}'


def test_decimals_as_strings() -> None:
    layout = record("R", num("A", 3, scale=2, signed=True), num("B", 2), num("C", 2, scale=-1))
    result = decode_record(
        layout, e("12L") + e("12") + e("34"), options=DecodeOptions(decimals_as_strings=True)
    )
    assert result.document == b'{"A":"-1.23","B":12,"C":"340"}'


def test_decode_to_dict_types() -> None:
    layout = record(
        "R",
        num("A", 3, scale=2, signed=True),
        num("B", 2),
        num("C", 2, scale=-1),
        float_item("F", Usage.COMP1),
        alnum("S", 2),
    )
    values = decode_to_dict(
        layout, e("12L") + e("12") + e("34") + bytes.fromhex("41100000") + e("HI")
    )
    assert values == {"A": Decimal("-1.23"), "B": 12, "C": Decimal(340), "F": 1.0, "S": "HI"}
    assert isinstance(values["B"], int) and isinstance(values["C"], Decimal)
    assert str(values["A"]) == "-1.23"
