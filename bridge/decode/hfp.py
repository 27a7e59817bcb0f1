"""IBM System/360 hexadecimal floating point (COMP-1, COMP-2), to and from Python floats.

Layout: a sign bit, a 7-bit exponent of 16 in excess-64, then a fraction of 24 (short) or 56
(long) bits with the radix point before it: value = (-1)**sign * 0.fraction * 16**(exp - 64).

Decoding rounds once, to nearest even, when the long fraction has more than the 53 significant
bits a double holds (the int -> float conversion); the power-of-two scaling after it is exact
because every HFP exponent is well inside the double range. The native decoder does the same
((double)fraction then ldexp), so both give the same double.
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["HFP_MAX", "from_hfp", "to_hfp"]

# The largest double that HFP holds (0.FFFFFFFFFFFFFF * 16**63 itself rounds up to 16**63).
HFP_MAX = math.ldexp((1 << 53) - 1, 4 * 63 - 53)


def from_hfp(raw: bytes) -> float:
    """The value of a 4- or 8-byte HFP number (any bit pattern has one)."""
    if len(raw) not in (4, 8):
        raise ValueError(f"an HFP number has 4 or 8 bytes, not {len(raw)}")
    bits = len(raw) * 8
    word = int.from_bytes(raw, "big")
    negative = word >> (bits - 1)
    exponent = (word >> (bits - 8)) & 0x7F
    fraction = word & ((1 << (bits - 8)) - 1)
    if fraction == 0:
        return 0.0  # also "negative zero": the contract writes zero without a sign
    value = math.ldexp(float(fraction), 4 * (exponent - 64) - (bits - 8))
    return -value if negative else value


def to_hfp(value: float, size: int) -> bytes:
    """The normalised HFP encoding of ``value`` in ``size`` (4 or 8) bytes, rounded to nearest.

    Raises ValueError for NaN, infinity and magnitudes beyond the HFP range; magnitudes below
    the smallest normalised value become zero.
    """
    if size not in (4, 8):
        raise ValueError(f"an HFP number has 4 or 8 bytes, not {size}")
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{value} has no HFP representation")
    if value == 0:
        return bytes(size)
    fraction_bits = size * 8 - 8
    magnitude = Fraction(abs(value))
    _, binary_exponent = math.frexp(abs(value))
    exponent = -(-binary_exponent // 4)  # 16**(exponent-1) <= |value| < 16**exponent
    fraction: int = round(magnitude * 2**fraction_bits / Fraction(16) ** exponent)
    if fraction >> fraction_bits:  # rounding carried into a new hex digit
        fraction >>= 4
        exponent += 1
    biased = exponent + 64
    if biased > 127:
        raise ValueError(f"{value} is beyond the HFP range")
    if biased < 0:
        return bytes(size)
    word = ((1 if value < 0 else 0) << (size * 8 - 1)) | (biased << fraction_bits) | fraction
    return word.to_bytes(size, "big")
