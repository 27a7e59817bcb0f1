"""Decoded record document -> event: renames, type conversion, trimming, PII policies, drops.

``Mapper.apply`` returns two events: ``clear`` (typed values, every constraint checkable; this is
what validate.py checks against the clear schema) and ``event`` (the published one: masked and
hashed PII). A value that does not convert is never guessed at: it stays as decoded in
``clear``, and a ``convert`` violation says what was expected. Decimals are exact strings with
the target scale; nothing passes through a binary float.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Context, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from bridge.copybook.layout import Category, Field, Layout
from bridge.decode.verdict import Reason
from bridge.mapping.check import DATE_FORMAT_DIGITS, plans_for
from bridge.mapping.model import (
    CASE_PROPERTY,
    FieldSpec,
    MappingDoc,
    MappingError,
    PiiKeySource,
    PiiPolicyKind,
    Problem,
    TargetType,
)
from bridge.mapping.plan import FieldPlan, Plan, TablePlan, is_numeric
from bridge.mapping.reasons import CHECK_CONVERT, CHECK_DECODE, Violation, jsonable
from bridge.mapping.record_schema import canonical_decimal

# Wide enough that no decimal of a record is ever rounded by the arithmetic itself (the default
# context keeps 28 digits; COBOL allows 31, and 38 in extended mode).
_EXACT = Context(prec=200, rounding=ROUND_DOWN)
MIN_KEY_BYTES = 32  # HMAC-SHA256 keys shorter than the hash output weaken it

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


class ConversionError(Exception):
    """A value that does not convert (internal: becomes a Violation)."""

    def __init__(self, rule: str, expected: Any, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.expected = expected


def load_pii_key(source: PiiKeySource, environ: Mapping[str, str] | None = None) -> bytes:
    """The HMAC key from an environment variable or a file; never from the mapping itself."""
    env = os.environ if environ is None else environ
    if source.env is not None:
        value = env.get(source.env)
        if not value:
            raise MappingError(
                [Problem("/pii_key/env", f"environment variable {source.env} is not set")]
            )
        key = value.encode()
    else:
        assert source.file is not None
        try:
            key = Path(source.file).read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise MappingError(
                [Problem("/pii_key/file", f"cannot read the key file: {exc}")]
            ) from exc
    if len(key) < MIN_KEY_BYTES:
        raise MappingError(
            [Problem("/pii_key", f"the PII key has {len(key)} bytes; at least {MIN_KEY_BYTES}")]
        )
    return key


def text_form(value: Any) -> str:
    """The text a PII policy works on (the event value as its JSON text would read)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mask(text: str, keep_last: int, mask_char: str) -> str:
    """All but the last ``keep_last`` characters masked; a value that short is masked whole."""
    if keep_last <= 0 or len(text) <= keep_last:
        return mask_char * len(text)
    return mask_char * (len(text) - keep_last) + text[-keep_last:]


def pii_hash(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


# --- conversions -------------------------------------------------------------------------


def _as_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ConversionError("type", "number", f"{value!r} is a boolean, not a number")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value.strip()):
        return Decimal(value.strip())
    if isinstance(value, float):
        raise ConversionError(
            "type", "exact decimal", f"{value!r} is a binary float: refused for exact data"
        )
    raise ConversionError("type", "number", f"{value!r} is not a number")


def _digits_text(value: Any, width: int, fmt: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ConversionError("date-format", fmt, f"{value} is negative")
        text = str(value).zfill(width)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ConversionError("type", fmt, f"{value!r} is not a {fmt} value")
    return text


def _century(yy: int, window: int | None) -> int:
    assert window is not None  # the meta-schema requires it for YY formats
    return 2000 + yy if yy < window else 1900 + yy


def _julian(year: int, day: int) -> date:
    if not 1 <= day <= (366 if date(year, 12, 31).timetuple().tm_yday == 366 else 365):
        raise ValueError(f"day {day} of {year}")
    return date(year, 1, 1) + timedelta(days=day - 1)


def convert_date(value: Any, fmt: str, window: int | None) -> str:
    width = DATE_FORMAT_DIGITS.get(fmt, 10)
    text = _digits_text(value, width, fmt)
    try:
        if fmt == "YYYY-MM-DD":
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                raise ValueError(text)
            day = date.fromisoformat(text)
        else:
            if len(text) != width or not text.isdigit() or not text.isascii():
                raise ValueError(text)
            if fmt == "YYYYMMDD":
                day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
            elif fmt == "YYMMDD":
                day = date(_century(int(text[:2]), window), int(text[2:4]), int(text[4:]))
            elif fmt == "CYYMMDD":
                year = 1900 + 100 * int(text[0]) + int(text[1:3])
                day = date(year, int(text[3:5]), int(text[5:]))
            elif fmt == "YYDDD":
                day = _julian(_century(int(text[:2]), window), int(text[2:]))
            elif fmt == "YYYYDDD":
                day = _julian(int(text[:4]), int(text[4:]))
            else:
                raise ValueError(fmt)
    except ValueError as exc:
        raise ConversionError("date-format", fmt, f"{value!r} is not a {fmt} date") from exc
    return day.isoformat()


_TS_FORMATS = {
    "YYYYMMDDHHMMSS": (re.compile(r"[0-9]{14}"), "%Y%m%d%H%M%S"),
    "YYYY-MM-DD HH:MM:SS": (
        re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"),
        "%Y-%m-%d %H:%M:%S",
    ),
    "YYYY-MM-DD HH:MM:SS.ffffff": (
        re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}"),
        "%Y-%m-%d %H:%M:%S.%f",
    ),
    "YYYY-MM-DD-HH.MM.SS.ffffff": (
        re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{6}"),
        "%Y-%m-%d-%H.%M.%S.%f",
    ),
}


def convert_timestamp(value: Any, fmt: str) -> str:
    text = _digits_text(value, 14, fmt)
    pattern, strp = _TS_FORMATS[fmt]
    try:
        if not pattern.fullmatch(text):
            raise ValueError(text)
        moment = datetime.strptime(text, strp)  # local time, as the record holds it
    except ValueError as exc:
        raise ConversionError(
            "timestamp-format", fmt, f"{value!r} is not a {fmt} timestamp"
        ) from exc
    return moment.isoformat(timespec="microseconds" if "f" in fmt else "seconds")


def _matches(value: Any, candidates: Sequence[Any], numeric: bool) -> bool:
    if numeric:
        try:
            number = _as_decimal(value)
        except ConversionError:
            return False
        return any(not isinstance(c, bool) and _safe_decimal(c) == number for c in candidates)
    return any(isinstance(c, str) and c == value for c in candidates)


def _safe_decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        return None


def make_converter(spec: FieldSpec, item: Field) -> Callable[[Any], Any]:
    """value -> converted value; raises ConversionError. None (no value) passes as None."""
    numeric = is_numeric(item)
    kind = spec.type
    trim = spec.trim

    def nulls(value: Any) -> bool:
        return _matches(
            value.strip() if isinstance(value, str) else value, spec.null_values, numeric
        )

    has_nulls = bool(spec.null_values)

    def convert(value: Any) -> Any:
        if value is None or (has_nulls and nulls(value)):
            return None
        if kind is TargetType.STRING:
            if isinstance(value, str):
                if trim == "right":
                    return value.rstrip(" ")
                if trim == "both":
                    return value.strip(" ")
                return value
            if isinstance(value, bool):
                raise ConversionError("type", "string", f"{value!r} is a boolean")
            if isinstance(value, int):
                width = (item.digits or 0) + max(0, -(item.scale or 0))
                return ("-" if value < 0 else "") + str(abs(value)).zfill(width)
            if isinstance(value, Decimal):
                return canonical_decimal(value, max(item.scale or 0, 0))
            if isinstance(value, float) and item.category is Category.FLOAT:
                return repr(value)
            raise ConversionError("type", "string", f"{value!r} is not text")
        if kind is TargetType.INTEGER:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, Decimal) and value.as_tuple().exponent == 0:
                return int(value)
            if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
                return int(value.strip())
            raise ConversionError("type", "integer", f"{value!r} is not an integer")
        if kind is TargetType.DECIMAL:
            assert spec.scale is not None
            number = _as_decimal(value)
            quantum = Decimal(1).scaleb(-spec.scale)
            if number != _EXACT.quantize(number, quantum):
                raise ConversionError(
                    "scale", spec.scale, f"{value} has more than {spec.scale} decimal places"
                )
            return canonical_decimal(number, spec.scale)
        if kind is TargetType.DATE:
            assert spec.format is not None
            return convert_date(value, spec.format, spec.century_window)
        if kind is TargetType.TIMESTAMP:
            assert spec.format is not None
            return convert_timestamp(value, spec.format)
        probe = value.rstrip(" ") if isinstance(value, str) else value
        if kind is TargetType.BOOLEAN:
            if _matches(probe, spec.true_values, numeric):
                return True
            if _matches(probe, spec.false_values, numeric):
                return False
            expected = [*spec.true_values, *spec.false_values]
            raise ConversionError("boolean", expected, f"{value!r} is neither true nor false")
        for ev in spec.values:
            if _matches(probe, ev.source, numeric):
                return ev.target
            if numeric and ev.ranges:
                found = _safe_decimal(probe) if not isinstance(probe, bool) else None
                for low, high in ev.ranges:
                    lo, hi = _safe_decimal(low), _safe_decimal(high)
                    if None not in (found, lo, hi) and lo <= found <= hi:  # type: ignore[operator]
                        return ev.target
        expected = [s for ev in spec.values for s in ev.source] + [
            f"{lo}..{hi}" for ev in spec.values for lo, hi in ev.ranges
        ]
        raise ConversionError("enum", expected, f"{value!r} is none of the enum's values")

    return convert


def make_protector(spec: FieldSpec, key: bytes | None) -> Callable[[Any], Any] | None:
    """The published form of a converted value, or None when the value is published as is."""
    policy = spec.pii
    if policy is None or policy.policy is PiiPolicyKind.KEEP:
        return None
    if policy.policy is PiiPolicyKind.MASK:
        keep_last, char = policy.keep_last, policy.mask_char
        return lambda v: None if v is None else mask(text_form(v), keep_last, char)
    if key is None:
        raise MappingError(
            [Problem(spec.pointer + "/pii", "policy hash needs the mapping's pii_key", spec.source)]
        )
    return lambda v: None if v is None else pii_hash(key, text_form(v))


# --- the mapper ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """Where a field sits: layout path with subscripts, offset in the record, length."""

    path: str
    offset: int | None  # None after an OCCURS DEPENDING ON table (moves with the data)
    length: int


@dataclass
class Applied:
    """One record mapped: the clear event, the published event and conversion failures."""

    clear: dict[str, Any]
    event: dict[str, Any]
    case: str | None
    violations: list[Violation] = field(default_factory=list)

    @property
    def failed_pointers(self) -> set[str]:
        return {v.pointer for v in self.violations if v.pointer is not None}


@dataclass(frozen=True)
class _Leaf:
    plan: FieldPlan
    convert: Callable[[Any], Any]
    protect: Callable[[Any], Any] | None


class Mapper:
    """Applies one mapping; build it once, apply it to every record."""

    def __init__(
        self,
        mapping: MappingDoc,
        layouts: Sequence[Layout],
        *,
        pii_key: bytes | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.mapping = mapping
        self.plans: dict[str | None, Plan] = {p.case: p for p in plans_for(mapping, layouts)}
        needs_key = any(s.protection is PiiPolicyKind.HASH for s in mapping.fields)
        if needs_key and pii_key is None and mapping.pii_key is not None:
            pii_key = load_pii_key(mapping.pii_key, environ)
        self._leaves: dict[int, _Leaf] = {}
        self._suffix: dict[int, str] = {}  # JSON pointer of each member within its scope
        for plan in self.plans.values():
            for fp in plan.fields():
                self._leaves[id(fp)] = _Leaf(
                    fp, make_converter(fp.spec, fp.item), make_protector(fp.spec, pii_key)
                )
            stack: list[FieldPlan | TablePlan] = list(plan.members)
            while stack:
                node = stack.pop()
                self._suffix[id(node)] = "".join("/" + _escape(p) for p in node.target)
                if isinstance(node, TablePlan):
                    stack.extend(node.members)

    def redefines_for(self, case: str | None) -> dict[str, str]:
        """The DecodeOptions.redefines a record of ``case`` decodes with."""
        disc = self.mapping.discriminator
        if disc is None or case is None:
            return {}
        return dict(next(c for c in disc.cases if c.name == case).redefines)

    def case_for(self, decoded: Mapping[str, Any]) -> str | Violation | None:
        """The discriminator case of a record decoded with the default REDEFINES choices.

        None for a mapping without a discriminator; a Violation (docs/decoding.md's
        ``unknown-record-type``) for a value no case lists: such a record is rejected, never
        given a default shape.
        """
        disc = self.mapping.discriminator
        if disc is None:
            return None
        keys = tuple(disc.source.split(".")[1:])
        found, value = _lookup(decoded, keys)
        probe = value.rstrip(" ") if isinstance(value, str) else value
        for case in disc.cases:
            if found and any(_equal_scalar(probe, w) for w in case.when):
                return case.name
        return Violation(
            CHECK_DECODE,
            str(Reason.UNKNOWN_RECORD_TYPE),
            f"{value!r} selects no case of the discriminator",
            path=disc.source,
            expected=[w for c in disc.cases for w in c.when],
            actual=jsonable(value),
        )

    def apply(self, decoded: Mapping[str, Any], case: str | None = None) -> Applied:
        plan = self.plans[case]
        clear: dict[str, Any] = {}
        event: dict[str, Any] = {}
        applied = Applied(clear, event, case)
        if case is not None:
            clear[CASE_PROPERTY] = event[CASE_PROPERTY] = case
        self._scope(plan.members, decoded, "", (clear, event), applied=applied, subscripts=())
        return applied

    def _scope(
        self,
        members: Sequence[FieldPlan | TablePlan],
        source: Mapping[str, Any],
        base: str,
        out: tuple[dict[str, Any], dict[str, Any]],
        *,
        applied: Applied,
        subscripts: tuple[tuple[str, int], ...],
    ) -> None:
        clear, event = out
        for member in members:
            pointer = base + self._suffix[id(member)]
            found, value = _lookup(source, member.keys)
            if not found:
                applied.violations.append(
                    Violation(
                        CHECK_CONVERT,
                        "missing",
                        "the decoded record has no value here",
                        path=subscripted(member.item.path, subscripts),
                        pointer=pointer,
                    )
                )
                _put(clear, member.target, None)
                _put(event, member.target, None)
                continue
            if isinstance(member, TablePlan):
                if not isinstance(value, list):
                    self._not_list(member.item, subscripts, pointer, value, applied)
                    _put(clear, member.target, jsonable(value))
                    _put(event, member.target, jsonable(value))
                    continue
                rows_clear: list[Any] = []
                rows_event: list[Any] = []
                for i, element in enumerate(value):
                    row_clear: dict[str, Any] = {}
                    row_event: dict[str, Any] = {}
                    if isinstance(element, dict):
                        self._scope(
                            member.members,
                            element,
                            f"{pointer}/{i}",
                            (row_clear, row_event),
                            applied=applied,
                            subscripts=(*subscripts, (member.item.path, i)),
                        )
                    rows_clear.append(row_clear)
                    rows_event.append(row_event)
                _put(clear, member.target, rows_clear)
                _put(event, member.target, rows_event)
                continue
            leaf = self._leaves[id(member)]
            if member.repeated:
                if not isinstance(value, list):
                    self._not_list(member.item, subscripts, pointer, value, applied)
                    _put(clear, member.target, jsonable(value))
                    _put(event, member.target, jsonable(value))
                    continue
                cells = [
                    self._leaf(
                        leaf, v, f"{pointer}/{i}", (*subscripts, (member.item.path, i)), applied
                    )
                    for i, v in enumerate(value)
                ]
                _put(clear, member.target, [c for c, _ in cells])
                _put(event, member.target, [e for _, e in cells])
            else:
                c, e = self._leaf(leaf, value, pointer, subscripts, applied)
                _put(clear, member.target, c)
                _put(event, member.target, e)

    @staticmethod
    def _leaf(
        leaf: _Leaf,
        value: Any,
        pointer: str,
        subscripts: tuple[tuple[str, int], ...],
        applied: Applied,
    ) -> tuple[Any, Any]:
        try:
            converted = leaf.convert(value)
        except ConversionError as exc:
            applied.violations.append(
                Violation(
                    CHECK_CONVERT,
                    exc.rule,
                    str(exc),
                    path=subscripted(leaf.plan.item.path, subscripts),
                    pointer=pointer,
                    expected=exc.expected,
                    actual=jsonable(value),
                )
            )
            raw = jsonable(value)
            return raw, raw
        published = converted if leaf.protect is None else leaf.protect(converted)
        return converted, published

    @staticmethod
    def _not_list(
        item: Field,
        subscripts: tuple[tuple[str, int], ...],
        pointer: str,
        value: Any,
        applied: Applied,
    ) -> None:
        applied.violations.append(
            Violation(
                CHECK_CONVERT,
                "type",
                "an OCCURS table must decode to an array",
                path=subscripted(item.path, subscripts),
                pointer=pointer,
                expected="array",
                actual=jsonable(value),
            )
        )

    def site(self, pointer: str, case: str | None = None) -> Site | None:
        """The layout field behind an event JSON pointer (None for a pointer to no field)."""
        plan = self.plans[case]
        tokens = [_unescape(t) for t in pointer.split("/")[1:]] if pointer else []
        return _resolve(plan.members, tokens, (), 0, plan)


def _resolve(
    members: Sequence[FieldPlan | TablePlan],
    tokens: list[str],
    subscripts: tuple[tuple[str, int], ...],
    extra: int,
    plan: Plan,
) -> Site | None:
    for member in members:
        n = len(member.target)
        if tuple(tokens[:n]) != member.target:
            continue
        rest = tokens[n:]
        item = member.item
        if isinstance(member, TablePlan):
            if not rest or not rest[0].isdigit():
                return _site(item, subscripts, extra, whole=True)
            i = int(rest[0])
            return _resolve(
                member.members,
                rest[1:],
                (*subscripts, (item.path, i)),
                extra + i * item.length,
                plan,
            ) or _site(item, (*subscripts, (item.path, i)), extra + i * item.length)
        if member.repeated and rest and rest[0].isdigit():
            i = int(rest[0])
            return _site(item, (*subscripts, (item.path, i)), extra + i * item.length)
        return _site(item, subscripts, extra, whole=member.repeated)
    return None


def _site(
    item: Field, subscripts: tuple[tuple[str, int], ...], extra: int, whole: bool = False
) -> Site:
    length = item.total_length if whole else item.length
    offset = None if item.variable_offset else item.offset + extra
    return Site(subscripted(item.path, subscripts), offset, length)


def subscripted(path: str, subscripts: tuple[tuple[str, int], ...]) -> str:
    """``REC.HIST.AMT`` with (("REC.HIST", 2),) -> ``REC.HIST[2].AMT``."""
    out = path
    for table, index in reversed(subscripts):
        if out == table or out.startswith(table + "."):
            out = f"{table}[{index}]{out[len(table) :]}"
    return out


def _equal_scalar(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) or isinstance(wanted, str):
        return bool(value == wanted)
    if isinstance(value, bool) or isinstance(wanted, bool):
        return False
    return _safe_decimal(value) == _safe_decimal(wanted)


def _lookup(source: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[bool, Any]:
    node: Any = source
    for key in keys:
        if type(node) is not dict and not isinstance(node, Mapping):
            return False, None
        if key not in node:
            return False, None
        node = node[key]
    return True, node


def _put(target: dict[str, Any], parts: tuple[str, ...], value: Any) -> None:
    if len(parts) == 1:
        target[parts[0]] = value
        return
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def message_key(mapping: MappingDoc, event: Mapping[str, Any], which: str = "kafka") -> str | None:
    """The Kafka (or Redis) key of a published event: key field values joined by the separator."""
    paths = mapping.keys.kafka if which == "kafka" else mapping.keys.redis
    if not paths:
        return None
    parts: list[str] = []
    for path in paths:
        spec = mapping.field_spec(path)
        assert spec is not None
        _, value = _lookup(event, tuple(spec.target.split(".")))
        parts.append("" if value is None else text_form(value))
    key = mapping.keys.separator.join(parts)
    return mapping.keys.redis_prefix + key if which == "redis" else key
