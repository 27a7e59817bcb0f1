"""`bridge replay` end to end against the real broker: the sample and a generated file with
corrupt records arrive exactly once; a second run publishes nothing; --force is a second run
with its own chain; a file that cannot be framed commits what comes before; Kafka down at
start gives up with exit 6."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from bridge.engine.progress import Progress
from tests.integration.replay_support import (
    MAPPING,
    PII_ENV,
    ROOT,
    SAMPLE,
    Topics,
    check_exactly_once,
    corrupt_copy,
    expected,
    rdw_copy,
    replay_command,
    run_replay,
)


@pytest.fixture
def topics(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Topics]:
    made = Topics(kafka_bootstrap, tmp_path)
    yield made
    made.delete()


def summary_of(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert done.stdout, done.stderr
    doc: dict[str, object] = json.loads(done.stdout)
    return doc


def test_sample_exactly_once_then_nothing(topics: Topics) -> None:
    want = expected(SAMPLE)
    done = run_replay(SAMPLE, topics, "--chunk-records", "128")
    assert done.returncode == 1, done.stderr  # the sample has 12 bad records
    first = summary_of(done)
    assert first["outcome"] == "published"
    assert first["published_now"] == 988
    assert first["rejected_now"] == 12
    last = check_exactly_once(topics, want)
    assert last["reconciled"] is True
    assert last["chain"] == first["chain"]

    # The schema, once per $id, resolvable from Kafka alone.
    schemas = topics.read(topics.names.schemas)
    assert len(schemas) == 1
    assert schemas[0].key == str(first["mapping"]["schema_id"]).encode()  # type: ignore[index]
    assert json.loads(schemas[0].value or b"")["$id"] == first["mapping"]["schema_id"]  # type: ignore[index]

    again = run_replay(SAMPLE, topics)
    assert again.returncode == 0, again.stderr
    assert summary_of(again)["outcome"] == "already-complete"
    check_exactly_once(topics, want)  # nothing more

    # --force: a deliberate second run, same ce_ids, its own chain and summary.
    forced = run_replay(SAMPLE, topics, "--force")
    assert forced.returncode == 1, forced.stderr
    assert summary_of(forced)["run"] == 2
    check_exactly_once(topics, want, runs=2)
    assert len(topics.read(topics.names.schemas)) == 1

    verify = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge",
            "audit",
            "verify",
            "--config",
            str(topics.config),
            "--mapping",
            str(MAPPING),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.count("OK ") == 2


def test_generated_file_with_corrupt_records(topics: Topics, tmp_path: Path) -> None:
    path = corrupt_copy(tmp_path / "corrupt.dat", copies=3, seed=7)
    want = expected(path)
    assert len(want.rejected) > 36  # the sample's own 3 x 12, and the corrupted ones
    done = run_replay(path, topics, "--chunk-records", "700")
    assert done.returncode == 1, done.stderr
    last = check_exactly_once(topics, want)
    by_stage = last["counts"]["rejected_by_stage"]  # type: ignore[index]
    assert sum(by_stage.values()) == len(want.rejected)
    # The progress topic holds the last committed state: complete, at the end of the file.
    progress = [Progress.decode(m.value or b"") for m in topics.read(topics.names.progress)]
    assert progress[-1].complete
    assert progress[-1].next.offset == path.stat().st_size
    assert len(progress) == -(-want.read // 700)


def test_dry_run_publishes_nothing(topics: Topics) -> None:
    done = run_replay(SAMPLE, topics, "--dry-run")
    assert done.returncode == 1, done.stderr
    doc = summary_of(done)
    assert doc["outcome"] == "dry-run"
    counts = doc["counts"]
    assert isinstance(counts, dict)
    assert (counts["read"], counts["published"], counts["rejected"]) == (1000, 988, 12)
    existing = AdminClient({"bootstrap.servers": topics.bootstrap}).list_topics(timeout=15)
    assert not set(topics.names.all()) & set(existing.topics)


def test_unframeable_file_commits_what_comes_before(topics: Topics, tmp_path: Path) -> None:
    path, mapping = rdw_copy(tmp_path, records=500, break_at=321)
    want = expected(path, mapping)
    assert max(want.rejected) == 321 and want.rejected[321] == "framing"
    done = run_replay(path, topics, "--chunk-records", "100", mapping=mapping)
    assert done.returncode == 5, done.stderr
    doc = summary_of(done)
    assert doc["framing_failed"] is True
    last = check_exactly_once(topics, want)
    assert last["counts"]["rejected_by_stage"]["framing"] == 1  # type: ignore[index]
    again = run_replay(path, topics, mapping=mapping)
    assert again.returncode == 5, again.stderr
    assert summary_of(again)["outcome"] == "already-complete"


def test_kafka_down_at_start_gives_up_with_exit_6(tmp_path: Path) -> None:
    nowhere = Topics("127.0.0.1:1", tmp_path)  # nothing listens on port 1
    started = time.monotonic()
    done = run_replay(SAMPLE, nowhere, "--timeout", "5", timeout=60)
    took = time.monotonic() - started
    assert done.returncode == 6, done.stdout + done.stderr
    assert "did not answer within 5 s" in done.stderr
    assert "waiting for Kafka at 127.0.0.1:1" in done.stderr
    assert took < 30, took
    assert done.stdout == ""


def test_empty_file_is_complete_at_once(topics: Topics, tmp_path: Path) -> None:
    empty = tmp_path / "empty.dat"
    empty.write_bytes(b"")
    done = run_replay(empty, topics)
    assert done.returncode == 0, done.stderr
    doc = summary_of(done)
    assert doc["outcome"] == "published"
    assert doc["counts"]["read"] == 0  # type: ignore[index]
    assert len(topics.read(topics.names.control)) == 1
    assert summary_of(run_replay(empty, topics))["outcome"] == "already-complete"


def test_a_second_run_fences_the_first(topics: Topics, tmp_path: Path) -> None:
    """Two runs of the same file at once: the second fences the first (which stops with exit
    6 and says why) and completes it; every record exactly once."""
    path = corrupt_copy(tmp_path / "fenced.dat", copies=40, seed=5)
    want = expected(path)
    first = subprocess.Popen(
        replay_command(path, topics, "--chunk-records", "100"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **PII_ENV},
        cwd=ROOT,
    )
    time.sleep(2.0)
    assert first.poll() is None, "the first run ended too soon"
    second = run_replay(path, topics, "--chunk-records", "100")
    _, err = first.communicate(timeout=120)
    assert second.returncode == 1, second.stderr
    assert summary_of(second)["outcome"] == "published"
    assert first.returncode == 6, err
    assert "Kafka refused" in err and "fenced" in err.lower(), err
    check_exactly_once(topics, want)


def test_missing_topic_when_creation_is_not_allowed(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = Topics(kafka_bootstrap, tmp_path)
    topics.config.write_text(
        topics.config.read_text().replace("[kafka]", "create = false\n[kafka]")
    )
    done = run_replay(SAMPLE, topics, timeout=60)
    assert done.returncode == 6, done.stderr
    assert f"topic {topics.names.events} does not exist and [topics] create = false" in done.stderr
    existing = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=15)
    assert not set(topics.names.all()) & set(existing.topics)


def test_unfinished_run_is_not_resumed_with_another_mapping(topics: Topics, tmp_path: Path) -> None:
    path = corrupt_copy(tmp_path / "unfinished.dat", copies=40, seed=9)
    process = subprocess.Popen(
        replay_command(path, topics, "--chunk-records", "100"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **PII_ENV},
        cwd=ROOT,
    )
    time.sleep(2.5)
    assert process.poll() is None, "the run ended before it was killed"
    process.kill()
    process.wait(timeout=30)
    progress = [Progress.decode(m.value or b"") for m in topics.read(topics.names.progress)]
    assert progress and not progress[-1].complete

    other = json.loads(MAPPING.read_text())
    other["version"] = "1.0.1"
    other["copybook"]["path"] = str((MAPPING.parent / other["copybook"]["path"]).resolve())
    other_mapping = tmp_path / "acctmast-1.0.1.mapping.json"
    other_mapping.write_text(json.dumps(other))
    refused = run_replay(path, topics, mapping=other_mapping)
    assert refused.returncode == 2, refused.stderr
    assert "is unfinished with mapping acctmast 1.0.0" in refused.stderr
    assert "not acctmast 1.0.1" in refused.stderr

    done = run_replay(path, topics)
    assert done.returncode == 1, done.stderr
    check_exactly_once(topics, expected(path))


def test_from_record_starts_a_new_run_there(topics: Topics) -> None:
    want = expected(SAMPLE)
    done = run_replay(SAMPLE, topics, "--from-record", "500", "--chunk-records", "128")
    assert done.returncode == 1, done.stderr
    doc = summary_of(done)
    counts = doc["counts"]
    assert isinstance(counts, dict)
    tail = [r for r in want.events if r >= 500]
    rejected = [r for r in want.rejected if r >= 500]
    assert (counts["read"], counts["published"], counts["rejected"]) == (
        500,
        len(tail),
        len(rejected),
    )
    events = topics.read(topics.names.events)
    assert sorted(int(m.header("bridge_record") or -1) for m in events) == sorted(tail)
    audits = topics.read(topics.names.audit)
    assert sorted(int(m.header("bridge_record") or -1) for m in audits) == sorted(rejected)
    # Then the whole file, deliberately: run 2, every record.
    forced = run_replay(SAMPLE, topics, "--force")
    assert summary_of(forced)["run"] == 2
    assert summary_of(forced)["counts"]["read"] == 1000  # type: ignore[index]
