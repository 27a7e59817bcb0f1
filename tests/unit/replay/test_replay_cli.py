"""`bridge replay` refusals that need no broker: bad configuration, unknown mapping, missing
file (each with its exit code and a message naming what is wrong)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.cli import main

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"


@pytest.fixture(autouse=True)
def pii_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_PII_KEY", "replay-unit-tests-pii-key-not-a-secret-0000")


def test_unknown_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(SAMPLE), "--mapping", "/nonexistent/m.json", "--dry-run"]) == 4
    assert "/nonexistent/m.json" in capsys.readouterr().err


def test_bad_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[replay]\nchunk_records = -3\n")
    assert main(["replay", str(SAMPLE), "--mapping", str(MAPPING), "--config", str(bad)]) == 3
    assert f"{bad}: replay.chunk_records: expected an integer >= 1" in capsys.readouterr().err
    absent = tmp_path / "absent.toml"
    assert main(["replay", str(SAMPLE), "--mapping", str(MAPPING), "--config", str(absent)]) == 3
    assert f"{absent}: no such file" in capsys.readouterr().err


def test_missing_or_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    absent = tmp_path / "absent.dat"
    assert main(["replay", str(absent), "--mapping", str(MAPPING), "--dry-run"]) == 4
    assert f"{absent}: No such file or directory" in capsys.readouterr().err
    assert main(["replay", str(tmp_path), "--mapping", str(MAPPING), "--dry-run"]) == 4
    assert "Is a directory" in capsys.readouterr().err


def test_dry_run_reconciles_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    """Not on a terminal: the JSON summary on stdout, the report on stderr."""
    assert main(["replay", str(SAMPLE), "--mapping", str(MAPPING), "--dry-run"]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["outcome"] == "dry-run"
    assert summary["reconciled"] is True
    counts = summary["counts"]
    assert (counts["read"], counts["published"], counts["rejected"]) == (1000, 988, 12)
    assert counts["rejected_by_rule"]["enum"] == 2
    assert counts["rejected_by_stage"] == {"decode": 4, "validate": 8}
    assert "1000 records read = 988 published + 12 rejected  PASS" in captured.err
    assert main(["replay", str(SAMPLE), "--mapping", str(MAPPING), "--dry-run", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["counts"] == counts
    assert captured.err == ""
