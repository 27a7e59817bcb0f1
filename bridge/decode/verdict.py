"""What decoding one record yields: the JSON document and the verdict on every field.

Shared by the native decoder and the pure-Python reference (docs/decoding.md), so both report
the same reasons, offsets and raw bytes and tests can compare them field for field.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from bridge.codepages import decode_table
from bridge.errors import BridgeError

__all__ = [
    "DecodeOptions",
    "DecodeOptionsError",
    "FieldError",
    "Reason",
    "RecordResult",
    "Segments",
    "in_file",
    "relocate",
]

# A spanned record's pieces in the file, (offset, length) each, in record order; empty for a
# record that lies in one piece.
Segments = tuple[tuple[int, int], ...]


class Reason(enum.StrEnum):
    """Why a field did not decode: exactly the reasons of docs/decoding.md."""

    BAD_PACKED_DIGIT = "bad-packed-digit"
    BAD_PACKED_SIGN = "bad-packed-sign"
    BAD_ZONE = "bad-zone"
    BAD_SIGN = "bad-sign"
    BLANK_NUMERIC = "blank-numeric"
    BINARY_OUT_OF_RANGE = "binary-out-of-range"
    BAD_FLOAT = "bad-float"
    BAD_EDITED = "bad-edited"
    UNMAPPABLE_CHARACTER = "unmappable-character"
    NO_CODEC = "no-codec"
    ODO_OUT_OF_RANGE = "odo-out-of-range"
    RECORD_TOO_SHORT = "record-too-short"
    # Multi-layout files only: the discriminator names no known record type. Last, because
    # the native core numbers the reasons above in this order and never reports this one.
    UNKNOWN_RECORD_TYPE = "unknown-record-type"
    # Never reported by the native core either: a record longer than its layout, rejected
    # only on request (bridge decode --strict-length).
    RECORD_TOO_LONG = "record-too-long"


@dataclass(frozen=True)
class FieldError:
    """One field that did not decode.

    ``path`` carries 0-based subscripts (``REC.HIST[2].AMOUNT``); ``offset`` is in the file,
    not in the record; ``raw`` is the field's bytes as they are in the record (fewer than
    ``length`` when the record ends inside the field).
    """

    path: str
    offset: int
    length: int
    raw: bytes
    reason: Reason
    message: str

    def to_json(self) -> dict[str, Any]:
        """The reason as audit documents carry it (``raw`` in hex)."""
        return {
            "path": self.path,
            "offset": self.offset,
            "length": self.length,
            "raw": self.raw.hex(),
            "reason": str(self.reason),
            "message": self.message,
        }


@dataclass(frozen=True)
class RecordResult:
    """One decoded record: its number and place in the file, its JSON document, its errors."""

    record: int
    offset: int
    length: int
    document: bytes  # UTF-8 JSON, exactly as docs/decoding.md specifies
    errors: tuple[FieldError, ...] = ()
    segments: Segments = ()  # a spanned (VBS) record's pieces; offset is then the first's

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def end(self) -> int:
        """The file offset just past the record's last byte."""
        return record_end(self.offset, self.length, self.segments)

    def raw(self, buf: Any) -> bytes:
        """The record's bytes in ``buf`` (the whole file): its pieces joined when spanned."""
        return record_bytes(buf, self.offset, self.length, self.segments)


def no_count_value(picture: str | None) -> str:
    """Why an ODO count has no value, in the words both decoders use (the reason's raw bytes
    show which)."""
    return (
        f"did not decode (no PIC {picture} value: past its digits under TRUNC(STD), or bad bytes)"
    )


def record_bytes(buf: Any, offset: int, length: int, segments: Segments = ()) -> bytes:
    """A record's bytes in the file ``buf``; a spanned record's pieces joined, without the
    segment descriptors between them."""
    view = memoryview(buf)
    if segments:
        return b"".join(bytes(view[at : at + n]) for at, n in segments)
    return bytes(view[offset : offset + length])


def record_end(offset: int, length: int, segments: Segments = ()) -> int:
    """The file offset just past a record (its last piece, when spanned)."""
    if segments:
        at, n = segments[-1]
        return at + n
    return offset + length


def in_file(offset: int, record_offset: int, segments: Segments) -> int:
    """Where a byte lies in the file, given ``offset`` computed as if the record starting at
    ``record_offset`` were contiguous (as the decoder and the validators compute it): for a
    spanned record, in the piece that holds it."""
    if not segments:
        return offset
    pos = offset - record_offset
    for at, n in segments:
        if pos < n:
            return at + pos
        pos -= n
    at, n = segments[-1]
    return at + n + pos  # past the record's end: a field the record is too short for


def relocate(
    errors: tuple[FieldError, ...], record_offset: int, segments: Segments
) -> tuple[FieldError, ...]:
    """A spanned record's field errors with their offsets in the file (see ``in_file``)."""
    if not segments:
        return errors
    return tuple(replace(e, offset=in_file(e.offset, record_offset, segments)) for e in errors)


class DecodeOptionsError(BridgeError):
    """Decode options that cannot apply (an unknown choice, or a REDEFINES choice that does
    not name an alternative of the item)."""


_TRIMS = ("right", "both", "none")
_FLOATS = ("hfp", "ieee")
_TRUNCS = ("std", "bin")


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode: the choices docs/decoding.md leaves to the caller.

    ``redefines`` maps the path of a redefined item to the path of the alternative to decode
    in its place (``{"REC.ORIG": "REC.ALT"}``); by default the original decodes.
    """

    codepage: str = "cp037"
    trim: str = "right"
    decimals_as_strings: bool = False
    float_format: str = "hfp"
    trunc: str = "std"
    redefines: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        decode_table(self.codepage)  # raises UnknownCodepageError
        for name, value, allowed in (
            ("trim", self.trim, _TRIMS),
            ("float_format", self.float_format, _FLOATS),
            ("trunc", self.trunc, _TRUNCS),
        ):
            if value not in allowed:
                raise DecodeOptionsError(f"{name} must be one of {', '.join(allowed)}: {value!r}")
        # A read-only copy, so a frozen options object stays what it was when made.
        object.__setattr__(self, "redefines", MappingProxyType(dict(self.redefines)))

    def _key(self) -> tuple[object, ...]:
        return (
            self.codepage,
            self.trim,
            self.decimals_as_strings,
            self.float_format,
            self.trunc,
            tuple(sorted(self.redefines.items())),
        )

    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecodeOptions):
            return NotImplemented
        return self._key() == other._key()
