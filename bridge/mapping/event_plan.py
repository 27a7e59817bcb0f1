"""Mapped events written by the C core: a mapping compiled into a decode plan of its own.

The event plan walks the record as the decode plan does, but its keys are the event's property
names, groups are flattened and dotted targets nest as the mapping says, dropped items are not
decoded at all, and each value carries its conversion (native/emit.c): strings re-trimmed,
integers zero-filled into strings, decimals as exact strings at the target's scale, ISO dates
and timestamps from every source format, enum and boolean targets from their listed sources,
null values, then masking or the keyed hash of PII. One C call turns a batch of records into a
batch of published events, byte for byte what ``Mapper.apply`` and ``json.dumps`` give
(tests/unit/mapping/test_emit.py holds them to each other).

It decodes only records that passed validation (bridge/mapping/check_plan.py): conversions trust
their input. A mapping it cannot express raises :class:`EmitUnsupported`; the caller keeps the
Python mapper for that case (warned once), so the events are the same either way.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from collections.abc import Iterable, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR
from typing import Any

from bridge import _native
from bridge.codepages import decode_table
from bridge.copybook.layout import Category, Field, Layout, Usage
from bridge.decode.native import NativeDecoder
from bridge.decode.plan import Plan, PlanError, _Builder, _key, _Op
from bridge.decode.verdict import DecodeOptions
from bridge.mapping.cvalues import FORMATS, INT64, TRIMS, char_table, scaled
from bridge.mapping.lint import DATE_FORMAT_DIGITS
from bridge.mapping.model import CASE_PROPERTY, FieldSpec, PiiPolicyKind, TargetType
from bridge.mapping.plan import FieldPlan, TablePlan, is_numeric
from bridge.mapping.plan import Plan as MappingPlan

__all__ = ["EmitUnsupported", "EventDecoder", "EventPlan"]

lib = _native.lib
ffi = _native.ffi
_RECORD_BYTES = ffi.sizeof("bridge_record")
assert _RECORD_BYTES == 24 and ffi.offsetof("bridge_record", "doc_length") == 8
_LOW = 0 if sys.byteorder == "little" else 1  # doc_offset's low uint32 in the record

_HEADER = struct.Struct("<BBBBBB2xIIIIIIIII")  # bridge_core.h, BRIDGE_EMIT_HEADER bytes
_MAX_HASH_TEXT = 4096  # native/emit.c BRIDGE_MAX_HASH_TEXT


class EmitUnsupported(Exception):  # noqa: N818  (a fallback signal, as NativeUnsupported)
    """The mapping needs something the event plan does not do (internal: the caller falls
    back to the Python mapper)."""


# --- one value's emit bytes -------------------------------------------------------------


class _Emit:
    """The emit bytes of one op, built front to back; offsets count from their first byte."""

    def __init__(self) -> None:
        self.tail = bytearray()

    def put(self, data: bytes) -> int:
        at = _HEADER.size + len(self.tail)
        self.tail += data
        return at


def _scaled(value: Any, scale: int) -> int | None:
    """The value times 10**scale when that is a 64-bit integer (a value that is not, or has
    more fractional digits, can never equal a decoded number of that scale)."""
    n = scaled(value, scale)
    return n if n is not None and INT64[0] <= n <= INT64[1] else None


def _bound(value: Any, scale: int, up: bool) -> int | None:
    """A range end scaled to integers: rounded inwards, clamped to 64 bits."""
    n = scaled(value, scale, ROUND_CEILING if up else ROUND_FLOOR)
    return None if n is None else max(INT64[0], min(INT64[1], n))


def _number_list(emit: _Emit, entries: Iterable[tuple[int, int, bytes]]) -> tuple[int, int]:
    """(low, high, target JSON) entries; targets placed after the list."""
    entries = list(entries)
    at = emit.put(bytes(24 * len(entries)))
    for i, (low, high, target) in enumerate(entries):
        t_at = emit.put(target)
        start = at - _HEADER.size + 24 * i
        emit.tail[start : start + 24] = struct.pack("<qqII", low, high, t_at, len(target))
    return at, len(entries)


def _text_list(emit: _Emit, entries: Iterable[tuple[bytes, bytes]]) -> tuple[int, int]:
    entries = list(entries)
    body = b"".join(
        struct.pack("<H", len(s)) + s + struct.pack("<H", len(t)) + t for s, t in entries
    )
    return emit.put(body), len(entries)


def _encoded(text: Any, encode: dict[str, int]) -> bytes | None:
    if not isinstance(text, str) or any(c not in encode for c in text):
        return None
    return bytes(encode[c] for c in text)


def _field_emit(fp: FieldPlan, op: _Op, codepage: str, pii_key: bytes | None) -> tuple[bytes, int]:
    """The op's emit bytes and flags to add, for one mapped field."""
    spec, item = fp.spec, fp.item
    kind = op.kind
    text = kind == lib.BRIDGE_OP_TEXT
    national = kind == lib.BRIDGE_OP_NATIONAL
    numeric = kind in (
        lib.BRIDGE_OP_ZONED,
        lib.BRIDGE_OP_PACKED,
        lib.BRIDGE_OP_BINARY,
        lib.BRIDGE_OP_EDITED,
    )
    if not (text or national or numeric) or is_numeric(item) != numeric:
        raise EmitUnsupported(f"{item.path}: {item.usage.value} items")
    scale = op.scale
    emit = _Emit()
    table = decode_table(codepage)
    encode = {c: b for b, c in enumerate(table) if c is not None}
    chars_at = emit.put(char_table(codepage)) if text else 0
    conv, trim, fmt, window, width, extra_flags = lib.BRIDGE_EC_KEEP, 0, 0, 0, 0, 0
    decimal = 0
    null_at = n_null = choice_at = n_choice = 0

    if spec.null_values:
        if national:
            raise EmitUnsupported(f"{item.path}: null values on national text")
        if numeric:
            nulls = [_scaled(v, scale) for v in spec.null_values]
            null_at, n_null = _number_list(emit, [(n, n, b"") for n in nulls if n is not None])
        else:
            listed = [_encoded(v, encode) for v in spec.null_values]
            null_at, n_null = _text_list(emit, [(b, b"") for b in listed if b is not None])

    kind_ = spec.type
    if kind_ is TargetType.STRING:
        if numeric:
            if item.category is Category.FLOAT or item.usage in (Usage.COMP1, Usage.COMP2):
                raise EmitUnsupported(f"{item.path}: a float as a string")
            if scale > 0:
                extra_flags |= lib.BRIDGE_F_QUOTED  # canonical_decimal at the item's scale
            else:
                conv = lib.BRIDGE_EC_ZFILL
                width = (item.digits or 0) + max(0, -(item.scale or 0))
        else:
            trim = TRIMS[spec.trim]
    elif kind_ in (TargetType.INTEGER, TargetType.DECIMAL) and text:
        # A number held as text: int(text) or canonical_decimal(text, scale).
        conv = lib.BRIDGE_EC_TEXT_NUMBER
        decimal = int(kind_ is TargetType.DECIMAL)
        width = (spec.scale or 0) if decimal else 0
        if width > 256 or item.length > 256:
            raise EmitUnsupported(f"{item.path}: a number of {item.length} characters")
    elif kind_ is TargetType.INTEGER:
        if not numeric or scale > 0:
            raise EmitUnsupported(f"{item.path}: an integer from this item")
    elif kind_ is TargetType.DECIMAL:
        if not numeric or spec.scale is None or spec.scale < scale:
            raise EmitUnsupported(f"{item.path}: a decimal from this item")
        conv = lib.BRIDGE_EC_DECIMAL
        width = spec.scale - scale
        if width > 256:
            raise EmitUnsupported(f"{item.path}: scale {spec.scale}")
    elif kind_ in (TargetType.DATE, TargetType.TIMESTAMP):
        if national or spec.format not in FORMATS or (numeric and scale != 0):
            raise EmitUnsupported(f"{item.path}: {spec.format} from this item")
        conv = lib.BRIDGE_EC_DATE
        fmt = FORMATS[spec.format]
        window = spec.century_window or 0
        is_date = kind_ is TargetType.DATE
        width = DATE_FORMAT_DIGITS.get(spec.format, 10) if is_date else 14
    else:  # enum, boolean
        if national:
            raise EmitUnsupported(f"{item.path}: a choice from national text")
        conv = lib.BRIDGE_EC_CHOICE
        if kind_ is TargetType.BOOLEAN:
            pairs = [(v, b"true") for v in spec.true_values] + [
                (v, b"false") for v in spec.false_values
            ]
            ranges: list[tuple[Any, Any, bytes]] = []
        else:
            pairs = [
                (v, json.dumps(ev.target, ensure_ascii=False).encode())
                for ev in spec.values
                for v in ev.source
            ]
            ranges = [
                (lo, hi, json.dumps(ev.target, ensure_ascii=False).encode())
                for ev in spec.values
                for lo, hi in ev.ranges
            ]
        if numeric:
            # In the Python mapper's order: each value's sources, then its ranges.
            entries: list[tuple[int, int, bytes]] = []
            for ev_pairs in _by_target(spec, pairs, ranges):
                for kind_entry, a, b, target in ev_pairs:
                    if kind_entry == "value":
                        n = _scaled(a, scale)
                        if n is not None:
                            entries.append((n, n, target))
                    else:
                        low, high = _bound(a, scale, True), _bound(b, scale, False)
                        if low is not None and high is not None and low <= high:
                            entries.append((low, high, target))
            choice_at, n_choice = _number_list(emit, entries)
        else:
            sources = [(_encoded(v, encode), t) for v, t in pairs]
            choice_at, n_choice = _text_list(emit, [(b, t) for b, t in sources if b is not None])

    prot, prot_at, prot_len = lib.BRIDGE_PROTECT_NONE, 0, 0
    policy = spec.protection
    if policy is PiiPolicyKind.MASK:
        assert spec.pii is not None
        mchar = json.dumps(spec.pii.mask_char, ensure_ascii=False)[1:-1].encode()
        if not 1 <= len(mchar) <= 6:
            raise EmitUnsupported(f"{item.path}: mask character {spec.pii.mask_char!r}")
        arg = struct.pack("<IB", max(0, spec.pii.keep_last), len(mchar)) + mchar
        prot, prot_at, prot_len = lib.BRIDGE_PROTECT_MASK, emit.put(arg), len(arg)
    elif policy is PiiPolicyKind.HASH:
        if pii_key is None:
            raise EmitUnsupported(f"{item.path}: no PII key")
        if 3 * item.length + 80 > _MAX_HASH_TEXT:
            raise EmitUnsupported(f"{item.path}: a hashed value of {item.length} bytes")
        prot, prot_at, prot_len = lib.BRIDGE_PROTECT_HASH, emit.put(pii_key), len(pii_key)

    # The most the value can take (native/emit.c bridge_emit_ok recomputes and checks it):
    # generous, as every list target is shorter than all the emit bytes together.
    content = 6 * op.length + 2 * lib.BRIDGE_MAX_NUM_LEN + lib.BRIDGE_MAX_SCALE + 16
    bound = content + width + 256 + len(emit.tail)
    if prot == lib.BRIDGE_PROTECT_MASK:
        bound = 2 + bound * 6
    bound = max(bound, 66)
    header = _HEADER.pack(
        conv,
        prot,
        trim,
        fmt,
        window,
        decimal,
        width,
        n_null,
        null_at,
        n_choice,
        choice_at,
        chars_at,
        prot_at,
        prot_len,
        bound,
    )
    return header + bytes(emit.tail), extra_flags


def _by_target(
    spec: FieldSpec, pairs: Sequence[tuple[Any, bytes]], ranges: Sequence[tuple[Any, Any, bytes]]
) -> list[list[tuple[str, Any, Any, bytes]]]:
    """Entries grouped as the mapper tries them: per enum value, its sources then its ranges
    (booleans: the true values, then the false ones)."""
    if spec.type is TargetType.BOOLEAN:
        return [[("value", v, None, t) for v, t in pairs]]
    out = []
    for ev in spec.values:
        target = json.dumps(ev.target, ensure_ascii=False).encode()
        out.append(
            [("value", v, None, target) for v in ev.source]
            + [("range", lo, hi, target) for lo, hi in ev.ranges]
        )
    return out


# --- the plan ----------------------------------------------------------------------------


class _EventBuilder:
    """Lays out an event plan's ops from a mapping plan (bridge/mapping/plan.py)."""

    def __init__(
        self,
        layout: Layout,
        options: DecodeOptions,
        mplan: MappingPlan,
        pii_key: bytes | None,
        only: frozenset[str] | None = None,
    ) -> None:
        self.options = options
        self.layout = layout
        self.mplan = mplan
        case = mplan.case
        self.members: Sequence[FieldPlan | TablePlan] = self.mplan.members
        # A multi-layout file's events open with the case (Mapper.apply puts it first).
        self.prefix = b""
        if only is not None:  # some top-level properties (the message keys), nothing else
            self.members = [
                m for m in self.members if isinstance(m, FieldPlan) and m.item.path in only
            ]
        elif case is not None:
            self.prefix = (json.dumps(CASE_PROPERTY) + ":" + json.dumps(case) + ",").encode()
            if not self.members:
                raise EmitUnsupported(f"case {case}: no property besides the case")
        self.pii_key = pii_key
        self.b = _Builder(self.layout, self.options)
        self.mapped = {m.item.path for m in self._walk(self.members)}

    def _walk(self, members: Sequence[FieldPlan | TablePlan]) -> list[FieldPlan | TablePlan]:
        out: list[FieldPlan | TablePlan] = []
        for m in members:
            out.append(m)
            if isinstance(m, TablePlan):
                out.extend(self._walk(m.members))
        return out

    def build(self) -> tuple[list[_Op], int]:
        b = self.b
        self._refuse_shifted_tables()
        root = self.layout.root
        b.add(_Op(lib.BRIDGE_OP_OPEN_OBJ, root, root.name))
        self.scope(self.members, root.name, 0, hidden_counts_in=root)
        b.close(0, lib.BRIDGE_OP_CLOSE_OBJ)
        for table, count in b.pending:
            if count not in b.count_ops:
                raise EmitUnsupported(f"{b.ops[table].template}: its count is not decoded")
            b.ops[table].odo = b.count_ops[count]
        return b.ops, b.slots

    def _refuse_shifted_tables(self) -> None:
        """An ODO table moves what follows it: every such table must be walked, so one the
        mapping drops keeps the Python mapper."""
        for f in self.layout.fields():
            dropped = f.occurs is not None and f.occurs.depending_on and f.path not in self.mapped
            if dropped and any(o.offset >= f.offset + f.length for o in self.layout.fields()):
                raise EmitUnsupported(f"{f.path}: a dropped OCCURS DEPENDING ON table")

    def scope(
        self,
        members: Sequence[FieldPlan | TablePlan],
        template: str,
        tables: int,
        hidden_counts_in: Field | None = None,
    ) -> None:
        """One event object's members; dotted targets open nested objects, in one run each."""
        b = self.b
        counts = self._unmapped_counts() if hidden_counts_in is not None else []
        open_path: list[str] = []
        open_ops: list[int] = []
        firsts: list[bool] = [True]
        closed: set[tuple[str, ...]] = set()
        pending_counts = sorted(counts, key=lambda f: f.offset)

        def emit_counts_before(offset: int) -> None:
            while pending_counts and pending_counts[0].offset < offset:
                f = pending_counts.pop(0)
                b.field_op(f, f.path, b"", 0, hidden=True)

        for m in members:
            emit_counts_before(m.item.offset)
            path = list(m.target[:-1])
            common = 0
            while common < min(len(path), len(open_path)) and path[common] == open_path[common]:
                common += 1
            while len(open_path) > common:
                closed.add(tuple(open_path))
                open_path.pop()
                b.close(open_ops.pop(), lib.BRIDGE_OP_CLOSE_OBJ)
                firsts.pop()
            while len(open_path) < len(path):
                name = path[len(open_path)]
                open_path.append(name)
                if tuple(open_path) in closed:
                    raise EmitUnsupported(
                        f"{m.item.path}: target object {'.'.join(open_path)} "
                        "is split by other properties"
                    )
                key = _key(name, firsts[-1])
                if hidden_counts_in is not None and len(open_path) == 1 and self.prefix:
                    key, self.prefix = self.prefix + key, b""  # the root's first property
                firsts[-1] = False
                open_ops.append(b.add(_Op(lib.BRIDGE_OP_OPEN_OBJ, m.item, template, key=key)))
                firsts.append(True)
            key = _key(m.target[-1], firsts[-1])
            if hidden_counts_in is not None and not open_path and self.prefix:
                key, self.prefix = self.prefix + key, b""  # the root's first property
            firsts[-1] = False
            path_template = f"{template}.{m.item.key}" if tables == 0 else m.item.path
            if isinstance(m, TablePlan):
                self.table(m, key, tables)
            elif m.repeated:
                self.repeated(m, key, tables)
            else:
                self.field(m, key, path_template, tables)
        emit_counts_before(1 << 62)
        while open_ops:
            b.close(open_ops.pop(), lib.BRIDGE_OP_CLOSE_OBJ)

    def _unmapped_counts(self) -> list[Field]:
        return [
            f for f in self.layout.fields() if f.path in self.b.counts and f.path not in self.mapped
        ]

    def field(self, fp: FieldPlan, key: bytes, template: str, tables: int) -> None:
        b = self.b
        b.field_op(fp.item, fp.item.path, key, tables)
        op = b.ops[-1]
        emit, flags = _field_emit(fp, op, self.options.codepage, self.pii_key)
        op.emit = emit
        op.flags |= flags

    def repeated(self, fp: FieldPlan, key: bytes, tables: int) -> None:
        b = self.b
        f = fp.item
        assert f.occurs is not None
        at = self._open_array(f, key)
        self.field(fp, b"", f.path + "[{}]", tables + 1)
        b.close(at, lib.BRIDGE_OP_CLOSE_ARR)

    def table(self, tp: TablePlan, key: bytes, tables: int) -> None:
        b = self.b
        f = tp.item
        at = self._open_array(f, key)
        obj = b.add(_Op(lib.BRIDGE_OP_OPEN_OBJ, f, f.path + "[{}]", offset=f.offset))
        self.scope(tp.members, f.path + "[{}]", tables + 1)
        b.close(obj, lib.BRIDGE_OP_CLOSE_OBJ)
        b.close(at, lib.BRIDGE_OP_CLOSE_ARR)

    def _open_array(self, f: Field, key: bytes) -> int:
        b = self.b
        occurs = f.occurs
        assert occurs is not None
        at = b.add(
            _Op(
                lib.BRIDGE_OP_OPEN_ARR,
                f,
                f.path,
                key=key,
                offset=f.offset,
                length=f.length,
                count=occurs.max,
                min_count=occurs.min if occurs.depending_on else occurs.max,
                stride=f.length,
            )
        )
        if occurs.depending_on:
            b.pending.append((at, occurs.depending_on))
        return at


class EventPlan:
    """One case of a mapping compiled into a decode plan whose output is the published events
    (with ``only``, objects of just those top-level fields: the message keys). Raises
    EmitUnsupported for a mapping the event plan cannot express."""

    def __init__(
        self,
        layout: Layout,
        options: DecodeOptions,
        mplan: MappingPlan,
        pii_key: bytes | None = None,
        *,
        only: frozenset[str] | None = None,
    ) -> None:
        builder = _EventBuilder(layout, options, mplan, pii_key, only)
        ops, slots = builder.build()
        self.layout = builder.layout
        self.options = builder.options
        try:
            self.plan = Plan(layout, options, ops=ops, slots=slots, emitting=True)
        except PlanError as exc:  # the C check refused it: a builder bug, never a guess
            raise EmitUnsupported(str(exc)) from exc


class EventDecoder(NativeDecoder):
    """Decodes records straight into their published events (one JSON Lines batch per call)."""

    def __init__(self, events: EventPlan) -> None:
        super().__init__(events.layout, events.options, plan=events.plan)

    def events(self, data: Any, offsets: Sequence[int], lengths: Sequence[int]) -> list[bytes]:
        """The events of the records at ``offsets`` in ``data`` (records that passed
        validation: a decode error here is a bug, raised, never an event)."""
        out: list[bytes] = []
        done = 0
        while done < len(offsets):
            batch = self.decode_batch(data, offsets[done:], lengths[done:])
            if batch.errors:
                raise EmitUnsupported(f"an event did not decode: {batch.errors}")
            out.extend(batch.documents())
            done += batch.count
        return out

    def event_buffer(
        self, data: Any, offsets: Sequence[int], lengths: Sequence[int]
    ) -> tuple[bytes, array[int], array[int]]:
        """The events as C wrote them, in one buffer (each followed by a newline), with each
        one's start and size in it."""
        parts: list[bytes] = []
        starts, sizes = array("Q"), array("I")
        base = done = 0
        while done < len(offsets):
            batch = self.decode_batch(data, offsets[done:], lengths[done:])
            if batch.errors:
                raise EmitUnsupported(f"an event did not decode: {batch.errors}")
            # bridge_record: uint64 doc_offset, uint32 doc_length, then three uint32 (24 bytes);
            # the output buffer stays below 4 GiB, so doc_offset's high half is 0.
            words = array("I")
            words.frombytes(ffi.buffer(self._records, batch.count * _RECORD_BYTES))
            starts.extend(base + at for at in words[_LOW::6])
            sizes.extend(words[2::6])
            parts.append(batch.jsonl.tobytes())
            base += len(batch.jsonl)
            done += batch.count
        return b"".join(parts), starts, sizes
