"""Fixtures for the integration tests: the real Kafka and Redis from `scripts/services up`.

Every test in this folder is marked `integration`. The services are not started here on
purpose: `scripts/services up` owns their life cycle (and `make test-integration` calls it),
so an unreachable service is a failure that says what to run, never a skip that would let
CI pass without having talked to Kafka or Redis at all.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
import redis
from confluent_kafka.admin import AdminClient

# confluent_kafka.admin re-exports NewTopic without declaring it, which mypy --strict rejects.
from confluent_kafka.cimpl import NewTopic

HERE = Path(__file__).resolve().parent
HINT = 'run `scripts/services up` (and `eval "$(scripts/services env)"` for non-default ports)'


class CreateTopic(Protocol):
    def __call__(self, partitions: int = 1) -> str: ...


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


def _require(what: str, probe: Callable[[], object]) -> None:
    try:
        probe()
        return
    except Exception as exc:
        problem = f"{what} ({exc}); {HINT}"
    pytest.fail(problem, pytrace=False)  # outside `except`: no chained-traceback noise


def _connect(host: str, port: int) -> None:
    # Fails in milliseconds, where librdkafka would retry quietly until its own timeout.
    socket.create_connection((host, port), timeout=3.0).close()


def _ping(url: str) -> None:
    with redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3) as client:
        client.ping()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    bootstrap = os.environ.get("BRIDGE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    _require(f"Kafka is not reachable at {bootstrap}", lambda: _connect(host, int(port)))
    admin = AdminClient({"bootstrap.servers": bootstrap})
    _require(
        f"Kafka at {bootstrap} does not answer metadata", lambda: admin.list_topics(timeout=15)
    )
    return bootstrap


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("BRIDGE_REDIS_URL", "redis://127.0.0.1:16379/0")
    _require(f"Redis does not answer PING at {url}", lambda: _ping(url))
    return url


@pytest.fixture
def create_topic(kafka_bootstrap: str) -> Iterator[CreateTopic]:
    """Return `create(partitions=1) -> name`: a fresh topic, deleted again after the test."""
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    created: list[str] = []

    def create(partitions: int = 1) -> str:
        name = f"bridge-it-{uuid.uuid4().hex[:12]}"
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)],
            operation_timeout=30,
            request_timeout=30,
        )
        futures[name].result(timeout=30)
        created.append(name)
        return name

    yield create
    if created:
        for future in admin.delete_topics(created, operation_timeout=30).values():
            future.result(timeout=30)
