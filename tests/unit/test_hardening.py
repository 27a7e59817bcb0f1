"""Hostile inputs, options and paths (issue 17): a message and a named exit code, never a
traceback, a hang or a lost input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.exitcodes import (
    RET_INTERNAL,
    RET_INVALID_RECORDS,
    RET_IO_ERROR,
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
