"""The native decoder against the reference decoder, byte for byte, and against the encoder.

Random layouts cover every usage, scales (P scaling both ways), signs (trailing, leading,
separate, none), national and DBCS, numeric-edited, floats, nested OCCURS, ODO tables with
items after them, ODO counts hidden in FILLER, and REDEFINES with and without a choice.
"""

from __future__ import annotations

import itertools
import json
import struct
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bridge.copybook.compiler import compile_text
from bridge.copybook.layout import Layout, Usage
from bridge.decode.encoder import EncodeError, encode_record
from bridge.decode.native import NativeDecoder
from bridge.decode.reference import decode_record, decode_to_dict
from bridge.decode.verdict import DecodeOptions, Reason
from bridge.decode.zoned import zoned_bytes
from tests.volume import volume

from .layouts import alnum, float_item, group, national, num, occurs, record, redefines
from .strategies import CP037, Draw, leaves, members, texts

Case = tuple[Layout, dict[str, Any], dict[str, str]]

SETTINGS = settings(
    max_examples=volume(400, least=10),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@st.composite
def cases(draw: Draw) -> Case:
    names = itertools.count(1)
    drawn = [draw(members(names, 1)) for _ in range(draw(st.integers(1, 5)))]
    fields = [f for f, _ in drawn]
    values = {f.name: v for f, v in drawn if not f.is_filler}
    chosen: dict[str, str] = {}
    if draw(st.booleans()):  # a REDEFINES alternative of a text item, maybe chosen
        size = draw(st.integers(2, 8))
        fields += [alnum("ORIG", size), redefines(num("ALT", size), "ORIG")]
        values["ORIG"] = draw(texts(size, st.sampled_from(CP037)))
        if draw(st.booleans()):
            chosen["R.ORIG"] = "R.ALT"
    odo = draw(st.sampled_from(["none", "plain", "hidden", "group", "nested"]))
    if odo == "hidden" and any(f.is_filler for top in fields for f in top.walk()):
        odo = "plain"  # hand-built paths are not made unique: keep R.FILLER the count's
    if odo != "none":
        count = draw(st.integers(0, 4))
        item, strategy = draw(leaves("ELEM"))
        elements = [draw(strategy) for _ in range(count)]
        counter = "FILLER" if odo == "hidden" else "CNT"
        if odo == "nested":  # variable-length elements: an ODO table in an ODO table
            inner = draw(st.integers(0, 2))
            fields += [num("CNT", 1), num("CNT2", 1)]
            item = group("ELEM", alnum("X", 1), occurs(item, 2, low=0, on="R.CNT2"))
            elements = [{"X": "A", "ELEM": elements[:1] * inner} for _ in elements]
            values.update(CNT=count, CNT2=inner)
            on = "R.CNT"
        elif odo == "group":  # a group element holding a fixed table, ODO count in a group
            item = group("ELEM", item, occurs(num("SUB", 2), 2))
            elements = [{"ELEM": e, "SUB": [1, 2]} for e in elements]
            fields.append(group("HDR", num("CNT", 2, usage=Usage.COMP)))
            values["HDR"] = {"CNT": count}
            on = "R.HDR.CNT"
        else:
            fields.append(num(counter, 2))
            on = f"R.{counter}"
            if counter == "CNT":
                values["CNT"] = count
        fields += [occurs(item, 4, low=0, on=on), alnum("LAST", 3)]
        values.update(ELEM=elements, LAST="END")
        if odo == "hidden":
            values["__count__"] = count
    return record("R", *fields), values, chosen


def _encode(layout: Layout, values: dict[str, Any], codepage: str = "cp037") -> bytes | None:
    values = dict(values)
    count = values.pop("__count__", None)
    try:
        data = bytearray(encode_record(layout, values, codepage=codepage))
    except EncodeError:
        return None
    if count is not None:  # the encoder leaves FILLER blank: write the hidden count
        f = layout.field("R.FILLER")
        d0 = zoned_bytes(codepage).digit0
        data[f.offset : f.offset + 2] = b"%c%c" % (d0 + count // 10, d0 + count % 10)
    return bytes(data)


def _same(native: NativeDecoder, layout: Layout, data: bytes, options: DecodeOptions) -> None:
    want = decode_record(layout, data, options=options, file_offset=1000, record_number=7)
    got = native.decode(data, number=7, offset=1000)
    assert got.document == want.document
    assert got.errors == want.errors
    assert got == want


@SETTINGS
@given(cases(), st.sampled_from(["cp037", "latin-1"]))
def test_encoded_values_decode_back_natively(case: Case, codepage: str) -> None:
    """EBCDIC, and an ASCII file's digits and overpunched signs (bridge/decode/zoned.py)."""
    layout, values, _ = case
    data = _encode(layout, values, codepage)
    assume(data is not None)
    assert data is not None
    options = DecodeOptions(codepage=codepage)
    native = NativeDecoder(layout, options)
    result = native.decode(data)
    assert {e.reason for e in result.errors} <= {Reason.NO_CODEC}  # DBCS never decodes
    assert result == decode_record(layout, data, options=options)
    values.pop("__count__", None)
    assert native.decode_to_dict(data) == decode_to_dict(layout, data, options=options)
    if not result.errors:
        assert native.decode_to_dict(data) == values


# ASCII zoned items (bridge/decode/zoned.py): digits 0-9; overpunched signs as a text
# conversion from EBCDIC leaves them ({ A-I positive, } J-R negative) and as Micro Focus and
# GnuCOBOL write negatives (p-y); SIGN SEPARATE + and -.
@pytest.mark.parametrize(
    ("signed", "leading", "separate", "text", "want"),
    [
        (False, False, False, "0123", "123"),
        (True, False, False, "012C", "123"),
        (True, False, False, "012L", "-123"),
        (True, False, False, "012s", "-123"),
        (True, False, False, "012{", "120"),
        (True, False, False, "012}", "-120"),
        (True, False, False, "0123", "123"),
        (True, True, False, "J123", "-1123"),
        (True, False, True, "0123-", "-123"),
        (True, True, True, "+0123", "123"),
        (False, False, False, "012L", "bad-sign"),
        (False, False, False, "01 3", "bad-zone"),
        (True, False, False, "012Z", "bad-zone"),
        (True, False, False, "0A23", "bad-zone"),
        (True, False, True, "0123*", "bad-sign"),
        (True, False, False, "    ", "blank-numeric"),
    ],
)
@pytest.mark.parametrize("codepage", ["ascii", "latin-1"])
def test_ascii_zoned(
    signed: bool, leading: bool, separate: bool, text: str, want: str, codepage: str
) -> None:
    field = num("N", 4, signed=signed, leading=leading, separate=separate)
    layout = record("R", field)
    options = DecodeOptions(codepage=codepage)
    data = text.encode("ascii")
    _same(NativeDecoder(layout, options), layout, data, options)
    result = NativeDecoder(layout, options).decode(data)
    if want[0].isdigit() or want[0] == "-":
        assert result.errors == ()
        assert json.loads(result.document) == {"N": int(want)}
    else:
        [error] = result.errors
        assert error.reason.value == want
        if want == "bad-zone":
            assert "is not a digit" in error.message or "overpunched sign" in error.message


_OPTIONS = st.builds(
    DecodeOptions,
    codepage=st.sampled_from(["cp037", "cp1047", "cp875", "ascii", "latin-1"]),
    trim=st.sampled_from(["right", "both", "none"]),
    decimals_as_strings=st.booleans(),
    float_format=st.sampled_from(["hfp", "ieee"]),
    trunc=st.sampled_from(["std", "bin"]),
)


@st.composite
def damaged(draw: Draw, data: bytes) -> bytes:
    """The record with a few bytes replaced, cut short or extended."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        if out:
            out[draw(st.integers(0, len(out) - 1))] = draw(
                st.sampled_from([0x00, 0x40, 0x4E, 0x60, 0xC1, 0xD5, 0xFA, 0x1F, 0xDC, 0xFF])
                | st.sampled_from([0x20, 0x2B, 0x2D, 0x30, 0x3A, 0x41, 0x4A, 0x52, 0x7B, 0x7D])
                | st.integers(0, 255)
            )
    cut = draw(st.integers(0, len(out) + 3))
    return bytes(out[:cut]) if cut <= len(out) else bytes(out) + b"\xf0" * (cut - len(out))


@SETTINGS
@given(cases(), _OPTIONS, st.data())
def test_damaged_records_agree_with_reference(
    case: Case, options: DecodeOptions, data: Any
) -> None:
    layout, values, chosen = case
    options = replace(options, redefines=chosen)
    encoded = _encode(layout, values, options.codepage) or bytes(layout.record_length)
    record_bytes = data.draw(damaged(encoded) | st.binary(max_size=layout.record_length + 4))
    _same(NativeDecoder(layout, options), layout, record_bytes, options)


@SETTINGS
@given(cases(), st.lists(st.binary(max_size=60), min_size=1, max_size=30), st.integers(0, 3))
def test_batches_and_tiny_buffers_agree_with_one_by_one(
    case: Case, records: list[bytes], squeeze: int
) -> None:
    layout, values, chosen = case
    options = DecodeOptions(redefines=chosen)
    encoded = _encode(layout, values)
    if encoded is not None:
        records.insert(len(records) // 2, encoded)
    # Tiny output and error buffers force partial batches and buffer growth.
    native = NativeDecoder(
        layout, options, out_bytes=[64, 256, 1024, 1 << 16][squeeze], error_cap=1
    )
    data = b"".join(records)
    offsets = list(itertools.accumulate((len(r) for r in records[:-1]), initial=0))
    lengths = [len(r) for r in records]
    got = []
    dicts = []
    done = 0
    while done < len(records):
        batch = native.decode_batch(
            data, offsets[done:], lengths[done:], base_offset=500, first_record=done
        )
        assert batch.count > 0
        got += batch.results()
        dicts += batch.dicts()
        done += batch.count
    want = [
        decode_record(layout, r, options=options, record_number=i, file_offset=500 + off)
        for i, (r, off) in enumerate(zip(records, offsets, strict=True))
    ]
    assert got == want
    assert batch.jsonl.tobytes().count(b"\n") == batch.count
    assert dicts == [decode_to_dict(layout, r, options=options) for r in records]


def test_fixed_batches_and_documents() -> None:
    layout = record("R", alnum("A", 3), num("B", 4, signed=True))
    native = NativeDecoder(layout)
    data = bytes.fromhex("c1c2c3f0f0f1c2404040f0f0f0d1818283f0c1f0f0")
    batch = native.decode_batch(data, fixed_length=7, base_offset=70, first_record=10)
    assert batch.count == 3
    assert list(batch.offsets) == [70, 77, 84]
    assert batch.documents() == [
        b'{"A":"ABC","B":12}',
        b'{"A":"","B":-1}',
        b'{"A":"abc","B":null}',
    ]
    assert batch.errors[2][0].reason is Reason.BAD_ZONE
    assert batch.errors[2][0].offset == 87
    results = batch.results()
    assert [r.record for r in results] == [10, 11, 12]
    assert json.loads(batch.jsonl.tobytes().splitlines()[1]) == {"A": "", "B": -1}


def test_national_surrogates() -> None:
    layout = record("R", national("N", 3))
    native = NativeDecoder(layout)
    for text in ("a😀", "€ \x01", '"\\'):
        data = text.encode("utf-16-be").ljust(6, b"\x00")
        _same(native, layout, data, DecodeOptions())
    for raw in (
        b"\xd8\x00\x00\x41\x00\x20",
        b"\x00\x41\xdc\x00\x00\x20",
        b"\x00\x41\x00\x42\xd8\x3d",
    ):
        _same(native, layout, raw, DecodeOptions())
        assert native.decode(raw).errors[0].reason is Reason.UNMAPPABLE_CHARACTER


def test_unknown_redefines_choice_is_refused() -> None:
    layout = record("R", alnum("A", 2), redefines(num("B", 2), "A"), alnum("C", 2))
    with pytest.raises(Exception, match="does not redefine"):
        NativeDecoder(layout, DecodeOptions(redefines={"R.A": "R.C"}))


def test_floats_print_as_python_repr() -> None:
    layout = record("R", float_item("D", Usage.COMP2))
    native = NativeDecoder(layout, DecodeOptions(float_format="ieee"))
    for v in (0.1, 1e16, 123456789.0, 5e-324, -2.5e-5, 2.0**132, 1 / 3, 0.0, -0.0):
        doc = native.decode(struct.pack(">d", v)).document
        assert doc == decode_record(layout, struct.pack(">d", v), options=native.options).document


def test_a_larger_redefines_below_01_decodes_either_way() -> None:
    # The pair takes the larger size (IBM IGYDS1154-W); both decoders agree on both readings.
    text = (
        "01 R.\n 05 HEAD PIC X(2).\n 05 SHORT PIC X(3).\n 05 LONG REDEFINES SHORT.\n"
        "  10 L1 PIC 9(3).\n  10 L2 PIC S9(3) COMP-3.\n 05 AFTER PIC X.\n"
    )
    (layout,) = compile_text(text, free_format=True, warnings=[])
    data = "AB123".encode("cp037") + b"\x12\x3c" + "Z".encode("cp037")
    assert layout.record_length == len(data) == 8
    plain = DecodeOptions()
    assert decode_to_dict(layout, data, options=plain) == {
        "HEAD": "AB",
        "SHORT": "123",
        "AFTER": "Z",
    }
    chosen = DecodeOptions(redefines={"R.SHORT": "R.LONG"})
    assert decode_to_dict(layout, data, options=chosen) == {
        "HEAD": "AB",
        "LONG": {"L1": 123, "L2": 123},
        "AFTER": "Z",
    }
    for options in (plain, chosen):
        native = NativeDecoder(layout, options)
        assert native.decode_to_dict(data) == decode_to_dict(layout, data, options=options)
