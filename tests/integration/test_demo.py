"""`make demo` end to end: scripts/demo.py (bridge replay of the sample, then a read-back)
against the real broker, twice (it must be re-runnable with exact counts), checked against the
sample's own fault list."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "demo.py"
FAULTS = ROOT / "copybooks" / "samples" / "acctmast.faults.json"
AUDIT_TOPIC = "bridge.demo.acctmast.audit"
COUNTS = {
    "in": r"records in\s+(\d+)",
    "events": r"events out\s+(\d+)",
    "audit": r"audit entries\s+(\d+)",
}


def _faults() -> dict[str, Any]:
    info: dict[str, Any] = json.loads(FAULTS.read_text(encoding="utf-8"))
    return info


def run_demo(kafka_bootstrap: str) -> dict[str, int]:
    env = {**os.environ, "BRIDGE_KAFKA_BOOTSTRAP": kafka_bootstrap}
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        check=False,  # the assertion below shows its output
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout
    assert "second replay     already-complete: 0 events, 0 audits (exit 0)" in done.stdout
    assert "chain unbroken" in done.stdout
    counts = {}
    for name, pattern in COUNTS.items():
        found = re.search(pattern, done.stdout)
        assert found is not None, f"no {name!r} count in:\n{done.stdout}"
        counts[name] = int(found.group(1))
    return counts


def audited_records(bootstrap: str, expected: int) -> list[int]:
    """The record numbers on the audit topic (every partition), read_committed."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bridge-it-{uuid.uuid4().hex[:12]}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    numbers: list[int] = []
    try:
        partitions = consumer.list_topics(AUDIT_TOPIC, timeout=10).topics[AUDIT_TOPIC].partitions
        consumer.assign([TopicPartition(AUDIT_TOPIC, p, OFFSET_BEGINNING) for p in partitions])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF and len(numbers) >= expected:
                    break
                continue
            audit = json.loads(msg.value() or b"{}")
            numbers.append(audit["record"]["number"])
    finally:
        consumer.close()
    return numbers


def test_demo_reconciles_and_reruns(kafka_bootstrap: str) -> None:
    info = _faults()
    for _ in range(2):  # the second run starts from the first one's topics
        counts = run_demo(kafka_bootstrap)
        assert counts["in"] == info["records"]
        assert counts["in"] == counts["events"] + counts["audit"]
        assert counts["audit"] == info["bad"] == len(info["faults"])
        assert counts["events"] == info["good"]
    audited = audited_records(kafka_bootstrap, info["bad"])
    assert sorted(audited) == [f["record"] for f in info["faults"]]
