"""`bridge replay --cache`: the replayed file's events in Redis before the command returns,
every key holding its last event; a forced re-run of the file changes nothing in Redis."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bridge.mapping.program import load_program
from bridge.stage.records import Event, judge_file
from tests.integration.events import held_offsets, states
from tests.integration.replay_support import MAPPING, PII_ENV, SAMPLE, Topics, run_replay


@pytest.fixture
def topics(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Topics]:
    made = Topics(kafka_bootstrap, tmp_path)
    yield made
    made.delete()


def test_replay_then_cache(topics: Topics, redis_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    space = f"bridge-it:{uuid.uuid4().hex[:12]}:"
    # The sample's mapping with a Redis prefix of this test's own.
    doc = json.loads(MAPPING.read_text())
    doc["copybook"]["path"] = str((MAPPING.parent / doc["copybook"]["path"]).resolve())
    doc["keys"]["redis_prefix"] = f"{space}acct:"
    mapping = tmp_path / "acctmast.mapping.json"
    mapping.write_text(json.dumps(doc))
    with topics.config.open("a") as f:
        f.write(
            f'[redis]\nurl = "{redis_url}"\n[cache]\nnamespace = "{space}ns"\n'
            f'group = "cache-{uuid.uuid4().hex[:8]}"\n'
        )
    os.environ.update(PII_ENV)
    runtime = load_program(mapping)
    last: dict[str, bytes] = {}
    for outcome in judge_file(runtime, SAMPLE):
        if isinstance(outcome, Event):
            assert outcome.redis_key is not None
            last[outcome.redis_key] = outcome.document
    try:
        done = run_replay(SAMPLE, topics, "--cache", mapping=mapping)
        assert done.returncode == 1, done.stderr  # the sample has rejected records
        assert "Redis holds the file's events up to" in done.stderr
        assert f"({len(last)} keys written, " in done.stderr
        for key, document in last.items():
            assert client.hget(key, "event") == document, key
        held = held_offsets(client, f"{space}ns")
        summary = json.loads(done.stdout)
        spans = summary["offsets"][topics.names.events]
        for partition, (_, final) in spans.items():
            assert held[f"{topics.names.events}/{partition}"] > final

        # The same file again (--force): the same ce_ids, so every event is a counted no-op.
        again = run_replay(SAMPLE, topics, "--cache", "--force", mapping=mapping)
        assert again.returncode == 1, again.stderr
        assert "(0 keys written, " in again.stderr
        for key, document in last.items():
            assert client.hget(key, "event") == document, key
    finally:
        client.delete(*last, f"{space}ns:offsets", f"{space}ns:epoch")
        assert not any(True for _ in states(client, space))
        client.close()
