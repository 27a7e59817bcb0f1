"""One format for every reason a record is rejected: decode errors and validation failures alike.

A reason names the field (layout path with 0-based subscripts, as docs/decoding.md writes
decode errors), the rule broken (a decode reason such as ``bad-packed-sign``, a conversion rule
such as ``date-format``, or a JSON Schema keyword such as ``maximum``), what was expected, the
actual value, and where the field's bytes sit in the file with their hex, so a person can go
from an audit record straight to the offending bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from bridge.decode.verdict import FieldError

CHECK_DECODE = "decode"  # the bytes do not decode (docs/decoding.md reasons)
CHECK_CONVERT = "convert"  # a decoded value does not convert to its target type
CHECK_SCHEMA = "schema"  # the event breaks its record schema


@dataclass(frozen=True)
class Violation:
    check: str  # decode | convert | schema
    rule: str
    message: str
    path: str | None = None  # layout path with subscripts (REC.HIST[2].AMOUNT)
    pointer: str | None = None  # JSON pointer in the event ("" is the event itself)
    expected: Any = None
    actual: Any = None
    offset: int | None = None  # byte offset of the field in the file
    length: int | None = None
    raw: str | None = None  # the field's bytes, lower-case hex

    @classmethod
    def from_field_error(cls, error: FieldError) -> Violation:
        return cls(
            check=CHECK_DECODE,
            rule=str(error.reason),
            message=error.message,
            path=error.path,
            offset=error.offset,
            length=error.length,
            raw=error.raw.hex(),
        )

    def located(
        self, path: str | None, offset: int | None, length: int | None, raw: str | None
    ) -> Violation:
        return replace(self, path=path, offset=offset, length=length, raw=raw)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "path": self.path,
            "pointer": self.pointer,
            "rule": self.rule,
            "expected": jsonable(self.expected),
            "actual": jsonable(self.actual),
            "offset": self.offset,
            "length": self.length,
            "raw": self.raw,
            "message": self.message,
        }


def jsonable(value: Any) -> Any:
    """A value as JSON can carry it exactly: decimals become their text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # never silently re-parsed as a number
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    if isinstance(value, bytes):
        return value.hex()
    return value
