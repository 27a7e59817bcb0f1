"""Batches judged one ahead in a thread: same order, errors raised to the reader, and the
thread ends when the reader stops early."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.engine.engine import _prefetched


def items(n: int, fail_at: int | None = None) -> Iterator[Any]:
    for i in range(n):
        if i == fail_at:
            raise ValueError(f"bad batch {i}")
        yield i


def judge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "bridge-judge"]


def prefetched(source: Iterator[Any]) -> Any:
    """_prefetched over plain items (it never looks inside them)."""
    return _prefetched(source)


def test_same_items_in_order() -> None:
    assert list(prefetched(items(50))) == list(range(50))


def test_an_error_reaches_the_reader_after_the_items_before_it() -> None:
    seen = []
    with pytest.raises(ValueError, match="bad batch 7"):
        for item in prefetched(items(20, fail_at=7)):
            seen.append(item)
    assert seen == list(range(7))


def test_the_thread_ends_when_the_reader_stops() -> None:
    reader = prefetched(items(10_000))
    assert next(reader) == 0
    reader.close()
    deadline = time.monotonic() + 5
    while judge_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert judge_threads() == []
