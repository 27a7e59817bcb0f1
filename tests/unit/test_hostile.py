"""The standing guard (issue 17): every subcommand over tests/fixtures/hostile/, under limits.

Each run is a forked child of one helper process (one import of bridge for all of them), with
RLIMIT_CPU, RLIMIT_AS and an alarm; a run fails when it prints a traceback, exits with a code
that is not one of bridge/exitcodes.py's outcomes (70, an internal error, included), is
killed at a limit, or when a decode's last line does not reconcile with what it wrote.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.exitcodes import (
    RET_COPYBOOK_INVALID,
    RET_FATAL_DATA,
    RET_INVALID_RECORDS,
    RET_IO_ERROR,
    RET_NOT_FOUND,
    RET_OK,
    RET_USAGE,
)

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
OUTCOMES = {
    RET_OK,
    RET_INVALID_RECORDS,
    RET_USAGE,
    RET_COPYBOOK_INVALID,
    RET_NOT_FOUND,
    RET_FATAL_DATA,
    RET_IO_ERROR,
}
CPU_SECONDS = 30
WALL_SECONDS = 60
MEMORY_BYTES = 2 << 30
TALLY = re.compile(r"bridge decode: (\d+) records read = (\d+) valid \+ (\d+) rejected")

# One process imports bridge, then forks a child per case: limits apply to the child alone.
RUNNER = """
import json, os, resource, signal, sys, time, traceback
from bridge.cli import build_parser, main
import bridge.stage.judge, bridge.mapping.record_schema  # loaded once, not per run
build_parser()

cases = json.load(open(sys.argv[1]))
results = {}
for case in cases:
    out, err = case["out"], case["err"]
    sys.stdout.flush(); sys.stderr.flush()
    began = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (case["cpu"], case["cpu"]))
            resource.setrlimit(resource.RLIMIT_AS, (case["memory"], case["memory"]))
            signal.alarm(case["wall"])
            os.chdir(case["cwd"])
            for fd, path in ((1, out), (2, err)):
                if fd == 1 and case.get("stdout"):
                    path = case["stdout"]
                target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(target, fd)
            try:
                code = main(case["argv"])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    results[case["id"]] = os.waitstatus_to_exitcode(status)
    if os.environ.get("HOSTILE_TIMES"):
        print(round(time.monotonic() - began, 2), case["id"], file=sys.stderr)
json.dump(results, open(sys.argv[2], "w"))
"""


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    stdout: str | None = None  # a path stdout goes to instead of a file of the run's own

    def json(self, work: Path) -> dict[str, Any]:
        return {
            "id": self.id,
            "argv": list(self.argv),
            "cwd": str(HOSTILE),
            "out": str(work / f"{_slug(self.id)}.out"),
            "err": str(work / f"{_slug(self.id)}.err"),
            "stdout": self.stdout,
            "cpu": CPU_SECONDS,
            "wall": WALL_SECONDS,
            "memory": MEMORY_BYTES,
        }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:120]


def _made(root: Path) -> dict[str, Path]:
    """Inputs no repository should hold: special files and large or explosive ones."""
    made: dict[str, Path] = {}
    os.mkfifo(root / "fifo")
    made["fifo"] = root / "fifo"
    os.symlink(root / "loop-b", root / "loop-a")
    os.symlink(root / "loop-a", root / "loop-b")
    made["loop"] = root / "loop-a"
    (root / "a-directory").mkdir()
    made["directory"] = root / "a-directory"
    bomb = root / "bomb"
    bomb.mkdir()
    for i in range(26):  # each member copies the next twice: 2**26 members unchecked
        body = f"           COPY M{i + 1}.\n" * 2 if i < 25 else "           05  F  PIC X.\n"
        (bomb / f"M{i}.cpy").write_text(body)
    (bomb / "top.cpy").write_text("       01  REC.\n           COPY M0.\n")
    made["copy-bomb"] = bomb / "top.cpy"
    deep = root / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    made["deep-json"] = deep
    return made


def _cases(made: dict[str, Path]) -> list[Case]:
    copybooks = sorted(p.name for p in HOSTILE.glob("*.cpy"))
    copybooks += [str(made[k]) for k in ("fifo", "loop", "directory", "copy-bomb")]
    data = sorted(
        p.name for p in HOSTILE.iterdir() if p.suffix in (".dat", ".rdw", ".vb", ".bin", ".txt")
    )
    data += [str(made[k]) for k in ("fifo", "loop", "directory")]
    mappings = sorted(p.name for p in HOSTILE.glob("m-*.json"))
    mappings += [str(made[k]) for k in ("deep-json", "fifo", "loop", "directory")]
    cases: list[Case] = []
    argv: tuple[str, ...]
    for cpy in copybooks:
        cases.append(Case(f"layout {cpy}", ("layout", cpy)))
        cases.append(Case(f"layout --json {cpy}", ("layout", cpy, "--json")))
        cases.append(Case(f"mapping init {cpy}", ("mapping", "init", cpy)))
        cases.append(Case(f"decode {cpy} ok-fixed.dat", ("decode", cpy, "ok-fixed.dat")))
    for name in data:
        for framing in ("fixed", "rdw", "rdw-le", "vb", "vbs", "odo", "lines"):
            argv = ("decode", "ok.cpy", name, "--framing", framing)
            cases.append(Case(f"decode ok.cpy {name} {framing}", argv))
        argv = ("decode", "ok.cpy", name, "--framing", "rdw", "--hexdump", "1")
        cases.append(Case(f"decode ok.cpy {name} --hexdump", argv))
        argv = ("decode", "ok.cpy", name, "--framing", "rdw", "--strict-length")
        cases.append(Case(f"decode ok.cpy {name} --strict-length", argv))
    when = (
        "--discriminator",
        "HEADER-REC.REC-TYPE",
        "--when",
        "H=HEADER-REC",
        "--when",
        "D=DETAIL-REC",
    )
    for name in ("multi.rdw", "ok.rdw", "random.bin", "empty.dat"):
        for framing in ("rdw", "rdw-le", "fixed", "lines"):
            argv = ("decode", "multi.cpy", name, "--framing", framing, *when)
            cases.append(Case(f"decode multi.cpy {name} {framing} --discriminator", argv))
    for mapping in mappings:
        cases.append(Case(f"mapping check {mapping}", ("mapping", "check", mapping)))
        cases.append(Case(f"schema {mapping}", ("schema", mapping)))
        for name in ("ok.rdw", "random.bin", "empty.dat"):
            argv = ("decode", "--mapping", mapping, name)
            cases.append(Case(f"decode --mapping {mapping} {name}", argv))
    odd = [
        ("--errors", "a directory", str(made["directory"])),
        ("--errors", "a missing directory", "no/such/dir/errors.jsonl"),
        ("--errors", "a full device", "/dev/full"),
        ("--errors", "the input", "mixed-fixed.dat"),
        ("--errors", "the copybook", "ok.cpy"),
        ("--record-length", "zero", "0"),
        ("--record-prefix", "negative", "-3"),
        ("--skip", "negative", "-2"),
        ("--limit", "negative", "-1"),
        ("--redefines", "an unknown item", "REC.NOPE=REC.ALSO-NOPE"),
        ("--record", "an unknown record", "NOPE"),
    ]
    for option, what, value in odd:
        argv = ("decode", "ok.cpy", "mixed-fixed.dat", f"{option}={value}")
        cases.append(Case(f"decode {option} {what}", argv))
    full: list[tuple[str, ...]] = [("layout", "ok.cpy"), ("decode", "ok.cpy", "ok-fixed.dat")]
    for argv in [*full, ("--help",)]:
        cases.append(Case(f"{' '.join(argv)} > /dev/full", argv, stdout="/dev/full"))
    return cases


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Case, int, str, str]]:
    root = tmp_path_factory.mktemp("hostile")
    work = root / "runs"
    work.mkdir()
    cases = _cases(_made(root))
    listing = root / "cases.json"
    listing.write_text(json.dumps([c.json(work) for c in cases]))
    results = root / "results.json"
    subprocess.run(
        [sys.executable, "-c", RUNNER, str(listing), str(results)],
        check=True,
        timeout=30 * 60,
        cwd=HOSTILE,
    )
    codes: dict[str, int] = json.loads(results.read_text())
    runs = {}
    for case in cases:
        spec = case.json(work)
        out = Path(spec["out"]).read_bytes() if case.stdout is None else b""
        err = Path(spec["err"]).read_text(errors="replace")
        runs[case.id] = (case, codes[case.id], out.decode(errors="replace"), err)
    return runs


def test_every_run_ends_with_a_named_outcome(
    outcomes: dict[str, tuple[Case, int, str, str]],
) -> None:
    bad = []
    for case_id, (_, code, _, err) in outcomes.items():
        last = err.strip().splitlines()[-1:] if err.strip() else [""]
        if code < 0:
            bad.append(f"{case_id}: killed by signal {-code} (over a limit?)")
        elif code not in OUTCOMES:
            bad.append(f"{case_id}: exit {code}: {last[0][:300]}")
        elif "Traceback" in err:
            bad.append(f"{case_id}: traceback: {last[0][:300]}")
    assert not bad, "\n".join(bad)
    assert len(outcomes) > 200


def test_every_decode_reconciles(outcomes: dict[str, tuple[Case, int, str, str]]) -> None:
    bad = []
    checked = 0
    for case_id, (case, code, out, err) in outcomes.items():
        if case.argv[0] != "decode" or "--hexdump" in " ".join(case.argv) or case.stdout:
            continue
        tally = TALLY.findall(err)
        if code not in (RET_OK, RET_INVALID_RECORDS, RET_FATAL_DATA):
            if tally:
                bad.append(f"{case_id}: exit {code} after a run: {tally}")
            continue
        if len(tally) != 1:
            bad.append(f"{case_id}: exit {code} and {len(tally)} tally lines")
            continue
        read, valid, rejected = (int(n) for n in tally[0])
        audits = sum(1 for line in err.splitlines() if line.startswith("{"))
        events = len(out.splitlines())
        if (read, valid, rejected) != (valid + rejected, events, audits):
            bad.append(f"{case_id}: {tally[0]} with {events} out, {audits} audits")
        if (code == RET_OK) != (rejected == 0):
            bad.append(f"{case_id}: exit {code} with {rejected} rejected")
        checked += 1
    assert not bad, "\n".join(bad)
    assert checked > 50


def test_expected_refusals(outcomes: dict[str, tuple[Case, int, str, str]]) -> None:
    """A few named outcomes, so the corpus keeps testing what it was made for."""
    expect = {
        "layout huge-picture.cpy": (RET_COPYBOOK_INVALID, "larger than IBM COBOL allows"),
        "decode nested-odo.cpy ok-fixed.dat": (None, "reference decoder"),
        "mapping check m-drop-group.json": (RET_COPYBOOK_INVALID, "drops group REC"),
        "mapping check m-latin1.json": (RET_COPYBOOK_INVALID, "not UTF-8"),
        "decode --errors the input": (RET_USAGE, "would destroy the input"),
        "decode --errors a full device": (RET_IO_ERROR, "No space left on device"),
        "decode ok.cpy long.rdw --strict-length": (RET_INVALID_RECORDS, "record-too-long"),
    }
    for case_id, (code, text) in expect.items():
        _, got, _, err = outcomes[case_id]
        assert code is None or got == code, (case_id, got, err)
        assert text in err, (case_id, err)
    bomb = next(v for k, v in outcomes.items() if k.startswith("layout ") and "bomb" in k)
    assert bomb[1] == RET_COPYBOOK_INVALID and "COPY nesting deeper than 20" in bomb[3]
