"""The record stage: a file becomes judged batches, every record an event or an audit document.

``judge_batches`` frames and decodes a file as its mapping says, validates each decoded record
and maps the valid ones, and yields :class:`~bridge.stage.batch.JudgedBatch` es in file order,
with stable record numbers and byte offsets and the checkpoint after each batch. A batch's
events come straight from C (publish.py): one buffer of documents and their keys, no Python
object per record. Starting from a checkpoint frames from its byte offset (and VB/VBS block),
nothing before it read. A framing failure ends the file with a ``framing`` audit document for
the bytes that could not be framed, so the accounting (records in = events + audit entries)
still holds for everything before it.

Validation runs in C as records decode (bridge/mapping/check_plan.py): a record the C checks
reject becomes an audit document straight from C's verdict. A case whose schema the C checks
or whose events the event plan do not cover (warned at load) is validated or mapped in Python
instead, record by record; validation is never skipped.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.decode.discriminator import DiscriminatorDecoder
from bridge.decode.framing import FramingError, RecordSpan, mapped
from bridge.decode.native import Batch, NativeDecoder
from bridge.decode.verdict import RecordResult, Segments
from bridge.mapping.audit import AuditContext
from bridge.mapping.check_plan import ValidatingDecoder
from bridge.mapping.program import Program
from bridge.mapping.reasons import Violation
from bridge.mapping.validate import locate
from bridge.stage.audits import (
    audit_context,
    framing_audit,
    reject,
    unknown_type,
)
from bridge.stage.batch import Checkpoint, EventBatch, JudgedBatch, RejectedRecord
from bridge.stage.publish import Mapped, Published, Publisher, encoded

__all__ = ["BATCH_RECORDS", "judge_batches"]

BATCH_RECORDS = 8192  # records judged per batch (at most)

# A validating decoder, the record's index in its batch, and its broken rules (None: valid).
_Verdict = tuple[ValidatingDecoder, int, list[tuple[int, ...]] | None]


def judge_batches(
    program: Program,
    path: str | Path,
    *,
    start: Checkpoint | None = None,
    context: AuditContext | None = None,
    batch_records: int | None = None,
    native_events: bool = True,
) -> Iterator[JudgedBatch]:
    """The records of ``path`` from ``start`` on (a checkpoint a batch ended with; None: the
    beginning), at most ``batch_records`` a batch, in file order. ``native_events=False`` maps
    every valid record with the Python mapper (the same events, for comparisons)."""
    context = context or audit_context(program, path)
    start = start if start is not None and start.record > 0 else None
    limit = max(1, batch_records or BATCH_RECORDS)
    stage = _Stage(program, context, path, native_events)
    with mapped(path) as data:  # an empty file too: it is framed all the same
        if program.mapping.discriminator is None:
            yield from stage.single(data, start, limit)
        else:
            yield from stage.cases(data, start, limit)


class _Builder:
    """One judged batch's outcomes, gathered in file order."""

    def __init__(self, start: Checkpoint) -> None:
        self.start = start
        self.parts: list[bytes] = []
        self.size = 0
        self.starts = array("Q")
        self.sizes = array("I")
        self.records = array("Q")
        self.offsets = array("Q")
        self.lengths = array("I")
        self.kafka: list[bytes | None] = []
        self.redis: list[bytes | None] = []
        self.cases: list[str | None] = []
        self.segments: dict[int, Segments] = {}
        self.rejected: list[RejectedRecord] = []

    def published(
        self,
        events: Published,
        records: Sequence[int],
        offsets: Sequence[int],
        lengths: Sequence[int],
        case: str | None,
        segments: Mapping[int, Segments],
    ) -> None:
        """A run of C's events (the batch's first events: none may be there before them)."""
        assert not self.records
        self.parts.append(events.buffer)
        self.size = len(events.buffer)
        self.starts = _array("Q", events.starts)
        self.sizes = _array("I", events.sizes)
        self.records = _array("Q", records)
        self.offsets = _array("Q", offsets)
        self.lengths = _array("I", lengths)
        self.kafka.extend(events.kafka_keys)
        self.redis.extend(events.redis_keys)
        self.cases.extend([case] * len(records))
        self.segments.update(segments)

    def add(
        self,
        outcome: Mapped | RejectedRecord,
        result: RecordResult | RecordSpan,
        case: str | None,
    ) -> None:
        number = result.record if isinstance(result, RecordResult) else result.number
        if isinstance(outcome, RejectedRecord):
            self.rejected.append(outcome)
            return
        if result.segments:
            self.segments[len(self.records)] = result.segments
        self.parts.append(outcome.document)
        self.starts.append(self.size)
        self.sizes.append(len(outcome.document))
        self.size += len(outcome.document)
        self.records.append(number)
        self.offsets.append(result.offset)
        self.lengths.append(result.length)
        self.kafka.append(outcome.kafka_key)
        self.redis.append(outcome.redis_key)
        self.cases.append(case)

    def done(self, end: Checkpoint) -> JudgedBatch:
        events = EventBatch(
            buffer=b"".join(self.parts),
            starts=self.starts,
            sizes=self.sizes,
            records=self.records,
            offsets=self.offsets,
            lengths=self.lengths,
            kafka_keys=self.kafka,
            redis_keys=self.redis,
            cases=self.cases,
            segments=self.segments,
        )
        return JudgedBatch(start=self.start, end=end, events=events, rejected=self.rejected)


class _Stage:
    """One run of the record stage over one file."""

    def __init__(
        self, program: Program, context: AuditContext, path: str | Path, native_events: bool
    ) -> None:
        self.program = program
        self.context = context
        self.path = path
        self.decoders: dict[str | None, NativeDecoder] = {
            case: p.decoder() for case, p in program.cases.items()
        }
        self.publishers: dict[str | None, Publisher | None] = {
            case: Publisher.of(program, p) if native_events else None
            for case, p in program.cases.items()
        }

    def framing_failed(self, here: Checkpoint, exc: FramingError) -> JudgedBatch:
        """The batch holding only the audit of the bytes from ``here`` that do not frame."""
        audit = framing_audit(self.context, exc, self.path, here.offset, here.record)
        offset = audit["record"]["offset"]
        rejected = RejectedRecord(here.record, offset, "framing", audit)
        out = _Builder(here)
        out.rejected.append(rejected)
        return out.done(Checkpoint(here.record, offset))

    def single(
        self, data: memoryview, start: Checkpoint | None, limit: int
    ) -> Iterator[JudgedBatch]:
        program = self.program
        framing = program.mapping.framing
        decoder = self.decoders[None]
        publisher = self.publishers[None]
        here = start or Checkpoint(0, framing.skip_header)
        resume: dict[str, Any] = {}
        if start is not None:
            resume = {
                "start": start.offset,
                "first_record": start.record,
                "block_end": start.block_end,
            }
        try:
            for batch in decoder.decode_file(
                self.path,
                framing.type,
                batch_records=limit,
                **framing.frame_options(),
                **resume,
            ):
                if batch.count == 0:
                    continue
                out = _Builder(here)
                self.judge(out, decoder, publisher, batch, data)
                last = batch.count - 1
                here = Checkpoint(
                    batch.first_record + batch.count, batch.end(last), batch.block_end(last)
                )
                yield out.done(here)
        except FramingError as exc:
            yield self.framing_failed(here, exc)

    def judge(
        self,
        out: _Builder,
        decoder: NativeDecoder,
        publisher: Publisher | None,
        batch: Batch,
        data: memoryview,
    ) -> None:
        """One decoded batch of a single-layout file into ``out``."""
        first, offsets, lengths = batch.first_record, batch.offsets, batch.lengths
        errors = batch.errors
        if publisher is not None:
            assert isinstance(decoder, ValidatingDecoder)
            rules = decoder.rule_errors
            valid = [i for i in range(batch.count) if i not in errors and i not in rules]
            spanned = batch.segments
            valid_offsets = [offsets[i] for i in valid]
            valid_lengths = [lengths[i] for i in valid]
            pieces = {k: spanned[i] for k, i in enumerate(valid) if i in spanned} if spanned else {}
            events = publisher.publish(data, valid_offsets, valid_lengths, pieces)
            if events is not None:
                out.published(
                    events, [first + i for i in valid], valid_offsets, valid_lengths, None, pieces
                )
                bad = sorted({*errors, *rules.keys()})
                documents = batch.documents() if bad else []
                for i in bad:
                    result = self.result(batch, documents, i)
                    out.add(
                        self.verdict(None, result, data, _native_verdict(decoder, i)), result, None
                    )
                return
        documents = batch.documents()
        for i in range(batch.count):
            result = self.result(batch, documents, i)
            out.add(self.verdict(None, result, data, _native_verdict(decoder, i)), result, None)

    @staticmethod
    def result(batch: Batch, documents: list[bytes], i: int) -> RecordResult:
        return RecordResult(
            batch.first_record + i,
            batch.offsets[i],
            batch.lengths[i],
            documents[i],
            batch.errors.get(i, ()),
            batch.segments.get(i, ()),
        )

    def cases(
        self, data: memoryview, start: Checkpoint | None, limit: int
    ) -> Iterator[JudgedBatch]:
        """A multi-layout file in chunks: the discriminator alone finds each record's case (a
        decode of that one field), then each case's records decode, validate and become events
        as one batch, and the outcomes come out in file order."""
        program = self.program
        probe = program.discriminator_decoder()
        here = start or Checkpoint(0, program.mapping.framing.skip_header)
        if start is None:
            spans = program.frame(data)
        else:
            spans = program.frame(
                data, start=start.offset, first_number=start.record, block_end=start.block_end
            )
        failed: FramingError | None = None
        while failed is None:
            chunk: list[RecordSpan] = []
            try:  # the records framed before a framing error are judged before its audit
                for span in spans:
                    chunk.append(span)
                    if len(chunk) == limit:
                        break
            except FramingError as exc:
                # Without its traceback: the framing generator's frame holds views of the mapped
                # file, which must be gone before the file is unmapped.
                failed = exc.with_traceback(None)
            if not chunk:
                break
            out = _Builder(here)
            if probe is None or any(s.segments or s.padding for s in chunk):
                for s in chunk:
                    case, outcome = self.one_case(s, data)
                    out.add(outcome, s, case)
            else:
                for s, (case, outcome) in zip(
                    chunk, self.chunk_cases(probe, chunk, data), strict=True
                ):
                    out.add(outcome, s, case)
            last = chunk[-1]
            here = Checkpoint(last.number + 1, last.end, last.block_end)
            yield out.done(here)
        if failed is not None:
            yield self.framing_failed(here, failed)

    def chunk_cases(
        self, probe: DiscriminatorDecoder, chunk: list[RecordSpan], data: memoryview
    ) -> list[tuple[str | None, Mapped | RejectedRecord]]:
        program, context = self.program, self.context
        offsets = [s.offset for s in chunk]
        lengths = [s.length for s in chunk]
        out: list[tuple[str | None, Mapped | RejectedRecord] | None] = [None] * len(chunk)
        groups: dict[str | None, list[int]] = {}
        disc = program.mapping.discriminator
        assert disc is not None
        keys = tuple(disc.source.split(".")[1:])
        for i, value in enumerate(probe.values(data, offsets, lengths)):
            if value is not None:  # nested as the record nests it, for case_for
                for key in reversed(keys):
                    value = {key: value}
            case = program.mapper.case_for(value) if value is not None else None
            if isinstance(case, Violation):
                span = chunk[i]
                result = RecordResult(span.number, span.offset, span.length, b"null", ())
                record = bytes(data[span.offset : span.offset + span.length])
                reason = unknown_type(program, case, record, span)
                out[i] = (None, reject(context, "decode", result, record, [reason]))
            elif case is None:  # the discriminator does not decode: the first case's errors say why
                out[i] = self.one_case(chunk[i], data)
            else:
                groups.setdefault(case, []).append(i)
        for case, members in groups.items():
            decoder = self.decoders[case]
            done = 0
            while done < len(members):
                part = members[done:]
                batch = decoder.decode_batch(
                    data, [offsets[i] for i in part], [lengths[i] for i in part]
                )
                results = [
                    RecordResult(
                        chunk[i].number, offsets[i], lengths[i], doc, batch.errors.get(k, ())
                    )
                    for k, (i, doc) in enumerate(zip(part, batch.documents(), strict=False))
                ]
                published: dict[int, Mapped] = {}
                publisher = self.publishers.get(case)
                if publisher is not None:
                    assert isinstance(decoder, ValidatingDecoder)
                    valid = [
                        k
                        for k, r in enumerate(results)
                        if not r.errors and k not in decoder.rule_errors
                    ]
                    events = publisher.publish(
                        data,
                        [results[k].offset for k in valid],
                        [results[k].length for k in valid],
                    )
                    if events is not None:
                        published = {k: events.one(j) for j, k in enumerate(valid)}
                for k, result in enumerate(results):
                    outcome = published.get(k) or self.verdict(
                        case, result, data, _native_verdict(decoder, k)
                    )
                    out[part[k]] = (case, outcome)
                done += batch.count
        assert all(o is not None for o in out)
        return [o for o in out if o is not None]

    def one_case(
        self, span: RecordSpan, data: memoryview
    ) -> tuple[str | None, Mapped | RejectedRecord]:
        """One record of a multi-layout file: the first case's decode (default REDEFINES
        choices) finds the discriminator; a record of another case is decoded again as that
        case. Only the discriminator's own decode decides: the first case's other fields may
        well fail on another case's bytes."""
        program, decoders = self.program, self.decoders
        first = next(iter(decoders.values()))
        record = bytes(span.data(data))
        probe = span.place(first.decode(record, number=span.number, offset=span.offset))
        verdict = _native_verdict(first, 0)
        disc = program.mapping.discriminator
        assert disc is not None
        field = disc.source.replace(disc.source.split(".")[0], first.layout.name, 1)
        decoded = all(e.path != field for e in probe.errors)
        case = program.mapper.case_for(_values(probe)) if decoded else None
        if isinstance(case, Violation):
            reason = unknown_type(program, case, record, span)
            return None, reject(self.context, "decode", probe, record[: span.length], [reason])
        decoder = decoders[case] if case is not None else first
        if decoder is not first:
            probe = span.place(decoder.decode(record, number=span.number, offset=span.offset))
            verdict = _native_verdict(decoder, 0)
        return case, self.verdict(case, probe, data, verdict)

    def verdict(
        self,
        case: str | None,
        result: RecordResult,
        data: memoryview,
        verdict: _Verdict | None = None,
    ) -> Mapped | RejectedRecord:
        """A record judged one at a time: ``verdict`` is C's rule violations when the decoder
        validated (None: validate here); a valid record is mapped in Python."""
        program, context = self.program, self.context
        record = result.raw(data)
        where = None if case is None else program.layout(case)  # named by its audit, if rejected
        if result.errors:
            return reject(context, "decode", result, record, result.errors, case, where)
        if verdict is None:
            outcome = program.process(
                _values(result), case, record=record, record_offset=result.offset
            )
            if not outcome.valid:
                return reject(context, "validate", result, record, outcome.violations, case, where)
            event = outcome.event
        else:
            decoder, _, broken = verdict
            if broken:
                violations = decoder.validation.violations(
                    broken, result.document, record, result.offset
                )
                return reject(context, "validate", result, record, violations, case, where)
            applied = program.mapper.apply(_values(result), case)
            if applied.violations:  # the native checks missed a conversion failure: never publish
                located = [
                    locate(v, program.mapper, case, record, result.offset)
                    for v in applied.violations
                ]
                return reject(context, "validate", result, record, located, case, where)
            event = applied.event
        document = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        return Mapped(
            document, encoded(program.kafka_key(event)), encoded(program.redis_key(event))
        )


def _array(code: str, values: Sequence[int]) -> array[int]:
    if isinstance(values, array) and values.typecode == code:
        return values
    return array(code, values)


def _native_verdict(decoder: NativeDecoder, index: int) -> _Verdict | None:
    """C's verdict on a batch's record, or None when the decoder does not validate."""
    if isinstance(decoder, ValidatingDecoder):
        return decoder, index, decoder.rule_errors.get(index)
    return None


def _values(result: RecordResult) -> dict[str, Any]:
    values: dict[str, Any] = json.loads(result.document, parse_float=Decimal)
    return values
