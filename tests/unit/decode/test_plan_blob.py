"""The plan check refuses a plan without a blob, even an empty one (NULL + offset is UB in C)."""

from __future__ import annotations

from typing import Any

from bridge import _native
from bridge.copybook.layout import Usage
from bridge.decode.plan import compile_plan

from .layouts import alnum, num, record

ffi = _native.ffi
lib = _native.lib


def _check(plan: Any) -> tuple[int, int]:
    bad = ffi.new("uint32_t *")
    status: int = lib.bridge_plan_check(plan, bad)
    return status, int(bad[0])


def _keyless(plan: Any) -> tuple[Any, Any]:
    """A copy of a compiled plan whose ops use no blob bytes (no keys, no edited masks), so
    only the blob pointer itself can make the check refuse it. Returns (plan, ops) to keep the
    ops alive."""
    n = plan.c.n_ops
    ops = ffi.new("bridge_op[]", n)
    ffi.memmove(ops, plan.c.ops, ffi.sizeof("bridge_op") * n)
    for i in range(n):
        ops[i].key_off = 0
        ops[i].key_len = 0
    c = ffi.new("bridge_plan *", plan.c[0])
    c.ops = ops
    return c, ops


def test_a_compiled_plan_passes() -> None:
    plan = compile_plan(record("R", alnum("A", 2), num("N", 3, usage=Usage.COMP3)))
    assert plan.c.blob != ffi.NULL
    assert _check(plan.c) == (lib.BRIDGE_OK, 0)


def test_an_empty_blob_passes_a_null_blob_is_refused() -> None:
    plan = compile_plan(record("R", alnum("A", 2), num("N", 3, usage=Usage.COMP3)))
    c, _ops = _keyless(plan)
    empty = ffi.new("uint8_t[]", 1)  # a blob of no bytes still has an address
    c.blob, c.blob_len = empty, 0
    assert _check(c) == (lib.BRIDGE_OK, 0)
    c.blob = ffi.NULL
    assert _check(c) == (lib.BRIDGE_E_PLAN, 0)


def test_a_null_blob_with_a_length_is_refused() -> None:
    plan = compile_plan(record("R", alnum("A", 2)))
    c = ffi.new("bridge_plan *", plan.c[0])
    c.blob = ffi.NULL
    assert _check(c) == (lib.BRIDGE_E_PLAN, 0)


def test_zoned_digits_must_be_ebcdic_or_ascii() -> None:
    """A zeroed digit0 (a C caller that never said) would fail every zoned field: refused."""
    plan = compile_plan(record("R", num("N", 3)))
    assert plan.c.digit0 == 0xF0
    c = ffi.new("bridge_plan *", plan.c[0])
    for digit0, status in (
        (0x30, lib.BRIDGE_OK),
        (0, lib.BRIDGE_E_PLAN),
        (0xC0, lib.BRIDGE_E_PLAN),
    ):
        c.digit0 = digit0
        assert _check(c) == (status, 0)
