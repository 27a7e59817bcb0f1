"""decode_file (C framing through a moving mmap window) against the reference framing and the
reference decoder: the same records, numbers, offsets, documents, verdicts, and the same
FramingError (offset and text) at the same point, for every framing, with windows and batches
small enough that records straddle window and batch boundaries."""

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
from bridge.decode.verdict import RecordResult
from tests.volume import volume

from ..descriptors import blocks, rdw
from .layouts import alnum, num, occurs, record

LAYOUT = record("R", alnum("A", 4), num("B", 3, signed=True), occurs(alnum("C", 2), 2))
WINDOW = 2 * 4096  # the smallest window decode_file takes (two mmap granules)


def _vbs(bodies: list[bytes], rng: random.Random) -> bytes:
    segments: list[bytes] = []
    for body in bodies:
        if len(body) < 4 or rng.random() < 0.6:
            segments.append(rdw(body))
            continue
        cut1 = rng.randint(1, len(body) - 2)
        cut2 = rng.randint(cut1, len(body) - 1)
        segments += [rdw(body[:cut1], code=1), rdw(body[cut1:cut2], code=3)]
        segments.append(rdw(body[cut2:], code=2))
    return blocks(segments, rng, most=6)


def build(framing: str, seed: int) -> tuple[bytes, dict[str, Any]]:
    """A file of a few hundred records (some damaged), and the frame() options for it."""
    rng = random.Random(seed)
    n = rng.randint(0, 700)
    bodies = [
        bytes(rng.choice(b"\x40\xc1\xf1\xf2\xd3\x00") for _ in range(rng.randint(0, 30)))
        for _ in range(n)
    ]
    kw: dict[str, Any] = {}
    if rng.random() < 0.3:
        kw["record_prefix"] = rng.randint(1, 3)
    if framing == "fixed":
        lrecl = rng.randint(1, 40)
        kw["record_length"] = lrecl
        step = lrecl + kw.get("record_prefix", 0)
        data = b"".join(b.ljust(step, b"\xf0")[:step] for b in bodies)
    elif framing in ("rdw", "rdw-le"):
        inclusive = rng.random() < 0.8
        kw["rdw_includes_header"] = inclusive
        data = b"".join(rdw(b, little=framing == "rdw-le", inclusive=inclusive) for b in bodies)
    elif framing == "vb":
        data = blocks([rdw(b) for b in bodies], rng, most=6)
    else:
        data = _vbs(bodies, rng)
    if rng.random() < 0.3:
        kw["skip_header"] = rng.randint(0, 5)
        kw["skip_trailer"] = rng.randint(0, 5)
        data = bytes(kw["skip_header"]) + data + bytes(kw["skip_trailer"])
    damage = bytearray(data)
    for _ in range(rng.choice([0, 0, 1, 2])):
        if damage:
            damage[rng.randrange(len(damage))] = rng.choice(
                [0, 1, 3, 0x80, 0xFF, rng.randrange(256)]
            )
    if rng.random() < 0.2 and damage:
        del damage[rng.randrange(len(damage)) :]
    return bytes(damage), kw


def reference(data: bytes, framing: str, kw: dict[str, Any]) -> tuple[list[RecordResult], Any]:
    results = []
    try:
        for span in frame(data, framing, layout=LAYOUT, **kw):
            decoded = decode_record(
                LAYOUT, bytes(span.data(data)), record_number=span.number, file_offset=span.offset
            )
            results.append(span.place(decoded))
    except FramingError as exc:
        return results, (exc.offset, str(exc))
    return results, None


def native(
    path: Path, framing: str, kw: dict[str, Any], batch: int, out: int
) -> tuple[list[RecordResult], Any]:
    decoder = NativeDecoder(LAYOUT, out_bytes=out, error_cap=2)
    results: list[RecordResult] = []
    try:
        for b in decoder.decode_file(path, framing, batch_records=batch, window_bytes=WINDOW, **kw):
            results += b.results()
    except FramingError as exc:
        return results, (exc.offset, str(exc))
    return results, None


@settings(
    max_examples=volume(150, least=10), deadline=None, suppress_health_check=list(HealthCheck)
)
@given(
    st.sampled_from(["fixed", "rdw", "rdw-le", "vb", "vbs"]),
    st.integers(0, 2**32),
    st.sampled_from([1, 7, 100, 4096]),
    st.sampled_from([1024, 1 << 16]),
)
def test_decode_file_agrees_with_reference_framing(
    tmp_path_factory: pytest.TempPathFactory, framing: str, seed: int, batch: int, out: int
) -> None:
    data, kw = build(framing, seed)
    path = tmp_path_factory.mktemp("f") / "data.bin"
    path.write_bytes(data)
    want = reference(data, framing, kw)
    got = native(path, framing, kw, batch, out)
    assert got[1] == want[1]
    assert got[0] == want[0]


def test_odo_framing_goes_through_the_reference(tmp_path: Path) -> None:
    layout = record("R", num("N", 1), occurs(alnum("E", 2), 3, low=0, on="R.N"))
    data = b"\xf2\xc1\xc1\xc2\xc2" + b"\xf0" + b"\xf1\xc3\xc3"
    path = tmp_path / "odo.bin"
    path.write_bytes(data)
    docs = [d for b in NativeDecoder(layout).decode_file(path, "odo") for d in b.documents()]
    assert docs == [b'{"N":2,"E":["AA","BB"]}', b'{"N":0,"E":[]}', b'{"N":1,"E":["CC"]}']


def test_a_big_fixed_file_in_many_windows(tmp_path: Path) -> None:
    rec = bytes.fromhex("c1c2c3c4f0f0c1c1c1c2c2")
    path = tmp_path / "big.bin"
    path.write_bytes(rec * 5000)
    seen = 0
    for b in NativeDecoder(LAYOUT).decode_file(path, window_bytes=WINDOW, batch_records=333):
        assert b.first_record == seen
        assert list(b.offsets) == [11 * (seen + i) for i in range(b.count)]
        assert set(b.documents()) == {b'{"A":"ABCD","B":1,"C":["AA","BB"]}'}
        seen += b.count
    assert seen == 5000


def test_rdw_frame_status_codes() -> None:
    f: Any = _native.ffi.new("bridge_frame *")
    offsets = _native.ffi.new("uint64_t[]", 4)
    lengths = _native.ffi.new("uint32_t[]", 4)
    data = rdw(b"abc") + rdw(b"") + b"\x00\x09\x00"
    buf = _native.ffi.from_buffer(data)
    f.data, f.end, f.start, f.kind, f.inclusive = buf, len(data), 0, _native.FRAME_RDW, 1
    f.offsets, f.lengths, f.cap = offsets, lengths, 4
    assert _native.lib.bridge_frame_records(f) == 0
    assert (f.n, f.next, f.status) == (2, 11, _native.FRAME_PARTIAL)
    assert (offsets[0], lengths[0], offsets[1], lengths[1]) == (4, 3, 11, 0)
    f.kind = 7
    assert _native.lib.bridge_frame_records(f) == _native.lib.BRIDGE_E_ARG


def _length_last(seed: int) -> tuple[bytes, dict[str, Any]]:
    """The same kind of file with every RDW as some PC transfer tools write rdw-le: two zero
    bytes, then the little-endian length."""
    rng = random.Random(seed)
    n = rng.randint(1, 300)
    inclusive = rng.random() < 0.8
    data = bytearray()
    for _ in range(n):
        body = bytes(rng.choice(b"\x40\xc1\xf1\x00") for _ in range(rng.randint(0, 30)))
        data += b"\0\0" + (len(body) + 4 * inclusive).to_bytes(2, "little") + body
    if rng.random() < 0.3 and data:
        data[rng.randrange(len(data))] = rng.choice([0, 1, 0xFF])
    return bytes(data), {"rdw_includes_header": inclusive}


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32), st.sampled_from([1, 7, 4096]))
def test_rdw_le_with_the_length_in_bytes_2_3(
    tmp_path_factory: pytest.TempPathFactory, seed: int, batch: int
) -> None:
    data, kw = _length_last(seed)
    path = tmp_path_factory.mktemp("f") / "data.bin"
    path.write_bytes(data)
    want = reference(data, "rdw-le", kw)
    got = native(path, "rdw-le", kw, batch, 1 << 16)
    assert got == want


def test_rdw_le_variant_is_held_for_the_file(tmp_path: Path) -> None:
    one = b"\0\0\x08\0" + bytes.fromhex("c1c2c3c4")
    other = b"\x08\0\0\0" + bytes.fromhex("c1c2c3c4")  # the usual rdw-le, after the first
    path = tmp_path / "mixed.bin"
    path.write_bytes(one + one + other)
    want = reference(path.read_bytes(), "rdw-le", {})
    got = native(path, "rdw-le", {}, 100, 1 << 16)
    assert got == want
    assert [r.offset for r in got[0]] == [4, 12]
    assert got[1] == (
        16,
        "offset 16: record 2: RDW 08000000 has non-zero bytes 0-1, and the file's first "
        "RDW had its length in bytes 2-3",
    )
    # A file whose first RDW is the usual kind is read the usual way.
    path.write_bytes(other + other)
    assert [r.offset for r in native(path, "rdw-le", {}, 100, 1 << 16)[0]] == [4, 12]
