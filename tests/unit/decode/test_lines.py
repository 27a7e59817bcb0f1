"""Lines framing (LINE SEQUENTIAL text): the reference framing against a straightforward
splitter."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.decode.framing import FramingError, frame

from .layouts import alnum, record


def spans(data: bytes, **kw: Any) -> list[tuple[int, int, bytes]]:
    kw.setdefault("codepage", "latin-1")
    return [(s.offset, s.length, bytes(s.data(data))) for s in frame(data, "lines", **kw)]


def split_lines(data: bytes) -> list[tuple[int, bytes]]:
    """The obvious reading: split at LF, drop one CR before each LF, and a last empty piece
    only means the file ended with its terminator."""
    pieces = data.split(b"\n")
    out = []
    at = 0
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        if last and not piece:
            break
        out.append((at, piece[:-1] if not last and piece.endswith(b"\r") else piece))
        at += len(piece) + 1
    return out


# --- the reference framing -------------------------------------------------------------------


def test_lf_and_crlf_lines() -> None:
    assert spans(b"abc\ndefg\n", record_length=4) == [(0, 3, b"abc "), (4, 4, b"defg")]
    assert spans(b"abc\r\ndefg\r\n", record_length=4) == [(0, 3, b"abc "), (5, 4, b"defg")]
    # Mixed terminators (CardDemo's tcatbal.txt ends its last line with a bare LF).
    assert spans(b"ab\r\ncd\n", record_length=2) == [(0, 2, b"ab"), (4, 2, b"cd")]


def test_last_line_without_terminator_and_empty_file() -> None:
    assert spans(b"ab\ncd", record_length=2) == [(0, 2, b"ab"), (3, 2, b"cd")]
    assert spans(b"", record_length=2) == []
    assert spans(b"\n", record_length=2) == [(0, 0, b"  ")]  # one empty line, not two
    assert spans(b"ab\n\n", record_length=2) == [(0, 2, b"ab"), (3, 0, b"  ")]


def test_short_lines_are_padded_with_the_code_page_space() -> None:
    assert spans(b"a\n", record_length=3) == [(0, 1, b"a  ")]
    assert spans(b"\xc1\n", record_length=3, codepage="cp037") == [(0, 1, b"\xc1\x40\x40")]
    layout = record("R", alnum("A", 2), alnum("B", 3))
    assert spans(b"xy\n", layout=layout) == [(0, 2, b"xy   ")]


def test_a_cr_is_only_a_terminator_just_before_lf() -> None:
    assert spans(b"a\rb\n", record_length=3) == [(0, 3, b"a\rb")]
    assert spans(b"ab\r\r\n", record_length=3) == [(0, 3, b"ab\r")]
    assert spans(b"ab\r", record_length=3) == [(0, 3, b"ab\r")]  # no LF: the CR is data
    assert spans(b"\r\n", record_length=1) == [(0, 0, b" ")]


def test_a_long_line_is_refused_with_its_offset_and_line() -> None:
    data = b"abcd\r\nabcdefg\r\nab\n"
    with pytest.raises(FramingError) as caught:
        spans(data, record_length=4)
    assert caught.value.offset == 6
    assert "line 2 (record 1) has 7 bytes, more than the record length 4" in str(caught.value)
    good = []
    with pytest.raises(FramingError):
        for span in frame(data, "lines", record_length=4):
            good.append(span.number)
    assert good == [0]  # the records before the long line come out first


def test_a_long_last_line_and_bytes_that_are_not_text() -> None:
    with pytest.raises(FramingError, match=r"line 2 \(record 1\) has 4 bytes"):
        spans(b"ab\nabcd", record_length=3)
    with pytest.raises(FramingError, match="has 4 bytes") as caught:
        spans(b"ab\nabc\r\r\n", record_length=3)
    assert caught.value.offset == 3
    binary = bytes(range(11, 256)) * 400  # no LF at all: one line the size of the file
    with pytest.raises(FramingError, match=f"line 1 \\(record 0\\) has {len(binary)} bytes"):
        spans(binary, record_length=80)


def test_header_trailer_and_prefix() -> None:
    data = b"HDR\n" + b"01abc\n02a\n" + b"TRL\n"
    assert spans(data, record_length=3, skip_header=4, skip_trailer=4, record_prefix=2) == [
        (6, 3, b"abc"),
        (12, 1, b"a  "),
    ]
    with pytest.raises(FramingError, match="less than its 2-byte prefix"):
        spans(b"01abc\n0\n", record_length=3, record_prefix=2)
    with pytest.raises(FramingError, match="record length 3 and a 2-byte prefix"):
        spans(b"01abcd\n", record_length=3, record_prefix=2)


def test_lines_need_a_record_length() -> None:
    with pytest.raises(ValueError, match="record_length= or layout="):
        spans(b"ab\n")
    with pytest.raises(ValueError, match="positive"):
        spans(b"ab\n", record_length=0)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"a", b"b", b" ", b"\r", b"\n", b"\r\n"]), max_size=120).map(
        b"".join
    ),
    st.integers(1, 8),
)
def test_reference_framing_agrees_with_a_plain_split(data: bytes, width: int) -> None:
    want: list[tuple[int, int, bytes]] = []
    bad = None
    for at, line in split_lines(data):
        if len(line) > width:
            bad = at
            break
        want.append((at, len(line), line.ljust(width)))
    got: list[tuple[int, int, bytes]] = []
    try:
        for s in frame(data, "lines", record_length=width, codepage="latin-1"):
            got.append((s.offset, s.length, bytes(s.data(data))))
    except FramingError as exc:
        assert exc.offset == bad
    else:
        assert bad is None
    assert got == want
