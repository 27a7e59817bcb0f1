"""Decoded record document -> event: renames, type conversion, trimming, PII policies, drops.

``Mapper.apply`` returns two events: ``clear`` (typed values, every constraint checkable; this is
what validate.py checks against the clear schema) and ``event`` (the published one: masked and
hashed PII). A value that does not convert is never guessed at: it stays as decoded in
``clear``, and a ``convert`` violation says what was expected. Decimals are exact strings with
the target scale; nothing passes through a binary float.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.copybook.layout import Field, Layout
from bridge.decode.verdict import Reason
from bridge.mapping.compiled import Compiler, ScopeRun
from bridge.mapping.convert import (
    ConversionError,
    convert_date,
    convert_timestamp,
    make_converter,
    make_protector,
    mask,
    pii_hash,
    safe_decimal,
    text_form,
)
from bridge.mapping.fastconvert import fast_converter, fast_protector
from bridge.mapping.lint import plans_for
from bridge.mapping.model import (
    CASE_PROPERTY,
    MappingDoc,
    MappingError,
    PiiKeySource,
    PiiPolicyKind,
    Problem,
)
from bridge.mapping.paths import lookup, pointer_suffix, put, subscripted, unescape
from bridge.mapping.plan import FieldPlan, Plan, TablePlan
from bridge.mapping.reasons import CHECK_CONVERT, CHECK_DECODE, Violation, jsonable

# The conversions moved to convert.py; callers still import them from here.
__all__ = [
    "Applied",
    "ConversionError",
    "Mapper",
    "Site",
    "convert_date",
    "convert_timestamp",
    "load_pii_key",
    "make_converter",
    "make_protector",
    "mask",
    "message_key",
    "pii_hash",
    "subscripted",
    "text_form",
]

MIN_KEY_BYTES = 32  # HMAC-SHA256 keys shorter than the hash output weaken it


def load_pii_key(source: PiiKeySource, environ: Mapping[str, str] | None = None) -> bytes:
    """The HMAC key from an environment variable or a file; never from the mapping itself."""
    env = os.environ if environ is None else environ
    if source.env is not None:
        value = env.get(source.env)
        if not value:
            raise MappingError(
                [Problem("/pii_key/env", f"environment variable {source.env} is not set")]
            )
        key = value.encode()
    else:
        assert source.file is not None
        try:
            key = Path(source.file).read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise MappingError(
                [Problem("/pii_key/file", f"cannot read the key file: {exc}")]
            ) from exc
    if len(key) < MIN_KEY_BYTES:
        raise MappingError(
            [Problem("/pii_key", f"the PII key has {len(key)} bytes; at least {MIN_KEY_BYTES}")]
        )
    return key


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
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.mapping = mapping
        self.plans: dict[str | None, Plan] = {p.case: p for p in plans_for(mapping, layouts)}
        needs_key = any(s.protection is PiiPolicyKind.HASH for s in mapping.fields)
        if needs_key and pii_key is None and mapping.pii_key is not None:
            pii_key = load_pii_key(mapping.pii_key, environ)
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
        fast = {
            id(fp): (fast_converter(fp.spec, fp.item), fast_protector(fp.spec, pii_key))
            for plan in self.plans.values()
            for fp in plan.fields()
        }
        compiler = Compiler(lambda fp: fast[id(fp)])
        self._compiled: dict[str | None, ScopeRun] = {
            case: compiler.scope(plan.members) for case, plan in self.plans.items()
        }

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
        """One record's events and conversion failures (the compiled walk, compiled.py)."""
        run = self._compiled[case]
        clear: dict[str, Any] = {}
        event: dict[str, Any] = {}
        applied = Applied(clear, event, case)
        if case is not None:
            clear[CASE_PROPERTY] = event[CASE_PROPERTY] = case
        run(decoded, clear, event, (applied.violations, None))
        return applied

    def apply_reference(self, decoded: Mapping[str, Any], case: str | None = None) -> Applied:
        """``apply`` by the straightforward walk and the reference converters (for tests)."""
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
            if not rest or not rest[0].isdigit():
                return _site(item, subscripts, extra, whole=True)
            i = int(rest[0])
            return _resolve(
                member.members,
                rest[1:],
                (*subscripts, (item.path, i)),
                extra + i * item.length,
                plan,
            ) or _site(item, (*subscripts, (item.path, i)), extra + i * item.length)
        if member.repeated and rest and rest[0].isdigit():
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


def message_key(mapping: MappingDoc, event: Mapping[str, Any], which: str = "kafka") -> str | None:
    """The Kafka (or Redis) key of a published event: key field values joined by the separator."""
    targets = _key_targets(mapping, which)
    if targets is None:
        return None
    parts: list[str] = []
    for target in targets:
        if len(target) == 1 and type(event) is dict:
            value = event.get(target[0])  # lookup's answer: None when absent
        else:
            _, value = lookup(event, target)
        parts.append("" if value is None else value if type(value) is str else text_form(value))
    key = mapping.keys.separator.join(parts)
    return mapping.keys.redis_prefix + key if which == "redis" else key


# message_key runs twice per record; the property paths it reads depend only on the (frozen)
# mapping, so they are kept per mapping object. An entry holds its mapping, so the id in its
# key cannot be reused by another object while the entry lives.
_KEY_TARGETS: dict[tuple[int, str], tuple[MappingDoc, tuple[tuple[str, ...], ...] | None]] = {}
_KEY_TARGETS_LIMIT = 64


def _key_targets(mapping: MappingDoc, which: str) -> tuple[tuple[str, ...], ...] | None:
    """The event property paths of a key's fields (None: the mapping has no such key)."""
    entry = _KEY_TARGETS.get((id(mapping), which))
    if entry is not None and entry[0] is mapping:
        return entry[1]
    paths = mapping.keys.kafka if which == "kafka" else mapping.keys.redis
    targets: tuple[tuple[str, ...], ...] | None = None
    if paths:
        found = []
        for path in paths:
            spec = mapping.field_spec(path)
            assert spec is not None
            found.append(tuple(spec.target.split(".")))
        targets = tuple(found)
    if len(_KEY_TARGETS) >= _KEY_TARGETS_LIMIT:
        _KEY_TARGETS.clear()
    _KEY_TARGETS[(id(mapping), which)] = (mapping, targets)
    return targets
