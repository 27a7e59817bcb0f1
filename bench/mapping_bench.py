"""Mapping throughput on one core: C events, the compiled Python mapper, the reference walk.

    .venv/bin/python bench/mapping_bench.py [--records N] [--rounds R]

Two files of N (default 20,000) 300-byte cp037 ACCTMAST records, mapped by
schemas/acctmast.mapping.json: the bundled sample (copybooks/samples/acctmast.dat, 12 bad
records in every 1,000) repeated, and N distinct good records made as scripts/make_sample.py
makes them (dates, amounts and names all different, so the converters' date memo rarely hits).
A third file holds the repeated sample as RECFM=VBS, seven records in ten spanned over two
segments, eight segments a block, read by the same mapping with vbs framing.

For each file, records/s of the record stage (bridge.stage.records.judge_file: decode, validate,
map, keys) three ways: events written by C (bridge/mapping/event_plan.py, the default), the
Python mapper
(Mapper.apply: compiled walk and per-field converters) and the reference walk
(Mapper.apply_reference); and microseconds per record of the two Python mappers alone on the
decoded documents. All three must give the same events and the same rejections. Best of R
(default 3) rounds, interleaved.
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
from bridge.mapping.runtime import Runtime
from bridge.stage.records import Event, judge_file

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
COPYBOOK = ROOT / "copybooks" / "ACCTMAST.cpy"
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
RECORD_LENGTH = 300
PII_KEY = b"bench-only-pii-key-0123456789abcdef"  # the hash policy's cost, with a stand-in key
APPLY_DOCUMENTS = 20_000  # decoded documents kept for the apply-only timing


class ReferenceMapper(Mapper):
    """A mapper whose apply is the reference walk, for judge_file to run the old way."""

    def apply(self, decoded: Mapping[str, Any], case: str | None = None) -> Applied:
        return self.apply_reference(decoded, case)


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


def runtimes_for(mapping: Path) -> dict[str, Runtime]:
    """The mapping with the compiled Python mapper, and with the reference walk."""
    compiled = Runtime.load(mapping, pii_key=PII_KEY)
    reference_mapper = ReferenceMapper(compiled.mapping, compiled.layouts, pii_key=PII_KEY)
    return {"reference": replace(compiled, mapper=reference_mapper), "compiled": compiled}


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


def judged(runtime: Runtime, path: Path, native: bool = True) -> tuple[int, str]:
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


def drain(runtime: Runtime, path: Path, native: bool = True) -> int:
    """What the benchmark times: every outcome of the file, consumed and dropped."""
    return sum(1 for _ in judge_file(runtime, path, native_events=native))


def documents(runtime: Runtime, path: Path, limit: int) -> list[dict[str, Any]]:
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


def measure(name: str, path: Path, runtimes: dict[str, Runtime], rounds: int) -> list[str]:
    compiled, reference = runtimes["compiled"], runtimes["reference"]
    count, native = judged(compiled, path)
    _, ours = judged(compiled, path, native=False)
    _, theirs = judged(reference, path, native=False)
    counting = CountingMapper(compiled.mapping, compiled.layouts, pii_key=PII_KEY)
    judged(replace(compiled, mapper=counting), path, native=False)
    if not native == ours == theirs:
        sys.exit(f"{name}: the three pipelines' events differ")
    stage: dict[str, float] = {}
    for _ in range(rounds):  # interleaved, so a load spike hits all alike
        for label, runtime in (("C", compiled), *runtimes.items()):
            run = functools.partial(drain, runtime, path, label == "C")
            stage[label] = min(stage.get(label, float("inf")), best(run, 1))
    docs = documents(compiled, path, APPLY_DOCUMENTS)
    mapper = compiled.mapper

    def apply_all(apply: Callable[[Mapping[str, Any]], Applied]) -> None:
        for doc in docs:
            apply(doc)

    apply_new = best(lambda: apply_all(mapper.apply), rounds) / len(docs) * 1e6
    apply_old = best(lambda: apply_all(mapper.apply_reference), rounds) / len(docs) * 1e6
    rate_old, rate_new = count / stage["reference"], count / stage["compiled"]
    rate_c = count / stage["C"]
    row = (
        f"| {name} | {count:,} | {rate_old:,.0f} | {rate_new:,.0f} | {rate_c:,.0f}"
        f" | {rate_c / rate_new:.1f}x | {rate_c / rate_old:.1f}x"
        f" | {apply_old:.1f} | {apply_new:.1f} |"
    )
    if counting.calls < count * 0.9:  # the Python pipeline published records some other way
        row += f" (the Python run mapped only {counting.calls:,} records with Mapper.apply)"
    return [row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    runtimes = runtimes_for(MAPPING)
    rows = [
        "judge_file records/s (decode, validate, map, keys); apply alone in us per record",
        "| file | records | reference walk | Python mapper | C events | C / Python | C / ref"
        " | ref apply us | apply us |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        sample = sample_file(args.records)
        files = {
            "sample repeated": (sample, runtimes),
            "generated": (generated_file(args.records), runtimes),
            "sample as VBS": (vbs_file(sample), runtimes_for(vbs_mapping(Path(tmp)))),
        }
        for name, (data, their_runtimes) in files.items():
            path = Path(tmp) / f"{name.replace(' ', '-')}.dat"
            path.write_bytes(data)
            rows += measure(name, path, their_runtimes, args.rounds)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
