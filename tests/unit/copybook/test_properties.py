"""Generated copybooks: they compile, and their layouts keep the model's invariants."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.copybook.compiler import compile_text
from bridge.copybook.layout import Field, Layout, Usage
from tests.volume import volume

# (clause text, usage, digits or chars, expected bytes, IBM SYNC boundary m)
ELEMENTARY = st.one_of(
    st.integers(1, 40).map(lambda n: (f"PIC X({n})", Usage.DISPLAY, n, n, 1)),
    st.integers(1, 18).map(lambda n: (f"PIC 9({n})", Usage.DISPLAY, n, n, 1)),
    st.integers(1, 18).map(
        lambda n: (f"PIC S9({n}) SIGN LEADING SEPARATE", Usage.DISPLAY, n, n + 1, 1)
    ),
    st.integers(1, 18).map(
        lambda n: (
            f"PIC S9({n}) COMP",
            Usage.COMP,
            n,
            2 if n <= 4 else 4 if n <= 9 else 8,
            2 if n <= 4 else 4,
        )
    ),
    st.integers(1, 18).map(
        lambda n: (f"PIC 9({n}) COMP-5", Usage.COMP5, n, 2 if n <= 4 else 4 if n <= 9 else 8, 0)
    ),
    st.integers(1, 31).map(lambda n: (f"PIC S9({n}) COMP-3", Usage.COMP3, n, n // 2 + 1, 1)),
    st.just(("COMP-1", Usage.COMP1, 0, 4, 4)),
    st.just(("COMP-2", Usage.COMP2, 0, 8, 8)),
    st.integers(1, 10).map(lambda n: (f"PIC N({n})", Usage.NATIONAL, n, 2 * n, 1)),
)


@dataclass
class Spec:
    clause: str | None  # None for a group
    size: int = 0  # expected bytes of one occurrence (elementary only)
    usage: Usage = Usage.GROUP
    align: int = 1
    occurs: int = 1
    sync: bool = False
    redefines_prev: bool = False
    children: list[Spec] = field(default_factory=list)


@st.composite
def specs(draw: st.DrawFn, depth: int = 0) -> Spec:
    if depth < 3 and draw(st.booleans()):
        kids = draw(st.lists(specs(depth + 1), min_size=1, max_size=4))
        spec = Spec(None, children=kids)
    else:
        clause, usage, _, size, m = draw(ELEMENTARY)
        # COMP-5 aligns like COMP (m by digits): recover it from the size.
        m = m or (2 if size == 2 else 4)
        spec = Spec(clause, size, usage, m, sync=draw(st.booleans()))
    spec.occurs = draw(st.sampled_from([1, 1, 1, 2, 3]))
    return spec


def render(spec: Spec, level: int, names: itertools.count[int], out: list[str]) -> str:
    name = f"F{next(names)}"
    parts = [f"{level:02d} {name}"]
    if spec.occurs > 1:
        parts.append(f"OCCURS {spec.occurs}")
    if spec.clause:
        parts.append(spec.clause)
        if spec.sync:
            parts.append("SYNC")
    # One clause a line: generated entries must stay inside columns 8-72.
    indent = "       " + "    " * (level // 5)
    out.append(indent + parts[0])
    out.extend(indent + "    " + p for p in parts[1:])
    out[-1] += "."
    for kid in spec.children:
        render(kid, level + 5, names, out)
    return name


@st.composite
def copybooks(draw: st.DrawFn) -> tuple[str, list[Spec], bool]:
    top = draw(st.lists(specs(1), min_size=1, max_size=5))
    odo = draw(st.booleans())
    out = ["       01 REC."]
    names = itertools.count(1)
    for s in top:
        s_name = render(s, 5, names, out)[1:]
        if s.clause and s.usage is Usage.DISPLAY and not s.occurs > 1 and draw(st.booleans()):
            # A smaller or equal REDEFINES of the item just written.
            prev = f"F{s_name}"
            n = draw(st.integers(1, s.size))
            out.append(f"           05 R{next(names)} REDEFINES {prev} PIC X({n}).")
    if odo:
        out.append("           05 CNT PIC 9(2).")
        out.append("           05 TAB OCCURS 0 TO 7 DEPENDING ON CNT.")
        out.append("              10 TAB-ITEM PIC X(3).")
        out.append("           05 AFTER-TAB PIC X(2).")
    return "\n".join(out), top, odo


def elementary(layout: Layout) -> list[Field]:
    return [f for f in layout.fields() if not f.children and f.level != 66]


def occurrence_starts(layout: Layout, f: Field) -> list[int]:
    """Offsets of the first two occurrences along every enclosing table dimension."""
    dims = layout.dimensions(f.path)
    starts = [f.offset]
    for occ, stride in dims:
        if occ.max > 1:
            starts += [s + stride for s in starts]
    return starts


@given(copybooks())
@settings(max_examples=volume(150, least=10), deadline=None)
def test_generated_copybooks_keep_invariants(case: tuple[str, list[Spec], bool]) -> None:
    text, _, odo = case
    (layout,) = compile_text(text)
    root = layout.root
    assert root.offset == 0 and layout.record_length == root.total_length

    for f in layout.fields():
        # Every item lies inside the record.
        assert f.offset >= 0 and f.offset + f.total_length <= layout.record_length, f.path
        for c in f.children:
            # Children lie inside one occurrence of their parent.
            assert f.offset <= c.offset, c.path
            assert c.offset + c.total_length <= f.offset + f.length, c.path
        if f.children and not any(c.synchronized for c in f.walk()):
            fixed = [c for c in f.children if c.redefines is None]
            assert f.length == sum(c.total_length for c in fixed), f.path
        if f.redefines is not None:
            target = layout.field(f.redefines)
            assert f.offset == target.offset
            assert f.total_length <= target.total_length
        if f.synchronized and f.usage in (Usage.COMP, Usage.COMP5, Usage.COMP1, Usage.COMP2):
            m = {2: 2, 4: 4, 8: 4}[f.length] if f.usage in (Usage.COMP, Usage.COMP5) else f.length
            for start in occurrence_starts(layout, f):
                assert start % m == 0, (f.path, start, m)

    def binary_size(f: Field) -> int:
        digits = f.digits or 0
        return 2 if digits <= 4 else 4 if digits <= 9 else 8

    sizes: dict[Usage, Callable[[Field], int]] = {
        Usage.COMP1: lambda f: 4,
        Usage.COMP2: lambda f: 8,
        Usage.COMP3: lambda f: (f.digits or 0) // 2 + 1,
        Usage.COMP: binary_size,
        Usage.COMP5: binary_size,
        Usage.NATIONAL: lambda f: 2 * int((f.picture or "N(0)")[2:-1]),
    }
    for f in elementary(layout):
        if f.usage in sizes:
            assert f.length == sizes[f.usage](f), f.path
        elif f.category.value == "numeric":
            assert f.length == (f.digits or 0) + (1 if f.sign_separate else 0), f.path

    assert layout.min_length <= layout.record_length
    if odo:
        tab = layout.field("REC.TAB")
        assert tab.occurs is not None and tab.occurs.min <= tab.occurs.max
        assert tab.occurs.depending_on == "REC.CNT"
        assert layout.record_length - layout.min_length == 7 * tab.length
        assert layout.field("REC.AFTER-TAB").variable_offset
        assert not any(f.variable_offset for f in layout.fields() if f.path != "REC.AFTER-TAB")
    else:
        assert layout.min_length == layout.record_length
        assert not any(f.variable_offset for f in layout.fields())

    # The fingerprint is a function of the layout alone...
    (again,) = compile_text(text)
    assert again.fingerprint == layout.fingerprint
    # ...and notices a change of size (hence of offsets) or of type.
    changed = text.replace("01 REC.", "01 REC.\n           05 EXTRA PIC X.", 1)
    assert compile_text(changed)[0].fingerprint != layout.fingerprint


@given(st.sampled_from(["PIC X(4)", "PIC 9(4)", "PIC S9(4) COMP", "PIC S9(7) COMP-3"]))
def test_fingerprint_changes_with_type_even_at_equal_size(clause: str) -> None:
    base = compile_text(f"       01 R.\n           05 A {clause}.\n           05 B PIC X.")[0]
    for other in ["PIC X(4)", "PIC 9(4)", "PIC S9(4) COMP", "PIC S9(7) COMP-3", "COMP-1"]:
        text = f"       01 R.\n           05 A {other}.\n           05 B PIC X."
        assert (compile_text(text)[0].fingerprint == base.fingerprint) == (other == clause)


@given(st.lists(st.sampled_from(["FILLER", "A", "B"]), min_size=1, max_size=8))
def test_paths_are_unique(names: list[str]) -> None:
    lines = ["       01 R."] + [f"           05 {n} PIC X." for n in names]
    (layout,) = compile_text("\n".join(lines))
    paths = [f.path for f in layout.fields()]
    assert len(paths) == len(set(paths))
    for i, f in enumerate(layout.root.children):
        n = names[: i + 1].count(names[i])
        assert f.path == f"R.{names[i]}" + (f"#{n}" if n > 1 else "")
