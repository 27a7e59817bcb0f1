"""Parser: tokens to data description entries, each with the positions of its parts.

One entry per ``level [name] clauses... .``. The parser checks syntax only; sizes, nesting and
names are the builder's business. On an error it records a diagnostic and resumes at the next
period, or at the next level number when a period is missing, so one run reports many errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bridge.copybook.layout import Literal, ValueRange
from bridge.copybook.source import Position, SourceText
from bridge.copybook.tokens import (
    FIGURATIVES,
    LISTING_CONTROL,
    UNSUPPORTED_USAGES,
    USAGES,
    Token,
    TokenType,
)
from bridge.errors import Diagnostic

VALID_LEVELS = frozenset(range(1, 50)) | {66, 77, 88}
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)(E[+-]?\d+)?", re.IGNORECASE)
_LEVEL = re.compile(r"\d{1,2}")


@dataclass(frozen=True)
class Ref:
    """A data-name reference, possibly qualified: ``A OF B`` is names ("A", "B")."""

    names: tuple[str, ...]
    pos: Position

    def __str__(self) -> str:
        return " OF ".join(self.names)


@dataclass(frozen=True)
class OccursClause:
    min: int
    max: int
    depending_on: Ref | None
    keys: tuple[tuple[str, str], ...]
    indexed_by: tuple[str, ...]
    pos: Position
    has_min: bool  # ``m TO n`` written


@dataclass(frozen=True)
class Entry:
    level: int
    name: str | None  # None: no name written (an implicit FILLER)
    pos: Position  # of the level number
    name_pos: Position
    picture: str | None = None
    picture_pos: Position | None = None
    usage: str | None = None  # canonical spelling from tokens.USAGES
    usage_pos: Position | None = None
    sign: tuple[bool, bool] | None = None  # (leading, separate)
    sign_pos: Position | None = None
    occurs: OccursClause | None = None
    redefines: Ref | None = None
    renames: tuple[Ref, Ref | None] | None = None
    value: Literal | None = None
    values: tuple[ValueRange, ...] = ()  # level 88
    value_pos: Position | None = None
    justified: bool = False
    blank_when_zero: bool = False
    sync: bool = False
    clause_pos: dict[str, Position] = field(default_factory=dict, compare=False)
    # The parser gave up on this entry (already reported): the builder keeps it for nesting
    # but checks nothing about it, and nothing about the item before it, to avoid knock-on errors.
    broken: bool = False


class _SkipEntryError(Exception):
    """Raised after a diagnostic to abandon the current entry."""


class Parser:
    def __init__(
        self, tokens: list[Token], src: SourceText, *, decimal_point_is_comma: bool = False
    ) -> None:
        self._partial: Entry | None = None
        self.tokens = [t for t in tokens if not _is_listing_control(t)]
        self.src = src
        self.comma = decimal_point_is_comma
        self.i = 0
        self.diagnostics: list[Diagnostic] = []

    # -- helpers -------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _advance(self) -> Token:
        t = self.tokens[self.i]
        if t.type is not TokenType.EOF:
            self.i += 1
        return t

    def _match(self, *words: str) -> Token | None:
        t = self.tok
        if t.type is TokenType.WORD and (t.upper in words or t.keyword in words):
            return self._advance()
        return None

    def _error(self, tok: Token, message: str) -> _SkipEntryError:
        self.diagnostics.append(self.src.diagnostic(tok.pos, message))
        return _SkipEntryError()

    def _expect_word(self, what: str) -> Token:
        t = self.tok
        if t.type is not TokenType.WORD or not _is_data_name(t.text):
            raise self._error(t, f"expected {what}, found {_show(t)}")
        return self._advance()

    def _starts_entry(self) -> bool:
        """Whether the current token looks like the level number of a new entry: a level-like
        number first on its line, followed by a name, a clause or a period. A number in an 88
        value list (``VALUE 1 2 3``) or after OCCURS does not qualify."""
        t = self.tok
        if not _is_level(t) or self.i == 0:
            return False
        prev = self.tokens[self.i - 1]
        if (prev.pos.file, prev.pos.line) == (t.pos.file, t.pos.line):
            return False
        nxt = self.tokens[self.i + 1]
        if nxt.type is TokenType.PERIOD:
            return True
        if nxt.type is not TokenType.WORD:
            return False
        return (
            nxt.keyword is not None
            or nxt.upper in USAGES
            or (_is_data_name(nxt.text) and not _ascii_digits(nxt.text))
        )

    def _integer(self) -> int:
        t = self.tok
        if t.type is not TokenType.WORD or not _ascii_digits(t.text):
            raise self._error(t, f"expected an integer, found {_show(t)}")
        self._advance()
        return int(t.text)

    def _at_entry_end(self) -> bool:
        return self.tok.type in (TokenType.PERIOD, TokenType.EOF)

    # -- entries -------------------------------------------------------------------------

    def parse(self) -> list[Entry]:
        entries: list[Entry] = []
        while self.tok.type is not TokenType.EOF:
            if self.tok.type is TokenType.PERIOD:
                self._advance()  # a stray period: harmless
                continue
            start = self.tok
            self._partial = None
            try:
                entries.append(self._entry())
            except _SkipEntryError:
                partial = self._partial or Entry(0, None, start.pos, start.pos)
                entries.append(replace(partial, broken=True))
                self._recover()
        return entries

    def _recover(self) -> None:
        while self.tok.type is not TokenType.EOF:
            if self._advance().type is TokenType.PERIOD:
                return

    def _entry(self) -> Entry:
        level_tok = self.tok
        if level_tok.type is not TokenType.WORD or not _ascii_digits(level_tok.text):
            raise self._error(level_tok, f"expected a level number, found {_show(level_tok)}")
        level = int(level_tok.text)
        if level not in VALID_LEVELS or len(level_tok.text) > 2:
            raise self._error(level_tok, f"invalid level number {level_tok.text}")
        self._advance()
        name: str | None = None
        name_pos = level_tok.pos
        t = self.tok
        if t.type is TokenType.WORD and not self._starts_entry():
            if t.keyword == "FILLER":
                name, name_pos = "FILLER", t.pos
                self._advance()
            elif t.keyword is None and t.upper not in USAGES and _is_data_name(t.text):
                name, name_pos = t.upper, t.pos
                self._advance()
        self._partial = Entry(level, name, level_tok.pos, name_pos)
        if level in (66, 88) and name in (None, "FILLER"):
            raise self._error(self.tok, f"a level-{level} entry needs a name")
        fields: dict[str, object] = {}
        clause_pos: dict[str, Position] = {}
        while not self._at_entry_end():
            t = self.tok
            if self._starts_entry():
                # The period before the next entry is missing: report it, keep this entry.
                self.diagnostics.append(
                    self.src.diagnostic(t.pos, f"missing period before level number {t.text}")
                )
                break
            key = self._clause(level, fields)
            if key in clause_pos:
                raise self._error(t, f"{key} clause given twice")
            clause_pos[key] = t.pos
        else:
            if self.tok.type is TokenType.PERIOD:
                self._advance()
            # A missing period at the very end of the copybook is tolerated, as IBM does.
        entry = Entry(level, name, level_tok.pos, name_pos, clause_pos=clause_pos)
        return _with(entry, fields)

    def _clause(self, level: int, fields: dict[str, object]) -> str:
        t = self.tok
        kw = t.keyword
        up = t.upper if t.type is TokenType.WORD else ""
        if kw == "PIC":
            self._advance()
            self._match("IS")
            pic = self.tok
            if pic.type is not TokenType.WORD:
                raise self._error(pic, f"expected a PICTURE string, found {_show(pic)}")
            self._advance()
            fields["picture"], fields["picture_pos"] = pic.upper, pic.pos
            return "PICTURE"
        if kw == "USAGE":
            self._advance()
            self._match("IS")
            fields["usage"], fields["usage_pos"] = self._usage_word(), t.pos
            return "USAGE"
        if up in USAGES or up in UNSUPPORTED_USAGES or up.startswith("COMP"):
            fields["usage"], fields["usage_pos"] = self._usage_word(), t.pos
            return "USAGE"
        if kw in ("SIGN", "LEADING", "TRAILING"):
            self._advance()
            if kw == "SIGN":
                self._match("IS")
                where = self._match("LEADING", "TRAILING")
                if where is None:
                    raise self._error(self.tok, "expected LEADING or TRAILING after SIGN")
                kw = where.keyword
            separate = self._match("SEPARATE") is not None
            if separate:
                self._match("CHARACTER")
            fields["sign"], fields["sign_pos"] = (kw == "LEADING", separate), t.pos
            return "SIGN"
        if kw == "OCCURS":
            fields["occurs"] = self._occurs()
            return "OCCURS"
        if kw == "REDEFINES":
            self._advance()
            fields["redefines"] = self._ref()
            return "REDEFINES"
        if kw == "RENAMES":
            self._advance()
            first = self._ref()
            thru = self._ref() if self._match("THRU") else None
            fields["renames"] = (first, thru)
            return "RENAMES"
        if kw == "VALUE":
            self._advance()
            self._match("IS", "ARE")
            fields["value_pos"] = t.pos
            if level == 88:
                fields["values"] = self._value_list()
            else:
                fields["value"] = self._literal()
            return "VALUE"
        if kw == "JUST":
            self._advance()
            self._match("RIGHT")
            fields["justified"] = True
            return "JUSTIFIED"
        if kw == "BLANK":
            self._advance()
            self._match("WHEN")
            if self._match("ZERO", "ZEROS", "ZEROES") is None:
                raise self._error(self.tok, "expected ZERO after BLANK WHEN")
            fields["blank_when_zero"] = True
            return "BLANK WHEN ZERO"
        if kw == "SYNC":
            self._advance()
            self._match("LEFT", "RIGHT")  # IBM: syntax-checked, no effect
            fields["sync"] = True
            return "SYNCHRONIZED"
        if kw in ("EXTERNAL", "GLOBAL"):
            self._advance()  # storage attributes: no effect on the byte layout
            return kw
        if up in ("GROUP-USAGE", "DATE", "TYPE", "TYPEDEF", "DYNAMIC", "VOLATILE", "ANY"):
            raise self._error(t, f"the {up} clause is not supported")
        raise self._error(t, f"unexpected {_show(t)} in a data description entry")

    def _usage_word(self) -> str:
        t = self.tok
        up = t.upper if t.type is TokenType.WORD else ""
        if up in UNSUPPORTED_USAGES:
            raise self._error(t, f"USAGE {up} is not supported")
        if up not in USAGES:
            raise self._error(t, f"unknown USAGE {_show(t)}")
        self._advance()
        return USAGES[up]

    def _ref(self) -> Ref:
        first = self._expect_word("a data name")
        names = [first.upper]
        while self._match("OF", "IN"):
            names.append(self._expect_word("a data name").upper)
        return Ref(tuple(names), first.pos)

    def _occurs(self) -> OccursClause:
        start = self._advance()
        low = self._integer()
        high, has_min = low, False
        if self._match("TO"):
            high, has_min = self._integer(), True
        self._match("TIMES")
        depending: Ref | None = None
        if self._match("DEPENDING"):
            self._match("ON")
            depending = self._ref()
        if not has_min and depending is not None:
            # IBM: without ``integer-1 TO`` the minimum of an ODO table is 1.
            low = 1 if high >= 1 else 0
        elif has_min and depending is None:
            raise self._error(start, "OCCURS m TO n needs DEPENDING ON")
        keys: list[tuple[str, str]] = []
        indexed: list[str] = []
        while True:
            order = self._match("ASCENDING", "DESCENDING")
            if order is not None:
                self._match("KEY")
                self._match("IS")
                keys.append((order.upper.lower(), self._expect_word("a key name").upper))
                while self._is_plain_name():
                    keys.append((order.upper.lower(), self._advance().upper))
                continue
            if self._match("INDEXED"):
                self._match("BY")
                indexed.append(self._expect_word("an index name").upper)
                while self._is_plain_name():
                    indexed.append(self._advance().upper)
                continue
            break
        if depending is not None and high < low:
            raise self._error(start, f"OCCURS {low} TO {high}: the maximum is below the minimum")
        if high == 0 and depending is None:
            raise self._error(start, "OCCURS needs at least one occurrence")
        return OccursClause(low, high, depending, tuple(keys), tuple(indexed), start.pos, has_min)

    def _is_plain_name(self) -> bool:
        t = self.tok
        return (
            t.type is TokenType.WORD
            and t.keyword is None
            and t.upper not in ("ASCENDING", "DESCENDING", "INDEXED", "DEPENDING", "KEY")
            and t.upper not in USAGES
            and not self._starts_entry()
            and _is_data_name(t.text)
        )

    def _value_list(self) -> tuple[ValueRange, ...]:
        values = [self._value_range()]
        while not self._at_entry_end() and not self._starts_entry():
            values.append(self._value_range())
        return tuple(values)

    def _value_range(self) -> ValueRange:
        low = self._literal()
        if self._match("THRU"):
            return ValueRange(low, self._literal())
        return ValueRange(low)

    def _literal(self) -> Literal:
        t = self.tok
        if t.type is TokenType.LITERAL:
            self._advance()
            return _quoted(t)
        if t.type is not TokenType.WORD:
            raise self._error(t, f"expected a literal, found {_show(t)}")
        up = t.upper
        if up == "ALL":
            self._advance()
            inner = self._literal()
            shown = inner.text if inner.kind == "figurative" else _show_literal(inner)
            return Literal("figurative", f"ALL {shown}")
        if up in FIGURATIVES:
            self._advance()
            return Literal("figurative", FIGURATIVES[up])
        if _NUMBER.fullmatch(t.text):
            self._advance()
            return Literal("numeric", _normalise_number(t.text, self.comma))
        raise self._error(t, f"expected a literal, found {_show(t)}")


def _with(entry: Entry, fields: dict[str, object]) -> Entry:
    return replace(entry, **fields)  # type: ignore[arg-type]


def _quoted(t: Token) -> Literal:
    text = t.text
    q = next(i for i, c in enumerate(text) if c in "'\"")
    prefix, quote, body = text[:q].upper(), text[q], text[q + 1 : -1]
    body = body.replace(quote * 2, quote)
    if prefix in ("X",):
        return Literal("hex", body.upper())
    if prefix in ("N", "G"):
        return Literal("national", body)
    if prefix == "NX":
        return Literal("national", body.upper())
    return Literal("alphanumeric", body)


def _show_literal(lit: Literal) -> str:
    if lit.kind == "alphanumeric":
        return "'" + lit.text.replace("'", "''") + "'"
    if lit.kind == "hex":
        return f"X'{lit.text}'"
    return lit.text


def _normalise_number(text: str, comma: bool) -> str:
    point = "," if comma else "."
    mantissa, _, exponent = text.upper().partition("E")
    mantissa = mantissa.replace(point, ".") if point in mantissa else mantissa
    if mantissa.startswith("+"):
        mantissa = mantissa[1:]
    if mantissa.startswith((".", "-.")):
        mantissa = mantissa.replace(".", "0.", 1)
    return mantissa + (f"E{exponent}" if exponent else "")


def _is_level(t: Token) -> bool:
    return (
        t.type is TokenType.WORD and bool(_LEVEL.fullmatch(t.text)) and int(t.text) in VALID_LEVELS
    )


_DATA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _is_data_name(text: str) -> bool:
    # At least one letter; hyphens not at either end (IBM user-defined word rules).
    return (
        bool(_DATA_NAME.fullmatch(text))
        and any(c.isalpha() for c in text)
        and not text.endswith("-")
        and len(text) <= 30
    )


def _is_listing_control(t: Token) -> bool:
    return t.type is TokenType.WORD and t.upper in LISTING_CONTROL


def _show(t: Token) -> str:
    return "end of file" if t.type is TokenType.EOF else repr(t.text)


def parse(
    tokens: list[Token], src: SourceText, *, decimal_point_is_comma: bool = False
) -> tuple[list[Entry], list[Diagnostic]]:
    parser = Parser(tokens, src, decimal_point_is_comma=decimal_point_is_comma)
    entries = parser.parse()
    return entries, parser.diagnostics


def _ascii_digits(text: str) -> bool:
    """0-9 only: str.isdigit() also accepts superscripts and other scripts' digits."""
    return text.isascii() and text.isdigit()
