"""A minimal downstream consumer of bridge's events: each record handled exactly once.

Kafka gives at-least-once (a redelivery after a crash, a file deliberately replayed again), so
the consumer de-duplicates on ``ce_id`` (the file's SHA-256 and the record number: the same for
a record whatever the run). Keep the seen ids where the effect is stored, in the same
transaction, for exactly once; here, a set. Each event is checked against its schema, fetched
by ``ce_dataschema`` from the compacted schemas topic.

    python examples/consumer.py BOOTSTRAP EVENTS_TOPIC SCHEMAS_TOPIC GROUP
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from jsonschema import Draft202012Validator


def load_schemas(bootstrap: str, topic: str) -> dict[str, Draft202012Validator]:
    """Every schema of the (small, compacted) schemas topic, by ``$id``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "schemas-reader"})
    partitions = consumer.list_topics(topic, timeout=15).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    schemas, ends = (
        {},
        {p: consumer.get_watermark_offsets(TopicPartition(topic, p))[1] for p in partitions},
    )
    while any(ends.values()):
        msg = consumer.poll(5)
        if msg is None:
            break
        value, partition, offset = msg.value(), msg.partition(), msg.offset()
        if msg.error() is None and value and partition is not None and offset is not None:
            schema = json.loads(value)
            schemas[schema["$id"]] = Draft202012Validator(schema)
            if offset + 1 >= ends[partition]:
                ends[partition] = 0
    consumer.close()
    return schemas


def run(
    bootstrap: str,
    topic: str,
    schemas_topic: str,
    group: str,
    handle: Callable[[str, Any], None],
    seen: set[str],
    idle_seconds: float = 5.0,
) -> tuple[int, int, int]:
    """Handle each new valid event once; returns (handled, duplicates, invalid)."""
    schemas = load_schemas(bootstrap, schemas_topic)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "isolation.level": "read_committed",  # never see an aborted replay's events
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,  # commit after handling: at-least-once, then de-dup
        }
    )
    consumer.subscribe([topic])
    handled = duplicates = invalid = 0
    while (msg := consumer.poll(idle_seconds)) is not None:
        if msg.error() is not None:
            continue
        raw = msg.headers() or []
        pairs = raw.items() if isinstance(raw, dict) else raw
        headers = {k: v if isinstance(v, str) else (v or b"").decode() for k, v in pairs}
        event_id, event = headers["ce_id"], json.loads(msg.value() or b"null")
        validator = schemas.get(headers.get("ce_dataschema", ""))
        if event_id in seen:
            duplicates += 1
        elif validator is None or not validator.is_valid(event):
            invalid += 1
            print(f"invalid event {event_id} at {msg.partition()}@{msg.offset()}", file=sys.stderr)
        else:
            handle(event_id, event)
            seen.add(event_id)
            handled += 1
        consumer.commit(message=msg)
    consumer.close()
    return handled, duplicates, invalid


if __name__ == "__main__":
    bootstrap, topic, schemas_topic, group = sys.argv[1:5]
    counts = run(
        bootstrap, topic, schemas_topic, group, lambda i, e: print(i, json.dumps(e)), set()
    )
    print("handled {}, duplicates {}, invalid {}".format(*counts), file=sys.stderr)
