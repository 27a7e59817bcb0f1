"""Builder: data description entries to Layouts -- nesting, sizes, offsets, and IBM's rules.

Sizes and alignment follow IBM Enterprise COBOL (Language Reference, "USAGE clause",
"SYNCHRONIZED clause", "Slack bytes within records"). Where GnuCOBOL differs, IBM wins:
- SYNCHRONIZED binary items of 10-18 digits (8 bytes) align on a fullword (m = 4), as IBM's slack
  byte algorithm says, not on a doubleword; COMP-2 aligns on 8, COMP-1/POINTER/INDEX on 4 (31-bit).
- BINARY/COMP/COMP-4 sizes come from the PICTURE digits (2/4/8 bytes), as with TRUNC(STD/OPT);
  GnuCOBOL's binary-size options do not apply.
- A REDEFINES below level 01 larger than what it redefines is accepted with a warning, as IBM
  does (IGYDS1154-W) and other decoders do: the redefined and redefining items share their start,
  the pair takes the size of the larger, the next item starts after it, and the group's length
  grows by the difference. At level 01 each record is its own Layout.
Slack bytes before a SYNCHRONIZED item are counted in the group that directly holds the item (or
the outermost group that starts with it); IBM's worked examples agree, and record lengths are the
same either way. Tables get slack at the end of each occurrence so that every occurrence aligns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bridge.copybook.dialect import IBM, Dialect
from bridge.copybook.layout import Category, Condition, Field, Layout, Occurs, Usage
from bridge.copybook.parser import Entry, Ref
from bridge.copybook.picture import Picture, PictureError, analyze
from bridge.copybook.source import Position, SourceText
from bridge.errors import Diagnostic

_USAGE = {
    "DISPLAY": Usage.DISPLAY,
    "COMP": Usage.COMP,
    "COMP-5": Usage.COMP5,
    "COMP-3": Usage.COMP3,
    "COMP-1": Usage.COMP1,
    "COMP-2": Usage.COMP2,
    "NATIONAL": Usage.NATIONAL,
    "DISPLAY-1": Usage.DBCS,
    "POINTER": Usage.POINTER,
    "INDEX": Usage.INDEX,
}
# Fixed sizes and SYNCHRONIZED boundaries (m) of the usages that take no PICTURE.
_NO_PICTURE = {
    Usage.COMP1: (4, 4, Category.FLOAT),
    Usage.COMP2: (8, 8, Category.FLOAT),
    Usage.POINTER: (4, 4, Category.POINTER),
    Usage.INDEX: (4, 4, Category.INDEX),
}


def packed_size(digits: int) -> int:
    return digits // 2 + 1


@dataclass(eq=False)
class _Node:
    entry: Entry
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    target: _Node | None = None  # what a REDEFINES entry redefines
    usage: Usage = Usage.GROUP
    category: Category = Category.GROUP
    pic: Picture | None = None
    sign: tuple[bool, bool] | None = None
    sync: bool = False
    align: int = 1  # IBM's m for a SYNCHRONIZED elementary item
    offset: int = 0
    length: int = 0  # one occurrence, slack included
    variable: bool = False
    quiet: bool = False  # an entry after it failed to parse: its own checks might be knock-ons
    depending_path: str | None = None
    path: str = ""

    @property
    def name(self) -> str:
        return self.entry.name or "FILLER"

    @property
    def level(self) -> int:
        return self.entry.level

    @property
    def total(self) -> int:
        occurs = self.entry.occurs
        return self.length * (occurs.max if occurs else 1)

    def walk(self) -> list[_Node]:
        out = [self]
        for c in self.children:
            out.extend(c.walk())
        return out

    def is_within(self, other: _Node) -> bool:
        node: _Node | None = self
        while node is not None:
            if node is other:
                return True
            node = node.parent
        return False


class Builder:
    def __init__(
        self, src: SourceText, *, decimal_point_is_comma: bool = False, dialect: Dialect = IBM
    ) -> None:
        self.src = src
        self.comma = decimal_point_is_comma
        self.dialect = dialect
        self.diagnostics: list[Diagnostic] = []

    def error(self, pos: Position | None, message: str) -> None:
        if pos is None:
            pos = Position("", 0, 0)
        self.diagnostics.append(self.src.diagnostic(pos, message))

    def warning(self, pos: Position, message: str) -> None:
        self.diagnostics.append(replace(self.src.diagnostic(pos, message), severity="warning"))

    # -- records and nesting ---------------------------------------------------------------

    def build(self, entries: list[Entry], root_name: str) -> list[Layout]:
        records: list[tuple[_Node, list[Entry]]] = []  # (root, its level-66 entries)
        stack: list[_Node] = []
        last: _Node | None = None
        for e in entries:
            if e.broken:
                if last is not None:
                    last.quiet = True
                if not 2 <= e.level <= 49:
                    continue
            if e.level == 88:
                self._condition(e, last)
                continue
            if e.level == 66:
                if not records or records[-1][0].level == 77:
                    self.error(e.pos, "a level-66 entry must follow the record it renames in")
                else:
                    records[-1][1].append(e)
                continue
            if e.level in (1, 77):
                node = _Node(e)
                records.append((node, []))
                stack = [node]
                last = node
                continue
            if not records:  # the copybook starts below 01: one record named after the file
                synth = Entry(1, root_name, e.pos, e.pos)
                records.append((_Node(synth), []))
                stack = [records[-1][0]]
            root, renames = records[-1]
            if root.level == 77 or renames or not stack:
                where = "a level-77 item" if root.level == 77 else "level-66 entries"
                self.error(e.pos, f"level {e.level:02d} cannot follow {where}")
                continue
            while stack and stack[-1].level >= e.level:
                stack.pop()
            if not stack:
                self.error(e.pos, f"level {e.level:02d} is above its record's level")
                continue
            parent = stack[-1]
            siblings = parent.children
            if siblings and siblings[0].level != e.level:
                self.error(
                    e.pos,
                    f"level {e.level:02d} does not match its sibling level {siblings[0].level:02d}",
                )
                continue
            node = _Node(e, parent)
            siblings.append(node)
            stack.append(node)
            last = node
        layouts = []
        for i, (root, renames) in enumerate(records):
            layout = self._record(root, renames, [r for r, _ in records[:i]])
            if layout is not None:
                layouts.append(layout)
        return layouts

    def _condition(self, e: Entry, owner: _Node | None) -> None:
        if owner is None:
            self.error(e.pos, "a level-88 entry must follow the item it belongs to")
            return
        if not e.values:
            self.error(e.name_pos, "a level-88 entry needs a VALUE clause")
            return
        extra = set(e.clause_pos) - {"VALUE"}
        if extra:
            self.error(e.clause_pos[min(extra)], f"a level-88 entry cannot have {min(extra)}")
            return
        owner.conditions.append(Condition(e.name or "", e.values, e.pos.line))

    # -- one record ------------------------------------------------------------------------

    def _record(self, root: _Node, renames: list[Entry], earlier: list[_Node]) -> Layout | None:
        before = self._errors()
        if root.entry.redefines is not None:
            ref = root.entry.redefines
            if not any(r.name == ref.names[0] for r in earlier):
                self.error(ref.pos, f"REDEFINES names {ref}, which is not defined before it")
        self._check_entries(root)
        self._resolve(root, None, None, False)
        self._link_redefines(root)
        self._place(root, 0)
        self._paths(root, root.name)
        self._check_redefines(root)
        self._check_occurs(root)
        self._mark_variable(root)
        extra = [self._renames(root, e) for e in renames]
        if self._errors() > before:
            return None
        root_field = self._freeze(root)
        if extra:
            kids = list(root_field.children)
            names = [c.name for c in kids]
            for f in extra:
                if f is None:
                    continue
                names.append(f.name)
                n = names.count(f.name)
                path = f"{root.name}.{f.name}" + (f"#{n}" if n > 1 else "")
                kids.append(_replace(f, path=path))
            root_field = _replace(root_field, children=tuple(kids))
        return Layout(
            root=root_field,
            record_length=root.total,
            min_length=self._min_total(root),
            source=root.entry.pos.file,
            dialect=self.dialect.name,
        )

    def _errors(self) -> int:
        return sum(d.severity != "warning" for d in self.diagnostics)

    def _check_entries(self, root: _Node) -> None:
        for node in root.walk():
            e = node.entry
            if e.renames is not None:
                self.error(e.clause_pos.get("RENAMES"), "RENAMES belongs on a level-66 entry")
            if e.level in (1, 77) and e.occurs is not None:
                self.error(e.occurs.pos, f"OCCURS is not allowed at level {e.level:02d}")
            if node.children and e.picture is not None:
                self.error(e.picture_pos, f"{node.name} has subordinate items, so no PICTURE")
            if e.sync and node.children and e.level != 1:
                # IBM: SYNCHRONIZED is for elementary items and level-01 groups only.
                self.error(e.clause_pos.get("SYNCHRONIZED"), "SYNC on a group needs level 01")

    # -- usage, pictures, sizes ------------------------------------------------------------

    def _resolve(
        self, node: _Node, usage: str | None, sign: tuple[bool, bool] | None, sync: bool
    ) -> None:
        e = node.entry
        if e.usage is not None and usage is not None and e.usage != usage:
            self.error(e.usage_pos, f"USAGE {e.usage} conflicts with the group's USAGE {usage}")
        usage = e.usage or usage
        sync = sync or e.sync
        node.sync = sync
        if node.children:
            for child in node.children:
                self._resolve(child, usage, e.sign or sign, sync)
            if e.blank_when_zero or e.justified:
                self.error(e.name_pos, "BLANK WHEN ZERO and JUSTIFIED are for elementary items")
            return
        if not e.broken:
            self._elementary(node, usage or "DISPLAY", e.sign, sign, sync)

    def _elementary(
        self,
        node: _Node,
        usage_name: str,
        own_sign: tuple[bool, bool] | None,
        group_sign: tuple[bool, bool] | None,
        sync: bool,
    ) -> None:
        e = node.entry
        if usage_name == "COMP-0":
            if not self.dialect.lenient:
                self.error(
                    e.usage_pos, "USAGE COMP-0 is not IBM's: use --dialect gnucobol or microfocus"
                )
                return
            usage_name = "COMP"
        usage = _USAGE[usage_name]
        if usage in _NO_PICTURE:
            size, align, category = _NO_PICTURE[usage]
            if e.picture is not None:
                self.error(e.picture_pos, f"a USAGE {usage_name} item has no PICTURE")
            node.usage, node.category, node.length = usage, category, size
            node.align = align if sync else 1
            self._check_own_sign(node, own_sign)
            return
        if e.picture is None or e.picture_pos is None:
            if not node.quiet:
                self.error(e.name_pos, f"{node.name} needs a PICTURE (or subordinate items)")
            return
        try:
            pic = analyze(
                e.picture,
                decimal_point_is_comma=self.comma,
                max_digits=self.dialect.max_digits,
                edited_sign=self.dialect.lenient,
            )
        except PictureError as exc:
            pos = e.picture_pos
            line = self.src.line_text(pos)
            if pos.column + len(e.picture) - 1 == 72 and line[72:].strip():
                # Fixed format ends the code at column 72: the picture went on past it.
                self.error(
                    pos,
                    f"PICTURE cut at column 72 (fixed format ignores columns 73 on; {exc}): "
                    "continue the entry on the next line, or use --free",
                )
                return
            why = str(exc)
            if not self.dialect.lenient and ("digits" in why or why.startswith("'S'")):
                why += " (--dialect gnucobol or microfocus accept it)"
            self.error(Position(pos.file, pos.line, pos.column + exc.index), f"bad PICTURE: {why}")
            return
        node.pic = pic
        node.category = pic.category
        # PIC N implies USAGE NATIONAL (NSYMBOL(NATIONAL), IBM's default); PIC G implies DISPLAY-1.
        if pic.category is Category.NATIONAL and usage is Usage.DISPLAY:
            usage = Usage.NATIONAL
        if pic.category is Category.DBCS and usage is Usage.DISPLAY:
            usage = Usage.DBCS
        node.usage = usage
        numeric = pic.category is Category.NUMERIC
        where = e.usage_pos or e.picture_pos
        if usage in (Usage.COMP, Usage.COMP5, Usage.COMP3):
            if not numeric:
                self.error(where, f"USAGE {usage_name} needs a numeric PICTURE (9, S, V, P)")
                return
            digits = pic.digits or 0
            if usage is Usage.COMP3:
                node.length = packed_size(digits)
            elif digits > self.dialect.max_binary_digits:
                limit = self.dialect.max_binary_digits
                hint = " (--dialect gnucobol or microfocus: 38)" if not self.dialect.lenient else ""
                self.error(e.picture_pos, f"binary items hold at most {limit} digits{hint}")
                return
            else:
                node.length = self.dialect.binary_size(digits, pic.signed)
                # IBM: m = 2 for 1-4 digits, 4 for 5 digits or more (8-byte items included).
                node.align = (2 if digits <= 4 else 4) if sync else 1
        elif usage is Usage.NATIONAL:
            if pic.category not in (Category.NATIONAL, Category.NUMERIC, Category.NUMERIC_EDITED):
                self.error(where, "USAGE NATIONAL needs a PICTURE of N, 9 or numeric editing")
                return
            node.length = 2 * pic.positions
        elif usage is Usage.DBCS:
            if pic.category is not Category.DBCS:
                self.error(where, "USAGE DISPLAY-1 needs a PICTURE of G (or N) and B")
                return
            node.length = 2 * pic.positions
        else:
            if pic.category in (Category.NATIONAL, Category.DBCS):
                self.error(where, f"a PICTURE of {pic.category.value} characters needs that USAGE")
                return
            node.length = pic.positions
        sign = own_sign
        if sign is None and group_sign is not None and numeric and pic.signed:
            sign = group_sign
        self._check_own_sign(node, own_sign)
        if sign is not None and numeric and pic.signed and usage in (Usage.DISPLAY, Usage.NATIONAL):
            node.sign = sign
            if sign[1]:
                node.length += 2 if usage is Usage.NATIONAL else 1
        if e.blank_when_zero and (
            usage is not Usage.DISPLAY
            or pic.category not in (Category.NUMERIC, Category.NUMERIC_EDITED)
        ):
            self.error(e.clause_pos.get("BLANK WHEN ZERO"), "BLANK WHEN ZERO needs a numeric item")
        if e.justified and pic.category in (Category.NUMERIC, Category.NUMERIC_EDITED):
            self.error(e.clause_pos.get("JUSTIFIED"), "JUSTIFIED cannot be used on numeric items")

    def _check_own_sign(self, node: _Node, sign: tuple[bool, bool] | None) -> None:
        if sign is None:
            return
        pic = node.pic
        ok = (
            pic is not None
            and pic.category is Category.NUMERIC
            and pic.signed
            and node.usage in (Usage.DISPLAY, Usage.NATIONAL)
        )
        unsigned = pic is not None and pic.category is Category.NUMERIC and not pic.signed
        if not ok and unsigned and self.dialect.lenient and node.entry.sign_pos is not None:
            self.warning(
                node.entry.sign_pos,
                f"SIGN on {node.name}, whose PICTURE has no S: no effect, no sign position "
                f"(as {self.dialect.name} lays it out)",
            )
        elif not ok:
            self.error(node.entry.sign_pos, "SIGN needs a signed numeric DISPLAY item (PIC S9...)")

    # -- REDEFINES and offsets -------------------------------------------------------------

    def _link_redefines(self, root: _Node) -> None:
        names = {n.name for n in root.walk()}
        for node in root.walk():
            for i, child in enumerate(node.children):
                ref = child.entry.redefines
                if ref is None:
                    continue
                if len(ref.names) > 1:
                    self.error(ref.pos, "the object of REDEFINES cannot be qualified")
                    continue
                prev = node.children[i - 1] if i else None
                original = prev.target or prev if prev else None
                if original is not None and original.name == ref.names[0]:
                    child.target = original
                elif ref.names[0] not in names:
                    self.error(ref.pos, f"REDEFINES names {ref}, which is not defined")
                else:
                    self.error(
                        ref.pos,
                        f"REDEFINES {ref}: the redefined item must be the one just before, "
                        "at the same level",
                    )

    def _lead_align(self, node: _Node) -> int:
        while node.children:
            node = node.children[0]
        return node.align

    def _max_align(self, node: _Node) -> int:
        return max(n.align for n in node.walk())

    def _place(self, node: _Node, offset: int) -> None:
        node.offset = offset
        if not node.children:
            return
        cur = offset
        for child in node.children:
            if child.target is not None:
                start = child.target.offset
                if start % self._lead_align(child):
                    self.error(
                        child.entry.pos,
                        f"{child.name} starts with a SYNCHRONIZED item that would need slack "
                        "bytes before a REDEFINES",
                    )
                self._place(child, start)
                cur = max(cur, child.offset + child.total)  # a larger REDEFINES extends the pair
                continue
            cur += -cur % self._lead_align(child)  # slack bytes before a SYNCHRONIZED item
            self._place(child, cur)
            cur = child.offset + child.total
        node.length = cur - offset
        if node.entry.occurs is not None:
            # IBM: each occurrence is padded so that the next one starts aligned as well.
            node.length += -node.length % self._max_align(node)

    def _check_redefines(self, root: _Node) -> None:
        for node in root.walk():
            target = node.target
            if target is None:
                continue
            ref = node.entry.redefines
            pos = ref.pos if ref else node.entry.pos
            if node.total > target.total:
                end = node.offset + node.total
                self.warning(
                    pos,
                    f"{node.name} ({node.total} bytes) is larger than {target.name} "
                    f"({target.total} bytes) that it redefines (IBM IGYDS1154-W): both start at "
                    f"offset {target.offset}, the next item at {end}",
                )
            for n in (node, target):
                if any(d.entry.occurs and d.entry.occurs.depending_on for d in n.walk()):
                    self.error(pos, "REDEFINES cannot involve an OCCURS DEPENDING ON table")
                    break

    # -- tables ------------------------------------------------------------------------------

    def _check_occurs(self, root: _Node) -> None:
        nodes = root.walk()
        order = {id(n): i for i, n in enumerate(nodes)}
        for table in nodes:
            occ = table.entry.occurs
            if occ is None or occ.depending_on is None:
                continue
            ref = occ.depending_on
            found = self._lookup(root, ref)
            if len(found) != 1:
                why = "not found in record" if not found else "ambiguous (qualify it) in record"
                self.error(ref.pos, f"OCCURS DEPENDING ON object {ref} {why} {root.name}")
                continue
            obj = found[0]
            if obj.is_within(table):
                self.error(ref.pos, f"the ODO object {ref} cannot be inside its own table")
            elif order[id(obj)] > order[id(table)]:
                self.error(ref.pos, f"the ODO object {ref} must come before the table")
            elif obj.category is not Category.NUMERIC or (obj.pic and (obj.pic.scale or 0) > 0):
                self.error(ref.pos, f"the ODO object {ref} must be an integer numeric item")
            else:
                table.depending_path = obj.path

    def _lookup(self, root: _Node, ref: Ref) -> list[_Node]:
        found = []
        for n in root.walk():
            if n.name != ref.names[0]:
                continue
            up, quals = n.parent, list(ref.names[1:])
            while quals and up is not None:
                if up.name == quals[0]:
                    quals.pop(0)
                up = up.parent
            if not quals:
                found.append(n)
        return found

    def _mark_variable(self, root: _Node) -> None:
        # After an ODO table's last item, every later item moves with the count.
        passed = False

        def visit(node: _Node) -> None:
            nonlocal passed
            node.variable = passed
            for c in node.children:
                visit(c)
            occ = node.entry.occurs
            if occ is not None and occ.depending_on is not None:
                passed = True

        visit(root)

    def _min_total(self, node: _Node) -> int:
        occ = node.entry.occurs
        count = (occ.min if occ.depending_on else occ.max) if occ else 1
        if not node.children:
            return count * node.length
        fixed = [c for c in node.children if c.target is None]
        slack = node.length - sum(c.total for c in fixed)
        return count * (slack + sum(self._min_total(c) for c in fixed))

    # -- level 66 ----------------------------------------------------------------------------

    def _renames(self, root: _Node, e: Entry) -> Field | None:
        if e.renames is None:
            self.error(e.name_pos, "a level-66 entry needs a RENAMES clause")
            return None
        extra = set(e.clause_pos) - {"RENAMES"}
        if extra:
            self.error(e.clause_pos[min(extra)], f"a level-66 entry cannot have {min(extra)}")
            return None
        first_ref, thru_ref = e.renames
        items = []
        for ref in (first_ref, thru_ref):
            if ref is None:
                continue
            found = self._lookup(root, ref)
            if len(found) != 1:
                why = "not found in record" if not found else "ambiguous in record"
                self.error(ref.pos, f"RENAMES object {ref} {why} {root.name}")
                return None
            item = found[0]
            if item.level in (1, 66, 77, 88):
                self.error(ref.pos, f"RENAMES cannot name a level-{item.level:02d} item")
                return None
            up: _Node | None = item
            while up is not None:
                if up.entry.occurs is not None:
                    self.error(ref.pos, f"RENAMES cannot name {ref}: it is in a table")
                    return None
                up = up.parent
            items.append(item)
        first = items[0]
        common = {
            "name": e.name or "",
            "level": 66,
            "offset": first.offset,
            "line": e.pos.line,
            "variable_offset": first.variable,
        }
        if thru_ref is None:
            f = self._freeze(first)
            return _replace(
                f,
                path="",
                children=(),
                conditions=(),
                redefines=None,
                value=None,
                renames=(first.path, None),
                **common,
            )
        last = items[1]
        end = last.offset + last.total
        if last.offset < first.offset or end < first.offset + first.total or last.is_within(first):
            self.error(thru_ref.pos, f"RENAMES ... THRU {thru_ref} must end after {first_ref}")
            return None
        return Field(
            path="",
            length=end - first.offset,
            usage=Usage.GROUP,
            category=Category.GROUP,
            renames=(first.path, last.path),
            **common,  # type: ignore[arg-type]
        )

    # -- freezing ------------------------------------------------------------------------------

    def _paths(self, node: _Node, path: str) -> None:
        node.path = path
        seen: dict[str, int] = {}
        for c in node.children:
            seen[c.name] = seen.get(c.name, 0) + 1
            n = seen[c.name]
            self._paths(c, f"{path}.{c.name}" + (f"#{n}" if n > 1 else ""))

    def _freeze(self, node: _Node) -> Field:
        e = node.entry
        occ = e.occurs
        occurs = None
        if occ is not None:
            occurs = Occurs(occ.min, occ.max, node.depending_path, occ.indexed_by, occ.keys)
        pic = node.pic
        sign = node.sign or (False, False)
        return Field(
            path=node.path,
            name=node.name,
            level=node.level,
            offset=node.offset,
            length=node.length,
            usage=node.usage,
            category=node.category,
            picture=pic.text if pic else None,
            digits=pic.digits if pic else None,
            scale=pic.scale if pic else None,
            signed=pic.signed if pic else False,
            sign_leading=sign[0],
            sign_separate=sign[1],
            occurs=occurs,
            redefines=node.target.path if node.target else _root_redefines(node),
            children=tuple(self._freeze(c) for c in node.children),
            conditions=tuple(node.conditions),
            value=e.value,
            justified=e.justified,
            blank_when_zero=e.blank_when_zero,
            synchronized=node.sync and not node.children,
            variable_offset=node.variable,
            line=e.pos.line,
        )


def _root_redefines(node: _Node) -> str | None:
    ref = node.entry.redefines
    return ref.names[0] if ref is not None and node.level == 1 else None


def _replace(f: Field, **changes: object) -> Field:
    return replace(f, **changes)  # type: ignore[arg-type]


_NOT_NAME = re.compile(r"[^A-Z0-9-]+")


def record_name_from_stem(stem: str) -> str:
    """The name of the record synthesised for a copybook that starts below level 01."""
    return _NOT_NAME.sub("-", stem.upper()).strip("-") or "RECORD"


def build_layouts(
    entries: list[Entry],
    src: SourceText,
    root_name: str,
    *,
    decimal_point_is_comma: bool = False,
    dialect: Dialect = IBM,
) -> tuple[list[Layout], list[Diagnostic]]:
    builder = Builder(src, decimal_point_is_comma=decimal_point_is_comma, dialect=dialect)
    layouts = builder.build(entries, root_name)
    return layouts, builder.diagnostics
