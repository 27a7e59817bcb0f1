"""The audit chain and its verification without Kafka: a chain built as the replay builds it
verifies; each kind of tampering is named at the entry where it happens."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest

from bridge.engine.chain import CHAIN_RUN, ChainHead, genesis, link
from bridge.engine.verify import check_chains
from bridge.sinks.headers import FILE_SHA256, RECORD
from bridge.sinks.kafka import StoredMessage

SHA = "ab" * 32


def chain(n: int, run: int = 1) -> tuple[list[StoredMessage], StoredMessage]:
    head = ChainHead.start(SHA, run)
    entries = []
    for i in range(n):
        value = json.dumps({"record": {"number": i * 10}, "reasons": [{"rule": "x"}]}).encode()
        head, headers = head.append(value)
        raw = {k: v.encode() for k, v in headers.items()}
        raw |= {FILE_SHA256: SHA.encode(), RECORD: str(i * 10).encode(), CHAIN_RUN: b"%d" % run}
        entries.append(StoredMessage("audit", 0, i, SHA.encode(), value, raw))
    summary = {
        "format": "bridge.summary/1",
        "file": {"sha256": SHA},
        "run": run,
        "chain": head.to_json(),
        "counts": {"rejected": n},
    }
    return entries, StoredMessage("control", 0, run, SHA.encode(), json.dumps(summary).encode(), {})


def renumbered(entries: list[StoredMessage]) -> list[StoredMessage]:
    """As a doctored copy of the topic holds them: offsets in the new order."""
    return [StoredMessage(e.topic, 0, i, e.key, e.value, e.headers) for i, e in enumerate(entries)]


def test_definition() -> None:
    first = genesis(SHA, 1)
    assert first != genesis(SHA, 2)
    value = b'{"a":1}'
    assert link(first, value) == hashlib.sha256(bytes.fromhex(first) + value).hexdigest()


def test_untouched_chains_verify() -> None:
    entries, summary = chain(12)
    entries2, summary2 = chain(3, run=2)
    verdicts = check_chains(entries + entries2, [summary, summary2])
    assert [(v.run, v.entries, v.problem) for v in verdicts] == [(1, 12, None), (2, 3, None)]
    _empty, empty_summary = chain(0)
    assert check_chains([], [empty_summary])[0].ok


def alter(entries: list[StoredMessage]) -> list[StoredMessage]:
    e = entries[5]
    value = (e.value or b"").replace(b'"x"', b'"y"')
    return [*entries[:5], StoredMessage(e.topic, 0, 5, e.key, value, e.headers), *entries[6:]]


def forge(entries: list[StoredMessage]) -> list[StoredMessage]:
    e = entries[5]
    headers = {k: v for k, v in e.headers.items() if k != "bridge_chain_seq"}
    return [*entries[:5], StoredMessage(e.topic, 0, 5, e.key, b"{}", headers), *entries[5:]]


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (alter, "entry 5 (record 50, partition 0 offset 5) is altered"),
        (lambda es: es[:5] + es[6:], "entry 5 is missing: after entry 4 comes entry 6"),
        (lambda es: [*es[:6], es[3], *es[6:]], "is inserted: it claims sequence 3"),
        (forge, "(after entry 4) is inserted: no chain sequence"),
        (
            lambda es: [*es[:5], es[6], es[5], *es[7:]],
            "entries are reordered: entry 6 (record 60, partition 0 offset 5) comes before entry 5",
        ),
        (lambda es: es[:9], "truncated: the chain stops after entry 8; the summary counts 12"),
        (lambda es: [], "truncated: the chain stops before its first entry"),
    ],
)
def test_tampering_is_named(
    tamper: Callable[[list[StoredMessage]], list[StoredMessage]], problem: str
) -> None:
    entries, summary = chain(12)
    verdicts = check_chains(renumbered(tamper(entries)), [summary])
    assert len(verdicts) == 1
    assert verdicts[0].problem is not None
    assert problem in verdicts[0].problem


def test_summary_missing_or_twice() -> None:
    entries, summary = chain(4)
    assert "no file summary for run 1" in str(check_chains(entries, [])[0].problem)
    assert "2 summaries for run 1" in str(check_chains(entries, [summary, summary])[0].problem)
