"""`bridge daemon` against the real Kafka and Redis: files dropped into inboxes end in the right
folders with receipts that agree with the topics and /metrics; signals; kill -9 and restart;
two daemons on one inbox; a dead daemon's claim taken over."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.sinks import headers as h
from tests.integration.daemon_support import (
    Setup,
    check_file_once,
    drop,
    receipt,
    sample_records,
    unique,
    wait_for,
)
from tests.integration.replay_support import ROOT, SAMPLE, rdw_copy, run_replay

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def setup(kafka_bootstrap: str, redis_url: str, tmp_path: Path) -> Iterator[Setup]:
    s = Setup(kafka_bootstrap, redis_url, tmp_path)
    yield s
    s.delete()


def metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_dropped_files_end_in_their_folders_with_receipts_agreeing_with_topics_and_metrics(
    setup: Setup, tmp_path: Path
) -> None:
    inbox = setup.inboxes[0][0]
    broken, rdw_mapping = rdw_copy(tmp_path, 300, 200)
    rdw_inbox = setup.inbox(rdw_mapping, trigger="")  # a stable size is enough there
    daemon = setup.start()
    try:
        daemon.wait_ready()
        data = SAMPLE.read_bytes()
        (inbox / "half.dat").write_bytes(data[: len(data) // 2])  # still being written
        time.sleep(2.5)  # several settle times and rescans: never taken without its trigger
        assert (inbox / "half.dat").exists()
        with open(inbox / "half.dat", "ab") as f:
            f.write(data[len(data) // 2 :])
        (inbox / "half.dat.done").touch()
        drop(inbox, "empty.dat", b"")
        os.symlink(tmp_path / "gone", inbox / "unreadable.dat")  # opening it fails
        (inbox / "unreadable.dat.done").touch()
        drop(rdw_inbox, "broken.rdw", broken.read_bytes(), trigger="")
        wait_for((inbox / "processed" / "half.dat.receipt.json").exists, 120, "half")
        drop(inbox, "again.dat", data)  # the same content under another name
        processed, failed = inbox / "processed", inbox / "failed"
        wait_for(
            lambda: (
                (processed / "again.dat.receipt.json").exists()
                and (processed / "empty.dat.receipt.json").exists()
                and (failed / "unreadable.dat.reason.txt").exists()
                and (rdw_inbox / "failed" / "broken.rdw.reason.txt").exists()
            ),
            120,
            daemon.logs,
        )
        assert sorted(p.name for p in inbox.iterdir() if not p.name.startswith(".")) == [
            "failed",
            "processed",
        ]
        first = receipt(inbox, "half.dat")
        assert first["outcome"] == "published" and not first["duplicate"]
        assert first["counts"]["read"] == 1000 and first["reconciled"]
        assert (processed / "half.dat").read_bytes() == data  # moved, whole
        assert (processed / "half.dat.done").exists()
        again = receipt(inbox, "again.dat")
        assert again["duplicate"] and again["published_now"] == 0
        assert again["sha256"] == first["sha256"]
        assert receipt(inbox, "empty.dat")["counts"]["read"] == 0
        assert "cannot be read" in (failed / "unreadable.dat.reason.txt").read_text()
        reason = (rdw_inbox / "failed" / "broken.rdw.reason.txt").read_text()
        assert "cannot be framed from byte" in reason
        assert (rdw_inbox / "failed" / "broken.rdw").read_bytes() == broken.read_bytes()

        copy = tmp_path / "sample.dat"
        copy.write_bytes(data)
        published = setup.published()
        check_file_once(published, copy)
        assert set(first["offsets"]) >= {setup.topics.names.events, setup.topics.names.audit}
        broken_receipt = json.loads((rdw_inbox / "failed" / "broken.rdw.receipt.json").read_text())
        broken_sha = broken_receipt["sha256"]
        assert broken_receipt["counts"]["read"] == 201  # the 200 before the break, the rest
        assert broken_receipt["counts"]["rejected_by_stage"]["framing"] == 1
        assert sum(published[broken_sha].values()) == broken_receipt["counts"]["published"]
        framing = [
            m
            for m in setup.topics.read(setup.topics.names.audit)
            if m.header(h.FILE_SHA256) == broken_sha and m.header("bridge_stage") == "framing"
        ]
        assert len(framing) == 1

        status, text = daemon.get("/metrics")
        assert status == 200
        m = metrics(text)
        profile = (("profile", "acctmast"),)
        receipts = [
            json.loads(p.read_text())
            for box in (inbox, rdw_inbox)
            for p in [*box.glob("processed/*.receipt.json"), *box.glob("failed/*.receipt.json")]
        ]
        counted = [r["counts"] for r in receipts if not r["duplicate"]]
        assert len(counted) == 3  # half, empty, broken (again is a duplicate)
        for name, key in (("read", "read"), ("published", "published")):
            total = m[(f"bridge_records_{name}_total", profile)]
            assert total == sum(c[key] for c in counted), name
        rejected = {
            dict(labels)["rule"]: v
            for (name, labels), v in m.items()
            if name == "bridge_records_rejected_total"
        }
        by_rule: dict[str, int] = {}
        for c in counted:
            for rule, n in c["rejected_by_rule"].items():
                by_rule[rule] = by_rule.get(rule, 0) + n
        assert rejected == by_rule
        done = {
            dict(labels)["outcome"]: v
            for (name, labels), v in m.items()
            if name == "bridge_files_done_total"
        }
        assert done == {"processed": 2, "duplicate": 1, "failed": 2}
        check = subprocess.run(
            [sys.executable, "-m", "bridge", "check", "--config", str(setup.config("a"))],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        assert daemon.get("/healthz")[0] == 200
    finally:
        assert daemon.stop() == 0
    after = subprocess.run(
        [sys.executable, "-m", "bridge", "check", "--config", str(setup.config("a"))],
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    assert after.returncode == 1  # nobody answers any more


def test_sighup_with_a_broken_configuration_keeps_the_old_one(setup: Setup) -> None:
    inbox = setup.inboxes[0][0]
    daemon = setup.start()
    try:
        daemon.wait_ready()
        config = setup.config("a")
        good = config.read_text()
        config.write_text(good + "[daemon.oops]\n")
        daemon.signal(signal.SIGHUP)
        wait_for(
            lambda: any("not reloaded" in e.get("message", "") for e in daemon.logs()),
            30,
            "no rejection logged",
        )
        drop(inbox, "after.dat", sample_records(7, 30))
        wait_for((inbox / "processed" / "after.dat.receipt.json").exists, 60, "after")
        assert daemon.get("/readyz")[0] == 200
    finally:
        assert daemon.stop() == 0


def test_sigterm_during_a_file_exits_cleanly_and_the_restart_completes_it(
    setup: Setup, tmp_path: Path
) -> None:
    inbox = setup.inboxes[0][0]
    data = sample_records(3, 30_000)  # 60 transactions of 500 records
    (tmp_path / "big.src").write_bytes(data)
    daemon = setup.start()
    daemon.wait_ready()
    drop(inbox, "big.dat", data)
    claimed = inbox / ".claims" / "a" / "big.dat"
    wait_for(claimed.exists, 60, "never claimed")
    time.sleep(0.5)
    started = time.monotonic()
    assert daemon.stop(timeout=30) == 0
    assert time.monotonic() - started < 20  # [daemon] drain_timeout
    assert claimed.exists(), "finished before the signal: the test proves nothing"
    assert any("next start resumes" in e.get("message", "") for e in daemon.logs())
    again = setup.start()
    try:
        wait_for((inbox / "processed" / "big.dat.receipt.json").exists, 180, "resume")
        assert receipt(inbox, "big.dat")["resumed_from"] is not None
        check_file_once(setup.published(), tmp_path / "big.src")
    finally:
        assert again.stop() == 0


def test_kill_9_mid_file_then_restart_publishes_exactly_once(setup: Setup, tmp_path: Path) -> None:
    """A short form (3 trials; make soak runs 50)."""
    inbox = setup.inboxes[0][0]
    rng = random.Random()
    trials = int(os.environ.get("BRIDGE_DAEMON_KILL_TRIALS", "3"))
    for trial in range(trials):
        name = f"kill{trial}-{unique()}.dat"
        data = sample_records(trial * 11, 8_000)
        (tmp_path / name).write_bytes(data)
        daemon = setup.start()
        daemon.wait_ready()
        drop(inbox, name, data)
        wait_for((inbox / ".claims" / "a" / name).exists, 60, "never claimed")
        time.sleep(rng.uniform(0.3, 3.0))  # before, during or after the transactions
        daemon.kill()
        restarted = setup.start()
        try:
            restarted.wait_ready()  # a daemon signalled while importing dies of the signal
            wait_for((inbox / "processed" / f"{name}.receipt.json").exists, 180, name)
        finally:
            assert restarted.stop() == 0
        assert not receipt(inbox, name)["duplicate"]  # even when killed before its receipt
        check_file_once(setup.published(), tmp_path / name)


def test_two_daemons_on_one_inbox_publish_each_file_once_between_them(
    setup: Setup, tmp_path: Path
) -> None:
    inbox = setup.inboxes[0][0]
    a, b = setup.start("a"), setup.start("b")
    try:
        a.wait_ready()
        b.wait_ready()
        names = []
        for i in range(20):
            name = f"f{i:02}.dat"
            data = sample_records(i * 37, 200)
            (tmp_path / name).write_bytes(data)
            drop(inbox, name, data)
            names.append(name)
        wait_for(
            lambda: all((inbox / "processed" / f"{n}.receipt.json").exists() for n in names),
            240,
            "not all processed",
        )
        by = {receipt(inbox, n)["daemon"] for n in names}
        assert by == {"a", "b"}, by
        assert not any(receipt(inbox, n)["duplicate"] for n in names)
        published = setup.published()
        for n in names:
            check_file_once(published, tmp_path / n)
    finally:
        assert a.stop() == 0
        assert b.stop() == 0


def test_a_dead_daemons_claim_is_taken_over(setup: Setup, tmp_path: Path) -> None:
    inbox = setup.inboxes[0][0]
    ghost = inbox / ".claims" / "ghost"
    ghost.mkdir(parents=True)
    data = sample_records(5, 100)
    (tmp_path / "orphan.src").write_bytes(data)
    (ghost / "orphan.dat").write_bytes(data)
    (ghost / "orphan.dat.done").touch()
    (ghost / ".heartbeat").touch()  # alive until [daemon] takeover (5 s) of silence
    daemon = setup.start()
    try:
        daemon.wait_ready()
        started = time.monotonic()
        wait_for((inbox / "processed" / "orphan.dat.receipt.json").exists, 60, "orphan")
        assert time.monotonic() - started > 2  # not before the heartbeat went stale
        assert receipt(inbox, "orphan.dat")["daemon"] == "a"
        assert not (ghost / "orphan.dat").exists()
        check_file_once(setup.published(), tmp_path / "orphan.src")
        assert any(
            e.get("message") == "took over a claim of a silent daemon" for e in daemon.logs()
        )
    finally:
        assert daemon.stop() == 0


def test_a_daemon_killed_mid_file_leaves_it_to_the_other_after_the_takeover_time(
    setup: Setup, tmp_path: Path
) -> None:
    inbox = setup.inboxes[0][0]
    daemons = {"a": setup.start("a"), "b": setup.start("b")}
    try:
        for d in daemons.values():
            d.wait_ready()
        data = sample_records(13, 12_000)
        (tmp_path / "big.src").write_bytes(data)
        drop(inbox, "big.dat", data)
        holder: list[str] = []

        def claimed() -> bool:
            holder[:] = [n for n in daemons if (inbox / ".claims" / n / "big.dat").exists()]
            return bool(holder)

        wait_for(claimed, 60, "never claimed")
        time.sleep(0.3)
        daemons[holder[0]].kill()
        killed_at = time.monotonic()
        wait_for((inbox / "processed" / "big.dat.receipt.json").exists, 120, "not taken over")
        other = "b" if holder[0] == "a" else "a"
        done = receipt(inbox, "big.dat")
        assert done["daemon"] == other
        assert time.monotonic() - killed_at > 3  # [daemon] takeover is 5 s
        check_file_once(setup.published(), tmp_path / "big.src")
    finally:
        for d in daemons.values():
            if d.proc.poll() is None:
                assert d.stop() == 0


def test_a_file_published_by_a_daemon_that_died_before_its_receipt_is_no_duplicate(
    setup: Setup,
) -> None:
    inbox = setup.inboxes[0][0]
    own = inbox / ".claims" / "a"
    own.mkdir(parents=True)
    (own / "late.dat").write_bytes(sample_records(17, 300))
    done = run_replay(own / "late.dat", setup.topics)  # the earlier life got this far
    assert done.returncode in (0, 1), done.stderr
    daemon = setup.start()
    try:
        wait_for((inbox / "processed" / "late.dat.receipt.json").exists, 60, "late")
        late = receipt(inbox, "late.dat")
        assert not late["duplicate"] and late["completed_before"]
        assert late["published_now"] == 0 and late["counts"]["read"] == 300
        drop(inbox, "copy.dat", sample_records(17, 300))  # the same content again: a duplicate
        wait_for((inbox / "processed" / "copy.dat.receipt.json").exists, 60, "copy")
        assert receipt(inbox, "copy.dat")["duplicate"]
    finally:
        assert daemon.stop() == 0
