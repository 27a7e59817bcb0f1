"""Values to record bytes: the inverse of the reference decoder.

Property tests encode random values and check that decoding gives them back; the benchmark
generator writes its files with it. It takes the nested shape ``decode_to_dict`` returns.

Numeric-edited items are written with :class:`bridge.decode.edited.EditedPicture`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from bridge.codepages import encode_table, space_byte
from bridge.copybook.layout import Category, Field, Layout, Usage
from bridge.decode.edited import EditedPicture
from bridge.decode.hfp import to_hfp
from bridge.decode.zoned import zoned_bytes
from bridge.errors import BridgeError

__all__ = ["EncodeError", "encode_record"]


class EncodeError(BridgeError):
    """A value that the field it is meant for cannot hold."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


def _scaled(field: Field, value: Any, path: str) -> int:
    """The integer the field stores for ``value`` (its digits at the field's scale).

    Exact for any number of digits: Decimal arithmetic would round to the context's 28.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise EncodeError(path, f"a number is needed, not {value!r}")
    sign, digits, exponent = Decimal(value).as_tuple()
    if not isinstance(exponent, int):
        raise EncodeError(path, f"{value} is not a finite number")
    n = int("".join(map(str, digits)) or "0")
    shift: int = exponent + (field.scale or 0)
    factor: int = 10 ** abs(shift)
    if shift >= 0:
        n *= factor
    else:
        n, rest = divmod(n, factor)
        if rest:
            raise EncodeError(path, f"{value} has more fractional digits than scale {field.scale}")
    return -n if sign else n


def _zoned(field: Field, n: int, codepage: str, path: str) -> bytes:
    zoned = zoned_bytes(codepage)
    width = field.length - (1 if field.sign_separate else 0)
    if n < 0 and not field.signed:
        raise EncodeError(path, f"{n} is negative and the item unsigned")
    text = str(abs(n))
    if len(text) > width:
        raise EncodeError(path, f"{n} needs more than {width} digits")
    digits = bytearray(zoned.digit0 + int(d) for d in text.rjust(width, "0"))
    if field.sign_separate:
        sign = zoned.minus if n < 0 else zoned.plus
        return bytes([sign]) + digits if field.sign_leading else bytes(digits) + bytes([sign])
    if field.signed:
        at = 0 if field.sign_leading else -1
        digit = digits[at] - zoned.digit0
        digits[at] = (zoned.negative if n < 0 else zoned.positive)[digit]
    return bytes(digits)


def _packed(field: Field, n: int, path: str) -> bytes:
    if n < 0 and not field.signed:
        raise EncodeError(path, f"{n} is negative and the item unsigned")
    nibbles = field.length * 2 - 1
    text = str(abs(n))
    if len(text) > nibbles:
        raise EncodeError(path, f"{n} needs more than {nibbles} digits")
    sign = "f" if not field.signed else ("d" if n < 0 else "c")
    return bytes.fromhex(text.rjust(nibbles, "0") + sign)


def _binary(field: Field, n: int, path: str) -> bytes:
    if field.usage is not Usage.COMP5 and field.digits and abs(n) >= 10**field.digits:
        raise EncodeError(path, f"{n} is beyond PIC digits {field.digits}")
    try:
        return n.to_bytes(field.length, "big", signed=field.signed)
    except OverflowError:
        raise EncodeError(path, f"{n} does not fit {field.length} bytes") from None


def _float(field: Field, value: Any, float_format: str, path: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise EncodeError(path, f"a number is needed, not {value!r}")
    number = float(value)
    try:
        if float_format == "hfp":
            return to_hfp(number, field.length)
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f"{number} is not a finite number")
        return struct.pack(">f" if field.length == 4 else ">d", number)
    except (ValueError, OverflowError) as exc:
        raise EncodeError(path, str(exc)) from None


def _text(field: Field, value: Any, codepage: str, path: str) -> bytes:
    if value is None:
        return bytes(field.length)  # low-values decode to null
    if not isinstance(value, str):
        raise EncodeError(path, f"a string is needed, not {value!r}")
    if len(value) > field.length:
        raise EncodeError(path, f"{len(value)} characters do not fit {field.length}")
    table = encode_table(codepage)
    try:
        encoded = bytes(table[c] for c in value)
    except KeyError as exc:
        raise EncodeError(path, f"character {exc.args[0]!r} is not in {codepage}") from None
    pad = bytes([space_byte(codepage)]) * (field.length - len(encoded))
    return pad + encoded if field.justified else encoded + pad


def _national(field: Field, value: Any, path: str) -> bytes:
    if value is None:
        return bytes(field.length)
    if not isinstance(value, str):
        raise EncodeError(path, f"a string is needed, not {value!r}")
    encoded = value.encode("utf-16-be")
    if len(encoded) > field.length:
        raise EncodeError(path, f"{len(encoded)} bytes do not fit {field.length}")
    pad = " ".encode("utf-16-be") * ((field.length - len(encoded)) // 2)
    return pad + encoded if field.justified else encoded + pad


def _edited(field: Field, value: Any, codepage: str, path: str) -> bytes:
    n = _scaled(field, value, path)
    picture = EditedPicture.parse(field.picture or "", blank_when_zero=field.blank_when_zero)
    try:
        text = picture.edit(abs(n), n < 0)
    except ValueError as exc:
        raise EncodeError(path, str(exc)) from None
    return _text(field, text, codepage, path)


def encode_value(
    field: Field, value: Any, *, codepage: str = "cp037", float_format: str = "hfp", path: str = ""
) -> bytes:
    """One occurrence of an elementary item; ``None`` writes a default (spaces, zero, nulls)."""
    path = path or field.path
    usage = field.usage
    if usage in (Usage.COMP1, Usage.COMP2):
        return _float(field, 0.0 if value is None else value, float_format, path)
    if usage in (Usage.POINTER, Usage.INDEX):
        n = 0 if value is None else _scaled(field, value, path)
        try:
            return n.to_bytes(field.length, "big")
        except OverflowError:
            raise EncodeError(path, f"{n} does not fit {field.length} bytes") from None
    if usage is Usage.NATIONAL:
        return _national(field, value, path)
    if usage is Usage.DBCS:
        if value is not None:
            raise EncodeError(path, "there is no DBCS codec")
        return b"\x40" * field.length
    if field.category is Category.NUMERIC_EDITED:
        return _edited(field, 0 if value is None else value, codepage, path)
    if field.category is not Category.NUMERIC:
        return _text(field, value, codepage, path)
    n = 0 if value is None else _scaled(field, value, path)
    if usage is Usage.COMP3:
        return _packed(field, n, path)
    if usage in (Usage.COMP, Usage.COMP5):
        return _binary(field, n, path)
    return _zoned(field, n, codepage, path)


# --- records ---------------------------------------------------------------------------------


class _Writer:
    def __init__(
        self, layout: Layout, values: Mapping[str, Any], codepage: str, float_format: str
    ) -> None:
        self.layout = layout
        self.values = values
        self.codepage = codepage
        self.float_format = float_format
        self.buffer = bytearray([space_byte(codepage)]) * layout.record_length
        self.counts: dict[str, int] = {}  # ODO count path -> the count written
        self.tables = {
            f.occurs.depending_on: f
            for f in layout.fields()
            if f.occurs is not None and f.occurs.depending_on
        }

    def find(self, path: str) -> Any:
        """The value at a layout path, when no table lies on the way (else None)."""
        node: Any = self.values
        for name in path.split(".")[1:]:
            if not isinstance(node, Mapping):
                return None
            node = node.get(name)
        return node

    def group(self, group: Field, start: int, values: Mapping[str, Any], path: str) -> int:
        """Write one occurrence of a group's members; return its length in the record."""
        shift = 0
        for child in group.children:
            if child.level in (66, 88) or child.renames is not None or child.redefines:
                continue
            at = start + (child.offset - group.offset) - shift
            shift += child.total_length - self.item(child, at, values, path)
        return group.length - shift

    def item(self, field: Field, start: int, parent: Mapping[str, Any], path: str) -> int:
        """Write every occurrence of ``field`` from ``start``; return the bytes it took."""
        here = f"{path}.{field.name}" if path else field.name
        value = None if field.is_filler else parent.get(field.name)
        if field.occurs is None:
            return self.occurrence(field, start, value, parent, here)
        items: Sequence[Any] = value if isinstance(value, list | tuple) else []
        count = field.occurs.max
        if field.occurs.depending_on:
            count = self.counts.get(field.occurs.depending_on, len(items))
        if not field.occurs.min <= count <= field.occurs.max:
            raise EncodeError(here, f"{count} occurrences, not {field.occurs.min}..")
        at = start
        for i in range(count):
            element = items[i] if i < len(items) else None
            at += self.occurrence(field, at, element, parent, f"{here}[{i}]")
        return at - start

    def occurrence(
        self, field: Field, start: int, value: Any, parent: Mapping[str, Any], path: str
    ) -> int:
        if field.is_group:
            members = value if isinstance(value, Mapping) else {}
            return self.group(field, start, members, path)
        if field.is_filler:
            return field.length
        if value is None and field.path in self.tables:
            # An absent ODO count: take it from the length of the table it governs.
            table = self.tables[field.path]
            found = parent[table.name] if table.name in parent else self.find(table.path)
            value = len(found) if isinstance(found, list | tuple) else 0
        data = encode_value(
            field, value, codepage=self.codepage, float_format=self.float_format, path=path
        )
        self.buffer[start : start + field.length] = data
        if field.path in self.tables:
            self.counts[field.path] = int(value if value is not None else 0)
        return field.length


def encode_record(
    layout: Layout,
    values: Mapping[str, Any],
    *,
    codepage: str = "cp037",
    float_format: str = "hfp",
) -> bytes:
    """The record bytes holding ``values`` (shaped like ``decode_to_dict``'s result).

    Absent items get defaults (spaces, zero); FILLER and slack bytes are spaces; an ODO count
    absent from ``values`` is set from the length of its table. REDEFINES alternatives are
    not written: the original item is.
    """
    writer = _Writer(layout, values, codepage, float_format)
    root = layout.root
    if root.is_group:
        length = writer.group(root, 0, values, root.name)
    else:
        length = writer.occurrence(root, 0, values.get(root.name), values, root.name)
    return bytes(writer.buffer[:length])
