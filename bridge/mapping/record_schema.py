"""The JSON Schema (2020-12) every event of a mapping satisfies.

``$id`` is ``urn:bridge:schema:<mapping>:<version>:<layout fingerprint>``, so a consumer can tell
exactly which mapping and which byte layout produced an event. Two variants exist: the
published schema (what consumers see: hashed and masked PII as text) and the clear schema
(every constraint the mapping states, checked before PII policies run; see validate.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bridge.copybook.layout import Layout
from bridge.mapping.lint import plans_for
from bridge.mapping.model import CASE_PROPERTY, MappingDoc, PiiPolicyKind, TargetType
from bridge.mapping.plan import FieldPlan, Plan, TablePlan, char_length

DRAFT = "https://json-schema.org/draft/2020-12/schema"
HASH_PATTERN = "^[0-9a-f]{64}$"
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TIMESTAMP_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?$"

DECIMAL_NOTE = (
    "Decimal fields are JSON strings holding the exact value with exactly `scale` fractional "
    "digits ('-1234.50'), never JSON numbers. Most JSON readers (JavaScript, Jackson by "
    "default, Python's json) turn numbers into IEEE-754 doubles, which hold 15 to 17 "
    "significant digits and no exact cents, so an S9(17)V99 balance would be rounded without "
    "anyone noticing; JSON Schema's multipleOf is itself computed in binary floating point "
    "(4.35 is not a multiple of 0.01 there), so a number-typed schema cannot check a scale; "
    "and a string keeps its scale ('12.50' stays '12.50') through every re-serialisation. "
    "Precision and scale are enforced by `pattern`; bounds by the bridge keywords "
    "decimalMinimum and decimalMaximum, compared as exact decimals by the bridge (a generic "
    "2020-12 validator ignores them). Read these fields into a decimal type (BigDecimal, "
    "decimal.Decimal), never a float."
)


def schema_id(mapping: MappingDoc) -> str:
    return f"urn:bridge:schema:{mapping.name}:{mapping.version}:{mapping.copybook.fingerprint}"


def decimal_pattern(precision: int, scale: int) -> str:
    """Exactly ``scale`` fractional digits, at most precision-scale integer digits, no -0."""
    whole = precision - scale
    integer = "0" if whole <= 0 else f"(0|[1-9][0-9]{{0,{whole - 1}}})"
    if scale == 0:
        return f"^(?!-0$)-?{integer}$"
    return f"^(?!-0\\.0+$)-?{integer}\\.[0-9]{{{scale}}}$"


def canonical_decimal(value: Decimal | int | str, scale: int) -> str:
    """The event text of a decimal: exactly ``scale`` digits after the point, no -0."""
    number = Decimal(value)
    text = f"{number:.{scale}f}"
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text


def value_schema(fp: FieldPlan, published: bool) -> dict[str, Any]:
    """The schema of one field's value (one element, for an elementary OCCURS)."""
    spec, item = fp.spec, fp.item
    out: dict[str, Any] = {}
    if spec.description:
        out["description"] = spec.description
    protection = spec.protection if published else PiiPolicyKind.KEEP
    kind = spec.type
    if protection is PiiPolicyKind.HASH:
        out["type"] = "string"
        out["pattern"] = HASH_PATTERN
    elif protection is PiiPolicyKind.MASK:
        out["type"] = "string"
        if kind is TargetType.STRING:
            out["maxLength"] = spec.max_length if spec.max_length is not None else char_length(item)
    elif kind is TargetType.STRING:
        out["type"] = "string"
        out["maxLength"] = spec.max_length if spec.max_length is not None else char_length(item)
        if spec.min_length is not None:
            out["minLength"] = spec.min_length
        if spec.pattern is not None:
            out["pattern"] = spec.pattern
        if spec.enum is not None:
            out["enum"] = list(spec.enum)
    elif kind is TargetType.INTEGER:
        out["type"] = "integer"
        if spec.minimum is not None:
            out["minimum"] = int(spec.minimum)
        if spec.maximum is not None:
            out["maximum"] = int(spec.maximum)
        if spec.enum is not None:
            out["enum"] = [int(v) for v in spec.enum]
    elif kind is TargetType.DECIMAL:
        assert spec.precision is not None and spec.scale is not None
        out["type"] = "string"
        out["pattern"] = decimal_pattern(spec.precision, spec.scale)
        if spec.minimum is not None:
            out["decimalMinimum"] = canonical_decimal(spec.minimum, spec.scale)
        if spec.maximum is not None:
            out["decimalMaximum"] = canonical_decimal(spec.maximum, spec.scale)
        if spec.enum is not None:
            out["enum"] = [canonical_decimal(v, spec.scale) for v in spec.enum]
    elif kind is TargetType.DATE:
        out["type"] = "string"
        out["format"] = "date"
        out["pattern"] = DATE_PATTERN
    elif kind is TargetType.TIMESTAMP:
        out["type"] = "string"
        out["pattern"] = TIMESTAMP_PATTERN
    elif kind is TargetType.BOOLEAN:
        out["type"] = "boolean"
    else:
        out["type"] = "string"
        out["enum"] = [v.target for v in spec.values]
    if not spec.required:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    out["x-bridge-source"] = item.path
    out["x-bridge-classification"] = spec.classification.value
    if spec.pii is not None:
        out["x-bridge-pii"] = spec.pii.policy.value
    return out


def _array(item_schema: dict[str, Any], plan_item: Any) -> dict[str, Any]:
    occurs = plan_item.occurs
    assert occurs is not None
    fixed = occurs.depending_on is None
    return {
        "type": "array",
        "minItems": occurs.max if fixed else occurs.min,
        "maxItems": occurs.max,
        "items": item_schema,
    }


def object_schema(members: Sequence[FieldPlan | TablePlan], published: bool) -> dict[str, Any]:
    """An object with one property per member; dotted targets become nested objects."""
    tree: dict[str, Any] = {}
    for member in members:
        if isinstance(member, FieldPlan):
            schema = value_schema(member, published)
            if member.repeated:
                schema = _array(schema, member.item)
        else:
            schema = _array(object_schema(member.members, published), member.item)
            if member.spec.description:
                schema["description"] = member.spec.description
            schema["x-bridge-source"] = member.item.path
        node = tree
        for part in member.target[:-1]:
            node = node.setdefault(part, {})
        node[member.target[-1]] = ("leaf", schema)
    return _emit(tree)


def _emit(tree: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, node in tree.items():
        properties[name] = node[1] if isinstance(node, tuple) else _emit(node)
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def plan_schema(plan: Plan, published: bool = True) -> dict[str, Any]:
    """The schema of the events of one plan (one layout, or one discriminator case)."""
    schema = object_schema(plan.members, published)
    if plan.case is not None:
        schema["properties"] = {CASE_PROPERTY: {"const": plan.case}, **schema["properties"]}
        schema["required"] = [CASE_PROPERTY, *schema["required"]]
    return schema


def record_schema(
    mapping: MappingDoc, layouts: Sequence[Layout], published: bool = True
) -> dict[str, Any]:
    """The record schema document of ``mapping`` (check the mapping first)."""
    plans = plans_for(mapping, layouts)
    header: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": schema_id(mapping) + ("" if published else ":clear"),
        "title": f"{mapping.name} {mapping.version}",
        "description": (
            (mapping.description + "\n\n" if mapping.description else "") + DECIMAL_NOTE
        ),
        "x-bridge-mapping": {
            "name": mapping.name,
            "version": mapping.version,
            "fingerprint": mapping.copybook.fingerprint,
            "copybook": mapping.copybook.path,
            "published": published,
        },
    }
    if len(plans) == 1 and plans[0].case is None:
        return {**header, **plan_schema(plans[0], published)}
    defs = {plan.case or plan.layout.name: plan_schema(plan, published) for plan in plans}
    return {
        **header,
        "oneOf": [{"$ref": f"#/$defs/{name}"} for name in defs],
        "$defs": defs,
    }


def case_schemas(
    mapping: MappingDoc, layouts: Sequence[Layout], published: bool = True
) -> dict[str | None, dict[str, Any]]:
    """A standalone schema per case (None for a single-layout mapping), for fast validation."""
    out: dict[str | None, dict[str, Any]] = {}
    for plan in plans_for(mapping, layouts):
        schema = plan_schema(plan, published)
        schema["$schema"] = DRAFT
        suffix = ("" if published else ":clear") + (f":case:{plan.case}" if plan.case else "")
        schema["$id"] = schema_id(mapping) + suffix
        out[plan.case] = schema
    return out
