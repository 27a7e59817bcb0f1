"""The record stage one record at a time: ``judge_file`` over ``judge_batches``' batches.

For the CLI's callers and tests that want one object per record: an :class:`Event` for each
valid record and a :class:`Rejected` (a batch's :class:`~bridge.stage.batch.RejectedRecord`)
for each audit document, in file order.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.decode.verdict import Segments, record_end
from bridge.mapping.audit import AuditContext
from bridge.mapping.program import Program
from bridge.stage.batch import JudgedBatch, RejectedRecord
from bridge.stage.judge import judge_batches

__all__ = ["Event", "Rejected", "judge_file", "outcomes"]

Rejected = RejectedRecord  # a record that failed framing, decoding or validation


@dataclass(frozen=True)
class Event:
    """A valid record, mapped: publish ``document`` (the event's JSON) under its keys."""

    record: int
    offset: int
    length: int
    document: bytes  # compact UTF-8 JSON, as json.dumps(event, ensure_ascii=False) writes it
    case: str | None
    kafka_key: str | None
    redis_key: str | None
    segments: Segments = ()  # a spanned (VBS) record's pieces; offset is then the first's

    @property
    def end(self) -> int:
        """The file offset just past the record: where the next one's bytes begin."""
        return record_end(self.offset, self.length, self.segments)

    @functools.cached_property
    def event(self) -> dict[str, Any]:
        """The event as Python values (parsed on first use: publishing needs only bytes)."""
        value: dict[str, Any] = json.loads(self.document)
        return value


def judge_file(
    program: Program,
    path: str | Path,
    context: AuditContext | None = None,
    *,
    native_events: bool = True,
) -> Iterator[Event | RejectedRecord]:
    """One Event or Rejected per record of ``path``, in file order. ``native_events=False``
    maps every valid record with the Python mapper (the same events, for comparisons)."""
    for batch in judge_batches(program, path, context=context, native_events=native_events):
        yield from outcomes(batch)


def outcomes(batch: JudgedBatch) -> Iterator[Event | RejectedRecord]:
    """A batch's events and rejections merged back into file order."""
    events = batch.events
    rejected = batch.rejected
    r = 0
    for i in range(len(events)):
        number = events.records[i]
        while r < len(rejected) and rejected[r].record < number:
            yield rejected[r]
            r += 1
        kafka, redis = events.kafka_keys[i], events.redis_keys[i]
        yield Event(
            number,
            events.offsets[i],
            events.lengths[i],
            events.document(i),
            events.cases[i],
            None if kafka is None else kafka.decode(),
            None if redis is None else redis.decode(),
            events.segments.get(i, ()),
        )
    yield from rejected[r:]
