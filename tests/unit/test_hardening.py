"""Hostile inputs, options and paths (issue 17): a message and a named exit code, never a
traceback, a hang or a lost input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.cli import main
from bridge.copybook.compiler import compile_copybook
from bridge.exitcodes import (
    RET_COPYBOOK_INVALID,
    RET_FATAL_DATA,
    RET_INTERNAL,
    RET_INVALID_RECORDS,
    RET_IO_ERROR,
    RET_NOT_FOUND,
    RET_OK,
    RET_USAGE,
)

COPYBOOK = """\
       01  REC.
           05  A  PIC X(4).
           05  B  PIC 9(4).
"""
GOOD = "ABCD1234".encode("cp037")
BAD = "ABCD12x4".encode("cp037")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    cpy = tmp_path / "rec.cpy"
    cpy.write_text(COPYBOOK)
    data = tmp_path / "rec.dat"
    data.write_bytes(GOOD + BAD + GOOD)
    return cpy, data


def bridge(*argv: str, stdout: int | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process (for what only a process shows: its stdout
    device, the interpreter's last flush, a traceback on stderr)."""
    exe = str(Path(sys.executable).with_name("bridge"))
    return subprocess.run(
        [exe, *argv],
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )


# -- outputs never destroy inputs ------------------------------------------------------------


@pytest.mark.parametrize("which", ["data", "copybook", "hard link of the data"])
def test_errors_naming_an_input_is_refused_and_the_input_kept(
    files: tuple[Path, Path], which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = files
    before = {p: p.read_bytes() for p in (cpy, data)}
    target = {"data": data, "copybook": cpy}.get(which)
    if target is None:
        target = data.with_name("other-name.dat")
        os.link(data, target)
    code = main(["decode", str(cpy), str(data), "--errors", str(target)])
    assert code == RET_USAGE
    assert "would destroy the input" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in (cpy, data)} == before


def test_errors_naming_the_mapping_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRIDGE_PII_KEY", "k" * 32)
    root = Path(__file__).resolve().parents[2]
    mapping = tmp_path / "m.json"
    text = (root / "schemas/acctmast.mapping.json").read_text()
    mapping.write_text(text.replace('"../copybooks/', f'"{root}/copybooks/'))
    sample = root / "copybooks/samples/acctmast.dat"
    code = main(["decode", "--mapping", str(mapping), str(sample), "--errors", str(mapping)])
    assert code == RET_USAGE
    assert "would destroy the input" in capsys.readouterr().err
    assert mapping.read_text() == text.replace('"../copybooks/', f'"{root}/copybooks/')


def test_stdout_appended_to_the_input_is_refused(files: tuple[Path, Path]) -> None:
    cpy, data = files
    before = data.read_bytes()
    with data.open("ab") as out:
        done = bridge("decode", str(cpy), str(data), stdout=out.fileno())
    assert done.returncode == RET_USAGE
    assert "stdout is the input" in done.stderr
    assert data.read_bytes() == before


def test_errors_file_is_replaced_only_when_the_run_ends(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = files
    errors = data.with_name("rejects.jsonl")
    errors.write_text("from the last run\n")
    os.chmod(errors, 0o640)
    assert main(["decode", str(cpy), str(data), "--errors", str(errors)]) == RET_INVALID_RECORDS
    lines = errors.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["record"]["number"] == 1
    assert os.stat(errors).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in data.parent.iterdir()) == ["rec.cpy", "rec.dat", "rejects.jsonl"]


def test_a_run_that_dies_leaves_the_errors_file_as_it_was(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = files
    errors = data.with_name("rejects.jsonl")
    errors.write_text("from the last run\n")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("bridge.commands.decode.audit_json", boom)
    assert main(["decode", str(cpy), str(data), "--errors", str(errors)]) == RET_INTERNAL
    assert errors.read_text() == "from the last run\n"
    assert sorted(p.name for p in data.parent.iterdir()) == ["rec.cpy", "rec.dat", "rejects.jsonl"]
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: a bug" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("target", "why"),
    [("{dir}", "it is a directory"), ("{dir}/missing/x.jsonl", "no directory")],
)
def test_errors_path_that_cannot_be_written(
    files: tuple[Path, Path], target: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = files
    path = target.format(dir=data.parent)
    assert main(["decode", str(cpy), str(data), "--errors", path]) == RET_IO_ERROR
    err = capsys.readouterr().err
    assert why in err and path in err
    assert data.read_bytes() == GOOD + BAD + GOOD


def test_errors_on_a_full_device(files: tuple[Path, Path]) -> None:
    cpy, data = files
    done = bridge("decode", str(cpy), str(data), "--errors", "/dev/full")
    assert done.returncode == RET_IO_ERROR
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["layout", "{cpy}"],
        ["layout", "{cpy}", "--json"],
        ["decode", "{cpy}", "{data}"],
        ["mapping", "init", "{cpy}"],
        ["--help"],
    ],
)
def test_stdout_on_a_full_device(files: tuple[Path, Path], argv: list[str]) -> None:
    cpy, data = files
    with open("/dev/full", "w") as full:
        done = bridge(*(a.format(cpy=cpy, data=data) for a in argv), stdout=full.fileno())
    assert done.returncode == RET_IO_ERROR, done.stderr
    assert "Traceback" not in done.stderr
    assert "No space left on device" in done.stderr


def test_internal_error_traceback_only_on_request(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = files

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("bridge.commands.decode._write", boom)
    assert main(["decode", str(cpy), str(data)]) == RET_INTERNAL
    assert "Traceback" not in capsys.readouterr().err
    monkeypatch.setenv("BRIDGE_DEBUG", "1")
    assert main(["decode", str(cpy), str(data)]) == RET_INTERNAL
    assert "Traceback" in capsys.readouterr().err


def test_good_run_still_ok(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cpy, data = files
    data.write_bytes(GOOD)
    assert main(["decode", str(cpy), str(data)]) == RET_OK


# -- crashes become messages and named exit codes --------------------------------------------

MULTI = """\
       01  HEADER-REC.
           05  REC-TYPE        PIC X.
           05  RUN-DATE        PIC 9(8).
       01  DETAIL-REC.
           05  REC-TYPE        PIC X.
           05  ACCT-ID         PIC 9(8).
"""


def _rdw(text: str) -> bytes:
    return (len(text) + 4).to_bytes(2, "big") + b"\0\0" + text.encode("cp037")


@pytest.fixture
def multi(tmp_path: Path) -> tuple[Path, Path]:
    cpy = tmp_path / "multi.cpy"
    cpy.write_text(MULTI)
    data = tmp_path / "multi.rdw"
    data.write_bytes(_rdw("H20200101") + _rdw("D12345678") + b"\0\x05\0\0")  # cut short
    return cpy, data


WHEN = [
    "--discriminator",
    "HEADER-REC.REC-TYPE",
    "--when",
    "H=HEADER-REC",
    "--when",
    "D=DETAIL-REC",
]


@pytest.mark.parametrize("framing", ["rdw", "rdw-le"])
def test_discriminator_framing_error_keeps_the_records_before_it(
    multi: tuple[Path, Path], framing: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    cpy, data = multi
    code = main(["decode", str(cpy), str(data), "--framing", framing, *WHEN])
    out, err = capsysbinary.readouterr()
    assert code == RET_FATAL_DATA
    assert b"Traceback" not in err and b"BufferError" not in err
    if framing == "rdw":  # two records frame before the cut one
        assert len(out.splitlines()) == 2
        assert b"offset 26: record 2: RDW says 5 bytes" in err
        assert b"3 records read = 2 valid + 1 rejected" in err
    else:  # little-endian lengths: the first RDW is already wrong
        assert out == b""
        assert b"offset 0: record 0" in err
        assert b"1 records read = 0 valid + 1 rejected" in err


def test_hexdump_of_an_unframeable_file(
    multi: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = multi
    argv = ["decode", str(cpy), str(data), "--record", "HEADER-REC", "--framing", "rdw-le"]
    assert main([*argv, "--hexdump", "0"]) == RET_FATAL_DATA
    err = capsys.readouterr().err
    assert "offset 0: record 0: RDW says" in err and "BufferError" not in err


NESTED_ODO = """\
       01  REC.
           05  N        PIC 9.
           05  T        OCCURS 0 TO 3 DEPENDING ON N.
               10  M    PIC 9.
               10  U    OCCURS 0 TO 3 DEPENDING ON M.
                   15  V    PIC X.
"""


def test_nested_odo_falls_back_to_the_reference_decoder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "nested.cpy"
    cpy.write_text(NESTED_ODO)
    data = tmp_path / "nested.dat"
    data.write_bytes("21A2BC10".encode("cp037"))
    assert main(["decode", str(cpy), str(data), "--framing", "odo"]) == RET_OK
    out, err = capsys.readouterr()
    assert "ODO count inside a table" in err and "reference decoder" in err
    docs = [json.loads(line) for line in out.splitlines()]
    assert docs == [
        {"N": 2, "T": [{"M": 1, "U": [{"V": "A"}]}, {"M": 2, "U": [{"V": "B"}, {"V": "C"}]}]},
        {"N": 1, "T": [{"M": 0, "U": []}]},
    ]


@pytest.mark.parametrize(
    "picture",
    [
        "05  A  PIC 9P(120).",  # P scaling over 100 positions
        "05  A  PIC Z(70)9.",  # an edited picture over 64 bytes
        "05  G1 OCCURS 2. 10 G2 OCCURS 2. 15 G3 OCCURS 2. 20 G4 OCCURS 2. 25 G5 OCCURS 2. "
        "30 G6 OCCURS 2. 35 G7 OCCURS 2. 40 G8 OCCURS 2. 45 G9 OCCURS 2. 49 X PIC X.",
    ],
)
def test_layouts_the_native_plan_refuses_are_decoded_by_the_reference(
    tmp_path: Path, picture: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "limit.cpy"
    lines = [p if p.endswith(".") else p + "." for p in picture.split(". ")]
    cpy.write_text("       01  REC.\n" + "".join(f"           {p}\n" for p in lines))
    data = tmp_path / "limit.dat"
    (layout,) = compile_copybook(cpy)
    data.write_bytes(b"\xf0" * layout.record_length)
    code = main(["decode", str(cpy), str(data)])
    err = capsys.readouterr().err
    assert code in (RET_OK, RET_INVALID_RECORDS)
    assert "reference decoder" in err and "1 records read" in err


def test_unknown_redefines_item(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = files
    assert main(["decode", str(cpy), str(data), "--redefines", "A=NOPE"]) == RET_USAGE
    assert "--redefines: no item NOPE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--record-prefix", "-3"),
        ("--skip-header", "-1"),
        ("--skip-trailer", "-1"),
        ("--record-length", "-8"),
        ("--record-length", "0"),
        ("--limit", "-1"),
        ("--skip", "-2"),
        ("--hexdump", "-1"),
    ],
)
def test_negative_or_zero_options_are_usage_errors(
    files: tuple[Path, Path], option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = files
    with pytest.raises(SystemExit) as info:
        main(["decode", str(cpy), str(data), f"{option}={value}"])
    assert info.value.code == RET_USAGE
    assert f"argument {option}: {value} is" in capsys.readouterr().err


def test_duplicate_when_is_a_usage_error(
    multi: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = multi
    argv = ["decode", str(cpy), str(data), "--framing", "rdw"]
    argv += ["--discriminator", "HEADER-REC.REC-TYPE", "--when", "H=HEADER-REC"]
    assert main([*argv, "--when", "H=DETAIL-REC"]) == RET_USAGE
    assert "--when H=... is given twice" in capsys.readouterr().err


def test_options_a_mapping_overrides_are_refused(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, data = files
    root = Path(__file__).resolve().parents[2]
    argv = ["decode", "--mapping", str(root / "schemas/acctmast.mapping.json"), str(data)]
    argv += ["--framing", "vb", "--codepage", "cp500", "--hexdump", "2", "--reference", "--fixed"]
    assert main(argv) == RET_USAGE
    err = capsys.readouterr().err
    for option in ("--framing", "--codepage", "--hexdump", "--reference", "--free/--fixed"):
        assert option in err


TRUNCATE_WHILE_READING = """
import sys
from pathlib import Path
from bridge.cli import main
from bridge.decode import native

path = Path(sys.argv[2])
native.NativeDecoder.decode_file.__kwdefaults__["window_bytes"] = 8192
decode_batch = native.NativeDecoder.decode_batch

def truncating(self, *args, **kwargs):
    batch = decode_batch(self, *args, **kwargs)
    if kwargs["first_record"] > 0:  # another process cuts the file in the middle of the run
        with path.open("r+b") as fh:
            fh.truncate(len(sys.argv[3]) * 1500)
    return batch

native.NativeDecoder.decode_batch = truncating
sys.exit(main(["decode", sys.argv[1], sys.argv[2]]))
"""


def test_file_truncated_while_read_is_a_framing_error_not_sigbus(
    files: tuple[Path, Path],
) -> None:
    cpy, data = files
    data.write_bytes(GOOD * 4000)  # 32,000 bytes: four 8 KiB windows
    done = subprocess.run(
        [sys.executable, "-c", TRUNCATE_WHILE_READING, str(cpy), str(data), "x" * len(GOOD)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == RET_FATAL_DATA, done.stderr
    assert "offset 16384: file changed while reading" in done.stderr
    assert done.stdout.count("\n") == 2048  # the two windows read before the cut
    assert "2049 records read = 2048 valid + 1 rejected" in done.stderr


# -- records longer than their layout ---------------------------------------------------------


def test_longer_records_are_counted_by_default_and_rejected_when_strict(
    files: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    cpy, data = files
    rdw = data.with_name("long.rdw")
    rdw.write_bytes(_rdw("ABCD1234") + _rdw("ABCD1234XY") + _rdw("ABCD1234"))
    argv = ["decode", str(cpy), str(rdw), "--framing", "rdw"]
    assert main(argv) == RET_OK
    out, err = capsysbinary.readouterr()
    assert len(out.splitlines()) == 3
    assert b"3 records read = 3 valid + 0 rejected (1 of them longer than their layout" in err
    assert main([*argv, "--strict-length"]) == RET_INVALID_RECORDS
    out, err = capsysbinary.readouterr()
    assert len(out.splitlines()) == 2
    audit = json.loads(err.splitlines()[0])
    assert audit["record"]["number"] == 1
    (reason,) = audit["reasons"]
    assert reason["rule"] == "record-too-long"
    assert (reason["offset"], reason["length"], reason["raw"]) == (24, 2, "e7e8")
    assert "2 more than its layout's 8" in reason["message"]
    assert b"3 records read = 2 valid + 1 rejected\n" in err


def test_record_length_beyond_the_layout_is_counted(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = files
    data.write_bytes(GOOD + b"\x40\x40" + GOOD + b"\x40\x40")
    assert main(["decode", str(cpy), str(data), "--record-length", "10"]) == RET_OK
    assert "2 of them longer than their layout" in capsys.readouterr().err
    code = main(["decode", str(cpy), str(data), "--record-length", "10", "--strict-length"])
    assert code == RET_INVALID_RECORDS
    assert "0 valid + 2 rejected" in capsys.readouterr().err


# -- hangs: pictures, COPY bombs, non-regular inputs -------------------------------------------


def test_huge_picture_is_a_located_error_not_a_hang(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "huge.cpy"
    cpy.write_text("       01  REC.\n           05  A  PIC X(999999999).\n")
    assert main(["layout", str(cpy)]) == RET_COPYBOOK_INVALID
    err = capsys.readouterr().err
    assert f"{cpy}:2:" in err and "larger than IBM COBOL allows in one item (134,217,727)" in err


def test_large_legal_picture_is_counted_not_expanded(tmp_path: Path) -> None:
    cpy = tmp_path / "big.cpy"
    cpy.write_text(
        "       01  REC.\n           05  A  PIC X(134217727).\n           05  B PIC 9.\n"
    )
    (layout,) = compile_copybook(cpy)
    assert layout.record_length == 134_217_728


def _copy_chain(tmp_path: Path, name: str, levels: int, copies: int) -> Path:
    for i in range(levels):
        body = f"           COPY {name}{i + 1}.\n" * copies if i < levels - 1 else ""
        (tmp_path / f"{name}{i}.cpy").write_text(body or "           05  F  PIC X.\n")
    top = tmp_path / f"{name}-top.cpy"
    top.write_text(f"       01  REC.\n           COPY {name}0.\n")
    return top


@pytest.mark.parametrize(
    ("levels", "copies", "message"),
    [
        (26, 2, "COPY nesting deeper than 20 (at M20)"),  # 2**26 members: never finished
        (16, 2, "more than 1000 COPY statements expanded"),
        (30, 1, "COPY nesting deeper than 20 (at M20)"),  # said "copies itself"
    ],
)
def test_copy_expansion_is_capped_with_a_located_error(
    tmp_path: Path, levels: int, copies: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    top = _copy_chain(tmp_path, "M", levels, copies)
    assert main(["layout", str(top)]) == RET_COPYBOOK_INVALID
    err = capsys.readouterr().err
    assert message in err and err.count("COPY") <= 3  # said once, where it happens
    assert "copies itself" not in err


@pytest.mark.parametrize("kind", ["fifo", "loop", "directory"])
@pytest.mark.parametrize("role", ["copybook", "data", "mapping"])
def test_non_regular_inputs_are_refused(
    files: tuple[Path, Path], kind: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy, data = files
    odd = data.with_name(f"odd-{kind}")
    if kind == "fifo":
        os.mkfifo(odd)
    elif kind == "loop":
        os.symlink(odd.with_name("other"), odd)
        os.symlink(odd, odd.with_name("other"))
    else:
        odd.mkdir()
    argv = {
        "copybook": ["decode", str(odd), str(data)],
        "data": ["decode", str(cpy), str(odd)],
        "mapping": ["mapping", "check", str(odd)],
    }[role]
    assert main(argv) == RET_NOT_FOUND
    err = capsys.readouterr().err
    expected = {"fifo": "not a regular file (a FIFO)", "loop": "symlink loop"}
    assert expected.get(kind, "a directory") in err and str(odd) in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply"),
        (b'{"name": "caf\xe9"}', "not UTF-8 text: byte offset 13 (line 1): X'E9'"),
        (b'{"name": "a",\n "name": "b"}', 'key "name" given twice in one object'),
    ],
)
def test_mapping_documents_that_no_reader_agrees_on(
    tmp_path: Path, content: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "m.json"
    mapping.write_bytes(content)
    assert main(["mapping", "check", str(mapping)]) == RET_COPYBOOK_INVALID
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# -- mappings that check accepted and then lost data or crashed --------------------------------

GROUPED = """\
       01  REC.
           05  G.
               10  A  PIC X(4).
               10  B  PIC 9(4).
           05  C  PIC X(2).
               88  C-YES  VALUE 'Y '.
               88  C-NO   VALUE 'N '.
"""


@pytest.fixture
def grouped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    cpy = tmp_path / "grouped.cpy"
    cpy.write_text(GROUPED)
    assert main(["mapping", "init", str(cpy), "--relative-to", str(tmp_path)]) == RET_OK
    mapping = tmp_path / "grouped.json"
    mapping.write_text(capsys.readouterr().out)
    assert main(["mapping", "check", str(mapping)]) == RET_OK
    capsys.readouterr()
    return mapping


def _edit(mapping: Path, change: Callable[[dict[str, Any]], object]) -> None:
    document = json.loads(mapping.read_text())
    change(document)
    mapping.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.setdefault("drop", []).append({"source": "REC.G"}),
            "/drop/0/source [REC.G]: drops group REC.G, whose item(s) REC.G.A, REC.G.B are mapped",
        ),
        (
            lambda d: d["fields"][2]["values"][0].update(source=[]),
            "/fields/2/values/0/source [REC.C]: an empty list: no value would ever match",
        ),
        (
            lambda d: d["fields"][0].update(null_values=["TOOLONG"]),
            "/fields/0/null_values/0 [REC.G.A]: 'TOOLONG' is longer than PIC X(4)",
        ),
        (
            lambda d: d["fields"][1].update(null_values=[-1, 12345, "1.5"]),
            "/fields/1/null_values/0 [REC.G.B]: -1 cannot be held by PIC 9(4)",
        ),
        (
            lambda d: d["source"]["framing"].update(record_length=10**15),
            "/source/framing/record_length: record_length 1000000000000000 is larger than any",
        ),
        (
            lambda d: d["copybook"].update(include_dirs=["no-such-dir"]),
            "/copybook/include_dirs/0: no such directory",
        ),
        (
            lambda d: d["fields"][0].update(maxLength=10**400),
            "/fields/0/maxLength [REC.G.A]: maxLength is larger than any field can be",
        ),
        (
            lambda d: d["fields"][0].update(target=".".join(["a"] * 5000)),
            "/fields/0/target [REC.G.A]: target nests 5000 levels; at most 32",
        ),
    ],
)
@pytest.mark.parametrize("command", ["mapping check", "schema", "decode --mapping"])
def test_mapping_refusals(
    grouped: Path,
    change: Callable[[dict[str, Any]], object],
    message: str,
    command: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _edit(grouped, change)
    data = grouped.with_name("grouped.dat")
    data.write_bytes("ABCD1234Y ".encode("cp037"))
    argv = {
        "mapping check": ["mapping", "check", str(grouped)],
        "schema": ["schema", str(grouped)],
        "decode --mapping": ["decode", "--mapping", str(grouped), str(data)],
    }[command]
    assert main(argv) == RET_COPYBOOK_INVALID
    out, err = capsys.readouterr()
    assert message in err and out == ""
    if command == "mapping check" and "PIC 9(4)" in message:  # each value that cannot fit
        assert "null_values/1 [REC.G.B]: 12345 cannot" in err
        assert "null_values/2 [REC.G.B]: 1.5 cannot" in err


def test_a_mapping_naming_a_system_file_does_not_echo_it(
    grouped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = grouped.with_name("secret")
    secret.write_text("hunter2:x:0:0:the first line\n")
    _edit(grouped, lambda d: d["copybook"].update(path=str(secret)))
    assert main(["mapping", "check", str(grouped)]) == RET_COPYBOOK_INVALID
    err = capsys.readouterr().err
    assert f"{secret}:1:1: does not compile as a copybook" in err
    assert "hunter2" not in err


# -- duplicate names in one group --------------------------------------------------------------

DUPLICATES = """\
       01  REC.
           05  A  PIC X.
           05  A  PIC X.
           05  G.
               10  B  PIC X.
           05  G.
               10  B  PIC 9.
"""


@pytest.mark.parametrize("decoder", [[], ["--reference"]])
def test_duplicate_names_in_a_group_become_unique_keys(
    tmp_path: Path, decoder: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "dup.cpy"
    cpy.write_text(DUPLICATES)
    data = tmp_path / "dup.dat"
    data.write_bytes("ABC1".encode("cp037") + "ABCx".encode("cp037"))
    assert main(["decode", str(cpy), str(data), *decoder]) == RET_INVALID_RECORDS
    out, err = capsys.readouterr()
    assert out.splitlines() == ['{"A":"A","A#2":"B","G":{"B":"C"},"G#2":{"B":1}}']
    (reason,) = json.loads(err.splitlines()[0])["reasons"]
    assert reason["path"] == "REC.G#2.B"


# -- messages that said too little --------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "      * only a comment\n"])
def test_empty_copybook_error_names_the_file(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "empty.cpy"
    cpy.write_text(text)
    assert main(["layout", str(cpy)]) == RET_COPYBOOK_INVALID
    assert f"{cpy}:1:1: no data description entries" in capsys.readouterr().err


@pytest.mark.parametrize("decoder", [[], ["--reference"]])
def test_odo_count_past_its_picture_names_why(
    tmp_path: Path, decoder: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "odo.cpy"
    cpy.write_text(
        "       01  REC.\n           05  N  PIC 9(2) COMP.\n"
        "           05  T  PIC X OCCURS 0 TO 5 DEPENDING ON N.\n"
    )
    data = tmp_path / "odo.dat"
    data.write_bytes(b"\x00\x64ABCDE")  # 100 in a PIC 9(2) count
    assert main(["decode", str(cpy), str(data), "--record-length", "7", *decoder]) == 1
    reasons = json.loads(capsys.readouterr().err.splitlines()[0])["reasons"]
    assert reasons[1]["message"] == (
        "count REC.N did not decode (no PIC 9(2) value: past its digits under TRUNC(STD), "
        "or bad bytes); the table takes 0 to 5"
    )


def test_framing_error_in_mapping_mode_says_why(
    grouped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = grouped.with_name("cut.dat")
    data.write_bytes("ABCD1234Y ABCD".encode("cp037"))
    assert main(["decode", "--mapping", str(grouped), str(data)]) == RET_FATAL_DATA
    err = capsys.readouterr().err
    assert f"bridge decode: {data}: offset 10: 14 bytes are not a multiple" in err
    (reason,) = json.loads(next(x for x in err.splitlines() if x.startswith("{")))["reasons"]
    assert (reason["offset"], reason["length"]) == (10, 4)  # from the error to the file's end


def test_mapping_init_output_file_paths_relative_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "grouped.cpy"
    cpy.write_text(GROUPED)
    out = tmp_path / "maps" / "grouped.json"
    out.parent.mkdir()
    assert main(["mapping", "init", str(cpy), "-o", str(out)]) == RET_OK
    assert json.loads(out.read_text())["copybook"]["path"] == "../grouped.cpy"
    assert main(["mapping", "check", str(out)]) == RET_OK
    assert main(["mapping", "init", str(cpy), "-o", str(cpy)]) == RET_USAGE
    assert cpy.read_text() == GROUPED


def test_mapping_init_warns_when_stdout_is_a_file_elsewhere(tmp_path: Path) -> None:
    cpy = tmp_path / "grouped.cpy"
    cpy.write_text(GROUPED)
    (tmp_path / "maps").mkdir()
    with (tmp_path / "maps" / "m.json").open("w") as out:
        done = bridge("mapping", "init", str(cpy), stdout=out.fileno())
    assert done.returncode == RET_OK
    assert "warning: stdout is" in done.stderr and "use -o FILE" in done.stderr


def test_a_mapping_over_a_layout_the_c_plan_refuses_is_invalid_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "nested.cpy"
    cpy.write_text(NESTED_ODO)
    mapping = tmp_path / "nested.json"
    assert main(["mapping", "init", str(cpy), "-o", str(mapping)]) == RET_OK
    _edit(mapping, lambda d: d["source"].update(framing={"type": "odo"}))
    data = tmp_path / "nested.dat"
    data.write_bytes("21A2BC".encode("cp037"))
    for argv in (
        ["mapping", "check", str(mapping)],
        ["decode", "--mapping", str(mapping), str(data)],
    ):
        assert main(argv) == RET_COPYBOOK_INVALID
        err = capsys.readouterr().err
        assert "record REC cannot be decoded natively (REC.T.M: an ODO count inside a table)" in err


def test_longer_records_are_counted_in_mapping_mode_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cpy = tmp_path / "rec.cpy"
    cpy.write_text(COPYBOOK)
    mapping = tmp_path / "rec.json"
    assert main(["mapping", "init", str(cpy), "-o", str(mapping)]) == RET_OK
    _edit(mapping, lambda d: d["source"].update(framing={"type": "rdw"}))
    data = tmp_path / "long.rdw"
    data.write_bytes(_rdw("ABCD1234") + _rdw("ABCD1234XY"))
    capsys.readouterr()
    assert main(["decode", "--mapping", str(mapping), str(data)]) == RET_OK
    err = capsys.readouterr().err
    assert "2 records read = 2 valid + 0 rejected (1 of them longer than their layout" in err


def test_picture_cut_at_column_72_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = "           05  A" + " " * 49 + "PIC X(1"  # the picture ends in column 72
    assert len(line) == 72
    cpy = tmp_path / "cut.cpy"
    cpy.write_text(f"       01  REC.\n{line}0).\n")
    assert main(["layout", str(cpy), "--fixed"]) == RET_COPYBOOK_INVALID
    assert f"{cpy}:2:70: PICTURE cut at column 72" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text", ["       0²  REC.\n", "       01  REC.\n           05  A PIC X(²).\n"]
)
def test_non_ascii_digits_are_not_numbers(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by tests/fuzz/fuzz_inputs.py: str.isdigit() accepts '²', int() does not."""
    cpy = tmp_path / "sup.cpy"
    cpy.write_text(text, encoding="latin-1")
    assert main(["layout", str(cpy)]) == RET_COPYBOOK_INVALID
    assert f"{cpy}:" in capsys.readouterr().err
