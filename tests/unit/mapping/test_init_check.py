"""mapping init writes mappings that pass mapping check; check finds what is wrong, precisely."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.cli import main
from bridge.copybook.compiler import compile_copybook, compile_text
from bridge.decode.encoder import encode_record
from bridge.mapping.lint import check_mapping, errors, load_checked
from bridge.mapping.model import Problem, meta_problems, parse_mapping
from bridge.mapping.program import load_program
from bridge.mapping.scaffold import default_mapping, target_name
from bridge.stage.records import Event, judge_file

from .conftest import ACCTMAST_CPY, ACCTMAST_MAPPING, CARDDEMO, acct_document

CARDDEMO_CPY = sorted((CARDDEMO / "cpy").glob("*.cpy"))


def _roundtrip(copybook: Path, case: str) -> dict[str, Any]:
    layouts = compile_copybook(copybook)
    doc = default_mapping(layouts, str(copybook), name="t", case=case)
    assert meta_problems(json.loads(json.dumps(doc))) == []
    problems = check_mapping(parse_mapping(doc), layouts)
    assert errors(problems) == [], problems
    return doc


@pytest.mark.parametrize("copybook", CARDDEMO_CPY, ids=lambda p: p.stem)
def test_init_check_roundtrip_carddemo(copybook: Path) -> None:
    doc = _roundtrip(copybook, "camel")
    layout = compile_copybook(copybook)[0]
    elementary = [
        f for f in layout.fields() if not f.is_group and not f.is_filler and f.redefines is None
    ]
    assert [f["source"] for f in doc["fields"]] == [f.path for f in elementary]


@pytest.mark.parametrize("case", ["snake", "camel", "kebab", "keep"])
def test_init_check_roundtrip_acctmast(case: str) -> None:
    doc = _roundtrip(ACCTMAST_CPY, case)
    drops = {d["source"] for d in doc["drop"]}
    assert drops == {"ACCT-MASTER-REC.AM-REVIEW-DATE-N"}  # the REDEFINES alternative
    assert doc["tables"] == [
        {
            "source": "ACCT-MASTER-REC.AM-HOLDS",
            "target": target_name("AM-HOLDS", case),
        }
    ]


def test_init_types_from_pics() -> None:
    doc = _roundtrip(ACCTMAST_CPY, "snake")
    by = {f["target"]: f for f in doc["fields"]}
    assert by["am_ledger_bal"]["type"] == "decimal"
    assert (by["am_ledger_bal"]["precision"], by["am_ledger_bal"]["scale"]) == (15, 2)
    assert (by["am_int_rate"]["precision"], by["am_int_rate"]["scale"]) == (8, 5)
    assert by["am_acct_no"]["type"] == "integer"
    assert by["am_currency"] == {
        "source": "ACCT-MASTER-REC.AM-CURRENCY",
        "target": "am_currency",
        "type": "string",
        "maxLength": 3,
        "required": False,
        "classification": "internal",
    }
    status = by["am_status"]
    assert status["type"] == "enum"
    assert [(v["target"], v["source"]) for v in status["values"]] == [
        ("ACTIVE", ["A"]),
        ("DORMANT", ["D"]),
        ("FROZEN", ["F"]),
        ("CLOSED", ["C"]),
    ]
    kyc = by["am_kyc_risk"]
    assert [(v["target"], v["source"]) for v in kyc["values"]] == [
        ("LOW", [1]),
        ("MEDIUM", [2]),
        ("HIGH", [3]),
    ]
    assert by["am_cust_name"]["classification"] == "pii"
    assert by["am_cust_name"]["pii"]["policy"] == "mask"


def test_init_88_ranges_overlaps_and_figuratives() -> None:
    layouts = compile_text(
        """
       01  R.
           05  CODE     PIC 9(3).
               88  CODE-LOW     VALUE 1 THRU 9.
               88  CODE-HIGH    VALUE 10 THRU 999.
           05  FLAG     PIC X(2).
               88  FLAG-ON      VALUE 'Y ' 'YY'.
               88  FLAG-ALSO    VALUE 'YY'.
               88  FLAG-BLANK   VALUE SPACES.
           05  ODD      PIC X.
               88  ODD-HI       VALUE HIGH-VALUES.
        """,
        "R",
    )
    doc = default_mapping(layouts, "r.cpy", name="r")
    by = {f["target"]: f for f in doc["fields"]}
    assert by["code"]["values"] == [
        {"target": "LOW", "ranges": [{"low": 1, "high": 9}], "condition": "CODE-LOW"},
        {"target": "HIGH", "ranges": [{"low": 10, "high": 999}], "condition": "CODE-HIGH"},
    ]
    # 'YY' belongs to the first condition that lists it; SPACES decode to "" (right-trimmed).
    assert by["flag"]["values"] == [
        {"target": "ON", "source": ["Y", "YY"], "condition": "FLAG-ON"},
        {"target": "BLANK", "source": [""], "condition": "FLAG-BLANK"},
    ]
    assert by["odd"]["type"] == "string"  # HIGH-VALUES has no decoded text: plain string
    assert errors(check_mapping(parse_mapping(doc), layouts)) == []


def test_target_names() -> None:
    assert target_name("ACCT-CURR-BAL", "camel") == "acctCurrBal"
    assert target_name("ACCT-CURR-BAL", "snake") == "acct_curr_bal"
    assert target_name("ACCT-CURR-BAL", "kebab") == "acct-curr-bal"
    assert target_name("ACCT-CURR-BAL", "keep") == "ACCT-CURR-BAL"
    assert target_name("1ST-NAME", "camel") == "_1stName"


def test_init_dedupes_targets_per_scope() -> None:
    layouts = compile_text(
        """
       01  R.
           05  A.
               10  ID   PIC X(2).
           05  B.
               10  ID   PIC X(2).
        """,
        "R",
    )
    doc = default_mapping(layouts, "r.cpy", name="r")
    assert [f["target"] for f in doc["fields"]] == ["id", "id_2"]
    assert errors(check_mapping(parse_mapping(doc), layouts)) == []


# --- check: precise messages --------------------------------------------------------------


def _problems(doc: dict[str, Any]) -> list[Problem]:
    layouts = compile_copybook(ACCTMAST_CPY)
    return check_mapping(parse_mapping(doc, base_dir=ACCTMAST_MAPPING.parent), layouts)


def _field(doc: dict[str, Any], target: str) -> tuple[int, dict[str, Any]]:
    return next((i, f) for i, f in enumerate(doc["fields"]) if f["target"] == target)


def _one(problems: list[Problem], pointer: str) -> Problem:
    found = [p for p in problems if p.pointer == pointer]
    assert len(found) == 1, problems
    return found[0]


def test_example_mapping_checks_clean() -> None:
    assert _problems(acct_document()) == []


def test_fingerprint_mismatch() -> None:
    doc = acct_document()
    doc["copybook"]["fingerprint"] = "0" * 64
    problem = _one(_problems(doc), "/copybook/fingerprint")
    assert "the byte layout changed" in problem.message


def test_integer_target_for_a_field_with_decimals() -> None:
    doc = acct_document()
    i, f = _field(doc, "ledgerBalance")
    for key in ("precision", "scale"):
        del f[key]
    f["type"] = "integer"
    problem = _one(_problems(doc), f"/fields/{i}/type")
    assert problem.field == "ACCT-MASTER-REC.AM-BALANCES.AM-LEDGER-BAL"
    assert problem.message.startswith("PIC S9(13)V99 COMP-3 has 2 decimal place(s)")
    assert str(problem).startswith(f"error: /fields/{i}/type [ACCT-MASTER-REC.AM-BALANCES.")


def test_decimal_scale_and_precision_narrower_than_the_pic() -> None:
    doc = acct_document()
    i, f = _field(doc, "accruedInterest")
    f["scale"] = 4
    f["precision"] = 10
    problems = _problems(doc)
    assert "smaller than the 6 decimal place(s)" in _one(problems, f"/fields/{i}/scale").message
    assert "leaves 6 integer digit(s); PIC S9(09)V9(6) COMP-3 has 9" in (
        _one(problems, f"/fields/{i}/precision").message
    )


def test_wider_decimal_is_fine() -> None:
    doc = acct_document()
    _, f = _field(doc, "ledgerBalance")
    f["precision"], f["scale"] = 20, 4
    assert _problems(doc) == []


def test_max_length_below_the_pic() -> None:
    doc = acct_document()
    i, f = _field(doc, "customer.name")
    f["maxLength"] = 30
    problem = _one(_problems(doc), f"/fields/{i}/maxLength")
    assert "below the 40 characters PIC X(40) holds" in problem.message


def test_unknown_and_group_sources() -> None:
    doc = acct_document()
    i, f = _field(doc, "currency")
    f["source"] = "ACCT-MASTER-REC.AM-CURRENCY-CD"
    j, g = _field(doc, "status")
    g["source"] = "ACCT-MASTER-REC.AM-BALANCES"
    problems = _problems(doc)
    assert _one(problems, f"/fields/{i}/source").message == "no such field in the copybook"
    assert "is a group" in _one(problems, f"/fields/{j}/source").message
    unmapped = [p for p in problems if p.pointer == "/fields"]
    assert {p.field for p in unmapped} == {
        "ACCT-MASTER-REC.AM-CURRENCY",
        "ACCT-MASTER-REC.AM-STATUS",
    }
    assert all("neither mapped nor dropped" in p.message for p in unmapped)


def test_duplicate_targets_and_mapped_and_dropped() -> None:
    doc = acct_document()
    i, f = _field(doc, "availableBalance")
    f["target"] = "ledgerBalance"
    doc["drop"].append({"source": "ACCT-MASTER-REC.AM-CURRENCY"})
    problems = _problems(doc)
    assert "clashes with 'ledgerBalance'" in _one(problems, f"/fields/{i}/target").message
    assert _one(problems, f"/drop/{len(doc['drop']) - 1}/source").message == (
        "both mapped and dropped"
    )


def test_nested_target_clash() -> None:
    doc = acct_document()
    _, f = _field(doc, "currency")
    f["target"] = "customer"  # customer.id etc. live under it
    i, _ = _field(doc, "customer.id")
    problem = _one(_problems(doc), f"/fields/{i}/target")
    assert problem.message == (
        "target 'customer.id' clashes with 'customer' of ACCT-MASTER-REC.AM-CURRENCY"
    )


def test_hash_without_a_key_and_unknown_code_page() -> None:
    doc = acct_document()
    del doc["pii_key"]
    doc["source"]["code_page"] = "cp9999"
    problems = _problems(doc)
    assert "names no pii_key" in _one(problems, "/pii_key").message
    assert _one(problems, "/source/code_page")


def test_record_length_shorter_than_the_layout() -> None:
    doc = acct_document()
    doc["source"]["framing"]["record_length"] = 200
    assert "shorter than record" in _one(_problems(doc), "/source/framing/record_length").message


def test_keys_must_be_mapped_scalars() -> None:
    doc = acct_document()
    doc["keys"]["kafka"] = ["ACCT-MASTER-REC.AM-HOLDS.AM-HOLD-AMT", "ACCT-MASTER-REC.AM-FOO"]
    problems = _problems(doc)
    assert "inside an OCCURS table" in _one(problems, "/keys/kafka/0").message
    assert "must be a mapped field" in _one(problems, "/keys/kafka/1").message


def test_pii_in_clear_in_a_key_is_a_warning() -> None:
    doc = acct_document()
    _, f = _field(doc, "customer.name")
    f["pii"] = {"policy": "keep"}
    doc["keys"]["kafka"] = ["ACCT-MASTER-REC.AM-CUSTOMER.AM-CUST-NAME"]
    problem = _one(_problems(doc), "/keys/kafka/0")
    assert problem.severity == "warning"


def test_enum_values_checked_against_the_pic() -> None:
    doc = acct_document()
    i, f = _field(doc, "status")
    f["values"][1]["source"] = ["A", "DD"]
    j, g = _field(doc, "kycRisk")
    g["values"][0]["source"] = ["one"]
    problems = _problems(doc)
    assert "listed twice" in _one(problems, f"/fields/{i}/values/1/source/0").message
    assert "longer than PIC X(01)" in _one(problems, f"/fields/{i}/values/1/source/1").message
    assert "not a number" in _one(problems, f"/fields/{j}/values/0/source/0").message


def test_date_format_against_the_pic() -> None:
    doc = acct_document()
    i, f = _field(doc, "openDate")
    f["format"] = "YYYY-MM-DD"  # a text format for a PIC 9(08)
    j, g = _field(doc, "lastMaintained")
    g["format"] = "YYYYMMDDHHMMSS"  # fits in X(26): fine
    problems = _problems(doc)
    assert "is a text format" in _one(problems, f"/fields/{i}/format").message
    assert not [p for p in problems if p.pointer.startswith(f"/fields/{j}")]


def test_table_entry_must_be_an_occurs_group() -> None:
    doc = acct_document()
    doc["tables"].append({"source": "ACCT-MASTER-REC.AM-CUSTOMER", "target": "cust"})
    problem = _one(_problems(doc), "/tables/1/source")
    assert "not an OCCURS group" in problem.message


# --- the commands ------------------------------------------------------------------------


def test_cli_init_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mapping", "init", str(ACCTMAST_CPY), "--relative-to", str(tmp_path)]) == 0
    out = tmp_path / "m.json"
    out.write_text(capsys.readouterr().out)
    assert main(["mapping", "check", str(out)]) == 0
    assert "ok (acctmast 1.0.0: 29 fields mapped, 1 dropped)" in capsys.readouterr().out


def test_cli_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mapping", "check", str(ACCTMAST_MAPPING)]) == 0
    assert main(["mapping", "check", str(tmp_path / "absent.json")]) == 4
    doc = acct_document()
    doc["copybook"]["path"] = str(ACCTMAST_CPY.parent / "NOPE.cpy")
    (tmp_path / "nocpy.json").write_text(json.dumps(doc))
    assert main(["mapping", "check", str(tmp_path / "nocpy.json")]) == 4
    doc = acct_document()
    doc["copybook"]["path"] = str(ACCTMAST_CPY)
    doc["fields"][0]["type"] = "money"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["mapping", "check", str(tmp_path / "bad.json")]) == 3
    assert "/fields/0/type" in capsys.readouterr().err
    doc = acct_document()
    doc["copybook"]["path"] = str(ACCTMAST_CPY)
    doc["copybook"]["fingerprint"] = "f" * 64
    (tmp_path / "fp.json").write_text(json.dumps(doc))
    assert main(["mapping", "check", str(tmp_path / "fp.json"), "--json"]) == 3
    listed = json.loads(capsys.readouterr().out)
    assert [p["pointer"] for p in listed] == ["/copybook/fingerprint"]
    (tmp_path / "junk.json").write_text("{not json")
    assert main(["mapping", "check", str(tmp_path / "junk.json")]) == 3


def test_cli_init_missing_copybook(tmp_path: Path) -> None:
    assert main(["mapping", "init", str(tmp_path / "X.cpy")]) == 4


def test_load_checked_example() -> None:
    mapping, layouts, problems = load_checked(ACCTMAST_MAPPING)
    assert problems == []
    assert mapping.name == "acctmast"
    assert layouts[0].name == "ACCT-MASTER-REC"


MULTI = """\
       01  HDR-REC.
           05  REC-TYPE     PIC 9.
           05  RECORD-TYPE  PIC X(4).
           05  HDR-DATE     PIC 9(8).
       01  DTL-REC.
           05  REC-TYPE     PIC 9.
           05  DTL-AMT      PIC S9(7)V99 COMP-3.
           05  DTL-NAME     PIC X(20).
       01  TRL-REC.
           05  REC-TYPE     PIC 9.
           05  TRL-COUNT    PIC 9(7).
"""


def test_init_multi_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--discriminator/--when: one case per record, numeric values as numbers, fields of every
    record, the fixed LRECL the longest record; it checks clean and judges a file."""
    copybook = tmp_path / "multi.cpy"
    copybook.write_text(MULTI)
    monkeypatch.chdir(tmp_path)
    args = ["mapping", "init", "multi.cpy", "--discriminator", "REC-TYPE"]
    when = [
        "--when",
        "1=HDR-REC",
        "--when",
        "2=DTL-REC",
        "--when",
        "3=DTL-REC",
        "--when",
        "9=TRL-REC",
    ]
    assert main([*args, *when]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["discriminator"] == {
        "source": "HDR-REC.REC-TYPE",
        "cases": [
            {"name": "hdrRec", "when": [1], "layout": "HDR-REC"},
            {"name": "dtlRec", "when": [2, 3], "layout": "DTL-REC"},
            {"name": "trlRec", "when": [9], "layout": "TRL-REC"},
        ],
    }
    assert doc["source"]["framing"] == {"type": "fixed", "record_length": 26}
    sources = [f["source"] for f in doc["fields"]]
    assert sources[:3] == ["HDR-REC.REC-TYPE", "HDR-REC.RECORD-TYPE", "HDR-REC.HDR-DATE"]
    assert "DTL-REC.DTL-AMT" in sources and "TRL-REC.TRL-COUNT" in sources
    # RECORD-TYPE would be recordType, the property each event's case takes: renamed.
    assert {f["target"] for f in doc["fields"] if f["source"] == "HDR-REC.RECORD-TYPE"} == {
        "recordType_2"
    }
    (tmp_path / "multi.mapping.json").write_text(json.dumps(doc))
    _, layouts, problems = load_checked(tmp_path / "multi.mapping.json")
    assert errors(problems) == []
    assert main(["mapping", "check", "multi.mapping.json"]) == 0
    by = {lay.name: lay for lay in layouts}
    records = [
        encode_record(by["HDR-REC"], {"REC-TYPE": 1, "RECORD-TYPE": "BTCH", "HDR-DATE": 20260101}),
        encode_record(by["DTL-REC"], {"REC-TYPE": 3, "DTL-AMT": Decimal("-1.50"), "DTL-NAME": "A"}),
        encode_record(by["TRL-REC"], {"REC-TYPE": 9, "TRL-COUNT": 1}),
    ]
    (tmp_path / "multi.dat").write_bytes(b"".join(r.ljust(26, b"\x40") for r in records))
    runtime = load_program(tmp_path / "multi.mapping.json")
    events = [e for e in judge_file(runtime, tmp_path / "multi.dat") if isinstance(e, Event)]
    assert [e.case for e in events] == ["hdrRec", "dtlRec", "trlRec"]
    assert [e.event["recordType"] for e in events] == ["hdrRec", "dtlRec", "trlRec"]
    assert events[1].event["dtlAmt"] == "-1.50"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--when", "1=HDR-REC"], "--discriminator and --when go together"),
        (["--discriminator", "REC-TYPE"], "--discriminator and --when go together"),
        (["--discriminator", "REC-TYPE", "--when", "X=HDR-REC"], "the discriminator is numeric"),
        (["--discriminator", "REC-TYPE", "--when", "1"], "expected VALUE=RECORD"),
        (["--discriminator", "NOPE", "--when", "1=HDR-REC"], "no elementary item"),
        (["--discriminator", "HDR-DATE", "--when", "1=DTL-REC"], "DTL-REC has no HDR-DATE"),
    ],
)
def test_init_multi_layout_refusals(
    extra: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "multi.cpy").write_text(MULTI)
    monkeypatch.chdir(tmp_path)
    assert main(["mapping", "init", "multi.cpy", *extra]) == 2
    assert message in capsys.readouterr().err
