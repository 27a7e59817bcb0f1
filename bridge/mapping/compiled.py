"""A plan compiled for the per-record walk: the decisions made once, per mapping.

The reference walk (Mapper.apply_reference) looks every member up from its scope along its
whole key chain, and forms its pointer and layout path, for every record. Here members under
one decoded group share one lookup of the group; runs of ordinary fields (one converter, a
property name or two) become one table a loop walks, so a field costs no call of its own beyond
its converter; and pointers and subscripted paths are only formed when a violation needs them.
The result (events, their key order, violations and their order) is the reference walk's, which
tests/unit/mapping checks on generated documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bridge.mapping.convert import ConversionError
from bridge.mapping.paths import pointer_suffix, put, subscripted
from bridge.mapping.plan import FieldPlan, TablePlan
from bridge.mapping.reasons import CHECK_CONVERT, Violation, jsonable

Convert = Callable[[Any], Any]
Member = FieldPlan | TablePlan
# Where a scope sits, kept cheap until a violation asks: (violations, None) for the record,
# (violations, (the row's parent context, table pointer suffix, table path, index)) for a row.
Context = tuple[list[Violation], Any]
Out = dict[str, Any]
Run = Callable[[dict[str, Any], Out, Out, Context], None]
ScopeRun = Callable[[Any, Out, Out, Context], None]  # a scope takes any source at all
Absent = Callable[[Out, Out, Context], None]
Node = tuple[Run, Absent]
LeafFunctions = Callable[[FieldPlan], tuple[Convert, Convert | None]]


def _base(ctx: Context) -> str:
    """The JSON pointer of the scope ``ctx`` stands for."""
    where = ctx[1]
    if where is None:
        return ""
    parent, suffix, _, index = where
    return f"{_base(parent)}{suffix}/{index}"


def _subscripts(ctx: Context) -> tuple[tuple[str, int], ...]:
    where = ctx[1]
    if where is None:
        return ()
    parent, _, path, index = where
    return (*_subscripts(parent), (path, index))


class _Site:
    """One member's violations (as the reference words them) and its placement."""

    def __init__(self, member: Member) -> None:
        self.path = member.item.path
        self.suffix = pointer_suffix(member.target)
        self.target = member.target

    def put(self, clear: Out, event: Out, in_clear: Any, in_event: Any) -> None:
        put(clear, self.target, in_clear)
        put(event, self.target, in_event)

    def absent(self, clear: Out, event: Out, ctx: Context) -> None:
        ctx[0].append(
            Violation(
                CHECK_CONVERT,
                "missing",
                "the decoded record has no value here",
                path=subscripted(self.path, _subscripts(ctx)),
                pointer=_base(ctx) + self.suffix,
            )
        )
        self.put(clear, event, None, None)

    def not_list(self, clear: Out, event: Out, ctx: Context, value: Any) -> None:
        ctx[0].append(
            Violation(
                CHECK_CONVERT,
                "type",
                "an OCCURS table must decode to an array",
                path=subscripted(self.path, _subscripts(ctx)),
                pointer=_base(ctx) + self.suffix,
                expected="array",
                actual=jsonable(value),
            )
        )
        self.put(clear, event, jsonable(value), jsonable(value))

    def failed(self, exc: ConversionError, value: Any, ctx: Context, cell: int = -1) -> Any:
        """Report a value that does not convert; the value as decoded, to publish in its place."""
        pointer, subscripts = _base(ctx) + self.suffix, _subscripts(ctx)
        if cell >= 0:  # an element of an elementary OCCURS item
            pointer, subscripts = f"{pointer}/{cell}", (*subscripts, (self.path, cell))
        ctx[0].append(
            Violation(
                CHECK_CONVERT,
                exc.rule,
                str(exc),
                path=subscripted(self.path, subscripts),
                pointer=pointer,
                expected=exc.expected,
                actual=jsonable(value),
            )
        )
        return jsonable(value)


def _absent_all(absents: Sequence[Absent]) -> Absent:
    def absent(clear: Out, event: Out, ctx: Context) -> None:
        for one in absents:
            one(clear, event, ctx)

    return absent


class Compiler:
    """Builds the walk of a plan's scopes; ``leaf`` gives a field's converter and protector."""

    def __init__(self, leaf: LeafFunctions) -> None:
        self._leaf = leaf

    def scope(self, members: Sequence[Member]) -> ScopeRun:
        """The walk of a record (or table element): ``src`` is whatever the decoder gave."""
        return self._scope(members)[0]

    def _scope(self, members: Sequence[Member]) -> tuple[ScopeRun, Run | None]:
        """The scope's walk, and its one run when it has only one (a dict element can go
        straight to it)."""
        runs, absent = self._nodes(members, 0)
        keys = tuple(dict.fromkeys(m.keys[0] for m in members))

        def run_scope(src: Any, clear: Out, event: Out, ctx: Context) -> None:
            if type(src) is not dict:
                if not isinstance(src, Mapping):
                    absent(clear, event, ctx)
                    return
                src = _plain(src, keys)
            for run in runs:
                run(src, clear, event, ctx)

        return run_scope, runs[0] if len(runs) == 1 else None

    def _nodes(self, members: Sequence[Member], depth: int) -> tuple[tuple[Run, ...], Absent]:
        """A scope's or group's members in copybook order: runs of ordinary fields batched,
        members under one deeper group (contiguous in the plan) as one group node."""
        nodes: list[Node] = []
        batch: list[FieldPlan] = []
        i = 0
        while i < len(members):
            member = members[i]
            if len(member.keys) == depth + 1:
                if _batchable(member):
                    assert isinstance(member, FieldPlan)
                    batch.append(member)
                else:
                    nodes.extend(self._batch(batch))
                    batch = []
                    nodes.append(self._member(member, depth))
                i += 1
                continue
            nodes.extend(self._batch(batch))
            batch = []
            key = member.keys[depth]
            j = i + 1
            while j < len(members) and len(members[j].keys) > depth + 1:
                if members[j].keys[depth] != key:
                    break
                j += 1
            nodes.append(self._group(key, members[i:j], depth))
            i = j
        nodes.extend(self._batch(batch))
        return tuple(run for run, _ in nodes), _absent_all([absent for _, absent in nodes])

    def _group(self, key: str, members: Sequence[Member], depth: int) -> Node:
        runs, absent = self._nodes(members, depth + 1)
        keys = tuple(dict.fromkeys(m.keys[depth + 1] for m in members))

        def run_group(src: dict[str, Any], clear: Out, event: Out, ctx: Context) -> None:
            try:
                node = src[key]
            except KeyError:
                absent(clear, event, ctx)
                return
            if type(node) is not dict:
                if not isinstance(node, Mapping):
                    absent(clear, event, ctx)
                    return
                node = _plain(node, keys)
            for run in runs:
                run(node, clear, event, ctx)

        return run_group, absent

    def _batch(self, members: Sequence[FieldPlan]) -> list[Node]:
        """Ordinary fields, as runs of entries a loop walks: the plainest (one property name,
        published as converted) in a loop that does nothing else."""
        nodes: list[Node] = []
        plain: list[tuple[str, str, Convert, _Site]] = []
        other: list[tuple[str, str | None, str, Convert, Convert | None, _Site]] = []
        for member in members:
            convert, protect = self._leaf(member)
            site = _Site(member)
            if len(member.target) == 1 and protect is None:
                nodes.extend(_other_batch(other))
                other = []
                plain.append((member.keys[-1], member.target[0], convert, site))
            else:
                nodes.extend(_plain_batch(plain))
                plain = []
                outer, name = member.target if len(member.target) == 2 else (None, member.target[0])
                other.append((member.keys[-1], outer, name, convert, protect, site))
        nodes.extend(_plain_batch(plain))
        nodes.extend(_other_batch(other))
        return nodes

    def _member(self, member: Member, depth: int) -> Node:
        """A table, an elementary OCCURS item, or a field with a deeply nested target."""
        key = member.keys[depth]
        site = _Site(member)

        if isinstance(member, TablePlan):
            row, direct = self._scope(member.members)
            suffix, path = site.suffix, site.path

            def run_table(src: dict[str, Any], clear: Out, event: Out, ctx: Context) -> None:
                try:
                    value = src[key]
                except KeyError:
                    site.absent(clear, event, ctx)
                    return
                if not isinstance(value, list):
                    site.not_list(clear, event, ctx, value)
                    return
                violations = ctx[0]
                rows_clear: list[Any] = []
                rows_event: list[Any] = []
                for i, element in enumerate(value):
                    row_clear: Out = {}
                    row_event: Out = {}
                    if type(element) is dict and direct is not None:  # the usual element
                        direct(element, row_clear, row_event, (violations, (ctx, suffix, path, i)))
                    elif isinstance(element, dict):
                        row(element, row_clear, row_event, (violations, (ctx, suffix, path, i)))
                    rows_clear.append(row_clear)
                    rows_event.append(row_event)
                site.put(clear, event, rows_clear, rows_event)

            return run_table, site.absent

        convert, protect = self._leaf(member)

        def cell(value: Any, ctx: Context, index: int) -> tuple[Any, Any]:
            try:
                converted = convert(value)
            except ConversionError as exc:
                raw = site.failed(exc, value, ctx, index)
                return raw, raw
            return converted, converted if protect is None else protect(converted)

        def run_field(src: dict[str, Any], clear: Out, event: Out, ctx: Context) -> None:
            try:
                value = src[key]
            except KeyError:
                site.absent(clear, event, ctx)
                return
            if not member.repeated:
                site.put(clear, event, *cell(value, ctx, -1))
            elif not isinstance(value, list):
                site.not_list(clear, event, ctx, value)
            else:
                cells = [cell(v, ctx, i) for i, v in enumerate(value)]
                site.put(clear, event, [c for c, _ in cells], [e for _, e in cells])

        return run_field, site.absent


def _plain_batch(entries: Sequence[tuple[str, str, Convert, _Site]]) -> list[Node]:
    if not entries:
        return []
    table = tuple(entries)

    def run_plain(src: dict[str, Any], clear: Out, event: Out, ctx: Context) -> None:
        for key, name, convert, site in table:
            try:
                value = src[key]
            except KeyError:
                site.absent(clear, event, ctx)
                continue
            try:
                converted = convert(value)
            except ConversionError as exc:
                converted = site.failed(exc, value, ctx)
            clear[name] = event[name] = converted  # clear first, as the reference puts

    return [(run_plain, _absent_all([entry[-1].absent for entry in table]))]


def _other_batch(
    entries: Sequence[tuple[str, str | None, str, Convert, Convert | None, _Site]],
) -> list[Node]:
    """Fields with a protector or a two-part target: (key, outer property or None, property,
    converter, protector or None, site)."""
    if not entries:
        return []
    table = tuple(entries)

    def run_other(src: dict[str, Any], clear: Out, event: Out, ctx: Context) -> None:
        for key, outer, name, convert, protect, site in table:
            try:
                value = src[key]
            except KeyError:
                site.absent(clear, event, ctx)
                continue
            try:
                converted = convert(value)
            except ConversionError as exc:
                converted = published = site.failed(exc, value, ctx)
            else:
                published = converted if protect is None else protect(converted)
            if outer is None:
                clear[name] = converted
                event[name] = published
                continue
            # paths.put for a two-part target, without its loop
            try:
                clear[outer][name] = converted
            except KeyError:
                clear[outer] = {name: converted}
            try:
                event[outer][name] = published
            except KeyError:
                event[outer] = {name: published}

    return [(run_other, _absent_all([entry[-1].absent for entry in table]))]


def _batchable(member: Member) -> bool:
    return isinstance(member, FieldPlan) and not member.repeated and len(member.target) <= 2


def _plain(node: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """A mapping that is not a dict, reduced to the keys a scope reads, read the way
    paths.lookup reads them (``in``, then the item)."""
    return {k: node[k] for k in keys if k in node}
