"""`bridge consume` on an events topic (schemas resolved from the schemas topic) and on an
audit topic: every committed message printed once, the one that breaks its schema reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from bridge.cli import main
from tests.integration.conftest import CreateTopic
from tests.integration.events import Ev, produce

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
PII_KEY = "test-only-key-0123456789abcdef0123456789abcdef"


def sample(tmp_path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The sample's record schema, events and audits (bridge schema, bridge decode --mapping)."""
    bridge = [sys.executable, "-m", "bridge"]
    env = {"BRIDGE_PII_KEY": PII_KEY, "PATH": "/usr/bin:/bin"}
    schema = json.loads(
        subprocess.run(
            [*bridge, "schema", str(MAPPING)], capture_output=True, check=True, env=env
        ).stdout
    )
    errors = tmp_path / "audit.jsonl"
    out = subprocess.run(
        [*bridge, "decode", "--mapping", str(MAPPING), str(SAMPLE), "--errors", str(errors)],
        capture_output=True,
        env=env,
        check=False,
    )
    assert out.returncode == 1, out.stderr  # the sample has rejected records
    events = [json.loads(line) for line in out.stdout.splitlines()]
    audits = [json.loads(line) for line in errors.read_text().splitlines()]
    return schema, events, audits


def consume(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[dict[str, Any]], str]:
    status = main(["consume", *args, "--timeout", "3"])
    captured = capsys.readouterr()
    return status, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_consume_events_and_audits(
    kafka_bootstrap: str,
    create_topic: CreateTopic,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BRIDGE_KAFKA_BOOTSTRAP", kafka_bootstrap)
    schema, events, audits = sample(tmp_path)
    schemas_topic, events_topic, audit_topic = create_topic(), create_topic(2), create_topic()
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(schemas_topic, key=schema["$id"].encode(), value=json.dumps(schema).encode())
    producer.flush(30)

    broken = dict(events[5], currency=42)  # a number where the schema says a string
    published = [*events[:50], broken]
    produce(
        kafka_bootstrap,
        events_topic,
        [
            Ev(f"acct:{n}", doc, record=n, schema_id=schema["$id"])
            for n, doc in enumerate(published)
        ],
        chunk=20,
    )
    status, lines, err = consume(
        capsys, events_topic, "--from-beginning", "--schemas-topic", schemas_topic
    )
    assert status == 1
    assert sorted(line["headers"]["bridge_record"] for line in lines) == sorted(
        str(n) for n in range(51)
    )
    by_record = {int(line["headers"]["bridge_record"]): line for line in lines}
    assert [n for n, line in by_record.items() if "problems" in line] == [50]
    assert "/currency: 42 is not of type 'string'" in by_record[50]["problems"]
    assert by_record[3]["value"] == events[3] and by_record[3]["key"] == "acct:3"
    assert f"{events_topic}/" in err and "/currency: 42 is not of type 'string'" in err
    assert "51 messages, 1 not valid" in err

    # --max stops early; an unknown schema id is a problem, not a crash.
    status, lines, _ = consume(capsys, events_topic, "--from-beginning", "--max", "3")
    assert len(lines) == 3 and status == 1
    assert all("is not in the schemas topic" in line["problems"][0] for line in lines)

    bad_audit = dict(audits[0], stage="guess")
    producer.produce(audit_topic, key=b"f", value=json.dumps(audits[0]).encode())
    producer.produce(audit_topic, key=b"f", value=json.dumps(bad_audit).encode())
    producer.produce(audit_topic, key=b"f", value=json.dumps(audits[1]).encode())
    producer.flush(30)
    status, lines, err = consume(capsys, audit_topic, "--audit")
    assert status == 1
    assert [line["offset"] for line in lines] == [0, 1, 2]
    assert [("problems" in line) for line in lines] == [False, True, False]
    assert lines[1]["problems"][0].startswith("/stage: 'guess' is not one of")
    assert lines[2]["value"] == audits[1]
