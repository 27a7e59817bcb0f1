"""Decode + validate throughput on one core (not a test).

    .venv/bin/python bench/validate_bench.py [--records N] [--sample S]

N (default 1,000,000) 105-byte cp037 ACCOUNT-RECORDs (bench/account.cpy), about 3% of them
invalid, mapped by bench/account.mapping.json (a constraint on every field). One run measures:
native decode only (JSON Lines per batch); native decode + validate (the mapping's checks
compiled into the plan: one C call per batch decodes and judges, Python builds objects only
for failing records); and the naive pipeline (the reference decoder, then Mapper.apply and
jsonschema per record) on S records, extrapolated. Targets: decode+validate at least 70% of
decode-only, and at least 20x the naive pipeline. Both pipelines must find the same records
invalid on the sample.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from accounts import DISTINCT, RECORD_LENGTH, _values, layout

from bridge.decode.encoder import encode_record
from bridge.decode.native import NativeDecoder
from bridge.decode.reference import decode_to_dict
from bridge.mapping.check_plan import CheckPlan, ValidatingDecoder
from bridge.mapping.program import Program, load_program
from bridge.mapping.record_schema import case_schemas
from bridge.mapping.validate import JsonSchemaValidator, map_and_validate

MAPPING = Path(__file__).with_name("account.mapping.json")
BATCH = 8192
INVALID = 0.03

_BREAKERS: list[tuple[str, Any]] = [
    ("ACCT-BRANCH", "nyc001"),  # pattern, enum
    ("ACCT-CREDIT-LIMIT", Decimal("-0.01")),  # decimalMinimum
    ("ACCT-OPEN-DATE", "2023-02-30"),  # no such day
    ("ACCT-STATUS", "X"),  # no such status
    ("ACCT-TXN-COUNT", -1_000_001),  # minimum
    ("ACCT-NAME", "  "),  # minLength, pattern
]


def dataset(n: int, seed: int = 4) -> bytes:
    """``n`` records: DISTINCT distinct ones (INVALID of them breaking a rule), repeated."""
    rng = random.Random(seed)
    account = layout()
    distinct = []
    for i in range(min(n, DISTINCT)):
        values = _values(rng, i)
        if rng.random() < INVALID:
            name, bad = rng.choice(_BREAKERS)
            values[name] = bad
        distinct.append(encode_record(account, values))
    block = b"".join(distinct)
    whole, rest = divmod(n, len(distinct))
    return block * whole + block[: rest * RECORD_LENGTH]


def _timed(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def decode_only(decoder: NativeDecoder, data: bytes) -> int:
    view = memoryview(data)
    total = 0
    for lo in range(0, len(data), BATCH * RECORD_LENGTH):
        done = 0
        chunk = view[lo : lo + BATCH * RECORD_LENGTH]
        while done * RECORD_LENGTH < len(chunk):
            batch = decoder.decode_batch(chunk[done * RECORD_LENGTH :], fixed_length=105)
            total += len(batch.errors)
            done += batch.count
    return total


def decode_validate(native: CheckPlan, data: bytes) -> int:
    """Records judged invalid (decode errors or broken rules)."""
    decoder = ValidatingDecoder(native)
    view = memoryview(data)
    invalid = 0
    for lo in range(0, len(data), BATCH * RECORD_LENGTH):
        done = 0
        chunk = view[lo : lo + BATCH * RECORD_LENGTH]
        while done * RECORD_LENGTH < len(chunk):
            batch = decoder.decode_batch(chunk[done * RECORD_LENGTH :], fixed_length=105)
            invalid += len(batch.errors) + len(decoder.rule_errors)
            done += batch.count
    return invalid


def naive(runtime: Program, data: bytes) -> int:
    account = layout()
    [schema] = case_schemas(runtime.mapping, runtime.layouts, published=False).values()
    validators: dict[str | None, JsonSchemaValidator] = {None: JsonSchemaValidator(schema)}
    invalid = 0
    for lo in range(0, len(data), RECORD_LENGTH):
        record = data[lo : lo + RECORD_LENGTH]
        outcome = map_and_validate(runtime.mapper, validators, decode_to_dict(account, record))
        invalid += not outcome.valid
    return invalid


def run(n: int, sample: int, rounds: int) -> None:
    runtime = load_program(MAPPING)
    data = dataset(n)
    mb = len(data) / 1e6
    plain = NativeDecoder(runtime.layout(), runtime.decode_options())
    native = runtime.cases[None].checks
    assert native is not None
    decode_only(plain, data[: BATCH * RECORD_LENGTH])  # warm up
    decode_validate(native, data[: BATCH * RECORD_LENGTH])

    rows: list[tuple[str, float, int]] = []
    # Interleaved rounds, best of each: a load spike on this shared machine then slows one
    # round of both pipelines instead of skewing the ratio (noise only ever adds time).
    t_dec = t_val = float("inf")
    invalid = 0
    for _ in range(rounds):
        t, _ = _timed(lambda: decode_only(plain, data), 1)
        t_dec = min(t_dec, t)
        t, invalid = _timed(lambda: decode_validate(native, data), 1)
        t_val = min(t_val, t)
    rows.append(("native decode only", t_dec, n))
    rows.append(("native decode + validate", t_val, n))
    head = data[: sample * RECORD_LENGTH]
    t_naive, naive_invalid = _timed(lambda: naive(runtime, head), 1)
    rows.append((f"naive: reference + jsonschema ({sample:,} extrapolated)", t_naive, sample))
    native_invalid = decode_validate(native, head)
    assert native_invalid == naive_invalid, (native_invalid, naive_invalid)

    print(f"{n:,} records of {RECORD_LENGTH} bytes ({mb:,.1f} MB), {invalid:,} invalid")
    print(f"| {'pipeline':<52} | {'records/s':>12} | {'MB/s':>8} |")
    print(f"|{'-' * 54}|{'-' * 14}:|{'-' * 9}:|")
    rate = {}
    for name, seconds, count in rows:
        rate[name] = count / seconds
        print(f"| {name:<52} | {rate[name]:>12,.0f} | {rate[name] * RECORD_LENGTH / 1e6:>8.1f} |")
    vs_decode = t_dec / t_val
    vs_naive = (n / t_val) / (sample / t_naive)
    print(f"\ndecode+validate / decode-only: {vs_decode:.3f} (target >= 0.70)")
    print(f"decode+validate / naive:       {vs_naive:,.0f}x (target >= 20x)")
    print(
        f"invalid on the {sample:,}-record sample: native {native_invalid}, naive {naive_invalid}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    args = parser.parse_args()
    run(args.records, min(args.sample, args.records), max(1, args.rounds))


if __name__ == "__main__":
    main()
