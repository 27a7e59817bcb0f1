"""The mapping document as typed, immutable objects.

A mapping is JSON a person writes (``schemas/osfi-mapping.schema.json`` is its meta-schema).
``load_mapping`` checks it against the meta-schema first and reports every violation with its
JSON pointer, so the dataclasses below can trust their input. Checks against the copybook
(does the field exist, does the type fit the PIC) live in ``lint.py``.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from bridge.errors import BridgeError
from bridge.inputs import input_problem

# The schemas folder sits beside the package in the source tree (an editable install).
# bridge/schemas links to the repository's schemas/, so the meta-schemas ship inside the wheel
# (package data) and resolve the same way in an editable install.
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
META_SCHEMA_PATH = SCHEMA_DIR / "osfi-mapping.schema.json"

Scalar = str | int
CASE_PROPERTY = "recordType"  # the event property carrying a multi-layout record's case


class TargetType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOLEAN = "boolean"
    ENUM = "enum"


class Classification(enum.StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    PII = "pii"


class PiiPolicyKind(enum.StrEnum):
    KEEP = "keep"
    MASK = "mask"
    HASH = "hash"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a mapping: where in the document, which layout item, what."""

    pointer: str  # JSON pointer into the mapping document ("" is the whole document)
    message: str
    field: str | None = None  # the layout path concerned, when there is one
    severity: str = "error"  # or "warning": reported, does not fail the check

    def __str__(self) -> str:
        where = self.pointer or "/"
        item = f" [{self.field}]" if self.field else ""
        return f"{self.severity}: {where}{item}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The problem as ``bridge mapping check --json`` reports it."""
        return {
            "severity": self.severity,
            "pointer": self.pointer,
            "field": self.field,
            "message": self.message,
        }


class MappingError(BridgeError):
    """A mapping document is invalid; holds every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


class MappingNotFoundError(BridgeError):
    """The mapping file (or the copybook it names) does not exist."""


@dataclass(frozen=True)
class Framing:
    type: str  # fixed | rdw | rdw-le | vb | vbs | odo | lines (bridge/decode/framing.py)
    record_length: int | None = None
    rdw_includes_header: bool = True
    skip_header: int = 0
    skip_trailer: int = 0
    record_prefix: int = 0

    def frame_options(self) -> dict[str, Any]:
        """Keyword arguments of ``bridge.decode.framing.frame`` (besides buffer and layout)."""
        return {
            "record_length": self.record_length,
            "rdw_includes_header": self.rdw_includes_header,
            "skip_header": self.skip_header,
            "skip_trailer": self.skip_trailer,
            "record_prefix": self.record_prefix,
        }


@dataclass(frozen=True)
class CopybookRef:
    path: str
    fingerprint: str
    include_dirs: tuple[str, ...] = ()
    record: str | None = None
    dialect: str = "ibm"  # the compiler dialect the copybook is read in (copybook/dialect.py)


@dataclass(frozen=True)
class Case:
    name: str
    when: tuple[Scalar, ...]
    layout: str
    redefines: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Discriminator:
    source: str
    cases: tuple[Case, ...]


@dataclass(frozen=True)
class Keys:
    kafka: tuple[str, ...] = ()
    redis: tuple[str, ...] = ()
    redis_prefix: str = ""
    separator: str = "|"


@dataclass(frozen=True)
class CacheSpec:
    """How the Redis cache versions and deletes this mapping's records (source paths)."""

    version: str | None = None
    deleted: str | None = None
    deleted_values: tuple[Scalar | bool, ...] = ()


@dataclass(frozen=True)
class PiiKeySource:
    env: str | None = None
    file: str | None = None
    key_id: str | None = None


@dataclass(frozen=True)
class AuditPolicy:
    """What the audit documents of a mapping with protected fields withhold (docs/audit.md)."""

    redact_dropped: bool = False  # dropped fields are redacted like PII
    seal_key: PiiKeySource | None = None  # the operator's public key: a sealed copy of the record


@dataclass(frozen=True)
class PiiPolicy:
    policy: PiiPolicyKind
    keep_last: int = 0
    mask_char: str = "*"


@dataclass(frozen=True)
class EnumValue:
    target: str
    source: tuple[Scalar, ...] = ()
    ranges: tuple[tuple[Scalar, Scalar], ...] = ()
    condition: str | None = None


@dataclass(frozen=True)
class FieldSpec:
    """How one elementary item becomes one event property."""

    source: str
    target: str
    type: TargetType
    pointer: str  # where this entry sits in the mapping document, for messages
    description: str | None = None
    precision: int | None = None
    scale: int | None = None
    format: str | None = None
    century_window: int | None = None
    values: tuple[EnumValue, ...] = ()
    true_values: tuple[Scalar, ...] = ()
    false_values: tuple[Scalar, ...] = ()
    null_values: tuple[Scalar, ...] = ()
    trim: str = "right"
    required: bool = False
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    enum: tuple[Scalar, ...] | None = None
    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    classification: Classification = Classification.INTERNAL
    pii: PiiPolicy | None = None

    @property
    def protection(self) -> PiiPolicyKind:
        """What happens to the value before it is published."""
        return self.pii.policy if self.pii else PiiPolicyKind.KEEP


@dataclass(frozen=True)
class TableSpec:
    source: str
    target: str
    pointer: str
    description: str | None = None


@dataclass(frozen=True)
class Drop:
    source: str
    pointer: str
    reason: str | None = None


@dataclass(frozen=True)
class MappingDoc:
    """A loaded mapping. ``base_dir`` resolves the relative paths it names."""

    name: str
    version: str
    copybook: CopybookRef
    framing: Framing
    code_page: str
    fields: tuple[FieldSpec, ...]
    tables: tuple[TableSpec, ...] = ()
    drops: tuple[Drop, ...] = ()
    keys: Keys = Keys()
    cache: CacheSpec = CacheSpec()
    discriminator: Discriminator | None = None
    pii_key: PiiKeySource | None = None
    audit: AuditPolicy = AuditPolicy()
    description: str | None = None
    base_dir: Path = field(default=Path("."), compare=False)
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def copybook_path(self) -> Path:
        return self.base_dir / self.copybook.path

    @property
    def include_dirs(self) -> tuple[Path, ...]:
        return tuple(self.base_dir / d for d in self.copybook.include_dirs)

    def field_spec(self, source: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.source == source:
                return spec
        return None


@cache
def meta_schema() -> dict[str, Any]:
    with META_SCHEMA_PATH.open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


def json_pointer(parts: Iterator[str | int] | Sequence[str | int]) -> str:
    """RFC 6901 pointer from path parts."""
    out = ""
    for part in parts:
        out += "/" + str(part).replace("~", "~0").replace("/", "~1")
    return out


def meta_problems(document: Any) -> list[Problem]:
    """Every violation of the meta-schema, deepest first within a location, sorted by pointer."""
    validator = Draft202012Validator(meta_schema(), format_checker=FormatChecker())
    problems = []
    for error in validator.iter_errors(document):
        # if/then/else and anyOf report one summary error; its context has the real causes.
        for leaf in _leaf_errors(error):
            problems.extend(_explain(leaf))
    unique = {(p.pointer, p.message): p for p in problems}
    return sorted(unique.values(), key=lambda p: (_pointer_key(p.pointer), p.message))


def _pointer_key(pointer: str) -> list[tuple[int, int | str]]:
    """Document order: /fields/3 before /fields/10."""
    return [(0, int(t)) if t.isascii() and t.isdigit() else (1, t) for t in pointer.split("/")[1:]]


def _forbidden_keys(schema: Any) -> list[str]:
    """The properties a ``not: {required}`` / ``not: {anyOf: [{required}...]}`` forbids."""
    if not isinstance(schema, dict):
        return []
    keys = list(schema.get("required", []))
    for branch in schema.get("anyOf", []):
        keys.extend(_forbidden_keys(branch))
    return keys


def _explain(error: Any) -> list[Problem]:
    """Problems for one meta-schema error, in words a mapping author can act on."""
    pointer = json_pointer(error.absolute_path)
    if error.validator == "not" and isinstance(error.instance, dict):
        present = [k for k in _forbidden_keys(error.validator_value) if k in error.instance]
        if present:
            return [
                Problem(
                    f"{pointer}/{key}",
                    f"{key!r} does not apply here (it belongs to another type, format or "
                    "policy, see schemas/osfi-mapping.schema.json)",
                )
                for key in present
            ]
    return [Problem(pointer, error.message)]


def _leaf_errors(error: Any) -> list[Any]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        # The branch that got furthest explains best; all branches would be noise.
        best = max(error.context, key=lambda e: len(e.absolute_path))
        if len(best.absolute_path) > len(error.absolute_path):
            return _leaf_errors(best)
    return [error]


def read_document(path: Path) -> dict[str, Any]:
    problem = input_problem(path)
    if problem is not None:
        if problem == "no such file":
            raise MappingNotFoundError(f"mapping not found: {path}")
        raise MappingNotFoundError(f"mapping {path}: {problem}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex().upper()
        where = f"byte offset {exc.start} (line {line}): X'{bad}'"
        raise MappingError([Problem("", f"not UTF-8 text: {where}")]) from None
    try:
        # parse_float keeps any decimal a person wrote exact.
        document = json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        problem = f"not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise MappingError([Problem("", problem)]) from exc
    except _DuplicateKeyError as exc:
        raise MappingError([Problem("", f"{exc}{_line_of_last(text, exc.key)}")]) from None
    except RecursionError:
        problem = "JSON nested too deeply (a mapping is a few levels deep)"
        raise MappingError([Problem("", problem)]) from None
    if not isinstance(document, dict):
        raise MappingError([Problem("", "a mapping is a JSON object")])
    return document


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key {json.dumps(key)} given twice in one object (readers keep one)")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKeyError(key)
        document[key] = value
    return document


def _line_of_last(text: str, key: str) -> str:
    """Where the repeated key is (the last time it is written), as ``: line N``."""
    found = [m.start() for m in re.finditer(re.escape(json.dumps(key)) + r"\s*:", text)]
    return f": line {text.count(chr(10), 0, found[-1]) + 1}" if found else ""


def load_mapping(path: str | Path) -> MappingDoc:
    """Read and meta-validate a mapping file; raises MappingError or MappingNotFoundError."""
    path = Path(path)
    document = read_document(path)
    return parse_mapping(document, base_dir=path.parent)


def parse_mapping(document: Mapping[str, Any], base_dir: Path = Path(".")) -> MappingDoc:
    problems = meta_problems(document)
    if problems:
        raise MappingError(problems)
    doc = dict(document)
    cb = doc["copybook"]
    src = doc["source"]
    keys = doc.get("keys", {})
    pii_key = doc.get("pii_key")
    audit = doc.get("audit", {})
    seal_key = audit.get("seal_key")
    disc = doc.get("discriminator")
    cache = doc.get("cache", {})
    return MappingDoc(
        name=doc["name"],
        version=doc["version"],
        description=doc.get("description"),
        copybook=CopybookRef(
            path=cb["path"],
            fingerprint=cb["fingerprint"],
            include_dirs=tuple(cb.get("include_dirs", ())),
            record=cb.get("record"),
            dialect=cb.get("dialect", "ibm"),
        ),
        framing=Framing(
            type=src["framing"]["type"],
            record_length=src["framing"].get("record_length"),
            rdw_includes_header=src["framing"].get("rdw_includes_header", True),
            skip_header=src["framing"].get("skip_header", 0),
            skip_trailer=src["framing"].get("skip_trailer", 0),
            record_prefix=src["framing"].get("record_prefix", 0),
        ),
        code_page=src["code_page"],
        fields=tuple(_field(f, f"/fields/{i}") for i, f in enumerate(doc["fields"])),
        tables=tuple(
            TableSpec(t["source"], t["target"], f"/tables/{i}", t.get("description"))
            for i, t in enumerate(doc.get("tables", ()))
        ),
        drops=tuple(
            Drop(d["source"], f"/drop/{i}", d.get("reason"))
            for i, d in enumerate(doc.get("drop", ()))
        ),
        keys=Keys(
            kafka=tuple(keys.get("kafka", ())),
            redis=tuple(keys.get("redis", ())),
            redis_prefix=keys.get("redis_prefix", ""),
            separator=keys.get("separator", "|"),
        ),
        cache=CacheSpec(
            version=cache.get("version"),
            deleted=cache.get("deleted", {}).get("source"),
            deleted_values=tuple(cache.get("deleted", {}).get("values", ())),
        ),
        discriminator=(
            Discriminator(
                source=disc["source"],
                cases=tuple(
                    Case(
                        name=c["name"],
                        when=tuple(c["when"]),
                        layout=c["layout"],
                        redefines=tuple(sorted(c.get("redefines", {}).items())),
                    )
                    for c in disc["cases"]
                ),
            )
            if disc
            else None
        ),
        pii_key=(
            PiiKeySource(pii_key.get("env"), pii_key.get("file"), pii_key.get("key_id"))
            if pii_key
            else None
        ),
        audit=AuditPolicy(
            redact_dropped=audit.get("redact_dropped", False),
            seal_key=(
                PiiKeySource(seal_key.get("env"), seal_key.get("file"), seal_key.get("key_id"))
                if seal_key
                else None
            ),
        ),
        base_dir=base_dir,
        document=document,
    )


def _bound(value: Any) -> int | Decimal | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Decimal(value)
    return int(value)


def _field(f: Mapping[str, Any], pointer: str) -> FieldSpec:
    pii = f.get("pii")
    return FieldSpec(
        source=f["source"],
        target=f["target"],
        type=TargetType(f["type"]),
        pointer=pointer,
        description=f.get("description"),
        precision=f.get("precision"),
        scale=f.get("scale"),
        format=f.get("format"),
        century_window=f.get("century_window"),
        values=tuple(
            EnumValue(
                target=v["target"],
                source=tuple(v.get("source", ())),
                ranges=tuple((r["low"], r["high"]) for r in v.get("ranges", ())),
                condition=v.get("condition"),
            )
            for v in f.get("values", ())
        ),
        true_values=tuple(f.get("true", ())),
        false_values=tuple(f.get("false", ())),
        null_values=tuple(f.get("null_values", ())),
        trim=f.get("trim", "right"),
        required=f.get("required", False),
        minimum=_bound(f.get("minimum")),
        maximum=_bound(f.get("maximum")),
        enum=tuple(f["enum"]) if "enum" in f else None,
        max_length=f.get("maxLength"),
        min_length=f.get("minLength"),
        pattern=f.get("pattern"),
        classification=Classification(f.get("classification", "internal")),
        pii=(
            PiiPolicy(
                PiiPolicyKind(pii["policy"]),
                keep_last=pii.get("keep_last", 0),
                mask_char=pii.get("mask_char", "*"),
            )
            if pii
            else None
        ),
    )
