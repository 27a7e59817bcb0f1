"""The meta-schema and the audit schema are valid 2020-12 schemas; the meta-schema rejects
malformed mappings with a pointer to the offending place."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bridge.mapping.model import MappingError, meta_problems, parse_mapping

from .conftest import SCHEMAS, acct_document


@pytest.mark.parametrize("name", ["osfi-mapping.schema.json", "audit-record.schema.json"])
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_example_mapping_is_valid() -> None:
    assert meta_problems(acct_document()) == []


def _field(doc: dict[str, Any], target: str) -> dict[str, Any]:
    return next(f for f in doc["fields"] if f["target"] == target)


def _pointers(doc: dict[str, Any]) -> set[str]:
    with pytest.raises(MappingError) as info:
        parse_mapping(doc)
    return {p.pointer for p in info.value.problems}


def _index(doc: dict[str, Any], target: str) -> int:
    return next(i for i, f in enumerate(doc["fields"]) if f["target"] == target)


def test_decimal_needs_precision_and_scale() -> None:
    doc = acct_document()
    del _field(doc, "ledgerBalance")["scale"]
    assert f"/fields/{_index(doc, 'ledgerBalance')}" in _pointers(doc)


def test_two_digit_year_needs_a_century_window() -> None:
    doc = acct_document()
    del _field(doc, "maturityDate")["century_window"]
    assert f"/fields/{_index(doc, 'maturityDate')}" in _pointers(doc)


def test_unknown_date_format() -> None:
    doc = acct_document()
    _field(doc, "openDate")["format"] = "DDMMYYYY"
    assert f"/fields/{_index(doc, 'openDate')}/format" in _pointers(doc)


def test_pii_needs_a_policy_and_only_pii_has_one() -> None:
    doc = acct_document()
    del _field(doc, "customer.name")["pii"]
    _field(doc, "currency")["pii"] = {"policy": "keep"}
    pointers = _pointers(doc)
    assert f"/fields/{_index(doc, 'customer.name')}" in pointers
    assert f"/fields/{_index(doc, 'currency')}/pii" in pointers


def test_float_bounds_are_refused() -> None:
    doc = acct_document()
    _field(doc, "interestRate")["maximum"] = Decimal("99.5")  # as json.loads(parse_float=...)
    assert f"/fields/{_index(doc, 'interestRate')}/maximum" in _pointers(doc)


def test_string_constraints_only_on_strings() -> None:
    doc = acct_document()
    _field(doc, "ledgerBalance")["maxLength"] = 10
    with pytest.raises(MappingError) as info:
        parse_mapping(doc)
    [problem] = info.value.problems
    assert problem.pointer == f"/fields/{_index(doc, 'ledgerBalance')}/maxLength"
    assert problem.message.startswith("'maxLength' does not apply here")


def test_unknown_property_and_bad_name() -> None:
    doc = acct_document()
    doc["name"] = "Has Spaces"
    doc["colour"] = "blue"
    pointers = _pointers(doc)
    assert "/name" in pointers
    assert "" in pointers


def test_pii_key_is_a_reference_never_a_key() -> None:
    doc = acct_document()
    doc["pii_key"] = {"key": "s3cret"}
    assert "/pii_key" in _pointers(doc)


def test_fixed_framing_needs_a_length() -> None:
    doc = acct_document()
    del doc["source"]["framing"]["record_length"]
    assert "/source/framing" in _pointers(doc)


@pytest.mark.parametrize(
    ("framing", "ok"),
    [
        ({"type": "rdw", "rdw_includes_header": False, "skip_header": 80}, True),
        ({"type": "vbs", "record_prefix": 2}, True),
        ({"type": "fixed", "record_length": 300, "rdw_includes_header": True}, False),
        ({"type": "bdw"}, False),
        ({"type": "odo", "record_length": 300}, False),
    ],
)
def test_framings(framing: dict[str, Any], ok: bool) -> None:
    doc = acct_document()
    doc["source"]["framing"] = framing
    problems = meta_problems(doc)
    assert (problems == []) is ok, problems
    if not ok:
        assert all(p.pointer.startswith("/source/framing") for p in problems)
