"""What both C plan compilers (check_plan.py, event_plan.py) write: the date/time format and
trim codes of native/bridge_core.h, exact scaled integers, and the code page as C reads it."""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation
from typing import Any

from bridge._bridge_native import lib
from bridge.codepages import decode_table

FORMATS = {
    "YYYYMMDD": lib.BRIDGE_FMT_YYYYMMDD,
    "YYMMDD": lib.BRIDGE_FMT_YYMMDD,
    "YYDDD": lib.BRIDGE_FMT_YYDDD,
    "YYYYDDD": lib.BRIDGE_FMT_YYYYDDD,
    "CYYMMDD": lib.BRIDGE_FMT_CYYMMDD,
    "YYYY-MM-DD": lib.BRIDGE_FMT_ISO_DATE,
    "YYYYMMDDHHMMSS": lib.BRIDGE_FMT_TS14,
    "YYYY-MM-DD HH:MM:SS": lib.BRIDGE_FMT_TS_SPACE,
    "YYYY-MM-DD HH:MM:SS.ffffff": lib.BRIDGE_FMT_TS_SPACE_F,
    "YYYY-MM-DD-HH.MM.SS.ffffff": lib.BRIDGE_FMT_TS_DB2,
}
TRIMS = {
    "none": lib.BRIDGE_TRIM_NONE,
    "right": lib.BRIDGE_TRIM_RIGHT,
    "both": lib.BRIDGE_TRIM_BOTH,
}
INT64 = (-(2**63), 2**63 - 1)
_EXACT = Context(prec=200)


def scaled(value: Any, scale: int, rounding: str | None = None) -> int | None:
    """``value * 10**scale`` as an integer: exact (None when not integral), or rounded; None
    for a value that is no finite number."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(value).scaleb(scale, _EXACT)
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not number.is_finite():
        return None
    if rounding is None:
        return int(number) if number == number.to_integral_value() else None
    return int(number.to_integral_value(rounding=rounding))


def char_table(codepage: str) -> bytes:
    """256 ASCII bytes (0: a character that is not ASCII), then 256 flag bytes: 1 white space,
    2 the space, 4 LF."""
    table = decode_table(codepage)
    ascii_ = bytes(ord(c) if c is not None and ord(c) < 128 else 0 for c in table)
    flags = bytes(
        (c is not None and c.isspace()) | (c == " ") << 1 | (c == "\n") << 2 for c in table
    )
    return ascii_ + flags
