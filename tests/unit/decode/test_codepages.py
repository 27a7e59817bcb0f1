"""Code page tables: generated from the codecs, complete, invertible, and cached."""

from __future__ import annotations

import codecs

import pytest

from bridge.codepages import (
    CODEPAGES,
    UnknownCodepageError,
    decode_table,
    encode_table,
    is_ebcdic,
    space_byte,
)
from bridge.copybook.compiler import compile_text
from bridge.decode.encoder import encode_record
from bridge.decode.native import NativeDecoder
from bridge.decode.reference import decode_to_dict
from bridge.decode.verdict import DecodeOptions
from bridge.errors import BridgeError


@pytest.mark.parametrize("name", CODEPAGES)
def test_every_table_has_256_entries_and_inverts(name: str) -> None:
    table = decode_table(name)
    assert len(table) == 256
    inverse = encode_table(name)
    for char, byte in inverse.items():
        assert table[byte] == char
    assert {c for c in table if c is not None} == set(inverse)


@pytest.mark.parametrize("name", [n for n in CODEPAGES if is_ebcdic(n)])
def test_ebcdic_digits_letters_and_space(name: str) -> None:
    table = decode_table(name)
    assert [table[0xF0 + d] for d in range(10)] == list("0123456789")
    assert table[0xC1] == "A" and table[0x81] == "a" and table[0xE9] == "Z"
    assert space_byte(name) == 0x40
    assert table[0x4E] == "+" and table[0x60] == "-"


def test_well_known_differences() -> None:
    # The brackets are where cp037 and cp1047 differ.
    assert decode_table("cp037")[0xBA] == "[" and decode_table("cp1047")[0xAD] == "["
    assert decode_table("cp1140")[0x9F] == "\u20ac"  # the euro variants
    assert decode_table("cp037")[0x9F] == "\u00a4"
    assert decode_table("cp273")[0x4A] == "\u00c4"  # German: Ä


def test_ascii_and_latin1() -> None:
    assert decode_table("ascii")[0x41] == "A"
    assert decode_table("ascii")[0x80] is None
    assert decode_table("latin-1")[0xE9] == "\u00e9"
    assert space_byte("ascii") == 0x20
    assert not is_ebcdic("latin1")


def test_cp875_placeholders_are_unmappable() -> None:
    table = decode_table("cp875")
    assert table[0xDC] is None
    assert table[0x3F] == "\x1a"  # EBCDIC SUB is a real character


def test_names_are_normalised_and_cached() -> None:
    assert decode_table("CP037") is decode_table("cp037")


def test_unknown_code_page_lists_supported_names() -> None:
    with pytest.raises(UnknownCodepageError) as info:
        decode_table("cp9999")
    assert isinstance(info.value, BridgeError)
    assert "cp9999" in str(info.value) and "cp1047" in str(info.value)


# Every difference between a Python codec and IBM's CCSID table (ICU's ibm-NNN converters, as
# scripts/codepage_audit.py found them; docs/codepages.md). IBM wins, in every decoder.
NL_IS_X15 = [
    "cp277",
    "cp278",
    "cp280",
    "cp284",
    "cp285",
    "cp297",
    "cp871",
    "cp1025",
    "cp1141",
    "cp1142",
    "cp1143",
    "cp1144",
    "cp1145",
    "cp1146",
    "cp1147",
    "cp1148",
    "cp1149",
]
IBM_DIFFERENCES = [
    ("cp273", 0xBC, "\u00af", "\u203e"),  # MACRON; the codec has OVERLINE and no U+00AF at all
    ("cp1047", 0x15, "\x85", "\n"),  # NL; the codec swaps NL and LF (z/OS UNIX's variant)
    ("cp1047", 0x25, "\n", "\x85"),
    *[(name, 0x15, "\x85", "\n") for name in NL_IS_X15],  # NL; the codec has LF twice
]


@pytest.mark.parametrize(("name", "byte", "ibm", "codec"), IBM_DIFFERENCES)
def test_ibm_mapping_wins_over_the_codec(name: str, byte: int, ibm: str, codec: str) -> None:
    assert codecs.decode(bytes([byte]), name) == codec  # the codec still differs ...
    assert decode_table(name)[byte] == ibm  # ... and bridge reads IBM's character
    assert encode_table(name)[ibm] == byte
    assert encode_table(name)["\n"] == 0x25  # LF is X'25' in every EBCDIC table
    # Both decoders and the encoder share the table.
    (layout,) = compile_text("01 R.\n 05 T PIC X(3).", free_format=True)
    options = DecodeOptions(codepage=name, trim="none")
    record = bytes([0xC1, byte, 0xC2])
    want = {"T": f"{decode_table(name)[0xC1]}{ibm}{decode_table(name)[0xC2]}"}
    assert decode_to_dict(layout, record, options=options) == want
    assert NativeDecoder(layout, options).decode_to_dict(record) == want
    assert encode_record(layout, want, codepage=name) == record


def test_cp273_has_a_macron_and_is_a_latin1_permutation() -> None:
    table = decode_table("cp273")
    assert "\u00af" in table and "\u203e" not in table
    assert sorted(c for c in table if c is not None) == [chr(i) for i in range(256)]
