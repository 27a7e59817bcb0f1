"""The only importer of the compiled C core.

Everything that crosses into C goes through here: buffers are passed with ``ffi.from_buffer``
(zero copy) and status codes become exceptions in one place, ``ensure``.
"""

from __future__ import annotations

from typing import Any

from bridge._bridge_native import ffi, lib
from bridge.errors import NativeError

# The header's integer constants, typed (lib's attributes are Any to mypy).
E_PLAN: int = lib.BRIDGE_E_PLAN
FULL: int = lib.BRIDGE_FULL
OP_OPEN_OBJ: int = lib.BRIDGE_OP_OPEN_OBJ
OP_CLOSE_OBJ: int = lib.BRIDGE_OP_CLOSE_OBJ
OP_OPEN_ARR: int = lib.BRIDGE_OP_OPEN_ARR
OP_CLOSE_ARR: int = lib.BRIDGE_OP_CLOSE_ARR
OP_TEXT: int = lib.BRIDGE_OP_TEXT
OP_NATIONAL: int = lib.BRIDGE_OP_NATIONAL
OP_ZONED: int = lib.BRIDGE_OP_ZONED
OP_PACKED: int = lib.BRIDGE_OP_PACKED
OP_BINARY: int = lib.BRIDGE_OP_BINARY
OP_FLOAT: int = lib.BRIDGE_OP_FLOAT
OP_EDITED: int = lib.BRIDGE_OP_EDITED
OP_FAIL: int = lib.BRIDGE_OP_FAIL
F_SIGNED: int = lib.BRIDGE_F_SIGNED
F_SIGN_LEADING: int = lib.BRIDGE_F_SIGN_LEADING
F_SIGN_SEPARATE: int = lib.BRIDGE_F_SIGN_SEPARATE
F_HIDDEN: int = lib.BRIDGE_F_HIDDEN
F_QUOTED: int = lib.BRIDGE_F_QUOTED
F_TRUNC_STD: int = lib.BRIDGE_F_TRUNC_STD
F_IEEE: int = lib.BRIDGE_F_IEEE
F_COUNT: int = lib.BRIDGE_F_COUNT
F_BLANK_CHECK: int = lib.BRIDGE_F_BLANK_CHECK
F_LOW_NULL: int = lib.BRIDGE_F_LOW_NULL
TRIM_NONE: int = lib.BRIDGE_TRIM_NONE
TRIM_RIGHT: int = lib.BRIDGE_TRIM_RIGHT
TRIM_BOTH: int = lib.BRIDGE_TRIM_BOTH
R_BAD_PACKED_DIGIT: int = lib.BRIDGE_R_BAD_PACKED_DIGIT
R_BAD_PACKED_SIGN: int = lib.BRIDGE_R_BAD_PACKED_SIGN
R_BAD_ZONE: int = lib.BRIDGE_R_BAD_ZONE
R_BAD_SIGN: int = lib.BRIDGE_R_BAD_SIGN
R_BLANK_NUMERIC: int = lib.BRIDGE_R_BLANK_NUMERIC
R_BINARY_OUT_OF_RANGE: int = lib.BRIDGE_R_BINARY_OUT_OF_RANGE
R_BAD_FLOAT: int = lib.BRIDGE_R_BAD_FLOAT
R_BAD_EDITED: int = lib.BRIDGE_R_BAD_EDITED
R_UNMAPPABLE: int = lib.BRIDGE_R_UNMAPPABLE
R_NO_CODEC: int = lib.BRIDGE_R_NO_CODEC
R_ODO_OUT_OF_RANGE: int = lib.BRIDGE_R_ODO_OUT_OF_RANGE
R_RECORD_TOO_SHORT: int = lib.BRIDGE_R_RECORD_TOO_SHORT
ED_BAD: int = lib.BRIDGE_ED_BAD
ED_BLANK_ZERO: int = lib.BRIDGE_ED_BLANK_ZERO
ED_9: int = lib.BRIDGE_ED_9
ED_Z: int = lib.BRIDGE_ED_Z
ED_STAR: int = lib.BRIDGE_ED_STAR
ED_POINT: int = lib.BRIDGE_ED_POINT
ED_PLUS: int = lib.BRIDGE_ED_PLUS
ED_MINUS: int = lib.BRIDGE_ED_MINUS
ED_CURRENCY: int = lib.BRIDGE_ED_CURRENCY
ED_CR: int = lib.BRIDGE_ED_CR
ED_DB: int = lib.BRIDGE_ED_DB
ED_COMMA: int = lib.BRIDGE_ED_COMMA
ED_B: int = lib.BRIDGE_ED_B
ED_ZERO: int = lib.BRIDGE_ED_ZERO
ED_SLASH: int = lib.BRIDGE_ED_SLASH
MAX_TABLE_DEPTH: int = lib.BRIDGE_MAX_TABLE_DEPTH
MAX_OBJ_DEPTH: int = lib.BRIDGE_MAX_OBJ_DEPTH
MAX_SLOTS: int = lib.BRIDGE_MAX_SLOTS
MAX_NUM_LEN: int = lib.BRIDGE_MAX_NUM_LEN
MAX_SCALE: int = lib.BRIDGE_MAX_SCALE
FRAME_RDW: int = lib.BRIDGE_FRAME_RDW
FRAME_RDW_LE: int = lib.BRIDGE_FRAME_RDW_LE
FRAME_VB: int = lib.BRIDGE_FRAME_VB
FRAME_RDW_LE_HIGH: int = lib.BRIDGE_FRAME_RDW_LE_HIGH
FRAME_DONE: int = lib.BRIDGE_FRAME_DONE
FRAME_CAP: int = lib.BRIDGE_FRAME_CAP
FRAME_PARTIAL: int = lib.BRIDGE_FRAME_PARTIAL
FRAME_BROKEN: int = lib.BRIDGE_FRAME_BROKEN

__all__ = ["ensure", "ffi", "lib", "translate"]  # and the BRIDGE_* constants below


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
