"""Tamper tests on the real broker: a replay's audit and control topics copied to new topics
with one audit message altered, deleted, inserted, reordered or truncated; `bridge audit
verify` fails (exit 7) and names the entry. The untouched copy verifies."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Producer

from bridge.sinks.kafka import StoredMessage
from tests.integration.conftest import CreateTopic
from tests.integration.replay_support import ROOT, SAMPLE, Topics, run_replay

Doctor = Callable[[list[StoredMessage]], list[StoredMessage]]


@pytest.fixture(scope="module")
def published(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topics]:
    topics = Topics(kafka_bootstrap, tmp_path_factory.mktemp("tamper"))
    done = run_replay(SAMPLE, topics, "--chunk-records", "200")
    assert done.returncode == 1, done.stderr
    yield topics
    topics.delete()


def copy(bootstrap: str, topic: str, messages: list[StoredMessage]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for m in messages:
        producer.produce(topic, m.value, m.key, partition=0, headers=list(m.headers.items()))
    assert producer.flush(30) == 0


def alter(entries: list[StoredMessage]) -> list[StoredMessage]:
    e = entries[5]
    value = (e.value or b"").replace(b'"reasons":[', b'"reasons":[{"rule":"none"},', 1)
    doctored = StoredMessage(e.topic, e.partition, e.offset, e.key, value, e.headers)
    return [*entries[:5], doctored, *entries[6:]]


TAMPERING: dict[str, tuple[Doctor, str]] = {
    "alter": (alter, r"entry 5 \(record \d+, partition 0 offset 5\) is altered"),
    "delete": (lambda es: es[:5] + es[6:], r"entry 5 is missing: after entry 4 comes entry 6"),
    "insert": (lambda es: [*es[:7], es[2], *es[7:]], r"offset 7 is inserted: it claims sequence 2"),
    "reorder": (
        lambda es: [*es[:5], es[6], es[5], *es[7:]],
        r"entries are reordered: entry 6 \(record \d+, partition 0 offset 5\) comes before "
        r"entry 5 \(record \d+, partition 0 offset 6\)",
    ),
    "truncate": (
        lambda es: es[:9],
        r"truncated: the chain stops after entry 8; the summary counts 12",
    ),
}


def verify(topics: Topics, audit: str, control: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge",
            "audit",
            "verify",
            "--config",
            str(topics.config),
            "--audit-topic",
            audit,
            "--control-topic",
            control,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize("kind", [None, *TAMPERING])
def test_verify_names_the_tampered_entry(
    kind: str | None, published: Topics, create_topic: CreateTopic
) -> None:
    audits = published.read(published.names.audit)
    assert len(audits) == 12
    audit, control = create_topic(), create_topic()
    doctored = audits if kind is None else TAMPERING[kind][0](audits)
    copy(published.bootstrap, audit, doctored)
    copy(published.bootstrap, control, published.read(published.names.control))
    done = verify(published, audit, control)
    if kind is None:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "12 audit entries, chain unbroken" in done.stdout
        return
    assert done.returncode == 7, done.stdout + done.stderr
    assert "FAIL" in done.stdout
    assert re.search(TAMPERING[kind][1], done.stdout), done.stdout


def test_verify_of_an_unknown_file_fails(published: Topics) -> None:
    done = verify(published, published.names.audit, published.names.control)
    assert done.returncode == 0, done.stdout + done.stderr
    other = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge",
            "audit",
            "verify",
            "--config",
            str(published.config),
            "--mapping",
            "acctmast",
            "--file",
            uuid.uuid4().hex * 2,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )
    assert other.returncode == 7
    assert "no audit entry and no summary for this file" in other.stdout
