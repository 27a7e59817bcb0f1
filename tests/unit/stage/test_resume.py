"""judge_batches from a checkpoint: exactly the tail of a whole-file run, nothing before read.

For every framing and mapping shape (single layout, ODO, multi-layout), seeded files with field
faults and framing damage are judged in batches of a random size; then from every batch's end
checkpoint and from random record boundaries of the reference framing (its spans' ends and
VB/VBS block ends), with every byte before the checkpoint overwritten, the batches give the
same events and audit documents as the whole run from that record on.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest

from bridge.copybook.layout import Layout
from bridge.mapping.audit import AuditContext
from bridge.mapping.program import Program
from bridge.stage.audits import audit_context
from bridge.stage.batch import Checkpoint, JudgedBatch
from bridge.stage.judge import judge_batches
from bridge.stage.records import judge_file, outcomes
from tests.volume import volume

from .files import (
    CASES,
    DAMAGE,
    comparable,
    damaged,
    layouts_of,
    load_runtime,
    make_bodies,
    make_file,
    reference_spans,
    small_batches,
)


def _flat(batches: list[JudgedBatch]) -> list[tuple[Any, ...]]:
    return [comparable(o) for b in batches for o in outcomes(b)]


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize(("framing", "shape"), CASES)
def test_resuming_from_a_checkpoint_gives_the_tail_of_the_whole_run(
    tmp_path: Path, framing: str, shape: str, damage: str
) -> None:
    rng = random.Random(f"resume/{framing}/{shape}/{damage}")
    layouts = layouts_of(tmp_path, shape)
    bodies = make_bodies(framing, shape, layouts, rng, volume(rng.randint(80, 160), least=40))
    lrecl = max(lay.record_length for lay in layouts.values())
    data, spec = make_file(framing, lrecl, bodies, rng)
    data = damaged(data, spec, reference_spans(data, spec, layouts)[0], rng, damage)
    path = tmp_path / "records.dat"
    path.write_bytes(data)
    runtime = load_runtime(tmp_path, shape, spec, keys=rng.random() < 0.8)
    context = audit_context(runtime, path)
    size = rng.randint(1, 23)
    with small_batches(rng.random() < 0.5):  # tiny mmap windows and output buffers
        _check_resume(tmp_path, data, spec, layouts, runtime, context, size, rng)


def _check_resume(
    tmp_path: Path,
    data: bytes,
    spec: dict[str, Any],
    layouts: dict[str, Layout],
    runtime: Program,
    context: AuditContext,
    size: int,
    rng: random.Random,
) -> None:
    path = tmp_path / "records.dat"
    batches = list(judge_batches(runtime, path, context=context, batch_records=size))
    whole = _flat(batches)
    assert whole == [comparable(o) for o in judge_file(runtime, path, context)]
    assert batches[0].start == Checkpoint(0, spec.get("skip_header", 0))
    spans, error = reference_spans(data, spec, layouts)
    for before, after in itertools.pairwise(batches):
        assert before.end == after.start
    for batch in batches:
        numbers = sorted([*batch.events.records, *(r.record for r in batch.rejected)])
        framing_audit = [batch.end.record] if batch.framing_failed else []
        assert numbers == [*range(batch.start.record, batch.end.record), *framing_audit]
        assert len(batch.events) + len(batch.rejected) <= size
        if not batch.framing_failed:  # the checkpoint is where the reference framing says
            last = spans[batch.end.record - 1]
            assert batch.end == Checkpoint(batch.end.record, last.end, last.block_end)
    assert batches[-1].framing_failed == (error is not None)

    starts = [b.end for b in batches if not b.framing_failed]
    picked = rng.sample(range(1, len(spans) + 1), min(12, len(spans)))
    starts += [Checkpoint(k, spans[k - 1].end, spans[k - 1].block_end) for k in picked]
    for start in starts:
        # Nothing before the checkpoint is read: those bytes are gone from the file.
        blanked = tmp_path / "blanked.dat"
        blanked.write_bytes(bytes([0x5A]) * start.offset + data[start.offset :])
        tail = list(
            judge_batches(
                runtime,
                blanked,
                start=start,
                context=context,
                batch_records=rng.randint(1, 23),
            )
        )
        expected = [c for c in whole if c[1] >= start.record]
        assert _flat(tail) == expected, start
        if tail:
            assert tail[0].start == start
