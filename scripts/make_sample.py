#!/usr/bin/env python3
"""Generate the bundled ACCTMAST sample: 1,000 EBCDIC (cp037) records, a dozen of them bad.

    .venv/bin/python scripts/make_sample.py [--out-dir DIR]

Writes ``acctmast.dat`` (fixed-length records, LRECL 300, in key order as a KSDS unload is),
``acctmast.faults.json`` (the deliberately bad records, machine-readable) and ``README.md``
into ``copybooks/samples/`` (or DIR). The output depends only on SEED and the code here:
regenerating gives the same bytes, which ``tests/unit/test_sample.py`` checks. All names and
identifiers are invented.

Each fault is applied either to the values before encoding (an impossible date, a status no
88-level names: the bytes decode, the mapping rejects them) or to the encoded bytes (a packed
nibble, a blank packed field, a stray byte in a zoned field: the bytes do not decode).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Layout
from bridge.decode.encoder import encode_record

ROOT = Path(__file__).resolve().parents[1]
COPYBOOK = ROOT / "copybooks" / "ACCTMAST.cpy"
OUT_DIR = ROOT / "copybooks" / "samples"
DATA_NAME = "acctmast.dat"
FAULTS_NAME = "acctmast.faults.json"
README_NAME = "README.md"
SEED = 20260401
RECORDS = 1000
CODEPAGE = "cp037"
REC = "ACCT-MASTER-REC"

Values = dict[str, Any]


@dataclass(frozen=True)
class Fault:
    """One deliberately bad record: what is wrong, where, and the rejection it must cause."""

    record: int
    path: str  # layout path, 0-based subscripts
    stage: str  # decode (the bytes do not decode) | validate (the mapping rejects the value)
    rule: str  # docs/decoding.md reason, or the mapping's conversion/schema rule
    description: str
    edit_values: Callable[[Values], None] | None = None
    edit_bytes: Callable[[Layout, bytearray], None] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "path": self.path,
            "stage": self.stage,
            "rule": self.rule,
            "description": self.description,
        }


def _span(layout: Layout, path: str, index: int = 0) -> slice:
    item = layout.field(path)
    start = item.offset + index * item.length
    return slice(start, start + item.length)


def _nibble_digit(layout: Layout, rec: bytearray) -> None:
    where = _span(layout, f"{REC}.AM-BALANCES.AM-LEDGER-BAL")
    i = where.start + 3
    rec[i] = 0xA0 | (rec[i] & 0x0F)  # a digit nibble of A


def _nibble_sign(layout: Layout, rec: bytearray) -> None:
    where = _span(layout, f"{REC}.AM-BALANCES.AM-AVAIL-BAL")
    i = where.stop - 1
    rec[i] = (rec[i] & 0xF0) | 0x03  # sign nibble 3


def _blank_packed(layout: Layout, rec: bytearray) -> None:
    where = _span(layout, f"{REC}.AM-BALANCES.AM-OVERDRAFT-LIMIT")
    rec[where] = b"\x40" * (where.stop - where.start)


def _stray_zoned(layout: Layout, rec: bytearray) -> None:
    where = _span(layout, f"{REC}.AM-OPEN-DATE")
    rec[where.start + 4] = 0x4B  # '.' in cp037: 2019.315 keyed instead of 20190315


def _set(path: str, value: Any) -> Callable[[Values], None]:
    """An edit putting ``value`` at ``path`` (dotted keys below the level 01, [i] for tables)."""
    parts = path.split(".")[1:]

    def edit(values: Values) -> None:
        node: Any = values
        for part in parts[:-1]:
            name, _, index = part.partition("[")
            node = node[name] if not index else node[name][int(index.rstrip("]"))]
        node[parts[-1]] = value

    return edit


FAULTS: tuple[Fault, ...] = (
    Fault(7, f"{REC}.AM-BALANCES.AM-LEDGER-BAL", "decode", "bad-packed-digit",
          "ledger balance: a digit nibble overwritten with X'A'", edit_bytes=_nibble_digit),
    Fault(45, f"{REC}.AM-CUSTOMER.AM-CUST-NAME", "validate", "minLength",
          "customer name all spaces", edit_values=_set(f"{REC}.AM-CUSTOMER.AM-CUST-NAME", "")),
    Fault(101, f"{REC}.AM-BALANCES.AM-AVAIL-BAL", "decode", "bad-packed-sign",
          "available balance: sign nibble X'3'", edit_bytes=_nibble_sign),
    Fault(256, f"{REC}.AM-BALANCES.AM-OVERDRAFT-LIMIT", "decode", "blank-numeric",
          "overdraft limit: packed field of spaces (X'40'), not a zero", edit_bytes=_blank_packed),
    Fault(333, f"{REC}.AM-OPEN-DATE", "decode", "bad-zone",
          "open date: zoned YYYYMMDD with a '.' (X'4B') keyed in it", edit_bytes=_stray_zoned),
    Fault(420, f"{REC}.AM-CUSTOMER.AM-BIRTH-DATE", "validate", "date-format",
          "birth date 1980-02-31 (digits fine, no such day)",
          edit_values=_set(f"{REC}.AM-CUSTOMER.AM-BIRTH-DATE", 19800231)),
    Fault(512, f"{REC}.AM-STATUS", "validate", "enum",
          "status 'X': no 88-level names it",
          edit_values=_set(f"{REC}.AM-STATUS", "X")),
    Fault(640, f"{REC}.AM-CURRENCY", "validate", "enum",
          "currency 'XYZ': not one of the mapping's ISO codes",
          edit_values=_set(f"{REC}.AM-CURRENCY", "XYZ")),
    Fault(777, f"{REC}.AM-STMT-CYCLE", "validate", "maximum",
          "statement cycle day 45 (maximum 31)",
          edit_values=_set(f"{REC}.AM-STMT-CYCLE", 45)),
    Fault(880, f"{REC}.AM-BALANCES.AM-INT-RATE", "validate", "decimalMaximum",
          "interest rate 123.45000 % (maximum 99.99999)",
          edit_values=_set(f"{REC}.AM-BALANCES.AM-INT-RATE", Decimal("123.45000"))),
    Fault(901, f"{REC}.AM-HOLDS[2].AM-HOLD-AMT", "validate", "decimalMinimum",
          "third hold amount -5.00 (minimum 0.00)",
          edit_values=_set(f"{REC}.AM-HOLDS[2].AM-HOLD-AMT", Decimal("-5.00"))),
    Fault(998, f"{REC}.AM-LAST-MAINT-TS", "validate", "timestamp-format",
          "last maintenance timestamp 2026-13-45-25.61.00.000000",
          edit_values=_set(f"{REC}.AM-LAST-MAINT-TS", "2026-13-45-25.61.00.000000")),
)  # fmt: skip

# --- good records --------------------------------------------------------------------------

BRANCHES = (1, 42, 117, 2045, 3310, 5502, 8001)
PRODUCTS = ("CHQ1", "CHQ2", "SAV1", "SAV2", "TFSA", "RRSP", "GIC1", "MTG5", "LOC1")
TERM_PRODUCTS = ("GIC1", "MTG5")
CURRENCIES = ("CAD",) * 12 + ("USD",) * 4 + ("SGD", "GBP", "EUR")
STATUSES = ("A",) * 16 + ("D", "D", "F", "C")
SURNAMES = ("TREMBLAY", "GAGNON", "ROY", "COTE", "BOUCHARD", "GAUTHIER", "MORIN", "LAVOIE",
            "FORTIN", "SMITH", "BROWN", "TAN", "LIM", "WONG", "PATEL", "SINGH", "MACDONALD",
            "O'NEIL", "NGUYEN", "KOWALSKI")  # fmt: skip
GIVEN = ("MARIE", "JEAN", "LUC", "SOPHIE", "ANNE", "PIERRE", "WEI LING", "RAJ", "EMMA", "NOAH",
         "OLIVIA", "LIAM", "CHLOE", "JOSE", "FATIMA", "HIROSHI")  # fmt: skip
HOLD_REASONS = ("CK", "LG", "FR", "GA")
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _ymd(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 100, high * 100)).scaleb(-2)


def _national_id(rng: random.Random, kind: str) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(9))
    if kind == "SN":
        return digits
    if kind == "NR":
        return rng.choice("STFG") + digits[:7] + rng.choice(UPPER)
    if kind == "NI":
        return rng.choice(UPPER) + rng.choice(UPPER) + digits[:6] + rng.choice("ABCD")
    return rng.choice(UPPER) + digits[:8]


def good_values(rng: random.Random, branch: int, account: int) -> Values:
    """A record that decodes and passes schemas/acctmast.mapping.json."""
    product = rng.choice(PRODUCTS)
    opened = _day(rng, date(1995, 1, 1), date(2025, 12, 31))
    last_txn = _day(rng, max(opened, date(2024, 1, 1)), date(2026, 3, 31))
    maturity = 0
    if product in TERM_PRODUCTS:
        maturity = rng.randrange(27, 36) * 1000 + rng.randrange(1, 366)
    review = "" if rng.random() < 0.2 else _day(rng, date(2026, 4, 1), date(2027, 12, 31))
    ledger = _money(rng, -2_000, 250_000)
    hold_count = rng.choice((0, 0, 0, 1, 1, 2, 3))
    amounts = [_money(rng, 10, 5_000) for _ in range(hold_count)]
    holds: list[Values] = [
        {
            "AM-HOLD-AMT": amount,
            "AM-HOLD-REASON": rng.choice(HOLD_REASONS),
            "AM-HOLD-EXPIRY": _ymd(_day(rng, date(2026, 4, 1), date(2026, 12, 31))),
        }
        for amount in amounts
    ]
    holds += [
        {"AM-HOLD-AMT": Decimal("0.00"), "AM-HOLD-REASON": "", "AM-HOLD-EXPIRY": 0}
        for _ in range(5 - hold_count)
    ]
    nid_type = rng.choice(("SN", "SN", "SN", "NR", "NI", "PP"))
    maint = _day(rng, date(2026, 1, 1), date(2026, 3, 31))
    micros = rng.randrange(1_000_000)
    return {
        "AM-KEY": {"AM-BRANCH-NO": branch, "AM-ACCT-NO": account},
        "AM-REC-TYPE": "A",
        "AM-PRODUCT-CODE": product,
        "AM-CURRENCY": rng.choice(CURRENCIES),
        "AM-STATUS": rng.choice(STATUSES),
        "AM-OPEN-DATE": _ymd(opened),
        "AM-LAST-TXN-DATE": 0 if rng.random() < 0.03 else _ymd(last_txn) - 19_000_000,
        "AM-MATURITY-DATE": maturity,
        "AM-REVIEW-DATE": review if isinstance(review, str) else review.strftime("%y%m%d"),
        "AM-BALANCES": {
            "AM-LEDGER-BAL": ledger,
            "AM-AVAIL-BAL": ledger - sum(amounts, Decimal("0.00")),
            "AM-OVERDRAFT-LIMIT": Decimal(f"{rng.choice((0, 0, 500, 1000, 5000))}.00"),
            "AM-ACCRUED-INT": Decimal(rng.randrange(0, 500_000_000)).scaleb(-6),
            "AM-INT-RATE": Decimal(rng.randrange(0, 800_000)).scaleb(-5),
        },
        "AM-CUSTOMER": {
            "AM-CUST-ID": rng.randrange(1, 10**10),
            "AM-CUST-NAME": f"{rng.choice(SURNAMES)}, {rng.choice(GIVEN)}",
            "AM-NATIONAL-ID": _national_id(rng, nid_type),
            "AM-NATIONAL-ID-TYPE": nid_type,
            "AM-BIRTH-DATE": _ymd(_day(rng, date(1940, 1, 1), date(2006, 12, 31))),
        },
        "AM-KYC-RISK": rng.choice((1, 1, 1, 2, 2, 3)),
        "AM-STMT-CYCLE": rng.randrange(1, 29),
        "AM-HOLD-COUNT": hold_count,
        "AM-HOLDS": holds,
        "AM-LAST-MAINT-TS": f"{maint.isoformat()}-{rng.randrange(6, 23):02d}."
        f"{rng.randrange(60):02d}.{rng.randrange(60):02d}.{micros:06d}",
        "AM-JOINT-FLAG": rng.choice("NNNY"),
        "AM-LAST-MAINT-USER": rng.choice(("BATCH01", "OPS001", "OPS017", "TELLER9")),
    }


def generate(layout: Layout) -> bytes:
    """The sample file's bytes."""
    rng = random.Random(SEED)
    keys: set[tuple[int, int]] = set()
    while len(keys) < RECORDS:
        keys.add((rng.choice(BRANCHES), rng.randrange(10**9, 10**12)))
    faults = {f.record: f for f in FAULTS}
    out = bytearray()
    for number, (branch, account) in enumerate(sorted(keys)):  # a KSDS unloads in key order
        values = good_values(rng, branch, account)
        fault = faults.get(number)
        if fault is not None and fault.edit_values is not None:
            fault.edit_values(values)
        record = bytearray(encode_record(layout, values, codepage=CODEPAGE))
        if fault is not None and fault.edit_bytes is not None:
            fault.edit_bytes(layout, record)
        out += record
    return bytes(out)


def manifest(layout: Layout, data: bytes) -> dict[str, Any]:
    return {
        "file": DATA_NAME,
        "copybook": "copybooks/ACCTMAST.cpy",
        "mapping": "schemas/acctmast.mapping.json",
        "layout_fingerprint": layout.fingerprint,
        "code_page": CODEPAGE,
        "record_length": layout.record_length,
        "records": len(data) // layout.record_length,
        "good": len(data) // layout.record_length - len(FAULTS),
        "bad": len(FAULTS),
        "sha256": hashlib.sha256(data).hexdigest(),
        "seed": SEED,
        "faults": [f.to_json() for f in FAULTS],
    }


def readme(info: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {f['record']} | {f['record'] * info['record_length']} | `{f['path']}` "
        f"| {f['stage']} | `{f['rule']}` | {f['description']} |"
        for f in info["faults"]
    )
    return f"""# Bundled sample: `{info["file"]}`

Generated by `scripts/make_sample.py` (seed {info["seed"]}); do not edit by hand: change the
generator and run it again (`.venv/bin/python scripts/make_sample.py`).
`tests/unit/test_sample.py` checks that regenerating gives these exact bytes.

- Layout: `{info["copybook"]}` (fingerprint `{info["layout_fingerprint"]}`),
  mapping `{info["mapping"]}`.
- EBCDIC code page {info["code_page"]}, fixed-length records of {info["record_length"]} bytes,
  no RDW; in key order (branch, account number), as a VSAM KSDS unload is.
- {info["records"]} records: **{info["good"]} good**, **{info["bad"]} deliberately bad**.
  Every key is unique, so a full replay leaves {info["good"]} keys in Redis.
- SHA-256 `{info["sha256"]}`.
- Names, account numbers and national ids are invented.

`{FAULTS_NAME}` lists the same faults for programs (the demo's integration test reads it).

## The bad records

Record numbers count from 0; the byte offset is that of the record's first byte.
Stage `decode`: the bytes do not decode (docs/decoding.md reasons). Stage `validate`: the
bytes decode, the mapping rejects the value (a conversion rule or a record-schema keyword).

| record | offset | field | stage | rule | fault |
|---:|---:|---|---|---|---|
{rows}
"""


def write_sample(out_dir: Path) -> dict[str, Any]:
    (layout,) = compile_copybook(COPYBOOK)
    data = generate(layout)
    info = manifest(layout, data)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / DATA_NAME).write_bytes(data)
    (out_dir / FAULTS_NAME).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    (out_dir / README_NAME).write_text(readme(info), encoding="utf-8")
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the bundled ACCTMAST sample.")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR, help=f"default {OUT_DIR}")
    args = parser.parse_args(argv)
    info = write_sample(args.out_dir)
    print(
        f"{args.out_dir / DATA_NAME}: {info['records']} records "
        f"({info['good']} good, {info['bad']} bad), sha256 {info['sha256']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
