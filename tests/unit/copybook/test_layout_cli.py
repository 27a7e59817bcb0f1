"""``bridge layout``: the table, --json, --record, and exit codes 3 and 4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.copybook.compiler import compile_copybook


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["layout", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_table(capsys: pytest.CaptureFixture[str], realdata: Path) -> None:
    code, out, err = run(capsys, str(realdata / "dtar020" / "DTAR020.cbl"))
    assert code == 0 and err == ""
    (layout,) = compile_copybook(realdata / "dtar020" / "DTAR020.cbl")
    lines = out.splitlines()
    assert lines[0] == f"DTAR020  length 27  fingerprint {layout.fingerprint}"
    assert lines[1].split() == ["LVL", "NAME", "OFFSET", "LENGTH", "USAGE", "PICTURE", "NOTES"]
    assert lines[2].split() == ["01", "DTAR020", "0", "27", "group"]
    assert lines[4].split() == ["05", "DTAR020-KEYCODE-NO", "0", "8", "display", "X(08)"]
    assert lines[-1].split() == ["03", "DTAR020-SALE-PRICE", "21", "6", "comp-3", "S9(9)V99"]
    # Names are indented by depth.
    assert "    DTAR020-KEYCODE-NO" in lines[4]


def test_table_notes(capsys: pytest.CaptureFixture[str], fixtures: Path) -> None:
    code, out, _ = run(capsys, str(fixtures / "multi.cpy"))
    assert code == 0
    assert "DETAIL-REC  length 7..43" in out
    assert "occurs 1 to 10 depending on DETAIL-REC.DETAIL-COUNT" in out
    assert "IS-HEADER" in out and "'H'" in out


def test_json_single_record(capsys: pytest.CaptureFixture[str], realdata: Path) -> None:
    path = realdata / "carddemo" / "cpy" / "CVACT01Y.cpy"
    code, out, _ = run(capsys, "--json", str(path))
    assert code == 0
    doc = json.loads(out)
    assert doc == compile_copybook(path)[0].to_json()
    assert doc["record_length"] == 300 and doc["name"] == "ACCOUNT-RECORD"


def test_json_several_records_and_record_choice(
    capsys: pytest.CaptureFixture[str], fixtures: Path
) -> None:
    code, out, _ = run(capsys, "--json", str(fixtures / "multi.cpy"))
    assert code == 0
    doc = json.loads(out)
    assert [r["name"] for r in doc["records"]] == ["HEADER-REC", "DETAIL-REC"]
    code, out, _ = run(capsys, "--json", "--record", "detail-rec", str(fixtures / "multi.cpy"))
    assert code == 0
    assert json.loads(out)["name"] == "DETAIL-REC"
    code, _, err = run(capsys, "--record", "NOPE", str(fixtures / "multi.cpy"))
    assert code == 4 and "no record NOPE" in err


def test_include_dirs(capsys: pytest.CaptureFixture[str], fixtures: Path) -> None:
    code, out, _ = run(capsys, "-I", str(fixtures / "members"), str(fixtures / "customer.cpy"))
    assert code == 0 and "CUST-STREET" in out
    code, _, err = run(capsys, str(fixtures / "customer.cpy"))
    assert code == 4 and "COPY member ADDRESS not found" in err


def test_format_options(capsys: pytest.CaptureFixture[str], fixtures: Path) -> None:
    assert run(capsys, "--free", str(fixtures / "free_form.cbl"))[0] == 0
    assert run(capsys, "--fixed", str(fixtures / "free_form.cbl"))[0] == 3


def test_invalid_copybook_exit_3(capsys: pytest.CaptureFixture[str], fixtures: Path) -> None:
    code, out, err = run(capsys, "-I", str(fixtures / "members"), str(fixtures / "uses_broken.cpy"))
    assert code == 3 and out == ""
    assert "BROKEN.cpy:2:50: unknown USAGE 'COMP-9'" in err
    assert "uses_broken.cpy:3:47: bad PICTURE" in err
    assert "2 errors" in err


def test_missing_files_exit_4(capsys: pytest.CaptureFixture[str], fixtures: Path) -> None:
    code, _, err = run(capsys, str(fixtures / "nope.cpy"))
    assert code == 4 and "no such copybook" in err
    code, _, err = run(capsys, "-I", str(fixtures), str(fixtures / "missing_member.cpy"))
    assert code == 4 and "missing_member.cpy:2:17: COPY member NOSUCH not found" in err


def test_help_documents_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["layout", "--help"])
    out = capsys.readouterr().out
    assert '{"records": [...]}' in out and "--record" in out


def test_lenient_source_warns_on_stderr_and_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cpy = tmp_path / "shifted.cpy"
    cpy.write_text("       ****************\n      01 REC.\n         05 A PIC X(4).\n")
    code, out, err = run(capsys, str(cpy))
    assert code == 0 and "REC  length 4" in out
    assert f"{cpy}:1:8: warning: '*' in column 8 read as a comment line" in err
    assert f"{cpy}:2:7: warning: level number in column 7" in err
