"""Layout + options -> the flat plan the C decoder walks (compiled once per layout).

The plan is an array of ``bridge_op`` structs (native/bridge_core.h): OPEN/CLOSE ops for
groups (objects) and tables (arrays), one op per elementary item with its static offset,
length, digits, scale and flags, and its JSON key already escaped (``,"NAME":``) in a byte
blob so C only copies it. Code-page and sign tables are built here too, from the same
``bridge.codepages`` tables the reference decoder reads, so C makes no character decisions of
its own. Each op keeps a path template (``REC.T[{}].ITEM``) for error messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bridge import _native
from bridge._native import ffi, lib
from bridge.codepages import decode_table, space_byte
from bridge.copybook.layout import Category, Field, Layout, Usage
from bridge.decode.edited import EditedPicture
from bridge.decode.verdict import DecodeOptions, DecodeOptionsError, Reason
from bridge.decode.zoned import ZonedBytes, zoned_bytes

__all__ = ["REASONS", "Plan", "PlanOp", "compile_plan"]

# C reason codes -> Reason, in the contract's order (BRIDGE_R_* are 1-based).
REASONS: tuple[Reason, ...] = tuple(Reason)


def check_redefines(layout: Layout, chosen: Mapping[str, str]) -> None:
    """Each ORIGINAL=ALTERNATIVE choice names an item and an alternative that redefines it."""
    for original, alternative in chosen.items():
        try:
            alt = layout.field(alternative)
            layout.field(original)
        except KeyError as exc:
            raise DecodeOptionsError(f"redefines: no item {exc.args[0]}") from None
        if alt.redefines != original:
            raise DecodeOptionsError(f"redefines: {alternative} does not redefine {original}")


class PlanError(DecodeOptionsError):
    """A layout the native decoder cannot walk (an ODO count inside a table, ...)."""


@dataclass(frozen=True)
class PlanOp:
    """What Python keeps about one op: the item and its path with ``{}`` per subscript."""

    kind: int
    field: Field | None
    template: str


@dataclass
class _Op:
    kind: int
    field: Field | None
    template: str
    key: bytes = b""
    flags: int = 0
    offset: int = 0
    length: int = 0
    digits: int = 0
    scale: int = 0
    reason: int = 0
    aux: bytes = b""
    count: int = 0
    min_count: int = 0
    stride: int = 0
    odo: int = -1
    end: int = 0
    slot: int = 0
    emit: bytes = b""  # mapped events: the value's conversion (bridge/mapping/event_plan.py)


def _key(name: str, first: bool) -> bytes:
    text = json.dumps(name, ensure_ascii=False) + ":"
    return (text if first else "," + text).encode()


def _text_table(codepage: str) -> bytes:
    out = bytearray()
    for char in decode_table(codepage):
        if char is None:
            out += bytes(6) + b"\x01\x00"
            continue
        escaped = json.dumps(char, ensure_ascii=False)[1:-1].encode()
        flags = 2 if char == " " else 0
        out += escaped.ljust(6, b"\x00") + bytes([flags, len(escaped)])
    return bytes(out)


def _zone_sign_table(zoned: ZonedBytes) -> bytes:
    """The zoned sign position: signed items, then unsigned items (docs/decoding.md)."""
    r_zone = _native.R_BAD_ZONE << 5
    r_sign = _native.R_BAD_SIGN << 5
    signed = bytearray()
    unsigned = bytearray()
    for b in range(256):
        digit = zoned.digit(b)
        if digit is not None:
            signed.append(digit)
            unsigned.append(digit)
        elif b in zoned.signs:
            negative, digit = zoned.signs[b]
            signed.append((0x10 if negative else 0) | digit)
            unsigned.append(r_sign)  # a sign where none belongs
        else:
            signed.append(r_zone)
            unsigned.append(r_zone)
    return bytes(signed + unsigned)


def _packed_sign_table() -> bytes:
    signed = [0 if n in (0xC, 0xA, 0xE, 0xF) else 1 if n in (0xD, 0xB) else 2 for n in range(16)]
    unsigned = [0 if n in (0xC, 0xF) else 2 for n in range(16)]
    return bytes(signed + unsigned)


class _Builder:
    def __init__(self, layout: Layout, options: DecodeOptions) -> None:
        self.layout = layout
        self.options = options
        self.ops: list[_Op] = []
        self.counts = {
            f.occurs.depending_on
            for f in layout.fields()
            if f.occurs is not None and f.occurs.depending_on
        }
        self.count_ops: dict[str, int] = {}
        self.pending: list[tuple[int, str]] = []  # (table op, count path)
        self.slots = 0
        self.chosen = dict(options.redefines)
        self._check_redefines()

    def _check_redefines(self) -> None:
        check_redefines(self.layout, self.chosen)

    # -- which items appear ---------------------------------------------------------------

    def _shown(self, f: Field) -> bool:
        if f.level in (66, 88) or f.renames is not None or f.is_filler:
            return False
        if f.redefines is not None:
            return self.chosen.get(f.redefines) == f.path
        return f.path not in self.chosen

    @staticmethod
    def _decodable(f: Field) -> bool:
        return f.level not in (66, 88) and f.renames is None

    # -- ops ------------------------------------------------------------------------------

    def add(self, op: _Op) -> int:
        self.ops.append(op)
        return len(self.ops) - 1

    def build(self) -> list[_Op]:
        root = self.layout.root
        template = root.name
        self.add(_Op(_native.OP_OPEN_OBJ, root, template))
        if root.is_group:
            self.members(root, template, 0)
        else:
            self.item(root, template, _key(root.key, True), 0)
        self.close(0, _native.OP_CLOSE_OBJ)
        for table, count in self.pending:
            if count not in self.count_ops:
                raise PlanError(f"{self.ops[table].template}: its count {count} is not decoded")
            self.ops[table].odo = self.count_ops[count]
        return self.ops

    def close(self, open_index: int, kind: int) -> None:
        self.ops[open_index].end = self.add(_Op(kind, None, self.ops[open_index].template))

    def members(self, group: Field, template: str, tables: int) -> None:
        first = True
        for child in group.children:
            path = f"{template}.{child.key}"
            if self._shown(child):
                self.item(child, path, _key(child.key, first), tables)
                first = False
            elif self._decodable(child):
                self.hidden_counts(child, path, tables)

    def hidden_counts(self, f: Field, template: str, tables: int) -> None:
        """Count items inside omitted items still decode (hidden) for their tables."""
        if f.path in self.counts:
            self.field_op(f, template, b"", tables, hidden=True)
        for child in f.children:
            if self._decodable(child):
                self.hidden_counts(child, f"{template}.{child.key}", tables)

    def item(self, f: Field, template: str, key: bytes, tables: int) -> None:
        if f.occurs is None:
            self.element(f, template, key, tables)
            return
        occurs = f.occurs
        at = self.add(
            _Op(
                _native.OP_OPEN_ARR,
                f,
                template,
                key=key,
                offset=f.offset,
                length=f.length,
                count=occurs.max,
                min_count=occurs.min if occurs.depending_on else occurs.max,
                stride=f.length,
            )
        )
        if occurs.depending_on:
            self.pending.append((at, occurs.depending_on))
        self.element(f, template + "[{}]", b"", tables + 1)
        self.close(at, _native.OP_CLOSE_ARR)

    def element(self, f: Field, template: str, key: bytes, tables: int) -> None:
        if f.is_group:
            at = self.add(_Op(_native.OP_OPEN_OBJ, f, template, key=key, offset=f.offset))
            self.members(f, template, tables)
            self.close(at, _native.OP_CLOSE_OBJ)
        else:
            self.field_op(f, template, key, tables)

    def field_op(
        self, f: Field, template: str, key: bytes, tables: int, *, hidden: bool = False
    ) -> None:
        op = _Op(0, f, template, key=key, offset=f.offset, length=f.length)
        op.scale = f.scale or 0
        op.digits = f.digits or 0
        if f.signed:
            op.flags |= _native.F_SIGNED
        if f.sign_leading:
            op.flags |= _native.F_SIGN_LEADING
        if f.sign_separate:
            op.flags |= _native.F_SIGN_SEPARATE
        if hidden:
            op.flags |= _native.F_HIDDEN
        op.kind = self.kind(f, op)
        numeric = op.kind in (
            _native.OP_ZONED,
            _native.OP_PACKED,
            _native.OP_BINARY,
            _native.OP_EDITED,
        )
        if numeric and self.options.decimals_as_strings and op.scale != 0:
            op.flags |= _native.F_QUOTED
        if f.path in self.counts:
            if tables:
                raise PlanError(f"{f.path}: an ODO count inside a table")
            if op.kind not in (_native.OP_ZONED, _native.OP_PACKED, _native.OP_BINARY):
                raise PlanError(f"{f.path}: an ODO count must be numeric")
            if op.scale != 0:
                raise PlanError(f"{f.path}: an ODO count must be an integer")
            op.flags |= _native.F_COUNT
            op.slot = self.slots
            self.slots += 1
            if self.slots > _native.MAX_SLOTS:
                raise PlanError(f"more than {_native.MAX_SLOTS} ODO counts")
            self.count_ops[f.path] = len(self.ops)
        self.add(op)

    def kind(self, f: Field, op: _Op) -> int:
        """The op kind, in the order docs/decoding.md's table (and the reference) decide it."""
        usage = f.usage
        if usage in (Usage.COMP1, Usage.COMP2):
            if self.options.float_format == "ieee":
                op.flags |= _native.F_IEEE
            return _native.OP_FLOAT
        if usage in (Usage.POINTER, Usage.INDEX):
            op.flags &= ~_native.F_SIGNED
            op.scale = 0
            return _native.OP_BINARY
        if usage is Usage.NATIONAL:
            op.flags |= _native.F_LOW_NULL
            return _native.OP_NATIONAL
        if usage is Usage.DBCS:
            op.reason = _native.R_NO_CODEC
            return _native.OP_FAIL
        if usage is Usage.COMP3:
            op.flags |= _native.F_BLANK_CHECK
            return _native.OP_PACKED
        if usage is Usage.COMP:
            if self.options.trunc == "std":
                op.flags |= _native.F_TRUNC_STD
            return _native.OP_BINARY
        if usage is Usage.COMP5:
            return _native.OP_BINARY
        if f.category is Category.NUMERIC:
            op.flags |= _native.F_BLANK_CHECK
            return _native.OP_ZONED
        if f.category is Category.NUMERIC_EDITED:
            op.aux = _edited_mask(f)
            return _native.OP_EDITED
        op.flags |= _native.F_LOW_NULL
        return _native.OP_TEXT


_EDIT_CODES = {
    "9": _native.ED_9,
    "Z": _native.ED_Z,
    "*": _native.ED_STAR,
    ".": _native.ED_POINT,
    "+": _native.ED_PLUS,
    "-": _native.ED_MINUS,
    "$": _native.ED_CURRENCY,
    "CR": _native.ED_CR,
    "DB": _native.ED_DB,
    ",": _native.ED_COMMA,
    "B": _native.ED_B,
    "0": _native.ED_ZERO,
    "/": _native.ED_SLASH,
}


def _edited_mask(f: Field) -> bytes:
    """The numeric-edited picture for C: flags, the floating string, one code per symbol."""
    try:
        picture = EditedPicture.parse(f.picture or "", blank_when_zero=f.blank_when_zero)
    except ValueError:
        return bytes([_native.ED_BAD, 0, 0, 0])
    codes = [_EDIT_CODES.get(sym, 0) for sym in picture.symbols]
    if picture.width != f.length or 0 in codes or len(codes) > _native.MAX_NUM_LEN:
        return bytes([_native.ED_BAD, 0, 0, 0])
    floating = next(
        (
            (c, picture.symbols.index(c), len(picture.symbols) - 1 - picture.symbols[::-1].index(c))
            for c in "+-$"
            if picture.symbols.count(c) >= 2
        ),
        None,
    )
    flags = _native.ED_BLANK_ZERO if f.blank_when_zero else 0
    head = [flags, 0, 0, 0]
    if floating is not None:
        head = [flags, _EDIT_CODES[floating[0]], floating[1], floating[2]]
    return bytes(head + codes)


class Plan:
    """A compiled plan: the C structs (kept alive here) and the per-op path templates."""

    def __init__(
        self,
        layout: Layout,
        options: DecodeOptions,
        *,
        ops: list[_Op] | None = None,
        slots: int = 0,
        emitting: bool = False,
    ) -> None:
        """The record document's plan, or (``ops`` and their ODO ``slots``, as a builder such
        as bridge/mapping/event_plan.py lays them out) another shape of the same decode."""
        self.layout = layout
        self.options = options
        if ops is None:
            built = _Builder(layout, options)
            raw_ops = built.build()
            slots = built.slots
        else:
            raw_ops = ops
        self.ops: tuple[PlanOp, ...] = tuple(PlanOp(o.kind, o.field, o.template) for o in raw_ops)
        blob = bytearray()
        self._c_ops: Any = ffi.new("bridge_op[]", len(raw_ops))
        for i, o in enumerate(raw_ops):
            c = self._c_ops[i]
            c.kind = o.kind
            c.reason = o.reason
            c.flags = o.flags
            c.scale = o.scale
            c.digits = min(o.digits, 0xFFFF)
            c.offset = o.offset
            c.length = o.length
            c.key_off = len(blob)
            c.key_len = len(o.key)
            blob += o.key
            c.aux_off = len(blob)
            c.aux_len = len(o.aux)
            blob += o.aux
            c.emit_off = len(blob)
            c.emit_len = len(o.emit)
            blob += o.emit
            c.count = o.count
            c.min_count = o.min_count
            c.stride = o.stride
            c.odo = o.odo
            c.end = o.end
            c.slot = o.slot
        blob += bytes(32)  # so C may copy every key as one fixed 32-byte move
        self._blob: Any = ffi.new("uint8_t[]", bytes(blob))
        self._text: Any = ffi.new("uint8_t[]", _text_table(options.codepage))
        zoned = zoned_bytes(options.codepage)
        self._zone: Any = ffi.new("uint8_t[]", _zone_sign_table(zoned))
        self._packed: Any = ffi.new("uint8_t[]", _packed_sign_table())
        trims = {"none": _native.TRIM_NONE, "right": _native.TRIM_RIGHT}
        self.c: Any = ffi.new(
            "bridge_plan *",
            {
                "ops": self._c_ops,
                "n_ops": len(raw_ops),
                "blob_len": len(blob),
                "blob": self._blob,
                "text_table": self._text,
                "zone_sign": self._zone,
                "packed_sign": self._packed,
                "trim": trims.get(options.trim, _native.TRIM_BOTH),
                "space": space_byte(options.codepage),
                "plus": zoned.plus,
                "minus": zoned.minus,
                "digit0": zoned.digit0,
                "n_slots": slots,
                "emitting": 1 if emitting else 0,
            },
        )
        bad = ffi.new("uint32_t *")
        status = lib.bridge_plan_check(self.c, bad)
        if status == _native.E_PLAN:
            op = self.ops[bad[0]]
            raise PlanError(f"the C core refused the plan at op {bad[0]} ({op.template})")
        _native.ensure(status, "plan check")

    def path(self, op: int, subscripts: Iterator[int] | tuple[int, ...]) -> str:
        return self.ops[op].template.format(*subscripts)


def compile_plan(layout: Layout, options: DecodeOptions | None = None) -> Plan:
    """Compile ``layout`` once for ``options`` (default: cp037, trim right, TRUNC(STD), HFP)."""
    return Plan(layout, options or DecodeOptions())
