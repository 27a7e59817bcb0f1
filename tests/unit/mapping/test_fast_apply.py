"""The compiled mapper against the reference: same events, same violations, value for value.

fastconvert.py's converters must return what convert.make_converter returns, or fail with the
same rule, expected value and message; compiled.py's walk must build the reference walk's events
(key order included) and violations (in order). Hypothesis draws the values and the documents;
dates and timestamps also get values shaped like their formats, so the calendar's edges are
reached (day 0, 31 April, 29 February, hour 24, second 60, year 0).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.copybook.compiler import compile_text
from bridge.copybook.layout import Field, Layout
from bridge.mapping.apply import Applied, Mapper, message_key
from bridge.mapping.convert import ConversionError, make_converter, make_protector
from bridge.mapping.fastconvert import fast_converter, fast_protector
from bridge.mapping.model import (
    EnumValue,
    FieldSpec,
    MappingDoc,
    PiiPolicy,
    PiiPolicyKind,
    TargetType,
    parse_mapping,
)
from bridge.mapping.plan import is_numeric
from bridge.mapping.scaffold import default_mapping

from .conftest import acct_values, mapping_for

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DATE_FORMATS = ["YYYYMMDD", "YYMMDD", "CYYMMDD", "YYDDD", "YYYYDDD", "YYYY-MM-DD"]
TIMESTAMP_FORMATS = [
    "YYYYMMDDHHMMSS",
    "YYYY-MM-DD HH:MM:SS",
    "YYYY-MM-DD HH:MM:SS.ffffff",
    "YYYY-MM-DD-HH.MM.SS.ffffff",
]
PICTURES = [
    "X(8)",
    "X(14)",
    "X(26)",
    "9(5)",
    "9(8)",
    "9(14)",
    "S9(7) COMP-3",
    "S9(5)V99 COMP-3",
    "S9(3)V9(5)",
    "S9(9)V9(6) COMP-3",
    "9(3)",
    "S9(4) COMP",
]


@pytest.fixture(scope="module")
def items() -> dict[str, Field]:
    lines = [f"           05  F{i}  PIC {pic}." for i, pic in enumerate(PICTURES)]
    layout = compile_text("       01  R.\n" + "\n".join(lines) + "\n", "R")[0]
    return {pic: layout.field(f"R.F{i}") for i, pic in enumerate(PICTURES)}


# --- values -----------------------------------------------------------------------------------

_YEARS = st.sampled_from([0, 1, 99, 999, 1000, 1899, 1900, 1999, 2000, 2023, 2024, 2100, 9999])
_PARTS = {
    "YYYY": _YEARS,
    "YY": st.integers(0, 99),
    "C": st.integers(0, 9),
    "MM": st.integers(0, 13),
    "DD": st.sampled_from([0, 1, 9, 10, 28, 29, 30, 31, 32]),
    "DDD": st.sampled_from([0, 1, 59, 60, 365, 366, 367, 999]),
    "HH": st.sampled_from([0, 9, 12, 23, 24, 25]),
    "MI": st.sampled_from([0, 30, 59, 60, 61]),
    "SS": st.sampled_from([0, 30, 59, 60, 61, 62]),
    "ffffff": st.integers(0, 999_999),
}
_SHAPES = {
    "YYYYMMDD": ["YYYY", "MM", "DD"],
    "YYMMDD": ["YY", "MM", "DD"],
    "CYYMMDD": ["C", "YY", "MM", "DD"],
    "YYDDD": ["YY", "DDD"],
    "YYYYDDD": ["YYYY", "DDD"],
    "YYYY-MM-DD": ["YYYY", "-", "MM", "-", "DD"],
    "YYYYMMDDHHMMSS": ["YYYY", "MM", "DD", "HH", "MI", "SS"],
    "YYYY-MM-DD HH:MM:SS": ["YYYY", "-", "MM", "-", "DD", " ", "HH", ":", "MI", ":", "SS"],
    "YYYY-MM-DD HH:MM:SS.ffffff": [
        *("YYYY", "-", "MM", "-", "DD", " ", "HH", ":", "MI", ":", "SS", ".", "ffffff")
    ],
    "YYYY-MM-DD-HH.MM.SS.ffffff": [
        *("YYYY", "-", "MM", "-", "DD", "-", "HH", ".", "MI", ".", "SS", ".", "ffffff")
    ],
}


@st.composite
def shaped(draw: Any, fmt: str) -> Any:
    """A value laid out like ``fmt`` (as text or as a number), its parts near their limits."""
    text = ""
    for part in _SHAPES[fmt]:
        if part in _PARTS:
            width = 2 if part in ("MI", "SS") else len(part)
            text += str(draw(_PARTS[part])).zfill(width)[-width:]
        else:
            text += part
    if text.isdigit() and draw(st.booleans()):
        return int(text)
    return draw(st.sampled_from(["", " ", "  "])) + text + draw(st.sampled_from(["", " "]))


def _decimal_with_exponent(digits: int, exponent: int) -> Decimal:
    return Decimal(digits).scaleb(exponent)


ODD_DECIMALS = [
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "-0",
    "-0.00",
    "0E-9",
    "1E+2",
    "1.2E+5",
    "1.20",
    "-0.000",
    "5E-7",
    "12.345",
]
TEXTS = st.text(alphabet="0123456789 -+.:AYNabE\u0661\uff11", max_size=12)

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.integers(-5, 200),
    st.builds(_decimal_with_exponent, st.integers(-(10**12), 10**12), st.integers(-9, 4)),
    st.sampled_from([Decimal(d) for d in ODD_DECIMALS]),
    st.floats(allow_nan=True),
    TEXTS,
    st.sampled_from(["Y", "N", " ", "", "A", "SN", "1", "01", " 2 ", "0229", "NONE", "000000"]),
    st.lists(st.integers(0, 3), max_size=2),
    st.builds(dict, a=st.integers(0, 2)),  # a fresh object each time: documents get edited
    st.sampled_from(sorted(_SHAPES)).flatmap(shaped),
)

SCALARS = st.one_of(
    st.integers(-3, 100),
    st.sampled_from(["", "0", "000000", " 1", "Y", "N", "A", "1e3", "NaN", "x", "00000"]),
    st.booleans(),
)


@st.composite
def specs(draw: Any) -> tuple[FieldSpec, str]:
    kind = draw(st.sampled_from(list(TargetType)))
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        extra["null_values"] = tuple(draw(st.lists(SCALARS, min_size=1, max_size=3)))
    if kind is TargetType.STRING:
        extra["trim"] = draw(st.sampled_from(["right", "both", "none"]))
    elif kind is TargetType.DECIMAL:
        extra["scale"] = draw(st.integers(0, 8))
        extra["precision"] = extra["scale"] + draw(st.integers(1, 20))
    elif kind is TargetType.DATE:
        extra["format"] = draw(st.sampled_from(DATE_FORMATS))
        extra["century_window"] = draw(st.one_of(st.none(), st.integers(0, 99)))
    elif kind is TargetType.TIMESTAMP:
        extra["format"] = draw(st.sampled_from(TIMESTAMP_FORMATS))
    elif kind is TargetType.BOOLEAN:
        extra["true_values"] = tuple(draw(st.lists(SCALARS, min_size=1, max_size=2)))
        extra["false_values"] = tuple(draw(st.lists(SCALARS, max_size=2)))
    elif kind is TargetType.ENUM:
        extra["values"] = tuple(
            EnumValue(
                f"T{i}",
                source=tuple(draw(st.lists(SCALARS, max_size=3))),
                ranges=tuple(draw(st.lists(st.tuples(SCALARS, SCALARS), max_size=1))),
            )
            for i in range(draw(st.integers(1, 3)))
        )
    spec = FieldSpec(source="R.F", target="f", type=kind, pointer="/fields/0", **extra)
    return spec, draw(st.sampled_from(PICTURES))


def _own_values(spec: FieldSpec) -> list[Any]:
    """The values a spec names (nulls, enum and boolean sources, range ends) in the forms a
    decoder could give them, so that hits are drawn as often as misses."""
    named = [*spec.null_values, *spec.true_values, *spec.false_values]
    for ev in spec.values:
        named += [*ev.source, *(end for pair in ev.ranges for end in pair)]
    out: list[Any] = []
    for value in named:
        out.append(value)
        if isinstance(value, str):
            out += [f" {value} ", value + "  "]
            if value.strip().isdigit():
                out.append(int(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            out += [str(value), Decimal(value), Decimal(value).scaleb(-2).scaleb(2)]
    return out


def outcome(convert: Callable[[Any], Any], value: Any) -> tuple[Any, ...]:
    """What a converter does with a value: its result (type included) or how it fails."""
    try:
        result = convert(value)
    except ConversionError as exc:
        return ("fails", exc.rule, repr(exc.expected), str(exc))
    except Exception as exc:
        return ("raises", type(exc))
    return ("converts", type(result), repr(result))


# --- converters -------------------------------------------------------------------------------


@SETTINGS
@given(specs(), st.lists(values, min_size=1, max_size=6), st.data())
def test_converters_agree_with_the_reference(
    items: dict[str, Field],
    spec_pic: tuple[FieldSpec, str],
    inputs: list[Any],
    data: st.DataObject,
) -> None:
    spec, pic = spec_pic
    if spec.format in _SHAPES:
        inputs += data.draw(st.lists(shaped(spec.format), min_size=1, max_size=4))
    own = _own_values(spec)
    if own:
        inputs += data.draw(st.lists(st.sampled_from(own), min_size=1, max_size=4))
    reference = make_converter(spec, items[pic])
    fast = fast_converter(spec, items[pic])
    for value in inputs * 2:  # twice: a memoised answer must be the first one
        assert outcome(fast, value) == outcome(reference, value), (spec, pic, value)


_NULL_CASES = [
    (TargetType.STRING, {}),
    (TargetType.INTEGER, {}),
    (TargetType.DECIMAL, {"scale": 2, "precision": 9}),
    (TargetType.DATE, {"format": "YYYYMMDD"}),
    (TargetType.DATE, {"format": "YYMMDD", "century_window": 40}),
    (TargetType.TIMESTAMP, {"format": "YYYYMMDDHHMMSS"}),
    (TargetType.TIMESTAMP, {"format": "YYYY-MM-DD HH:MM:SS"}),
    (TargetType.ENUM, {"values": (EnumValue("T", source=("A", 1)),)}),
    (TargetType.BOOLEAN, {"true_values": ("Y", 1), "false_values": ("N", 2)}),
]


@pytest.mark.parametrize(("kind", "extra"), _NULL_CASES)
@pytest.mark.parametrize("pic", ["X(14)", "9(14)", "S9(5)V99 COMP-3"])
def test_null_values_of_every_type(
    items: dict[str, Field], kind: TargetType, extra: dict[str, Any], pic: str
) -> None:
    """Null values hit (as text, spaced text, int, Decimal) and missed, as the reference does."""
    nulls: tuple[Any, ...] = ("", "NONE", 0, "-1", Decimal("99.00"))
    spec = FieldSpec("R.F", "f", kind, "/fields/0", null_values=nulls, **extra)
    reference, fast = make_converter(spec, items[pic]), fast_converter(spec, items[pic])
    probes = ["", "  ", " NONE ", "NONE", 0, -1, 99, Decimal("0.00"), Decimal("-1"), "0", "A"]
    probes += [-5, 5, "Y", 1, 2, "20240229", 20240229, "2024-02-29 10:11:12", Decimal("99")]
    for value in probes:
        assert outcome(fast, value) == outcome(reference, value), value
    assert fast("") is None if not is_numeric(items[pic]) else fast(0) is None


@pytest.mark.parametrize("fmt", DATE_FORMATS)
@pytest.mark.parametrize("window", [None, 50])
def test_every_day_of_a_leap_and_an_ordinary_year(
    items: dict[str, Field], fmt: str, window: int | None
) -> None:
    """Exhaustive over the day part: every MMDD/DDD of years 2000, 2023 and 1900."""
    spec = FieldSpec("R.F", "f", TargetType.DATE, "/fields/0", format=fmt, century_window=window)
    for pic in ("9(8)", "X(8)"):
        reference, fast = make_converter(spec, items[pic]), fast_converter(spec, items[pic])
        for year in (2000, 2023, 1900):
            for day in range(0, 1400):
                text = _date_text(fmt, year, day)
                for value in (text, int(text) if text.isdigit() else text):
                    assert outcome(fast, value) == outcome(reference, value), (fmt, value)


def _date_text(fmt: str, year: int, day: int) -> str:
    if fmt.endswith("DDD"):
        return f"{year % 100:02d}{day % 1000:03d}" if fmt == "YYDDD" else f"{year}{day:03d}"
    mmdd = f"{day:04d}"
    if fmt == "YYYY-MM-DD":
        return f"{year}-{mmdd[:2]}-{mmdd[2:]}"
    if fmt == "CYYMMDD":
        return f"{(year - 1900) // 100}{year % 100:02d}{mmdd}"
    return f"{year % 100:02d}{mmdd}" if fmt == "YYMMDD" else f"{year}{mmdd}"


@pytest.mark.parametrize("key_length", [32, 64, 65, 200])
@pytest.mark.parametrize("policy", [PiiPolicyKind.MASK, PiiPolicyKind.HASH])
def test_protectors_agree_with_the_reference(key_length: int, policy: PiiPolicyKind) -> None:
    key = bytes(range(7, 7 + key_length % 250)) * (key_length // 250 + 1)
    key = key[:key_length]
    for keep_last in (0, 2):
        pii = PiiPolicy(policy, keep_last=keep_last, mask_char="#")
        spec = FieldSpec("R.F", "f", TargetType.STRING, "/fields/0", pii=pii)
        reference, fast = make_protector(spec, key), fast_protector(spec, key)
        assert reference is not None and fast is not None
        for value in ["046454286", "", "é€𝄞", "A", True, 12, Decimal("-1.50"), None]:
            assert fast(value) == reference(value)
    if policy is PiiPolicyKind.HASH:
        expected = hmac.new(key, b"046454286", hashlib.sha256).hexdigest()
        assert fast is not None and fast("046454286") == expected


# --- whole records ----------------------------------------------------------------------------


def shape(value: Any) -> Any:
    """A value with its types and its objects' key order spelled out, for exact comparison."""
    if isinstance(value, dict):
        return ("dict", tuple((k, shape(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(shape(v) for v in value))
    return (type(value).__name__, repr(value))


def result(apply: Callable[[Any], Applied], doc: Any) -> Any:
    """Both events and the violations, exactly; or the exception a value makes the walk raise
    (a decimal too wide for the exact context raises in the reference too)."""
    try:
        applied = apply(doc)
    except Exception as exc:
        return ("raises", type(exc))
    violations = [tuple(shape(getattr(v, f.name)) for f in fields(v)) for v in applied.violations]
    return shape(applied.clear), shape(applied.event), violations


def same_result(mapper: Mapper, doc: Any) -> None:
    assert result(mapper.apply, doc) == result(mapper.apply_reference, doc)


class Frozen(Mapping[str, Any]):
    """A mapping that is not a dict: the walk must read it as paths.lookup does."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class Sub(dict[str, Any]):
    """A dict subclass (table elements are walked into when they are dicts of any kind)."""


def _places(doc: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key chain (and list index) into a document."""
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    )
    for key, child in items:
        yield (*here, key)
        yield from _places(child, (*here, key))


@st.composite
def damaged(draw: Any, base: Callable[[], dict[str, Any]]) -> Any:
    """A document with some of its values replaced, removed or rewrapped."""
    doc = base()
    for _ in range(draw(st.integers(0, 4))):
        places = list(_places(doc))
        if not places:
            break
        place = draw(st.sampled_from(places))
        parent = doc
        for step in place[:-1]:
            parent = parent[step]
        last = place[-1]
        action = draw(st.sampled_from(["value", "value", "drop", "wrap", "sub"]))
        if action == "drop" and isinstance(parent, dict):
            del parent[last]
        elif action == "wrap" and isinstance(parent[last], dict):
            parent[last] = Frozen(parent[last])
        elif action == "sub" and isinstance(parent[last], dict):
            parent[last] = Sub(parent[last])
        else:
            parent[last] = draw(values)
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([Frozen(doc), Sub(doc), [doc], None]))
    return doc


@pytest.fixture(scope="module")
def acct_mapper(acct_mapping: MappingDoc, acct_layouts: tuple[Layout, ...]) -> Mapper:
    return Mapper(acct_mapping, acct_layouts, pii_key=b"k" * 32)


@SETTINGS
@given(damaged(acct_values))
def test_acctmast_records_map_as_the_reference_maps_them(acct_mapper: Mapper, doc: Any) -> None:
    same_result(acct_mapper, doc)


SYNTHETIC = """\
       01  R.
           05  G1.
               10  A-TEXT     PIC X(6).
               10  A-NUM      PIC S9(5)V99 COMP-3.
               10  G2.
                   15  A-DATE PIC 9(8).
               10  A-CODE     PIC 9(3).
           05  T OCCURS 3 TIMES.
               10  T-AMT      PIC S9(3)V99.
               10  T-CODE     PIC X(2) OCCURS 2 TIMES.
               10  T-INNER.
                   15  T-DAY  PIC 9(5).
           05  E-LIST         PIC 9(3) OCCURS 4 TIMES.
           05  FLAG           PIC X.
               88  FLAG-YES   VALUE 'Y'.
               88  FLAG-NO    VALUE 'N'.
           05  KIND           PIC 9.
               88  KIND-LOW   VALUE 1 THRU 3.
               88  KIND-HIGH  VALUE 4 5.
           05  ACTIVE         PIC X.
           05  OPENED         PIC S9(7) COMP-3.
           05  STAMP          PIC 9(14).
           05  TS             PIC X(26).
"""
_EDITS: dict[str, dict[str, Any]] = {
    "R.G1.A-TEXT": {
        "target": "g.text",
        "trim": "both",
        "null_values": ["", "NONE"],
        "classification": "pii",
        "pii": {"policy": "mask", "keep_last": 2, "mask_char": "#"},
    },
    "R.G1.A-NUM": {"target": "g.num", "null_values": [0]},
    "R.G1.G2.A-DATE": {
        "target": "deep.inner.date",
        "type": "date",
        "format": "YYYYMMDD",
        "null_values": [0, 99999999],
    },
    "R.G1.A-CODE": {
        "type": "string",
        "null_values": [0],
        "maxLength": 3,
        "classification": "pii",
        "pii": {"policy": "mask", "keep_last": 1},
    },
    "R.T.T-CODE": {"classification": "pii", "pii": {"policy": "hash"}},
    "R.T.T-INNER.T-DAY": {"type": "date", "format": "YYDDD", "century_window": 50},
    "R.E-LIST": {"null_values": [999]},
    "R.ACTIVE": {"type": "boolean", "true": ["Y"], "false": ["N", ""]},
    "R.OPENED": {"type": "date", "format": "CYYMMDD", "null_values": [0]},
    "R.STAMP": {"type": "timestamp", "format": "YYYYMMDDHHMMSS"},
    "R.TS": {"type": "timestamp", "format": "YYYY-MM-DD-HH.MM.SS.ffffff"},
}


def _synthetic_values() -> dict[str, Any]:
    row = {"T-AMT": Decimal("1.50"), "T-CODE": ["AB", "C"], "T-INNER": {"T-DAY": 24366}}
    return {
        "G1": {
            "A-TEXT": " hello",
            "A-NUM": Decimal("-12.30"),
            "G2": {"A-DATE": 20240229},
            "A-CODE": 7,
        },
        "T": [dict(row, **{"T-CODE": ["AB", "C"]}) for _ in range(3)],
        "E-LIST": [1, 999, 20, 3],
        "FLAG": "Y",
        "KIND": 4,
        "ACTIVE": "N",
        "OPENED": 1240101,
        "STAMP": 20240229235959,
        "TS": "2026-11-24-09.15.02.123456",
    }


@pytest.fixture(scope="module")
def synthetic_mapper() -> Mapper:
    layouts = compile_text(SYNTHETIC, "R")
    doc = default_mapping(layouts, "t.cpy", name="t")
    for entry in doc["fields"]:
        entry.update(_EDITS.get(entry["source"], {}))
        if entry["type"] != "string":
            entry.pop("maxLength", None)
    doc["pii_key"] = {"env": "UNUSED_PII_KEY", "key_id": "test"}
    return Mapper(parse_mapping(doc), layouts, pii_key=b"s" * 48)


def test_synthetic_base_record_converts(synthetic_mapper: Mapper) -> None:
    applied = synthetic_mapper.apply(_synthetic_values())
    assert applied.violations == []
    assert applied.event["deep"] == {"inner": {"date": "2024-02-29"}}
    assert applied.event["g"]["text"] == "###lo"
    assert applied.event["eList"] == [1, None, 20, 3]
    assert applied.event["t"][0]["tDay"] == "2024-12-31"
    assert applied.event["stamp"] == "2024-02-29T23:59:59"
    same_result(synthetic_mapper, _synthetic_values())


@SETTINGS
@given(damaged(_synthetic_values))
def test_synthetic_records_map_as_the_reference_maps_them(
    synthetic_mapper: Mapper, doc: Any
) -> None:
    same_result(synthetic_mapper, doc)


def test_default_mapping_maps_as_the_reference() -> None:
    """A default mapping (every field as the copybook types it) agrees too."""
    mapping, layouts = mapping_for(SYNTHETIC)
    mapper = Mapper(mapping, layouts)
    same_result(mapper, _synthetic_values())


def test_message_keys_per_mapping(acct_mapping: MappingDoc) -> None:
    """Key paths are kept per mapping object: another mapping gets its own, never a stale one."""
    event = {"branch": "00123", "accountNumber": 4567890123, "customer": {"id": True}}
    assert message_key(acct_mapping, event) == "00123-4567890123"
    assert message_key(acct_mapping, event, "redis") == "acct:00123-4567890123"
    assert message_key(acct_mapping, {"branch": None}) == "-"
    other = replace(
        acct_mapping,
        keys=replace(acct_mapping.keys, kafka=("ACCT-MASTER-REC.AM-CUSTOMER.AM-CUST-ID",)),
    )
    assert message_key(other, event) == "true"
    assert message_key(other, Frozen(event)) == "true"
    assert (
        message_key(replace(acct_mapping, keys=replace(acct_mapping.keys, kafka=())), event) is None
    )
    assert message_key(acct_mapping, event) == "00123-4567890123"
