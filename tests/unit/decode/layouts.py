"""Layouts built by hand, so decoder tests do not depend on the copybook compiler.

``record("R", alnum("A", 3), num("B", 5, scale=2, signed=True), ...)`` lays members out one
after another (REDEFINES items at their original's offset) and fills in paths and lengths the
way the compiler does.
"""

from __future__ import annotations

from dataclasses import replace

from bridge.copybook.layout import Category, Field, Layout, Occurs, Usage
from bridge.decode.edited import EditedPicture

_PLACEHOLDER = 0


def _field(name: str, length: int, usage: Usage, category: Category, **kw: object) -> Field:
    return Field(
        path=name,
        name=name,
        level=5,
        offset=_PLACEHOLDER,
        length=length,
        usage=usage,
        category=category,
        **kw,  # type: ignore[arg-type]
    )


def alnum(name: str, length: int, **kw: object) -> Field:
    return _field(name, length, Usage.DISPLAY, Category.ALPHANUMERIC, picture=f"X({length})", **kw)


def national(name: str, chars: int) -> Field:
    return _field(name, 2 * chars, Usage.NATIONAL, Category.NATIONAL, picture=f"N({chars})")


def dbcs(name: str, chars: int) -> Field:
    return _field(name, 2 * chars, Usage.DBCS, Category.DBCS, picture=f"G({chars})")


_BINARY_SIZES = ((4, 2), (9, 4), (18, 8))


def num(
    name: str,
    digits: int,
    *,
    scale: int = 0,
    signed: bool = False,
    usage: Usage = Usage.DISPLAY,
    leading: bool = False,
    separate: bool = False,
) -> Field:
    """A numeric item; ``digits`` counts the 9s (P positions are in ``scale`` only)."""
    if usage is Usage.DISPLAY:
        length = digits + (1 if separate else 0)
    elif usage is Usage.COMP3:
        length = digits // 2 + 1
    else:
        length = next(size for most, size in _BINARY_SIZES if digits <= most)
    picture = ("S" if signed else "") + f"9({digits})"
    return _field(
        name,
        length,
        usage,
        Category.NUMERIC,
        picture=picture,
        digits=digits,
        scale=scale,
        signed=signed,
        sign_leading=leading,
        sign_separate=separate,
    )


def float_item(name: str, usage: Usage) -> Field:
    return _field(name, 4 if usage is Usage.COMP1 else 8, usage, Category.FLOAT)


def edited(name: str, picture: str, *, scale: int = 0, bwz: bool = False) -> Field:
    width = EditedPicture.parse(picture).width
    digits = len(EditedPicture.parse(picture).digit_positions)
    return _field(
        name,
        width,
        Usage.DISPLAY,
        Category.NUMERIC_EDITED,
        picture=picture,
        digits=digits,
        scale=scale,
        blank_when_zero=bwz,
    )


def group(name: str, *children: Field, **kw: object) -> Field:
    return Field(
        path=name,
        name=name,
        level=5,
        offset=0,
        length=0,
        usage=Usage.GROUP,
        category=Category.GROUP,
        children=children,
        **kw,  # type: ignore[arg-type]
    )


def occurs(item: Field, count: int, *, low: int | None = None, on: str | None = None) -> Field:
    """``item`` OCCURS count TIMES, or OCCURS low TO count DEPENDING ON ``on`` (a path)."""
    table = Occurs(min=count if low is None else low, max=count, depending_on=on)
    return replace(item, occurs=table)


def redefines(item: Field, original: str) -> Field:
    """``item`` REDEFINES the sibling named ``original`` (fixed up to a path on layout)."""
    return replace(item, redefines=original)


def _place(item: Field, parent: str, offset: int, level: int) -> Field:
    path = f"{parent}.{item.name}" if parent else item.name
    if not item.is_group:
        return replace(item, path=path, offset=offset, level=level)
    children: list[Field] = []
    at = offset
    seen: dict[str, Field] = {}
    for child in item.children:
        if child.redefines is not None:
            original = seen[child.redefines.split(".")[-1]]
            placed = _place(child, path, original.offset, level + 5)
            placed = replace(placed, redefines=original.path)
        else:
            placed = _place(child, path, at, level + 5)
            at += placed.total_length
        seen[child.name] = placed
        children.append(placed)
    return replace(
        item,
        path=path,
        offset=offset,
        level=level,
        children=tuple(children),
        length=max([at - offset] + [c.offset + c.total_length - offset for c in children]),
    )


def record(name: str, *members: Field) -> Layout:
    root = _place(group(name, *members), "", 0, 1)
    minimum = root.length
    for f in root.walk():
        if f.occurs is not None and f.occurs.depending_on:
            minimum -= (f.occurs.max - f.occurs.min) * f.length
    return Layout(root=root, record_length=root.length, min_length=minimum)
