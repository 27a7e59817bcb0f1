"""A mapping bound to one layout: the tree of event properties and where each value comes from.

The decoded record document (docs/decoding.md) nests groups as objects and OCCURS tables as
arrays. A mapping flattens groups (an event property is named by its ``target``; dots nest it)
and keeps tables as arrays of objects, named by a ``tables`` entry. The plan records, for every
property, the chain of decoded keys that reaches its value, so apply, the record schema and the
checks all walk the same tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from bridge.copybook.layout import Field, Layout
from bridge.mapping.model import Drop, FieldSpec, MappingDoc, Problem, TableSpec


@dataclass(frozen=True)
class FieldPlan:
    spec: FieldSpec
    item: Field
    keys: tuple[str, ...]  # decoded keys from the enclosing scope (record or table element)
    target: tuple[str, ...]  # event property path from the enclosing scope
    repeated: bool  # an elementary OCCURS item: the value is an array of scalars


@dataclass(frozen=True)
class TablePlan:
    spec: TableSpec
    item: Field
    keys: tuple[str, ...]
    target: tuple[str, ...]
    members: tuple[FieldPlan | TablePlan, ...]


@dataclass(frozen=True)
class Plan:
    mapping: MappingDoc
    layout: Layout
    members: tuple[FieldPlan | TablePlan, ...]
    case: str | None = None  # discriminator case name, when there is one
    problems: tuple[Problem, ...] = field(default=(), compare=False)

    def fields(self) -> list[FieldPlan]:
        """Every field plan, tables included, in copybook order."""
        out: list[FieldPlan] = []
        stack: list[FieldPlan | TablePlan] = list(reversed(self.members))
        while stack:
            node = stack.pop()
            if isinstance(node, FieldPlan):
                out.append(node)
            else:
                stack.extend(reversed(node.members))
        return out


def decoded_items(layout: Layout, redefines: Mapping[str, str] | None = None) -> list[Field]:
    """Items the decoder writes into the record document, in copybook order (groups included).

    FILLER, level 66 and REDEFINES alternatives not chosen are left out, as the decoder does.
    """
    chosen = dict(redefines or {})
    chosen_alts = set(chosen.values())
    out: list[Field] = []

    def visit(item: Field) -> None:
        for child in item.children:
            if child.is_filler or child.level == 66 or child.renames is not None:
                continue
            if child.redefines is not None and child.path not in chosen_alts:
                continue
            if child.path in chosen:
                continue  # an alternative decodes in its place
            out.append(child)
            visit(child)

    visit(layout.root)
    return out


def build_plan(
    mapping: MappingDoc,
    layout: Layout,
    redefines: Mapping[str, str] | None = None,
    case: str | None = None,
) -> Plan:
    """Bind ``mapping`` to ``layout``; problems list unmapped items and clashing targets."""
    specs = {s.source: s for s in mapping.fields}
    tables = {t.source: t for t in mapping.tables}
    drops: dict[str, Drop] = {d.source: d for d in mapping.drops}
    chosen = dict(redefines or {})
    chosen_alts = set(chosen.values())
    problems: list[Problem] = []

    def dropped(item: Field) -> bool:
        parts = item.path.split(".")
        return any(".".join(parts[:n]) in drops for n in range(1, len(parts) + 1))

    def scope(
        parent: Field, keys: tuple[str, ...], claimed: dict[tuple[str, ...], str]
    ) -> list[FieldPlan | TablePlan]:
        members: list[FieldPlan | TablePlan] = []
        for item in parent.children:
            if item.is_filler or item.level == 66 or item.renames is not None:
                continue
            if item.redefines is not None and item.path not in chosen_alts:
                continue
            if item.path in chosen or dropped(item):
                continue
            here = (*keys, item.key)
            if item.is_group and item.occurs is not None:
                tspec = tables.get(item.path)
                if tspec is None:
                    problems.append(
                        Problem(
                            "/tables",
                            "OCCURS group has no tables entry (give its array a target, "
                            "or drop it)",
                            item.path,
                        )
                    )
                    continue
                target = tuple(tspec.target.split("."))
                _claim(claimed, target, item.path, tspec.pointer, problems)
                inner = scope(item, (), {})
                members.append(TablePlan(tspec, item, here, target, tuple(inner)))
            elif item.is_group:
                members.extend(scope(item, here, claimed))
            else:
                spec = specs.get(item.path)
                if spec is None:
                    problems.append(
                        Problem(
                            "/fields",
                            "field is neither mapped nor dropped: every field must be "
                            "accounted for",
                            item.path,
                        )
                    )
                    continue
                target = tuple(spec.target.split("."))
                _claim(claimed, target, item.path, spec.pointer + "/target", problems)
                members.append(FieldPlan(spec, item, here, target, item.occurs is not None))
        return members

    members = scope(layout.root, (), {})
    return Plan(mapping, layout, tuple(members), case, tuple(problems))


def _claim(
    claimed: dict[tuple[str, ...], str],
    target: tuple[str, ...],
    source: str,
    pointer: str,
    problems: list[Problem],
) -> None:
    """Record a property path in one event scope; clashes (same name, or a prefix) are errors."""
    for other, other_source in claimed.items():
        shorter = min(len(other), len(target))
        if other[:shorter] == target[:shorter]:
            problems.append(
                Problem(
                    pointer,
                    f"target {'.'.join(target)!r} clashes with {'.'.join(other)!r} "
                    f"of {other_source}",
                    source,
                )
            )
            return
    claimed[target] = source


def char_length(item: Field) -> int:
    """Characters the item's decoded string can hold (numeric items: as text, sign included)."""
    if item.usage.value in ("national", "dbcs"):
        return item.length // 2
    if item.category.value in ("numeric", "numeric-edited") and item.digits is not None:
        scale = item.scale or 0
        sign = 1 if item.signed else 0
        if scale > 0:
            return sign + max(item.digits - scale, 1) + 1 + scale
        return sign + item.digits - scale
    return item.length


def is_numeric(item: Field) -> bool:
    return item.category.value in ("numeric", "numeric-edited") or item.usage.value in (
        "pointer",
        "index",
    )


def integer_digits(item: Field) -> int:
    """Digits before the decimal point a value of the item can have (P scaling included)."""
    digits = item.digits or 0
    return max(0, digits - (item.scale or 0))


def layouts_fingerprint(layouts: list[Layout] | tuple[Layout, ...]) -> str:
    """The fingerprint a mapping pins: one layout's own, or a digest over several in order."""
    if len(layouts) == 1:
        return layouts[0].fingerprint
    joined = ",".join(f"{lay.name}={lay.fingerprint}" for lay in layouts)
    return hashlib.sha256(joined.encode()).hexdigest()
