"""Real copybooks: record lengths stated by their authors (and matching the data files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Category, Usage

CARDDEMO_LENGTHS = {
    "CVACT01Y": 300,
    "CVACT02Y": 150,
    "CVACT03Y": 50,
    "CVCUS01Y": 500,
    "CVTRA05Y": 350,
    "CVTRA06Y": 350,
    "CVTRA01Y": 50,
    "CVTRA02Y": 50,
    "CVTRA03Y": 60,
    "CVTRA04Y": 60,
    "CSUSR01Y": 80,
}


@pytest.mark.parametrize(("member", "length"), sorted(CARDDEMO_LENGTHS.items()))
def test_carddemo_record_lengths(realdata: Path, member: str, length: int) -> None:
    (layout,) = compile_copybook(realdata / "carddemo" / "cpy" / f"{member}.cpy")
    assert layout.record_length == layout.min_length == length
    assert layout.root.level == 1


# CVTRA05Y has no unload of its own: DALYTRAN is read with CVTRA06Y (the same layout).
DATA_FILES = {
    "CVACT01Y": "ACCTDATA",
    "CVACT02Y": "CARDDATA",
    "CVACT03Y": "CARDXREF",
    "CVCUS01Y": "CUSTDATA",
    "CVTRA06Y": "DALYTRAN",
    "CVTRA02Y": "DISCGRP",
    "CVTRA01Y": "TCATBALF",
    "CVTRA04Y": "TRANCATG",
    "CVTRA03Y": "TRANTYPE",
    "CSUSR01Y": "USRSEC",
}


@pytest.mark.parametrize("member", sorted(DATA_FILES))
def test_carddemo_data_files_are_whole_records(realdata: Path, member: str) -> None:
    # The EBCDIC unloads are FB without RDW: their size is a multiple of the record length.
    data = realdata / "carddemo" / "ebcdic" / f"AWS.M2.CARDDEMO.{DATA_FILES[member]}.PS"
    (layout,) = compile_copybook(realdata / "carddemo" / "cpy" / f"{member}.cpy")
    assert data.stat().st_size % layout.record_length == 0


def test_cvact01y_fields(realdata: Path) -> None:
    (layout,) = compile_copybook(realdata / "carddemo" / "cpy" / "CVACT01Y.cpy")
    assert layout.name == "ACCOUNT-RECORD"
    acct_id = layout.field("ACCOUNT-RECORD.ACCT-ID")
    assert (acct_id.offset, acct_id.length, acct_id.usage) == (0, 11, Usage.DISPLAY)
    assert (acct_id.category, acct_id.digits, acct_id.signed) == (Category.NUMERIC, 11, False)
    bal = layout.field("ACCOUNT-RECORD.ACCT-CURR-BAL")
    # ACCT-ID 11 + ACCT-ACTIVE-STATUS 1 = 12; S9(10)V99 zoned: 12 bytes, 2 decimals.
    assert (bal.offset, bal.length, bal.digits, bal.scale, bal.signed) == (12, 12, 12, 2, True)
    assert bal.picture == "S9(10)V99"
    filler = layout.field("ACCOUNT-RECORD.FILLER")
    assert (filler.offset, filler.length) == (122, 178)


def test_cvtra01y_nested_key(realdata: Path) -> None:
    (layout,) = compile_copybook(realdata / "carddemo" / "cpy" / "CVTRA01Y.cpy")
    key = layout.field("TRAN-CAT-BAL-RECORD.TRAN-CAT-KEY")
    assert (key.offset, key.length, key.usage) == (0, 17, Usage.GROUP)
    cd = layout.field("TRAN-CAT-BAL-RECORD.TRAN-CAT-KEY.TRANCAT-CD")
    assert (cd.offset, cd.length) == (13, 4)
    bal = layout.field("TRAN-CAT-BAL-RECORD.TRAN-CAT-BAL")
    assert (bal.offset, bal.length, bal.scale) == (17, 11, 2)


def test_cvtra05y_amount(realdata: Path) -> None:
    (layout,) = compile_copybook(realdata / "carddemo" / "cpy" / "CVTRA05Y.cpy")
    amt = layout.field("TRAN-RECORD.TRAN-AMT")
    # 16 + 2 + 4 + 10 + 100 = 132
    assert (amt.offset, amt.length, amt.digits, amt.scale) == (132, 11, 11, 2)


def test_dtar020_starts_at_level_03(realdata: Path) -> None:
    (layout,) = compile_copybook(realdata / "dtar020" / "DTAR020.cbl")
    assert layout.name == "DTAR020"
    assert layout.root.level == 1
    assert layout.record_length == 27
    expected = {
        # path: (offset, length, usage, digits, scale)
        "DTAR020.DTAR020-KCODE-STORE-KEY.DTAR020-KEYCODE-NO": (0, 8, Usage.DISPLAY, None, None),
        "DTAR020.DTAR020-KCODE-STORE-KEY.DTAR020-STORE-NO": (8, 2, Usage.COMP3, 3, 0),
        "DTAR020.DTAR020-DATE": (10, 4, Usage.COMP3, 7, 0),
        "DTAR020.DTAR020-DEPT-NO": (14, 2, Usage.COMP3, 3, 0),
        "DTAR020.DTAR020-QTY-SOLD": (16, 5, Usage.COMP3, 9, 0),
        "DTAR020.DTAR020-SALE-PRICE": (21, 6, Usage.COMP3, 11, 2),
    }
    for path, want in expected.items():
        f = layout.field(path)
        assert (f.offset, f.length, f.usage, f.digits, f.scale) == want, path
    # Its data file holds whole records.
    assert (realdata / "dtar020" / "DTAR020.bin").stat().st_size % 27 == 0


def test_fingerprint_is_stable_across_compiles(realdata: Path) -> None:
    path = realdata / "carddemo" / "cpy" / "CVCUS01Y.cpy"
    assert compile_copybook(path)[0].fingerprint == compile_copybook(path)[0].fingerprint
