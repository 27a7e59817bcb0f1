"""The tamper-evident audit chain (docs/audit-chain.md is the definition).

Per file and run: entry ``n`` (0-based) is an audit message whose value is the audit document's
canonical bytes (``audit_json``, UTF-8). Its hash is ``SHA-256(prev || value)``, where ``prev``
is the 32-byte hash of entry ``n - 1``, and for entry 0 the run's genesis,
``SHA-256("bridge-audit-chain/1" 0x00 file_sha256_hex 0x00 run_decimal)``. Each message carries
``bridge_chain_seq`` (n), ``bridge_chain_prev`` and ``bridge_chain_hash`` (lower-case hex). The
head (entries so far, last hash) is committed with the entries it covers: in the progress record
of every chunk and in the file summary.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = [
    "CHAIN_HASH",
    "CHAIN_PREV",
    "CHAIN_RUN",
    "CHAIN_SEQ",
    "ChainHead",
    "genesis",
    "link",
]

CHAIN_SEQ = "bridge_chain_seq"
CHAIN_PREV = "bridge_chain_prev"
CHAIN_HASH = "bridge_chain_hash"
CHAIN_RUN = "bridge_run"  # the run of the file the entry belongs to (1, then 2 after --force...)


def genesis(file_sha256: str, run: int) -> str:
    """The ``prev`` of a run's first entry."""
    seed = b"bridge-audit-chain/1\x00" + file_sha256.encode() + b"\x00" + str(run).encode()
    return hashlib.sha256(seed).hexdigest()


def link(prev: str, value: bytes) -> str:
    """The hash of an entry whose predecessor's hash is ``prev`` and whose value is ``value``."""
    return hashlib.sha256(bytes.fromhex(prev) + value).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    """A chain so far: how many entries, and the hash of the last (the genesis when none)."""

    entries: int
    head: str

    @classmethod
    def start(cls, file_sha256: str, run: int) -> ChainHead:
        return cls(0, genesis(file_sha256, run))

    def append(self, value: bytes) -> tuple[ChainHead, dict[str, str]]:
        """The head after ``value``, and the chain headers of its message."""
        digest = link(self.head, value)
        headers = {CHAIN_SEQ: str(self.entries), CHAIN_PREV: self.head, CHAIN_HASH: digest}
        return ChainHead(self.entries + 1, digest), headers

    def to_json(self) -> dict[str, object]:
        return {"entries": self.entries, "head": self.head}

    @classmethod
    def from_json(cls, value: dict[str, object]) -> ChainHead:
        return cls(int(str(value["entries"])), str(value["head"]))
