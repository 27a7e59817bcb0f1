"""Check a mapping against its copybook: every field exists, every target type fits its PIC.

The meta-schema (model.load_mapping) catches malformed documents; this module catches mappings
that are well-formed but wrong for the layout: a decimal target narrower than the PIC, an
integer target for a field with decimals, a field neither mapped nor dropped, a layout whose
fingerprint is not the one the mapping was written against. Every problem names the JSON
pointer in the mapping and the layout path, and all of them are reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bridge.codepages import UnknownCodepageError, decode_table
from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Category, Field, Layout, Usage
from bridge.decode.plan import PlanError, compile_plan
from bridge.decode.verdict import DecodeOptions, DecodeOptionsError
from bridge.errors import CopybookError, Diagnostic
from bridge.inputs import input_problem
from bridge.mapping.model import (
    CASE_PROPERTY,
    FieldSpec,
    MappingDoc,
    MappingError,
    MappingNotFoundError,
    PiiPolicyKind,
    Problem,
    Scalar,
    TargetType,
    load_mapping,
)
from bridge.mapping.plan import (
    Plan,
    build_plan,
    char_length,
    decoded_items,
    integer_digits,
    is_numeric,
    layouts_fingerprint,
)

# Digits in the text of each date/timestamp format (numeric sources are zero-padded to it).
DATE_FORMAT_DIGITS = {
    "YYYYMMDD": 8,
    "YYMMDD": 6,
    "YYDDD": 5,
    "YYYYDDD": 7,
    "CYYMMDD": 7,
}
TEXT_FORMAT_LENGTH = {
    "YYYY-MM-DD": 10,
    "YYYYMMDDHHMMSS": 14,
    "YYYY-MM-DD HH:MM:SS": 19,
    "YYYY-MM-DD HH:MM:SS.ffffff": 26,
    "YYYY-MM-DD-HH.MM.SS.ffffff": 26,
}


JSON_SAFE_DIGITS = 15  # every 15-digit integer survives an IEEE-754 double
MAX_TARGET_DEPTH = 32  # nested event objects; deeper is a typo or an attack, never a design
MAX_RECORD_LENGTH = 2**31 - 1  # what the C core's record lengths can hold
# A copybook a mapping names is echoed line by line in errors only when named like one.
COPYBOOK_SUFFIXES = frozenset({".cpy", ".cbl", ".cob", ".copy", ".txt"})


@dataclass(frozen=True)
class Selection:
    """One layout a mapping applies to (per discriminator case, or the only one)."""

    case: str | None
    layout: Layout
    redefines: tuple[tuple[str, str], ...] = ()


def select_layouts(
    mapping: MappingDoc, layouts: Sequence[Layout]
) -> tuple[list[Selection], list[Problem]]:
    """The layouts the mapping describes, and the problems choosing them."""
    by_name = {lay.name: lay for lay in layouts}
    problems: list[Problem] = []
    selections: list[Selection] = []
    if mapping.discriminator is not None:
        for i, case in enumerate(mapping.discriminator.cases):
            layout = by_name.get(case.layout)
            if layout is None:
                problems.append(
                    Problem(
                        f"/discriminator/cases/{i}/layout",
                        f"no level-01 record {case.layout!r} in the copybook "
                        f"(it has {', '.join(by_name)})",
                    )
                )
                continue
            selections.append(Selection(case.name, layout, case.redefines))
    elif mapping.copybook.record is not None:
        layout = by_name.get(mapping.copybook.record)
        if layout is None:
            problems.append(
                Problem(
                    "/copybook/record",
                    f"no level-01 record {mapping.copybook.record!r} in the copybook "
                    f"(it has {', '.join(by_name)})",
                )
            )
        else:
            selections.append(Selection(None, layout))
    elif len(layouts) == 1:
        selections.append(Selection(None, layouts[0]))
    else:
        problems.append(
            Problem(
                "/copybook",
                f"the copybook has {len(layouts)} records ({', '.join(by_name)}): name one in "
                "copybook.record, or add a discriminator",
            )
        )
    return selections, problems


def pinned_layouts(mapping: MappingDoc, layouts: Sequence[Layout]) -> list[Layout]:
    """The layouts whose fingerprint the mapping pins, in a stable order."""
    selections, _ = select_layouts(mapping, layouts)
    seen: dict[str, Layout] = {}
    for sel in selections:
        seen.setdefault(sel.layout.name, sel.layout)
    return list(seen.values())


def plans_for(mapping: MappingDoc, layouts: Sequence[Layout]) -> list[Plan]:
    """One plan per selected layout; raises nothing, problems ride on the plans."""
    selections, _ = select_layouts(mapping, layouts)
    return [build_plan(mapping, sel.layout, dict(sel.redefines), sel.case) for sel in selections]


def check_mapping(mapping: MappingDoc, layouts: Sequence[Layout]) -> list[Problem]:
    """Every problem of ``mapping`` against the copybook's ``layouts`` (errors and warnings)."""
    problems: list[Problem] = []
    selections, chosen_problems = select_layouts(mapping, layouts)
    problems.extend(chosen_problems)
    if not selections:
        return problems

    pinned = pinned_layouts(mapping, layouts)
    actual = layouts_fingerprint(pinned)
    if actual != mapping.copybook.fingerprint:
        problems.append(
            Problem(
                "/copybook/fingerprint",
                f"the copybook's layout fingerprint is {actual}, the mapping was written "
                f"against {mapping.copybook.fingerprint}: the byte layout changed; review "
                "every field and update the fingerprint",
            )
        )

    try:
        decode_table(mapping.code_page)
    except UnknownCodepageError as exc:
        problems.append(Problem("/source/code_page", str(exc)))

    framing = mapping.framing
    if framing.type == "fixed":
        for sel in selections:
            lay = sel.layout
            if lay.min_length != lay.record_length:
                problems.append(
                    Problem(
                        "/source/framing",
                        f"fixed framing, but record {lay.name} varies from {lay.min_length} "
                        f"to {lay.record_length} bytes (OCCURS DEPENDING ON): use rdw, vb, vbs "
                        "or odo",
                    )
                )
            elif framing.record_length is not None and framing.record_length < lay.max_length:
                problems.append(
                    Problem(
                        "/source/framing/record_length",
                        f"record_length {framing.record_length} is shorter than record "
                        f"{lay.name} ({lay.record_length} bytes)",
                    )
                )

    if framing.record_length is not None and framing.record_length > MAX_RECORD_LENGTH:
        problems.append(
            Problem(
                "/source/framing/record_length",
                f"record_length {framing.record_length} is larger than any record "
                f"(at most {MAX_RECORD_LENGTH:,} bytes)",
            )
        )

    if framing.type == "odo":
        for sel in selections:
            if sel.layout.min_length == sel.layout.record_length:
                problems.append(
                    Problem(
                        "/source/framing/type",
                        f"odo framing, but record {sel.layout.name} is always "
                        f"{sel.layout.record_length} bytes: fixed says the same more simply",
                        severity="warning",
                    )
                )

    # Every source path must name an item of some selected layout.
    items: dict[str, Field] = {}
    decodable: set[str] = set()
    for sel in selections:
        for item in sel.layout.fields():
            items.setdefault(item.path, item)
        decodable.update(i.path for i in decoded_items(sel.layout, dict(sel.redefines)))

    seen_sources: dict[str, str] = {}
    for spec in mapping.fields:
        found = items.get(spec.source)
        if spec.source in seen_sources:
            problems.append(
                Problem(
                    spec.pointer + "/source",
                    f"mapped twice (also at {seen_sources[spec.source]})",
                    spec.source,
                )
            )
            continue
        seen_sources[spec.source] = spec.pointer
        if found is None:
            problems.append(
                Problem(spec.pointer + "/source", "no such field in the copybook", spec.source)
            )
            continue
        item = found
        if item.is_group:
            problems.append(
                Problem(
                    spec.pointer + "/source",
                    "is a group: map its elementary items (or drop the group)",
                    spec.source,
                )
            )
            continue
        if item.path not in decodable:
            problems.append(
                Problem(
                    spec.pointer + "/source",
                    "is never decoded (a REDEFINES alternative no discriminator case chooses, "
                    "or a FILLER)",
                    spec.source,
                )
            )
            continue
        problems.extend(check_field(spec, item))
        if spec.protection is PiiPolicyKind.HASH and mapping.pii_key is None:
            problems.append(
                Problem(
                    "/pii_key",
                    "a field is hashed but the mapping names no pii_key (env or file)",
                    spec.source,
                )
            )

    for table in mapping.tables:
        group = items.get(table.source)
        if group is None:
            problems.append(
                Problem(table.pointer + "/source", "no such item in the copybook", table.source)
            )
        elif not (group.is_group and group.occurs is not None):
            problems.append(
                Problem(
                    table.pointer + "/source",
                    "is not an OCCURS group (an elementary OCCURS item is mapped as a field "
                    "and becomes an array)",
                    table.source,
                )
            )

    for drop in mapping.drops:
        if drop.source not in items:
            problems.append(
                Problem(drop.pointer + "/source", "no such item in the copybook", drop.source)
            )
        elif drop.source in seen_sources:
            problems.append(
                Problem(drop.pointer + "/source", "both mapped and dropped", drop.source)
            )

    for drop in mapping.drops:
        group = items.get(drop.source)
        if group is None or not group.is_group:
            continue
        inside = [src for src in seen_sources if src.startswith(drop.source + ".")]
        if inside:
            problems.append(
                Problem(
                    drop.pointer + "/source",
                    f"drops group {drop.source}, whose item(s) {', '.join(inside)} are mapped: "
                    "they would vanish from the events, and their checks with them",
                    drop.source,
                )
            )

    for spec in mapping.fields:
        depth = spec.target.count(".") + 1
        if depth > MAX_TARGET_DEPTH:
            problems.append(
                Problem(
                    spec.pointer + "/target",
                    f"target nests {depth} levels; at most {MAX_TARGET_DEPTH}",
                    spec.source,
                )
            )

    problems.extend(_check_keys(mapping, items))

    if mapping.discriminator is not None:
        problems.extend(_check_discriminator(mapping, selections))

    for sel in selections:
        plan = build_plan(mapping, sel.layout, dict(sel.redefines), sel.case)
        problems.extend(plan.problems)
        try:  # the record stage decodes natively only: say so here, not as a crash mid-run
            compile_plan(sel.layout, DecodeOptions(redefines=dict(sel.redefines)))
        except PlanError as exc:
            problems.append(
                Problem(
                    "/copybook",
                    f"record {sel.layout.name} cannot be decoded natively ({exc}), and mappings "
                    "run natively only (bridge decode COPYBOOK FILE decodes it with the "
                    "reference decoder)",
                )
            )
        except DecodeOptionsError:
            pass  # a REDEFINES choice the checks above report

    unique = {(p.pointer, p.field, p.message): p for p in problems}
    return list(unique.values())


def errors(problems: Sequence[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _check_keys(mapping: MappingDoc, items: dict[str, Field]) -> list[Problem]:
    problems: list[Problem] = []
    for which, paths in (("kafka", mapping.keys.kafka), ("redis", mapping.keys.redis)):
        for i, path in enumerate(paths):
            pointer = f"/keys/{which}/{i}"
            spec = mapping.field_spec(path)
            item = items.get(path)
            if spec is None or item is None:
                problems.append(Problem(pointer, "a key field must be a mapped field", path))
                continue
            parts = path.split(".")
            chain = [items.get(".".join(parts[:n])) for n in range(1, len(parts) + 1)]
            if any(c is not None and c.occurs is not None for c in chain):
                problems.append(
                    Problem(pointer, "a key field cannot be inside an OCCURS table", path)
                )
            if spec.classification.value == "pii" and spec.protection is PiiPolicyKind.KEEP:
                problems.append(
                    Problem(
                        pointer,
                        "a pii field kept in clear is part of the key: keys are visible to "
                        "every consumer and in broker logs",
                        path,
                        severity="warning",
                    )
                )
    return problems


def _check_discriminator(mapping: MappingDoc, selections: list[Selection]) -> list[Problem]:
    disc = mapping.discriminator
    assert disc is not None
    problems: list[Problem] = []
    where: set[tuple[int, int]] = set()
    for sel in selections:
        try:
            item = sel.layout.field(
                disc.source.replace(disc.source.split(".")[0], sel.layout.name, 1)
            )
        except KeyError:
            problems.append(
                Problem(
                    "/discriminator/source",
                    f"no such field in record {sel.layout.name}",
                    disc.source,
                )
            )
            continue
        where.add((item.offset, item.length))
        for original, alternative in sel.redefines:
            try:
                alt = sel.layout.field(alternative)
            except KeyError:
                alt = None
            if alt is None or alt.redefines != original:
                problems.append(
                    Problem(
                        "/discriminator/cases",
                        f"case {sel.case}: {alternative} is not a REDEFINES alternative of "
                        f"{original}",
                        alternative,
                    )
                )
    if len(where) > 1:
        problems.append(
            Problem(
                "/discriminator/source",
                "the discriminator sits at different offsets or lengths in the cases' layouts",
                disc.source,
            )
        )
    for spec in mapping.fields:
        if spec.target.split(".")[0] == CASE_PROPERTY:
            problems.append(
                Problem(
                    spec.pointer + "/target",
                    f"{CASE_PROPERTY} carries the discriminator case in events: choose another "
                    "name",
                    spec.source,
                )
            )
    seen: dict[Scalar, str] = {}
    for i, case in enumerate(disc.cases):
        for value in case.when:
            if value in seen:
                problems.append(
                    Problem(
                        f"/discriminator/cases/{i}/when",
                        f"value {value!r} already selects case {seen[value]}",
                    )
                )
            seen[value] = case.name
    return problems


def _pic(item: Field) -> str:
    pic = item.picture or item.usage.value.upper()
    usage = "" if item.usage in (Usage.DISPLAY, Usage.GROUP) else f" {item.usage.value.upper()}"
    return f"PIC {pic}{usage}"


Report = Callable[..., None]


def check_field(spec: FieldSpec, item: Field) -> list[Problem]:
    """Does ``spec``'s target fit ``item``'s PIC, and do its constraints make sense?"""
    problems: list[Problem] = []

    def err(pointer: str, message: str, severity: str = "error") -> None:
        problems.append(Problem(spec.pointer + pointer, message, item.path, severity))

    numeric = is_numeric(item)
    scale = item.scale or 0
    pic = _pic(item)
    if item.category is Category.FLOAT and spec.type is not TargetType.STRING:
        err(
            "/type",
            f"{pic} is binary floating point: no exact {spec.type.value}; map it as a string "
            "or drop it",
        )
        return problems

    kind = spec.type
    if kind is TargetType.INTEGER:
        if numeric and scale > 0:
            err(
                "/type",
                f"{pic} has {scale} decimal place(s): an integer target would drop them "
                f"(use decimal with scale >= {scale})",
            )
        elif not numeric:
            err(
                "/type",
                f"{pic} is {item.category.value}: text that is not an integer is rejected "
                "record by record",
                "warning",
            )
        elif integer_digits(item) > JSON_SAFE_DIGITS:
            err(
                "/type",
                f"{pic} holds up to {integer_digits(item)} digits: consumers that read JSON "
                "numbers as doubles (JavaScript, many others) lose precision beyond 2**53; "
                "consider decimal with scale 0 (a string) or string",
                "warning",
            )
    elif kind is TargetType.DECIMAL:
        assert spec.precision is not None and spec.scale is not None
        if spec.scale > spec.precision:
            err("/scale", f"scale {spec.scale} exceeds precision {spec.precision}")
        if numeric:
            if spec.scale < max(scale, 0):
                err(
                    "/scale",
                    f"scale {spec.scale} is smaller than the {scale} decimal place(s) of {pic}: "
                    "digits would be lost",
                )
            need = integer_digits(item)
            if spec.precision - spec.scale < need:
                err(
                    "/precision",
                    f"precision {spec.precision} with scale {spec.scale} leaves "
                    f"{spec.precision - spec.scale} integer digit(s); {pic} has {need}",
                )
        else:
            err(
                "/type",
                f"{pic} is {item.category.value}: text that is not a decimal of scale "
                f"{spec.scale} is rejected record by record",
                "warning",
            )
    elif kind is TargetType.STRING:
        length = char_length(item)
        if spec.max_length is not None and spec.max_length < length:
            err(
                "/maxLength",
                f"maxLength {spec.max_length} is below the {length} characters {pic} holds: "
                "values the copybook allows would be rejected (use pattern for narrower rules)",
            )
        if spec.min_length is not None and spec.min_length > length:
            err("/minLength", f"minLength {spec.min_length} exceeds the {length} of {pic}")
        if spec.trim != "right" and numeric:
            err("/trim", f"trim applies to text; {pic} is numeric", "warning")
    elif kind in (TargetType.DATE, TargetType.TIMESTAMP):
        fmt = spec.format or ""
        if numeric:
            need = DATE_FORMAT_DIGITS.get(fmt, 14 if fmt == "YYYYMMDDHHMMSS" else 0)
            if need == 0:
                err("/format", f"{fmt} is a text format; {pic} is numeric")
            elif scale != 0:
                err("/format", f"a {fmt} date cannot have decimal places ({pic})")
            elif (item.digits or 0) < need - (1 if fmt.startswith("C") else 0):
                err("/format", f"{pic} has {item.digits} digits; {fmt} needs {need}")
            elif (item.digits or 0) > need:
                err(
                    "/format",
                    f"{pic} has {item.digits} digits for a {need}-digit {fmt}: larger values "
                    "are rejected record by record",
                    "warning",
                )
        else:
            need = DATE_FORMAT_DIGITS.get(fmt) or TEXT_FORMAT_LENGTH.get(fmt, 0)
            if item.length < need:
                err("/format", f"{pic} holds {item.length} characters; {fmt} needs {need}")
    elif kind in (TargetType.ENUM, TargetType.BOOLEAN):
        values: list[tuple[str, Scalar]] = []
        if kind is TargetType.ENUM:
            targets: set[str] = set()
            for i, ev in enumerate(spec.values):
                if ev.target in targets:
                    err(f"/values/{i}/target", f"target {ev.target!r} is listed twice")
                targets.add(ev.target)
                if not ev.source and not ev.ranges:
                    err(f"/values/{i}/source", "an empty list: no value would ever match")
                values += [(f"/values/{i}/source/{j}", v) for j, v in enumerate(ev.source)]
                for j, (low, high) in enumerate(ev.ranges):
                    if not numeric:
                        err(f"/values/{i}/ranges/{j}", "ranges need a numeric field")
                    elif _num(low) is None or _num(high) is None:
                        err(f"/values/{i}/ranges/{j}", "range bounds must be numbers")
        else:
            values += [(f"/true/{j}", v) for j, v in enumerate(spec.true_values)]
            values += [(f"/false/{j}", v) for j, v in enumerate(spec.false_values)]
        seen: dict[Scalar | Decimal, str] = {}
        for pointer, value in values:
            key = _num(value) if numeric else value
            if key is None:
                err(pointer, f"{value!r} is not a number; {pic} is numeric")
                continue
            if key in seen:
                err(pointer, f"{value!r} is listed twice (also at {seen[key]})")
            seen[key] = spec.pointer + pointer
            if not numeric and isinstance(value, str) and len(value) > char_length(item):
                err(pointer, f"{value!r} is longer than {pic}")
            if not numeric and not isinstance(value, str):
                err(pointer, f"{value!r} is not text; {pic} is {item.category.value}")

    for j, value in enumerate(spec.null_values):
        pointer = f"/null_values/{j}"
        if numeric:
            number = _num(value)
            if number is None:
                err(pointer, f"{value!r} is not a number; {pic} is numeric")
            elif not _fits(number, item):
                err(pointer, f"{value} cannot be held by {pic}: it would never match")
        elif not isinstance(value, str):
            err(pointer, f"{value!r} is not text; {pic} is {item.category.value}")
        elif len(value) > char_length(item):
            err(pointer, f"{value!r} is longer than {pic}: it would never match")

    for name, bound in (("maxLength", spec.max_length), ("minLength", spec.min_length)):
        if bound is not None and bound > MAX_RECORD_LENGTH:
            err(f"/{name}", f"{name} is larger than any field can be ({MAX_RECORD_LENGTH:,})")

    _check_constraints(spec, item, err)
    return problems


def _fits(number: Decimal, item: Field) -> bool:
    """Could ``item`` (a numeric PIC) hold ``number``?"""
    scale = item.scale or 0
    if number < 0 and not item.signed:
        return False
    if scale >= 0:
        try:
            if number != number.quantize(Decimal(1).scaleb(-scale)):
                return False  # more decimal places than the PIC has
        except InvalidOperation:
            return False
    return abs(number) < Decimal(10) ** integer_digits(item)


def _num(value: Scalar) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        return None


def _check_constraints(spec: FieldSpec, item: Field, err: Report) -> None:
    if spec.minimum is not None and spec.maximum is not None and spec.minimum > spec.maximum:
        err("/minimum", f"minimum {spec.minimum} is above maximum {spec.maximum}")
    if spec.type is TargetType.DECIMAL and spec.scale is not None:
        for name, bound in (("minimum", spec.minimum), ("maximum", spec.maximum)):
            if isinstance(bound, Decimal):
                exponent = bound.as_tuple().exponent
                if isinstance(exponent, int) and -exponent > spec.scale:
                    err(f"/{name}", f"{bound} has more decimal places than scale {spec.scale}")
        for i, value in enumerate(spec.enum or ()):
            exponent = Decimal(value).as_tuple().exponent
            if isinstance(exponent, int) and -exponent > spec.scale:
                err(f"/enum/{i}", f"{value} has more decimal places than scale {spec.scale}")
    if (
        spec.min_length is not None
        and spec.max_length is not None
        and spec.min_length > spec.max_length
    ):
        err("/minLength", f"minLength {spec.min_length} is above maxLength {spec.max_length}")
    if spec.pattern is not None:
        try:
            re.compile(spec.pattern)
        except re.error as exc:
            err("/pattern", f"pattern does not compile: {exc}")
    if spec.type is TargetType.STRING and spec.enum:
        length = spec.max_length if spec.max_length is not None else char_length(item)
        for i, value in enumerate(spec.enum):
            if isinstance(value, str) and len(value) > length:
                err(f"/enum/{i}", f"{value!r} is longer than {length} characters")


def load_checked(path: str | Path) -> tuple[MappingDoc, tuple[Layout, ...], list[Problem]]:
    """Load a mapping, compile its copybook, check one against the other.

    Raises MappingNotFoundError / CopybookNotFoundError (missing files), MappingError (the
    document breaks the meta-schema) and CopybookError; problems of the mapping against its
    copybook are returned (errors and warnings), not raised.
    """
    mapping = load_mapping(path)
    problem = input_problem(mapping.copybook_path)
    if problem is not None:
        what = "copybook not found" if problem == "no such file" else f"copybook {problem}"
        raise MappingNotFoundError(f"{what}: {mapping.copybook_path} (named at /copybook/path)")
    missing = [
        Problem(f"/copybook/include_dirs/{i}", f"no such directory: {d}")
        for i, d in enumerate(mapping.include_dirs)
        if not d.is_dir()
    ]
    if missing:
        raise MappingError(missing)
    found: list[Diagnostic] = []
    try:
        layouts = compile_copybook(
            mapping.copybook_path,
            include_dirs=mapping.include_dirs,
            dialect=mapping.copybook.dialect,
            warnings=found,
        )
    except CopybookError as exc:
        if mapping.copybook_path.suffix.lower() in COPYBOOK_SUFFIXES:
            raise
        # Not named like a copybook (/etc/passwd, say): none of its text is echoed.
        first = exc.diagnostics[0]
        message = (
            "does not compile as a copybook (its text is not shown: the file is not named "
            f"like one, {', '.join(sorted(COPYBOOK_SUFFIXES))})"
        )
        raise CopybookError([replace(first, message=message, text="")]) from None
    # What the compiler accepted with a warning is a warning of the mapping's copybook too.
    read_as = [
        Problem("/copybook/path", f"{d.file}:{d.line}:{d.column}: {d.message}", severity="warning")
        for d in found
    ]
    return mapping, layouts, read_as + check_mapping(mapping, layouts)
