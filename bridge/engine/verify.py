"""``bridge audit verify``: is each file's audit chain complete and unaltered?

Reads the audit and control topics as a read_committed consumer sees them and walks each
file's chain per run (chain.py, docs/audit-chain.md) from its genesis to the head its summary
anchors. The first entry that does not fit is named: altered (its content or hash changed),
missing (deleted from the middle), inserted (no chain headers, or a sequence number already
seen), reordered (a later entry comes before it) or truncated (the chain stops before the
summary's head). :func:`check_chains` is the pure part, testable without Kafka.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bridge.config import Config
from bridge.engine.chain import CHAIN_HASH, CHAIN_PREV, CHAIN_RUN, CHAIN_SEQ, genesis, link
from bridge.engine.progress import SUMMARY_FORMAT
from bridge.sinks.headers import FILE_SHA256, RECORD
from bridge.sinks.kafka import Patience, StoredMessage, read_topic

__all__ = ["Verdict", "check_chains", "verify"]


@dataclass(frozen=True)
class Verdict:
    """One run of one file: ``problem`` is None when its chain verifies."""

    file_sha256: str
    run: int | None
    entries: int
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def __str__(self) -> str:
        run = f"run {self.run}" if self.run is not None else "run ?"
        if self.ok:
            return f"OK    {self.file_sha256} {run}: {self.entries} audit entries, chain unbroken"
        return f"FAIL  {self.file_sha256} {run}: {self.problem}"


def verify(
    config: Config,
    audit_topic: str,
    control_topic: str,
    file_sha256: str | None = None,
    timeout: float = 30.0,
) -> list[Verdict]:
    patience = Patience(config.kafka.bootstrap, timeout, config.replay.retry_interval)
    props = config.kafka.properties
    wanted = None if file_sha256 is None else file_sha256.encode()

    def keep(key: bytes | None) -> bool:
        return wanted is None or key == wanted

    audits = list(read_topic(props, audit_topic, patience, keep=keep))
    summaries = list(read_topic(props, control_topic, patience, keep=keep))
    verdicts = check_chains(audits, summaries)
    if file_sha256 is not None and not verdicts:
        verdicts = [Verdict(file_sha256, None, 0, "no audit entry and no summary for this file")]
    return verdicts


def check_chains(
    audits: Sequence[StoredMessage], summaries: Iterable[StoredMessage]
) -> list[Verdict]:
    """A verdict per (file, run) found in either topic, files and runs in order."""
    anchored: dict[tuple[str, int], list[dict[str, object]]] = {}
    for msg in summaries:
        doc = _summary(msg)
        if doc is None:
            continue
        file = doc.get("file")
        sha = str(file.get("sha256")) if isinstance(file, dict) else ""
        anchored.setdefault((sha, int(str(doc.get("run", 0)))), []).append(doc)

    runs: dict[tuple[str, int], list[StoredMessage]] = {}
    verdicts: list[Verdict] = []
    for msg in sorted(audits, key=lambda m: (m.partition, m.offset)):
        sha = msg.header(FILE_SHA256) or (msg.key or b"").decode("utf-8", "replace")
        run = _int(msg.header(CHAIN_RUN))
        if run is None:
            verdicts.append(
                Verdict(sha, None, 0, f"the entry at {_at(msg)} is inserted: no chain headers")
            )
            continue
        runs.setdefault((sha, run), []).append(msg)

    for sha, run in sorted(set(runs) | set(anchored)):
        entries = runs.get((sha, run), [])
        summary = anchored.get((sha, run), [])
        verdicts.append(Verdict(sha, run, len(entries), _walk(sha, run, entries, summary)))
    return verdicts


def _walk(
    sha: str, run: int, entries: Sequence[StoredMessage], summaries: list[dict[str, object]]
) -> str | None:
    prev, n = genesis(sha, run), 0
    seqs = [_int(e.header(CHAIN_SEQ)) for e in entries]
    for i, entry in enumerate(entries):
        seq = seqs[i]
        value = entry.value or b""
        computed = link(prev, value)
        claimed_prev, claimed = entry.header(CHAIN_PREV), entry.header(CHAIN_HASH)
        if seq == n and claimed_prev == prev and claimed == computed:
            prev, n = computed, n + 1
            continue
        at = _at(entry)
        if seq is None:
            return f"the entry at {at} (after entry {n - 1}) is inserted: no chain sequence"
        if seq == n:
            if claimed_prev == prev:
                return (
                    f"entry {n} ({at}) is altered: its content hashes to {computed[:16]}..., "
                    f"the chain says {str(claimed)[:16]}..."
                )
            if n in seqs[i + 1 :]:
                return f"the entry at {at} is inserted before entry {n}: it does not link"
            return f"entry {n} ({at}) is altered: it does not link to entry {n - 1}"
        if seq > n:
            if n in seqs[i + 1 :]:
                later = entries[i + 1 + seqs[i + 1 :].index(n)]
                return (
                    f"entries are reordered: entry {seq} ({at}) comes before entry {n} "
                    f"({_at(later)})"
                )
            return f"entry {n} is missing: after entry {n - 1} comes entry {seq} ({at})"
        return (
            f"the entry at {at} is inserted: it claims sequence {seq}, which entry {seq} "
            "already holds"
        )
    if not summaries:
        return (
            f"no file summary for run {run}: the run is incomplete or its summary is missing "
            f"({n} entries so far)"
        )
    if len(summaries) > 1:
        return f"{len(summaries)} summaries for run {run}: the summary must appear once"
    chain = summaries[0].get("chain")
    counts = summaries[0].get("counts")
    expected = int(str(chain.get("entries"))) if isinstance(chain, dict) else -1
    head = str(chain.get("head")) if isinstance(chain, dict) else ""
    if n < expected:
        stops = f"after entry {n - 1}" if n else "before its first entry"
        return f"truncated: the chain stops {stops}; the summary counts {expected}"
    if n > expected:
        return f"{n - expected} entries after the summary's head ({expected} entries): inserted"
    if prev != head:
        return f"the chain's head {prev[:16]}... is not the summary's {head[:16]}..."
    rejected = counts.get("rejected") if isinstance(counts, dict) else None
    if rejected != n:
        return f"the summary counts {rejected} rejected records, the chain holds {n} entries"
    return None


def _summary(msg: StoredMessage) -> dict[str, object] | None:
    try:
        doc = json.loads(msg.value or b"")
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == SUMMARY_FORMAT else None


def _at(msg: StoredMessage) -> str:
    record = msg.header(RECORD)
    where = f"partition {msg.partition} offset {msg.offset}"
    return f"record {record}, {where}" if record is not None else where


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None
