"""The bundled sample (copybooks/samples/): reproducible from its generator, whole records only,
and bad exactly where its fault list says (no more, no less)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.copybook.compiler import compile_copybook
from bridge.decode.native import NativeDecoder
from bridge.mapping.apply import Mapper
from bridge.mapping.lint import errors, load_checked
from bridge.mapping.record_schema import case_schemas
from bridge.mapping.validate import map_and_validate, validators_for

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "copybooks" / "samples"
DATA = SAMPLES / "acctmast.dat"
FAULTS = SAMPLES / "acctmast.faults.json"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
GENERATED = ("acctmast.dat", "acctmast.faults.json", "README.md")
# A test key only: the mapping hashes national ids, so applying it needs some key.
TEST_PII_KEY = "test-only-key-0123456789abcdef0123456789abcdef"


def _manifest() -> dict[str, Any]:
    info: dict[str, Any] = json.loads(FAULTS.read_text(encoding="utf-8"))
    return info


def test_regenerating_gives_the_committed_bytes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_sample.py"), "--out-dir", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_size_is_a_multiple_of_the_lrecl() -> None:
    (layout,) = compile_copybook(ROOT / "copybooks" / "ACCTMAST.cpy")
    info = _manifest()
    size = DATA.stat().st_size
    assert layout.record_length == info["record_length"] == 300
    assert size > 0
    assert size % layout.record_length == 0
    assert size // layout.record_length == info["records"] == info["good"] + info["bad"]
    assert info["bad"] == len(info["faults"])


def test_records_are_bad_exactly_where_the_fault_list_says() -> None:
    mapping, layouts, problems = load_checked(MAPPING)
    assert errors(problems) == []
    mapper = Mapper(mapping, layouts, pii_key=TEST_PII_KEY.encode())
    validators = validators_for(case_schemas(mapping, layouts, published=False))
    data = DATA.read_bytes()
    found: dict[int, tuple[str, set[tuple[str | None, str]]]] = {}
    seen = 0
    for batch in NativeDecoder(layouts[0]).decode_file(DATA, "fixed"):
        for result in batch.results():
            seen += 1
            if result.errors:
                reasons: set[tuple[str | None, str]] = {
                    (e.path, str(e.reason)) for e in result.errors
                }
                found[result.record] = ("decode", reasons)
                continue
            record = data[result.offset : result.offset + result.length]
            decoded = json.loads(result.document, parse_float=Decimal)
            outcome = map_and_validate(
                mapper, validators, decoded, record=record, record_offset=result.offset
            )
            if not outcome.valid:
                violations = {(v.path, v.rule) for v in outcome.violations}
                found[result.record] = ("validate", violations)
    info = _manifest()
    assert seen == info["records"]
    expected = {f["record"]: (f["stage"], {(f["path"], f["rule"])}) for f in info["faults"]}
    assert found == expected


@pytest.mark.parametrize("name", GENERATED)
def test_generated_files_are_committed(name: str) -> None:
    assert (SAMPLES / name).is_file()
