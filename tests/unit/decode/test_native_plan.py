"""The plan: what Python compiles, what the C check refuses, and real z/OS files end to end."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any

import pytest

from bridge import _native
from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Usage
from bridge.decode.native import NativeDecoder
from bridge.decode.plan import PlanError, compile_plan
from bridge.decode.reference import decode_record
from bridge.decode.verdict import DecodeOptions
from bridge.errors import NativeError

from .layouts import alnum, group, num, occurs, record, redefines

REAL = Path(__file__).resolve().parents[3].parent / "shared" / "realdata"
CARDDEMO = [
    ("CVACT01Y", "ACCTDATA"),
    ("CVACT02Y", "CARDDATA"),
    ("CVACT03Y", "CARDXREF"),
    ("CVCUS01Y", "CUSTDATA"),
    ("CVTRA06Y", "DALYTRAN"),
    ("CVTRA02Y", "DISCGRP"),
    ("CVTRA01Y", "TCATBALF"),
    ("CVTRA04Y", "TRANCATG"),
    ("CVTRA03Y", "TRANTYPE"),
    ("CSUSR01Y", "USRSEC"),
]
needs_realdata = pytest.mark.skipif(not REAL.is_dir(), reason="no ../shared/realdata")


def _check(plan: Any) -> int:
    bad = _native.ffi.new("uint32_t *")
    status: int = _native.lib.bridge_plan_check(plan, bad)
    return status


def test_plan_ops_and_keys() -> None:
    layout = record(
        "R",
        alnum("A", 2),
        group("G", num("N", 2, usage=Usage.COMP3)),
        occurs(alnum("T", 1), 3),
        alnum("FILLER", 4),
    )
    plan = compile_plan(layout)
    kinds = [op.kind for op in plan.ops]
    assert kinds == [
        _native.OP_OPEN_OBJ,
        _native.OP_TEXT,
        _native.OP_OPEN_OBJ,
        _native.OP_PACKED,
        _native.OP_CLOSE_OBJ,
        _native.OP_OPEN_ARR,
        _native.OP_TEXT,
        _native.OP_CLOSE_ARR,
        _native.OP_CLOSE_OBJ,
    ]
    assert [op.template for op in plan.ops][:7] == [
        "R",
        "R.A",
        "R.G",
        "R.G.N",
        "R.G",
        "R.T",
        "R.T[{}]",
    ]
    blob = bytes(_native.ffi.buffer(plan.c.blob, plan.c.blob_len))
    keys = [blob[o.key_off : o.key_off + o.key_len] for o in plan.c.ops[0 : plan.c.n_ops]]
    assert keys[1:4] == [b'"A":', b',"G":', b'"N":']
    assert keys[5:7] == [b',"T":', b""]


def test_an_odo_count_inside_a_table_is_refused() -> None:
    layout = record(
        "R", occurs(group("E", num("CNT", 1)), 2), occurs(alnum("T", 1), 3, low=0, on="R.E.CNT")
    )
    with pytest.raises(PlanError, match="inside a table"):
        compile_plan(layout)


def test_the_c_check_refuses_broken_plans() -> None:
    layout = record("R", alnum("A", 2), occurs(num("N", 2), 2), redefines(num("B", 2), "A"))
    plan = compile_plan(layout)
    assert _check(plan.c) == _native.lib.BRIDGE_OK
    rng = random.Random(7)
    refused = 0
    for _ in range(3000):
        ops = _native.ffi.new("bridge_op[]", plan.c.n_ops)
        _native.ffi.memmove(ops, plan.c.ops, _native.ffi.sizeof("bridge_op") * plan.c.n_ops)
        raw = _native.ffi.buffer(ops)
        for _ in range(rng.randint(1, 3)):
            raw[rng.randrange(len(raw))] = bytes([rng.randrange(256)])
        broken = _native.ffi.new("bridge_plan *", plan.c[0])
        broken.ops = ops
        status = _check(broken)
        assert status in (_native.lib.BRIDGE_OK, _native.lib.BRIDGE_E_PLAN)
        refused += status == _native.lib.BRIDGE_E_PLAN
        if status == _native.lib.BRIDGE_OK:  # whatever it accepts decodes within bounds
            decoder = NativeDecoder(layout, out_bytes=1024, max_out_bytes=1 << 16)
            decoder.plan.c.ops = ops
            data = bytes(rng.randrange(256) for _ in range(12))
            with contextlib.suppress(NativeError):  # a record's JSON beyond max_out_bytes
                decoder.decode_batch(data, fixed_length=6)
    assert refused > 1000


def test_misuse_is_an_error_not_a_crash() -> None:
    assert _check(_native.ffi.NULL) == _native.lib.BRIDGE_E_ARG
    plan = compile_plan(record("R", alnum("A", 2)))
    batch = _native.ffi.new("bridge_batch *")
    batch.n_records = 1
    assert _native.lib.bridge_decode(plan.c, batch) == _native.lib.BRIDGE_E_ARG
    data = _native.ffi.new("uint8_t[]", 4)
    out = _native.ffi.new("uint8_t[]", 4096)
    records = _native.ffi.new("bridge_record[]", 1)
    offsets = _native.ffi.new("uint64_t[]", [3])
    lengths = _native.ffi.new("uint32_t[]", [2])
    batch.data, batch.data_len, batch.offsets, batch.lengths = data, 4, offsets, lengths
    batch.out, batch.out_cap, batch.records = out, 4096, records
    assert _native.lib.bridge_decode(plan.c, batch) == _native.lib.BRIDGE_E_ARG  # past the data


@needs_realdata
@pytest.mark.parametrize(("copybook", "dataset"), CARDDEMO)
def test_carddemo_files_decode_as_the_reference_does(copybook: str, dataset: str) -> None:
    (layout,) = compile_copybook(REAL / "carddemo" / "cpy" / f"{copybook}.cpy")
    path = REAL / "carddemo" / "ebcdic" / f"AWS.M2.CARDDEMO.{dataset}.PS"
    data = path.read_bytes()
    got = [
        r
        for batch in NativeDecoder(layout).decode_file(path, batch_records=7, window_bytes=8192)
        for r in batch.results()
    ]
    lrecl = layout.record_length
    want = [
        decode_record(layout, data[i : i + lrecl], record_number=i // lrecl, file_offset=i)
        for i in range(0, len(data), lrecl)
    ]
    assert got == want


@needs_realdata
def test_dtar020_decodes_as_the_reference_does() -> None:
    (layout,) = compile_copybook(REAL / "dtar020" / "DTAR020.cbl")
    data = (REAL / "dtar020" / "DTAR020.bin").read_bytes()
    for options in (DecodeOptions(), DecodeOptions(decimals_as_strings=True, trim="both")):
        batch = NativeDecoder(layout, options).decode_batch(data, fixed_length=layout.record_length)
        assert batch.count == 379
        want = [
            decode_record(
                layout, data[i : i + 27], options=options, record_number=i // 27, file_offset=i
            )
            for i in range(0, len(data), 27)
        ]
        assert batch.results() == want
