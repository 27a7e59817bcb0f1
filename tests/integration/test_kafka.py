"""Exactly-once basics against the real broker: committed records are visible to
read_committed consumers, aborted ones only to read_uncommitted consumers."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)

from tests.integration.conftest import CreateTopic

COMMITTED = 1000
ABORTED = 100
TIMEOUT_S = 30.0


def committed_record(i: int) -> tuple[bytes, bytes]:
    return f"c-{i:04d}".encode(), f"committed value {i}".encode()


def aborted_record(i: int) -> tuple[bytes, bytes]:
    return f"a-{i:04d}".encode(), f"aborted value {i}".encode()


def read_all(
    bootstrap: str, topic: str, isolation: str, expected: int
) -> list[tuple[bytes, bytes]]:
    """Read partition 0 from the start until `expected` records and end-of-partition, or time out.

    Reaching the end once is not enough: right after commit_transaction returns, the commit
    marker may not be written yet, so a read_committed consumer briefly sees an empty
    partition. Stopping only at end-of-partition after `expected` records is what lets the
    exact comparison below catch extra (e.g. aborted) records too.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bridge-it-{uuid.uuid4().hex[:12]}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    records: list[tuple[bytes, bytes]] = []
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            msg: Message | None = consumer.poll(0.5)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    if len(records) >= expected:
                        return records
                    continue
                raise AssertionError(f"consumer error: {err}")
            key, value = msg.key(), msg.value()
            assert isinstance(key, bytes) and isinstance(value, bytes)
            records.append((key, value))
        raise AssertionError(
            f"{isolation} consumer saw {len(records)} of {expected} records within {TIMEOUT_S}s"
        )
    finally:
        consumer.close()


def test_transactional_commit_then_abort(kafka_bootstrap: str, create_topic: CreateTopic) -> None:
    topic = create_topic()
    delivery_errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            delivery_errors.append(err)

    producer = Producer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "transactional.id": f"bridge-it-{uuid.uuid4().hex[:12]}",
            "enable.idempotence": True,
            "linger.ms": 5,
        }
    )
    producer.init_transactions(TIMEOUT_S)

    producer.begin_transaction()
    for i in range(COMMITTED):
        key, value = committed_record(i)
        producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
        producer.poll(0)
    producer.commit_transaction(TIMEOUT_S)
    assert delivery_errors == []

    producer.begin_transaction()
    for i in range(ABORTED):
        key, value = aborted_record(i)
        producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
    # Flush first so the aborted records are really in the log; abort_transaction would
    # otherwise just purge them client-side and prove nothing about the broker.
    assert producer.flush(TIMEOUT_S) == 0
    assert delivery_errors == []
    producer.abort_transaction(TIMEOUT_S)

    committed = [committed_record(i) for i in range(COMMITTED)]
    aborted = [aborted_record(i) for i in range(ABORTED)]
    assert read_all(kafka_bootstrap, topic, "read_committed", COMMITTED) == committed
    assert read_all(kafka_bootstrap, topic, "read_uncommitted", COMMITTED + ABORTED) == (
        committed + aborted
    )
