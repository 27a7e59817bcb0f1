"""The layout model: what a compiled copybook says about every byte of a record.

Everything downstream (decoding, validation, schemas, event shapes) reads this model, never the
copybook text. It is immutable, and its fingerprint identifies the byte layout itself (not the
file it came from), so events can carry it and consumers can tell layouts apart.

Conventions:
- offsets are 0-based from the start of the record, lengths in bytes;
- a field inside an OCCURS table has the offset of its first occurrence and the length of one
  occurrence; ``Field.dimensions`` gives the (count, stride) of every enclosing table;
- tables that depend on a count (OCCURS ... DEPENDING ON) are laid out at their maximum; fields
  after such a table have ``variable_offset`` set and their real position depends on the data;
- ``path`` is the dotted chain of names from the record (level 01) down, unique in a layout:
  a name repeated among siblings (FILLER, typically) gets ``#n`` appended, n counting from 2.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class Usage(enum.StrEnum):
    DISPLAY = "display"
    COMP = "comp"  # also COMP-4 and BINARY: big-endian, limited by the PIC digits
    COMP3 = "comp-3"  # PACKED-DECIMAL
    COMP5 = "comp-5"  # native binary, full range of its size
    COMP1 = "comp-1"  # 4-byte float
    COMP2 = "comp-2"  # 8-byte float
    NATIONAL = "national"  # UTF-16BE, 2 bytes a character
    DBCS = "dbcs"  # DISPLAY-1 / PIC G
    POINTER = "pointer"
    INDEX = "index"
    GROUP = "group"


class Category(enum.StrEnum):
    """The class of data an elementary item holds, from its PICTURE (or its USAGE)."""

    ALPHANUMERIC = "alphanumeric"
    ALPHABETIC = "alphabetic"
    ALPHANUMERIC_EDITED = "alphanumeric-edited"
    NUMERIC = "numeric"
    NUMERIC_EDITED = "numeric-edited"
    NATIONAL = "national"
    DBCS = "dbcs"
    FLOAT = "float"
    POINTER = "pointer"
    INDEX = "index"
    GROUP = "group"


@dataclass(frozen=True)
class Literal:
    """A literal from a VALUE clause, kept as written.

    kind is ``alphanumeric`` (text holds the characters), ``numeric`` (text holds a decimal
    such as ``-12.50``), ``hex`` (text holds hex digits), ``national`` or ``figurative``
    (text holds the canonical name: SPACES, ZEROS, HIGH-VALUES, LOW-VALUES, QUOTES, NULLS,
    or ALL followed by a literal).
    """

    kind: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class ValueRange:
    """One entry of an 88-level VALUE list: a single value, or ``low THRU high``."""

    low: Literal
    high: Literal | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"low": self.low.to_json()}
        if self.high is not None:
            out["high"] = self.high.to_json()
        return out


@dataclass(frozen=True)
class Condition:
    """An 88-level condition name and the values that make it true."""

    name: str
    values: tuple[ValueRange, ...]
    line: int = field(default=0, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "values": [v.to_json() for v in self.values]}


@dataclass(frozen=True)
class Occurs:
    """OCCURS: ``max`` occurrences, or ``min`` TO ``max`` DEPENDING ON a count item."""

    min: int
    max: int
    depending_on: str | None = None  # path of the count item
    indexed_by: tuple[str, ...] = ()
    keys: tuple[tuple[str, str], ...] = ()  # ("ascending" | "descending", item name)

    def to_json(self) -> dict[str, Any]:
        return {
            "min": self.min,
            "max": self.max,
            "depending_on": self.depending_on,
            "indexed_by": list(self.indexed_by),
            "keys": [{"order": o, "name": n} for o, n in self.keys],
        }


@dataclass(frozen=True)
class Field:
    """An item of the record: a group (with children) or an elementary item."""

    path: str
    name: str
    level: int
    offset: int
    length: int  # one occurrence; a group's includes SYNCHRONIZED slack bytes
    usage: Usage
    category: Category
    picture: str | None = None  # upper-cased, as written (``S9(10)V99``)
    digits: int | None = None  # digit positions (9s; for edited items every digit position)
    # 10**-scale is the weight of the last digit; P scaling makes it < 0 or > digits.
    scale: int | None = None
    signed: bool = False
    sign_leading: bool = False
    sign_separate: bool = False
    occurs: Occurs | None = None
    redefines: str | None = None  # path of the item this one redefines
    children: tuple[Field, ...] = ()
    conditions: tuple[Condition, ...] = ()
    value: Literal | None = None
    justified: bool = False
    blank_when_zero: bool = False
    synchronized: bool = False
    variable_offset: bool = False  # an ODO table before it moves it with the data
    renames: tuple[str, str | None] | None = None  # level 66: (from path, thru path or None)
    line: int = field(default=0, compare=False)  # copybook line, for messages only

    @property
    def is_group(self) -> bool:
        """A group item (it has children), not an elementary one."""
        return self.usage is Usage.GROUP

    @property
    def key(self) -> str:
        """The item's member name in a record's JSON document: its name, or NAME#N for the
        Nth item of that name in its group (as in its path), so no document repeats a key."""
        return self.path.rpartition(".")[2]

    @property
    def is_filler(self) -> bool:
        """Named FILLER: laid out, never decoded into a record's document."""
        return self.name == "FILLER"

    @property
    def total_length(self) -> int:
        """Bytes taken by every occurrence (the maximum count for ODO tables)."""
        return self.length * (self.occurs.max if self.occurs else 1)

    def walk(self) -> Iterator[Field]:
        """This item and everything below it, in copybook order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_json(self) -> dict[str, Any]:
        """The field entry of ``bridge layout --json`` (children are listed flat, not nested)."""
        return {
            "path": self.path,
            "name": self.name,
            "level": self.level,
            "offset": self.offset,
            "length": self.length,
            "usage": self.usage.value,
            "category": self.category.value,
            "picture": self.picture,
            "digits": self.digits,
            "scale": self.scale,
            "signed": self.signed,
            "sign_leading": self.sign_leading,
            "sign_separate": self.sign_separate,
            "occurs": self.occurs.to_json() if self.occurs else None,
            "redefines": self.redefines,
            "conditions": [c.to_json() for c in self.conditions],
            "value": self.value.to_json() if self.value else None,
            "justified": self.justified,
            "blank_when_zero": self.blank_when_zero,
            "synchronized": self.synchronized,
            "variable_offset": self.variable_offset,
            "renames": list(self.renames) if self.renames else None,
        }


@dataclass(frozen=True)
class Layout:
    """One record type: a level-01 item (synthesised when a copybook starts below 01)."""

    root: Field
    record_length: int  # with every ODO table at its maximum
    min_length: int  # with every ODO table at its minimum
    source: str = field(default="", compare=False)  # the copybook file, for messages only
    dialect: str = "ibm"  # the compiler dialect the copybook was read in (copybook/dialect.py)

    @property
    def name(self) -> str:
        """The record's (level-01 item's) name."""
        return self.root.name

    @property
    def max_length(self) -> int:
        """The record's length with every ODO table at its maximum (``record_length``)."""
        return self.record_length

    def fields(self) -> Iterator[Field]:
        """Every item, groups included, in copybook order (the root first)."""
        return self.root.walk()

    def field(self, path: str) -> Field:
        """The item at dotted ``path`` (``REC.GROUP.ITEM``); KeyError when there is none."""
        for f in self.fields():
            if f.path == path:
                return f
        raise KeyError(path)

    def dimensions(self, path: str) -> tuple[tuple[Occurs, int], ...]:
        """(OCCURS, stride) of each table enclosing ``path``, itself included, outermost first."""
        dims: list[tuple[Occurs, int]] = []
        node = self.root
        parts = path.split(".")
        if parts[0] != node.name and parts[0] != node.path:
            raise KeyError(path)
        for depth in range(1, len(parts) + 1):
            if node.occurs is not None:
                dims.append((node.occurs, node.length))
            if depth == len(parts):
                break
            want = ".".join(parts[: depth + 1])
            node = next(c for c in node.children if c.path == want)
        return tuple(dims)

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of a canonical form of the byte layout (names, offsets, types, tables).

        Cached: events carry it per record, and the layout is immutable.
        """
        canonical: dict[str, Any] = {
            "record_length": self.record_length,
            "min_length": self.min_length,
            "fields": [f.to_json() for f in self.fields()],
        }
        if self.dialect != "ibm":  # IBM layouts keep the fingerprints they always had
            canonical["dialect"] = self.dialect
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """The layout document ``bridge layout --json`` prints for one record."""
        return {
            "name": self.name,
            "record_length": self.record_length,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "fingerprint": self.fingerprint,
            "dialect": self.dialect,
            "fields": [f.to_json() for f in self.fields()],
        }
