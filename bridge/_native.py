"""The only importer of the compiled C core.

Everything that crosses into C goes through here: buffers are passed with ``ffi.from_buffer``
(zero copy) and status codes become exceptions in one place, ``ensure``.
"""

from __future__ import annotations

from typing import Any

from bridge._bridge_native import ffi, lib
from bridge.errors import NativeError

__all__ = ["ensure", "ffi", "lib", "translate"]


def ensure(status: int, what: str) -> None:
    """Turn a C status code into an exception (0 is success)."""
    if status != lib.BRIDGE_OK:
        raise NativeError(f"{what} failed in the C core with status {status}", status)


def translate(data: bytes | bytearray | memoryview, table: bytes) -> bytes:
    """Map every byte of ``data`` through a 256-byte ``table`` in C, like ``bytes.translate``."""
    if len(table) != 256:
        raise ValueError(f"a translation table has 256 entries, not {len(table)}")
    n = len(data)
    out = bytearray(n)
    src: Any = ffi.from_buffer(data)
    ensure(lib.bridge_translate(src, n, table, ffi.from_buffer(out)), "translate")
    return bytes(out)
