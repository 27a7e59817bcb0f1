"""How a file writes zoned (DISPLAY numeric) items: its digit bytes and its signs.

A zoned item is text, so its bytes depend on how the file was produced:

- EBCDIC (every EBCDIC code page): digits X'F0'-X'F9'; an overpunched sign is the zone nibble
  of the sign byte, C (+) or D (-), F meaning unsigned-positive; SIGN SEPARATE is ``+`` X'4E'
  or ``-`` X'60'. The zone is a property of the byte, not of a character, so it holds whatever
  the code page.
- ASCII (``ascii``, ``latin-1``: a file converted from EBCDIC as text, or written by a COBOL
  compiler on an ASCII machine): digits ``0``-``9``; an overpunched sign is the character the
  EBCDIC byte became in the conversion, ``{`` and ``A``-``I`` for +0..+9, ``}`` and ``J``-``R``
  for -0..-9, or, as Micro Focus and GnuCOBOL write negatives, ``p``-``y`` for -0..-9; SIGN
  SEPARATE is ``+`` X'2B' or ``-`` X'2D'. The two sets of negative signs share no byte, so
  accepting both guesses nothing.

The native plan's sign table, the reference decoder and the encoder all come from here, so they
cannot disagree on a byte.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from bridge.codepages import is_ebcdic

__all__ = ["ZonedBytes", "zoned_bytes"]


@dataclass(frozen=True)
class ZonedBytes:
    """One convention for zoned items."""

    ebcdic: bool
    digit0: int  # the byte of digit 0; 1-9 follow it
    plus: int  # SIGN SEPARATE
    minus: int
    positive: bytes  # the overpunched sign byte the encoder writes for +0..+9
    negative: bytes  # and for -0..-9
    signs: Mapping[int, tuple[bool, int]]  # every overpunched sign byte read: (negative, digit)

    def digit(self, byte: int) -> int | None:
        """The digit a plain digit byte stands for, or None."""
        d = byte - self.digit0
        return d if 0 <= d <= 9 else None

    def not_digit(self, byte: int, i: int, sign_position: bool) -> str:
        """Why ``byte`` (index ``i``) is a bad zone, the same words from both decoders."""
        if not self.ebcdic:
            if sign_position:
                return f"byte {i} X'{byte:02X}' is neither a digit nor an overpunched sign"
            return f"byte {i} X'{byte:02X}' is not a digit"
        if byte & 15 > 9:
            return f"byte {i} X'{byte:02X}' is not a digit"
        if sign_position:
            return f"byte {i} X'{byte:02X}' has zone {byte >> 4:X}"
        return f"byte {i} X'{byte:02X}' has zone {byte >> 4:X}, not F"


def _ebcdic() -> ZonedBytes:
    signs = {0xC0 | d: (False, d) for d in range(10)} | {0xD0 | d: (True, d) for d in range(10)}
    return ZonedBytes(
        ebcdic=True,
        digit0=0xF0,
        plus=0x4E,
        minus=0x60,
        positive=bytes(0xC0 | d for d in range(10)),
        negative=bytes(0xD0 | d for d in range(10)),
        signs=signs,
    )


def _ascii() -> ZonedBytes:
    positive = b"{ABCDEFGHI"
    negative = b"}JKLMNOPQR"
    micro_focus = b"pqrstuvwxy"
    signs = (
        {b: (False, d) for d, b in enumerate(positive)}
        | {b: (True, d) for d, b in enumerate(negative)}
        | {b: (True, d) for d, b in enumerate(micro_focus)}
    )
    return ZonedBytes(
        ebcdic=False,
        digit0=0x30,
        plus=0x2B,
        minus=0x2D,
        positive=positive,
        negative=negative,
        signs=signs,
    )


@functools.cache
def zoned_bytes(codepage: str) -> ZonedBytes:
    """The zoned convention of files in ``codepage``."""
    return _ebcdic() if is_ebcdic(codepage) else _ascii()
