"""The public API (``import bridge`` alone, no private module): layouts, decoding, judging a
file with a mapping, errors, and what ``import bridge`` costs."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import types
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

import bridge

ROOT = Path(__file__).resolve().parents[2]
COPYBOOK = ROOT / "copybooks" / "ACCTMAST.cpy"
SAMPLE = ROOT / "copybooks" / "samples" / "acctmast.dat"
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"
FAULTS = json.loads((ROOT / "copybooks" / "samples" / "acctmast.faults.json").read_text())
ENV = {"BRIDGE_PII_KEY": "a test key of at least thirty-two bytes"}


def faults(stage: str | None = None) -> set[int]:
    return {f["record"] for f in FAULTS["faults"] if stage is None or f["stage"] == stage}


# -- the surface ---------------------------------------------------------------------------


def test_every_exported_name_resolves_and_is_documented() -> None:
    assert bridge.__all__ == sorted(bridge.__all__)
    for name in bridge.__all__:
        value = getattr(bridge, name)
        assert name in dir(bridge)
        if name != "__version__":
            assert (value.__doc__ or "").strip(), f"bridge.{name} has no docstring"


def test_every_public_method_of_an_exported_class_is_documented() -> None:
    undocumented = []
    for name in bridge.__all__:
        cls = getattr(bridge, name)
        if not isinstance(cls, type) or issubclass(cls, BaseException):
            continue
        for attr, value in vars(cls).items():
            if attr.startswith("_") or not hasattr(value, "__get__"):
                continue
            if not (value.__doc__ or "").strip():
                undocumented.append(f"{name}.{attr}")
    assert undocumented == []


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        getattr(bridge, "no_such_thing")  # noqa: B009


def test_decode_stays_the_function_once_the_decoders_are_loaded() -> None:
    # Decoding imports the private subpackage of the same name, which Python binds to the
    # package's attribute: the function must win.
    layout = bridge.load_copybook(COPYBOOK)
    next(bridge.decode(layout, SAMPLE))
    assert isinstance(bridge.decode, types.FunctionType)
    assert bridge.decode.__name__ == "decode"


def test_every_error_is_a_bridge_error() -> None:
    exported = [getattr(bridge, n) for n in bridge.__all__]
    errors = [e for e in exported if isinstance(e, type) and issubclass(e, Exception)]
    assert len(errors) >= 10
    assert all(issubclass(e, bridge.BridgeError) for e in errors)


def test_import_bridge_loads_no_heavy_module() -> None:
    probe = "import json, sys, bridge; bridge.__version__; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    heavy = {"jsonschema", "cffi", "_cffi_backend", "confluent_kafka", "redis", "bridge.api"}
    assert loaded & heavy == set()
    assert [m for m in loaded if m.startswith("bridge.")] == []


# -- layouts ---------------------------------------------------------------------------------


def test_load_copybook() -> None:
    layout = bridge.load_copybook(COPYBOOK)
    assert isinstance(layout, bridge.Layout)
    assert (layout.name, layout.record_length) == ("ACCT-MASTER-REC", 300)
    assert layout.fingerprint == FAULTS["layout_fingerprint"]
    doc = layout.to_json()
    assert doc["fingerprint"] == layout.fingerprint
    assert json.loads(json.dumps(doc)) == doc
    item = layout.field("ACCT-MASTER-REC.AM-BALANCES.AM-LEDGER-BAL")
    assert isinstance(item, bridge.Field)
    assert (item.offset, item.length, item.picture) == (47, 8, "S9(13)V99")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.offset = 0  # type: ignore[misc]


def test_load_copybook_record_and_include(tmp_path: Path) -> None:
    members = tmp_path / "members"
    members.mkdir()
    (members / "TAIL.cpy").write_text("           05 T PIC X(2).\n")
    source = tmp_path / "TWO.cpy"
    source.write_text(
        "       01 FIRST.\n           05 A PIC 9(3).\n           COPY TAIL.\n"
        "       01 SECOND.\n           05 B PIC X(4).\n"
    )
    with pytest.raises(bridge.RecordNotFoundError, match="FIRST, SECOND"):
        bridge.load_copybook(source, include=[members])
    first = bridge.load_copybook(source, include=[members], record="first")
    assert [f.path for f in first.fields()] == ["FIRST", "FIRST.A", "FIRST.T"]
    assert bridge.load_copybook(source, include=[members], record="SECOND").record_length == 4
    with pytest.raises(bridge.RecordNotFoundError, match="THIRD"):
        bridge.load_copybook(source, include=[members], record="third")
    with pytest.raises(bridge.CopybookNotFoundError, match="TAIL"):
        bridge.load_copybook(source)


def test_a_bad_copybook_says_where(tmp_path: Path) -> None:
    source = tmp_path / "BAD.cpy"
    source.write_text("       01 REC.\n           05 A PIC 9(3) COMP-9.\n")
    with pytest.raises(bridge.CopybookError) as caught:
        bridge.load_copybook(source)
    (where,) = caught.value.diagnostics
    assert isinstance(where, bridge.Diagnostic)
    assert (where.file, where.line) == (str(source), 2)
    assert f"{source}:2:{where.column}" in str(caught.value)
    with pytest.raises(bridge.CopybookNotFoundError):
        bridge.load_copybook(tmp_path / "NONE.cpy")


# -- decoding --------------------------------------------------------------------------------


def test_decode_the_sample() -> None:
    layout = bridge.load_copybook(COPYBOOK)
    records = list(bridge.decode(layout, SAMPLE))
    assert [r.number for r in records] == list(range(1000))
    assert [r.offset for r in records] == list(range(0, 300_000, 300))
    assert {r.number for r in records if not r.valid} == faults("decode")
    for r in records:
        assert (r.value is None) == bool(r.errors) == (not r.valid)
    seven = records[7]
    (error,) = seven.errors
    assert isinstance(error, bridge.FieldError)
    assert error.reason is bridge.Reason.BAD_PACKED_DIGIT
    assert error.path == "ACCT-MASTER-REC.AM-BALANCES.AM-LEDGER-BAL"
    assert error.offset == 7 * 300 + 47
    assert error.raw == SAMPLE.read_bytes()[error.offset : error.offset + 8]
    first = records[0].value
    assert first is not None
    assert first["AM-KEY"] == {"AM-BRANCH-NO": 1, "AM-ACCT-NO": 1953874447}
    assert first["AM-BALANCES"]["AM-LEDGER-BAL"] == Decimal("168188.50")


def test_decode_from_a_copybook_path_with_options() -> None:
    plain = next(bridge.decode(COPYBOOK, SAMPLE)).value
    padded = next(bridge.decode(str(COPYBOOK), SAMPLE, trim="none", decimals_as_strings=True))
    assert plain is not None and padded.value is not None
    name = plain["AM-CUSTOMER"]["AM-CUST-NAME"]
    assert padded.value["AM-CUSTOMER"]["AM-CUST-NAME"].rstrip() == name
    assert len(padded.value["AM-CUSTOMER"]["AM-CUST-NAME"]) > len(name)
    assert padded.value["AM-BALANCES"]["AM-LEDGER-BAL"] == "168188.50"


def test_decode_refuses_what_cannot_apply(tmp_path: Path) -> None:
    layout = bridge.load_copybook(COPYBOOK)
    with pytest.raises(bridge.InputNotFoundError) as missing:
        bridge.decode(layout, tmp_path / "none.dat")
    assert isinstance(missing.value, FileNotFoundError)
    with pytest.raises(bridge.UnknownCodepageError):
        bridge.decode(layout, SAMPLE, codepage="cp9999")
    with pytest.raises(bridge.DecodeOptionsError):
        bridge.decode(layout, SAMPLE, trim="sideways")


def test_decode_rdw_stops_at_a_broken_descriptor(tmp_path: Path) -> None:
    layout = bridge.load_copybook(COPYBOOK)
    data = SAMPLE.read_bytes()
    path = tmp_path / "rdw.dat"
    with path.open("wb") as out:
        for n in range(3):
            out.write((304).to_bytes(2, "big") + bytes(2) + data[n * 300 : (n + 1) * 300])
        out.write(b"\x00\x02\x00\x00")
    seen = []
    with pytest.raises(bridge.FramingError) as caught:
        for r in bridge.decode(layout, path, framing="rdw"):
            seen.append((r.number, r.offset))
    assert seen == [(0, 4), (1, 308), (2, 612)]
    assert caught.value.offset == 912


def test_decode_bytes() -> None:
    layout = bridge.load_copybook(COPYBOOK)
    data = SAMPLE.read_bytes()
    one = bridge.decode_bytes(layout, data[300:600], number=1, offset=300)
    assert one == next(r for r in bridge.decode(layout, SAMPLE) if r.number == 1)
    bad = bridge.decode_bytes(layout, data[2100:2400], offset=2100)
    assert [e.offset for e in bad.errors] == [2147]
    short = bridge.decode_bytes(layout, b"\xf0" * 10)
    assert short.errors[-1].reason is bridge.Reason.RECORD_TOO_SHORT


# -- mappings --------------------------------------------------------------------------------


def test_judge_the_sample() -> None:
    mapping = bridge.load_mapping(MAPPING, environ=ENV)
    assert isinstance(mapping, bridge.Mapping)
    assert mapping.name == "acctmast"
    assert [lay.fingerprint for lay in mapping.layouts] == [FAULTS["layout_fingerprint"]]
    outcomes = list(mapping.judge(SAMPLE))
    assert [o.record for o in outcomes] == list(range(1000))
    events = [o for o in outcomes if isinstance(o, bridge.Event)]
    rejected = [o for o in outcomes if isinstance(o, bridge.Rejected)]
    assert len(events) == FAULTS["good"]
    assert {r.record for r in rejected} == faults()
    assert {r.record for r in rejected if r.stage == "decode"} == faults("decode")
    schema = mapping.record_schema()
    assert schema["$id"] == mapping.schema_id
    validator = jsonschema.Draft202012Validator(schema)
    for event in events[:50]:
        assert json.loads(event.document) == event.event
        validator.validate(event.event)
        assert event.kafka_key
    assert rejected[0].audit["record"]["offset"] == rejected[0].offset
    clear = mapping.record_schema(clear=True)
    assert clear != schema


def test_the_pii_key_makes_the_hashes() -> None:
    key_a = bridge.load_mapping(MAPPING, environ=ENV)
    key_b = bridge.load_mapping(MAPPING, pii_key=b"another key of thirty-two bytes or more")
    a = next(o for o in key_a.judge(SAMPLE) if isinstance(o, bridge.Event))
    b = next(o for o in key_b.judge(SAMPLE) if isinstance(o, bridge.Event))
    assert a.record == b.record
    assert a.document != b.document


def test_mapping_errors_say_where(tmp_path: Path) -> None:
    with pytest.raises(bridge.MappingError) as caught:
        bridge.load_mapping(MAPPING, environ={})
    assert [p.pointer for p in caught.value.problems] == ["/pii_key/env"]
    assert isinstance(caught.value.problems[0], bridge.Problem)
    with pytest.raises(bridge.MappingNotFoundError):
        bridge.load_mapping(tmp_path / "none.json")
    mapping = bridge.load_mapping(MAPPING, environ=ENV)
    with pytest.raises(bridge.InputNotFoundError):
        mapping.judge(tmp_path / "none.dat")


# -- replay (publishing itself: tests/integration/test_api_replay.py) -------------------------


def test_replay_dry_run_needs_no_broker(tmp_path: Path) -> None:
    # A bootstrap nobody listens on: a dry run judges and reconciles without connecting.
    config = tmp_path / "bridge.toml"
    config.write_text('[kafka]\n"bootstrap.servers" = "127.0.0.1:9"\n')
    summary = bridge.replay(SAMPLE, MAPPING, config=config, environ=ENV, dry_run=True)
    assert isinstance(summary, bridge.Summary)
    assert (summary.outcome, summary.published_now, summary.rejected_now) == ("dry-run", 988, 12)
    assert summary.exit_code == 1
    counts = summary.document()["counts"]
    assert (counts["read"], counts["published"], counts["rejected"]) == (1000, 988, 12)
    loaded = bridge.load_config(config, {})
    assert isinstance(loaded, bridge.Config)
    mapping = bridge.load_mapping(MAPPING, environ=ENV)
    again = bridge.replay(SAMPLE, mapping, config=loaded, dry_run=True, from_record=500)
    assert again.progress.counts.read == 500


def test_replay_refusals(tmp_path: Path) -> None:
    bad = tmp_path / "bridge.toml"
    bad.write_text("[kafka\n")
    with pytest.raises(bridge.ConfigError, match=r"bridge\.toml"):
        bridge.replay(SAMPLE, MAPPING, config=bad, environ=ENV, dry_run=True)
    with pytest.raises(bridge.InputNotFoundError):
        bridge.replay(tmp_path / "none.dat", MAPPING, environ=ENV, dry_run=True)
    with pytest.raises(bridge.MappingError):
        bridge.replay(SAMPLE, MAPPING, environ={}, dry_run=True)


def test_unknown_choices_are_value_errors() -> None:
    with pytest.raises(ValueError, match="dialect"):
        bridge.load_copybook(COPYBOOK, dialect="cobol-60")
    with pytest.raises(ValueError, match="framing"):
        bridge.decode(COPYBOOK, SAMPLE, framing="punched-cards")
