"""Compiler dialects: what a copybook may say, and how big its binary items are.

IBM Enterprise COBOL is the default and the reference everywhere else in the compiler. The other
dialects accept what GnuCOBOL and Micro Focus compile and other decoders read, and lay it out as
those compilers do (GnuCOBOL 3.x ``cobc/field.c``, ``compute_binary_size``, with the
``binary-size`` of ``config/default.conf`` and ``config/mf.conf``):

- up to 38 digits in DISPLAY and packed items (IBM: 31, ARITH(EXTEND)) and in binary items
  (IBM: 18);
- binary sizes: ``gnucobol`` is GnuCOBOL's default ``binary-size: 1-2-4-8`` (1-2 digits 1 byte,
  3-4 2, 5-9 4, 10-18 8, 19-38 16); ``microfocus`` is ``binary-size: 1--8``, the fewest bytes that
  hold every value of the PICTURE (PIC S9(5) COMP takes 3 bytes, PIC 9(7) COMP 3, PIC S9(7) 4);
- ``COMP-0``/``COMPUTATIONAL-0`` is binary (COMP), as other decoders (Cobrix) read it;
- an ``S`` before a numeric-edited PICTURE (``S9(5).99``) is accepted and takes no position; the
  editing symbols alone show a sign, as in any numeric-edited item;
- ``SIGN ... SEPARATE`` on a PICTURE without ``S`` is accepted with a warning and has no effect:
  GnuCOBOL adds the sign position only when the PICTURE has an ``S``.

Everything else (alignment of SYNCHRONIZED items, big-endian binary) stays IBM's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _ibm_binary(digits: int, signed: bool) -> int:
    return 2 if digits <= 4 else 4 if digits <= 9 else 8


def _gnucobol_binary(digits: int, signed: bool) -> int:
    for most, size in ((2, 1), (4, 2), (9, 4), (18, 8)):
        if digits <= most:
            return size
    return 16


def _fewest_bytes(digits: int, signed: bool) -> int:
    largest = 10**digits - 1
    n = 1
    while largest >= 1 << (8 * n - (1 if signed else 0)):
        n += 1
    return n


@dataclass(frozen=True)
class Dialect:
    name: str
    max_digits: int  # DISPLAY and packed
    max_binary_digits: int
    binary_size: Callable[[int, bool], int]  # (digits, signed) -> bytes
    lenient: bool  # COMP-0, S before numeric editing, SIGN SEPARATE without S


IBM = Dialect("ibm", 31, 18, _ibm_binary, False)
DIALECTS: dict[str, Dialect] = {
    "ibm": IBM,
    "gnucobol": Dialect("gnucobol", 38, 38, _gnucobol_binary, True),
    "microfocus": Dialect("microfocus", 38, 38, _fewest_bytes, True),
}
