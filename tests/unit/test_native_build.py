"""The C core is built and callable: translate agrees with bytes.translate on any input."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge import _native
from bridge.errors import NativeError

CP037_TO_LATIN1 = bytes(range(256)).decode("cp037").encode("latin-1")


@given(data=st.binary(max_size=4096), table=st.binary(min_size=256, max_size=256))
def test_translate_matches_bytes_translate(data: bytes, table: bytes) -> None:
    assert _native.translate(data, table) == data.translate(table)


def test_translate_cp037_text() -> None:
    ebcdic = codecs.encode("ACCOUNT 00000000049 Zürich", "cp037")
    assert _native.translate(ebcdic, CP037_TO_LATIN1).decode("latin-1") == (
        "ACCOUNT 00000000049 Zürich"
    )


def test_translate_accepts_memoryview_without_copy() -> None:
    buf = bytearray(b"\xc1\xc2\xc3" * 1000)
    assert _native.translate(memoryview(buf)[3:6], CP037_TO_LATIN1) == b"ABC"


def test_translate_rejects_short_table() -> None:
    with pytest.raises(ValueError, match="256 entries"):
        _native.translate(b"abc", b"\x00" * 255)


def test_ensure_raises_native_error() -> None:
    with pytest.raises(NativeError) as info:
        _native.ensure(_native.lib.BRIDGE_E_ARG, "probe")
    assert info.value.status == _native.lib.BRIDGE_E_ARG
