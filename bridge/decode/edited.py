"""Numeric editing: a numeric-edited PICTURE as the C plan, the reference decoder and the
encoder all read it.

The decoders decide whether numeric-edited text "fits its picture" by editing the number the
text shows and comparing: the text fits exactly when it is what a COBOL MOVE of that number
would produce.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EditedPicture", "expand_picture"]

_INSERTION = {",": ",", "B": " ", "0": "0", "/": "/"}


def expand_picture(picture: str) -> list[str]:
    """Picture symbols one by one: ``Z(3)9.99CR`` -> Z Z Z 9 . 9 9 CR."""
    symbols: list[str] = []
    i = 0
    while i < len(picture):
        if picture.startswith(("CR", "DB"), i):
            symbols.append(picture[i : i + 2])
            i += 2
            continue
        symbol = picture[i]
        i += 1
        if i < len(picture) and picture[i] == "(":
            close = picture.index(")", i)
            symbols.extend([symbol] * int(picture[i + 1 : close]))
            i = close + 1
        else:
            symbols.append(symbol)
    return symbols


@dataclass(frozen=True)
class EditedPicture:
    """A numeric-edited PICTURE, able to edit a number into text and to read text back.

    ``symbols`` has one entry per character position (CR and DB are one two-character entry);
    V, P and S take no position and are dropped. Editing follows the IBM rules: zero
    suppression (Z) and check protection (*) up to the first non-zero digit or the decimal
    point; a floating + - or $ string puts its symbol just left of the first non-zero digit;
    a zero value with every digit position Z (or floating) is all spaces, all * is all
    asterisks but the point; BLANK WHEN ZERO blanks a zero.
    """

    symbols: tuple[str, ...]
    blank_when_zero: bool = False

    @classmethod
    def parse(cls, picture: str, *, blank_when_zero: bool = False) -> EditedPicture:
        symbols = tuple(s for s in expand_picture(picture.upper()) if s not in ("V", "P", "S"))
        for s in symbols:
            if s not in ("9", "Z", "*", ".", "+", "-", "$", "CR", "DB", *_INSERTION):
                raise ValueError(f"picture {picture}: symbol {s!r} is not supported")
        edited = cls(symbols, blank_when_zero)
        floats = [c for c in "+-$" if symbols.count(c) >= 2]
        if len(floats) > 1:
            raise ValueError(f"picture {picture}: more than one floating insertion string")
        return edited

    @property
    def width(self) -> int:
        return sum(len(s) for s in self.symbols)

    @property
    def _float(self) -> tuple[str, int, int] | None:
        """The floating symbol and the first and last index of its string."""
        for c in "+-$":
            where = [i for i, s in enumerate(self.symbols) if s == c]
            if len(where) >= 2:
                return c, where[0], where[-1]
        return None

    @property
    def digit_positions(self) -> tuple[int, ...]:
        floating = self._float
        out = []
        for i, s in enumerate(self.symbols):
            in_float = floating is not None and s == floating[0] and floating[1] < i <= floating[2]
            if s in ("9", "Z", "*") or in_float:
                out.append(i)
        return tuple(out)

    def edit(self, magnitude: int, negative: bool) -> str:
        """The text a MOVE of ``magnitude`` (digits at the picture's scale) would write."""
        positions = self.digit_positions
        digits = str(magnitude).rjust(len(positions), "0")
        if len(digits) > len(positions) or magnitude < 0:
            raise ValueError(f"{magnitude} does not fit {len(positions)} digit positions")
        kinds = {self.symbols[i] for i in positions}
        floating = self._float
        if magnitude == 0:
            if self.blank_when_zero or kinds <= {"Z"}:
                return " " * self.width
            if floating and kinds == {floating[0]}:
                return " " * self.width
            if kinds == {"*"}:
                return "".join("." if s == "." else "*" * len(s) for s in self.symbols)
        digit_at = dict(zip(positions, digits, strict=True))
        symbol_at = -1
        if floating:
            _, first, last = floating
            nonzero = [i for i in positions if first < i <= last and digit_at[i] != "0"]
            symbol_at = nonzero[0] - 1 if nonzero else last
        fill = "*" if "*" in kinds else " "
        suppressing = bool(positions) and self.symbols[positions[0]] in ("Z", "*")
        out: list[str] = []
        for i, s in enumerate(self.symbols):
            if floating and floating[1] <= i <= floating[2]:
                if i == symbol_at:
                    out.append(self._sign_char(floating[0], negative))
                elif i < symbol_at:
                    out.append(" ")
                else:
                    out.append(digit_at[i] if i in digit_at else self._insert(s))
                continue
            if s == "9":
                out.append(digit_at[i])
                suppressing = False
            elif s in ("Z", "*"):
                if suppressing and digit_at[i] == "0":
                    out.append(fill)
                else:
                    out.append(digit_at[i])
                    suppressing = False
            elif s == ".":
                out.append(".")
                suppressing = False
            elif s in _INSERTION:
                out.append(fill if suppressing else _INSERTION[s])
            else:
                out.append(self._sign_char(s, negative))
        return "".join(out)

    def read(self, text: str) -> tuple[int, bool] | None:
        """(magnitude, negative) that edits to exactly ``text``, or None when none does."""
        if len(text) != self.width:
            return None
        starts = []
        at = 0
        for s in self.symbols:
            starts.append(at)
            at += len(s)
        digits = "".join(
            text[starts[i]] if text[starts[i]] in "0123456789" else "0"
            for i in self.digit_positions
        )
        negative = False
        floating = self._float
        for i, s in enumerate(self.symbols):
            shown = text[starts[i] : starts[i] + len(s)]
            # A floating sign may land on an insertion position (``++,++9``).
            signs = s in ("+", "-") or (
                floating is not None and floating[0] in "+-" and floating[1] <= i <= floating[2]
            )
            if (signs and shown == "-") or (s in ("CR", "DB") and shown == s):
                negative = True
        magnitude = int(digits) if digits else 0
        if self.edit(magnitude, negative) == text:
            return magnitude, negative
        return None

    @staticmethod
    def _sign_char(symbol: str, negative: bool) -> str:
        if symbol == "+":
            return "-" if negative else "+"
        if symbol == "-":
            return "-" if negative else " "
        if symbol in ("CR", "DB"):
            return symbol if negative else "  "
        return symbol  # the currency sign

    @staticmethod
    def _insert(symbol: str) -> str:
        return _INSERTION.get(symbol, symbol)


# --- scalar encoders -------------------------------------------------------------------------
