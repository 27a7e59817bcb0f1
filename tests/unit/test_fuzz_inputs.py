"""A bounded Atheris run of tests/fuzz/fuzz_inputs.py (copybook compiler, mapping checker):
a fixed number of inputs from seeds made of tests/fixtures/hostile/, none may raise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
RUNS = 2000


def test_compiler_and_checker_survive_fuzzed_inputs(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for i, path in enumerate(sorted(HOSTILE.iterdir())):
        if path.suffix == ".cpy":
            (seeds / f"c{i}").write_bytes(b"\0" + path.read_bytes())
        elif path.suffix == ".json":
            (seeds / f"m{i}").write_bytes(b"\1" + path.read_bytes())
    acctmast = (ROOT / "copybooks" / "ACCTMAST.cpy").read_bytes()
    (seeds / "acctmast").write_bytes(b"\0" + acctmast)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "fuzz" / "fuzz_inputs.py"),
            f"-runs={RUNS}",
            "-seed=17",
            "-max_len=8192",
            f"-artifact_prefix={tmp_path}/",
            str(seeds),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert f"Done {RUNS} runs" in done.stderr
