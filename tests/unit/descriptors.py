"""Record and block descriptors for building variable-length test files (RDW, VB, VBS)."""

from __future__ import annotations

import random


def rdw(body: bytes, *, little: bool = False, inclusive: bool = True, code: int = 0) -> bytes:
    """A record (or VBS segment) behind its RDW; ``code`` is the segment code (0 complete,
    1 first, 3 middle, 2 last); ``inclusive``: the length counts the RDW itself."""
    n = len(body) + (4 if inclusive else 0)
    return n.to_bytes(2, "little" if little else "big") + bytes([code, 0]) + body


def blocks(rdws: list[bytes], rng: random.Random, *, most: int = 5) -> bytes:
    """Records or segments packed into blocks of one to ``most``, a fifth of them behind an
    extended (4-byte length) BDW."""
    out = bytearray()
    i = 0
    while i < len(rdws):
        take = rng.randint(1, most)
        body = b"".join(rdws[i : i + take])
        i += take
        if rng.random() < 0.2:
            out += ((len(body) + 4) | 0x80000000).to_bytes(4, "big") + body
        else:
            out += (len(body) + 4).to_bytes(2, "big") + b"\0\0" + body
    return bytes(out)


def spanned(bodies: list[bytes], rng: random.Random) -> list[bytes]:
    """Each record as VBS segments, one to four of them (never an empty piece)."""
    segments: list[bytes] = []
    for body in bodies:
        pieces = min(rng.randint(1, 4), len(body))
        if pieces <= 1:
            segments.append(rdw(body))
            continue
        cuts = sorted(rng.sample(range(1, len(body)), pieces - 1))
        parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        codes = [1] + [3] * (pieces - 2) + [2]
        segments += [rdw(part, code=code) for part, code in zip(parts, codes, strict=True)]
    return segments
