"""`bridge daemon` end to end against `bridge replay` of the same files, in one run:

    .venv/bin/python bench/daemon_bench.py [--files 20] [--records 100000] [--chunk-records C]

(a) `bridge replay` of each file, one process after the other (the way a batch script would);
(b) the files dropped at once into the inbox of one running `bridge daemon`, timed from the
    drop to the last receipt.

Each side gets its own topics (the same content would otherwise be a duplicate for the second)
and the Redis cache stays out of both (`[daemon] cache = false`, replay without --cache). Prints
files/s and records/s of both, the ratio (target: daemon >= 1.0 x replay), and the daemon's RSS
after each receipt (target: flat). The broker is BRIDGE_KAFKA_BOOTSTRAP (scripts/services env);
topics are deleted after the run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
RECORD_LENGTH = 300
PII_ENV = {"BRIDGE_PII_KEY": "bench-only-pii-key-0123456789abcdef"}


def generate(path: Path, records: int, seed: int) -> None:
    """The sample repeated to ``records`` records, a few bytes of one record changed per file
    so that every file has its own SHA-256."""
    sample = SAMPLE.read_bytes()
    data = bytearray((sample * (records // 1000 + 1))[: records * RECORD_LENGTH])
    rng = random.Random(seed)
    at = rng.randrange(records) * RECORD_LENGTH
    data[at : at + 8] = rng.randbytes(8)
    path.write_bytes(bytes(data))


def config(directory: Path, tag: str, bootstrap: str, chunk: int, inbox: Path | None) -> Path:
    lines = [
        "[kafka]",
        f'"bootstrap.servers" = "{bootstrap}"',
        "[topics]",
        *(f'{k} = "{tag}.{k}"' for k in ("events", "audit", "control", "progress", "schemas")),
        "[replay]",
        f"chunk_records = {chunk}",
    ]
    if inbox is not None:
        lines += [
            "[http]",
            'listen = "127.0.0.1:0"',
            "[daemon]",
            f'name = "{tag}"',
            "settle = 0.2",
            "rescan = 1",
            "cache = false",
            "[[inbox]]",
            f'path = "{inbox}"',
            f'mapping = "{MAPPING}"',
        ]
    path = directory / f"{tag}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--records", type=int, default=100_000, help="records per file")
    parser.add_argument("--chunk-records", type=int, default=20_000)
    args = parser.parse_args()
    bootstrap = os.environ.get("BRIDGE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    env = {**os.environ, **PII_ENV}
    work = Path(tempfile.mkdtemp(prefix="daemon-bench-"))
    tags = [f"bench-daemon-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        sources = work / "files"
        sources.mkdir()
        names = []
        for i in range(args.files):
            name = f"unload{i:02}.dat"
            generate(sources / name, args.records, seed=i)
            names.append(name)
        total = args.files * args.records

        # (a) bridge replay, one file after the other
        replay_config = config(work, tags[0], bootstrap, args.chunk_records, None)
        started = time.monotonic()
        for name in names:
            done = subprocess.run(
                [sys.executable, "-m", "bridge", "replay", str(sources / name), "--mapping",
                 str(MAPPING), "--config", str(replay_config), "--json"],
                check=False, stdout=subprocess.DEVNULL, env=env, cwd=ROOT,
            )  # fmt: skip
            if done.returncode not in (0, 1):  # 1: some records rejected (the sample has some)
                raise SystemExit(f"bridge replay {name} exited {done.returncode}")
        replay_s = time.monotonic() - started

        # (b) the daemon, every file dropped at once
        inbox = work / "inbox"
        inbox.mkdir()
        daemon_config = config(work, tags[1], bootstrap, args.chunk_records, inbox)
        log = open(work / "daemon.log", "wb")  # noqa: SIM115  (the daemon's, closed below)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "daemon", "--config", str(daemon_config)],
            stderr=log, env=env, cwd=ROOT,
        )  # fmt: skip
        while not (inbox / ".claims").is_dir():
            time.sleep(0.1)
        time.sleep(1.0)  # started: watching
        started = time.monotonic()
        for name in names:  # a transfer: hidden name, rename, trigger
            shutil.copyfile(sources / name, inbox / f".{name}")
            os.rename(inbox / f".{name}", inbox / name)
            (inbox / f"{name}.done").touch()
        rss: list[float] = []
        received: set[str] = set()
        while len(received) < len(names):
            for name in names:
                receipt = inbox / "processed" / f"{name}.receipt.json"
                if name not in received and receipt.exists():
                    received.add(name)
                    rss.append(rss_mb(proc.pid))
            if proc.poll() is not None:
                raise SystemExit(f"the daemon exited {proc.returncode}: see {work}/daemon.log")
            time.sleep(0.05)
        daemon_s = time.monotonic() - started
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        log.close()

        print(f"{args.files} files x {args.records:,} records, chunk {args.chunk_records:,}")
        for label, seconds in (
            ("bridge replay, one by one", replay_s),
            ("bridge daemon", daemon_s),
        ):
            print(
                f"  {label:27} {seconds:7.1f} s  {args.files / seconds:6.2f} files/s  "
                f"{total / seconds:10,.0f} records/s"
            )
        print(f"  daemon / replay: {replay_s / daemon_s:.2f} x (target >= 1.0)")
        print(
            "  daemon RSS after each receipt (MB): "
            + " ".join(f"{r:.0f}" for r in rss)
            + f"  (first {rss[0]:.0f}, last {rss[-1]:.0f})"
        )
        return 0
    finally:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        existing = set(admin.list_topics(timeout=15).topics)
        doomed = [t for t in existing if any(t.startswith(tag + ".") for tag in tags)]
        if doomed:
            for future in admin.delete_topics(doomed, operation_timeout=30).values():
                future.result(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
