"""Reference framing: every framing, corrupt descriptors, partial records, text-mode hints."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.decode.framing import FramingError, RecordSpan, frame

from .layouts import alnum, num, occurs, record


def spans(buf: bytes, framing: str, **kw: object) -> list[tuple[int, int, int]]:
    return [(s.number, s.offset, s.length) for s in frame(buf, framing, **kw)]  # type: ignore[arg-type]


def datas(buf: bytes, framing: str, **kw: object) -> list[bytes]:
    return [bytes(s.data(buf)) for s in frame(buf, framing, **kw)]  # type: ignore[arg-type]


def rdw(data: bytes, code: int = 0) -> bytes:
    return (len(data) + 4).to_bytes(2, "big") + bytes([code, 0]) + data


def bdw(*records: bytes, extended: bool = False) -> bytes:
    body = b"".join(records)
    if extended:
        return ((len(body) + 4) | 0x80000000).to_bytes(4, "big") + body
    return (len(body) + 4).to_bytes(2, "big") + b"\0\0" + body


# --- fixed -----------------------------------------------------------------------------------


def test_fixed() -> None:
    assert spans(b"AAABBBCCC", "fixed", record_length=3) == [(0, 0, 3), (1, 3, 3), (2, 6, 3)]
    assert spans(b"", "fixed", record_length=3) == []
    layout = record("R", alnum("A", 2))
    assert spans(b"AABB", "fixed", layout=layout) == [(0, 0, 2), (1, 2, 2)]


def test_fixed_header_trailer_and_prefix() -> None:
    buf = b"HDR" + b"pAAA" + b"pBBB" + b"TR"
    assert spans(buf, "fixed", record_length=3, skip_header=3, skip_trailer=2, record_prefix=1) == [
        (0, 4, 3),
        (1, 8, 3),
    ]
    assert datas(buf, "fixed", record_length=3, skip_header=3, skip_trailer=2, record_prefix=1) == [
        b"AAA",
        b"BBB",
    ]


def test_fixed_partial_record_names_its_offset() -> None:
    with pytest.raises(FramingError) as info:
        list(frame(bytes(10), "fixed", record_length=4))
    assert info.value.offset == 8
    assert "record 2" in str(info.value) and "2 bytes" in str(info.value)
    assert info.value.hint is None


def test_fixed_text_mode_hints() -> None:
    lines = b"".join("0000012345ABC".encode("ascii") + b"\r\n" for _ in range(5))
    with pytest.raises(FramingError) as info:
        list(frame(lines, "fixed", record_length=13))
    hint = info.value.hint or ""
    assert "CR LF" in hint and "ASCII X'30'-X'39'" in hint and "text" in hint
    ebcdic_lf = b"".join("0000012345ABC".encode("cp037") + b"\n" for _ in range(5))
    with pytest.raises(FramingError) as info:
        list(frame(ebcdic_lf, "fixed", record_length=13))
    assert "LF" in (info.value.hint or "") and "X'30'" not in (info.value.hint or "")


# --- RDW -------------------------------------------------------------------------------------


def test_rdw() -> None:
    buf = rdw(b"ABC") + rdw(b"") + rdw(b"DEFGH")
    assert spans(buf, "rdw") == [(0, 4, 3), (1, 11, 0), (2, 15, 5)]
    assert datas(buf, "rdw") == [b"ABC", b"", b"DEFGH"]


def test_rdw_little_endian_and_exclusive_lengths() -> None:
    buf = b"\x07\x00\x00\x00ABC" + b"\x05\x00\x00\x00D"
    assert datas(buf, "rdw-le") == [b"ABC", b"D"]
    buf = b"\x00\x03\x00\x00ABC" + b"\x00\x01\x00\x00D"
    assert datas(buf, "rdw", rdw_includes_header=False) == [b"ABC", b"D"]


def test_rdw_with_prefix() -> None:
    assert spans(rdw(b"12ABC"), "rdw", record_prefix=2) == [(0, 6, 3)]
    with pytest.raises(FramingError):
        list(frame(rdw(b"1"), "rdw", record_prefix=2))


@pytest.mark.parametrize(
    ("buf", "offset", "words"),
    [
        (rdw(b"ABC") + b"\x00\x02\x00\x00", 7, "less than 4"),
        (rdw(b"ABC") + b"\x00\x09\x00\x00AB", 7, "9 bytes, the file has 6"),
        (rdw(b"ABC") + b"\x00\x05", 7, "inside its RDW"),
        (b"\x00\x05\x01\x00A", 0, "non-zero"),
        (b"ABCDEFGH", 0, "non-zero"),
    ],
)
def test_corrupt_rdw(buf: bytes, offset: int, words: str) -> None:
    with pytest.raises(FramingError) as info:
        list(frame(buf, "rdw"))
    assert info.value.offset == offset
    assert words in str(info.value)


# --- VB / VBS --------------------------------------------------------------------------------


def test_vb() -> None:
    buf = bdw(rdw(b"AB"), rdw(b"CDE")) + bdw(rdw(b"F"), extended=True)
    assert spans(buf, "vb") == [(0, 8, 2), (1, 14, 3), (2, 25, 1)]
    assert datas(buf, "vb") == [b"AB", b"CDE", b"F"]


@pytest.mark.parametrize(
    ("buf", "offset", "words"),
    [
        (bdw(rdw(b"AB")) + b"\x00\x02\x00\x00", 10, "less than 4"),
        (bdw(rdw(b"AB")) + b"\x00\x20\x00\x00" + rdw(b"X"), 10, "32 bytes"),
        (b"\x00\x0a\x00\x00" + b"\x00\x09\x00\x00AB", 4, "does not fit the block"),
        (b"\x00\x09\x01\x00" + rdw(b"A"), 0, "non-zero bytes 2-3"),
        (bdw(rdw(b"A", code=1)), 4, "bad bytes"),
        (bdw(b"\x00\x05\x00"), 4, "inside an RDW"),
    ],
)
def test_corrupt_vb(buf: bytes, offset: int, words: str) -> None:
    with pytest.raises(FramingError) as info:
        list(frame(buf, "vb"))
    assert info.value.offset == offset
    assert words in str(info.value)


def test_vbs_reassembles_spanned_records() -> None:
    buf = bdw(rdw(b"AB"), rdw(b"CD", code=1)) + bdw(
        rdw(b"EF", code=3), rdw(b"G", code=2), rdw(b"H")
    )
    result = list(frame(buf, "vbs"))
    assert [bytes(s.data(buf)) for s in result] == [b"AB", b"CDEFG", b"H"]
    spanned = result[1]
    assert spanned == RecordSpan(1, 14, 5, ((14, 2), (24, 2), (30, 1)))
    assert result[2].segments == ()


def test_vbs_prefix_crosses_segments() -> None:
    buf = bdw(rdw(b"P", code=1), rdw(b"QAB", code=2))
    (span,) = frame(buf, "vbs", record_prefix=2)
    assert bytes(span.data(buf)) == b"AB" and span.segments == ()


@pytest.mark.parametrize(
    ("buf", "words"),
    [
        (bdw(rdw(b"A", code=2)), "no first segment"),
        (bdw(rdw(b"A", code=3)), "no first segment"),
        (bdw(rdw(b"A", code=1), rdw(b"B", code=0)), "lacks its last segment"),
        (bdw(rdw(b"A", code=1)), "no last segment before the end"),
        (bdw(rdw(b"A", code=4)), "bad bytes"),
    ],
)
def test_broken_vbs_chains(buf: bytes, words: str) -> None:
    with pytest.raises(FramingError) as info:
        list(frame(buf, "vbs"))
    assert words in str(info.value)


# --- ODO-driven lengths ----------------------------------------------------------------------


def test_odo_lengths_come_from_the_counts() -> None:
    layout = record("R", num("N", 1), occurs(alnum("A", 2), 3, low=0, on="R.N"), alnum("Z", 1))
    buf = "1AAZ".encode("cp037") + "0Z".encode("cp037") + "3AABBCCZ".encode("cp037")
    assert spans(buf, "odo", layout=layout) == [(0, 0, 4), (1, 4, 2), (2, 6, 8)]


def test_odo_framing_errors() -> None:
    layout = record("R", num("N", 1), occurs(alnum("A", 2), 3, low=0, on="R.N"), alnum("Z", 1))
    with pytest.raises(FramingError) as info:
        list(frame("1AAZ9".encode("cp037"), "odo", layout=layout))
    assert info.value.offset == 4 and "odo-out-of-range" in str(info.value)
    with pytest.raises(FramingError) as info:
        list(frame("1AAZ2AAB".encode("cp037"), "odo", layout=layout))
    assert info.value.offset == 4


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        list(frame(b"", "ftp"))
    with pytest.raises(ValueError):
        list(frame(b"abc", "fixed"))
    with pytest.raises(FramingError):
        list(frame(b"abc", "fixed", record_length=1, skip_header=2, skip_trailer=2))


@given(st.lists(st.binary(max_size=40), max_size=10), st.integers(1, 60))
def test_rdw_and_vb_round_trip(records: list[bytes], per_block: int) -> None:
    buf = b"".join(rdw(r) for r in records)
    assert datas(buf, "rdw") == records
    blocks = [records[i : i + per_block] for i in range(0, len(records), per_block)]
    blocked = b"".join(bdw(*(rdw(r) for r in block)) for block in blocks)
    assert datas(blocked, "vb") == records
    assert datas(blocked, "vbs") == records


@given(st.binary(max_size=64), st.sampled_from(["rdw", "rdw-le", "vb", "vbs"]))
def test_garbage_only_raises_framing_errors(buf: bytes, framing: str) -> None:
    try:
        for span in frame(buf, framing):
            assert 0 <= span.offset <= len(buf) and span.offset + span.length <= len(buf)
    except FramingError as exc:
        assert 0 <= exc.offset <= len(buf)
