"""``bridge layout``: compile a copybook and show the byte layout of each record."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bridge.commands._common import add_copybook_arguments, load_layouts
from bridge.copybook.layout import Field, Layout, Literal
from bridge.exitcodes import RET_NOT_FOUND, RET_OK

HELP = """\
Compile COPYBOOK and print each record's fields: level, name, offset (0-based), length (one
occurrence), usage, picture and notes, then the record length and layout fingerprint.

--json prints the layout document: with one record (or --record NAME) that record's object
({"name", "record_length", "min_length", "max_length", "fingerprint", "fields": [...]}), with
several level-01 records {"records": [...]}.

Exit codes: 0 ok, 3 the copybook is invalid (diagnostics on stderr: file:line:column), 4 the
copybook, a COPY member or the --record NAME was not found.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "layout",
        help="compile a copybook and show its record layout",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("copybook", metavar="COPYBOOK", help="the copybook file")
    add_copybook_arguments(p)
    p.add_argument("--record", metavar="NAME", help="only the level-01 record NAME")
    p.add_argument("--json", action="store_true", help="print the layout as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    layouts = load_layouts(args, "layout")
    if args.record:
        wanted = args.record.upper()
        layouts = tuple(lay for lay in layouts if lay.name == wanted)
        if not layouts:
            print(f"bridge layout: no record {wanted} in {args.copybook}", file=sys.stderr)
            return RET_NOT_FOUND
    if args.json:
        doc: dict[str, Any] = (
            layouts[0].to_json()
            if len(layouts) == 1
            else {"records": [lay.to_json() for lay in layouts]}
        )
        print(json.dumps(doc, indent=2))
    else:
        print("\n\n".join(render_table(lay) for lay in layouts))
    return RET_OK


_HEADER = ("LVL", "NAME", "OFFSET", "LENGTH", "USAGE", "PICTURE", "NOTES")


def render_table(layout: Layout) -> str:
    """A readable table of one record; offsets are 0-based, lengths per occurrence."""
    rows: list[tuple[str, ...]] = [_HEADER]
    depth = {layout.root.path: 0}
    for f in layout.fields():
        parent = f.path.rsplit(".", 1)[0] if "." in f.path else ""
        depth[f.path] = depth.get(parent, -1) + 1
        indent = "  " * depth[f.path]
        rows.append(
            (
                f"{f.level:02d}",
                indent + f.name,
                str(f.offset),
                str(f.length),
                f.usage.value,
                f.picture or "",
                _notes(f),
            )
        )
        for c in f.conditions:
            values = ", ".join(
                _lit(v.low) + (f" THRU {_lit(v.high)}" if v.high else "") for v in c.values
            )
            rows.append(("88", indent + "  " + c.name, "", "", "", "", values))
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADER))]
    right = {2, 3}
    lines = [
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    length = f"length {layout.record_length}"
    if layout.min_length != layout.record_length:
        length = f"length {layout.min_length}..{layout.record_length}"
    title = f"{layout.name}  {length}  fingerprint {layout.fingerprint}"
    if layout.dialect != "ibm":
        title += f"  dialect {layout.dialect}"
    return "\n".join([title, *lines])


def _lit(lit: Literal) -> str:
    if lit.kind == "alphanumeric":
        return "'" + lit.text + "'"
    if lit.kind == "hex":
        return f"X'{lit.text}'"
    return lit.text


def _notes(f: Field) -> str:
    notes: list[str] = []
    if f.occurs:
        o = f.occurs
        if o.depending_on:
            notes.append(f"occurs {o.min} to {o.max} depending on {o.depending_on}")
        else:
            notes.append(f"occurs {o.max}")
    if f.redefines:
        notes.append(f"redefines {f.redefines}")
    if f.renames:
        first, thru = f.renames
        notes.append(f"renames {first}" + (f" thru {thru}" if thru else ""))
    if f.sign_leading or f.sign_separate:
        where = "leading" if f.sign_leading else "trailing"
        notes.append(f"sign {where}" + (" separate" if f.sign_separate else ""))
    if f.synchronized:
        notes.append("sync")
    if f.justified:
        notes.append("justified")
    if f.blank_when_zero:
        notes.append("blank when zero")
    if f.variable_offset:
        notes.append("variable offset")
    if f.value is not None:
        notes.append(f"value {_lit(f.value)}")
    return "; ".join(notes)
