"""A case's valid records straight to their published events in C, in one buffer.

The case's event plan (bridge/mapping/event_plan.py) writes the events of a run of records in
one call; the keys-only plan writes objects of just their key fields, read in one json.loads a
run and turned into keys by the mapping's key builders. A record judged one at a time gets its
event from the Python mapper instead (:class:`Mapped`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.codepages import space_byte
from bridge.decode.verdict import Segments, record_bytes
from bridge.mapping.event_plan import EmitUnsupported, EventDecoder
from bridge.mapping.keys import MessageKey
from bridge.mapping.program import CaseProgram, Program

__all__ = ["Mapped", "Published", "Publisher", "encoded"]


@dataclass(frozen=True)
class Mapped:
    """A valid record's event made in Python (the fallback), with its keys."""

    document: bytes
    kafka_key: bytes | None
    redis_key: bytes | None


@dataclass(frozen=True)
class Published:
    """A run of valid records' events written by C: document i is
    ``buffer[starts[i]:starts[i] + sizes[i]]``."""

    buffer: bytes
    starts: Sequence[int]
    sizes: Sequence[int]
    kafka_keys: Sequence[bytes | None]
    redis_keys: Sequence[bytes | None]

    def one(self, i: int) -> Mapped:
        at = self.starts[i]
        return Mapped(self.buffer[at : at + self.sizes[i]], self.kafka_keys[i], self.redis_keys[i])


def encoded(key: str | None) -> bytes | None:
    return None if key is None else key.encode()


class Publisher:
    """A case's valid records straight to published events in C (bridge/mapping/event_plan.py),
    keys from a second, keys-only event plan; None from ``of`` when the mapping needs the
    Python mapper."""

    def __init__(self, program: Program, case: CaseProgram) -> None:
        assert case.events is not None
        self.events = EventDecoder(case.events)
        self.keys = EventDecoder(case.keys) if case.keys is not None else None
        # LINE SEQUENTIAL: a short line was validated padded with spaces (docs/decoding.md),
        # so its event is decoded from the same padded copy.
        self.pad_to = case.layout.record_length if program.mapping.framing.type == "lines" else 0
        self.space = bytes([space_byte(program.mapping.code_page)])
        self.kafka_key: MessageKey = program.kafka_key
        self.redis_key: MessageKey = program.redis_key

    @classmethod
    def of(cls, program: Program, case: CaseProgram) -> Publisher | None:
        """None when the case's records are mapped in Python (a C plan was refused)."""
        keyed = bool(program.kafka_key.fields | program.redis_key.fields)
        return cls(program, case) if case.publishes(keyed) else None

    def publish(
        self,
        data: memoryview,
        offsets: Sequence[int],
        lengths: Sequence[int],
        segments: Mapping[int, Segments] | None = None,
    ) -> Published | None:
        """Events of valid records (file offsets, lengths, and the pieces of spanned ones by
        index); None: a record the event plan refused, so map them in Python."""
        source: Any = data
        src_offsets: Sequence[int] = offsets
        src_lengths: Sequence[int] = lengths
        pieces = segments or {}
        if self.pad_to and any(n < self.pad_to for n in lengths):
            width = self.pad_to
            source = b"".join(
                bytes(data[at : at + n]).ljust(width, self.space)
                for at, n in zip(offsets, lengths, strict=True)
            )
            src_offsets, src_lengths = range(0, width * len(lengths), width), [width] * len(lengths)
        elif pieces:  # spanned records: their pieces joined, the batch's records back to back
            copy = bytearray()
            starts = []
            for k, (at, n) in enumerate(zip(offsets, lengths, strict=True)):
                starts.append(len(copy))
                copy += record_bytes(data, at, n, pieces.get(k, ()))
            source, src_offsets = copy, starts
        try:
            buffer, starts_, sizes = self.events.event_buffer(source, src_offsets, src_lengths)
            keys = self.keys.events(source, src_offsets, src_lengths) if self.keys else None
        except EmitUnsupported:
            return None
        if keys is None:
            none: list[bytes | None] = [None] * len(sizes)
            return Published(buffer, starts_, sizes, none, none)
        # The key fields of the whole batch parsed in one call (one small object a record).
        key_values = json.loads(b"[" + b",".join(keys) + b"]")
        kafka, redis = self.kafka_key, self.redis_key
        return Published(
            buffer,
            starts_,
            sizes,
            [encoded(kafka(k)) for k in key_values],
            [encoded(redis(k)) for k in key_values],
        )
