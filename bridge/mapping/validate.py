"""Validate events against their record schema, reporting every violated rule.

``jsonschema``'s Draft202012Validator (extended with the bridge's exact decimal bounds) is the
oracle. ``FastValidator`` compiles the small keyword set record schemas use into per-field
checks with exactly the oracle's semantics, so it can run on every record; a schema using any
other keyword is not fast-path material, and ``make_validator`` then warns and falls back to
the oracle: validation is never skipped. A native fast path (constraints compiled into the C
decode plan) will implement the same ``Validator`` protocol.
"""

from __future__ import annotations

import logging
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

from bridge.mapping.apply import Mapper
from bridge.mapping.model import json_pointer
from bridge.mapping.reasons import CHECK_SCHEMA, Violation, jsonable

log = logging.getLogger(__name__)

# Keywords that only annotate (never fail a record).
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "examples", "default", "deprecated"}
)
# Keywords FastValidator implements, with jsonschema's exact semantics.
FAST_KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "const",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "decimalMinimum",
        "decimalMaximum",
    }
)
FAST_FORMATS = frozenset({"date"})
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)  # jsonschema's own date regex


class Validator(Protocol):
    """Checks one event; returns every violation (empty: valid)."""

    name: str

    def validate(self, event: Any) -> list[Violation]: ...


# --- the oracle ------------------------------------------------------------------------------


def _decimal_or_none(value: Any) -> Decimal | None:
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return Decimal(value)
    return None


def _decimal_bound(below: bool) -> Callable[[Any, Any, Any, Any], Iterable[ValidationError]]:
    def check(validator: Any, bound: Any, instance: Any, schema: Any) -> Iterable[ValidationError]:
        number = _decimal_or_none(instance)
        if number is None:
            return  # not decimal text: `type` and `pattern` say so
        limit = Decimal(bound)
        if (number < limit) if below else (number > limit):
            word = "less than the minimum" if below else "greater than the maximum"
            yield ValidationError(f"{instance!r} is {word} of {bound}")

    return check


BridgeDraft202012Validator: Any = extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {"decimalMinimum": _decimal_bound(True), "decimalMaximum": _decimal_bound(False)},
)


def _error_violations(errors: Iterable[ValidationError]) -> list[Violation]:
    out: list[Violation] = []
    missing_seen: dict[str, int] = {}
    for error in errors:
        pointer = json_pointer(list(error.absolute_path))
        keyword = str(error.validator)
        if keyword == "required" and isinstance(error.instance, dict):
            # One error per missing property, in the order `required` lists them.
            required: Any = error.validator_value
            missing = [p for p in required if p not in error.instance]
            n = missing_seen.get(pointer, 0)
            missing_seen[pointer] = n + 1
            name = missing[n] if n < len(missing) else "?"
            out.append(
                Violation(
                    CHECK_SCHEMA,
                    "required",
                    error.message,
                    pointer=f"{pointer}/{_escape(name)}",
                    expected=name,
                    actual=None,
                )
            )
            continue
        if keyword == "additionalProperties" and isinstance(error.instance, dict):
            props = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            extras = sorted(k for k in error.instance if k not in props)
            out.append(
                Violation(
                    CHECK_SCHEMA,
                    keyword,
                    error.message,
                    pointer=pointer,
                    expected=sorted(props),
                    actual=extras,
                )
            )
            continue
        actual = error.instance
        if isinstance(actual, dict | list):
            actual = f"<{type(actual).__name__}>"
        out.append(
            Violation(
                CHECK_SCHEMA,
                keyword,
                error.message,
                pointer=pointer,
                expected=jsonable(error.validator_value),
                actual=jsonable(actual),
            )
        )
    return out


class JsonSchemaValidator:
    """The oracle: jsonschema Draft 2020-12 with format checks and exact decimal bounds."""

    name = "jsonschema"

    def __init__(self, schema: Mapping[str, Any]) -> None:
        BridgeDraft202012Validator.check_schema(schema)
        self._validator = BridgeDraft202012Validator(schema, format_checker=FormatChecker())

    def validate(self, event: Any) -> list[Violation]:
        return _error_violations(self._validator.iter_errors(event))


# --- the fast path ---------------------------------------------------------------------------


def fast_path_supported(schema: Any) -> bool:
    """True when every keyword of ``schema`` (recursively) is one FastValidator implements."""
    return not unsupported_keywords(schema)


def unsupported_keywords(schema: Any, pointer: str = "") -> list[str]:
    """Pointers of the keywords that keep ``schema`` off the fast path."""
    if not isinstance(schema, dict):
        return [pointer or "/"]  # boolean schemas: not needed by record schemas
    out: list[str] = []
    for key, value in schema.items():
        here = f"{pointer}/{_escape(key)}"
        if key in ANNOTATIONS or key.startswith("x-"):
            continue
        if (
            key not in FAST_KEYWORDS
            or (key == "format" and value not in FAST_FORMATS)
            or (key == "additionalProperties" and value is not False)
        ):
            out.append(here)
        elif key == "properties":
            if not isinstance(value, dict):
                out.append(here)
            else:
                for name, sub in value.items():
                    out.extend(unsupported_keywords(sub, f"{here}/{_escape(name)}"))
        elif key == "items":
            out.extend(unsupported_keywords(value, here))
        elif key == "type" and not _type_names_ok(value):
            out.append(here)
    return out


_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")


def _type_names_ok(value: Any) -> bool:
    names = value if isinstance(value, list) else [value]
    return all(isinstance(n, str) and n in _TYPES for n in names)


def _is_type(instance: Any, name: str) -> bool:
    """jsonschema's 2020-12 type checker."""
    if name == "string":
        return isinstance(instance, str)
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "null":
        return instance is None
    if name == "boolean":
        return isinstance(instance, bool)
    if isinstance(instance, bool):
        return False
    if name == "integer":
        return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())
    return isinstance(instance, numbers.Number)  # number


def _is_integer(i: Any) -> bool:
    if isinstance(i, int):
        return not isinstance(i, bool)
    return isinstance(i, float) and i.is_integer()


_PREDICATES: dict[str, Callable[[Any], bool]] = {
    "string": lambda i: isinstance(i, str),
    "null": lambda i: i is None,
    "object": lambda i: isinstance(i, dict),
    "array": lambda i: isinstance(i, list),
    "boolean": lambda i: isinstance(i, bool),
    "integer": _is_integer,
    "number": lambda i: _is_type(i, "number"),
}


def _type_predicate(names: list[str]) -> Callable[[Any], bool]:
    """One call per value: the common one- and two-type cases without a loop."""
    preds = [_PREDICATES[n] for n in names]
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda i: first(i) or second(i)
    return lambda i: any(p(i) for p in preds)


_TRUE, _FALSE = object(), object()


def _unbool(value: Any) -> Any:
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's ``equal``: JSON equality, where true is not 1 and false is not 0."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    return bool(_unbool(one) == _unbool(two))


Check = Callable[[Any, str, list[Violation]], None]


def _violation(
    rule: str, pointer: str, expected: Any, actual: Any, message: str, *, summarize: bool = True
) -> Violation:
    if summarize and isinstance(actual, dict | list):
        actual = f"<{type(actual).__name__}>"
    return Violation(
        CHECK_SCHEMA,
        rule,
        message,
        pointer=pointer,
        expected=jsonable(expected),
        actual=jsonable(actual),
    )


def _compile(schema: Mapping[str, Any]) -> Check:
    """One closure per keyword, run in schema order (violation order does not matter)."""
    checks: list[Check] = []
    for key, value in schema.items():
        check = _keyword(key, value, schema)
        if check is not None:
            checks.append(check)

    if len(checks) == 1:
        return checks[0]

    def run(instance: Any, pointer: str, out: list[Violation]) -> None:
        for check in checks:
            check(instance, pointer, out)

    return run


def _keyword(key: str, value: Any, schema: Mapping[str, Any]) -> Check | None:
    if key == "type":
        accepts = _type_predicate(value if isinstance(value, list) else [value])

        def type_(i: Any, p: str, out: list[Violation]) -> None:
            if not accepts(i):
                out.append(_violation("type", p, value, i, f"{i!r} is not of type {value!r}"))

        return type_
    if key in ("enum", "const"):
        options = value if key == "enum" else [value]

        def enum_(i: Any, p: str, out: list[Violation]) -> None:
            if not any(_equal(o, i) for o in options):
                out.append(_violation(key, p, value, i, f"{i!r} is not one of {value!r}"))

        return enum_
    if key in ("minimum", "maximum"):
        below = key == "minimum"

        def bound(i: Any, p: str, out: list[Violation]) -> None:
            if _is_type(i, "number") and ((i < value) if below else (i > value)):
                out.append(_violation(key, p, value, i, f"{i!r} is out of the {key} {value}"))

        return bound
    if key in ("decimalMinimum", "decimalMaximum"):
        limit = Decimal(value)
        dbelow = key == "decimalMinimum"

        def dbound(i: Any, p: str, out: list[Violation]) -> None:
            number = _decimal_or_none(i)
            if number is not None and ((number < limit) if dbelow else (number > limit)):
                out.append(_violation(key, p, value, i, f"{i!r} is out of the {key} {value}"))

        return dbound
    if key in ("minLength", "maxLength"):
        shortest = key == "minLength"

        def length(i: Any, p: str, out: list[Violation]) -> None:
            if isinstance(i, str) and ((len(i) < value) if shortest else (len(i) > value)):
                out.append(_violation(key, p, value, i, f"{i!r} breaks {key} {value}"))

        return length
    if key == "pattern":
        regex = re.compile(value)

        def pattern(i: Any, p: str, out: list[Violation]) -> None:
            if isinstance(i, str) and not regex.search(i):
                out.append(_violation(key, p, value, i, f"{i!r} does not match {value!r}"))

        return pattern
    if key == "format":

        def format_(i: Any, p: str, out: list[Violation]) -> None:
            if isinstance(i, str) and not _is_date(i):
                out.append(_violation(key, p, value, i, f"{i!r} is not a {value!r}"))

        return format_
    if key == "properties":
        subs = [(name, _compile(sub), f"/{_escape(name)}") for name, sub in value.items()]

        def properties(i: Any, p: str, out: list[Violation]) -> None:
            if isinstance(i, dict):
                for name, check, suffix in subs:
                    if name in i:
                        check(i[name], p + suffix, out)

        return properties
    if key == "required":

        def required(i: Any, p: str, out: list[Violation]) -> None:
            if isinstance(i, dict):
                for name in value:
                    if name not in i:
                        out.append(
                            _violation(
                                "required",
                                f"{p}/{_escape(name)}",
                                name,
                                None,
                                f"{name!r} is a required property",
                            )
                        )

        return required
    if key == "additionalProperties":
        allowed = set(schema.get("properties", {}))
        expected = sorted(allowed)

        def additional(i: Any, p: str, out: list[Violation]) -> None:
            if isinstance(i, dict):
                extras = [k for k in i if k not in allowed]
                if extras:
                    message = "Additional properties are not allowed"
                    out.append(
                        _violation(key, p, expected, sorted(extras), message, summarize=False)
                    )

        return additional
    if key == "items":
        sub = _compile(value)

        def items(i: Any, p: str, out: list[Violation]) -> None:
            if isinstance(i, list):
                for n, element in enumerate(i):
                    sub(element, f"{p}/{n}", out)

        return items
    if key in ("minItems", "maxItems"):
        fewest = key == "minItems"

        def count(i: Any, p: str, out: list[Violation]) -> None:
            if isinstance(i, list) and ((len(i) < value) if fewest else (len(i) > value)):
                out.append(_violation(key, p, value, f"<{len(i)} items>", f"breaks {key}"))

        return count
    return None  # annotations


def _is_date(text: str) -> bool:
    if not _ISO_DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class FastValidator:
    """Compiled per-field checks: the oracle's verdicts without running jsonschema per record."""

    name = "fast"

    def __init__(self, schema: Mapping[str, Any]) -> None:
        bad = unsupported_keywords(schema)
        if bad:
            raise ValueError(f"not fast-path material: {', '.join(bad)}")
        self._check = _compile(schema)

    def validate(self, event: Any) -> list[Violation]:
        out: list[Violation] = []
        self._check(event, "", out)
        return out


def make_validator(schema: Mapping[str, Any], prefer_fast: bool = True) -> Validator:
    """The fast validator when the schema allows it, else (with a warning) the oracle."""
    if prefer_fast:
        bad = unsupported_keywords(schema)
        if not bad:
            return FastValidator(schema)
        log.warning(
            "record schema %s uses keywords the fast path lacks (%s): validating with jsonschema",
            schema.get("$id", "?"),
            ", ".join(bad[:5]),
        )
    return JsonSchemaValidator(schema)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


# --- one record, end to end ------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A mapped and validated record: publish ``event`` when ``violations`` is empty."""

    event: dict[str, Any]
    clear: dict[str, Any]
    violations: tuple[Violation, ...]

    @property
    def valid(self) -> bool:
        return not self.violations


def _under(pointer: str, failed: set[str]) -> bool:
    return any(pointer == f or pointer.startswith(f + "/") for f in failed)


def map_and_validate(
    mapper: Mapper,
    validators: Mapping[str | None, Validator],
    decoded: Mapping[str, Any],
    case: str | None = None,
    *,
    record: bytes | None = None,
    record_offset: int | None = None,
) -> Outcome:
    """Apply the mapping, validate the clear event against the clear schema, locate failures.

    A value that did not convert is reported once (its conversion failure), not again for
    every schema rule its unconverted form also breaks.
    """
    applied = mapper.apply(decoded, case)
    failed = applied.failed_pointers
    schema_violations = [
        v
        for v in validators[case].validate(applied.clear)
        if v.pointer is None or not _under(v.pointer, failed)
    ]
    located = [
        locate(v, mapper, case, record, record_offset)
        for v in [*applied.violations, *schema_violations]
    ]
    return Outcome(applied.event, applied.clear, tuple(located))


def locate(
    violation: Violation,
    mapper: Mapper,
    case: str | None,
    record: bytes | None,
    record_offset: int | None,
) -> Violation:
    """Fill in the layout path, file offset, length and raw hex of a violation's field."""
    if violation.pointer is None:
        return violation
    site = mapper.site(violation.pointer, case)
    if site is None:
        return violation
    raw = offset = None
    if site.offset is not None and record is not None:
        raw = record[site.offset : site.offset + site.length].hex()
        if record_offset is not None:
            offset = record_offset + site.offset
    return violation.located(site.path, offset, site.length, raw)


def validators_for(
    schemas: Mapping[str | None, Mapping[str, Any]], prefer_fast: bool = True
) -> dict[str | None, Validator]:
    return {case: make_validator(s, prefer_fast) for case, s in schemas.items()}


def violation_keys(violations: Iterable[Violation]) -> list[tuple[str | None, str]]:
    """(pointer, rule) of each violation, sorted: what differential tests compare."""
    return sorted(((v.pointer, v.rule) for v in violations), key=lambda k: (k[0] or "", k[1]))
