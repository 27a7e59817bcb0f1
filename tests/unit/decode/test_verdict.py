"""Verdict types: the reasons of the contract, error JSON, option checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.codepages import UnknownCodepageError
from bridge.decode.verdict import (
    DecodeOptions,
    DecodeOptionsError,
    FieldError,
    Reason,
    RecordResult,
)

CONTRACT = Path(__file__).resolve().parents[3] / "docs" / "decoding.md"


def test_reasons_are_exactly_the_contracts() -> None:
    text = CONTRACT.read_text()
    table = text[text.index("`reason` is one of") :]
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.MULTILINE))
    assert documented == {str(r) for r in Reason}


def test_field_error_json() -> None:
    error = FieldError(
        path="ACCOUNT-RECORD.ACCT-HIST[2].AMOUNT",
        offset=3645,
        length=7,
        raw=bytes.fromhex("00012F3C00000C"),
        reason=Reason.BAD_PACKED_SIGN,
        message="sign nibble 3",
    )
    assert error.to_json() == {
        "path": "ACCOUNT-RECORD.ACCT-HIST[2].AMOUNT",
        "offset": 3645,
        "length": 7,
        "raw": "00012f3c00000c",
        "reason": "bad-packed-sign",
        "message": "sign nibble 3",
    }


def test_record_result_valid() -> None:
    assert RecordResult(0, 0, 3, b"{}").valid
    error = FieldError("R.A", 0, 1, b"\x00", Reason.BAD_ZONE, "x")
    assert not RecordResult(0, 0, 3, b"{}", (error,)).valid


def test_options_defaults_hash_and_freeze() -> None:
    options = DecodeOptions()
    assert (options.codepage, options.trim, options.float_format, options.trunc) == (
        "cp037",
        "right",
        "hfp",
        "std",
    )
    choice = {"R.A": "R.B"}
    a = DecodeOptions(redefines=choice)
    choice["R.A"] = "R.C"
    assert a.redefines == {"R.A": "R.B"}
    assert a == DecodeOptions(redefines={"R.A": "R.B"})
    assert hash(a) == hash(DecodeOptions(redefines={"R.A": "R.B"}))
    assert a != options


@pytest.mark.parametrize("kwargs", [{"trim": "left"}, {"float_format": "vax"}, {"trunc": "opt"}])
def test_bad_options(kwargs: dict[str, str]) -> None:
    with pytest.raises(DecodeOptionsError):
        DecodeOptions(**kwargs)  # type: ignore[arg-type]


def test_unknown_codepage_option() -> None:
    with pytest.raises(UnknownCodepageError):
        DecodeOptions(codepage="ebcdic-xx")
