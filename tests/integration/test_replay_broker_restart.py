"""The broker stopped in the middle of a file and started again: the replay waits, says so,
and completes exactly once. Runs a SECOND, private broker (scripts/services with its own
ports and directory), never the shared one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.replay_support import (
    PII_ENV,
    ROOT,
    Topics,
    check_exactly_once,
    corrupt_copy,
    expected,
    replay_command,
)

SERVICES = ROOT / "scripts" / "services"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivateBroker:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "BRIDGE_KAFKA_PORT": str(self.port),
            "BRIDGE_KAFKA_CONTROLLER_PORT": str(free_port()),
            "BRIDGE_SERVICES_DIR": str(directory),
        }
        self.bootstrap = f"127.0.0.1:{self.port}"

    def services(self, command: str) -> None:
        done = subprocess.run(
            [str(SERVICES), command, "kafka"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    broker = PrivateBroker(tmp_path / "services")
    broker.services("up")
    try:
        yield broker
    finally:
        broker.services("down")  # this broker's own PID file: the shared one is untouched


def test_broker_restart_mid_file(private_broker: PrivateBroker, tmp_path: Path) -> None:
    path = corrupt_copy(tmp_path / "restart.dat", copies=30, seed=3)
    want = expected(path)
    topics = Topics(private_broker.bootstrap, tmp_path)
    process = subprocess.Popen(
        replay_command(path, topics, "--chunk-records", "100", "--timeout", "120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **PII_ENV},
        cwd=ROOT,
    )
    time.sleep(3.0)  # the file takes longer than this at 100 records per transaction
    assert process.poll() is None, "the replay ended before the broker stopped"
    private_broker.services("down")
    time.sleep(3.0)
    private_broker.services("up")
    out, err = process.communicate(timeout=240)
    assert json.loads(out)["outcome"] == "published"
    assert process.returncode == 1, err
    assert "waiting for Kafka at" in err
    check_exactly_once(topics, want)
