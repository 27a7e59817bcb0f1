"""``bridge decode`` end to end: outputs, verdicts, exit codes, framing, multi-layout files."""

from __future__ import annotations

import base64
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bridge.cli import main
from bridge.copybook.compiler import compile_copybook, compile_text
from bridge.decode.encoder import encode_record

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "realdata"
CARD = REAL / "carddemo"
DTAR = REAL / "dtar020"

MULTI = """\
       01  HEADER-REC.
           05  REC-TYPE        PIC X.
           05  RUN-DATE        PIC 9(8).
           05  FILLER          PIC X(11).
       01  DETAIL-REC.
           05  REC-TYPE        PIC X.
           05  ACCT-ID         PIC 9(6).
           05  AMOUNT          PIC S9(7)V99 COMP-3.
           05  FILLER          PIC X(8).
       01  TRAILER-REC.
           05  REC-TYPE        PIC X.
           05  REC-COUNT       PIC 9(5) COMP.
           05  BODY            PIC X(15).
           05  BODY-NUM REDEFINES BODY.
               10  CHECKSUM    PIC 9(15).
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[bytes]) -> tuple[int, list[str], str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out.decode().splitlines(), captured.err.decode()


def test_carddemo_account_file(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, err = run(
        [
            "decode",
            str(CARD / "cpy/CVACT01Y.cpy"),
            str(CARD / "ebcdic/AWS.M2.CARDDEMO.ACCTDATA.PS"),
        ],
        capsysbinary,
    )
    assert code == 0
    assert len(out) == 50
    first = json.loads(out[0], parse_float=Decimal)
    assert first["ACCT-ID"] == 1
    assert first["ACCT-CURR-BAL"] == Decimal("194.00")
    assert "50 records read = 50 valid + 0 rejected" in err


def test_skip_limit_and_reference_agree(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    args = [
        "decode",
        str(CARD / "cpy/CVTRA06Y.cpy"),
        str(CARD / "ebcdic/AWS.M2.CARDDEMO.DALYTRAN.PS"),
        "--skip",
        "7",
        "--limit",
        "20",
    ]
    code, native, err = run(args, capsysbinary)
    assert code == 0
    assert len(native) == 20
    assert "20 records read" in err
    code, reference, _ = run([*args, "--reference"], capsysbinary)
    assert code == 0
    assert native == reference
    everything = run(args[:3], capsysbinary)[1]
    assert native == everything[7:27]


def _corrupt_dtar(tmp_path: Path) -> Path:
    data = bytearray((DTAR / "DTAR020.bin").read_bytes())
    # Record 3 (27 bytes each): DTAR020-QTY-SOLD is packed at offset 16 (8 + 2 + 4 + 2), 5
    # bytes; its sign nibble becomes 7, which no packed sign is.
    data[3 * 27 + 20] = (data[3 * 27 + 20] & 0xF0) | 0x7
    path = tmp_path / "dtar020-bad.bin"
    path.write_bytes(data)
    return path


def test_rejected_record_reported_with_its_reasons(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    bad = _corrupt_dtar(tmp_path)
    errors = tmp_path / "rejects.jsonl"
    code, out, err = run(
        ["decode", str(DTAR / "DTAR020.cbl"), str(bad), "--errors", str(errors)], capsysbinary
    )
    assert code == 1
    assert len(out) == 378
    assert "379 records read = 378 valid + 1 rejected" in err
    [line] = errors.read_text().splitlines()
    reject = json.loads(line)
    assert reject["stage"] == "decode"
    assert reject["record"]["number"] == 3
    assert reject["record"]["offset"] == 81
    assert base64.b64decode(reject["record"]["raw_base64"]) == bad.read_bytes()[81:108]
    assert reject["source"]["sha256"] == hashlib.sha256(bad.read_bytes()).hexdigest()
    [field] = reject["reasons"]
    assert field["path"] == "DTAR020.DTAR020-QTY-SOLD"
    assert field["offset"] == 81 + 16
    assert field["rule"] == "bad-packed-sign"
    assert field["raw"] == bad.read_bytes()[97:102].hex()
    jsonschema.validate(reject, json.loads((ROOT / "schemas/audit-record.schema.json").read_text()))


def test_partial_record_is_fatal_with_offset(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    cut = tmp_path / "cut.bin"
    cut.write_bytes((DTAR / "DTAR020.bin").read_bytes()[: 27 * 10 + 5])
    errors = tmp_path / "rejects.jsonl"
    code, out, err = run(
        ["decode", str(DTAR / "DTAR020.cbl"), str(cut), "--errors", str(errors)], capsysbinary
    )
    assert code == 5
    assert "270" in err  # where the partial record starts
    # A fixed file that does not fit its LRECL is refused whole, before any record is
    # published (a cut transfer), and the refusal is itself an audit document.
    assert out == []
    assert "1 records read = 0 valid + 1 rejected" in err
    reject = json.loads(errors.read_text())
    assert reject["stage"] == "framing"
    assert reject["record"]["number"] == 0
    assert base64.b64decode(reject["record"]["raw_base64"]) == cut.read_bytes()
    assert reject["reasons"][0]["offset"] == 270
    assert "cut off" in reject["reasons"][0]["message"]


def test_broken_rdw_keeps_records_before_it(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    raw = (DTAR / "DTAR020.bin").read_bytes()
    records = [raw[i : i + 27] for i in range(0, 27 * 5, 27)]
    good = b"".join((len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in records)
    path = tmp_path / "broken.rdw"
    path.write_bytes(good + b"\x00\x1f\x01\x00" + raw[:27])  # bytes 2-3 of an RDW are zero
    errors = tmp_path / "rejects.jsonl"
    code, out, err = run(
        [
            "decode",
            str(DTAR / "DTAR020.cbl"),
            str(path),
            "--framing",
            "rdw",
            "--errors",
            str(errors),
        ],
        capsysbinary,
    )
    assert code == 5
    assert len(out) == 5
    assert "6 records read = 5 valid + 1 rejected" in err
    reject = json.loads(errors.read_text())
    assert reject["stage"] == "framing"
    assert reject["record"]["number"] == 5
    assert reject["record"]["offset"] == len(good)
    assert reject["reasons"][0]["offset"] == len(good)


def test_missing_file_and_bad_copybook(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    code, _, err = run(["decode", str(DTAR / "DTAR020.cbl"), str(tmp_path / "nope")], capsysbinary)
    assert code == 4
    assert "no such file" in err
    broken = tmp_path / "broken.cpy"
    broken.write_text("       01  REC.\n           05  A  PIC X(3) USAGE WEIRD.\n")
    code, _, err = run(["decode", str(broken), str(DTAR / "DTAR020.bin")], capsysbinary)
    assert code == 3
    assert "broken.cpy:2:" in err


def test_hexdump_shows_field_boundaries(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, _ = run(
        ["decode", str(DTAR / "DTAR020.cbl"), str(DTAR / "DTAR020.bin"), "--hexdump", "1"],
        capsysbinary,
    )
    assert code == 0
    assert out[0].startswith("record at file offset 27, 27 bytes")
    qty = next(line for line in out if "DTAR020-QTY-SOLD" in line)
    assert qty.split()[:2] == ["16", "5"]
    assert qty.rstrip().endswith("-1")  # the CSV's second line sells -1


def test_rdw_framing(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    raw = (DTAR / "DTAR020.bin").read_bytes()
    records = [raw[i : i + 27] for i in range(0, len(raw), 27)]
    rdw = b"".join((len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in records)
    path = tmp_path / "dtar.rdw"
    path.write_bytes(rdw)
    code, out, _ = run(
        ["decode", str(DTAR / "DTAR020.cbl"), str(path), "--framing", "rdw"], capsysbinary
    )
    assert code == 0
    fixed = run(["decode", str(DTAR / "DTAR020.cbl"), str(DTAR / "DTAR020.bin")], capsysbinary)[1]
    assert out == fixed


def _multi_file(tmp_path: Path) -> tuple[Path, Path]:
    cpy = tmp_path / "MULTI.cpy"
    cpy.write_text(MULTI)
    header, detail, trailer = compile_text(MULTI, "MULTI")
    recs = [encode_record(header, {"REC-TYPE": "H", "RUN-DATE": 20261126})]
    for i in range(5):
        recs.append(
            encode_record(detail, {"REC-TYPE": "D", "ACCT-ID": i, "AMOUNT": Decimal(i) / 4})
        )
    recs.append(b"\xe7" + recs[1][1:])  # type X: no such record type
    recs.append(encode_record(trailer, {"REC-TYPE": "T", "REC-COUNT": 6, "BODY": "0" * 15}))
    data = tmp_path / "multi.dat"
    data.write_bytes(b"".join(recs))
    return cpy, data


def test_multi_layout_by_discriminator(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    cpy, data = _multi_file(tmp_path)
    assert {lay.record_length for lay in compile_copybook(cpy)} == {20}
    errors = tmp_path / "rejects.jsonl"
    code, out, err = run(
        [
            "decode",
            str(cpy),
            str(data),
            "--discriminator",
            "HEADER-REC.REC-TYPE",
            "--when",
            "H=HEADER-REC",
            "--when",
            "D=DETAIL-REC",
            "--when",
            "T=TRAILER-REC.BODY-NUM",
            "--errors",
            str(errors),
        ],
        capsysbinary,
    )
    assert code == 1
    docs = [json.loads(line, parse_float=Decimal) for line in out]
    assert docs[0] == {"REC-TYPE": "H", "RUN-DATE": 20261126}
    assert [d["AMOUNT"] for d in docs[1:6]] == [Decimal(i) / 4 for i in range(5)]
    # The trailer decodes its REDEFINES alternative, chosen by the case.
    assert docs[6] == {"REC-TYPE": "T", "REC-COUNT": 6, "BODY-NUM": {"CHECKSUM": 0}}
    reject = json.loads(errors.read_text())
    assert reject["record"]["number"] == 6
    assert reject["record"]["offset"] == 120
    assert reject["reasons"][0]["rule"] == "unknown-record-type"
    assert reject["reasons"][0]["raw"] == "e7"
    assert "8 records read = 7 valid + 1 rejected" in err


def test_multi_layout_needs_both_options(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    cpy, data = _multi_file(tmp_path)
    code, _, err = run(["decode", str(cpy), str(data), "--discriminator", "REC-TYPE"], capsysbinary)
    assert code == 2
    assert "go together" in err
    code, _, err = run(
        ["decode", str(cpy), str(data), "--discriminator", "NOPE", "--when", "H=HEADER-REC"],
        capsysbinary,
    )
    assert code == 2
    assert "NOPE" in err


def test_mapping_events_and_audit_records(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGE_PII_KEY", "test-only-key-0123456789abcdef0123456789abcdef")
    sample = ROOT / "copybooks/samples"
    faults = json.loads((sample / "acctmast.faults.json").read_text())
    errors = tmp_path / "audit.jsonl"
    code, out, err = run(
        [
            "decode",
            "--mapping",
            str(ROOT / "schemas/acctmast.mapping.json"),
            str(sample / "acctmast.dat"),
            "--errors",
            str(errors),
        ],
        capsysbinary,
    )
    assert code == 1
    audits = [json.loads(line) for line in errors.read_text().splitlines()]
    assert len(out) + len(audits) == faults["records"]
    assert f"{faults['records']} records read = {len(out)} valid + {len(audits)} rejected" in err
    assert sorted(a["record"]["number"] for a in audits) == sorted(
        f["record"] for f in faults["faults"]
    )
    schema = json.loads((ROOT / "schemas/audit-record.schema.json").read_text())
    for audit in audits:
        jsonschema.validate(audit, schema)
        assert audit["mapping"]["name"] == "acctmast"
    event = json.loads(out[0])
    assert isinstance(event["ledgerBalance"], str)  # decimals travel as exact strings


def test_mapping_takes_only_the_file(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, _, err = run(
        ["decode", "--mapping", str(ROOT / "schemas/acctmast.mapping.json"), "a", "b"],
        capsysbinary,
    )
    assert code == 2
    assert "--mapping MAPPING FILE" in err


TEXT = """\
       01  ITEM-REC.
           05  REC-TYPE        PIC X.
           05  ITEM-ID         PIC 9(4).
           05  AMOUNT          PIC S9(5)V99.
           05  NOTE            PIC X(10).
"""

HEAD = """\
       01  HEAD-REC.
           05  REC-TYPE        PIC X.
           05  RUN-DATE        PIC 9(8).
"""


def test_lines_framing(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """A LINE SEQUENTIAL file: CR LF or LF, short lines padded, a bad record rejected with
    the line's own bytes, a long line fatal after the records before it."""
    cpy = tmp_path / "ITEM.cpy"
    cpy.write_text(TEXT)
    good = b"D0001000012{hello\r\nD0002000000J\nD0003000000}a note  .\n"
    path = tmp_path / "items.txt"
    path.write_bytes(good + b"D00x4\n")
    errors = tmp_path / "rejects.jsonl"
    argv = ["decode", str(cpy), str(path), "--framing", "lines", "--codepage", "latin-1"]
    code, out, err = run([*argv, "--errors", str(errors)], capsysbinary)
    assert code == 1
    docs = [json.loads(line, parse_float=Decimal) for line in out]
    assert docs == [
        {"REC-TYPE": "D", "ITEM-ID": 1, "AMOUNT": Decimal("1.20"), "NOTE": "hello"},
        {"REC-TYPE": "D", "ITEM-ID": 2, "AMOUNT": Decimal("-0.01"), "NOTE": ""},
        {"REC-TYPE": "D", "ITEM-ID": 3, "AMOUNT": Decimal("0.00"), "NOTE": "a note  ."},
    ]
    reject = json.loads(errors.read_text())
    assert reject["record"]["number"] == 3
    assert reject["record"]["offset"] == len(good)
    assert base64.b64decode(reject["record"]["raw_base64"]) == b"D00x4"
    assert [r["path"] for r in reject["reasons"]] == ["ITEM-REC.ITEM-ID", "ITEM-REC.AMOUNT"]
    assert "4 records read = 3 valid + 1 rejected" in err
    reference = run([*argv, "--reference", "--errors", str(tmp_path / "ref.jsonl")], capsysbinary)
    assert reference[:2] == (code, out)
    ref_reject = json.loads((tmp_path / "ref.jsonl").read_text())
    assert (ref_reject["record"], ref_reject["reasons"]) == (reject["record"], reject["reasons"])
    code, dump, _ = run([*argv, "--hexdump", "1"], capsysbinary)
    assert code == 0
    assert dump[0].startswith("record at file offset 19, 22 bytes")  # padded to the record

    path.write_bytes(good + b"D0004000000{a note too long\r\nD0005000000{\n")
    code, out, err = run([*argv, "--errors", str(errors)], capsysbinary)
    assert code == 5
    assert len(out) == 3
    assert f"offset {len(good)}: line 4 (record 3) has 27 bytes" in err
    reject = json.loads(errors.read_text())
    assert reject["stage"] == "framing"
    assert reject["record"]["number"] == 3
    assert reject["reasons"][0]["offset"] == len(good)
    assert "4 records read = 3 valid + 1 rejected" in err


def test_lines_framing_of_a_multi_layout_file(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Lines of different record types, framed to the longest record: each type's records
    decode as a file of that type alone does; short lines are padded, and a rejected one's
    audit shows the line's own bytes; an unknown type is rejected, never fatal."""
    heads = [b"H20261126", b"H2026113", b"H20261x01"]
    items = [b"D0001000012{hello", b"D0002000000J", b"D0003000000}a note  .", b"D00x4"]
    lines = [heads[0], items[0], items[1], b"X-unknown", items[2], heads[1], items[3], heads[2]]
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"\r\n".join(lines[:3]) + b"\r\n" + b"\n".join(lines[3:]) + b"\n")
    cpy = tmp_path / "MIXED.cpy"
    cpy.write_text(HEAD + TEXT)
    common = ["--framing", "lines", "--codepage", "latin-1"]
    multi = ["--discriminator", "HEAD-REC.REC-TYPE", "--when", "H=HEAD-REC", "--when", "D=ITEM-REC"]
    errors = tmp_path / "rejects.jsonl"
    code, out, err = run(
        ["decode", str(cpy), str(path), *common, *multi, "--errors", str(errors)], capsysbinary
    )
    assert code == 1
    assert f"{len(lines)} records read = {len(out)} valid + " in err
    assert "using HEAD-REC" not in err  # the cases choose the layouts: nothing to warn of

    # The oracle: each record type's lines as a file of their own, decoded by their copybook.
    alone: dict[bytes, tuple[list[str], list[Any]]] = {}
    for text, kind, members in ((HEAD, b"H", heads), (TEXT, b"D", items)):
        one = tmp_path / f"{kind.decode()}.cpy"
        one.write_text(text)
        part = tmp_path / f"{kind.decode()}.txt"
        part.write_bytes(b"\n".join(members) + b"\n")
        part_errors = tmp_path / f"{kind.decode()}.jsonl"
        _, docs, _ = run(
            ["decode", str(one), str(part), *common, "--errors", str(part_errors)], capsysbinary
        )
        audits = [json.loads(a) for a in part_errors.read_text().splitlines()]
        alone[kind] = (docs, audits)

    rejects = [json.loads(a) for a in errors.read_text().splitlines()]
    by_number = {r["record"]["number"]: r for r in rejects}
    offsets = [0]
    for n, line in enumerate(lines):
        offsets.append(offsets[-1] + len(line) + (2 if n < 3 else 1))
    seen = {b"H": [0, 0], b"D": [0, 0]}  # (valid, rejected) taken from each type's output
    docs_iter = iter(out)
    for number, line in enumerate(lines):
        kind = line[:1]
        if kind not in alone:
            reject = by_number[number]
            assert reject["reasons"][0]["rule"] == "unknown-record-type"
            assert reject["reasons"][0]["raw"] == line[:1].hex()
            continue
        docs, audits = alone[kind]
        if number in by_number:
            reject, expected = by_number[number], audits[seen[kind][1]]
            seen[kind][1] += 1
            assert reject["record"]["offset"] == offsets[number]
            assert reject["record"]["length"] == len(line)
            assert base64.b64decode(reject["record"]["raw_base64"]) == line
            assert reject["layout"]["name"] == {b"H": "HEAD-REC", b"D": "ITEM-REC"}[kind]
            assert [r["path"] for r in reject["reasons"]] == [
                r["path"] for r in expected["reasons"]
            ]
        else:
            assert next(docs_iter) == docs[seen[kind][0]]
            seen[kind][0] += 1
    assert next(docs_iter, None) is None
    assert seen == {b"H": [1, 2], b"D": [3, 1]}  # "H2026113" padded: "2026113 " is no number


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--reference"],
        ["--framing", "vbs"],
        ["--discriminator", "HEAD-REC.REC-TYPE", "--when", "H=HEAD-REC", "--when", "D=ITEM-REC"],
    ],
)
def test_an_empty_file(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], extra: list[str]
) -> None:
    """No records; but a header the file cannot hold is a framing error at byte 0."""
    cpy = tmp_path / "MIXED.cpy"
    cpy.write_text(HEAD + TEXT)
    path = tmp_path / "empty.dat"
    path.write_bytes(b"")
    record = [] if "--discriminator" in extra else ["--record", "ITEM-REC"]
    argv = ["decode", str(cpy), str(path), *record, *extra]
    code, out, err = run(argv, capsysbinary)
    assert (code, out) == (0, [])
    assert "0 records read = 0 valid + 0 rejected" in err
    errors = tmp_path / "errors.jsonl"
    code, out, err = run([*argv, "--skip-header", "4", "--errors", str(errors)], capsysbinary)
    assert (code, out) == (5, [])
    [audit] = [json.loads(line) for line in errors.read_text().splitlines()]
    assert (audit["stage"], audit["record"]["offset"], audit["record"]["length"]) == (
        "framing",
        0,
        0,
    )
    assert "0 bytes cannot hold a 4-byte header" in audit["reasons"][0]["message"]
    assert "1 records read = 0 valid + 1 rejected" in err
