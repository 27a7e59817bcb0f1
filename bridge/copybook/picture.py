"""PICTURE analysis: category, character positions, digits, scale and sign of a PICTURE string.

Follows the IBM Enterprise COBOL Language Reference ("Symbols used in the PICTURE clause"):
P scaling positions and V take no storage, S takes none unless SIGN IS SEPARATE, CR and DB take
two positions each, and with DECIMAL-POINT IS COMMA the roles of ``.`` and ``,`` are exchanged.
Floating-point editing (``E``) and currency signs other than ``$`` are not supported: they are
reported as errors, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.copybook.layout import Category

MAX_PICTURE_LENGTH = 50  # IBM: a PICTURE character-string has at most 50 characters
MAX_DIGITS = 31  # ARITH(EXTEND); binary items are limited to 18 where sizes are computed

_REPEATABLE = frozenset("AX9PNGBZ0/*+-$,.")
_SIMPLE = frozenset("AX9SVPNGBZ0/*+-$,.")


class PictureError(ValueError):
    """A PICTURE string is invalid; ``index`` is the 0-based offending character."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class Picture:
    text: str  # upper-cased, as written
    category: Category
    positions: int  # character positions (bytes for DISPLAY, chars for N and G), sign excluded
    digits: int | None = None
    scale: int | None = None
    signed: bool = False


# IBM Enterprise COBOL 6: an elementary item holds at most 134,217,727 bytes (999,999,999
# only under LP(64), not supported here); counted, never expanded one position at a time.
MAX_ITEM_POSITIONS = 134_217_727
# Numeric and edited pictures are checked symbol by symbol; the longest legal one (IBM allows
# 249 positions in a numeric-edited item) is far below this.
_EXPANDED_LIMIT = 4096


def _runs(text: str) -> list[tuple[str, int, int]]:
    """Symbols with their index in ``text`` and repetition: ``X(3)`` is one run of three X,
    CR/DB stay one symbol."""
    out: list[tuple[str, int, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith(("CR", "DB"), i):
            out.append((text[i : i + 2], i, 1))
            i += 2
            continue
        if ch == "(":
            close = text.find(")", i)
            count = text[i + 1 : close] if close > 0 else ""
            if not out or out[-1][0] not in _REPEATABLE:
                raise PictureError("a repetition count must follow a repeatable symbol", i)
            if close < 0 or not (count.isascii() and count.isdigit()) or int(count) == 0:
                raise PictureError("a repetition count must be a positive integer in (...)", i)
            if int(count) > MAX_ITEM_POSITIONS:
                raise PictureError(
                    f"repetition count {int(count):,} is larger than IBM COBOL allows in one "
                    f"item ({MAX_ITEM_POSITIONS:,})",
                    i + 1,
                )
            sym, at, n = out[-1]
            out[-1] = (sym, at, n + int(count) - 1)
            i = close + 1
            continue
        if ch not in _SIMPLE:
            if ch == "E":
                raise PictureError("floating-point editing (E) is not supported", i)
            raise PictureError(f"{ch!r} is not a PICTURE symbol", i)
        out.append((ch, i, 1))
        i += 1
    return out


def analyze(
    text: str,
    *,
    decimal_point_is_comma: bool = False,
    max_digits: int = MAX_DIGITS,
    edited_sign: bool = False,
) -> Picture:
    """``max_digits`` and ``edited_sign`` (an S before numeric editing) follow the dialect."""
    text = text.upper()
    if not text:
        raise PictureError("empty PICTURE string", 0)
    if len(text) > MAX_PICTURE_LENGTH:
        raise PictureError(f"PICTURE strings are limited to {MAX_PICTURE_LENGTH} characters", 50)
    runs = _runs(text)
    total = sum(n for _, _, n in runs)
    if total > MAX_ITEM_POSITIONS:
        raise PictureError(
            f"{total:,} character positions: IBM COBOL allows at most {MAX_ITEM_POSITIONS:,} "
            "in one item",
            0,
        )
    kinds = {s for s, _, _ in runs}
    point = "," if decimal_point_is_comma else "."

    if kinds <= {"N", "B", "0", "/"} and "N" in kinds:
        return Picture(text, Category.NATIONAL, total)
    if kinds <= {"G", "B"} and "G" in kinds:
        return Picture(text, Category.DBCS, total)
    if kinds <= {"A", "X", "9"} and kinds != {"9"}:
        category = Category.ALPHABETIC if kinds == {"A"} else Category.ALPHANUMERIC
        return Picture(text, category, total)
    if kinds <= {"A", "X", "9", "B", "0", "/"} and kinds & {"A", "X"}:
        return Picture(text, Category.ALPHANUMERIC_EDITED, total)
    numeric = kinds <= {"9", "S", "V", "P"}
    if total > _EXPANDED_LIMIT:
        what = f"more than {max_digits} digits" if numeric else "a numeric-edited PICTURE"
        raise PictureError(f"{what}: {total:,} positions", 0)
    symbols = [(s, i) for s, i, n in runs for _ in range(n)]
    if numeric:
        return _numeric(text, symbols, max_digits)
    if edited_sign and symbols[0][0] == "S":
        symbols = symbols[1:]  # Micro Focus, GnuCOBOL: no position, the editing shows the sign
    return _numeric_edited(text, symbols, point)


def _numeric(text: str, symbols: list[tuple[str, int]], max_digits: int) -> Picture:
    seq = [s for s, _ in symbols]
    for k, (s, i) in enumerate(symbols):
        if s == "S" and k != 0:
            raise PictureError("S must be the first symbol", i)
    if seq.count("V") > 1:
        raise PictureError(
            "only one V is allowed", symbols[[k for k, s in enumerate(seq) if s == "V"][1]][1]
        )
    body = [s for s in seq if s != "S"]
    digits = body.count("9")
    if digits == 0:
        raise PictureError("a numeric PICTURE needs at least one 9", 0)
    if digits > max_digits:
        raise PictureError(f"more than {max_digits} digits", 0)
    core = [s for s in body if s != "V"]
    first9, last9 = core.index("9"), len(core) - 1 - core[::-1].index("9")
    leading_p, trailing_p = first9, len(core) - 1 - last9
    if "P" in core[first9:last9]:
        raise PictureError("P must be at the left or right end of the digits", text.index("P"))
    if leading_p and trailing_p:
        raise PictureError(
            "P may be at the left or at the right of the digits, not both", text.index("P")
        )
    if "V" in body:
        v = body.index("V")
        before_v = body[:v]
        if leading_p and any(s in {"9", "P"} for s in before_v):
            # VPP99 and PP99 are fine; P9V9 or PPV99 are not.
            raise PictureError("with leading P, V may only precede the Ps", text.index("V"))
        if trailing_p and any(s in {"P", "9"} for s in body[v + 1 :]):
            raise PictureError("with trailing P, V may only follow the Ps", text.index("V"))
        after_v = body[v + 1 :]
    else:
        after_v = core if leading_p else []
    scale = -trailing_p if trailing_p else sum(1 for s in after_v if s in "9P")
    return Picture(text, Category.NUMERIC, digits, digits, scale, seq[0] == "S")


_SIGNS = ("+", "-")


def _numeric_edited(text: str, symbols: list[tuple[str, int]], point: str) -> Picture:
    seq = [s for s, _ in symbols]
    grouping = "." if point == "," else ","
    allowed = {"9", "Z", "*", "+", "-", "CR", "DB", "B", "0", "/", "$", "V", point, grouping}
    for s, i in symbols:
        if s not in allowed:
            raise PictureError(f"{s!r} cannot be used in a numeric-edited PICTURE", i)
    if "Z" in seq and "*" in seq:
        raise PictureError("Z and * cannot both be used", text.index("*"))
    if "+" in seq and "-" in seq:
        raise PictureError("+ and - cannot both be used", text.index("-"))
    if sum(seq.count(s) for s in (point, "V")) > 1:
        raise PictureError("only one decimal point is allowed", text.rfind(point))
    for s in ("CR", "DB"):
        if s in seq and seq.index(s) != len(seq) - 1:
            raise PictureError(f"{s} must be the last symbol", text.index(s))
    # A floating insertion string ($$$, +++, ---) holds one fewer digit than its length: its
    # leftmost symbol only ever holds the sign or currency. A single +, - or $ holds no digit.
    floating = {s for s in ("$", *_SIGNS) if seq.count(s) > 1}
    digit_symbols = {"9", "Z", "*"} | floating
    dp = seq.index(point) if point in seq else seq.index("V") if "V" in seq else len(seq)
    digits = sum(1 for s in seq if s in digit_symbols) - len(floating)
    scale = sum(1 for s in seq[dp + 1 :] if s in digit_symbols)
    if digits <= 0:
        raise PictureError("a numeric-edited PICTURE needs a digit position", 0)
    positions = sum(2 if s in ("CR", "DB") else 0 if s == "V" else 1 for s in seq)
    signed = any(s in seq for s in ("+", "-", "CR", "DB"))
    return Picture(text, Category.NUMERIC_EDITED, positions, digits, scale, signed)
