"""Converters specialised per field, chosen once when the mapper is built.

The reference converter (convert.make_converter) decides a value's fate by trying every value
type in turn. A field's decoded values nearly always have one type (a packed decimal decodes to a
Decimal, a zoned integer to an int, an X item to a str), so each converter here handles that
type directly and hands every other value, and every value that would not convert, to the
reference converter. Failures therefore carry the reference's exact rule, expected value and
message; the fast path only has to be right about successes, and tests/unit/mapping checks it
against the reference on generated values.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bridge.copybook.layout import Field
from bridge.mapping.convert import EXACT, make_converter, make_protector, mask, safe_decimal
from bridge.mapping.lint import DATE_FORMAT_DIGITS
from bridge.mapping.model import FieldSpec, PiiPolicyKind, TargetType
from bridge.mapping.plan import is_numeric

Convert = Callable[[Any], Any]

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")  # as convert.py's: the text an integer may have
_MISS = object()
MEMO_LIMIT = 4096  # dates remembered per field: about half a megabyte at most

# "-MM-DD" of every month/day a year can have, keyed by MMDD as a number (0229 included: its
# year is checked apart); "-MM-DD" of every day of the year, for ordinary and leap years; and
# the MMDD texts, for timestamps.
_MONTH_DAY = {
    d.month * 100 + d.day: d.isoformat()[4:]
    for d in (date(2000, 1, 1) + timedelta(days=n) for n in range(366))
}
_ORDINAL_DAY = tuple(
    (None, *(((date(y, 1, 1) + timedelta(days=n)).isoformat()[4:]) for n in range(days)))
    for y, days in ((2001, 365), (2000, 366))
)
_TEXT_MONTH_DAY = frozenset(f"{md:04d}" for md in _MONTH_DAY)


# --- null values ------------------------------------------------------------------------------


class _Nulls:
    """A field's null values as sets (the reference compares them one by one).

    A text item's null values are the text ones (compared with the value stripped); a numeric
    item's are the numbers they spell, compared exactly (int 0, Decimal('0.00') and "000" are
    one number). ``exact`` is false when a null value is not a finite number (NaN compares
    unlike anything a set can hold): such a field keeps the reference converter.
    """

    def __init__(self, values: Iterable[Any], numeric: bool) -> None:
        self.texts: frozenset[str] = frozenset()
        self.numbers: frozenset[Decimal] = frozenset()
        self.exact = True
        values = tuple(values)
        self.any = bool(values)
        if not numeric:
            self.texts = frozenset(v for v in values if isinstance(v, str))
            return
        numbers = [safe_decimal(v) for v in values if not isinstance(v, bool)]
        found = [n for n in numbers if n is not None]
        self.exact = all(n.is_finite() for n in found)
        self.numbers = frozenset(found) if self.exact else frozenset()


# --- per type ---------------------------------------------------------------------------------


def _string(spec: FieldSpec, item: Field, nulls: _Nulls, reference: Convert) -> Convert:
    texts, numbers, has_nulls = nulls.texts, nulls.numbers, nulls.any
    trim = spec.trim
    width = (item.digits or 0) + max(0, -(item.scale or 0))
    if is_numeric(item):

        def numeric_string(value: Any) -> Any:
            if type(value) is int:
                if has_nulls and value in numbers:
                    return None
                if value >= 0:
                    return str(value).zfill(width)
                return "-" + str(-value).zfill(width)
            if type(value) is str and not has_nulls:
                return _trimmed(value, trim)
            return reference(value)

        return numeric_string

    if not has_nulls and trim == "right":

        def right_trimmed(value: Any) -> Any:
            """The usual X item: the decoder's text without trailing spaces."""
            if type(value) is str:
                return value.rstrip(" ")
            return reference(value)

        return right_trimmed

    def text(value: Any) -> Any:
        if type(value) is str:
            if has_nulls and value.strip() in texts:
                return None
            if trim == "right":
                return value.rstrip(" ")
            return _trimmed(value, trim)
        return reference(value)

    return text


def _trimmed(value: str, trim: str) -> str:
    if trim == "right":
        return value.rstrip(" ")
    if trim == "both":
        return value.strip(" ")
    return value


def _integer(spec: FieldSpec, item: Field, nulls: _Nulls, reference: Convert) -> Convert:
    texts, numbers, has_nulls = nulls.texts, nulls.numbers, nulls.any
    text_ok = not is_numeric(item) or not has_nulls  # a numeric item's text nulls are numbers

    def integer(value: Any) -> Any:
        if type(value) is int:
            if has_nulls and value in numbers:
                return None
            return value
        if type(value) is str and text_ok:
            if has_nulls and value.strip() in texts:
                return None
            stripped = value.strip()
            if _INTEGER_TEXT.fullmatch(stripped):
                return int(stripped)
        return reference(value)

    return integer


def _decimal(spec: FieldSpec, item: Field, nulls: _Nulls, reference: Convert) -> Convert | None:
    scale = spec.scale
    if scale is None or scale > 100:
        return None
    numbers, has_nulls = nulls.numbers, nulls.any
    quantum = Decimal(1).scaleb(-scale)
    quantize = EXACT.quantize
    # str() of a Decimal with exponent -scale is plain notation up to 6 places; past that a
    # zero (or a small value) would read 0E-7, so the fixed-point format takes over.
    fixed = f".{scale}f" if scale > 6 else ""
    zeros = "." + "0" * scale if scale else ""
    # Any int this size quantizes within EXACT's 200 digits.
    small = 10**50

    def decimal(value: Any) -> Any:
        if type(value) is Decimal:
            if has_nulls:
                if not value.is_finite():
                    return reference(value)
                if value in numbers:
                    return None
            if scale:
                # Plain notation with exactly ``scale`` places (what the decoder writes) is
                # already the event text: the exponent is -scale, so quantizing changes nothing.
                text = str(value)
                if len(text) > scale and text[-scale - 1] == "." and "E" not in text:
                    return text[1:] if not value and text[0] == "-" else text
            try:
                exact = quantize(value, quantum)
            except ArithmeticError:
                return reference(value)
            if exact != value:  # more places than the scale (or NaN): the reference says so
                return reference(value)
            text = format(exact, fixed) if fixed else str(exact)
            if not exact and text[0] == "-":
                return text[1:]
            return text
        if type(value) is int and -small < value < small:
            if has_nulls and value in numbers:
                return None
            return f"{value}{zeros}"
        return reference(value)

    return decimal


# How each digits-only format reads: the divisor splitting the year's digits from the day's,
# whether the day is a month/day (MMDD) or a day of the year (DDD), and how the leading digits
# make the year.
_DATE_SHAPES = {
    "YYYYMMDD": (10000, False, "year"),
    "YYYYDDD": (1000, True, "year"),
    "CYYMMDD": (10000, False, "cyy"),  # 1900 + 100 * C + YY: 1900 + the leading three digits
    "YYMMDD": (10000, False, "window"),
    "YYDDD": (1000, True, "window"),
}


def _date(spec: FieldSpec, item: Field, nulls: _Nulls, reference: Convert) -> Convert | None:
    fmt = spec.format
    if fmt not in _DATE_SHAPES or fmt not in DATE_FORMAT_DIGITS:
        return None  # YYYY-MM-DD is text: rare enough for the reference
    split, by_ordinal, year_from = _DATE_SHAPES[fmt]
    window = spec.century_window
    if year_from == "window" and window is None:
        return None  # the reference fails its assertion on these
    pivot = window or 0
    month_day, ordinal_day, isleap = _MONTH_DAY, _ORDINAL_DAY, calendar.isleap

    def iso(number: int) -> str | None:
        """The date the format's number spells, as date.isoformat() writes it; None for none."""
        lead, rest = divmod(number, split)
        if year_from == "year":
            year = lead
        elif year_from == "cyy":
            year = 1900 + lead
        else:
            year = 2000 + lead if lead < pivot else 1900 + lead
        if year == 0:
            return None
        if by_ordinal:
            days = ordinal_day[isleap(year)]
            tail = days[rest] if 0 < rest < len(days) else None
        else:
            tail = month_day.get(rest)
            if rest == 229 and not isleap(year):
                return None
        if tail is None:
            return None
        return (str(year) if year > 999 else f"{year:04d}") + tail

    width = DATE_FORMAT_DIGITS[fmt]
    limit = 10**width
    texts, numbers, has_nulls = nulls.texts, nulls.numbers, nulls.any
    text_ok = not is_numeric(item) or not has_nulls
    # Records repeat dates; a bounded memo of numbers already converted skips the arithmetic.
    seen: dict[int, str] = {}

    def day(value: Any) -> Any:
        if type(value) is int:
            if has_nulls and value in numbers:
                return None
            found = seen.get(value)
            if found is not None:
                return found
            if 0 <= value < limit:
                found = iso(value)
                if found is not None:
                    if len(seen) < MEMO_LIMIT:
                        seen[value] = found
                    return found
        elif type(value) is str and text_ok:
            stripped = value.strip()
            if has_nulls and stripped in texts:
                return None
            if len(stripped) == width and stripped.isdigit() and stripped.isascii():
                found = iso(int(stripped))
                if found is not None:
                    return found
        return reference(value)

    return day


# Each timestamp format as the reference's pattern with groups: year, month, day, hour,
# minute, second, and the fraction with its point (an empty group for the whole-second ones).
_TIMESTAMPS = {
    "YYYYMMDDHHMMSS": r"([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})()",
    "YYYY-MM-DD HH:MM:SS": r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})()",
    "YYYY-MM-DD HH:MM:SS.ffffff": (
        r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{6})"
    ),
    "YYYY-MM-DD-HH.MM.SS.ffffff": (
        r"([0-9]{4})-([0-9]{2})-([0-9]{2})-([0-9]{2})\.([0-9]{2})\.([0-9]{2})(\.[0-9]{6})"
    ),
}


def _timestamp(spec: FieldSpec, item: Field, nulls: _Nulls, reference: Convert) -> Convert | None:
    fmt = spec.format
    if fmt not in _TIMESTAMPS:
        return None
    fullmatch = re.compile(_TIMESTAMPS[fmt]).fullmatch
    month_days, isleap = _TEXT_MONTH_DAY, calendar.isleap
    texts, numbers, has_nulls = nulls.texts, nulls.numbers, nulls.any
    text_ok = not is_numeric(item) or not has_nulls
    digits_only = fmt == "YYYYMMDDHHMMSS"

    def moment(text: str) -> str | None:
        # The pattern fixes every digit's place, so two-digit fields compare as text; the
        # ranges are those strptime and datetime accept (no leap second, no year 0).
        found = fullmatch(text)
        if found is None:
            return None
        year, month, day, hour, minute, second, fraction = found.groups()
        md = month + day
        if (
            md not in month_days
            or year == "0000"
            or hour > "23"
            or minute > "59"
            or second > "59"
            or (md == "0229" and not isleap(int(year)))
        ):
            return None
        return f"{year}-{month}-{day}T{hour}:{minute}:{second}{fraction}"

    def timestamp(value: Any) -> Any:
        if type(value) is str and text_ok:
            stripped = value.strip()
            if has_nulls and stripped in texts:
                return None
            found = moment(stripped)
            if found is not None:
                return found
        elif type(value) is int and digits_only:
            if has_nulls and value in numbers:
                return None
            if value >= 0:
                found = moment(str(value).zfill(14))
                if found is not None:
                    return found
        return reference(value)

    return timestamp


def _choice(
    spec: FieldSpec,
    item: Field,
    nulls: _Nulls,
    reference: Convert,
    choices: Iterable[tuple[Iterable[Any], Any]],
) -> Convert | None:
    """Enums and booleans: the first choice whose source values hold the value wins."""
    numeric = is_numeric(item)
    table: dict[Any, Any] = {}
    for sources, target in choices:
        for source in sources:
            if numeric:
                if isinstance(source, bool):
                    continue
                number = safe_decimal(source)
                if number is None:
                    continue
                if not number.is_finite():
                    return None
                table.setdefault(number, target)
            elif isinstance(source, str):
                table.setdefault(source, target)
    texts, numbers, has_nulls = nulls.texts, nulls.numbers, nulls.any
    get = table.get

    if numeric:

        def number_choice(value: Any) -> Any:
            if type(value) is int:
                if has_nulls and value in numbers:
                    return None
                found = get(value, _MISS)
                if found is not _MISS:
                    return found
            return reference(value)

        return number_choice

    def text_choice(value: Any) -> Any:
        if type(value) is str:
            if has_nulls and value.strip() in texts:
                return None
            found = get(value.rstrip(" "), _MISS)
            if found is not _MISS:
                return found
        return reference(value)

    return text_choice


def _enum(spec: FieldSpec, item: Field, nulls: _Nulls, reference: Convert) -> Convert | None:
    if any(ev.ranges for ev in spec.values) and is_numeric(item):
        return None  # ranges interleave with the values in the reference's order
    return _choice(spec, item, nulls, reference, ((ev.source, ev.target) for ev in spec.values))


def _boolean(spec: FieldSpec, item: Field, nulls: _Nulls, reference: Convert) -> Convert | None:
    choices = ((spec.true_values, True), (spec.false_values, False))
    return _choice(spec, item, nulls, reference, choices)


_BY_TYPE: dict[TargetType, Callable[[FieldSpec, Field, _Nulls, Convert], Convert | None]] = {
    TargetType.STRING: _string,
    TargetType.INTEGER: _integer,
    TargetType.DECIMAL: _decimal,
    TargetType.DATE: _date,
    TargetType.TIMESTAMP: _timestamp,
    TargetType.ENUM: _enum,
    TargetType.BOOLEAN: _boolean,
}


def fast_converter(spec: FieldSpec, item: Field) -> Convert:
    """``make_converter(spec, item)``'s results, faster for the field's usual value type."""
    reference = make_converter(spec, item)
    nulls = _Nulls(spec.null_values, is_numeric(item))
    build = _BY_TYPE.get(spec.type)
    if build is None or not nulls.exact:
        return reference
    return build(spec, item, nulls, reference) or reference


def fast_protector(spec: FieldSpec, key: bytes | None) -> Convert | None:
    """``make_protector(spec, key)``'s results, without its generic text form for a str."""
    reference = make_protector(spec, key)
    policy = spec.pii
    if reference is None or policy is None:
        return reference
    if policy.policy is PiiPolicyKind.MASK:
        keep_last, char = policy.keep_last, policy.mask_char

        def masked(value: Any) -> Any:
            if type(value) is str:
                return mask(value, keep_last, char)
            return reference(value)

        return masked
    assert key is not None  # make_protector refuses a hash policy without a key
    inner, outer = _hmac_states(key)

    def hashed(value: Any) -> Any:
        if type(value) is str:
            digest = inner.copy()
            digest.update(value.encode("utf-8"))
            done = outer.copy()
            done.update(digest.digest())
            return done.hexdigest()
        return reference(value)

    return hashed


def _hmac_states(key: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256 (RFC 2104) with its two keyed states computed once: the pads' hashing is
    half the work of a short message's HMAC, and the same for every record."""
    block = hashlib.sha256().block_size
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(key.translate(hmac.trans_36))
    outer = hashlib.sha256(key.translate(hmac.trans_5C))
    return inner, outer
