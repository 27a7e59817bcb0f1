#!/usr/bin/env python3
"""`make demo`: `bridge replay` of the bundled sample, then what a consumer sees.

The product does the work (bridge/engine/engine.py, as `bridge replay` runs it); this script
only shows it: a replay of copybooks/samples/acctmast.dat into the demo topics, a second replay
that publishes nothing (the file is complete), then a read_committed read-back of the events and
audits, the reconciliation against the file summary, and the audit chain verified.

Re-runnable: it starts from empty demo topics (bridge.demo.acctmast.*), so every count it prints
is exact for this run. The broker is BRIDGE_KAFKA_BOOTSTRAP (scripts/services env).

Exit codes (bridge/exitcodes.py): 0 reconciled, 3 mapping or copybook invalid, 4 sample
missing, 6 Kafka unreachable or failing, 7 reconciliation failed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from bridge.config import load_config
from bridge.engine.engine import replay
from bridge.engine.verify import check_chains
from bridge.errors import BridgeError, CopybookNotFoundError
from bridge.exitcodes import (
    RET_CONNECT,
    RET_COPYBOOK_INVALID,
    RET_NOT_FOUND,
    RET_OK,
    RET_UNRECONCILED,
)
from bridge.mapping.model import MappingNotFoundError, load_mapping
from bridge.mapping.program import Program, load_program
from bridge.sinks.kafka import (
    KafkaFatalError,
    KafkaUnavailableError,
    Patience,
    StoredMessage,
    read_topic,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
TOPICS = {kind: f"bridge.demo.{{mapping}}.{kind}" for kind in ("events", "audit", "control")}
TOPICS |= {"progress": "bridge.demo.{mapping}.progress", "schemas": "bridge.demo.schemas"}
# Not a secret: it only lets the demo run where BRIDGE_PII_KEY is unset (the mapping hashes
# national ids). Real runs read the key the mapping names and never fall back to this one.
DEMO_PII_KEY = "bridge-demo-only-pii-key-not-a-secret-0000"
HINT = "run scripts/services up"


class DemoError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def load(mapping_path: Path) -> Program:
    environ = dict(os.environ)
    try:
        mapping = load_mapping(mapping_path)
        env = mapping.pii_key.env if mapping.pii_key is not None else None
        if env and not environ.get(env):
            print(f"note: {env} is not set; hashing with the demo's built-in key")
            environ[env] = DEMO_PII_KEY
        return load_program(mapping_path, environ=environ)
    except (FileNotFoundError, MappingNotFoundError, CopybookNotFoundError) as exc:
        raise DemoError(RET_NOT_FOUND, str(exc)) from exc
    except BridgeError as exc:
        raise DemoError(RET_COPYBOOK_INVALID, f"{mapping_path}: {exc}") from exc


def reset(bootstrap: str, names: list[str]) -> None:
    """No demo topics: this run is the file's first, and every count below is exact."""
    host, _, port = bootstrap.split(",", maxsplit=1)[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3.0).close()
        admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
        existing = [t for t in names if t in admin.list_topics(timeout=10).topics]
        if existing:
            for future in admin.delete_topics(existing, operation_timeout=30).values():
                future.result(timeout=30)
        deadline = time.monotonic() + 30
        while set(names) & set(admin.list_topics(timeout=10).topics):
            if time.monotonic() > deadline:
                raise DemoError(RET_CONNECT, f"the demo topics are still being deleted: {names}")
            time.sleep(0.2)
    except (OSError, ValueError, KafkaException) as exc:
        raise DemoError(
            RET_CONNECT, f"Kafka is not reachable at {bootstrap} ({exc}): {HINT}"
        ) from exc


def shown(msg: StoredMessage) -> str:
    value: Any = json.loads(msg.value or b"null")
    record = value.get("record") if isinstance(value, dict) else None
    if isinstance(record, dict) and len(str(record.get("raw_base64", ""))) > 48:
        record["raw_base64"] = record["raw_base64"][:48] + "... (shortened here)"
    doc = {
        "topic": msg.topic,
        "partition": msg.partition,
        "offset": msg.offset,
        "key": (msg.key or b"").decode(),
        "headers": {k: v.decode() for k, v in msg.headers.items()},
        "value": value,
    }
    return "\n".join("  " + line for line in json.dumps(doc, indent=2).splitlines())


def run(sample: Path, mapping_path: Path) -> int:
    if not sample.is_file():
        raise DemoError(RET_NOT_FOUND, f"{sample}: no such file (scripts/make_sample.py makes it)")
    program = load(mapping_path)
    config = load_config(None)  # bridge.toml here, else the environment
    config = replace(config, topics=replace(config.topics, names=TOPICS))
    topics = config.topics.for_mapping(program.mapping.name)
    bootstrap = config.kafka.bootstrap
    reset(bootstrap, list(topics.all()))

    def say(message: str) -> None:
        print(f"  bridge replay: {message}", file=sys.stderr)

    started = time.monotonic()
    first = replay(program, sample, config, timeout=30, say=say)
    took = time.monotonic() - started
    second = replay(program, sample, config, timeout=30, say=say)

    patience = Patience(bootstrap, timeout=30)
    props = config.kafka.properties
    events = list(read_topic(props, topics.events, patience))
    audits = list(read_topic(props, topics.audit, patience))
    summaries = list(read_topic(props, topics.control, patience))
    verdicts = check_chains(audits, summaries)

    counts = first.progress.counts
    read_back_in = len(events) + len(audits)
    reconciled = (
        counts.reconciled
        and counts.read == read_back_in
        and counts.published == len(events)
        and counts.rejected == len(audits)
        and len(summaries) == 1
    )
    chain_ok = bool(verdicts) and all(v.ok for v in verdicts)
    reasons = Counter(
        f"{a.header('bridge_stage')}:{reason['rule']}"
        for a in audits
        for reason in json.loads(a.value or b"{}")["reasons"]
    )
    where = sample.relative_to(ROOT) if sample.is_relative_to(ROOT) else sample
    mapping = program.mapping
    print(
        "\n".join(
            [
                f"bridge demo: bridge replay {where} --mapping {mapping_path.name} "
                f"({mapping.name} {mapping.version}), broker {bootstrap}",
                "",
                f"  first replay      {first.outcome}: {first.published_now} events, "
                f"{first.rejected_now} audits in {took:.2f} s (exit {first.exit_code})",
                f"  second replay     {second.outcome}: {second.published_now} events, "
                f"{second.rejected_now} audits (exit {second.exit_code})",
                "",
                "read back (read_committed):",
                f"  records in        {counts.read:>6}   (file summary on {topics.control})",
                f"  events out        {len(events):>6}   -> {topics.events}",
                f"  audit entries     {len(audits):>6}   -> {topics.audit}",
                f"  reconciliation    in = out + audit: {counts.read} = {len(events)} + "
                f"{len(audits)}  {'PASS' if reconciled else 'FAIL'}",
                f"  audit chain       {verdicts[0] if verdicts else 'no chain found'}",
                "",
                "rejections by reason:",
                *(f"  {n:>3}  {reason}" for reason, n in sorted(reasons.items())),
                "",
                "sample event:",
                shown(events[0]) if events else "  (none read back)",
                "",
                "sample audit entry:",
                shown(audits[0]) if audits else "  (none read back)",
                "",
                "where to look:",
                f"  bridge audit verify --mapping {mapping.name} --file "
                f"{first.progress.file.sha256}   (with the demo's topics in a bridge.toml)",
                f"  the sample's faults: {sample.parent / 'README.md'}",
            ]
        )
    )
    if not (reconciled and chain_ok and second.outcome == "already-complete"):
        print(
            f"bridge demo: FAILED: read {counts.read}, published {counts.published} "
            f"(read back {len(events)}), rejected {counts.rejected} (read back {len(audits)}), "
            f"summaries {len(summaries)}, chain {[str(v) for v in verdicts]}",
            file=sys.stderr,
        )
        return RET_UNRECONCILED
    return RET_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bridge replay of the bundled sample, shown.")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help=f"default {SAMPLE}")
    parser.add_argument("--mapping", type=Path, default=MAPPING, help=f"default {MAPPING}")
    args = parser.parse_args(argv)
    try:
        return run(args.sample.resolve(), args.mapping.resolve())
    except DemoError as exc:
        print(f"bridge demo: {exc}", file=sys.stderr)
        return exc.code
    except (KafkaUnavailableError, KafkaFatalError) as exc:
        print(f"bridge demo: {exc}: {HINT}", file=sys.stderr)
        return RET_CONNECT
    except KafkaException as exc:
        err = exc.args[0] if exc.args else exc
        code = err.code() if isinstance(err, KafkaError) else None
        print(f"bridge demo: Kafka failed ({err}, code {code}): {HINT}", file=sys.stderr)
        return RET_CONNECT


if __name__ == "__main__":
    sys.exit(main())
