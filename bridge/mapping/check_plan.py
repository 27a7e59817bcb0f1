"""The C check plan: a mapping's constraints compiled into the C decode plan.

``CheckPlan(layout, options, mapping_plan, schema)`` compiles, for every mapped field, what
apply.py's conversion and the clear record schema require of its value (required, numeric
bounds and enums on the exact scaled integer, string lengths in characters, enums, simple
anchored patterns, date and timestamp validity, null values) into ``bridge_check`` structs
(native/validate.c) carried by the decode plan. C then reports each broken rule in the
decoder's error array, so a batch decodes and validates in one call and Python builds objects
only for failing records: their errors become :class:`Violation` objects in the same format
as jsonschema's (field path, rule, expected, actual, file offset, length, raw hex).

Anything the C checks do not implement (a pattern with groups or alternation, floats, national
text, text converted to numbers, ...) raises :class:`NativeUnsupported`; the program
(program.py) then warns and validates the case's records with jsonschema: validation is never
skipped. docs/backlog.md lists the shapes refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from bridge._bridge_native import ffi, lib
from bridge.codepages import decode_table
from bridge.copybook.layout import Field, Layout
from bridge.decode.native import NativeDecoder
from bridge.decode.plan import REASONS, compile_plan
from bridge.decode.verdict import DecodeOptions, FieldError
from bridge.mapping.convert import ConversionError, make_converter
from bridge.mapping.cvalues import FORMATS, INT64, TRIMS, char_table, scaled
from bridge.mapping.lint import DATE_FORMAT_DIGITS
from bridge.mapping.model import FieldSpec, TargetType
from bridge.mapping.plan import FieldPlan, TablePlan, is_numeric
from bridge.mapping.plan import Plan as MappingPlan
from bridge.mapping.reasons import CHECK_CONVERT, CHECK_SCHEMA, Violation, jsonable

__all__ = ["CheckPlan", "NativeUnsupported", "ValidatingDecoder"]

log = logging.getLogger(__name__)

V_FIRST: int = lib.BRIDGE_V_FIRST
V_TYPE: int = lib.BRIDGE_V_TYPE
V_CONVERT_TYPE: int = lib.BRIDGE_V_CONVERT_TYPE
V_MINIMUM: int = lib.BRIDGE_V_MINIMUM
V_MAXIMUM: int = lib.BRIDGE_V_MAXIMUM
V_ENUM: int = lib.BRIDGE_V_ENUM
V_MIN_LENGTH: int = lib.BRIDGE_V_MIN_LENGTH
V_MAX_LENGTH: int = lib.BRIDGE_V_MAX_LENGTH
V_PATTERN: int = lib.BRIDGE_V_PATTERN
V_CHOICE: int = lib.BRIDGE_V_CHOICE
V_FORMAT: int = lib.BRIDGE_V_FORMAT
V_SCALE: int = lib.BRIDGE_V_SCALE

# Keys of a clear value schema (record_schema.value_schema) the native checks account for.
_SCHEMA_KEYS = frozenset(
    {"type", "maxLength", "minLength", "pattern", "enum", "minimum", "maximum"}
    | {"decimalMinimum", "decimalMaximum", "format", "description"}
)
_NUMERIC_OPS = (lib.BRIDGE_OP_ZONED, lib.BRIDGE_OP_PACKED, lib.BRIDGE_OP_BINARY)
_FIELD_OPS = (lib.BRIDGE_OP_TEXT, *_NUMERIC_OPS, lib.BRIDGE_OP_EDITED)


class NativeUnsupported(Exception):  # noqa: N818 (a verdict on a mapping, not a failure)
    """A mapping (or one field of it) the native checks cannot decide exactly."""


# --- values for C ----------------------------------------------------------------------------


def _in_range(n: int) -> int:
    if not INT64[0] <= n <= INT64[1]:
        raise NativeUnsupported(f"bound {n} does not fit 64 bits")
    return n


def _numbers(ranges: Sequence[tuple[int, int]]) -> bytes:
    return b"".join(struct.pack("=qq", _in_range(lo), _in_range(hi)) for lo, hi in ranges)


def _strings(items: Sequence[bytes]) -> bytes:
    return b"".join(struct.pack("<H", len(s)) + s for s in items)


class _Text:
    """The code page as C sees it: one character per byte, an injective table."""

    def __init__(self, codepage: str) -> None:
        table = decode_table(codepage)
        chars = [c for c in table if c is not None]
        if any(len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise NativeUnsupported(f"code page {codepage} is not one character per byte")
        self.table: tuple[str | None, ...] = table
        self.encode = {c: b for b, c in enumerate(table) if c is not None}
        self.chars = char_table(codepage)

    def encoded(self, text: str) -> bytes | None:
        out = bytearray()
        for c in text:
            if c not in self.encode:
                return None
            out.append(self.encode[c])
        return bytes(out)


_ASCII: tuple[str | None, ...] = tuple(chr(b) if b < 128 else None for b in range(256))

# --- patterns: ^, atoms with counts, optional $ -----------------------------------------------

_QUANT = re.compile(r"\{([0-9]+)(,([0-9]*))?\}|[?*+]")


def _atom_end(pattern: str, i: int) -> int:
    """The end of the atom at ``i`` (a class, an escape, ``.`` or a literal)."""
    c = pattern[i]
    if c == "[":
        j = i + 1
        if j < len(pattern) and pattern[j] == "^":
            j += 1
        if j < len(pattern) and pattern[j] == "]":
            j += 1
        while j < len(pattern) and pattern[j] != "]":
            if pattern[j] == "[":
                raise NativeUnsupported("nested class")
            j += 2 if pattern[j] == "\\" else 1
        if j >= len(pattern):
            raise NativeUnsupported("unclosed class")
        return j + 1
    if c == "\\":
        if i + 1 >= len(pattern) or pattern[i + 1] in "bBAZzG0123456789":
            raise NativeUnsupported(f"escape {pattern[i : i + 2]!r}")
        return i + 2
    if c in "()|{}*+?^$":
        raise NativeUnsupported(f"{c!r} in a pattern")
    return i + 1


def compile_pattern(pattern: str, domain: Sequence[str | None]) -> bytes:
    """Atoms for validate.c, matching exactly as ``re.search(pattern, text)`` does."""
    if not pattern.startswith("^"):
        raise NativeUnsupported(f"pattern {pattern!r} is not anchored at the start")
    body, anchored = pattern[1:], False
    if body.endswith("$") and not body.endswith("\\$"):
        body, anchored = body[:-1], True
    atoms = bytearray()
    i = 0
    while i < len(body):
        end = _atom_end(body, i)
        atom = body[i:end]
        low, high = 1, 1
        q = _QUANT.match(body, end)
        if q is not None:
            text = q.group(0)
            if text == "?":
                low, high = 0, 1
            elif text == "*":
                low, high = 0, 0xFFFF
            elif text == "+":
                low, high = 1, 0xFFFF
            else:
                low = int(q.group(1))
                high = low if q.group(2) is None else int(q.group(3) or 0xFFFF)
            end = q.end()
            if end < len(body) and body[end] in "?+":
                raise NativeUnsupported("lazy or possessive quantifier")
        if low > high or high > 0xFFFF:
            raise NativeUnsupported(f"count {{{low},{high}}}")
        regex = re.compile(atom)
        members = bytearray(32)
        for b, ch in enumerate(domain):
            if ch is not None and regex.fullmatch(ch):
                members[b >> 3] |= 1 << (b & 7)
        atoms += struct.pack("<HH", low, high) + members
        i = end
        if len(atoms) // 36 > lib.BRIDGE_MAX_ATOMS:
            raise NativeUnsupported("too many pattern atoms")
    return bytes([1 if anchored else 0]) + bytes(atoms)


# --- one field -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    check: str
    rule: str
    expected: Any


@dataclass(frozen=True)
class _Site:
    """A checked field: where its value is in the event and the decoded document, its rules."""

    op: int
    pointer: str  # with {} per table subscript
    keys: tuple[str | None, ...]  # decoded keys; None takes the next subscript
    spec: FieldSpec
    item: Field
    rules: dict[int, _Rule]


@dataclass
class _Compiled:
    fields: dict[str, Any]
    blob: bytearray
    rules: dict[int, _Rule]

    def put(self, data: bytes) -> tuple[int, int]:
        at = len(self.blob)
        self.blob += data
        return at, len(data)


def _compile_field(
    fp: FieldPlan, schema: Mapping[str, Any], op: Any, text: _Text, blob: bytearray
) -> _Compiled:
    spec, item = fp.spec, fp.item
    extra = set(schema) - _SCHEMA_KEYS - {k for k in schema if k.startswith("x-")}
    if extra:
        raise NativeUnsupported(f"schema keywords {sorted(extra)}")
    kind, scale = int(op.kind), int(op.scale)
    is_text = kind == lib.BRIDGE_OP_TEXT
    if kind not in _FIELD_OPS or is_text == is_numeric(item):
        raise NativeUnsupported(f"{item.path}: {item.usage.value} items")
    out = _Compiled({}, blob, {})
    f = out.fields
    rules = 0

    def rule(bit: int, check: str, name: str, expected: Any) -> None:
        nonlocal rules
        rules |= 1 << bit
        out.rules[bit] = _Rule(check, name, expected)

    def strings(values: Sequence[Any], domain: _Text | None) -> tuple[int, int, int]:
        encoded = []
        for v in values:
            if isinstance(v, str):
                e = domain.encoded(v) if domain else (v.encode() if v.isascii() else None)
                if e is not None:
                    encoded.append(e)
        return (*out.put(_strings(encoded)), len(encoded))

    def numbers(values: Sequence[Any], ranges: Sequence[tuple[Any, Any]] = ()) -> tuple[int, ...]:
        pairs = [(n, n) for n in (scaled(v, scale) for v in values) if n is not None]
        for lo, hi in ranges:
            low, high = scaled(lo, scale, ROUND_CEILING), scaled(hi, scale, ROUND_FLOOR)
            if low is not None and high is not None and low <= high:
                pairs.append((low, high))
        pairs = [(max(lo, INT64[0]), min(hi, INT64[1])) for lo, hi in pairs if lo <= INT64[1]]
        return (*out.put(_numbers([p for p in pairs if p[1] >= INT64[0]])), len(pairs))

    if spec.required:
        rule(V_TYPE, CHECK_SCHEMA, "type", schema["type"])
    if spec.null_values:
        if is_text:
            f["null_off"], f["null_len"], f["n_null"] = strings(spec.null_values, text)
        else:
            f["null_off"], f["null_len"], f["n_null"] = numbers(spec.null_values)
    kind_ = spec.type
    if kind_ is TargetType.STRING:
        f["target"] = lib.BRIDGE_CT_STRING
        f["trim"] = TRIMS[spec.trim]
        if not is_text:
            if scale > 0:
                f["width"] = 0
            else:
                f["width"] = (item.digits or 0) + max(0, -scale)
        domain = text if is_text else None
        if "maxLength" in schema:
            f["max_len"] = schema["maxLength"]
            rule(V_MAX_LENGTH, CHECK_SCHEMA, "maxLength", schema["maxLength"])
        if "minLength" in schema:
            f["min_len"] = schema["minLength"]
            rule(V_MIN_LENGTH, CHECK_SCHEMA, "minLength", schema["minLength"])
        if "enum" in schema:
            f["enum_off"], f["enum_len"], f["n_enum"] = strings(schema["enum"], domain)
            rule(V_ENUM, CHECK_SCHEMA, "enum", schema["enum"])
        if "pattern" in schema:
            if is_text and item.length > lib.BRIDGE_MAX_CHECK_TEXT:
                raise NativeUnsupported(f"{item.path}: a pattern on {item.length} characters")
            atoms = compile_pattern(schema["pattern"], text.table if is_text else _ASCII)
            f["pat_off"], f["pat_len"] = out.put(atoms)
            rule(V_PATTERN, CHECK_SCHEMA, "pattern", schema["pattern"])
    elif kind_ in (TargetType.INTEGER, TargetType.DECIMAL):
        decimal = kind_ is TargetType.DECIMAL
        if is_text:
            # C parses the text and brings it to the target's scale (validate.c text_number):
            # bounds and enums are scaled to that, not to the item's (text has none).
            if item.length > lib.BRIDGE_MAX_CHECK_TEXT:
                raise NativeUnsupported(f"{item.path}: a number in {item.length} characters")
            scale = (spec.scale or 0) if decimal else 0
            rule(V_CONVERT_TYPE, CHECK_CONVERT, "type", "number" if decimal else "integer")
        f["target"] = lib.BRIDGE_CT_DECIMAL if decimal else lib.BRIDGE_CT_INTEGER
        low, high = ("decimalMinimum", "decimalMaximum") if decimal else ("minimum", "maximum")
        if low in schema:
            f["min"] = _in_range(scaled(schema[low], scale, ROUND_CEILING) or 0)
            rule(V_MINIMUM, CHECK_SCHEMA, low, schema[low])
        if high in schema:
            f["max"] = _in_range(scaled(schema[high], scale, ROUND_FLOOR) or 0)
            rule(V_MAXIMUM, CHECK_SCHEMA, high, schema[high])
        if "enum" in schema:
            f["enum_off"], f["enum_len"], f["n_enum"] = numbers(
                [v for v in schema["enum"] if v is not None]
            )
            rule(V_ENUM, CHECK_SCHEMA, "enum", schema["enum"])
        if decimal:
            assert spec.precision is not None and spec.scale is not None
            f["scale"] = spec.scale
            f["whole"] = max(0, spec.precision - spec.scale)
            rule(V_PATTERN, CHECK_SCHEMA, "pattern", schema["pattern"])
            rule(V_SCALE, CHECK_CONVERT, "scale", spec.scale)
        else:
            rule(V_CONVERT_TYPE, CHECK_CONVERT, "type", "integer")
    elif kind_ in (TargetType.DATE, TargetType.TIMESTAMP):
        assert spec.format is not None
        if spec.format not in FORMATS or (not is_text and scale > 0):
            raise NativeUnsupported(f"{item.path}: {spec.format} from this item")
        f["target"] = lib.BRIDGE_CT_DATE
        f["format"] = FORMATS[spec.format]
        f["window"] = spec.century_window or 0
        date = kind_ is TargetType.DATE
        f["width"] = DATE_FORMAT_DIGITS.get(spec.format, 10) if date else 14
        name = "date-format" if date else "timestamp-format"
        rule(V_FORMAT, CHECK_CONVERT, name, spec.format)
    else:  # enum, boolean: the source value must be listed
        f["target"] = lib.BRIDGE_CT_CHOICE
        if spec.required and "enum" in schema:  # broken by null alone
            rule(V_ENUM, CHECK_SCHEMA, "enum", schema["enum"])
        if kind_ is TargetType.BOOLEAN:
            listed = [*spec.true_values, *spec.false_values]
            ranges: list[tuple[Any, Any]] = []
            rule(V_CHOICE, CHECK_CONVERT, "boolean", listed)
        else:
            listed = [s for ev in spec.values for s in ev.source]
            ranges = [r for ev in spec.values for r in ev.ranges]
            expected = listed + [f"{lo}..{hi}" for lo, hi in ranges]
            rule(V_CHOICE, CHECK_CONVERT, "enum", expected)
        if is_text:
            f["choice_off"], f["choice_len"], f["n_choice"] = strings(listed, text)
        else:
            f["choice_off"], f["choice_len"], f["n_choice"] = numbers(listed, ranges)
    f["rules"] = rules
    return out


# --- the decoder that validates --------------------------------------------------------------


_ERROR = struct.Struct("=IIQIHHI4xq8I")  # bridge_error, as the C compiler lays it out
# Columns of the error array read without unpacking it: bridge_error.record (uint32 at byte 0)
# and bridge_error.reason (uint16 at byte 20), as strides of uint32 and uint16 views.
_RECORD_COLUMN = (0, _ERROR.size // 4)
_REASON_COLUMN = (20 // 2, _ERROR.size // 2)


class RuleErrors(Mapping[int, list[tuple[int, ...]]]):
    """A batch's broken rules by batch index, unpacked on first lookup.

    Which records broke a rule is known at once (a C-speed pass over the record column):
    counting invalid records costs no Python object per error. The error tuples are unpacked
    the first time a record's are asked for.
    """

    def __init__(self, raw: bytes, records: frozenset[int]) -> None:
        self._raw = raw
        self._records = records
        self._by_record: dict[int, list[tuple[int, ...]]] | None = None

    def _unpacked(self) -> dict[int, list[tuple[int, ...]]]:
        if self._by_record is None:
            by_record: dict[int, list[tuple[int, ...]]] = {}
            for e in _ERROR.iter_unpack(self._raw):
                if e[0] in self._records and e[4] >= V_FIRST:
                    by_record.setdefault(e[0], []).append(e)
            self._by_record = by_record
        return self._by_record

    def __getitem__(self, index: int) -> list[tuple[int, ...]]:
        if index not in self._records:
            raise KeyError(index)
        return self._unpacked()[index]

    def __contains__(self, index: object) -> bool:
        return index in self._records

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._records))

    def __len__(self) -> int:
        return len(self._records)


_NO_RULE_ERRORS = RuleErrors(b"", frozenset())


class ValidatingDecoder(NativeDecoder):
    """A NativeDecoder whose plan carries checks.

    After each batch, ``rule_errors`` maps a batch index to the rules its record broke (only
    records that decoded; valid records are absent), as copies of C's errors: valid after the
    next call too. ``violations`` turns one record's into Violations, for the audit document.
    """

    def __init__(self, validation: CheckPlan) -> None:
        super().__init__(validation.layout, validation.options, plan=validation.plan)
        self.validation = validation
        self.rule_errors: RuleErrors = _NO_RULE_ERRORS
        if ffi.sizeof("bridge_error") != _ERROR.size:
            raise NativeUnsupported("bridge_error is not laid out as expected")

    def _collect_errors(
        self,
        data: Any,
        base: int,
        offsets: Sequence[int] | None,
        lengths: Sequence[int] | None,
        fixed: int,
    ) -> dict[int, tuple[FieldError, ...]]:
        b = self._batch
        used = int(b.errors_used)
        if used == 0:
            self.rule_errors = _NO_RULE_ERRORS
            return {}
        raw = ffi.buffer(self._errors, used * _ERROR.size)[:]
        view = memoryview(raw)
        start, step = _REASON_COLUMN
        reasons = view.cast("H")[start::step]
        start, step = _RECORD_COLUMN
        records = view.cast("I")[start::step]
        out: dict[int, list[FieldError]] = {}
        if min(reasons) >= V_FIRST:  # the usual batch: broken rules only
            self.rule_errors = RuleErrors(raw, frozenset(records))
            return {}
        # Decode errors become FieldErrors, as the plain decoder gives them.
        for k, (index, reason) in enumerate(zip(records, reasons, strict=True)):
            if reason >= V_FIRST:
                continue
            if offsets is not None and lengths is not None:
                rec_start, rec_end = offsets[index], offsets[index] + lengths[index]
            else:
                rec_start, rec_end = index * fixed, (index + 1) * fixed
            rec_base = (
                int(b.file_offsets[index]) - rec_start if b.file_offsets != ffi.NULL else base
            )
            out.setdefault(index, []).append(
                self._field_error(self._errors[k], data, rec_base, rec_start, rec_end)
            )
        # A record that did not decode is judged by its decode errors alone.
        self.rule_errors = RuleErrors(
            raw,
            frozenset(i for i, r in zip(records, reasons, strict=True) if r >= V_FIRST)
            - out.keys(),
        )
        return {i: tuple(errs) for i, errs in out.items()}

    def violations(
        self, index: int, document: bytes, record: bytes, record_offset: int
    ) -> tuple[Violation, ...]:
        """The batch record's broken rules (none for a valid record) as Violations: its
        decoded ``document``, its bytes and their file offset give values and raw hex."""
        errors = self.rule_errors.get(index)
        if not errors:
            return ()
        return self.validation.violations(errors, document, record, record_offset)


# --- a case, compiled ------------------------------------------------------------------------


def _sites(
    members: Sequence[FieldPlan | TablePlan],
    schema: Mapping[str, Any],
    pointer: str,
    keys: tuple[str | None, ...],
) -> Iterator[tuple[FieldPlan, Mapping[str, Any], str, tuple[str | None, ...]]]:
    """Each mapped field with its value schema, pointer template and decoded key path."""
    for m in members:
        here = pointer + "".join(
            "/" + t.replace("~", "~0").replace("/", "~1").replace("{", "{{").replace("}", "}}")
            for t in m.target
        )
        node = schema
        for part in m.target:
            node = node["properties"][part]
        path = keys + m.keys
        if isinstance(m, TablePlan):
            yield from _sites(m.members, node["items"], here + "/{}", (*path, None))
        elif m.repeated:
            yield m, node["items"], here + "/{}", (*path, None)
        else:
            yield m, node, here, path


class CheckPlan:
    """One case of a mapping, its constraints compiled into a decode plan that validates as it
    decodes (``ValidatingDecoder(checks)`` runs it). Raises NativeUnsupported for a mapping
    the C checks cannot decide exactly."""

    def __init__(
        self,
        layout: Layout,
        options: DecodeOptions,
        mplan: MappingPlan,
        schema: Mapping[str, Any],
    ) -> None:
        if options.decimals_as_strings:
            raise NativeUnsupported("decimals_as_strings")
        self.layout = layout
        self.options = options
        self.text = _Text(options.codepage)
        self.plan = plan = compile_plan(layout, options)
        ops = {
            op.field.path: i
            for i, op in enumerate(plan.ops)
            if op.kind in _FIELD_OPS and op.field is not None
        }
        self._c_checks: Any = ffi.new("bridge_check[]", len(plan.ops))
        blob = bytearray()
        self.sites: dict[int, _Site] = {}
        for fp, value_schema, pointer, keys in _sites(mplan.members, schema, "", ()):
            if fp.item.path not in ops:
                raise NativeUnsupported(f"{fp.item.path}: not a decoded field")
            i = ops[fp.item.path]
            if keys.count(None) != pointer.count("{}"):
                raise NativeUnsupported(f"{fp.item.path}: tables out of step")
            compiled = _compile_field(fp, value_schema, plan.c.ops[i], self.text, blob)
            for name, value in compiled.fields.items():
                setattr(self._c_checks[i], name, value)
            self.sites[i] = _Site(i, pointer, keys, fp.spec, fp.item, compiled.rules)
        self._blob: Any = ffi.new("uint8_t[]", bytes(blob) or b"\0")
        self._chars: Any = ffi.new("uint8_t[]", self.text.chars)
        self._c: Any = ffi.new(
            "bridge_checks *",
            {
                "ops": self._c_checks,
                "blob": self._blob,
                "blob_len": len(blob),
                "chars": self._chars,
            },
        )
        checked: Any = ffi.new("bridge_plan *")
        checked[0] = plan.c[0]
        checked.checks = self._c
        bad = ffi.new("uint32_t *")
        if lib.bridge_plan_check(checked, bad) != 0:
            raise NativeUnsupported(f"the C core refused the checks at op {bad[0]}")
        self._plan_c = checked
        plan.c = checked  # decoders of this plan validate as they decode
        self._converters = {i: make_converter(s.spec, s.item) for i, s in self.sites.items()}

    def violations(
        self, errors: Sequence[tuple[int, ...]], document: bytes, record: bytes, record_offset: int
    ) -> tuple[Violation, ...]:
        """A failing record's rule errors from C as Violations (its document for the values)."""
        values = json.loads(document, parse_float=Decimal)
        out = []
        for _, op, offset, length, reason, depth, _detail, _value, *all_subs in errors:
            site = self.sites[op]
            subs = tuple(all_subs[:depth])
            rule = site.rules[reason - V_FIRST]
            raw_value = _lookup(values, site.keys, subs)
            actual: Any = raw_value
            if rule.check == CHECK_SCHEMA:
                with contextlib.suppress(ConversionError):
                    actual = self._converters[site.op](raw_value)
            actual = jsonable(actual)
            at = offset - record_offset
            out.append(
                Violation(
                    rule.check,
                    rule.rule,
                    _message(rule, actual),
                    path=self.plan.path(site.op, subs),
                    pointer=site.pointer.format(*subs),
                    expected=jsonable(rule.expected),
                    actual=actual,
                    offset=offset,
                    length=length,
                    raw=bytes(record[at : at + length]).hex(),
                )
            )
        return tuple(out)


def _lookup(values: Any, keys: tuple[str | None, ...], subs: tuple[int, ...]) -> Any:
    at = iter(subs)
    node = values
    for key in keys:
        node = node[next(at)] if key is None else node[key]
    return node


def _message(rule: _Rule, actual: Any) -> str:
    name, expected = rule.rule, rule.expected
    if rule.check == CHECK_CONVERT:
        if name in ("date-format", "timestamp-format"):
            return f"{actual!r} is not a {expected} {name.split('-')[0]}"
        if name == "scale":
            return f"{actual} has more than {expected} decimal places"
        if name == "boolean":
            return f"{actual!r} is neither true nor false"
        if name == "enum":
            return f"{actual!r} is none of the enum's values"
        return f"{actual!r} is not an {expected}"
    if name == "type":
        return f"{actual!r} is not of type {expected!r}"
    if name == "enum":
        return f"{actual!r} is not one of {expected!r}"
    if name == "pattern":
        return f"{actual!r} does not match {expected!r}"
    if name in ("minLength", "maxLength"):
        return f"{actual!r} breaks {name} {expected}"
    return f"{actual!r} is out of the {name} {expected}"


assert REASONS  # the decode reasons stay below V_FIRST
assert len(REASONS) < V_FIRST
