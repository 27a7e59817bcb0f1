"""Benchmark helpers: the ACCOUNT-RECORD layout, record generation, a hand-written decoder.

Records are written with bridge's encoder (so they are what the decoders expect), a few
thousand distinct ones, then repeated to the size asked for.
"""

from __future__ import annotations

import json
import random
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Layout
from bridge.decode.encoder import encode_record

COPYBOOK = Path(__file__).with_name("account.cpy")
RECORD_LENGTH = 105
DISTINCT = 4096

_NAMES = ["SMITH", "JONES", "MÜLLER", "O'BRIEN", "GARCÍA", "NGUYEN", "DUBOIS", "ROSSI"]


def layout() -> Layout:
    (account,) = compile_copybook(COPYBOOK)
    assert account.record_length == RECORD_LENGTH
    return account


def _values(rng: random.Random, i: int) -> dict[str, Any]:
    first = rng.choice(["ANNA", "BOB", "CHLOÉ", "DAVID", "EVA", "FRANK"])
    return {
        "ACCT-ID": 10_000_000_000 + i,
        "ACCT-STATUS": rng.choice("AYNC"),
        "ACCT-NAME": f"{first} {rng.choice(_NAMES)}"[:30],
        "ACCT-BALANCE": Decimal(rng.randint(-(10**9), 10**11)).scaleb(-2),
        "ACCT-CREDIT-LIMIT": Decimal(rng.randint(0, 10**8)).scaleb(-2),
        "ACCT-OPEN-DATE": f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02}-{rng.randint(1, 9):02}",
        "ACCT-CYCLE-CREDIT": Decimal(rng.randint(-(10**6), 10**8)).scaleb(-2),
        "ACCT-TXN-COUNT": rng.randint(-(10**6), 10**9 - 1),
        "ACCT-BRANCH": rng.choice(["NYC001", "LON002", "PAR003", "BER004"]),
    }


def records(n: int, seed: int = 4) -> bytes:
    """``n`` records of ACCOUNT-RECORD in cp037, back to back."""
    rng = random.Random(seed)
    account = layout()
    distinct = b"".join(encode_record(account, _values(rng, i)) for i in range(min(n, DISTINCT)))
    whole, rest = divmod(n, DISTINCT)
    return distinct * whole + distinct[: rest * RECORD_LENGTH]


# --- the hand-written decoder: what a careful Python programmer would write -----------------

_OVERPUNCH = {0xC0 + d: (d, 1) for d in range(10)} | {0xD0 + d: (d, -1) for d in range(10)}
_OVERPUNCH |= {0xF0 + d: (d, 1) for d in range(10)}
_ZONED_DIGITS = bytes.maketrans(bytes(range(0xF0, 0xFA)), b"0123456789")
_INT32 = struct.Struct(">i")


def _packed(raw: bytes, scale: int) -> Decimal:
    text = raw.hex()
    n = int(text[:-1])
    return Decimal(-n if text[-1] in "db" else n).scaleb(-scale)


def _zoned(raw: bytes, scale: int) -> Decimal:
    digit, sign = _OVERPUNCH[raw[-1]]
    n = int(raw[:-1].translate(_ZONED_DIGITS) + b"%d" % digit)
    return Decimal(sign * n).scaleb(-scale)


def hand_decode(rec: bytes) -> dict[str, Any]:
    """One ACCOUNT-RECORD with slices, bytes.decode and struct (no checks beyond Python's)."""
    return {
        "ACCT-ID": int(rec[0:11].translate(_ZONED_DIGITS)),
        "ACCT-STATUS": rec[11:12].decode("cp037").rstrip(" "),
        "ACCT-NAME": rec[12:42].decode("cp037").rstrip(" "),
        "ACCT-BALANCE": _packed(rec[42:49], 2),
        "ACCT-CREDIT-LIMIT": _packed(rec[49:56], 2),
        "ACCT-OPEN-DATE": rec[56:66].decode("cp037").rstrip(" "),
        "ACCT-CYCLE-CREDIT": _zoned(rec[66:75], 2),
        "ACCT-TXN-COUNT": _INT32.unpack_from(rec, 75)[0],
        "ACCT-BRANCH": rec[79:85].decode("cp037").rstrip(" "),
    }


class _DecimalText(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)  # the hand-written decoder's shortcut (inexact: the native is not)
        return super().default(o)


def hand_json(rec: bytes) -> bytes:
    return json.dumps(
        hand_decode(rec), ensure_ascii=False, separators=(",", ":"), cls=_DecimalText
    ).encode()
