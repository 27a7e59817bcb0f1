"""Real z/OS data (../shared/realdata): every record decodes, field for field, to what an
independent rendering of the same bytes says.

CardDemo: each ASCII line is the record translated byte by byte, so a text field equals the
substring at its offset and a zoned number equals the substring with its overpunch decoded.
DTAR020: a tab-separated rendering of every record (COMP-3 fields printed as numbers).

Every decoder runs the same checks: add one to ``DECODERS`` (a function
``(layout, record_bytes, options) -> dict`` returning ``decode_to_dict``'s shape: numbers as
int/Decimal, so a JSON-producing decoder parses with ``parse_float=Decimal``).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from bridge.cli import main
from bridge.copybook.layout import Category, Field, Layout, Usage
from bridge.decode.native import NativeDecoder
from bridge.decode.reference import decode_record, decode_to_dict
from bridge.decode.verdict import DecodeOptions

compiler = pytest.importorskip("bridge.copybook.compiler")

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
CARDDEMO = REALDATA / "carddemo"
DTAR020 = REALDATA / "dtar020"


Decoder = Callable[[Layout, bytes, DecodeOptions], dict[str, Any]]


def _reference(layout: Layout, record: bytes, options: DecodeOptions) -> dict[str, Any]:
    return decode_to_dict(layout, record, options=options)


DECODERS: dict[str, Decoder] = {"reference": _reference}


@pytest.fixture(params=sorted(DECODERS))
def decoder(request: pytest.FixtureRequest) -> Decoder:
    return DECODERS[request.param]


class DataFile(NamedTuple):
    name: str
    copybook: str
    lrecl: int
    records: int
    rendering: str | None
    drift: set[int]  # record indexes known to differ (README)


CARDDEMO_FILES = [
    DataFile(*row)
    for row in [
        ("ACCTDATA", "CVACT01Y", 300, 50, "acctdata.txt", {48}),
        ("CARDDATA", "CVACT02Y", 150, 50, "carddata.txt", set()),
        ("CARDXREF", "CVACT03Y", 50, 50, "cardxref.txt", set()),
        ("CUSTDATA", "CVCUS01Y", 500, 50, "custdata.txt", set()),
        ("DALYTRAN", "CVTRA06Y", 350, 300, "dailytran.txt", set()),
        ("DALYTRAN", "CVTRA05Y", 350, 300, "dailytran.txt", set()),
        ("DISCGRP", "CVTRA02Y", 50, 51, "discgrp.txt", {33}),
        ("TCATBALF", "CVTRA01Y", 50, 50, "tcatbal.txt", set()),
        ("TRANCATG", "CVTRA04Y", 60, 18, "trancatg.txt", set()),
        ("TRANTYPE", "CVTRA03Y", 60, 7, "trantype.txt", set()),
        ("USRSEC", "CSUSR01Y", 80, 10, None, set()),
    ]
]

_OVERPUNCH = {c: (d, False) for d, c in enumerate("{ABCDEFGHI")} | {
    c: (d, True) for d, c in enumerate("}JKLMNOPQR")
}


def _layout(copybook: Path) -> Layout:
    (layout,) = compiler.compile_copybook(copybook)
    assert isinstance(layout, Layout)
    return layout


def _records(path: Path, lrecl: int) -> list[bytes]:
    data = path.read_bytes()
    assert len(data) % lrecl == 0, f"{path.name}: {len(data)} bytes is not a multiple of {lrecl}"
    return [data[i : i + lrecl] for i in range(0, len(data), lrecl)]


def _lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("latin-1")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _leaves(field: Field) -> Iterator[Field]:
    if field.is_filler or field.redefines is not None or field.level in (66, 88):
        return
    assert field.occurs is None, "the real-data copybooks have no tables"
    if field.is_group:
        for child in field.children:
            yield from _leaves(child)
    else:
        yield field


def _value(document: dict[str, Any], layout: Layout, field: Field) -> Any:
    node: Any = document
    for name in field.path.split(".")[1:]:
        node = node[name]
    return node


def _zoned_text(field: Field, text: str) -> Decimal:
    """The number a zoned field's ASCII rendering shows (overpunch in the last position)."""
    negative = False
    if field.signed:
        last = text[-1]
        digit, negative = _OVERPUNCH[last] if last in _OVERPUNCH else (int(last), False)
        text = text[:-1] + str(digit)
    n = int(text)
    return Decimal(f"{-n if negative else n}E{-(field.scale or 0)}")


def _check_record(layout: Layout, document: dict[str, Any], line: str, where: str) -> int:
    checked = 0
    for field in _leaves(layout.root):
        if field.offset >= len(line):  # cardxref.txt lines stop after the last named field
            continue
        text = line[field.offset : field.offset + field.length]
        value = _value(document, layout, field)
        label = f"{where} {field.path} at {field.offset}: {text!r}"
        if field.category is Category.NUMERIC and field.usage is Usage.DISPLAY:
            expected = _zoned_text(field, text)
            assert value == expected, label
            assert isinstance(value, int) == (not field.scale), label
            if field.scale:
                assert value.as_tuple().exponent == -field.scale, label
        else:
            assert field.category in (Category.ALPHANUMERIC, Category.ALPHABETIC), label
            assert value == text.rstrip(" "), label
        checked += 1
    return checked


@pytest.mark.parametrize(
    "case", CARDDEMO_FILES, ids=[f"{f.name}-{f.copybook}" for f in CARDDEMO_FILES]
)
def test_carddemo_matches_its_rendering(decoder: Decoder, case: DataFile) -> None:
    name, copybook, lrecl, count, rendering, drift = case
    layout = _layout(CARDDEMO / "cpy" / f"{copybook}.cpy")
    assert layout.record_length == lrecl
    records = _records(CARDDEMO / "ebcdic" / f"AWS.M2.CARDDEMO.{name}.PS", lrecl)
    assert len(records) == count
    options = DecodeOptions(codepage="cp037")
    lines = _lines(CARDDEMO / "ascii" / rendering) if rendering else None
    if lines is not None:
        assert len(lines) == count
    checked = 0
    for index, record in enumerate(records):
        verdict = decode_record(layout, record, options=options, record_number=index)
        assert verdict.valid, (index, verdict.errors)
        document = decoder(layout, record, options)
        if lines is not None and index not in drift:
            checked += _check_record(layout, document, lines[index], f"{name}[{index}]")
    if lines is not None:
        assert checked > 0


@pytest.mark.parametrize(
    "case",
    [f for f in CARDDEMO_FILES if f.rendering],
    ids=[f"{f.name}-{f.copybook}" for f in CARDDEMO_FILES if f.rendering],
)
def test_carddemo_ascii_rendering_decodes_as_its_ebcdic_file(case: DataFile) -> None:
    """Each rendering is its file converted to ASCII as text, overpunched signs included: read
    as an ASCII file (bridge/decode/zoned.py), it decodes to the EBCDIC file's documents."""
    name, copybook, lrecl, count, rendering, drift = case
    assert rendering is not None
    layout = _layout(CARDDEMO / "cpy" / f"{copybook}.cpy")
    records = _records(CARDDEMO / "ebcdic" / f"AWS.M2.CARDDEMO.{name}.PS", lrecl)
    ebcdic = NativeDecoder(layout, DecodeOptions(codepage="cp037"))
    ascii_options = DecodeOptions(codepage="latin-1")
    native = NativeDecoder(layout, ascii_options)
    signed = [f for f in _leaves(layout.root) if f.signed and f.category is Category.NUMERIC]
    overpunched = 0
    lines = _lines(CARDDEMO / "ascii" / rendering)
    assert len(lines) == len(records) == count
    for index, line in enumerate(lines):
        if index in drift:
            continue
        # cardxref.txt stops after the last named field: the trailing FILLER was spaces.
        record = line.encode("latin-1").ljust(lrecl, b" ")
        want = ebcdic.decode(records[index])
        got = native.decode(record)
        assert got.errors == (), (name, index, got.errors)
        assert got.document == want.document, (name, index)
        assert decode_record(layout, record, options=ascii_options).document == want.document
        overpunched += sum(line[f.offset + f.length - 1] in _OVERPUNCH for f in signed)
    assert overpunched > 0 or not signed


@pytest.mark.parametrize(
    "case",
    [f for f in CARDDEMO_FILES if f.rendering],
    ids=[f"{f.name}-{f.copybook}" for f in CARDDEMO_FILES if f.rendering],
)
def test_carddemo_ascii_rendering_decodes_with_lines_framing(
    case: DataFile, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """The renderings as they are, LINE SEQUENTIAL text (LF or CR LF, cardxref.txt trimmed to
    its last named field): framed as lines and decoded as latin-1, natively and by the CLI,
    every record gives the EBCDIC file's document."""
    name, copybook, lrecl, count, rendering, drift = case
    assert rendering is not None
    cpy = CARDDEMO / "cpy" / f"{copybook}.cpy"
    text = CARDDEMO / "ascii" / rendering
    layout = _layout(cpy)
    ebcdic = NativeDecoder(layout, DecodeOptions(codepage="cp037"))
    records = _records(CARDDEMO / "ebcdic" / f"AWS.M2.CARDDEMO.{name}.PS", lrecl)
    want = [ebcdic.decode(r).document for r in records]
    lines = text.read_bytes().split(b"\n")[:-1]
    starts = [sum(len(line) + 1 for line in lines[:i]) for i in range(len(lines))]
    native = NativeDecoder(layout, DecodeOptions(codepage="latin-1"))
    results = [r for b in native.decode_file(text, "lines", batch_records=7) for r in b.results()]
    assert [r.offset for r in results] == starts
    assert [r.length for r in results] == [len(line.removesuffix(b"\r")) for line in lines]
    code = main(["decode", str(cpy), str(text), "--framing", "lines", "--codepage", "latin-1"])
    out = capsysbinary.readouterr().out.splitlines()
    assert code == 0
    assert len(results) == len(out) == count
    for index, (result, document) in enumerate(zip(results, out, strict=True)):
        if index in drift:
            continue
        assert result.errors == (), (name, index, result.errors)
        assert result.document == document == want[index], (name, index)


def test_the_known_drift_is_real() -> None:
    """The excluded records really differ, and only in the fields the README names."""
    acct = _layout(CARDDEMO / "cpy" / "CVACT01Y.cpy")
    record = _records(CARDDEMO / "ebcdic" / "AWS.M2.CARDDEMO.ACCTDATA.PS", 300)[48]
    assert decode_to_dict(acct, record)["ACCT-ADDR-ZIP"] == "ZEROAPR"
    disc = _layout(CARDDEMO / "cpy" / "CVTRA02Y.cpy")
    record = _records(CARDDEMO / "ebcdic" / "AWS.M2.CARDDEMO.DISCGRP.PS", 50)[33]
    assert decode_to_dict(disc, record)["DIS-INT-RATE"] == Decimal("15.00")


def test_dailytran_signs() -> None:
    layout = _layout(CARDDEMO / "cpy" / "CVTRA06Y.cpy")
    records = _records(CARDDEMO / "ebcdic" / "AWS.M2.CARDDEMO.DALYTRAN.PS", 350)
    amounts = [decode_to_dict(layout, r)["DALYTRAN-AMT"] for r in records]
    assert sum(a > 0 for a in amounts) == 250 and sum(a < 0 for a in amounts) == 50


def test_dtar020_matches_its_csv(decoder: Decoder) -> None:
    layout = _layout(DTAR020 / "DTAR020.cbl")
    assert layout.record_length == 27
    records = _records(DTAR020 / "DTAR020.bin", 27)
    with (DTAR020 / "DTAR020.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(records) == len(rows) == 379
    options = DecodeOptions(codepage="cp037")
    for index, (record, row) in enumerate(zip(records, rows, strict=True)):
        assert decode_record(layout, record, options=options).valid, index
        values = decoder(layout, record, options)
        key = values["DTAR020-KCODE-STORE-KEY"]
        got = {
            "keycode-no": key["DTAR020-KEYCODE-NO"],
            "Store-No": key["DTAR020-STORE-NO"],
            "Date": values["DTAR020-DATE"],
            "Dept-No": values["DTAR020-DEPT-NO"],
            "Qty-Sold": values["DTAR020-QTY-SOLD"],
            "Sale-Price": values["DTAR020-SALE-PRICE"],
        }
        expected = {k: (v if k == "keycode-no" else Decimal(v)) for k, v in row.items()}
        assert got == expected, index
        assert str(got["Sale-Price"]) == row["Sale-Price"], index  # the exact scale
