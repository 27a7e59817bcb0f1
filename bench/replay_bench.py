"""Replay throughput on the real broker, three ways in one run:

    .venv/bin/python bench/replay_bench.py [--records N] [--chunk-records C] [--big-file-gb G]

(a) Kafka's own org.apache.kafka.tools.ProducerPerformance (the kafka-tools jar of
    scripts/kafka/pom.xml, collected with Maven into build/kafka-tools/) sending N of the
    replay's own events (--payload-file) with acks=all and idempotence;
(b) a bare confluent-kafka transactional produce loop of the same pre-built events, with their
    headers, in transactions of C records: the Python client's ceiling;
(c) `bridge replay` of a generated N-record file (the bundled sample repeated, about 3% of the
    records corrupted), end to end as a process, transactions on.

Prints records/s of each and the ratios (targets: c >= 1.0 x a, c >= 0.7 x b), and the peak
RSS of (c). --big-file-gb G also replays a G GB file and reports its peak RSS (target under
200 MB for 2 GB). The broker is BRIDGE_KAFKA_BOOTSTRAP (scripts/services env); every topic is
created for the run and deleted after it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

# confluent_kafka.admin re-exports NewTopic without declaring it, which mypy --strict rejects.
from confluent_kafka.cimpl import NewTopic

from bridge.mapping.program import load_program
from bridge.sinks import headers as h
from bridge.sinks.kafka import PRODUCER_SETTINGS
from bridge.stage.judge import judge_batches

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "bench"
TOOLS = ROOT / "build" / "kafka-tools"
POM = ROOT / "scripts" / "kafka" / "pom.xml"
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
RECORD_LENGTH = 300
PII_ENV = {"BRIDGE_PII_KEY": "bench-only-pii-key-0123456789abcdef"}
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
POOL = 20_000  # distinct pre-built events for (a) and (b), cycled


def generate(path: Path, records: int, seed: int = 20261202) -> Path:
    """The sample repeated to ``records`` records, about 3% with random bytes written over."""
    if path.is_file() and path.stat().st_size == records * RECORD_LENGTH:
        return path
    rng = random.Random(seed)
    sample = SAMPLE.read_bytes()
    per = len(sample) // RECORD_LENGTH
    with open(path, "wb") as out:
        for start in range(0, records, per):
            block = bytearray(sample[: (min(per, records - start)) * RECORD_LENGTH])
            for _ in range(len(block) // RECORD_LENGTH * 3 // 100):
                at = rng.randrange(len(block) - 20)
                n = rng.randrange(1, 16)
                block[at : at + n] = rng.randbytes(n)
            out.write(block)
    return path


def events(path: Path) -> list[tuple[bytes, bytes | None, list[tuple[str, str | bytes | None]]]]:
    """The first POOL events of ``path`` as replay sends them (value, key, headers)."""
    os.environ.update(PII_ENV)
    program = load_program(MAPPING)
    sha = hashlib.sha256(path.read_bytes()[: 10 * 2**20]).hexdigest()  # id-shaped, not the file's
    pool: list[tuple[bytes, bytes | None, list[tuple[str, str | bytes | None]]]] = []
    for batch in judge_batches(program, path, batch_records=POOL):
        ev = batch.events
        for i, record in enumerate(ev.records):
            headers: list[tuple[str, str | bytes | None]] = [
                (h.CE_SPECVERSION, "1.0"),
                (h.CE_SOURCE, f"/bridge/acctmast/{path.name}"),
                (h.CE_TIME, "2026-12-02T00:00:00.000Z"),
                (h.CE_DATASCHEMA, program.schema_id),
                (h.CONTENT_TYPE, "application/json"),
                (h.FILE_SHA256, sha),
                (h.CE_ID, h.event_id(sha, record)),
                (h.CE_TYPE, "acctmast"),
                (h.RECORD, str(record)),
                (h.OFFSET, str(ev.offsets[i])),
                (h.FINGERPRINT, program.layout().fingerprint),
                (h.REDIS_KEY, ev.redis_keys[i]),
            ]
            pool.append((ev.document(i), ev.kafka_keys[i], headers))
        break
    return pool


def topic(bootstrap: str, partitions: int = 3) -> str:
    name = f"bridge-bench-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[
        name
    ].result(timeout=30)
    return name


def delete(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    existing = set(admin.list_topics(timeout=15).topics)
    doomed = [n for n in names if n in existing]
    if doomed:
        for future in admin.delete_topics(doomed, operation_timeout=30).values():
            future.result(timeout=30)


def tools_classpath() -> str:
    stamp = TOOLS / ".pom.sha256"
    wanted = hashlib.sha256(POM.read_bytes()).hexdigest()
    if not (stamp.is_file() and stamp.read_text().strip() == wanted):
        shutil.rmtree(TOOLS, ignore_errors=True)
        goal = f"{DEPENDENCY_PLUGIN}:copy-dependencies"
        subprocess.run(
            ["mvn", "-B", "-q", "-f", str(POM), goal, f"-DoutputDirectory={TOOLS}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        stamp.write_text(wanted + "\n")
    return f"{TOOLS}/*"


def producer_performance(
    bootstrap: str, records: int, pool: list[tuple[bytes, bytes | None, object]]
) -> float:
    """(a) records/s of ProducerPerformance sending the pool's events (values only)."""
    payloads = BUILD / "payloads.txt"
    payloads.write_bytes(b"\n".join(value for value, _, _ in pool))
    name = topic(bootstrap)
    props = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": "true",
        "linger.ms": PRODUCER_SETTINGS["linger.ms"],
        "batch.size": PRODUCER_SETTINGS["batch.size"],
        "compression.type": PRODUCER_SETTINGS["compression.type"],
    }
    try:
        done = subprocess.run(
            [
                *("java", "-Xmx512m", "-cp", tools_classpath()),
                "org.apache.kafka.tools.ProducerPerformance",
                *("--topic", name, "--num-records", str(records), "--throughput", "-1"),
                *("--payload-file", str(payloads), "--payload-delimiter", "\n"),
                *("--producer-props", *(f"{k}={v}" for k, v in props.items())),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        delete(bootstrap, [name])
    found = re.findall(r"(\d+) records sent, ([\d.]+) records/sec", done.stdout)
    if not found:
        raise SystemExit(f"ProducerPerformance said:\n{done.stdout}\n{done.stderr}")
    return float(found[-1][1])


def bare_loop(
    bootstrap: str,
    records: int,
    chunk: int,
    pool: list[tuple[bytes, bytes | None, list[tuple[str, str | bytes | None]]]],
) -> float:
    """(b) records/s of a bare transactional produce loop of the pool's events, headers too."""
    name = topic(bootstrap)
    settings = {k: v for k, v in PRODUCER_SETTINGS.items() if k != "log_level"}
    producer = Producer(
        {**settings, "bootstrap.servers": bootstrap, "transactional.id": f"bench-{name}"}
    )
    try:
        producer.init_transactions(30)
        started = time.perf_counter()
        sent = 0
        while sent < records:
            producer.begin_transaction()
            for i in range(sent, min(records, sent + chunk)):
                value, key, headers = pool[i % len(pool)]
                while True:
                    try:
                        producer.produce(name, value, key, headers=headers)
                        break
                    except BufferError:
                        producer.poll(0.1)
                producer.poll(0)
            producer.commit_transaction(60)
            sent = min(records, sent + chunk)
        return records / (time.perf_counter() - started)
    finally:
        delete(bootstrap, [name])


def replay(bootstrap: str, path: Path, records: int, chunk: int) -> tuple[float, float]:
    """(c) records/s of `bridge replay` as a process, and its peak RSS in MB."""
    tag = f"bridge-bench-{uuid.uuid4().hex[:10]}"
    config = BUILD / f"{tag}.toml"
    kinds = ("events", "audit", "control", "progress", "schemas")
    config.write_text(
        "[topics]\n"
        + "".join(f'{k} = "{tag}.{k}"\n' for k in kinds)
        + f'[kafka]\n"bootstrap.servers" = "{bootstrap}"\n'
    )
    try:
        out = BUILD / f"{tag}.out"
        err = BUILD / f"{tag}.err"
        started = time.perf_counter()
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "bridge", "replay", str(path)),
                    *("--mapping", str(MAPPING), "--config", str(config)),
                    *("--json", "--chunk-records", str(chunk)),
                ],
                stdout=stdout,
                stderr=stderr,
                env={**os.environ, **PII_ENV},
            )
            # wait4: the peak RSS of this child alone (RUSAGE_CHILDREN would include java's).
            _, status, usage = os.wait4(process.pid, 0)
        took = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            raise SystemExit(f"bridge replay failed ({code}):\n{err.read_text()}")
        summary = json.loads(out.read_text())
        out.unlink()
        err.unlink()
        assert summary["counts"]["read"] == records, summary["counts"]
        assert summary["reconciled"], summary["counts"]
        return records / took, usage.ru_maxrss / 1024
    finally:
        delete(bootstrap, [f"{tag}.{k}" for k in kinds])
        config.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--chunk-records", type=int, default=20_000)
    parser.add_argument("--big-file-gb", type=float, default=0.0)
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("BRIDGE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    BUILD.mkdir(parents=True, exist_ok=True)
    path = generate(BUILD / f"replay-{args.records}.dat", args.records)
    pool = events(path)
    size = sum(len(v) for v, _, _ in pool) / len(pool)
    print(f"{args.records:,} records, events of {size:.0f} bytes on average, broker {bootstrap}")

    a = producer_performance(bootstrap, args.records, pool)  # type: ignore[arg-type]
    print(f"(a) ProducerPerformance, acks=all, idempotent:   {a:>10,.0f} records/s")
    b = bare_loop(bootstrap, args.records, args.chunk_records, pool)
    print(f"(b) confluent-kafka transactional loop:          {b:>10,.0f} records/s")
    c, rss = replay(bootstrap, path, args.records, args.chunk_records)
    print(f"(c) bridge replay, end to end:                   {c:>10,.0f} records/s")
    print(f"    c/a = {c / a:.2f} (target >= 1.0), c/b = {c / b:.2f} (target >= 0.7)")
    print(f"    peak RSS of (c): {rss:,.0f} MB ({path.stat().st_size / 2**20:,.0f} MB file)")
    if args.big_file_gb:
        big_records = int(args.big_file_gb * 2**30) // RECORD_LENGTH
        big = generate(BUILD / f"replay-{big_records}.dat", big_records)
        rate, rss = replay(bootstrap, big, big_records, args.chunk_records)
        print(
            f"    {args.big_file_gb:g} GB file ({big_records:,} records): {rate:,.0f} records/s, "
            f"peak RSS {rss:,.0f} MB (target < 200 MB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
