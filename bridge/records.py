"""The record stage: every record of a file becomes an event or an audit document, never neither.

``judge_file`` frames and decodes a file as its mapping says, maps and validates each decoded
record, and yields one :class:`Event` or one :class:`Rejected` per record, in file order, with
stable record numbers and byte offsets. ``bridge decode --mapping`` prints them; later stages
publish them. A framing failure ends the file with a ``framing`` audit document for the bytes
that could not be framed, so the accounting (records in = events + audit entries) still holds
for everything before it and the run can resume from the offset.

Validation runs in C as records decode (bridge/mapping/native.py): a record the native checks
reject becomes an audit document straight from C's verdict, and only valid records are mapped
in Python to build their events. A case whose schema the native checks do not cover (warned
once) is validated by the Python validators instead; validation is never skipped.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.codepages import space_byte
from bridge.copybook.layout import Layout
from bridge.decode.framing import FramingError, RecordSpan, mapped
from bridge.decode.native import NativeDecoder
from bridge.decode.verdict import (
    FieldError,
    RecordResult,
    Segments,
    in_file,
    record_bytes,
    record_end,
)
from bridge.mapping.apply import message_key
from bridge.mapping.audit import AuditContext
from bridge.mapping.emit import (
    DiscriminatorDecoder,
    EmitUnsupported,
    EventDecoder,
    event_decoder,
)
from bridge.mapping.model import MappingDoc
from bridge.mapping.native import ValidatingDecoder, native_validation
from bridge.mapping.reasons import Violation
from bridge.mapping.redact import redaction_plan
from bridge.mapping.runtime import Runtime
from bridge.mapping.validate import locate

__all__ = ["Event", "Rejected", "audit_context", "framing_audit", "judge_file"]

# A validating decoder, the record's index in its batch, and its broken rules (None: valid).
_Verdict = tuple[ValidatingDecoder, int, list[tuple[int, ...]] | None]

# The most bytes a framing audit document carries: enough to see what went wrong.
FRAMING_RAW_LIMIT = 64 * 1024


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

    @classmethod
    def of(
        cls,
        record: int,
        offset: int,
        length: int,
        event: dict[str, Any],
        case: str | None,
        runtime: Runtime,
        segments: Segments = (),
    ) -> Event:
        """An event the Python mapper built."""
        document = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        made = cls(
            record,
            offset,
            length,
            document,
            case,
            runtime.kafka_key(event),
            runtime.redis_key(event),
            segments,
        )
        made.__dict__["event"] = event  # already parsed
        return made


@dataclass(frozen=True)
class Rejected:
    """A record that failed framing, decoding or validation, as its audit document."""

    record: int
    offset: int
    stage: str
    audit: dict[str, Any]


def audit_context(runtime: Runtime, path: str | Path) -> AuditContext:
    mapping = runtime.mapping
    layout = runtime.layout(mapping.discriminator.cases[0].name if mapping.discriminator else None)
    return AuditContext.for_file(
        path,
        layout_name=layout.name,
        fingerprint=layout.fingerprint,
        mapping_name=mapping.name,
        mapping_version=mapping.version,
        schema_id=runtime.schema_id,
        pii_key_id=mapping.pii_key.key_id if mapping.pii_key else None,
        redaction=redaction_plan(runtime),
    )


def judge_file(
    runtime: Runtime,
    path: str | Path,
    context: AuditContext | None = None,
    *,
    native_events: bool = True,
) -> Iterator[Event | Rejected]:
    """One Event or Rejected per record of ``path``, in file order. ``native_events=False``
    maps every valid record with the Python mapper (the same events, for comparisons)."""
    context = context or audit_context(runtime, path)
    cases = (
        [c.name for c in runtime.mapping.discriminator.cases]
        if runtime.mapping.discriminator
        else [None]
    )
    decoders: dict[str | None, NativeDecoder] = {case: _decoder(runtime, case) for case in cases}
    with mapped(path) as data:  # an empty file too: it is framed all the same
        if runtime.mapping.discriminator is None:
            yield from _single(runtime, context, decoders[None], path, data, native_events)
        else:
            yield from _cases(runtime, context, decoders, path, data, native_events)


def _decoder(runtime: Runtime, case: str | None) -> NativeDecoder:
    """The case's validating decoder, or a plain one (Python validation) as a fallback."""
    native = native_validation(runtime, case)
    if native is not None:
        return native.decoder
    return NativeDecoder(runtime.layout(case), runtime.decode_options(case))


def _native_verdict(decoder: NativeDecoder, index: int) -> _Verdict | None:
    """C's verdict on a batch's record, or None when the decoder does not validate."""
    if isinstance(decoder, ValidatingDecoder):
        return decoder, index, decoder.rule_errors.get(index)
    return None


class _Publisher:
    """A case's valid records straight to published events in C (bridge/mapping/emit.py),
    keys from a second, keys-only event plan; None from ``of`` when the mapping needs the
    Python mapper (or the records are not contiguous in the file)."""

    def __init__(
        self,
        runtime: Runtime,
        events: EventDecoder,
        keys: EventDecoder | None,
        case: str | None = None,
    ):
        self.runtime = runtime
        self.events = events
        self.keys = keys
        self.case = case
        # LINE SEQUENTIAL: a short line was validated padded with spaces (docs/decoding.md),
        # so its event is decoded from the same padded copy.
        self.pad_to = events.layout.record_length if runtime.mapping.framing.type == "lines" else 0
        self.space = bytes([space_byte(runtime.mapping.code_page)])
        self.kafka_key = _keyer(runtime.mapping, "kafka")
        self.redis_key = _keyer(runtime.mapping, "redis")

    @classmethod
    def of(
        cls, runtime: Runtime, decoder: NativeDecoder, case: str | None = None
    ) -> _Publisher | None:
        mapping = runtime.mapping
        if not isinstance(decoder, ValidatingDecoder):
            return None  # validity known only after Python validation
        events = event_decoder(runtime, case)
        if events is None:
            return None
        paths = frozenset(mapping.keys.kafka) | frozenset(mapping.keys.redis)
        keys = event_decoder(runtime, case, only=paths) if paths else None
        if paths and keys is None:
            return None
        return cls(runtime, events, keys, case)

    def publish(
        self,
        data: memoryview,
        records: Sequence[int],
        offsets: Sequence[int],
        lengths: Sequence[int],
        segments: Mapping[int, Segments] | None = None,
    ) -> list[Event] | None:
        """Events of valid records (numbers, file offsets, lengths, and the pieces of spanned
        ones by index); None: a record the event plan refused, so map them in Python."""
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
            documents = self.events.events(source, src_offsets, src_lengths)
            keys = self.keys.events(source, src_offsets, src_lengths) if self.keys else None
        except EmitUnsupported:
            return None
        case = self.case
        if keys is None:
            return [
                Event(r, at, n, doc, case, None, None, pieces.get(k, ()))
                for k, (r, at, n, doc) in enumerate(
                    zip(records, offsets, lengths, documents, strict=True)
                )
            ]
        # The key fields of the whole batch parsed in one call (one small object a record).
        key_values = json.loads(b"[" + b",".join(keys) + b"]")
        kafka, redis = self.kafka_key, self.redis_key
        return [
            Event(r, at, n, doc, case, kafka(k), redis(k), pieces.get(i, ()))
            for i, (r, at, n, doc, k) in enumerate(
                zip(records, offsets, lengths, documents, key_values, strict=True)
            )
        ]


def _key_text(value: Any) -> str:
    """A key part as message_key writes it (text_form; no value: empty)."""
    if value is None:
        return ""
    if type(value) is str:
        return value
    return "true" if value is True else "false" if value is False else str(value)


def _keyer(mapping: MappingDoc, which: str) -> Callable[[Mapping[str, Any]], str | None]:
    """message_key for the keys-only objects of one mapping: the same text, the targets and
    separator looked up once (it runs twice a record)."""
    paths = mapping.keys.kafka if which == "kafka" else mapping.keys.redis
    targets = []
    for path in paths:
        spec = mapping.field_spec(path)
        assert spec is not None
        targets.append(tuple(spec.target.split(".")))
    if not targets or any(len(t) != 1 for t in targets):
        return lambda values: message_key(mapping, values, which)
    names = [t[0] for t in targets]
    join = mapping.keys.separator.join
    prefix = mapping.keys.redis_prefix if which == "redis" else ""
    return lambda values: prefix + join([_key_text(values.get(n)) for n in names])


def _single(
    runtime: Runtime,
    context: AuditContext,
    decoder: NativeDecoder,
    path: str | Path,
    data: memoryview,
    native_events: bool,
) -> Iterator[Event | Rejected]:
    framing = runtime.mapping.framing
    done_to, number = framing.skip_header, 0
    publisher = _Publisher.of(runtime, decoder) if native_events else None
    try:
        for batch in decoder.decode_file(path, framing.type, **framing.frame_options()):
            first, offsets, lengths = batch.first_record, batch.offsets, batch.lengths
            published: dict[int, Event] = {}
            if publisher is not None:
                assert isinstance(decoder, ValidatingDecoder)
                errors, rules = batch.errors, decoder.rule_errors
                valid = [i for i in range(batch.count) if i not in errors and i not in rules]
                spanned = batch.segments
                events = publisher.publish(
                    data,
                    [first + i for i in valid],
                    [offsets[i] for i in valid],
                    [lengths[i] for i in valid],
                    {k: spanned[i] for k, i in enumerate(valid) if i in spanned}
                    if spanned
                    else None,
                )
                if events is not None:
                    published = dict(zip(valid, events, strict=True))
            documents: list[bytes] | None = None  # split only when a record needs its own
            for i in range(batch.count):
                event = published.get(i)
                if event is not None:
                    yield event
                else:
                    documents = documents or batch.documents()
                    result = RecordResult(
                        first + i,
                        offsets[i],
                        lengths[i],
                        documents[i],
                        batch.errors.get(i, ()),
                        batch.segments.get(i, ()),
                    )
                    yield _judge(runtime, context, None, result, data, _native_verdict(decoder, i))
                done_to, number = batch.end(i), first + i + 1
    except FramingError as exc:
        audit = framing_audit(context, exc, path, done_to, number)
        yield Rejected(number, audit["record"]["offset"], "framing", audit)


def _cases(
    runtime: Runtime,
    context: AuditContext,
    decoders: Mapping[str | None, NativeDecoder],
    path: str | Path,
    data: memoryview,
    native_events: bool,
) -> Iterator[Event | Rejected]:
    """A multi-layout file in chunks: the discriminator alone finds each record's case (a
    decode of that one field), then each case's records decode, validate and become events
    as one batch, and the outcomes come out in file order."""
    try:
        probe: DiscriminatorDecoder | None = DiscriminatorDecoder(runtime)
    except EmitUnsupported:
        probe = None
    publishers = {
        case: _Publisher.of(runtime, decoder, case) if native_events else None
        for case, decoder in decoders.items()
    }
    done_to, number = runtime.mapping.framing.skip_header, 0
    spans = runtime.frame(data)
    failed: FramingError | None = None
    while failed is None:
        chunk: list[RecordSpan] = []
        try:  # the records framed before a framing error are judged before its audit
            chunk.extend(itertools.islice(spans, CASES_CHUNK))
        except FramingError as exc:
            # Without its traceback: the framing generator's frame holds views of the mapped
            # file, which must be gone before the file is unmapped.
            failed = exc.with_traceback(None)
        if not chunk and failed is None:
            break
        if probe is None or any(s.segments or s.padding for s in chunk):
            outcomes = [_one_case(runtime, context, decoders, s, data) for s in chunk]
        else:
            outcomes = _chunk_cases(runtime, context, decoders, publishers, probe, chunk, data)
        for span, outcome in zip(chunk, outcomes, strict=True):
            yield outcome
            done_to = record_end(span.offset, span.length, span.segments)
            number = span.number + 1
    if failed is not None:
        audit = framing_audit(context, failed, path, done_to, number)
        yield Rejected(number, audit["record"]["offset"], "framing", audit)


CASES_CHUNK = 8192  # records of a multi-layout file judged together


def _chunk_cases(
    runtime: Runtime,
    context: AuditContext,
    decoders: Mapping[str | None, NativeDecoder],
    publishers: Mapping[str | None, _Publisher | None],
    probe: DiscriminatorDecoder,
    chunk: list[RecordSpan],
    data: memoryview,
) -> list[Event | Rejected]:
    offsets = [s.offset for s in chunk]
    lengths = [s.length for s in chunk]
    out: list[Event | Rejected | None] = [None] * len(chunk)
    groups: dict[str | None, list[int]] = {}
    for i, value in enumerate(probe.values(data, offsets, lengths)):
        case = runtime.mapper.case_for(value) if value is not None else None
        if isinstance(case, Violation):
            span = chunk[i]
            result = RecordResult(span.number, span.offset, span.length, b"null", ())
            record = bytes(data[span.offset : span.offset + span.length])
            out[i] = _reject(context, "decode", result, record, [_at(runtime, case, record, span)])
        elif case is None:  # the discriminator does not decode: the first case's errors say why
            out[i] = _one_case(runtime, context, decoders, chunk[i], data)
        else:
            groups.setdefault(case, []).append(i)
    for case, members in groups.items():
        decoder = decoders[case]
        done = 0
        while done < len(members):
            part = members[done:]
            batch = decoder.decode_batch(
                data, [offsets[i] for i in part], [lengths[i] for i in part]
            )
            results = [
                RecordResult(chunk[i].number, offsets[i], lengths[i], doc, batch.errors.get(k, ()))
                for k, (i, doc) in enumerate(zip(part, batch.documents(), strict=False))
            ]
            published: dict[int, Event] = {}
            publisher = publishers.get(case)
            if publisher is not None:
                assert isinstance(decoder, ValidatingDecoder)
                valid = [
                    k
                    for k, r in enumerate(results)
                    if not r.errors and k not in decoder.rule_errors
                ]
                events = publisher.publish(
                    data,
                    [results[k].record for k in valid],
                    [results[k].offset for k in valid],
                    [results[k].length for k in valid],
                )
                if events is not None:
                    published = dict(zip(valid, events, strict=True))
            for k, result in enumerate(results):
                out[part[k]] = published.get(k) or _judge(
                    runtime, context, case, result, data, _native_verdict(decoder, k)
                )
            done += batch.count
    assert all(o is not None for o in out)
    return [o for o in out if o is not None]


def _one_case(
    runtime: Runtime,
    context: AuditContext,
    decoders: Mapping[str | None, NativeDecoder],
    span: RecordSpan,
    data: memoryview,
) -> Event | Rejected:
    """One record of a multi-layout file: the first case's decode (default REDEFINES choices)
    finds the discriminator; a record of another case is decoded again as that case. Only
    the discriminator's own decode decides: the first case's other fields may well fail on
    another case's bytes."""
    first = next(iter(decoders.values()))
    record = bytes(span.data(data))
    probe = span.place(first.decode(record, number=span.number, offset=span.offset))
    verdict = _native_verdict(first, 0)
    disc = runtime.mapping.discriminator
    assert disc is not None
    field = disc.source.replace(disc.source.split(".")[0], first.layout.name, 1)
    decoded = all(e.path != field for e in probe.errors)
    case = runtime.mapper.case_for(_values(probe)) if decoded else None
    if isinstance(case, Violation):
        return _reject(
            context, "decode", probe, record[: span.length], [_at(runtime, case, record, span)]
        )
    decoder = decoders[case] if case is not None else first
    if decoder is not first:
        probe = span.place(decoder.decode(record, number=span.number, offset=span.offset))
        verdict = _native_verdict(decoder, 0)
    return _judge(runtime, context, case, probe, data, verdict)


def _at(runtime: Runtime, violation: Violation, record: bytes, span: RecordSpan) -> Violation:
    """An unknown record type's violation with the discriminator's place and bytes (its
    offset counted as if contiguous; _reject places it in a spanned record's piece)."""
    path = violation.path
    item = next((f for lay in runtime.layouts for f in lay.fields() if f.path == path), None)
    if item is None:
        return violation
    raw = record[item.offset : item.offset + item.length].hex()
    return violation.located(path, span.offset + item.offset, item.length, raw)


def _values(result: RecordResult) -> dict[str, Any]:
    values: dict[str, Any] = json.loads(result.document, parse_float=Decimal)
    return values


def _judge(
    runtime: Runtime,
    context: AuditContext,
    case: str | None,
    result: RecordResult,
    data: memoryview,
    verdict: _Verdict | None = None,
) -> Event | Rejected:
    """``verdict``: C's rule violations when the decoder validated (None: validate here)."""
    record = result.raw(data)
    where = None if case is None else runtime.layout(case)  # named by its audit, if rejected
    if result.errors:
        return _reject(context, "decode", result, record, result.errors, case, where)
    if verdict is None:
        outcome = runtime.process(_values(result), case, record=record, record_offset=result.offset)
        if not outcome.valid:
            return _reject(context, "validate", result, record, outcome.violations, case, where)
        event = outcome.event
    else:
        decoder, _, broken = verdict
        if broken:
            violations = decoder.validation.violations(
                broken, result.document, record, result.offset
            )
            return _reject(context, "validate", result, record, violations, case, where)
        applied = runtime.mapper.apply(_values(result), case)
        if applied.violations:  # the native checks missed a conversion failure: never publish
            located = [
                locate(v, runtime.mapper, case, record, result.offset) for v in applied.violations
            ]
            return _reject(context, "validate", result, record, located, case, where)
        event = applied.event
    return Event.of(
        result.record, result.offset, result.length, event, case, runtime, result.segments
    )


def _reject(
    context: AuditContext,
    stage: str,
    result: RecordResult,
    record: bytes,
    reasons: Any,
    case: str | None = None,
    layout: Layout | None = None,
) -> Rejected:
    """``layout``: the case's record layout, named in the audit (None: the run's first)."""
    reasons_list: list[Violation | FieldError] = list(reasons)
    if result.segments:  # field errors come placed; a validator's offsets count as contiguous
        reasons_list = [
            replace(r, offset=in_file(r.offset, result.offset, result.segments))
            if isinstance(r, Violation) and r.offset is not None
            else r
            for r in reasons_list
        ]
    audit = context.record(
        stage=stage,
        record_number=result.record,
        offset=result.offset,
        raw=record,
        reasons=reasons_list,
        case=case,
        segments=result.segments,
        layout=layout,
    )
    return Rejected(result.record, result.offset, stage, audit)


def framing_audit(
    context: AuditContext, exc: FramingError, path: str | Path, done_to: int, number: int
) -> dict[str, Any]:
    """The bytes from where framing failed, as a ``framing`` audit document numbered as the
    record that would have come next (at most FRAMING_RAW_LIMIT of them). It starts at
    ``done_to`` or at the error if before (a file shorter than its header): its Rejected
    stands where it starts."""
    at = getattr(exc, "offset", done_to)
    start = min(done_to, at)
    with Path(path).open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(start)
        raw = fh.read(FRAMING_RAW_LIMIT)
    reason = Violation("framing", "framing", str(exc), offset=at, length=max(0, size - at))
    return context.record(
        stage="framing",
        record_number=number,
        offset=start,
        raw=raw,
        reasons=[reason],
        length=size - start,
    )
