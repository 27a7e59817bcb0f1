"""Validate events against their record schema, reporting every violated rule (in Python).

``jsonschema``'s Draft202012Validator, extended with the bridge's exact decimal bounds, is the
one Python validator: the fallback for a schema the C checks (check_plan.py) do not cover, and
the oracle they are tested against. ``map_and_validate`` maps a record and validates it;
``locate`` places a violation at its field's bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

from bridge.mapping.apply import Mapper
from bridge.mapping.model import json_pointer
from bridge.mapping.reasons import CHECK_SCHEMA, Violation, jsonable

_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


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
    validators: Mapping[str | None, JsonSchemaValidator],
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
    schemas: Mapping[str | None, Mapping[str, Any]],
) -> dict[str | None, JsonSchemaValidator]:
    return {case: JsonSchemaValidator(s) for case, s in schemas.items()}


def violation_keys(violations: Iterable[Violation]) -> list[tuple[str | None, str]]:
    """(pointer, rule) of each violation, sorted: what differential tests compare."""
    return sorted(((v.pointer, v.rule) for v in violations), key=lambda k: (k[0] or "", k[1]))
