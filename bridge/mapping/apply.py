"""Decoded record document -> event: renames, type conversion, trimming, PII policies, drops.

``Mapper.apply`` returns two events: ``clear`` (typed values, every constraint checkable; this is
what validate.py checks against the clear schema) and ``event`` (the published one: masked and
hashed PII). A value that does not convert is never guessed at: it stays as decoded in
``clear``, and a ``convert`` violation says what was expected. Decimals are exact strings with
the target scale; nothing passes through a binary float.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.copybook.layout import Field, Layout
from bridge.decode.verdict import Reason
from bridge.mapping.convert import ConversionError, make_converter, make_protector, safe_decimal
from bridge.mapping.lint import plans_for
from bridge.mapping.model import (
    CASE_PROPERTY,
    MappingDoc,
)
from bridge.mapping.paths import lookup, pointer_suffix, put, subscripted, unescape
from bridge.mapping.plan import FieldPlan, Plan, TablePlan
from bridge.mapping.reasons import CHECK_CONVERT, CHECK_DECODE, Violation, jsonable

__all__ = ["Applied", "Mapper", "Site"]

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
    ) -> None:
        """``pii_key``: the keyed hash's key (program.py loads it), needed when a field's
        policy is hash."""
        self.mapping = mapping
        self.plans: dict[str | None, Plan] = {p.case: p for p in plans_for(mapping, layouts)}
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
                self._suffix[id(node)] = pointer_suffix(node.target)
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
        found, value = lookup(decoded, keys)
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
        """One record's events and conversion failures."""
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
            found, value = lookup(source, member.keys)
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
                put(clear, member.target, None)
                put(event, member.target, None)
                continue
            if isinstance(member, TablePlan):
                if not isinstance(value, list):
                    self._not_list(member.item, subscripts, pointer, value, applied)
                    put(clear, member.target, jsonable(value))
                    put(event, member.target, jsonable(value))
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
                put(clear, member.target, rows_clear)
                put(event, member.target, rows_event)
                continue
            leaf = self._leaves[id(member)]
            if member.repeated:
                if not isinstance(value, list):
                    self._not_list(member.item, subscripts, pointer, value, applied)
                    put(clear, member.target, jsonable(value))
                    put(event, member.target, jsonable(value))
                    continue
                cells = [
                    self._leaf(
                        leaf, v, f"{pointer}/{i}", (*subscripts, (member.item.path, i)), applied
                    )
                    for i, v in enumerate(value)
                ]
                put(clear, member.target, [c for c, _ in cells])
                put(event, member.target, [e for _, e in cells])
            else:
                c, e = self._leaf(leaf, value, pointer, subscripts, applied)
                put(clear, member.target, c)
                put(event, member.target, e)

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
        tokens = [unescape(t) for t in pointer.split("/")[1:]] if pointer else []
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
            if not rest or not (rest[0].isascii() and rest[0].isdigit()):
                return _site(item, subscripts, extra, whole=True)
            i = int(rest[0])
            return _resolve(
                member.members,
                rest[1:],
                (*subscripts, (item.path, i)),
                extra + i * item.length,
                plan,
            ) or _site(item, (*subscripts, (item.path, i)), extra + i * item.length)
        if member.repeated and rest and rest[0].isascii() and rest[0].isdigit():
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


def _equal_scalar(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) or isinstance(wanted, str):
        return bool(value == wanted)
    if isinstance(value, bool) or isinstance(wanted, bool):
        return False
    return safe_decimal(value) == safe_decimal(wanted)
