"""examples/consumer.py: each event handled once, whatever is delivered twice."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from confluent_kafka import Producer

from tests.integration.conftest import CreateTopic
from tests.integration.events import Ev, produce
from tests.integration.test_consume import sample

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "consumer.py"


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_consumer", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_consumer_handles_each_event_once(
    kafka_bootstrap: str, create_topic: CreateTopic, tmp_path: Path
) -> None:
    schema, events, _ = sample(tmp_path)
    schemas_topic, topic = create_topic(), create_topic(2)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(schemas_topic, key=schema["$id"].encode(), value=json.dumps(schema).encode())
    producer.flush(30)
    sid = schema["$id"]
    first = [Ev(f"k{n}", doc, record=n, schema_id=sid) for n, doc in enumerate(events[:30])]
    produce(kafka_bootstrap, topic, first, chunk=7)
    produce(kafka_bootstrap, topic, first[:10], abort=True)  # a crashed run: never seen
    produce(kafka_bootstrap, topic, first, chunk=30)  # the file replayed again (--force)
    bad = Ev("k99", dict(events[0], status="NOPE"), record=99, schema_id=sid)
    produce(kafka_bootstrap, topic, [bad])

    consumer = example()
    got: list[tuple[str, Any]] = []
    seen: set[str] = set()
    group = f"example-{uuid.uuid4().hex[:8]}"

    def handle(event_id: str, event: Any) -> None:
        got.append((event_id, event))

    counts = consumer.run(kafka_bootstrap, topic, schemas_topic, group, handle, seen, 3.0)
    assert counts == (30, 30, 1)
    assert sorted(got) == sorted((f"{'0' * 64}:{n}", events[n]) for n in range(30))
    # The group's offsets were committed: a restart reads nothing again.
    assert consumer.run(kafka_bootstrap, topic, schemas_topic, group, handle, seen, 3.0) == (
        0,
        0,
        0,
    )
    # Delivered again from the start (a new group, a lost commit): all duplicates.
    again = consumer.run(kafka_bootstrap, topic, schemas_topic, group + "b", handle, seen, 3.0)
    assert again == (0, 60, 1)
    assert len(got) == 30
