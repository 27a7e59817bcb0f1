"""``replay()``: one file to Kafka exactly once, resumable after a crash at any instant.

The CLI, the daemon and Python callers all come here with a compiled mapping (a
:class:`~bridge.mapping.program.Program` from ``load_program``), a path and a
:class:`~bridge.config.Config`. Each chunk of records (one judged batch) is one Kafka
transaction: its events, its audits (chained, see chain.py), then the file's progress record
(next checkpoint, counts, chain head, offsets), and with the last chunk the file summary. A run
starts with ``init_transactions`` under a transactional.id derived from the file's SHA-256 and
the progress topic, which fences any older run of the same file and aborts what it left open,
then resumes after the last committed progress record.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import queue
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.config import Config, TopicNames
from bridge.engine.chain import CHAIN_RUN, ChainHead
from bridge.engine.progress import Counts, FileRef, Progress, now
from bridge.errors import BridgeError
from bridge.exitcodes import RET_FATAL_DATA, RET_INVALID_RECORDS, RET_OK, RET_UNRECONCILED
from bridge.mapping.audit import AuditContext, audit_json
from bridge.mapping.program import Program
from bridge.mapping.record_schema import record_schema
from bridge.sinks import headers as h
from bridge.sinks.kafka import (
    Headers,
    Patience,
    Publisher,
    ensure_topics,
    merge_offsets,
    read_topic,
)
from bridge.stage.audits import audit_context
from bridge.stage.batch import Checkpoint, EventBatch, JudgedBatch
from bridge.stage.judge import judge_batches

__all__ = ["STAGE_HEADER", "ReplayConflictError", "Summary", "replay", "transactional_id"]

STAGE_HEADER = "bridge_stage"  # on audit messages: framing | decode | validate
JSON = b"application/json"


@dataclass(frozen=True)
class Summary:
    """What a replay did. ``outcome``: ``published`` (this run committed the file's end),
    ``already-complete`` (a committed summary exists; nothing published) or ``dry-run``."""

    outcome: str
    progress: Progress
    topics: TopicNames | None
    published_now: int  # events committed by this invocation
    rejected_now: int  # audits committed by this invocation
    resumed_from: Checkpoint | None  # where this invocation started, when it resumed a run

    @property
    def exit_code(self) -> int:
        """What ``bridge replay`` exits with for this outcome (bridge/exitcodes.py)."""
        p = self.progress
        if not p.counts.reconciled:
            return RET_UNRECONCILED
        if p.framing_failed:
            return RET_FATAL_DATA
        if self.outcome == "already-complete":
            return RET_OK
        return RET_INVALID_RECORDS if p.counts.rejected else RET_OK

    def document(self) -> dict[str, Any]:
        """The JSON summary ``bridge replay --json`` prints (the file summary, and what this
        invocation did)."""
        doc = self.progress.summary(self.progress.updated)
        doc["outcome"] = self.outcome
        doc["published_now"] = self.published_now
        doc["rejected_now"] = self.rejected_now
        if self.resumed_from is not None:
            doc["resumed_from"] = self.resumed_from.to_json()
        if self.topics is not None:
            t = self.topics
            doc["topics"] = {
                "events": t.events,
                "audit": t.audit,
                "control": t.control,
                "progress": t.progress,
                "schemas": t.schemas,
            }
        return doc


def transactional_id(file_sha256: str, program: Program, topics: TopicNames) -> str:
    """Derived from the file's content and where its progress is kept (the progress record's
    key and topic): a second run of the same file anywhere fences the first (KIP-618's zombie
    fencing, per file), whatever the mapping version it runs with."""
    digest = hashlib.sha256(f"{file_sha256}\x00{topics.progress}".encode()).hexdigest()
    return f"bridge-replay-{program.mapping.name}-{digest[:40]}"


def replay(
    program: Program,
    path: str | Path,
    config: Config,
    *,
    force: bool = False,
    from_record: int | None = None,
    dry_run: bool = False,
    timeout: float | None = None,
    chunk_records: int | None = None,
    say: Callable[[str], None] = lambda message: None,
    on_chunk: Callable[[Progress], None] = lambda progress: None,
) -> Summary:
    """Publish ``path`` (module docstring); raises KafkaUnavailableError, KafkaFatalError."""
    path = Path(path)
    context = audit_context(program, path)
    file = FileRef(str(path), context.source_sha256, os.path.getsize(path))
    chunk = chunk_records or config.replay.chunk_records
    mapping_ref = {
        "name": program.mapping.name,
        "version": program.mapping.version,
        "fingerprint": context.fingerprint,
        "schema_id": program.schema_id,
    }
    fresh = _fresh(file, mapping_ref, 1, from_record or 0)
    if dry_run:
        return _dry_run(program, path, context, fresh, chunk, from_record, on_chunk)

    topics = config.topics.for_mapping(program.mapping.name)
    patience = Patience(
        config.kafka.bootstrap,
        timeout if timeout is not None else config.replay.timeout,
        config.replay.retry_interval,
        say,
    )
    props = config.kafka.properties
    partitions = ensure_topics(props, topics, config.topics, patience)
    publisher = Publisher(config.kafka, transactional_id(file.sha256, program, topics), patience)
    try:
        publisher.start()  # fences older runs: from here on the committed progress is final
        key = file.sha256.encode()
        committed: Progress | None = None
        for msg in read_topic(props, topics.progress, patience, keep=lambda k: k == key):
            if msg.value:
                committed = Progress.decode(msg.value)
        resumed_from: Checkpoint | None = None
        if committed is not None and not force and from_record is None:
            if committed.complete:
                return Summary("already-complete", committed, topics, 0, 0, None)
            if committed.mapping != mapping_ref:
                raise ReplayConflictError(
                    f"{path}: run {committed.run} of this file is unfinished with mapping "
                    f"{_mapping_text(committed.mapping)}, not {_mapping_text(mapping_ref)}: "
                    "finish it with that mapping, or start a new run with --force"
                )
            progress, resumed_from = committed, committed.next
            say(
                f"resuming run {committed.run} at record {committed.next.record} "
                f"(byte {committed.next.offset})"
            )
        else:
            run = committed.run + 1 if committed is not None else 1
            progress = _fresh(file, mapping_ref, run, from_record or 0)
        schema = _schema_message(program, props, topics, patience)
        return _publish(
            program, path, context, topics, publisher, progress, schema, chunk, resumed_from,
            on_chunk, partitions[topics.events],
        )  # fmt: skip
    finally:
        publisher.close()


class ReplayConflictError(BridgeError):
    """The file's committed progress belongs to a run this one cannot continue."""


def _mapping_text(mapping: dict[str, Any]) -> str:
    return (
        f"{mapping.get('name')} {mapping.get('version')} ({str(mapping.get('fingerprint'))[:12]})"
    )


def _fresh(file: FileRef, mapping: dict[str, Any], run: int, first: int) -> Progress:
    return Progress(
        file=file,
        mapping=mapping,
        run=run,
        next=Checkpoint(first, 0) if first else Checkpoint(),
        counts=Counts(),
        chain=ChainHead.start(file.sha256, run),
        offsets={},
    )


def _batches(
    program: Program, path: Path, context: AuditContext, start: Checkpoint, chunk: int
) -> Iterator[JudgedBatch]:
    """Batches from ``start``; a start without a known byte offset (--from-record) is found by
    judging from the beginning and dropping the records before it."""
    if start.record and not start.offset:
        for batch in judge_batches(program, path, context=context, batch_records=chunk):
            if batch.end.record <= start.record and not batch.framing_failed:
                continue
            yield _trimmed(batch, start.record)
        return
    yield from judge_batches(program, path, start=start, context=context, batch_records=chunk)


def _trimmed(batch: JudgedBatch, first: int) -> JudgedBatch:
    if batch.start.record >= first:
        return batch
    ev = batch.events
    keep = [i for i, r in enumerate(ev.records) if r >= first]
    docs = [ev.document(i) for i in keep]
    starts, at = [], 0
    for d in docs:
        starts.append(at)
        at += len(d)
    events = EventBatch(
        buffer=b"".join(docs),
        starts=starts,
        sizes=[len(d) for d in docs],
        records=[ev.records[i] for i in keep],
        offsets=[ev.offsets[i] for i in keep],
        lengths=[ev.lengths[i] for i in keep],
        kafka_keys=[ev.kafka_keys[i] for i in keep],
        redis_keys=[ev.redis_keys[i] for i in keep],
        cases=[ev.cases[i] for i in keep],
        segments={j: ev.segments[i] for j, i in enumerate(keep) if i in ev.segments},
    )
    rejected = [r for r in batch.rejected if r.record >= first]
    return JudgedBatch(Checkpoint(first, 0), batch.end, events, rejected)


def _prefetched(batches: Iterator[JudgedBatch]) -> Iterator[JudgedBatch]:
    """``batches`` judged one ahead in a thread: the next chunk is judged while the broker
    acknowledges and commits this one (the C stages and the network waits leave the GIL).
    Same batches, same order; an error of the judging thread is raised here."""
    ahead: queue.Queue[JudgedBatch | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: JudgedBatch | BaseException | None) -> bool:
        """Hand ``item`` over; False when the consumer has gone."""
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def judge() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    return
            offer(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(exc)

    worker = threading.Thread(target=judge, name="bridge-judge", daemon=True)
    worker.start()
    try:
        while True:
            item = ahead.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _with_last(batches: Iterator[JudgedBatch]) -> Iterator[tuple[JudgedBatch | None, bool]]:
    """Each batch with whether it is the last; a file without records gives (None, True)."""
    previous: JudgedBatch | None = None
    for batch in batches:
        if previous is not None:
            yield previous, False
        previous = batch
        if batch.framing_failed:
            break
    yield previous, True


def _dry_run(
    program: Program,
    path: Path,
    context: AuditContext,
    progress: Progress,
    chunk: int,
    from_record: int | None,
    on_chunk: Callable[[Progress], None],
) -> Summary:
    counts = Counts()
    for batch, _ in _with_last(_batches(program, path, context, progress.next, chunk)):
        if batch is None:
            break
        _count(counts, batch, len(batch.events), len(batch.rejected))
        progress = progress.advanced(
            next=batch.end, counts=counts.copy(), framing_failed=batch.framing_failed
        )
        on_chunk(progress)
    progress = progress.advanced(counts=counts, complete=True)
    return Summary("dry-run", progress, None, counts.published, counts.rejected, None)


def _count(counts: Counts, batch: JudgedBatch, published: int, rejected: int) -> None:
    counts.read += batch.records_read
    counts.published += published
    counts.rejected += rejected
    for r in batch.rejected:
        counts.by_stage[r.stage] += 1
        rules = {str(reason.get("rule")) for reason in r.audit.get("reasons", [])} or {r.stage}
        counts.by_rule.update(rules)


def _schema_message(
    program: Program, props: Any, topics: TopicNames, patience: Patience
) -> tuple[bytes, bytes] | None:
    """The record schema to publish with the first chunk, unless its $id is already there."""
    sid = program.schema_id.encode()
    for _ in read_topic(props, topics.schemas, patience, keep=lambda k: k == sid):
        return None
    schema = record_schema(program.mapping, program.layouts, published=True)
    return sid, json.dumps(schema, ensure_ascii=False, separators=(",", ":")).encode()


def _publish(
    program: Program,
    path: Path,
    context: AuditContext,
    topics: TopicNames,
    publisher: Publisher,
    progress: Progress,
    schema: tuple[bytes, bytes] | None,
    chunk: int,
    resumed_from: Checkpoint | None,
    on_chunk: Callable[[Progress], None],
    event_partitions: int,
) -> Summary:
    sha = progress.file.sha256
    constant = _EventHeaders(program, path, sha, event_partitions)
    published_now = rejected_now = 0
    batches = _prefetched(_batches(program, path, context, progress.next, chunk))
    for batch, last in _with_last(batches):
        outcome: list[Progress] = []  # what the transaction committed, once it succeeds
        fill = functools.partial(
            _fill_chunk,
            topics=topics,
            batch=batch,
            last=last,
            before=progress,
            schema=schema,
            constant=constant,
            outcome=outcome,
        )
        delivered = publisher.transaction(fill)
        progress = outcome[0]
        schema = None
        published_now += delivered.counts.get(topics.events, 0)
        rejected_now += delivered.counts.get(topics.audit, 0)
        on_chunk(progress)
    return Summary("published", progress, topics, published_now, rejected_now, resumed_from)


def _fill_chunk(
    pub: Publisher,
    *,
    topics: TopicNames,
    batch: JudgedBatch | None,
    last: bool,
    before: Progress,
    schema: tuple[bytes, bytes] | None,
    constant: _EventHeaders,
    outcome: list[Progress],
) -> None:
    """One chunk's messages, in its transaction: schema (first chunk), events, chained audits,
    then the progress record (and the summary with the last chunk)."""
    key = before.file.sha256.encode()
    chain = before.chain
    if schema is not None:
        pub.produce(topics.schemas, schema[1], schema[0], [("content-type", JSON)])
    if batch is not None:
        _produce_events(pub, topics.events, batch.events, constant)
        for r in batch.rejected:
            value = audit_json(r.audit).encode()
            chain, chain_headers = chain.append(value)
            headers: Headers = [
                ("content-type", JSON),
                (h.FILE_SHA256, key),
                (h.RECORD, str(r.record).encode()),
                (h.OFFSET, str(r.offset).encode()),
                (STAGE_HEADER, r.stage.encode()),
                (CHAIN_RUN, str(before.run).encode()),
                *((k, v.encode()) for k, v in chain_headers.items()),
            ]
            pub.produce(topics.audit, value, key, headers)
    pub.flush()  # the chunk's offsets and counts go into its progress record
    delivered = pub.delivered
    counts = before.counts.copy()
    if batch is not None:
        _count(
            counts,
            batch,
            delivered.counts.get(topics.events, 0),
            delivered.counts.get(topics.audit, 0),
        )
    offsets = merge_offsets(json.loads(json.dumps(before.offsets)), delivered.offsets)
    after = before.advanced(
        next=batch.end if batch is not None else before.next,
        counts=counts,
        chain=chain,
        offsets=offsets,
        complete=last,
        framing_failed=batch is not None and batch.framing_failed,
    )
    pub.produce(topics.progress, after.encode(), key, [("content-type", JSON)])
    if last:
        summary = json.dumps(after.summary(now()), separators=(",", ":")).encode()
        pub.produce(topics.control, summary, key, [("content-type", JSON)])
    outcome[:] = [after]


class _EventHeaders:
    """The headers every event of a run shares, per case."""

    def __init__(self, program: Program, path: Path, sha: str, partitions: int) -> None:
        m = program.mapping
        self.sha = sha
        self.partitions = partitions  # of the events topic
        self.source = f"/bridge/{m.name}/{path.name}"
        self.schema_id = program.schema_id
        self.per_case: dict[str | None, tuple[str, str]] = {}
        cases = [c.name for c in m.discriminator.cases] if m.discriminator else [None]
        for case in cases:
            ce_type = m.name if case is None else f"{m.name}.{case}"
            self.per_case[case] = (ce_type, program.layout(case).fingerprint)


def _produce_events(pub: Publisher, topic: str, ev: EventBatch, c: _EventHeaders) -> None:
    """The batch's events, straight from its buffer: the hot loop of a replay.

    Each event goes to partition ``crc32(key) % partitions`` (a keyless one round-robin), set
    here rather than by the client so that only the first and the last message of each
    partition need a delivery report (for the offsets in the progress record and summary):
    a report per message would halve the throughput. The last message of a partition is held
    back until the next one for that partition comes, so it is known to be the last when it
    is produced. Names are bound locally; header values are text, which the client encodes.
    """
    fixed: Headers = [
        (h.CE_SPECVERSION, "1.0"),
        (h.CE_SOURCE, c.source),
        (h.CE_TIME, now()),
        (h.CE_DATASCHEMA, c.schema_id),
        (h.CONTENT_TYPE, "application/json"),
        (h.FILE_SHA256, c.sha),
    ]
    id_prefix = h.event_id(c.sha, 0).removesuffix("0")  # event_id is "<sha>:<record>"
    producer, delivered = pub.producer, pub.delivered
    produce, poll = producer.produce, producer.poll
    buffer, starts, sizes, offsets = ev.buffer, ev.starts, ev.sizes, ev.offsets
    kafka_keys, redis_keys, cases, per_case = ev.kafka_keys, ev.redis_keys, ev.cases, c.per_case
    partitions = c.partitions
    seen: set[int] = set()  # partitions whose first message went out
    held: dict[int, tuple[bytes, bytes | None, Headers]] = {}  # partition -> its last so far

    def send(
        partition: int, value: bytes, key: bytes | None, headers: Headers, report: bool
    ) -> None:
        while True:
            try:
                if report:
                    produce(topic, value, key, partition, headers=headers, on_delivery=delivered)
                else:
                    produce(topic, value, key, partition, headers=headers)
                break
            except BufferError:  # local queue full: serve delivery reports, never drop
                poll(0.1)
        poll(0)

    for i, record in enumerate(ev.records):
        ce_type, fingerprint = per_case[cases[i]]
        number = str(record)
        headers: Headers = [
            *fixed,
            (h.CE_ID, id_prefix + number),
            (h.CE_TYPE, ce_type),
            (h.RECORD, number),
            (h.OFFSET, str(offsets[i])),
            (h.FINGERPRINT, fingerprint),
        ]
        redis_key = redis_keys[i]
        if redis_key is not None:
            headers.append((h.REDIS_KEY, redis_key))
        key = kafka_keys[i]
        partition = (zlib.crc32(key) if key is not None else record) % partitions
        start = starts[i]
        message = (buffer[start : start + sizes[i]], key, headers)
        if partition not in seen:
            seen.add(partition)
            send(partition, *message, report=True)  # the partition's first: reported
            continue
        if partition in held:
            send(partition, *held[partition], report=False)
        held[partition] = message
    for partition, message in held.items():
        send(partition, *message, report=True)  # the partition's last: reported
    delivered.sent(topic, len(ev))


def _first_case(program: Program) -> str | None:
    d = program.mapping.discriminator
    return d.cases[0].name if d else None
