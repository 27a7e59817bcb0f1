"""Lines framing (LINE SEQUENTIAL text): the reference framing, the C framing through
decode_file (windows and batches small enough that lines straddle them), and both against a
straightforward splitter."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge import _native
from bridge.decode.framing import FramingError, frame
from bridge.decode.native import NativeDecoder
from bridge.decode.reference import decode_record
from bridge.decode.verdict import DecodeOptions, RecordResult
from tests.volume import volume

from .layouts import alnum, num, record

LAYOUT = record("R", alnum("A", 4), num("B", 3, signed=True))  # 7 bytes
ASCII = DecodeOptions(codepage="latin-1")
WINDOW = 2 * 4096  # the smallest window decode_file takes (two mmap granules)


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


@settings(max_examples=volume(300, least=10), deadline=None)
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


# --- the native framing ------------------------------------------------------------------------


def reference(data: bytes, kw: dict[str, Any]) -> tuple[list[RecordResult], Any]:
    results = []
    try:
        for span in frame(data, "lines", layout=LAYOUT, codepage="latin-1", **kw):
            record_bytes = bytes(span.data(data))
            res = decode_record(
                LAYOUT,
                record_bytes,
                options=ASCII,
                record_number=span.number,
                file_offset=span.offset,
            )
            results.append(
                RecordResult(res.record, res.offset, span.length, res.document, res.errors)
            )
    except FramingError as exc:
        return results, (exc.offset, str(exc))
    return results, None


def native(path: Path, kw: dict[str, Any], batch: int) -> tuple[list[RecordResult], Any]:
    decoder = NativeDecoder(LAYOUT, ASCII, out_bytes=1024, error_cap=2)
    results: list[RecordResult] = []
    try:
        for b in decoder.decode_file(path, "lines", batch_records=batch, window_bytes=WINDOW, **kw):
            results += b.results()
    except FramingError as exc:
        return results, (exc.offset, str(exc))
    return results, None


def test_native_lines(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_bytes(b"abcd12C\r\nxy\n\nab\rd123\nabcd12}")
    [batch] = NativeDecoder(LAYOUT, ASCII).decode_file(path, "lines")
    assert list(batch.offsets) == [0, 9, 12, 13, 21]
    assert list(batch.lengths) == [7, 2, 0, 7, 7]
    docs = batch.documents()
    assert docs[0] == b'{"A":"abcd","B":123}'
    assert docs[1] == b'{"A":"xy","B":null}'
    assert docs[3] == b'{"A":"ab\\rd","B":123}'
    assert docs[4] == b'{"A":"abcd","B":-120}'
    [blank] = batch.errors[1]
    assert (blank.reason.value, blank.offset, blank.raw) == ("blank-numeric", 13, b"   ")
    assert set(batch.errors) == {1, 2}


def test_native_empty_file_and_trailing_terminator(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_bytes(b"")
    assert list(NativeDecoder(LAYOUT, ASCII).decode_file(path, "lines")) == []
    path.write_bytes(b"abcd123\n")
    assert [b.count for b in NativeDecoder(LAYOUT, ASCII).decode_file(path, "lines")] == [1]


def test_native_long_line_after_the_good_ones(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_bytes(b"abcd123\n" * 3 + b"abcd1234\n" + b"abcd123\n")
    decoder = NativeDecoder(LAYOUT, ASCII)
    seen = 0
    with pytest.raises(FramingError) as caught:
        for b in decoder.decode_file(path, "lines", batch_records=2):
            seen += b.count
    assert seen == 3
    assert caught.value.offset == 24
    assert "line 4 (record 3) has 8 bytes, more than the record length 7" in str(caught.value)


@pytest.mark.parametrize("batch", [1, 3, 333, 8192])
@pytest.mark.parametrize("shape", ["full", "short", "mixed", "crlf", "prefix"])
def test_native_across_windows_and_batches(tmp_path: Path, batch: int, shape: str) -> None:
    """Thousands of lines through 8 KiB windows: lines straddle windows, batches mix full and
    padded lines, and both agree with the reference record for record."""
    rng = random.Random(f"{shape}{batch}")
    kw: dict[str, Any] = {}
    lines = []
    for _ in range(6000):
        n = (
            7
            if shape in ("full", "crlf")
            else rng.choice([0, 3, 7] if shape == "mixed" else [0, 5])
        )
        body = bytes(rng.choice(b"abc \r123") for _ in range(n))
        lines.append(body + (b"\r\n" if shape == "crlf" or rng.random() < 0.3 else b"\n"))
    if shape == "prefix":
        kw = {"record_prefix": 2, "skip_header": 3, "skip_trailer": 4}
        lines = [b"HD\n"] + [b"%02d" % (i % 100) + line for i, line in enumerate(lines)]
        lines.append(b"END\n")
    data = b"".join(lines)
    path = tmp_path / "lines.txt"
    path.write_bytes(data)
    got = native(path, kw, batch)
    want = reference(data, kw)
    assert got[1] is None and want[1] is None
    assert len(got[0]) == 6000
    assert got == want


@settings(
    max_examples=volume(150, least=10), deadline=None, suppress_health_check=list(HealthCheck)
)
@given(
    st.lists(
        st.sampled_from([b"abcd123", b"ab", b"", b"a\rb12}", b"abcd1234", b"\r", b"\n", b"\r\n"]),
        max_size=60,
    ),
    st.sampled_from([1, 2, 7, 4096]),
    st.booleans(),
)
def test_native_agrees_with_a_plain_split(
    tmp_path_factory: pytest.TempPathFactory, parts: list[bytes], batch: int, big: bool
) -> None:
    data = b"".join(parts)
    if big:  # the same lines behind a window's worth of good ones
        data = b"abcd123\r\n" * 1000 + data
    path = tmp_path_factory.mktemp("l") / "lines.txt"
    path.write_bytes(data)
    got = native(path, {}, batch)
    expected = []
    problem = None
    for at, line in split_lines(data):
        if len(line) > LAYOUT.record_length:
            problem = at
            break
        expected.append((at, len(line)))
    assert [(r.offset, r.length) for r in got[0]] == expected
    assert (got[1] and got[1][0]) == problem
    assert got == reference(data, {})


def test_lines_frame_status_codes() -> None:
    ffi, lib = _native.ffi, _native.lib
    f: Any = ffi.new("bridge_frame *")
    offsets = ffi.new("uint64_t[]", 4)
    lengths = ffi.new("uint32_t[]", 4)
    pad = ffi.new("uint8_t[]", 4 * 3)
    padded = ffi.new("size_t *")
    data = b"abc\r\nab\nab"
    buf = ffi.from_buffer(data)

    def run(final: int, cap: int = 4, width: int = 3, pad_c: Any = pad) -> tuple[int, ...]:
        f.data, f.end, f.start, f.offsets, f.lengths, f.cap = (
            buf,
            len(data),
            0,
            offsets,
            lengths,
            cap,
        )
        assert lib.bridge_frame_lines(f, width, final, 0x20, pad_c, padded) == 0
        return (f.n, f.next, f.status, padded[0])

    assert run(0) == (2, 8, _native.FRAME_PARTIAL, 1)  # the unterminated line may go on
    assert [offsets[i] for i in range(2)] == [0, 5] and [lengths[i] for i in range(2)] == [3, 2]
    assert ffi.buffer(pad, 6)[:] == b"abcab "  # the full line copied once a short one came
    assert run(1) == (3, 10, _native.FRAME_DONE, 2)
    assert run(0, cap=1) == (1, 5, _native.FRAME_CAP, 0)
    assert run(1, width=2) == (0, 0, _native.FRAME_BROKEN, 0) and f.bad == 0
    assert run(1, pad_c=ffi.NULL) == (3, 10, _native.FRAME_DONE, 2)
    assert lib.bridge_frame_lines(f, 0, 1, 0x20, pad, padded) == lib.BRIDGE_E_ARG
    assert lib.bridge_frame_lines(f, 3, 1, 0x20, pad, ffi.NULL) == lib.BRIDGE_E_ARG
