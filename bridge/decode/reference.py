"""The reference decoder: slow, plain Python, written to be obviously correct.

It implements docs/decoding.md and is what the native decoder is tested against, byte for byte.
Choices the contract leaves open, made here and to be made the same way in C:

- Zoned digits, zones and SIGN SEPARATE bytes are the EBCDIC bytes the contract names (F0-F9,
  C/D zones, ``+`` X'4E', ``-`` X'60') whatever the EBCDIC code page, and their ASCII forms in
  an ASCII file (bridge/decode/zoned.py); the blank check uses the code page's space.
- One error per field: the first fault from the left decides the reason (after the blank
  check, which looks at the whole item).
- An unsigned zoned item's last byte with a C or D zone is ``bad-sign`` (a sign where none
  belongs); any other zone but F is ``bad-zone``.
- An ODO count inside an omitted item (FILLER, a REDEFINES alternative not chosen) still
  decodes, silently, so its table can be laid out; only ``record-too-short`` is reported
  for it.
- Unsigned binary items are read unsigned (IBM: a halfword PIC 9(4) COMP holds 0..65535 under
  TRUNC(BIN)), so under TRUNC(STD) a set high bit is beyond the PIC digits and under
  TRUNC(BIN) it is a large positive value; signed items are two's complement.
- A packed item's digits are every digit nibble, including the pad nibble of an even
  digit count.
- National items follow the alphanumeric low-value rule (all X'00' is null). DBCS items are
  always ``no-codec``.
- ``record-too-short`` only concerns items that decode (FILLER may be cut off); its ``raw`` is
  the bytes present and ``length`` the item's length.
- ``odo-out-of-range`` has the table's path (with the subscripts around it) and the count
  item's offset, length and raw bytes: the path says what could not be laid out, the bytes
  show why. The table's value is null.
- When decoding stops, the bad item is null and nothing after it is written; the enclosing
  objects and arrays are closed.
- Numeric-edited text fits its picture when it is exactly what a MOVE of the number it shows
  would write (see :class:`bridge.decode.encoder.EditedPicture`).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bridge.codepages import decode_table, space_byte
from bridge.copybook.layout import Category, Field, Layout, Usage
from bridge.decode.edited import EditedPicture
from bridge.decode.hfp import from_hfp
from bridge.decode.verdict import (
    DecodeOptions,
    DecodeOptionsError,
    FieldError,
    Reason,
    RecordResult,
    no_count_value,
)
from bridge.decode.zoned import zoned_bytes

__all__ = ["decode_record", "decode_to_dict", "record_extent", "to_json"]

Value = Any  # None | str | int | Decimal | float | list[Value] | dict[str, Value]
_DEFAULT = DecodeOptions()


class _Bad(Exception):  # noqa: N818  (control flow, never leaves this module)
    """A field that does not decode (caught per field and turned into a FieldError)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class _Stop(Exception):  # noqa: N818
    """Decoding of the record stops (record-too-short, odo-out-of-range)."""


def _number(n: int, scale: int) -> int | Decimal:
    """``n`` * 10**-scale, exact: int when scale is 0, else a Decimal that keeps the scale."""
    if scale == 0:
        return n
    if scale < 0:
        return Decimal(n * 10**-scale)
    digits = tuple(int(d) for d in str(abs(n)))
    return Decimal((1 if n < 0 else 0, digits, -scale))


# --- scalar decoders: (field, raw bytes, options) -> value, or raise _Bad --------------------


def _is_blank(raw: bytes, codepage: str) -> bool:
    return raw == bytes([space_byte(codepage)]) * len(raw) or raw == bytes(len(raw))


def _zoned(field: Field, raw: bytes, codepage: str) -> int:
    if _is_blank(raw, codepage):
        raise _Bad(Reason.BLANK_NUMERIC, "numeric item holds only spaces or low-values")
    zoned = zoned_bytes(codepage)
    negative = False
    # Where a sign may be: an unsigned item's last byte too, to tell bad-sign from bad-zone.
    sign_at = 0 if field.signed and field.sign_leading else len(raw) - 1
    digits = []
    for i, byte in enumerate(raw):
        if field.sign_separate and i == sign_at:
            if byte not in (zoned.plus, zoned.minus):
                raise _Bad(Reason.BAD_SIGN, f"separate sign byte X'{byte:02X}' is not + or -")
            negative = byte == zoned.minus
            continue
        digit = zoned.digit(byte)
        at_sign = i == sign_at and not field.sign_separate
        if digit is None and at_sign and byte in zoned.signs:
            if not field.signed:
                raise _Bad(Reason.BAD_SIGN, f"byte {i} X'{byte:02X}' is signed, item unsigned")
            negative, digit = zoned.signs[byte]
        if digit is None:
            raise _Bad(Reason.BAD_ZONE, zoned.not_digit(byte, i, at_sign))
        digits.append(digit)
    n = int("".join(map(str, digits))) if digits else 0
    return -n if negative else n


def _packed(field: Field, raw: bytes, codepage: str) -> int:
    if _is_blank(raw, codepage):
        raise _Bad(Reason.BLANK_NUMERIC, "packed item holds only spaces or low-values")
    nibbles = raw.hex().upper()
    for i, nibble in enumerate(nibbles[:-1]):
        if nibble not in "0123456789":
            raise _Bad(Reason.BAD_PACKED_DIGIT, f"digit nibble {i} is {nibble}")
    sign = nibbles[-1]
    allowed = "CAEFDB" if field.signed else "FC"
    if sign not in allowed:
        kind = "" if field.signed else " in an unsigned item"
        raise _Bad(Reason.BAD_PACKED_SIGN, f"sign nibble {sign} is not one of {allowed}{kind}")
    n = int(nibbles[:-1] or "0")
    return -n if sign in "DB" else n


def _binary(field: Field, raw: bytes, options: DecodeOptions) -> int:
    n = int.from_bytes(raw, "big", signed=field.signed)
    if field.usage is Usage.COMP5:
        return n
    digits = field.digits or 0
    if options.trunc == "std" and digits and abs(n) >= 10**digits:
        raise _Bad(Reason.BINARY_OUT_OF_RANGE, f"{n} has more than {digits} digits")
    return n


def _float(raw: bytes, options: DecodeOptions) -> float:
    if options.float_format == "hfp":
        return from_hfp(raw)
    (value,) = struct.unpack(">f" if len(raw) == 4 else ">d", raw)
    if math.isnan(value) or math.isinf(value):
        raise _Bad(Reason.BAD_FLOAT, f"IEEE {value} has no JSON number")
    return 0.0 if value == 0 else float(value)


def _characters(raw: bytes, options: DecodeOptions) -> str:
    table = decode_table(options.codepage)
    chars = []
    for i, byte in enumerate(raw):
        char = table[byte]
        if char is None:
            raise _Bad(
                Reason.UNMAPPABLE_CHARACTER,
                f"byte {i} X'{byte:02X}' has no character in {options.codepage}",
            )
        chars.append(char)
    return "".join(chars)


def _trim(text: str, options: DecodeOptions) -> str:
    if options.trim == "right":
        return text.rstrip(" ")
    if options.trim == "both":
        return text.strip(" ")
    return text


def _alphanumeric(raw: bytes, options: DecodeOptions) -> str | None:
    if raw == bytes(len(raw)):
        return None
    return _trim(_characters(raw, options), options)


def _national(raw: bytes, options: DecodeOptions) -> str | None:
    if raw == bytes(len(raw)):
        return None
    try:
        text = raw.decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise _Bad(Reason.UNMAPPABLE_CHARACTER, f"bytes {exc.start}.. are not UTF-16") from None
    return _trim(text, options)


def _edited(field: Field, raw: bytes, options: DecodeOptions) -> int | Decimal:
    text = _characters(raw, options)
    try:
        picture = EditedPicture.parse(field.picture or "", blank_when_zero=field.blank_when_zero)
    except ValueError as exc:
        raise _Bad(Reason.BAD_EDITED, str(exc)) from None
    read = picture.read(text)
    if read is None:
        raise _Bad(Reason.BAD_EDITED, f"{text!r} does not fit picture {field.picture}")
    magnitude, negative = read
    return _number(-magnitude if negative else magnitude, field.scale or 0)


def decode_value(field: Field, raw: bytes, options: DecodeOptions) -> Value:
    """One occurrence of an elementary item (``raw`` is exactly its bytes)."""
    usage = field.usage
    scale = field.scale or 0
    if usage in (Usage.COMP1, Usage.COMP2):
        return _float(raw, options)
    if usage in (Usage.POINTER, Usage.INDEX):
        return int.from_bytes(raw, "big")
    if usage is Usage.NATIONAL:
        return _national(raw, options)
    if usage is Usage.DBCS:
        raise _Bad(Reason.NO_CODEC, "no DBCS codec for this item")
    if usage is Usage.COMP3:
        return _number(_packed(field, raw, options.codepage), scale)
    if usage in (Usage.COMP, Usage.COMP5):
        return _number(_binary(field, raw, options), scale)
    if field.category is Category.NUMERIC:
        return _number(_zoned(field, raw, options.codepage), scale)
    if field.category is Category.NUMERIC_EDITED:
        return _edited(field, raw, options)
    return _alphanumeric(raw, options)


# --- the record walk -------------------------------------------------------------------------


def _choices(layout: Layout, options: DecodeOptions) -> dict[str, Field]:
    """Redefined item path -> the alternative chosen to decode in its place."""
    chosen: dict[str, Field] = {}
    for original, alternative in options.redefines.items():
        try:
            layout.field(original)
            alt = layout.field(alternative)
        except KeyError as exc:
            raise DecodeOptionsError(f"redefines: no item {exc.args[0]} in {layout.name}") from None
        if alt.redefines != original:
            raise DecodeOptionsError(f"redefines: {alternative} does not redefine {original}")
        chosen[original] = alt
    return chosen


def _subscripted(path: str, subscripts: tuple[tuple[str, int], ...]) -> str:
    """``R.T.A`` with ((``R.T``, 2),) -> ``R.T[2].A``. Deepest first keeps earlier cuts valid."""
    for table, index in reversed(subscripts):
        if path == table or path.startswith(table + "."):
            path = f"{path[: len(table)]}[{index}]{path[len(table) :]}"
    return path


class _Decoder:
    def __init__(
        self, layout: Layout, record: bytes, options: DecodeOptions, file_offset: int
    ) -> None:
        self.layout = layout
        self.record = record
        self.options = options
        self.file_offset = file_offset
        self.errors: list[FieldError] = []
        self.chosen = _choices(layout, options)
        self.count_paths = {
            f.occurs.depending_on
            for f in layout.fields()
            if f.occurs is not None and f.occurs.depending_on
        }
        # count path -> (value or None, subscripted path, offset in record, raw bytes)
        self.counts: dict[str, tuple[int | None, str, int, bytes]] = {}

    def error(self, path: str, at: int, length: int, reason: Reason, message: str) -> None:
        raw = self.record[at : at + length]
        self.errors.append(FieldError(path, self.file_offset + at, length, raw, reason, message))

    def run(self) -> dict[str, Value]:
        document: dict[str, Value] = {}
        root = self.layout.root
        try:
            if root.is_group:
                self.group(root, 0, (), document)
            else:
                self.item(root, 0, (), lambda value: document.__setitem__(root.key, value))
        except _Stop:
            pass
        return document

    def group(
        self, group: Field, start: int, subs: tuple[tuple[str, int], ...], out: dict[str, Value]
    ) -> int:
        """Decode one occurrence of a group's members into ``out``; return its real length.

        Members sit at their layout offsets, less what the ODO tables before them gave back.
        """
        shift = 0
        for child in group.children:
            if child.level in (66, 88) or child.renames is not None:
                continue
            at = start + (child.offset - group.offset) - shift
            if child.redefines is not None:  # an alternative: decoded in its original's place
                if self.chosen.get(child.redefines) is not child:
                    self.hidden_counts(child, at, subs)
                continue
            field = self.chosen.get(child.path, child)
            if field is not child or field.is_filler:
                self.hidden_counts(child, at, subs)
            if field.is_filler:
                continue

            def put(value: Value, name: str = field.key) -> None:
                out[name] = value

            shift += field.total_length - self.item(field, at, subs, put)
        return group.length - shift

    def hidden_counts(self, omitted: Field, start: int, subs: tuple[tuple[str, int], ...]) -> None:
        """Decode, without showing them, the ODO counts inside an item that is not decoded."""
        for field in omitted.walk():
            if field.path in self.count_paths and field.occurs is None:
                self.occurrence(field, start + field.offset - omitted.offset, subs, _discard)

    def item(
        self,
        field: Field,
        start: int,
        subs: tuple[tuple[str, int], ...],
        put: Callable[[Value], None],
    ) -> int:
        """Decode every occurrence of ``field`` from ``start``; return the bytes they took."""
        if field.occurs is None:
            return self.occurrence(field, start, subs, put)
        count = field.occurs.max
        if field.occurs.depending_on:
            count_or_none = self.odo_count(field, start, subs)
            if count_or_none is None:
                put(None)
                raise _Stop
            count = count_or_none
        elements: list[Value] = []
        put(elements)
        at = start
        for i in range(count):
            at += self.occurrence(field, at, (*subs, (field.path, i)), elements.append)
        return at - start

    def odo_count(self, table: Field, start: int, subs: tuple[tuple[str, int], ...]) -> int | None:
        assert table.occurs is not None and table.occurs.depending_on is not None
        low, high = table.occurs.min, table.occurs.max
        path = _subscripted(table.path, subs)
        known = self.counts.get(table.occurs.depending_on)
        if known is None:  # the count sits after the table, or was not decoded (FILLER)
            count = self.layout.field(table.occurs.depending_on)
            message = f"count {count.path} was not decoded before the table"
            self.error(path, count.offset, count.length, Reason.ODO_OUT_OF_RANGE, message)
            return None
        value, count_path, at, raw = known
        if value is None or not low <= value <= high:
            pic = self.layout.field(table.occurs.depending_on).picture
            shown = no_count_value(pic) if value is None else f"is {value}"
            message = f"count {count_path} {shown}; the table takes {low} to {high}"
            self.error(path, at, len(raw), Reason.ODO_OUT_OF_RANGE, message)
            return None
        return value

    def occurrence(
        self,
        field: Field,
        start: int,
        subs: tuple[tuple[str, int], ...],
        put: Callable[[Value], None],
    ) -> int:
        if field.is_group:
            members: dict[str, Value] = {}
            put(members)
            return self.group(field, start, subs, members)
        path = _subscripted(field.path, subs)
        end = start + field.length
        if end > len(self.record):
            put(None)
            have = max(0, len(self.record) - start)
            self.error(
                path,
                start,
                field.length,
                Reason.RECORD_TOO_SHORT,
                f"record ends after {len(self.record)} bytes; {field.length}-byte item at"
                f" {start} has {have}",
            )
            raise _Stop
        raw = self.record[start:end]
        try:
            value = decode_value(field, raw, self.options)
        except _Bad as bad:
            if put is not _discard:  # a hidden count reports nothing but the record's end
                self.error(path, start, field.length, bad.reason, bad.message)
            value = None
        if field.path in self.count_paths:
            count = int(value) if isinstance(value, int | Decimal) else None
            self.counts[field.path] = (count, path, start, raw)
        put(value)
        return field.length


def _discard(value: Value) -> None:
    del value


# --- JSON ------------------------------------------------------------------------------------


def to_json(value: Value, *, decimals_as_strings: bool = False) -> str:
    """The contract's JSON text for a decoded value (Decimals keep their exact scale)."""
    strings = decimals_as_strings
    if isinstance(value, dict):
        members = (
            json.dumps(k, ensure_ascii=False) + ":" + to_json(v, decimals_as_strings=strings)
            for k, v in value.items()
        )
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v, decimals_as_strings=strings) for v in value) + "]"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return f'"{text}"' if strings else text
    return json.dumps(value, ensure_ascii=False)


def _decode(
    layout: Layout, record: bytes, options: DecodeOptions, file_offset: int
) -> tuple[dict[str, Value], tuple[FieldError, ...]]:
    decoder = _Decoder(layout, bytes(record), options, file_offset)
    document = decoder.run()
    return document, tuple(decoder.errors)


def decode_record(
    layout: Layout,
    record: bytes,
    *,
    options: DecodeOptions = _DEFAULT,
    record_number: int = 0,
    file_offset: int = 0,
) -> RecordResult:
    """Decode one record into the contract's JSON document and its verdict.

    ``file_offset`` is where the record's first byte sits in the file; error offsets add it.
    """
    document, errors = _decode(layout, record, options, file_offset)
    text = to_json(document, decimals_as_strings=options.decimals_as_strings)
    return RecordResult(record_number, file_offset, len(record), text.encode("utf-8"), errors)


def decode_to_dict(
    layout: Layout, record: bytes, *, options: DecodeOptions = _DEFAULT, file_offset: int = 0
) -> dict[str, Value]:
    """The record as Python values: Decimal for scaled numbers, int, str, float, None."""
    return _decode(layout, record, options, file_offset)[0]


def record_extent(
    layout: Layout, record: bytes, options: DecodeOptions = _DEFAULT
) -> tuple[int, str | None]:
    """How many bytes the record at the start of ``record`` takes, its ODO counts read from it.

    Returns (length, None), or (0, why) when the counts cannot lay it out (out of range, or
    the bytes end first). Framing uses it for variable-length records without descriptors.
    """
    decoder = _Decoder(layout, bytes(record), options, 0)
    root = layout.root
    try:
        if root.is_group:
            return decoder.group(root, 0, (), {}), None
        return root.total_length, None
    except _Stop:
        error = decoder.errors[-1]
        return 0, f"{error.reason} at {error.path}: {error.message}"
