"""Shared by the replay integration tests and scripts/replay_soak.py: generated input files,
a private set of topics per test, running `bridge replay` as a process, and the exactly-once
check of what a read_committed consumer sees."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient

from bridge.config import TopicNames, load_config
from bridge.engine.progress import SUMMARY_FORMAT
from bridge.engine.verify import check_chains
from bridge.mapping.program import load_program
from bridge.sinks import headers as h
from bridge.sinks.kafka import Patience, StoredMessage, read_topic
from bridge.stage.records import Event, judge_file

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
RECORD_LENGTH = 300
PII_ENV = {"BRIDGE_PII_KEY": "replay-tests-pii-key-not-a-secret-000000"}


def corrupt_copy(path: Path, copies: int, seed: int, every: int = 37) -> Path:
    """The sample ``copies`` times over, every ``every``-th record (about) with random bytes
    written over a random stretch of it: decode or validation failures, and some survivors."""
    rng = random.Random(seed)
    sample = SAMPLE.read_bytes()
    data = bytearray(sample * copies)
    for start in range(0, len(data), RECORD_LENGTH * every):
        record = start + rng.randrange(every) * RECORD_LENGTH
        if record >= len(data):
            break
        at = record + rng.randrange(RECORD_LENGTH - 20)
        n = rng.randrange(1, 20)
        data[at : at + n] = rng.randbytes(n)
    path.write_bytes(bytes(data))
    return path


def rdw_copy(tmp: Path, records: int, break_at: int) -> tuple[Path, Path]:
    """An RDW-framed file of sample records whose record ``break_at`` has a broken RDW (it
    cannot be framed from there on), and a mapping for it."""
    sample = SAMPLE.read_bytes()
    out = bytearray()
    for i in range(records):
        rec = sample[(i % 1000) * RECORD_LENGTH : (i % 1000 + 1) * RECORD_LENGTH]
        rdw = (len(rec) + 4).to_bytes(2, "big") + b"\x00\x00"
        if i == break_at:
            rdw = b"\xff\xff\x00\x00"
        out += rdw + rec
    data = tmp / "broken.rdw"
    data.write_bytes(bytes(out))
    doc = json.loads(MAPPING.read_text())
    doc["copybook"]["path"] = str((MAPPING.parent / doc["copybook"]["path"]).resolve())
    doc["source"]["framing"] = {"type": "rdw"}
    mapping = tmp / "acctmast-rdw.mapping.json"
    mapping.write_text(json.dumps(doc))
    return data, mapping


@dataclass(frozen=True)
class Expected:
    """What judge_file (the record stage) says about a file: the oracle of a replay."""

    events: dict[int, tuple[bytes | None, bytes]]  # record -> (key, value)
    rejected: dict[int, str]  # record -> stage
    sha256: str

    @property
    def read(self) -> int:
        return len(self.events) + len(self.rejected)


def expected(path: Path, mapping: Path = MAPPING) -> Expected:
    os.environ.update(PII_ENV)
    program = load_program(mapping)
    events: dict[int, tuple[bytes | None, bytes]] = {}
    rejected: dict[int, str] = {}
    sha = ""
    for outcome in judge_file(program, path):
        if isinstance(outcome, Event):
            key = outcome.kafka_key.encode() if outcome.kafka_key is not None else None
            events[outcome.record] = (key, outcome.document)
        else:
            rejected[outcome.record] = outcome.stage
            sha = outcome.audit["source"]["sha256"]
    sha = sha or hashlib.sha256(path.read_bytes()).hexdigest()
    return Expected(events, rejected, sha)


class Topics:
    """A private set of topics (a bridge.toml naming them), deleted by :meth:`delete`."""

    def __init__(self, bootstrap: str, directory: Path, **overrides: str) -> None:
        tag = f"bridge-it-{uuid.uuid4().hex[:10]}"
        self.bootstrap = bootstrap
        self.config = directory / f"{tag}.toml"
        lines = ["[topics]"]
        for kind in ("events", "audit", "control", "progress", "schemas"):
            lines.append(f'{kind} = "{tag}.{kind}"')
        lines.append("[kafka]")
        lines.append(f'"bootstrap.servers" = "{bootstrap}"')
        lines.append("[replay]")
        lines.append("retry_interval = 1")
        for key, value in overrides.items():
            lines.append(f"{key} = {value}")
        self.config.write_text("\n".join(lines) + "\n")
        self.names: TopicNames = load_config(self.config, {}).topics.for_mapping("acctmast")

    def read(self, topic: str) -> list[StoredMessage]:
        patience = Patience(self.bootstrap, timeout=60, retry_interval=1)
        props = {"bootstrap.servers": self.bootstrap}
        return list(read_topic(props, topic, patience))

    def delete(self) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        existing = set(admin.list_topics(timeout=15).topics)
        doomed = [t for t in self.names.all() if t in existing]
        if doomed:
            for future in admin.delete_topics(doomed, operation_timeout=30).values():
                future.result(timeout=30)


def replay_command(path: Path, topics: Topics, *extra: str, mapping: Path = MAPPING) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bridge",
        "replay",
        str(path),
        "--mapping",
        str(mapping),
        "--config",
        str(topics.config),
        "--json",
        *extra,
    ]


def run_replay(
    path: Path, topics: Topics, *extra: str, mapping: Path = MAPPING, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        replay_command(path, topics, *extra, mapping=mapping),
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **PII_ENV},
        cwd=ROOT,
    )


def check_exactly_once(topics: Topics, want: Expected, runs: int = 1) -> dict[str, object]:
    """Every valid record once on the events topic (key, value, headers), every rejected one
    once on the audit topic, ``runs`` summaries, each run's chain verified; returns the last
    summary."""
    events = topics.read(topics.names.events)
    seen = Counter(int(m.header(h.RECORD) or -1) for m in events)
    duplicates = {r: n for r, n in seen.items() if n != runs}
    assert not duplicates or set(seen) != set(want.events), f"duplicated: {duplicates}"
    assert set(seen) == set(want.events), (
        f"missing {sorted(set(want.events) - set(seen))[:10]}, "
        f"extra {sorted(set(seen) - set(want.events))[:10]}"
    )
    assert not duplicates, f"records not seen exactly {runs}x: {list(duplicates.items())[:10]}"
    for m in events:
        record = int(m.header(h.RECORD) or -1)
        key, value = want.events[record]
        assert (m.key, m.value) == (key, value), f"record {record}"
        assert m.header(h.CE_ID) == h.event_id(want.sha256, record)
        assert m.header(h.FILE_SHA256) == want.sha256
        assert m.header(h.CE_SPECVERSION) == "1.0"
        assert m.header(h.CONTENT_TYPE) == "application/json"
        assert m.header(h.REDIS_KEY) is not None

    audits = topics.read(topics.names.audit)
    audited = Counter(int(m.header(h.RECORD) or -1) for m in audits)
    assert set(audited) == set(want.rejected)
    assert all(n == runs for n in audited.values()), audited
    for m in audits:
        doc = json.loads(m.value or b"")
        assert doc["record"]["number"] == int(m.header(h.RECORD) or -1)
        assert doc["reasons"]

    summaries = [
        json.loads(m.value or b"")
        for m in topics.read(topics.names.control)
        if json.loads(m.value or b"").get("format") == SUMMARY_FORMAT
    ]
    assert len(summaries) == runs, f"{len(summaries)} summaries"
    verdicts = check_chains(audits, topics.read(topics.names.control))
    assert [v.problem for v in verdicts] == [None] * runs, verdicts
    last: dict[str, object] = summaries[-1]
    counts = last["counts"]
    assert isinstance(counts, dict)
    assert counts["read"] == want.read
    assert counts["published"] == len(want.events)
    assert counts["rejected"] == len(want.rejected)
    return last
