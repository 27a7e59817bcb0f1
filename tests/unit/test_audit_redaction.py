"""Audit documents do not leak what the mapping protects (docs/audit.md, issue 15).

The ACCTMAST sample's PII fields (name, national id, birth date), each corrupted in turn in
records of the sample, never appear in clear anywhere in the audit output: not in the raw bytes
(decoded with the code page, or as hex), not in any string of the document, not on stderr. The
redacted ranges are exactly the PII fields' bytes; reasons on them carry a keyed HMAC instead
of the value; the sealed copy opens with the operator's key and only with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from nacl.public import PrivateKey

from bridge.cli import main
from bridge.copybook.compiler import compile_copybook
from bridge.mapping.apply import Mapper
from bridge.mapping.audit import audit_schema
from bridge.mapping.model import MappingError
from bridge.mapping.program import load_program
from bridge.mapping.redact import Redaction, layout_spans
from bridge.mapping.sealing import SealError, open_sealed
from bridge.stage.records import Event, Rejected, judge_file

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
COPYBOOK = ROOT / "copybooks" / "ACCTMAST.cpy"
PII_KEY = "test-only-key-0123456789abcdef0123456789abcdef"
LRECL = 300
REC = "ACCT-MASTER-REC"
NAME = f"{REC}.AM-CUSTOMER.AM-CUST-NAME"
NATIONAL_ID = f"{REC}.AM-CUSTOMER.AM-NATIONAL-ID"
BIRTH = f"{REC}.AM-CUSTOMER.AM-BIRTH-DATE"
PII_FIELDS = (NAME, NATIONAL_ID, BIRTH)
AUDIT = Draft202012Validator(audit_schema(), format_checker=FormatChecker())
LAYOUT = compile_copybook(COPYBOOK)[0]


def _place(path: str) -> tuple[int, int]:
    item = LAYOUT.field(path)
    return item.offset, item.length


def _mapping(tmp_path: Path, **top: Any) -> Path:
    """The sample mapping, its copybook found from ``tmp_path``, with top-level members
    replaced (None removes one)."""
    doc = json.loads(MAPPING.read_text())
    doc["copybook"]["path"] = str(COPYBOOK)
    for key, value in top.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    path = tmp_path / "acctmast.mapping.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(autouse=True)
def _pii_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_PII_KEY", PII_KEY)


@pytest.fixture(scope="module")
def valid_records() -> list[bytes]:
    """The first ten records of the sample that the mapping publishes."""
    data = SAMPLE.read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRIDGE_PII_KEY", PII_KEY)
        program = load_program(MAPPING)
    events = [o for o in judge_file(program, SAMPLE) if isinstance(o, Event)][:10]
    return [data[e.offset : e.offset + LRECL] for e in events]


def _put(record: bytes, path: str, value: bytes) -> bytes:
    at, n = _place(path)
    assert len(value) == n
    return record[:at] + value + record[at + n :]


# Each corruption makes a record fail on the PII field itself, keeping most of its value:
# a lower-case letter in the national id (pattern), a bad zone or an impossible day in the
# birth date (decode, convert). A name decodes whatever its bytes: the record fails on a
# packed balance instead, the name still in it.
def _corrupt(record: bytes, how: str) -> bytes:
    if how == "national-id-pattern":
        at, _ = _place(NATIONAL_ID)
        return record[: at + 1] + b"\x81" + record[at + 2 :]  # cp037 'a'
    if how == "birth-date-zone":
        at, n = _place(BIRTH)
        return record[: at + n - 3] + b"\xc1" + record[at + n - 2 :]  # 'A' among digits
    if how == "birth-date-day":
        return _put(record, BIRTH, "19800231".encode("cp037"))
    if how == "name-with-bad-balance":
        return _put(record, f"{REC}.AM-BALANCES.AM-LEDGER-BAL", b"\x00\x00\x00\xa1\x75\x18\x97\x8c")
    raise AssertionError(how)


CORRUPTIONS = ["national-id-pattern", "birth-date-zone", "birth-date-day", "name-with-bad-balance"]


def _secrets(record: bytes) -> Iterator[tuple[str, str]]:
    """(what, text) that must not appear: each PII field's value as text and as hex."""
    for path in PII_FIELDS:
        at, n = _place(path)
        raw = record[at : at + n]
        text = raw.decode("cp037").strip()
        assert len(text) >= 6, (path, text)  # long enough not to turn up by chance
        yield f"{path} text", text
        yield f"{path} hex", raw.hex()


def _strings(value: Any) -> Iterator[str]:
    """Every string of a document, numbers as their text."""
    if isinstance(value, str | int | float):
        yield str(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _leaks(document: dict[str, Any], secrets: list[tuple[str, str]]) -> list[str]:
    raw = base64.b64decode(document["record"]["raw_base64"])
    seen = [raw.decode("cp037"), raw.hex(), *_strings(document)]
    return [what for what, secret in secrets if any(secret in s for s in seen)]


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_a_corrupted_pii_field_never_appears_in_clear(
    tmp_path: Path, valid_records: list[bytes], how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [_corrupt(r, how) if i % 2 else r for i, r in enumerate(valid_records)]
    path = tmp_path / "variant.dat"
    path.write_bytes(b"".join(records))
    errors = tmp_path / "audit.jsonl"
    status = main(
        ["decode", "--mapping", str(_mapping(tmp_path)), str(path), "--errors", str(errors)]
    )
    assert status == 1
    documents = [json.loads(line) for line in errors.read_text().splitlines()]
    assert [d["record"]["number"] for d in documents] == [1, 3, 5, 7, 9]
    err = capsys.readouterr().err
    for doc in documents:
        record = records[doc["record"]["number"]]
        secrets = list(_secrets(record))
        assert _leaks(doc, secrets) == []
        assert [what for what, s in secrets if s in err] == []
        assert not list(AUDIT.iter_errors(doc))
        # The redacted bytes are exactly the PII fields', filled with X'00'; the rest is as is.
        ranges = doc["redaction"]["ranges"]
        assert [(r["path"], r["offset"], r["length"]) for r in ranges] == [
            (p, *_place(p)) for p in PII_FIELDS
        ]
        at = doc["record"]["offset"]
        assert [r["file"] for r in ranges] == [
            [{"offset": at + r["offset"], "length": r["length"]}] for r in ranges
        ]
        expected = bytearray(record)
        for r in ranges:
            expected[r["offset"] : r["offset"] + r["length"]] = bytes(r["length"])
        assert base64.b64decode(doc["record"]["raw_base64"]) == expected
        assert doc["redaction"]["filler"] == "00"
        assert doc["redaction"]["hmac"] == {"algorithm": "HMAC-SHA256", "key_id": "pii-2026-q4"}
        assert "sealed" not in doc  # no seal key: no copy


def test_a_reason_on_a_pii_field_carries_an_hmac_not_the_value(
    tmp_path: Path, valid_records: list[bytes]
) -> None:
    # The same bad birth date in two records, another in a third.
    bad = _put(valid_records[0], BIRTH, "19800231".encode("cp037"))
    other = _put(valid_records[1], BIRTH, "19790230".encode("cp037"))
    path = tmp_path / "variant.dat"
    path.write_bytes(bad + bad + other)
    program = load_program(_mapping(tmp_path))
    audits = [o.audit for o in judge_file(program, path) if isinstance(o, Rejected)]
    assert len(audits) == 3
    reasons = [a["reasons"] for a in audits]
    assert all(len(r) == 1 for r in reasons)
    first, second, third = (r[0] for r in reasons)
    assert (first["path"], first["offset"], first["length"]) == (BIRTH, _place(BIRTH)[0], 8)
    assert (first["raw"], first["actual"]) == (None, None)
    assert "1980" not in first["message"] and "0231" not in first["message"]
    assert first["rule"] == second["rule"]
    digest = hmac.new(PII_KEY.encode(), "19800231".encode("cp037"), hashlib.sha256).hexdigest()
    assert first["redacted"] == {"hmac_sha256": digest, "of": "raw", "key_id": "pii-2026-q4"}
    assert second["redacted"] == first["redacted"]  # the same bad value: matched
    assert third["redacted"]["hmac_sha256"] != digest


def test_without_a_pii_key_reasons_have_no_digest(
    tmp_path: Path, valid_records: list[bytes]
) -> None:
    doc = json.loads(MAPPING.read_text())
    fields = doc["fields"]
    for spec in fields:
        if spec.get("pii", {}).get("policy") == "hash":
            spec["pii"] = {"policy": "mask", "keep_last": 0, "mask_char": "*"}
    path = tmp_path / "variant.dat"
    path.write_bytes(_corrupt(valid_records[0], "national-id-pattern"))
    program = load_program(_mapping(tmp_path, fields=fields, pii_key=None))
    [audit] = [o.audit for o in judge_file(program, path) if isinstance(o, Rejected)]
    assert audit["redaction"]["hmac"] is None
    [reason] = audit["reasons"]
    assert reason["redacted"] == {"hmac_sha256": None, "of": None, "key_id": None}
    assert _leaks(audit, list(_secrets(_corrupt(valid_records[0], "national-id-pattern")))) == []


def test_a_pii_key_named_but_missing_stops_the_run_before_any_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BRIDGE_PII_KEY")
    doc = json.loads(MAPPING.read_text())
    fields = doc["fields"]
    for spec in fields:  # no hashed field: only the audit needs the key
        if spec.get("pii", {}).get("policy") == "hash":
            spec["pii"] = {"policy": "mask", "keep_last": 0, "mask_char": "*"}
    mapping = _mapping(tmp_path, fields=fields)
    assert main(["decode", "--mapping", str(mapping), str(SAMPLE)]) == 3
    err = capsys.readouterr().err
    assert "BRIDGE_PII_KEY is not set" in err
    assert "records read" not in err


def test_dropped_fields_are_redacted_when_the_mapping_says_so(
    tmp_path: Path, valid_records: list[bytes]
) -> None:
    path = tmp_path / "variant.dat"
    record = _corrupt(valid_records[0], "birth-date-day")
    path.write_bytes(record)
    program = load_program(_mapping(tmp_path, audit={"redact_dropped": True}))
    [audit] = [o.audit for o in judge_file(program, path) if isinstance(o, Rejected)]
    # AM-REVIEW-DATE-N REDEFINES AM-REVIEW-DATE: its bytes (the mapped text view's too) go.
    dropped = [f"{REC}.AM-REVIEW-DATE-N", f"{REC}.AM-LAST-MAINT-USER"]
    wanted = sorted((_place(p)[0], p) for p in (*PII_FIELDS, *dropped))
    assert [(r["offset"], r["path"]) for r in audit["redaction"]["ranges"]] == wanted
    raw = base64.b64decode(audit["record"]["raw_base64"])
    for path_ in (*PII_FIELDS, *dropped, f"{REC}.AM-REVIEW-DATE"):
        at, n = _place(path_)
        assert raw[at : at + n] == bytes(n)
    # Without the option, dropped fields stay (a mapping's default is unchanged).
    program = load_program(_mapping(tmp_path))
    [audit] = [o.audit for o in judge_file(program, path) if isinstance(o, Rejected)]
    at, n = _place(f"{REC}.AM-LAST-MAINT-USER")
    assert base64.b64decode(audit["record"]["raw_base64"])[at : at + n] == record[at : at + n]


def test_a_mapping_without_pii_changes_nothing(tmp_path: Path, valid_records: list[bytes]) -> None:
    doc = json.loads(MAPPING.read_text())
    fields = doc["fields"]
    for spec in fields:
        if spec["classification"] == "pii":
            spec["classification"] = "confidential"
            spec.pop("pii")
    record = _corrupt(valid_records[0], "birth-date-day")
    path = tmp_path / "variant.dat"
    path.write_bytes(record)
    program = load_program(_mapping(tmp_path, fields=fields))
    [audit] = [o.audit for o in judge_file(program, path) if isinstance(o, Rejected)]
    assert "redaction" not in audit and "sealed" not in audit
    assert base64.b64decode(audit["record"]["raw_base64"]) == record
    [reason] = audit["reasons"]
    assert (reason["raw"], reason["actual"]) == ("19800231".encode("cp037").hex(), 19800231)


def _key_pair() -> tuple[str, str]:
    private = PrivateKey.generate()
    encode = base64.b64encode
    return encode(bytes(private)).decode(), encode(bytes(private.public_key)).decode()


def test_the_sealed_copy_opens_with_the_key_and_only_with_it(
    tmp_path: Path,
    valid_records: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    private, public = _key_pair()
    other, _ = _key_pair()
    monkeypatch.setenv("AUDIT_SEAL", public)
    mapping = _mapping(tmp_path, audit={"seal_key": {"env": "AUDIT_SEAL", "key_id": "ops-1"}})
    record = _corrupt(valid_records[0], "birth-date-day")
    path = tmp_path / "variant.dat"
    path.write_bytes(valid_records[1] + record)
    errors = tmp_path / "audit.jsonl"
    assert main(["decode", "--mapping", str(mapping), str(path), "--errors", str(errors)]) == 1
    [line] = errors.read_text().splitlines()
    sealed_doc = json.loads(line)
    assert not list(AUDIT.iter_errors(sealed_doc))
    assert sealed_doc["sealed"]["key_id"] == "ops-1"
    assert _leaks(sealed_doc, list(_secrets(record))) == []

    payload = open_sealed(sealed_doc["sealed"], base64.b64decode(private))
    assert base64.b64decode(payload["raw_base64"]) == record
    [reason] = payload["reasons"]
    assert (reason["raw"], reason["actual"]) == ("19800231".encode("cp037").hex(), 19800231)
    with pytest.raises(SealError):
        open_sealed(sealed_doc["sealed"], base64.b64decode(other))

    # bridge audit open: the document as it was before redaction, the record's bytes too.
    key_file = tmp_path / "operator.key"
    key_file.write_text(private + "\n")
    capsys.readouterr()
    raw_out = tmp_path / "record.bin"
    argv = ["audit", "open", str(errors), "--private-key-file", str(key_file)]
    assert main([*argv, "--raw", str(raw_out)]) == 0
    opened = json.loads(capsys.readouterr().out)
    assert raw_out.read_bytes() == record
    assert base64.b64decode(opened["record"]["raw_base64"]) == record
    assert opened["reasons"] == payload["reasons"]
    assert "redaction" not in opened and "sealed" not in opened
    # Another key, no key, a document sealed for another record: refused, nothing printed.
    key_file.write_text(other)
    assert main(argv) == 5
    monkeypatch.delenv("BRIDGE_AUDIT_PRIVATE_KEY", raising=False)
    assert main(argv[:3]) == 2
    swapped = dict(sealed_doc, record={**sealed_doc["record"], "number": 0})
    (tmp_path / "swapped.json").write_text(json.dumps(swapped))
    monkeypatch.setenv("BRIDGE_AUDIT_PRIVATE_KEY", private)
    assert main(["audit", "open", str(tmp_path / "swapped.json")]) == 5
    out = capsys.readouterr()
    assert out.out == ""
    assert "belongs to another record" in out.err


def test_a_seal_key_named_but_missing_stops_the_run(tmp_path: Path) -> None:
    mapping = _mapping(tmp_path, audit={"seal_key": {"env": "ABSENT_AUDIT_SEAL"}})
    program = load_program(mapping)
    with pytest.raises(MappingError, match="ABSENT_AUDIT_SEAL is not set"):
        list(judge_file(program, SAMPLE))


def test_a_framing_audit_carries_no_clear_byte(
    tmp_path: Path, valid_records: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = _key_pair()
    monkeypatch.setenv("AUDIT_SEAL", public)
    data = b"".join(valid_records[:3])[: 2 * LRECL + 200]  # a fixed file refused whole
    path = tmp_path / "cut.dat"
    path.write_bytes(data)
    for audit_policy, sealed in (({}, False), ({"seal_key": {"env": "AUDIT_SEAL"}}, True)):
        program = load_program(_mapping(tmp_path, audit=audit_policy))
        [framing] = [o.audit for o in judge_file(program, path) if isinstance(o, Rejected)]
        assert framing["stage"] == "framing"
        assert framing["record"]["raw_base64"] == ""
        assert framing["redaction"]["withheld"] == {"offset": 0, "length": len(data)}
        assert "cut off" in framing["reasons"][0]["message"]
        for record in valid_records[:3]:
            assert _leaks(framing, list(_secrets(record))) == []
        assert ("sealed" in framing) is sealed
        if sealed:
            payload = open_sealed(framing["sealed"], base64.b64decode(private))
            assert base64.b64decode(payload["raw_base64"]) == data


def test_hexdump_help_says_it_shows_data_in_clear(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["decode", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "IN CLEAR, PII included" in help_text


SHAPES_COPYBOOK = """\
       01  REC.
           05  REC-ID        PIC 9(4).
           05  PERSON        OCCURS 2 TIMES.
               10  PNAME     PIC X(5).
               10  PHONES    PIC X(4) OCCURS 3 TIMES.
           05  SECRET        PIC X(6).
           05  SECRET-N      REDEFINES SECRET PIC 9(6).
           05  ITEM-COUNT    PIC 9(1).
           05  ITEM          PIC X(2) OCCURS 0 TO 3 TIMES
                             DEPENDING ON ITEM-COUNT.
           05  TAIL-NOTE     PIC X(3).
"""


def test_ranges_of_tables_redefines_and_items_an_odo_table_moves(tmp_path: Path) -> None:
    copybook = tmp_path / "shapes.cpy"
    copybook.write_text(SHAPES_COPYBOOK)
    [layout] = compile_copybook(copybook)
    protected = frozenset({"REC.PERSON.PHONES", "REC.SECRET", "REC.TAIL-NOTE"})
    spans = [(s.path, s.offset, s.length) for s in layout_spans(layout, protected)]
    phones = [
        (f"REC.PERSON[{i}].PHONES[{j}]", 4 + 17 * i + 5 + 4 * j, 4)
        for i in range(2)
        for j in range(3)
    ]
    # TAIL-NOTE moves with ITEM-COUNT: from the ODO table's start to the longest record's end.
    assert spans == [*phones, ("REC.SECRET", 38, 6), ("REC.TAIL-NOTE", 45, 9)]
    # A dropped group: one range per element, none for what is inside it.
    spans = [(s.path, s.offset, s.length) for s in layout_spans(layout, frozenset({"REC.PERSON"}))]
    assert spans == [("REC.PERSON[0]", 4, 17), ("REC.PERSON[1]", 21, 17)]


def test_a_reason_on_a_redefines_of_a_pii_field_is_redacted(tmp_path: Path) -> None:
    """SECRET is pii, its numeric view SECRET-N is not: a reason on SECRET-N is on SECRET's
    bytes, so it is redacted; one on REC-ID is not. A spanned record's range lies in pieces."""
    copybook = tmp_path / "shapes.cpy"
    copybook.write_text(SHAPES_COPYBOOK)
    [layout] = compile_copybook(copybook)
    protected = frozenset({"REC.SECRET"})
    plan = Redaction({None: layout_spans(layout, protected)}, protected, cast(Mapper, None))
    raw = bytes(range(0x40, 0x40 + 54))
    reasons = [
        {"check": "decode", "path": "REC.SECRET-N", "pointer": None, "rule": "bad-zone",
         "expected": None, "actual": None, "offset": 1038, "length": 6,
         "raw": raw[38:44].hex(), "message": f"bad zone in {raw[38:44].hex()}"},
        {"check": "decode", "path": "REC.REC-ID", "pointer": None, "rule": "bad-zone",
         "expected": None, "actual": None, "offset": 1000, "length": 4,
         "raw": raw[:4].hex(), "message": "bad zone"},
    ]  # fmt: skip
    segments = ((1000, 40), (2000, 14))  # SECRET straddles the two pieces
    document = {"stage": "decode", "source": {"sha256": "0" * 64}, "record": {"number": 0}}
    out = plan.apply(document, raw, reasons, case=None, offset=1000, segments=segments)
    [secret_n, rec_id] = out["reasons"]
    assert (secret_n["raw"], secret_n["message"]) == (
        None,
        "REC.SECRET-N: bad-zone failed; the value is redacted",
    )
    assert secret_n["redacted"] == {"hmac_sha256": None, "of": None, "key_id": None}
    assert rec_id == reasons[1]
    [secret] = out["redaction"]["ranges"]
    assert secret == {
        "path": "REC.SECRET",
        "offset": 38,
        "length": 6,
        "file": [{"offset": 1038, "length": 2}, {"offset": 2000, "length": 4}],
    }
    assert base64.b64decode(out["record"]["raw_base64"]) == raw[:38] + bytes(6) + raw[44:]


def test_a_reason_starting_in_one_piece_is_redacted_by_bytes_in_the_next(tmp_path: Path) -> None:
    """A spanned record's reason overlaps a redacted range by record bytes, not file bytes:
    here it starts in the first piece, and SECRET lies wholly in the second."""
    copybook = tmp_path / "shapes.cpy"
    copybook.write_text(SHAPES_COPYBOOK)
    [layout] = compile_copybook(copybook)
    protected = frozenset({"REC.SECRET"})
    plan = Redaction({None: layout_spans(layout, protected)}, protected, cast(Mapper, None))
    raw = bytes(range(0x40, 0x40 + 54))
    reason = {
        "check": "schema", "path": "REC.WIDE", "pointer": None, "rule": "type",
        "expected": None, "actual": "xyz", "offset": 1030, "length": 12,
        "raw": raw[30:42].hex(), "message": "xyz",
    }  # fmt: skip
    document = {"stage": "decode", "source": {"sha256": "0" * 64}, "record": {"number": 0}}
    out = plan.apply(
        document, raw, [reason], case=None, offset=1000, segments=((1000, 38), (2000, 16))
    )
    [redacted] = out["reasons"]
    assert (redacted["raw"], redacted["actual"]) == (None, None)
    assert [r["file"] for r in out["redaction"]["ranges"]] == [[{"offset": 2000, "length": 6}]]
