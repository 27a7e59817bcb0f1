"""Tokenizer: code text (COPY already expanded) to words, literals and periods with positions.

A data division needs few token kinds: a PICTURE string such as ``S9(4)V99`` or ``ZZ,ZZ9.99`` is
one word, so words run to the next space, and a period (or comma/semicolon) ends a word only when
a space or the end of the text follows it -- the COBOL separator rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bridge.copybook.source import Position, SourceText
from bridge.errors import Diagnostic


class TokenType(enum.Enum):
    WORD = "word"  # names, keywords, level numbers, numeric literals, PICTURE strings
    LITERAL = "literal"  # quoted: alphanumeric, X'..', N'..', NX'..', G'..', Z'..'
    PERIOD = "period"
    EOF = "eof"


# Spellings the parser treats as one keyword.
KEYWORDS: dict[str, str] = {
    "PIC": "PIC",
    "PICTURE": "PIC",
    "USAGE": "USAGE",
    "VALUE": "VALUE",
    "VALUES": "VALUE",
    "REDEFINES": "REDEFINES",
    "RENAMES": "RENAMES",
    "OCCURS": "OCCURS",
    "SIGN": "SIGN",
    "LEADING": "LEADING",
    "TRAILING": "TRAILING",
    "SEPARATE": "SEPARATE",
    "CHARACTER": "CHARACTER",
    "JUST": "JUST",
    "JUSTIFIED": "JUST",
    "BLANK": "BLANK",
    "SYNC": "SYNC",
    "SYNCHRONIZED": "SYNC",
    "EXTERNAL": "EXTERNAL",
    "GLOBAL": "GLOBAL",
    "THRU": "THRU",
    "THROUGH": "THRU",
    "FILLER": "FILLER",
}

# USAGE words, canonical spelling (the parser maps these to layout.Usage).
USAGES: dict[str, str] = {
    "DISPLAY": "DISPLAY",
    "COMP": "COMP",
    "COMPUTATIONAL": "COMP",
    "COMP-4": "COMP",
    "COMPUTATIONAL-4": "COMP",
    "BINARY": "COMP",
    "COMP-0": "COMP-0",  # not IBM's: binary in the gnucobol and microfocus dialects
    "COMPUTATIONAL-0": "COMP-0",
    "COMP-5": "COMP-5",
    "COMPUTATIONAL-5": "COMP-5",
    "COMP-3": "COMP-3",
    "COMPUTATIONAL-3": "COMP-3",
    "PACKED-DECIMAL": "COMP-3",
    "COMP-1": "COMP-1",
    "COMPUTATIONAL-1": "COMP-1",
    "COMP-2": "COMP-2",
    "COMPUTATIONAL-2": "COMP-2",
    "NATIONAL": "NATIONAL",
    "DISPLAY-1": "DISPLAY-1",
    "POINTER": "POINTER",
    "INDEX": "INDEX",
}

# USAGE words IBM knows that bridge cannot lay out or decode: an explicit error, never a guess.
UNSUPPORTED_USAGES = frozenset(
    {
        "PROCEDURE-POINTER",
        "FUNCTION-POINTER",
        "POINTER-32",
        "OBJECT",
        "UTF-8",
        "COMP-6",
        "COMPUTATIONAL-6",
        "COMP-X",
        "COMPUTATIONAL-X",
        "COMP-N",
        "FLOAT-SHORT",
        "FLOAT-LONG",
    }
)

# Figurative constants, canonical spelling as layout.Literal documents.
FIGURATIVES: dict[str, str] = {
    "ZERO": "ZEROS",
    "ZEROS": "ZEROS",
    "ZEROES": "ZEROS",
    "SPACE": "SPACES",
    "SPACES": "SPACES",
    "HIGH-VALUE": "HIGH-VALUES",
    "HIGH-VALUES": "HIGH-VALUES",
    "LOW-VALUE": "LOW-VALUES",
    "LOW-VALUES": "LOW-VALUES",
    "QUOTE": "QUOTES",
    "QUOTES": "QUOTES",
    "NULL": "NULLS",
    "NULLS": "NULLS",
}

# Listing-control statements that may sit in a copybook and mean nothing for the layout.
LISTING_CONTROL = frozenset({"EJECT", "SKIP1", "SKIP2", "SKIP3"})

_LITERAL_PREFIXES = ("NX", "X", "N", "G", "Z")


@dataclass(frozen=True)
class Token:
    type: TokenType
    text: str  # as written (a literal keeps its prefix and quotes)
    pos: Position

    @property
    def upper(self) -> str:
        return self.text.upper()

    @property
    def keyword(self) -> str | None:
        return KEYWORDS.get(self.upper) if self.type is TokenType.WORD else None


def tokenize(src: SourceText, diagnostics: list[Diagnostic]) -> list[Token]:
    """Every token of ``src``, ending with EOF; unterminated literals are reported and dropped."""
    text = src.text
    n = len(text)
    tokens: list[Token] = []
    i = 0

    def separator_at(j: int) -> bool:
        return j + 1 >= n or text[j + 1].isspace()

    while i < n:
        ch = text[i]
        if ch.isspace() or (ch in ",;" and separator_at(i)):
            i += 1
            continue
        if ch == "." and separator_at(i):
            tokens.append(Token(TokenType.PERIOD, ".", src.position(i)))
            i += 1
            continue
        prefix = next((p for p in _LITERAL_PREFIXES if text[i : i + len(p)].upper() == p), "")
        quote_at = i + len(prefix)
        if ch in "'\"" or (prefix and quote_at < n and text[quote_at] in "'\""):
            end = _literal_end(text, quote_at)
            if end < 0:
                # Report it, and keep it as if closed at the end of the line so that parsing
                # goes on without a second, derived error.
                diagnostics.append(src.diagnostic(src.position(i), "unterminated literal"))
                stop = text.find("\n", i)
                stop = n if stop < 0 else stop
                body = text[i:stop].rstrip()
                tokens.append(Token(TokenType.LITERAL, body + text[quote_at], src.position(i)))
                i = stop
                continue
            tokens.append(Token(TokenType.LITERAL, text[i:end], src.position(i)))
            i = end
            continue
        j = i
        while j < n:
            c = text[j]
            if c.isspace() or c in "'\"" or (c in ".,;" and separator_at(j)):
                break
            j += 1
        tokens.append(Token(TokenType.WORD, text[i:j], src.position(i)))
        i = j
    end_pos = src.position(max(n - 1, 0))
    tokens.append(Token(TokenType.EOF, "", end_pos))
    return tokens


def _literal_end(text: str, quote_at: int) -> int:
    """Index just past the closing quote (a doubled quote is part of the literal), or -1."""
    quote = text[quote_at]
    j = quote_at + 1
    while j < len(text) and text[j] != "\n":
        if text[j] == quote:
            if j + 1 < len(text) and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return -1
