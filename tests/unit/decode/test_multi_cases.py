"""Multi-layout cases: hex values, trimmed comparison, short names, candidates in errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.copybook.compiler import compile_text
from bridge.decode.multi import (
    MultiLayoutDecoder,
    MultiLayoutError,
    case_value,
    resolve_case,
    resolve_field,
)

# A type byte followed by X'00' padding: no printable text says which record this is.
COPYBOOK = """\
       01  REC-CLIENT.
           05  REC-KIND          PIC X(2).
           05  CLIENT-HEADER.
               10  CLIENT-ID     PIC 9(4).
           05  CLIENT-ALT REDEFINES CLIENT-HEADER.
               10  CLIENT-CODE   PIC X(4).
       01  REC-ORDER.
           05  REC-KIND          PIC X(2).
           05  ORDER-NO          PIC 9(4).
"""
LAYOUTS = compile_text(COPYBOOK, "TYPES")
CLIENT = b"\xc3\x00" + "0042".encode("cp037")
ORDER = b"\xd6\x40" + "0007".encode("cp037")
OTHER = b"\xc3\xc3" + "0001".encode("cp037")


def decoded(decoder: MultiLayoutDecoder, path: Path) -> list[bytes]:
    out: list[bytes] = []
    for batch in decoder.decode_file(path, "fixed"):
        out += batch.documents()
    return out


def test_case_values() -> None:
    assert case_value("H") == "H"
    assert case_value("x'C300'") == b"\xc3\x00" and case_value('X"d6"') == b"\xd6"
    assert case_value("xylophone") == "xylophone"
    with pytest.raises(MultiLayoutError, match="hex digits"):
        case_value("x'C3F'")


def test_hex_values_exact_and_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "types.dat"
    path.write_bytes(CLIENT + ORDER + OTHER)
    field = resolve_field(LAYOUTS, "REC-CLIENT.REC-KIND")
    client, order = resolve_case(LAYOUTS, "REC-CLIENT"), resolve_case(LAYOUTS, "REC-ORDER")
    exact = MultiLayoutDecoder(field, {b"\xc3\x00": client, b"\xd6\x40": order})
    docs = decoded(exact, path)
    assert json.loads(docs[1]) == {"REC-KIND": "O", "ORDER-NO": 7}
    assert json.loads(docs[0])["CLIENT-HEADER"] == {"CLIENT-ID": 42}
    assert docs[2] == b"null"  # X'C3C3' selects nothing
    # Trimmed: x'C3' matches C3 00 (and would match C3 40); text 'O' matches 'O '.
    trimmed = MultiLayoutDecoder(field, {b"\xc3": client, "O": order}, trimmed=True)
    docs = decoded(trimmed, path)
    assert json.loads(docs[0])["CLIENT-HEADER"] == {"CLIENT-ID": 42}
    assert json.loads(docs[1])["ORDER-NO"] == 7
    assert docs[2] == b"null"
    # Without trimming, a hex value must cover the whole field.
    with pytest.raises(MultiLayoutError, match=r"x'C3' is 1 byte\(s\), .* has 2: write all 2"):
        MultiLayoutDecoder(field, {b"\xc3": client})


def test_short_names_and_the_redefined_item() -> None:
    # CLIENT-ALT for REC-CLIENT.CLIENT-ALT; CLIENT-HEADER is the item CLIENT-ALT redefines.
    alt = resolve_case(LAYOUTS, "client-alt")
    assert alt.layout.name == "REC-CLIENT"
    assert alt.redefines == (("REC-CLIENT.CLIENT-HEADER", "REC-CLIENT.CLIENT-ALT"),)
    original = resolve_case(LAYOUTS, "CLIENT-HEADER")
    assert original.layout.name == "REC-CLIENT" and original.redefines == ()
    # REC-KIND is in both records at the same place: the discriminator may name it alone.
    assert resolve_field(LAYOUTS, "REC-KIND").offset == 0


def test_names_that_do_not_resolve_list_candidates() -> None:
    with pytest.raises(MultiLayoutError) as info:
        resolve_case(LAYOUTS, "CLIENT-HDR")
    assert "candidates: REC-CLIENT, REC-CLIENT.CLIENT-HEADER, REC-CLIENT.CLIENT-ALT" in str(
        info.value
    )
    with pytest.raises(MultiLayoutError, match="neither a record nor a REDEFINES"):
        resolve_case(LAYOUTS, "ORDER-NO")
    with pytest.raises(MultiLayoutError) as info:
        resolve_field(LAYOUTS, "KIND-OF-REC")
    assert "candidates: REC-CLIENT.REC-KIND, REC-ORDER.REC-KIND" in str(info.value)


def test_cli_hex_when_and_trim(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    cpy = tmp_path / "TYPES.cpy"
    cpy.write_text(COPYBOOK)
    data = tmp_path / "types.dat"
    data.write_bytes(CLIENT + ORDER + OTHER)
    argv = ["decode", str(cpy), str(data), "--discriminator", "REC-KIND"]
    code = main([*argv, "--when", "x'C3'=CLIENT-ALT", "--when", "O=REC-ORDER"])
    err = capsysbinary.readouterr().err.decode()
    assert code == 2 and "x'C3' is 1 byte(s)" in err and "compare trimmed values" in err
    code = main(
        [*argv, "--trim-discriminator", "--when", "x'C3'=CLIENT-ALT", "--when", "O=REC-ORDER"]
    )
    out, err_bytes = capsysbinary.readouterr()
    docs = [json.loads(line) for line in out.decode().splitlines()]
    assert docs[0]["CLIENT-ALT"] == {"CLIENT-CODE": "0042"}
    assert docs[1]["ORDER-NO"] == 7
    assert code == 1 and "3 records read = 2 valid + 1 rejected" in err_bytes.decode()
    assert "known: 'O', x'C3' (trimmed)" in err_bytes.decode()


def test_discriminator_in_a_record_prefix(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # An IMS-unload-like file: a 4-byte segment prefix ("SG" + segment code) before each record.
    cpy = tmp_path / "TYPES.cpy"
    cpy.write_text(COPYBOOK)
    data = tmp_path / "prefixed.dat"
    prefixes = ["SGC1", "SGO2", "SGX9"]
    records = [CLIENT, ORDER, OTHER]
    data.write_bytes(
        b"".join(p.encode("cp037") + r for p, r in zip(prefixes, records, strict=True))
    )
    errors = tmp_path / "rejects.jsonl"
    argv = ["decode", str(cpy), str(data), "--record-prefix", "4", "--errors", str(errors)]
    code = main(
        [*argv, "--discriminator-at", "2:1", "--when", "C=REC-CLIENT", "--when", "O=REC-ORDER"]
    )
    out = capsysbinary.readouterr().out.decode().splitlines()
    assert code == 1
    assert json.loads(out[0])["CLIENT-HEADER"] == {"CLIENT-ID": 42}
    assert json.loads(out[1]) == {"REC-KIND": "O", "ORDER-NO": 7}
    reject = json.loads(errors.read_text())
    assert reject["reasons"][0]["rule"] == "unknown-record-type"
    assert reject["reasons"][0]["raw"] == "e7"  # 'X', at byte 20 + 2 of the file
    assert reject["reasons"][0]["offset"] == 22
    # A place that straddles the prefix and the record: the segment code and REC-KIND's byte.
    code = main(
        [
            *argv,
            "--discriminator-at",
            "3:2",
            "--when",
            "x'F1C3'=REC-CLIENT",
            "--when",
            "x'F2D6'=REC-ORDER",
        ]
    )
    out = capsysbinary.readouterr().out.decode().splitlines()
    assert code == 1 and json.loads(out[1])["ORDER-NO"] == 7
    code = main([*argv, "--discriminator-at", "2", "--when", "C=REC-CLIENT"])
    assert code == 2 and "expected OFFSET:LENGTH" in capsysbinary.readouterr().err.decode()
