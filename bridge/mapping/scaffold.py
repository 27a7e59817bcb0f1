"""A complete default mapping for a layout, to review and edit rather than write from nothing.

Types come from the PICs alone: scale > 0 becomes decimal(precision, scale), other numerics
integer, text string with the PIC's maxLength, items with 88-levels an enum of the conditions.
Dates are not guessed (a PIC 9(8) may hold anything): the reviewer changes those types.
Names that look like personal data are classified pii and masked until someone decides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from bridge.copybook.layout import Category, Condition, Field, Layout, Literal
from bridge.mapping.model import CASE_PROPERTY, Scalar
from bridge.mapping.plan import char_length, integer_digits, is_numeric, layouts_fingerprint

CASE_STYLES = ("snake", "camel", "kebab", "keep")

# Name fragments that suggest personal data (word-bounded on COBOL hyphens).
_PII_WORDS = re.compile(
    r"(^|-)(NAME|FNAME|LNAME|SSN|SIN|NINO|NRIC|NATIONAL|NATL|GOVT|PASSPORT|DOB|BIRTH|PHONE|"
    r"EMAIL|ADDR|ADDRESS|STREET|TAX|TIN|PWD|PASSWORD)(-|$)"
)


def target_name(cobol: str, style: str) -> str:
    """``ACCT-CURR-BAL`` in the chosen case style (names may not start with a digit)."""
    words = [w for w in re.split(r"[-_]+", cobol.strip("-_")) if w]
    if style == "keep":
        name = cobol
    elif style == "snake":
        name = "_".join(w.lower() for w in words)
    elif style == "kebab":
        name = "-".join(w.lower() for w in words)
    elif style == "camel":
        name = words[0].lower() + "".join(w.capitalize() for w in words[1:])
    else:
        raise ValueError(f"case style must be one of {', '.join(CASE_STYLES)}: {style!r}")
    name = name.replace("#", "_")
    return name if re.match(r"[A-Za-z_]", name) else "_" + name


def default_mapping(
    layouts: Sequence[Layout],
    copybook: str,
    *,
    name: str,
    case: str = "camel",
    record: str | None = None,
    include_dirs: Sequence[str] = (),
    code_page: str = "cp037",
) -> dict[str, Any]:
    """The default mapping document (a JSON-ready dict) for one record of the copybook."""
    if record is not None:
        chosen = [lay for lay in layouts if lay.name == record]
        if not chosen:
            raise KeyError(record)
        layout = chosen[0]
    else:
        if len(layouts) != 1:
            raise ValueError(
                f"the copybook has {len(layouts)} records; choose one "
                f"({', '.join(lay.name for lay in layouts)})"
            )
        layout = layouts[0]
    fields: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    drops: list[dict[str, Any]] = []
    _scope(layout.root, case, fields=fields, tables=tables, drops=drops, taken=set())
    framing: dict[str, Any] = (
        {"type": "fixed", "record_length": layout.record_length}
        if layout.min_length == layout.record_length
        else {"type": "rdw"}
    )
    copy: dict[str, Any] = {"path": copybook}
    if include_dirs:
        copy["include_dirs"] = list(include_dirs)
    if len(layouts) > 1:
        copy["record"] = layout.name
    if layout.dialect != "ibm":
        copy["dialect"] = layout.dialect
    copy["fingerprint"] = layouts_fingerprint([layout])
    doc: dict[str, Any] = {
        "name": name,
        "version": "1.0.0",
        "description": f"Default mapping of {layout.name} written by `bridge mapping init`: "
        "review types (dates are not guessed), classifications and constraints.",
        "copybook": copy,
        "source": {"framing": framing, "code_page": code_page},
        "fields": fields,
    }
    if tables:
        doc["tables"] = tables
    if drops:
        doc["drop"] = drops
    return doc


def default_multi_mapping(
    layouts: Sequence[Layout],
    copybook: str,
    *,
    name: str,
    discriminator: Field,
    when: Sequence[tuple[str, str]],
    case: str = "camel",
    include_dirs: Sequence[str] = (),
    code_page: str = "cp037",
) -> dict[str, Any]:
    """The default mapping of a multi-layout file: every field of each level-01 record a
    ``when`` (discriminator value, record name) names, one case per record.

    ``discriminator`` is the field (bridge.decode.multi.resolve_field) each record carries at
    the same place under the same name. A numeric discriminator's values are numbers.
    """
    by_name = {lay.name: lay for lay in layouts}
    values: dict[str, list[Scalar]] = {}
    for value, record in when:
        if record.upper() not in by_name:
            raise KeyError(record)
        scalar: Scalar = value
        if is_numeric(discriminator):
            try:
                scalar = int(value)
            except ValueError:
                raise ValueError(f"--when {value}={record}: the discriminator is numeric") from None
        values.setdefault(record.upper(), []).append(scalar)
    chosen = [by_name[record] for record in values]
    source = discriminator.path.split(".", 1)[1]
    for layout in chosen:  # mapping check reads it by name in every case's record
        try:
            layout.field(f"{layout.name}.{source}")
        except KeyError:
            raise ValueError(
                f"discriminator {discriminator.path}: {layout.name} has no {source}; every "
                "record must name its record-type field the same way"
            ) from None
    fields: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    drops: list[dict[str, Any]] = []
    for layout in chosen:  # one event scope per record: targets repeat across records
        taken = {CASE_PROPERTY}  # each event carries its case under this name
        _scope(layout.root, case, fields=fields, tables=tables, drops=drops, taken=taken)
    fixed = all(lay.min_length == lay.record_length for lay in chosen)
    framing: dict[str, Any] = (
        # A fixed file holds every record type at one LRECL: the longest.
        {"type": "fixed", "record_length": max(lay.record_length for lay in chosen)}
        if fixed
        else {"type": "rdw"}
    )
    copy: dict[str, Any] = {"path": copybook}
    if include_dirs:
        copy["include_dirs"] = list(include_dirs)
    if chosen[0].dialect != "ibm":
        copy["dialect"] = chosen[0].dialect
    copy["fingerprint"] = layouts_fingerprint(chosen)
    doc: dict[str, Any] = {
        "name": name,
        "version": "1.0.0",
        "description": f"Default mapping of {', '.join(values)} written by `bridge mapping "
        "init`: review types (dates are not guessed), classifications and constraints.",
        "copybook": copy,
        "source": {"framing": framing, "code_page": code_page},
        "discriminator": {
            "source": f"{chosen[0].name}.{source}",
            "cases": [
                {"name": target_name(record, case), "when": listed, "layout": record}
                for record, listed in values.items()
            ],
        },
        "fields": fields,
    }
    if tables:
        doc["tables"] = tables
    if drops:
        doc["drop"] = drops
    return doc


def _scope(
    parent: Field,
    case: str,
    *,
    fields: list[dict[str, Any]],
    tables: list[dict[str, Any]],
    drops: list[dict[str, Any]],
    taken: set[str],
) -> None:
    """Map the children of ``parent`` into one event scope (``taken`` holds its names)."""
    for item in parent.children:
        if item.is_filler or item.level == 66 or item.renames is not None:
            continue
        if item.redefines is not None:
            drops.append(
                {
                    "source": item.path,
                    "reason": f"REDEFINES alternative of {item.redefines}: not decoded unless "
                    "a discriminator case chooses it",
                }
            )
            continue
        if item.is_group and item.occurs is not None:
            target = _unique(target_name(item.name, case), taken)
            tables.append({"source": item.path, "target": target})
            _scope(item, case, fields=fields, tables=tables, drops=drops, taken=set())
        elif item.is_group:
            _scope(item, case, fields=fields, tables=tables, drops=drops, taken=taken)
        else:
            fields.append(default_field(item, _unique(target_name(item.name, case), taken)))


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate


def default_field(item: Field, target: str) -> dict[str, Any]:
    """The default entry of one elementary item."""
    entry: dict[str, Any] = {"source": item.path, "target": target}
    numeric = is_numeric(item)
    scale = item.scale or 0
    enum_values = _enum_values(item) if item.conditions else None
    if enum_values:
        entry["type"] = "enum"
        entry["values"] = enum_values
        entry["description"] = "From the 88-levels: any other value is rejected."
    elif item.category is Category.FLOAT:
        entry["type"] = "string"
        entry["description"] = "Binary floating point: published as text, never as money."
    elif numeric and scale > 0:
        entry["type"] = "decimal"
        entry["precision"] = integer_digits(item) + scale
        entry["scale"] = scale
    elif numeric:
        entry["type"] = "integer"
    else:
        entry["type"] = "string"
        entry["maxLength"] = char_length(item)
    entry["required"] = numeric and item.category is not Category.FLOAT
    if _PII_WORDS.search(item.name):
        entry["classification"] = "pii"
        entry["pii"] = {"policy": "mask", "keep_last": 0, "mask_char": "*"}
        note = "Classified pii by its name: masked until reviewed."
        entry["description"] = f"{entry.get('description', '')} {note}".strip()
    else:
        entry["classification"] = "internal"
    return entry


def _enum_values(item: Field) -> list[dict[str, Any]] | None:
    """88-levels as enum values; None when some value cannot be written as a decoded value."""
    labels = _labels(item, item.conditions)
    out: list[dict[str, Any]] = []
    seen: set[Scalar | tuple[Scalar, Scalar]] = set()
    for cond, label in zip(item.conditions, labels, strict=True):
        sources: list[Scalar] = []
        ranges: list[dict[str, Scalar]] = []
        for vr in cond.values:
            low = _decoded(item, vr.low)
            if low is None:
                return None
            if vr.high is not None:
                high = _decoded(item, vr.high)
                if high is None or not is_numeric(item):
                    return None  # text THRU ranges follow the EBCDIC collating sequence
                if (low, high) not in seen:
                    seen.add((low, high))
                    ranges.append({"low": low, "high": high})
            elif low not in seen:  # a value in two conditions belongs to the first
                seen.add(low)
                sources.append(low)
        value: dict[str, Any] = {"target": label}
        if sources:
            value["source"] = sources
        if ranges:
            value["ranges"] = ranges
        if sources or ranges:
            value["condition"] = cond.name
            out.append(value)
    return out or None


def _labels(item: Field, conditions: Sequence[Condition]) -> list[str]:
    """Condition names without their shared prefix (AM-STATUS-ACTIVE -> ACTIVE)."""
    names = [c.name.split("-") for c in conditions]
    pool = [*names, item.name.split("-")] if len(names) == 1 else names
    common = 0
    while (
        all(len(n) > common + 1 for n in names) and len({tuple(n[: common + 1]) for n in pool}) == 1
    ):
        common += 1
    labels = ["_".join(n[common:]) for n in names]
    if len(set(labels)) != len(labels):
        labels = [c.name.replace("-", "_") for c in conditions]
    return labels


def _decoded(item: Field, literal: Literal) -> Scalar | None:
    """What the decoder writes for an item holding ``literal`` (None when unrepresentable)."""
    numeric = is_numeric(item)
    scale = item.scale or 0
    if literal.kind == "figurative":
        text = literal.text.upper()
        if text in ("ZERO", "ZEROS", "ZEROES"):
            if numeric:
                return 0 if scale <= 0 else f"{Decimal(0):.{scale}f}"
            return "0" * char_length(item)
        if text in ("SPACE", "SPACES") and not numeric:
            return ""
        return None
    if literal.kind == "numeric" and numeric:
        try:
            number = Decimal(literal.text)
        except InvalidOperation:
            return None
        if scale <= 0:
            return int(number) if number == number.to_integral_value() else None
        with localcontext(prec=200):
            quantized = number.quantize(Decimal(1).scaleb(-scale))
        return f"{quantized:f}" if quantized == number else None
    if literal.kind == "alphanumeric" and not numeric:
        return literal.text.rstrip(" ")
    return None
