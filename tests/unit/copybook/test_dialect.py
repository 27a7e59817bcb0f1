"""--dialect ibm|gnucobol|microfocus: what each accepts, how it sizes binary items, and that the
dialect is part of the layout document and (when not IBM) of its fingerprint."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.copybook.compiler import compile_text
from bridge.copybook.dialect import DIALECTS
from bridge.copybook.layout import Layout
from bridge.decode.encoder import encode_record
from bridge.decode.native import NativeDecoder
from bridge.decode.reference import decode_to_dict
from bridge.decode.verdict import DecodeOptions
from bridge.errors import CopybookError, Diagnostic

from .conftest import fixed

NON_IBM = """
01 REC.
   05 BIG      PIC S9(38).
   05 BIGP     PIC S9(38) COMP-3.
   05 B1       PIC S99 COMP.
   05 B2       PIC 9(7) COMP.
   05 B3       PIC S9(7) COMP.
   05 B4       PIC S9(20) COMP.
   05 B5       PIC 9(38) BINARY.
   05 C0       PIC S9(4) COMP-0.
   05 ED       PIC S9(5).99.
   05 UNS      PIC 9(3) SIGN LEADING SEPARATE.
"""


def spans(layout: Layout) -> dict[str, tuple[int, int]]:
    return {f.name: (f.offset, f.length) for f in layout.fields()}


def test_ibm_refuses_each_extension_with_a_hint() -> None:
    with pytest.raises(CopybookError) as info:
        compile_text(fixed(NON_IBM))
    found = {(d.line, d.message) for d in info.value.diagnostics}
    hint = "(--dialect gnucobol or microfocus accept it)"
    assert (2, f"bad PICTURE: more than 31 digits {hint}") in found
    assert (3, f"bad PICTURE: more than 31 digits {hint}") in found
    binary = "binary items hold at most 18 digits (--dialect gnucobol or microfocus: 38)"
    assert (7, binary) in found
    assert (8, f"bad PICTURE: more than 31 digits {hint}") in found
    assert (9, "USAGE COMP-0 is not IBM's: use --dialect gnucobol or microfocus") in found
    assert (10, f"bad PICTURE: 'S' cannot be used in a numeric-edited PICTURE {hint}") in found
    assert (11, "SIGN needs a signed numeric DISPLAY item (PIC S9...)") in found


def test_gnucobol_layout() -> None:
    warnings: list[Diagnostic] = []
    (layout,) = compile_text(fixed(NON_IBM), dialect="gnucobol", warnings=warnings)
    # binary-size 1-2-4-8, and 16 bytes for 19-38 digits (GnuCOBOL's compute_binary_size).
    assert spans(layout) == {
        "REC": (0, 112),
        "BIG": (0, 38),
        "BIGP": (38, 20),
        "B1": (58, 1),
        "B2": (59, 4),
        "B3": (63, 4),
        "B4": (67, 16),
        "B5": (83, 16),
        "C0": (99, 2),
        "ED": (101, 8),
        "UNS": (109, 3),
    }
    assert layout.field("REC.ED").category.value == "numeric-edited"
    (w,) = warnings
    assert w.line == 11 and "SIGN on UNS, whose PICTURE has no S: no effect" in w.message


def test_microfocus_layout() -> None:
    (layout,) = compile_text(fixed(NON_IBM), dialect="microfocus", warnings=[])
    # binary-size 1--8: the fewest bytes holding every value of the PICTURE.
    assert {k: v for k, v in spans(layout).items() if k.startswith(("B", "C"))} == {
        "BIG": (0, 38),
        "BIGP": (38, 20),
        "B1": (58, 1),
        "B2": (59, 3),  # 9999999 < 2**24
        "B3": (62, 4),  # -9999999 needs a sign bit too
        "B4": (66, 9),
        "B5": (75, 16),
        "C0": (91, 2),
    }


@pytest.mark.parametrize(
    ("dialect", "signed", "sizes"),
    [
        ("ibm", True, {1: 2, 4: 2, 5: 4, 9: 4, 10: 8, 18: 8}),
        ("gnucobol", True, {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 9: 4, 10: 8, 18: 8, 19: 16, 38: 16}),
        # GnuCOBOL's table for binary-size 1--8 (config/mf.conf), signed and unsigned.
        ("microfocus", True, {2: 1, 4: 2, 6: 3, 7: 4, 9: 4, 11: 5, 12: 6, 14: 6, 16: 7, 18: 8}),
        ("microfocus", False, {2: 1, 4: 2, 7: 3, 8: 4, 12: 5, 13: 6, 16: 7, 18: 8, 19: 8}),
        ("microfocus", True, {19: 9, 21: 9, 22: 10, 38: 16}),
    ],
)
def test_binary_sizes(dialect: str, signed: bool, sizes: dict[int, int]) -> None:
    assert {d: DIALECTS[dialect].binary_size(d, signed) for d in sizes} == sizes


def test_dialect_is_in_the_document_and_the_fingerprint() -> None:
    text = fixed("01 R.\n   05 A PIC S9(4) COMP.")
    (ibm,) = compile_text(text)
    (gnu,) = compile_text(text, dialect="gnucobol")
    (mf,) = compile_text(text, dialect="microfocus")
    assert ibm.to_json()["dialect"] == "ibm" and gnu.to_json()["dialect"] == "gnucobol"
    assert len({ibm.fingerprint, gnu.fingerprint, mf.fingerprint}) == 3
    # An IBM layout keeps the fingerprint it had before dialects existed.
    canonical = {
        "record_length": ibm.record_length,
        "min_length": ibm.min_length,
        "fields": [f.to_json() for f in ibm.fields()],
    }
    text_form = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    assert ibm.fingerprint == hashlib.sha256(text_form.encode()).hexdigest()


VALUES = {
    "BIG": -12345678901234567890123456789012345678,
    "BIGP": 98765432109876543210987654321098765432,
    "B1": -12,
    "B2": 9999999,
    "B3": -9999999,
    "B4": -12345678901234567890,
    "B5": 99999999999999999999999999999999999999,
    "C0": -1234,
    "ED": Decimal("123.45"),
    "UNS": 123,
}


@pytest.mark.parametrize("dialect", ["gnucobol", "microfocus"])
def test_both_decoders_read_wide_items(dialect: str) -> None:
    (layout,) = compile_text(fixed(NON_IBM), dialect=dialect, warnings=[])
    record = encode_record(layout, VALUES)
    assert decode_to_dict(layout, record) == VALUES
    assert NativeDecoder(layout).decode_to_dict(record) == VALUES
    # TRUNC(STD): a 16-byte item holding more digits than its PICTURE is out of range, in both.
    b4 = layout.field("REC.B4")
    wide = bytearray(record)
    wide[b4.offset : b4.offset + b4.length] = (10**20).to_bytes(b4.length, "big", signed=True)
    options = DecodeOptions()
    native = NativeDecoder(layout, options).decode(bytes(wide))
    assert [e.path for e in native.errors] == ["REC.B4"]
    assert [e.reason.value for e in native.errors] == ["binary-out-of-range"]
    assert (
        NativeDecoder(layout, DecodeOptions(trunc="bin")).decode_to_dict(bytes(wide))["B4"]
        == decode_to_dict(layout, bytes(wide), options=DecodeOptions(trunc="bin"))["B4"]
    )


def test_cli_layout_and_decode_take_the_dialect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "wide.cpy"
    cpy.write_text(fixed(NON_IBM) + "\n")
    (layout,) = compile_text(fixed(NON_IBM), "wide", dialect="microfocus", warnings=[])
    data = tmp_path / "wide.dat"
    data.write_bytes(encode_record(layout, VALUES) * 2)
    assert main(["layout", str(cpy)]) == 3
    capsys.readouterr()
    assert main(["layout", str(cpy), "--dialect", "microfocus"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].endswith("dialect microfocus")
    assert "warning: SIGN on UNS" in err
    assert main(["decode", str(cpy), str(data), "--dialect", "microfocus"]) == 0
    out, err = capsys.readouterr()
    first = json.loads(out.splitlines()[0])
    assert first["B4"] == -12345678901234567890 and first["B5"] == VALUES["B5"]
    assert "2 records read = 2 valid + 0 rejected" in err


def test_mapping_records_the_dialect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cpy = tmp_path / "wide.cpy"
    cpy.write_text(fixed("01 R.\n   05 K PIC X(2).\n   05 N PIC S9(20) COMP.") + "\n")
    argv = ["mapping", "init", str(cpy), "--dialect", "gnucobol", "--relative-to", str(tmp_path)]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr()[0])
    assert doc["copybook"]["dialect"] == "gnucobol"
    (layout,) = compile_text(cpy.read_text(), "wide", dialect="gnucobol")
    assert doc["copybook"]["fingerprint"] == layout.fingerprint
    mapping = tmp_path / "wide.json"
    mapping.write_text(json.dumps(doc))
    assert main(["mapping", "check", str(mapping)]) == 0
    # Read as IBM, the copybook is refused: the mapping's dialect is what makes it compile.
    del doc["copybook"]["dialect"]
    mapping.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["mapping", "check", str(mapping)]) != 0
    assert "binary items hold at most 18 digits" in capsys.readouterr()[1]


def test_mapping_check_reports_what_the_compiler_accepted_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "signs.cpy"
    cpy.write_text(fixed("01 R.\n   05 U PIC 9(3) SIGN LEADING SEPARATE.") + "\n")
    argv = ["mapping", "init", str(cpy), "--dialect", "microfocus", "--relative-to", str(tmp_path)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert f"{cpy}:2:25: warning: SIGN on U" in err
    mapping = tmp_path / "signs.json"
    mapping.write_text(out)
    assert main(["mapping", "check", str(mapping)]) == 0
    err = capsys.readouterr()[1]
    assert f"warning: /copybook/path: {cpy}:2:25: SIGN on U, whose PICTURE has no S" in err
