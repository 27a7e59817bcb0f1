"""Mapping throughput on one core: C events against the Python mapper (the fallback).

    .venv/bin/python bench/mapping_bench.py [--records N] [--rounds R]

Two files of N (default 20,000) 300-byte cp037 ACCTMAST records, mapped by
schemas/acctmast.mapping.json: the bundled sample (copybooks/samples/acctmast.dat, 12 bad
records in every 1,000) repeated, and N distinct good records made as scripts/make_sample.py
makes them (dates, amounts and names all different). A third file holds the repeated sample as
RECFM=VBS, seven records in ten spanned over two segments, eight segments a block, read by the
same mapping with vbs framing.

For each file, records/s of the record stage (bridge.stage.records.judge_file: decode, validate,
map, keys) with events written by C (bridge/mapping/event_plan.py, the default) and with the
Python mapper (Mapper.apply, the reference walk), records/s of judge_batches (the batch API,
no object per record), and microseconds per record of Mapper.apply alone on the decoded
documents. Both must give the same events and the same rejections. Best of R (default 3)
rounds, interleaved.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from make_sample import BRANCHES, CODEPAGE, good_values

from bridge.copybook.compiler import compile_copybook
from bridge.decode.encoder import encode_record
from bridge.decode.native import NativeDecoder
from bridge.mapping.apply import Applied, Mapper
from bridge.mapping.program import Program, load_program
from bridge.stage.judge import judge_batches
from bridge.stage.records import Event, judge_file

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
COPYBOOK = ROOT / "copybooks" / "ACCTMAST.cpy"
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
RECORD_LENGTH = 300
PII_KEY = b"bench-only-pii-key-0123456789abcdef"  # the hash policy's cost, with a stand-in key
APPLY_DOCUMENTS = 20_000  # decoded documents kept for the apply-only timing


class CountingMapper(Mapper):
    """Counts the records judge_file maps with Mapper.apply."""

    calls = 0

    def apply(self, decoded: Mapping[str, Any], case: str | None = None) -> Applied:
        self.calls += 1
        return super().apply(decoded, case)


def sample_file(n: int) -> bytes:
    data = SAMPLE.read_bytes()
    whole, rest = divmod(n * RECORD_LENGTH, len(data))
    return data * whole + data[:rest]


def vbs_file(fixed: bytes, seed: int = 1) -> bytes:
    """The records of a fixed file as VBS: most cut in two segments, eight a block."""
    rng = random.Random(seed)

    def rdw(body: bytes, code: int = 0) -> bytes:
        return (len(body) + 4).to_bytes(2, "big") + bytes([code, 0]) + body

    segments: list[bytes] = []
    for at in range(0, len(fixed), RECORD_LENGTH):
        body = fixed[at : at + RECORD_LENGTH]
        if rng.random() < 0.3:
            segments.append(rdw(body))
            continue
        cut = rng.randint(1, len(body) - 1)
        segments += [rdw(body[:cut], 1), rdw(body[cut:], 2)]
    out = bytearray()
    for i in range(0, len(segments), 8):
        block = b"".join(segments[i : i + 8])
        out += (len(block) + 4).to_bytes(2, "big") + b"\0\0" + block
    return bytes(out)


def program_for(mapping: Path) -> Program:
    return load_program(mapping, pii_key=PII_KEY)


def vbs_mapping(tmp: Path) -> Path:
    """schemas/acctmast.mapping.json reading VBS instead of fixed-length records."""
    doc = json.loads(MAPPING.read_text())
    doc["source"]["framing"] = {"type": "vbs"}
    doc["copybook"]["path"] = str((MAPPING.parent / doc["copybook"]["path"]).resolve())
    path = tmp / "acctmast-vbs.mapping.json"
    path.write_text(json.dumps(doc))
    return path


def generated_file(n: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    (layout,) = compile_copybook(COPYBOOK)
    out = bytearray()
    for account in range(n):
        values = good_values(rng, rng.choice(BRANCHES), 10**9 + account)
        out += encode_record(layout, values, codepage=CODEPAGE)
    return bytes(out)


def judged(runtime: Program, path: Path, native: bool = True) -> tuple[int, str]:
    """Records judged, and a digest of every event and every rejection's record and stage."""
    digest = hashlib.sha256()
    count = 0
    for outcome in judge_file(runtime, path, native_events=native):
        count += 1
        if isinstance(outcome, Event):
            text = json.dumps(outcome.event, ensure_ascii=False)
            digest.update(f"{outcome.record} {outcome.kafka_key} {text}\n".encode())
        else:
            digest.update(f"{outcome.record} rejected {outcome.stage}\n".encode())
    return count, digest.hexdigest()


def drain(runtime: Program, path: Path, native: bool = True) -> int:
    """What the benchmark times: every outcome of the file, consumed and dropped."""
    return sum(1 for _ in judge_file(runtime, path, native_events=native))


def drain_batches(runtime: Program, path: Path) -> int:
    """The batch API alone (what the replay engine publishes from): no object per record."""
    return sum(b.records_read for b in judge_batches(runtime, path))


def documents(runtime: Program, path: Path, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` records that decode, as the documents Mapper.apply receives."""
    framing = runtime.mapping.framing
    decoder = NativeDecoder(runtime.layout(None), runtime.decode_options(None))
    out: list[dict[str, Any]] = []
    for batch in decoder.decode_file(path, framing.type, **framing.frame_options()):
        for result in batch.results():
            if not result.errors:
                out.append(json.loads(result.document, parse_float=Decimal))
        if len(out) >= limit:
            break
    return out[:limit]


def best(fn: Callable[[], object], rounds: int) -> float:
    fastest = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def measure(name: str, path: Path, program: Program, rounds: int) -> list[str]:
    count, native = judged(program, path)
    _, python = judged(program, path, native=False)
    counting = CountingMapper(program.mapping, program.layouts, pii_key=PII_KEY)
    judged(replace(program, mapper=counting), path, native=False)
    if native != python:
        sys.exit(f"{name}: C's and the Python mapper's events differ")
    runs = {
        "Python": functools.partial(drain, program, path, False),
        "C": functools.partial(drain, program, path, True),
        "batches": functools.partial(drain_batches, program, path),
    }
    stage: dict[str, float] = {}
    for _ in range(rounds):  # interleaved, so a load spike hits all alike
        for label, run in runs.items():
            stage[label] = min(stage.get(label, float("inf")), best(run, 1))
    docs = documents(program, path, APPLY_DOCUMENTS)
    mapper = program.mapper

    def apply_all() -> None:
        for doc in docs:
            mapper.apply(doc)

    apply_us = best(apply_all, rounds) / len(docs) * 1e6
    rate_py, rate_c, rate_b = (count / stage[k] for k in ("Python", "C", "batches"))
    row = (
        f"| {name} | {count:,} | {rate_py:,.0f} | {rate_c:,.0f} | {rate_b:,.0f}"
        f" | {rate_c / rate_py:.1f}x | {apply_us:.1f} |"
    )
    if counting.calls < count * 0.9:  # the Python pipeline published records some other way
        row += f" (the Python run mapped only {counting.calls:,} records with Mapper.apply)"
    return [row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    program = program_for(MAPPING)
    rows = [
        "records/s of judge_file (decode, validate, map, keys) with the Python mapper and with"
        " C events, of judge_batches (C events, no object per record); Mapper.apply alone",
        "| file | records | Python mapper | C events | C batches | C / Python | apply us |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        sample = sample_file(args.records)
        files = {
            "sample repeated": (sample, program),
            "generated": (generated_file(args.records), program),
            "sample as VBS": (vbs_file(sample), program_for(vbs_mapping(Path(tmp)))),
        }
        for name, (data, its_program) in files.items():
            path = Path(tmp) / f"{name.replace(' ', '-')}.dat"
            path.write_bytes(data)
            rows += measure(name, path, its_program, args.rounds)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
