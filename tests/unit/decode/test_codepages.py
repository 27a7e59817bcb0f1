"""Code page tables: generated from the codecs, complete, invertible, and cached."""

from __future__ import annotations

import pytest

from bridge.codepages import (
    CODEPAGES,
    UnknownCodepageError,
    decode_table,
    encode_table,
    is_ebcdic,
    space_byte,
)
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
