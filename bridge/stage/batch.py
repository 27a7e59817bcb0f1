"""What the record stage hands to the sinks: judged batches and the checkpoints between them.

A :class:`JudgedBatch` holds every record framed in one stretch of the file, each exactly once:
the valid ones as published event documents (one buffer, offsets and lengths into it, their
keys), the rejected ones as audit documents. ``end`` is where the next batch starts, so a
consumer that commits a batch's output together with ``end`` can resume after any crash
without judging, publishing or losing a record twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Checkpoint", "EventBatch", "JudgedBatch", "RejectedRecord"]


@dataclass(frozen=True)
class Checkpoint:
    """Where the next record of a file begins: its number and its byte offset.

    ``offset`` is where the previous record's bytes end (its last piece's, when spanned; a
    text line's LF or CR LF follows it), or with ``record`` 0 the file's start (framing then
    skips the mapping's header itself). ``block_end`` is the end of the VB/VBS block the offset
    lies in (None between blocks, and for framings without blocks), so framing can resume
    inside a block without reading its descriptor again.
    """

    record: int = 0
    offset: int = 0
    block_end: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"record": self.record, "offset": self.offset, "block_end": self.block_end}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Checkpoint:
        return cls(int(value["record"]), int(value["offset"]), value.get("block_end"))


@dataclass(frozen=True)
class EventBatch:
    """A batch's valid records as published events, in file order.

    Event ``i`` is ``buffer[starts[i]:starts[i] + sizes[i]]`` (compact UTF-8 JSON, as
    ``bridge decode --mapping`` writes it); it is record ``records[i]`` of the file, whose bytes
    start at ``offsets[i]`` and are ``lengths[i]`` long (a spanned record: its first piece's
    offset, its joined length). Keys are UTF-8 text, None when the mapping names no such key.
    ``segments`` gives a spanned record's pieces (file offset, length) by event index.
    """

    buffer: bytes
    starts: Sequence[int]
    sizes: Sequence[int]
    records: Sequence[int]
    offsets: Sequence[int]
    lengths: Sequence[int]
    kafka_keys: Sequence[bytes | None]
    redis_keys: Sequence[bytes | None]
    cases: Sequence[str | None]
    segments: Mapping[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    def document(self, i: int) -> bytes:
        start = self.starts[i]
        return self.buffer[start : start + self.sizes[i]]

    def documents(self) -> Iterator[bytes]:
        for i in range(len(self.records)):
            yield self.document(i)

    def end(self, i: int) -> int:
        """The file offset just past event ``i``'s record (its last piece, when spanned)."""
        pieces = self.segments.get(i)
        if pieces:
            return pieces[-1][0] + pieces[-1][1]
        return self.offsets[i] + self.lengths[i]


@dataclass(frozen=True)
class RejectedRecord:
    """A record (or the unframed rest of a file: stage ``framing``) as its audit document."""

    record: int
    offset: int
    stage: str  # framing | decode | validate
    audit: dict[str, Any]


@dataclass(frozen=True)
class JudgedBatch:
    """Records ``start.record`` up to ``end.record`` of a file, each an event or an audit.

    ``events`` and ``rejected`` are each in file order; together they hold every record number
    in ``range(start.record, end.record)`` exactly once, plus at most one ``framing`` audit
    (numbered ``end.record``, the record that would have come next) when the file stops
    framing there: then ``framing_failed`` is True and no batch follows.
    """

    start: Checkpoint
    end: Checkpoint
    events: EventBatch
    rejected: Sequence[RejectedRecord]

    @property
    def framing_failed(self) -> bool:
        return any(r.stage == "framing" for r in self.rejected)

    @property
    def records_read(self) -> int:
        """Records this batch accounts for (a framing audit counts as one, as judge_file's)."""
        return len(self.events) + len(self.rejected)
