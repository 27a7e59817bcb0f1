"""Reading the feed as a downstream team does: read_committed messages of a topic, each checked
against its schema.

An event's schema is the one whose ``$id`` its ``ce_dataschema`` header names, resolved from the
compacted schemas topic (key = ``$id``, value = the schema JSON, published once per ``$id`` by
the replay engine); an audit message's is the audit record schema
(schemas/audit-record.schema.json).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from jsonschema import Draft202012Validator, FormatChecker

from bridge.mapping.audit import AUDIT_SCHEMA_PATH
from bridge.sinks import headers as h

__all__ = ["FeedMessage", "SchemaSource", "read_feed"]


@dataclass(frozen=True)
class FeedMessage:
    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str]
    value: Any  # the parsed JSON, or the raw text when it is not JSON
    problems: tuple[str, ...]  # why it does not validate; empty when it does

    def to_json(self) -> dict[str, Any]:
        out = {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "headers": self.headers,
            "value": self.value,
        }
        if self.problems:
            out["problems"] = list(self.problems)
        return out


def _problems(validator: Draft202012Validator, value: Any) -> tuple[str, ...]:
    out = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        out.append(f"{where}: {error.message}")
    return tuple(out)


class SchemaSource:
    """Record schemas by ``$id``, read from the schemas topic (again when an id is missing)."""

    def __init__(self, kafka: Mapping[str, Any], topic: str | None) -> None:
        self.kafka = dict(kafka)
        self.topic = topic
        self.validators: dict[str, Draft202012Validator] = {}
        self._read_at = -1.0

    def _read(self) -> None:
        if self.topic is None:
            return
        consumer = Consumer(
            {
                **self.kafka,
                "group.id": f"bridge-consume-schemas-{uuid.uuid4().hex}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
            }
        )
        try:
            meta = consumer.list_topics(self.topic, timeout=15)
            found = meta.topics.get(self.topic)
            if found is None or found.error is not None:
                return
            ends = {}
            for p in found.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, p), 15)
                if high > low:
                    ends[p] = high
            consumer.assign([TopicPartition(self.topic, p, 0) for p in ends])
            deadline = time.monotonic() + 30
            while ends and time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None or msg.error() is not None:
                    continue
                partition, offset, value = msg.partition(), msg.offset(), msg.value()
                if (
                    partition is not None
                    and offset is not None
                    and offset + 1 >= ends.get(partition, 0)
                ):
                    ends.pop(partition, None)
                if value is None:
                    continue
                try:
                    schema = json.loads(value)
                    validator = Draft202012Validator(schema, format_checker=FormatChecker())
                except ValueError:
                    continue
                self.validators[str(schema.get("$id", (msg.key() or b"").decode()))] = validator
        finally:
            consumer.close()
        self._read_at = time.monotonic()

    def validator(self, schema_id: str) -> Draft202012Validator | None:
        if schema_id not in self.validators and time.monotonic() - self._read_at > 5:
            self._read()
        return self.validators.get(schema_id)


def _audit_validator() -> Draft202012Validator:
    schema = json.loads(AUDIT_SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def read_feed(
    kafka: Mapping[str, Any],
    topic: str,
    *,
    group: str | None = None,
    from_beginning: bool = False,
    schemas_topic: str | None = None,
    audit: bool = False,
    max_messages: int | None = None,
    timeout: float | None = None,
) -> Iterator[FeedMessage]:
    """The committed messages of ``topic`` in partition order, each with its problems.

    With a ``group`` (and no ``from_beginning``) the group's offsets are used and committed;
    otherwise the topic is read from its start under a throwaway group. ``timeout``: stop when
    no message came for that many seconds.
    """
    throwaway = group is None or from_beginning
    consumer = Consumer(
        {
            **kafka,
            "group.id": f"bridge-consume-{uuid.uuid4().hex}" if throwaway else group,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": not throwaway,
        }
    )
    schemas = SchemaSource(kafka, schemas_topic)
    audit_validator = _audit_validator() if audit else None
    seen = 0
    try:
        consumer.subscribe([topic])
        last = time.monotonic()
        while max_messages is None or seen < max_messages:
            msg = consumer.poll(0.2)
            if msg is None:
                if timeout is not None and time.monotonic() - last > timeout:
                    return
                continue
            err = msg.error()
            if err is not None:
                if err.fatal() or err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise KafkaException(err)
                continue
            last = time.monotonic()
            seen += 1
            yield _judge(msg, schemas, audit_validator)
    finally:
        consumer.close()


def _judge(
    msg: Any, schemas: SchemaSource, audit_validator: Draft202012Validator | None
) -> FeedMessage:
    headers = {k: (v or b"").decode("utf-8", "replace") for k, v in (msg.headers() or ())}
    raw = msg.value() or b""
    problems: tuple[str, ...] = ()
    value: Any
    try:
        value = json.loads(raw)
    except ValueError as exc:
        value = raw.decode("utf-8", "replace")
        problems = (f"not JSON: {exc}",)
    if not problems:
        if audit_validator is not None:
            problems = _problems(audit_validator, value)
        else:
            schema_id = headers.get(h.CE_DATASCHEMA)
            validator = schemas.validator(schema_id) if schema_id else None
            if schema_id is None:
                problems = (f"no {h.CE_DATASCHEMA} header",)
            elif validator is None:
                problems = (f"schema {schema_id} is not in the schemas topic",)
            else:
                problems = _problems(validator, value)
    key = msg.key()
    return FeedMessage(
        msg.topic(),
        msg.partition(),
        msg.offset(),
        None if key is None else key.decode("utf-8", "replace"),
        headers,
        value,
        problems,
    )
