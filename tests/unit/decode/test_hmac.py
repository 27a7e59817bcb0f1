"""The C HMAC-SHA256 (native/sha256.c) against RFC 4231's published vectors and, differentially,
against Python's hmac/hashlib: the decoder's keyed PII hashes must be the text pii_hash writes."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge import _native
from bridge.mapping.convert import pii_hash

ffi = _native.ffi
lib = _native.lib

# RFC 4231 section 4, test cases 1-7: (key, data, HMAC-SHA-256). Case 5's value is published
# truncated to 128 bits, so it is compared as a prefix.
RFC4231 = [
    (
        b"\x0b" * 20,
        b"Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        b"\xaa" * 20,
        b"\xdd" * 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ),
    (
        bytes(range(1, 26)),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    (
        b"\x0c" * 20,
        b"Test With Truncation",
        "a3b6167473100ee06e0c796c2955552b",
    ),
    (
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data."
        b" The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]

# Lengths around the block structure: 55 is the longest tail that still takes the length in
# its own block, 56-63 push the length into an extra block, 64/65 cross a block boundary.
EDGES = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 183, 184, 191, 192, 193]


def native_hmac(key: bytes, msg: bytes) -> str:
    out = ffi.new("char[65]")
    out[64] = b"!"  # a sentinel: the call writes exactly 64 bytes, no NUL
    status = lib.bridge_hmac_sha256_hex(
        ffi.from_buffer(key), len(key), ffi.from_buffer(msg), len(msg), out
    )
    assert status == lib.BRIDGE_OK
    assert out[64] == b"!"
    return bytes(ffi.buffer(out, 64)).decode("ascii")


def native_sha256(msg: bytes, chunk: int = 0) -> str:
    out = ffi.new("char[65]")
    out[64] = b"!"
    assert lib.bridge_sha256_hex(ffi.from_buffer(msg), len(msg), chunk, out) == lib.BRIDGE_OK
    assert out[64] == b"!"
    return bytes(ffi.buffer(out, 64)).decode("ascii")


def python_hmac(key: bytes, msg: bytes) -> str:
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def sized(lengths: list[int]) -> st.SearchStrategy[bytes]:
    return st.sampled_from(lengths).flatmap(lambda n: st.binary(min_size=n, max_size=n))


@pytest.mark.parametrize(("key", "msg", "expected"), RFC4231, ids=[f"case{i}" for i in range(1, 8)])
def test_rfc4231(key: bytes, msg: bytes, expected: str) -> None:
    assert native_hmac(key, msg).startswith(expected)
    # The vectors as typed here are the standard's: Python's hmac agrees with them too.
    assert python_hmac(key, msg).startswith(expected)


@given(
    key=st.one_of(st.binary(max_size=200), sized([63, 64, 65, 128])),
    msg=st.one_of(st.binary(max_size=300), sized([n for n in EDGES if n <= 300])),
)
def test_hmac_matches_python(key: bytes, msg: bytes) -> None:
    assert native_hmac(key, msg) == python_hmac(key, msg)


def test_every_length_up_to_a_few_blocks() -> None:
    # Exhaustive where the block arithmetic lives: each message length with a short key, each
    # key length (at and past the 64-byte block, where the key is hashed first) with a message.
    data = bytes((i * 131 + 7) & 0xFF for i in range(300))
    for n in range(301):
        assert native_hmac(b"k", data[:n]) == python_hmac(b"k", data[:n]), n
    for n in range(201):
        assert native_hmac(data[:n], b"msg") == python_hmac(data[:n], b"msg"), n


@given(text=st.text(max_size=80), key=st.binary(max_size=80))
def test_matches_pii_hash(text: str, key: bytes) -> None:
    assert native_hmac(key, text.encode("utf-8")) == pii_hash(key, text)


@given(msg=st.one_of(st.binary(max_size=300), sized(EDGES)), chunk=st.integers(0, 130))
def test_sha256_in_any_chunks(msg: bytes, chunk: int) -> None:
    assert native_sha256(msg, chunk) == hashlib.sha256(msg).hexdigest()


def test_sha256_known_values() -> None:
    # FIPS 180-4 examples: "abc" and the two-block message.
    assert native_sha256(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    two = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    assert native_sha256(two, 1) == (
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    )
    assert native_sha256(b"a" * 1_000_000, 4096) == hashlib.sha256(b"a" * 1_000_000).hexdigest()


def test_null_pointers() -> None:
    out = ffi.new("char[64]")
    # NULL with a length of 0 is an empty key or message, not misuse.
    assert lib.bridge_hmac_sha256_hex(ffi.NULL, 0, ffi.NULL, 0, out) == lib.BRIDGE_OK
    assert bytes(ffi.buffer(out)).decode() == python_hmac(b"", b"")
    assert lib.bridge_sha256_hex(ffi.NULL, 0, 0, out) == lib.BRIDGE_OK
    assert bytes(ffi.buffer(out)).decode() == hashlib.sha256(b"").hexdigest()
    buf = ffi.new("uint8_t[]", 4)
    assert lib.bridge_hmac_sha256_hex(ffi.NULL, 1, buf, 4, out) == lib.BRIDGE_E_ARG
    assert lib.bridge_hmac_sha256_hex(buf, 4, ffi.NULL, 1, out) == lib.BRIDGE_E_ARG
    assert lib.bridge_hmac_sha256_hex(buf, 4, buf, 4, ffi.NULL) == lib.BRIDGE_E_ARG
    assert lib.bridge_sha256_hex(ffi.NULL, 1, 0, out) == lib.BRIDGE_E_ARG
    assert lib.bridge_sha256_hex(buf, 4, 0, ffi.NULL) == lib.BRIDGE_E_ARG
