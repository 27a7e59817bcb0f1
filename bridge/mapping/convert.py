"""Reference conversions: one decoded value -> its event value, and the PII policies.

These are the obviously-correct definitions: ``make_converter`` tries every value type in turn
and says, through a ``ConversionError``, why a value does not convert. The C event plan
(event_plan.py) must agree with them on every value.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Context, Decimal, InvalidOperation
from typing import Any

from bridge.copybook.layout import Category, Field
from bridge.mapping.lint import DATE_FORMAT_DIGITS
from bridge.mapping.model import FieldSpec, MappingError, PiiPolicyKind, Problem, TargetType
from bridge.mapping.plan import is_numeric
from bridge.mapping.record_schema import canonical_decimal

# Wide enough that no decimal of a record is ever rounded by the arithmetic itself (the default
# context keeps 28 digits; COBOL allows 31, and 38 in extended mode).
EXACT = Context(prec=200, rounding=ROUND_DOWN)

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


class ConversionError(Exception):
    """A value that does not convert (internal: becomes a Violation)."""

    def __init__(self, rule: str, expected: Any, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.expected = expected


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
        return any(not isinstance(c, bool) and safe_decimal(c) == number for c in candidates)
    return any(isinstance(c, str) and c == value for c in candidates)


def safe_decimal(value: Any) -> Decimal | None:
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
            if number != EXACT.quantize(number, quantum):
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
                found = safe_decimal(probe) if not isinstance(probe, bool) else None
                for low, high in ev.ranges:
                    lo, hi = safe_decimal(low), safe_decimal(high)
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
