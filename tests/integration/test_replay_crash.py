"""kill -9 of `bridge replay` at random instants (random delay, several chunk sizes), then a
rerun: a read_committed consumer sees every record exactly once, the chain unbroken, the
summary once. BRIDGE_SOAK_TRIALS sets the number of trials (5 here, 100 in `make soak`)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.replay_support import (
    PII_ENV,
    ROOT,
    Expected,
    Topics,
    check_exactly_once,
    corrupt_copy,
    expected,
    replay_command,
    run_replay,
)

TRIALS = int(os.environ.get("BRIDGE_SOAK_TRIALS", "5"))
CHUNKS = (50, 300, 1000, 4000)


@pytest.fixture(scope="module")
def crash_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    path = corrupt_copy(tmp_path_factory.mktemp("crash") / "crash.dat", copies=15, seed=11)
    return path, expected(path)


def kill_at_random(path: Path, topics: Topics, rng: random.Random, chunk: int) -> float:
    """Start a replay and kill -9 it after a random delay; the delay."""
    delay = rng.uniform(0.2, 2.5)
    process = subprocess.Popen(
        replay_command(path, topics, "--chunk-records", str(chunk)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **PII_ENV},
        cwd=ROOT,
    )
    time.sleep(delay)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    return delay


@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill_then_rerun_is_exactly_once(
    trial: int, crash_file: tuple[Path, Expected], kafka_bootstrap: str, tmp_path: Path
) -> None:
    path, want = crash_file
    rng = random.Random(1000 + trial)
    topics = Topics(kafka_bootstrap, tmp_path)
    try:
        chunk = rng.choice(CHUNKS)
        delays = [kill_at_random(path, topics, rng, chunk)]
        if rng.random() < 0.5:  # and sometimes the resumed run dies too
            delays.append(kill_at_random(path, topics, rng, rng.choice(CHUNKS)))
        done = run_replay(path, topics, "--chunk-records", str(rng.choice(CHUNKS)))
        # 0: a killed run had committed the file's end already (the rerun says so).
        assert done.returncode in (0, 1), f"chunk {chunk}, kills after {delays}: {done.stderr}"
        check_exactly_once(topics, want)
    finally:
        topics.delete()
