"""bridge.replay, the public API's replay, against the real broker: the sample's events and
audits arrive once, a second call publishes nothing, and only ``import bridge`` is used."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

import bridge

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
ENV = {"BRIDGE_PII_KEY": "api-replay-test-pii-key-not-a-secret-0000"}
KINDS = ("events", "audit", "control", "progress", "schemas")


@pytest.fixture
def config(kafka_bootstrap: str, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A bridge.toml naming a private set of topics (deleted after the test)."""
    tag = f"bridge-api-{uuid.uuid4().hex[:10]}"
    names = {kind: f"{tag}.{kind}" for kind in KINDS}
    path = tmp_path / "bridge.toml"
    lines = ["[topics]", *(f'{k} = "{v}"' for k, v in names.items())]
    lines += ["[kafka]", f'"bootstrap.servers" = "{kafka_bootstrap}"', "[replay]", "timeout = 60"]
    path.write_text("\n".join(lines) + "\n")
    yield path, names
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.delete_topics(list(names.values()), operation_timeout=30).values():
        with contextlib.suppress(Exception):  # a topic the run never created
            future.result()


def committed_messages(bootstrap: str, topic: str) -> int:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bridge-api-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        count = 0
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            consumer.assign([TopicPartition(topic, p, low)])
            while True:
                msg = consumer.poll(5)
                if msg is None:
                    break
                if msg.error() is None:
                    count += 1
                offset = msg.offset()
                if offset is None or offset >= high - 1:
                    break
        return count
    finally:
        consumer.close()


def test_replay_the_sample_once(kafka_bootstrap: str, config: tuple[Path, dict[str, str]]) -> None:
    path, names = config
    mapping = bridge.load_mapping(MAPPING, environ=ENV)
    summary = bridge.replay(SAMPLE, mapping, config=path)
    assert isinstance(summary, bridge.Summary)
    assert summary.outcome == "published"
    assert (summary.published_now, summary.rejected_now) == (988, 12)
    assert summary.exit_code == 1  # some records were rejected
    doc = summary.document()
    assert doc["topics"]["events"] == names["events"]

    again = bridge.replay(SAMPLE, MAPPING, config=path, environ=ENV)
    assert again.outcome == "already-complete"
    assert (again.published_now, again.rejected_now) == (0, 0)

    assert committed_messages(kafka_bootstrap, names["events"]) == 988
