"""The progress record and the summary: what is committed round-trips, and the exit status
follows the counts."""

from __future__ import annotations

import json
from collections import Counter

from bridge.engine.chain import ChainHead
from bridge.engine.engine import Summary
from bridge.engine.progress import SUMMARY_FORMAT, Counts, FileRef, Progress
from bridge.exitcodes import RET_FATAL_DATA, RET_INVALID_RECORDS, RET_OK, RET_UNRECONCILED
from bridge.stage.batch import Checkpoint

SHA = "cd" * 32


def progress(**changes: object) -> Progress:
    base = Progress(
        file=FileRef("/data/x.dat", SHA, 3000),
        mapping={"name": "m", "version": "1", "fingerprint": "f" * 64, "schema_id": "urn:x"},
        run=2,
        next=Checkpoint(10, 3000, None),
        counts=Counts(10, 8, 2, Counter({"decode": 2}), Counter({"bad-zone": 2})),
        chain=ChainHead.start(SHA, 2).append(b"{}")[0],
        offsets={"events": {"0": [5, 12]}},
        complete=True,
    )
    return base.advanced(**changes)


def test_progress_round_trips() -> None:
    p = progress()
    assert Progress.decode(p.encode()) == p
    doc = json.loads(p.encode())
    assert doc["format"] == "bridge.progress/1"
    assert doc["next"] == {"record": 10, "offset": 3000, "block_end": None}
    assert doc["chain"] == {"entries": 1, "head": p.chain.head}
    assert doc["counts"]["rejected_by_rule"] == {"bad-zone": 2}


def test_summary_document() -> None:
    p = progress()
    doc = p.summary("2026-12-02T00:00:00.000Z")
    assert doc["format"] == SUMMARY_FORMAT
    assert doc["reconciled"] is True
    assert doc["ended"] == "2026-12-02T00:00:00.000Z"
    assert "updated" not in doc


def test_exit_status() -> None:
    def status(outcome: str, p: Progress) -> int:
        return Summary(outcome, p, None, 0, 0, None).exit_code

    assert status("published", progress()) == RET_INVALID_RECORDS
    clean = progress(counts=Counts(10, 10, 0))
    assert status("published", clean) == RET_OK
    assert status("already-complete", progress()) == RET_OK
    assert status("published", progress(framing_failed=True)) == RET_FATAL_DATA
    assert status("published", progress(counts=Counts(10, 7, 2))) == RET_UNRECONCILED
