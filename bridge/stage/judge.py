"""A file as judged batches, from a checkpoint: what the replay engine publishes from.

Provisional: batches are gathered from the per-record ``judge_file`` (bridge/records.py), and a
start past the beginning judges the records before it and throws them away. The batch types
(bridge/stage/batch.py) are the contract; framing from the checkpoint's offset and events
straight from C buffers replace this body without changing them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bridge.mapping.audit import AuditContext
from bridge.mapping.runtime import Runtime
from bridge.records import Event, Rejected, judge_file
from bridge.stage.batch import Checkpoint, EventBatch, JudgedBatch, RejectedRecord

__all__ = ["BATCH_RECORDS", "judge_batches"]

BATCH_RECORDS = 8192  # records judged per batch


def judge_batches(
    runtime: Runtime,
    path: str | Path,
    *,
    start: Checkpoint | None = None,
    context: AuditContext | None = None,
    batch_records: int = BATCH_RECORDS,
) -> Iterator[JudgedBatch]:
    """The records of ``path`` from ``start`` on, ``batch_records`` at a time, in file order."""
    start = start or Checkpoint()
    batch_records = max(1, batch_records)
    here = start
    pending: list[Event | Rejected] = []
    for outcome in judge_file(runtime, path, context):
        if outcome.record < start.record:
            continue
        pending.append(outcome)
        if len(pending) >= batch_records:
            batch = _batch(here, pending)
            yield batch
            here, pending = batch.end, []
    if pending:
        yield _batch(here, pending)


def _batch(start: Checkpoint, outcomes: list[Event | Rejected]) -> JudgedBatch:
    events = [o for o in outcomes if isinstance(o, Event)]
    rejected = [
        RejectedRecord(o.record, o.offset, o.stage, o.audit)
        for o in outcomes
        if isinstance(o, Rejected)
    ]
    buffer = b"".join(e.document for e in events)
    starts, at = [], 0
    for e in events:
        starts.append(at)
        at += len(e.document)
    last = outcomes[-1]
    if isinstance(last, Rejected) and last.stage == "framing":
        end = Checkpoint(last.record, last.offset)
    else:
        end = Checkpoint(last.record + 1, last.end if isinstance(last, Event) else _end(last))
    return JudgedBatch(
        start=start,
        end=end,
        events=EventBatch(
            buffer=buffer,
            starts=starts,
            sizes=[len(e.document) for e in events],
            records=[e.record for e in events],
            offsets=[e.offset for e in events],
            lengths=[e.length for e in events],
            kafka_keys=[e.kafka_key.encode() if e.kafka_key is not None else None for e in events],
            redis_keys=[e.redis_key.encode() if e.redis_key is not None else None for e in events],
            cases=[e.case for e in events],
        ),
        rejected=rejected,
    )


def _end(rejected: Rejected) -> int:
    """Where a rejected record's bytes end (its audit names its length and pieces)."""
    record = rejected.audit["record"]
    pieces = record.get("segments")
    if pieces:
        last = pieces[-1]
        return int(last["offset"]) + int(last["length"])
    return int(record["offset"]) + int(record["length"])
