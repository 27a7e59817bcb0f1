"""Single-byte code pages: which character every byte stands for, and back.

The tables are generated at load time from Python's codecs (the standard library first, then
the ``ebcdic`` package, which registers the EBCDIC code pages the standard library lacks), never
typed by hand. The reference decoder, the encoder and the native decoder (which is handed these
tables) all read the same 256 entries, so they cannot disagree about a character.

Two refinements over the raw codecs, both so that "unmappable" means the same everywhere:
- a byte the codec refuses to decode is ``None`` (``ascii`` above 0x7F);
- a byte that the codec maps to U+001A SUB, other than EBCDIC SUB itself (X'3F'), is ``None``:
  the standard library's cp875 uses SUB as its placeholder for positions with no character.

And where a codec differs from IBM's CCSID table, IBM wins: every EBCDIC table was compared byte
by byte with ICU's ``ibm-NNN`` converters (IBM's published mappings; ``scripts/codepage_audit``
repeats the check), and the differences are corrected below and listed in docs/codepages.md.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Mapping

import ebcdic  # noqa: F401  (importing it registers the EBCDIC codecs)

from bridge.errors import BridgeError

__all__ = [
    "CODEPAGES",
    "DEFAULT_CODEPAGE",
    "UnknownCodepageError",
    "decode_table",
    "encode_table",
    "is_ebcdic",
    "space_byte",
]

DEFAULT_CODEPAGE = "cp037"

# Names as accepted by the CLI and the options; every one resolves to a Python codec.
_EBCDIC = (
    "cp037",
    "cp1047",
    "cp500",
    "cp273",
    "cp277",
    "cp278",
    "cp280",
    "cp284",
    "cp285",
    "cp297",
    "cp871",
    "cp875",
    "cp1025",
    "cp1140",
    "cp1141",
    "cp1142",
    "cp1143",
    "cp1144",
    "cp1145",
    "cp1146",
    "cp1147",
    "cp1148",
    "cp1149",
)
_ASCII = ("ascii", "latin-1")
CODEPAGES: tuple[str, ...] = _EBCDIC + _ASCII

_EBCDIC_SUB = 0x3F

# IBM's CCSID mapping where the Python codec differs (docs/codepages.md says why, per entry).
# X'15' is NL (U+0085) and X'25' LF in every EBCDIC CCSID here; the ebcdic package maps both to LF
# (and its cp1047 swaps them, as z/OS UNIX's variant does); Python's cp273 reads X'BC' as U+203E
# OVERLINE where CCSID 273 has U+00AF MACRON, which the codec lacks entirely.
_NEL = {0x15: "\x85"}
_IBM_CORRECTIONS: dict[str, dict[int, str]] = {
    "cp273": {0xBC: "\u00af"},
    "cp1047": {0x15: "\x85", 0x25: "\n"},
    **{
        name: _NEL
        for name in (
            "cp277",
            "cp278",
            "cp280",
            "cp284",
            "cp285",
            "cp297",
            "cp871",
            "cp1025",
            "cp1141",
            "cp1142",
            "cp1143",
            "cp1144",
            "cp1145",
            "cp1146",
            "cp1147",
            "cp1148",
            "cp1149",
        )
    },
}


class UnknownCodepageError(BridgeError):
    """A code page name that bridge has no table for."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown code page {name!r}; supported: {', '.join(CODEPAGES)}")


def _canonical(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    aliases = {"latin1": "latin-1", "iso-8859-1": "latin-1", "us-ascii": "ascii"}
    key = aliases.get(key, key)
    if key not in CODEPAGES:
        raise UnknownCodepageError(name)
    return key


def is_ebcdic(name: str) -> bool:
    return _canonical(name) in _EBCDIC


@functools.cache
def _decode_table(canonical: str) -> tuple[str | None, ...]:
    decoder = codecs.getdecoder(canonical)
    table: list[str | None] = []
    for byte in range(256):
        try:
            char, _ = decoder(bytes([byte]))
        except UnicodeDecodeError:
            table.append(None)
            continue
        if char == "\x1a" and byte != _EBCDIC_SUB and canonical in _EBCDIC:
            table.append(None)
        else:
            table.append(char)
    for byte, char in _IBM_CORRECTIONS.get(canonical, {}).items():
        table[byte] = char
    return tuple(table)


def decode_table(name: str) -> tuple[str | None, ...]:
    """The character each of the 256 byte values stands for; ``None`` where there is none."""
    return _decode_table(_canonical(name))


@functools.cache
def _encode_table(canonical: str) -> Mapping[str, int]:
    table: dict[str, int] = {}
    encoder = codecs.getencoder(canonical)
    for byte, char in enumerate(_decode_table(canonical)):
        if char is None or char in table:
            continue
        # Some tables map two bytes to one character (the ebcdic package's cp1141 has both
        # X'15' and X'25' as LF); prefer the byte the codec itself writes for it.
        try:
            preferred = encoder(char)[0]
        except UnicodeEncodeError:
            preferred = b""
        ok = len(preferred) == 1 and _decode_table(canonical)[preferred[0]] == char
        table[char] = preferred[0] if ok else byte
    return table


def encode_table(name: str) -> Mapping[str, int]:
    """Character -> byte, the inverse of :func:`decode_table` (one byte per character)."""
    return _encode_table(_canonical(name))


def space_byte(name: str) -> int:
    """The byte a space is written as: X'40' in EBCDIC, X'20' in ASCII."""
    return encode_table(name)[" "]
