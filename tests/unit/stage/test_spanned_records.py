"""Records spanned over VBS segments, as every rejecting path reports them.

A spanned record's bytes are not together in the file: segment descriptors (and block
descriptors) lie between its pieces. Its audit document must carry the record's own bytes
(the pieces joined), list the pieces, and give every reason's offset in the piece that holds
the field, so a person can find the bytes in the file. The oracle is the file itself: the byte
at a reason's offset is the field's first byte in the record.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bridge.cli import main
from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Layout
from bridge.decode.framing import frame
from bridge.decode.verdict import record_bytes
from bridge.mapping.apply import Mapper
from bridge.mapping.program import load_program
from bridge.stage.records import Event, judge_file

from ..copybooks import MIXED
from ..descriptors import blocks, rdw, spanned

ROOT = Path(__file__).resolve().parents[2].parent

COPYBOOK = MIXED
AUDIT = jsonschema.Draft202012Validator(
    json.loads((ROOT / "schemas/audit-record.schema.json").read_text())
)
ITEM_LIMIT = 5000  # the mapping's itemId maximum: a validate-stage reason


def _item(rng: random.Random) -> bytes:
    item = f"{rng.randint(0, 9999):04d}".encode()
    amount = f"{rng.randint(0, 999999):06d}".encode() + bytes([rng.choice(b"{ABCJK}")])
    roll = rng.random()
    if roll < 0.15:  # a digit that is none
        at = rng.randrange(4)
        item = item[:at] + b"x" + item[at + 1 :]
    elif roll < 0.3:
        at = rng.randrange(7)
        amount = amount[:at] + b"?" + amount[at + 1 :]
    return b"D" + item + amount + f"{rng.randint(0, 10**9):<10d}".encode()


def _head(rng: random.Random) -> bytes:
    date = f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}".encode()
    if rng.random() < 0.2:
        date = date[:5] + b" " + date[6:]
    return b"H" + date


def _vbs_file(rng: random.Random, bodies: list[bytes]) -> bytes:
    return blocks(spanned(bodies, rng), rng)


def _field_offsets(layouts: tuple[Layout, ...]) -> dict[str, int]:
    return {f.path: f.offset for lay in layouts for f in lay.fields()}


def _check_audit(
    audit: dict[str, Any], data: bytes, bodies: list[bytes], fields: dict[str, int]
) -> None:
    """The audit of ``bodies[number]`` against the file: raw, pieces, reason offsets."""
    assert not list(AUDIT.iter_errors(audit))
    rec = audit["record"]
    body = bodies[rec["number"]]
    assert base64.b64decode(rec["raw_base64"]) == body
    assert rec["length"] == len(body)
    pieces = rec.get("segments")
    if pieces is None:  # one piece: the record's bytes are where the offset says
        assert data[rec["offset"] : rec["offset"] + len(body)] == body
        places = list(range(rec["offset"], rec["offset"] + len(body)))
    else:
        assert rec["offset"] == pieces[0]["offset"]
        assert b"".join(data[p["offset"] : p["offset"] + p["length"]] for p in pieces) == body
        places = [p["offset"] + k for p in pieces for k in range(p["length"])]
    for reason in audit["reasons"]:
        at = fields[reason["path"].replace("HEAD-REC.REC-TYPE", "ITEM-REC.REC-TYPE")]
        assert reason["offset"] == places[at], reason
        if reason["raw"] is not None:
            assert bytes.fromhex(reason["raw"]) == body[at : at + len(bytes.fromhex(reason["raw"]))]


@pytest.fixture(name="spanned")
def _spanned(tmp_path: Path) -> tuple[Path, Path, list[bytes], bytes]:
    rng = random.Random(20261126)
    bodies = [_head(rng) if rng.random() < 0.2 else _item(rng) for _ in range(3000)]
    bodies[7] = b"X" + bodies[7][1:]  # a record type no case names
    data = _vbs_file(rng, bodies)
    cpy = tmp_path / "MIXED.cpy"
    cpy.write_text(COPYBOOK)
    path = tmp_path / "mixed.vbs"
    path.write_bytes(data)
    return cpy, path, bodies, data


def _audits(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("reference", [False, True])
def test_decode_reports_spanned_records_as_they_lie_in_the_file(
    tmp_path: Path,
    spanned: tuple[Path, Path, list[bytes], bytes],
    capsysbinary: pytest.CaptureFixture[bytes],
    reference: bool,
) -> None:
    cpy, _, bodies, _ = spanned
    items = [i for i, b in enumerate(bodies) if b[:1] == b"D"]
    only = tmp_path / "items.vbs"
    rng = random.Random(7)
    only.write_bytes(_vbs_file(rng, [bodies[i] for i in items]))
    errors = tmp_path / "errors.jsonl"
    argv = ["decode", str(cpy), str(only), "--framing", "vbs", "--codepage", "latin-1"]
    argv += ["--record", "ITEM-REC", "--errors", str(errors)]
    code = main([*argv, "--reference"] if reference else argv)
    capsysbinary.readouterr()
    assert code == 1
    audits = _audits(errors)
    fields = _field_offsets(compile_copybook(cpy))
    spread = 0
    for audit in audits:
        _check_audit(audit, only.read_bytes(), [bodies[i] for i in items], fields)
        spread += "segments" in audit["record"]
    assert len(audits) > 100
    assert spread > len(audits) // 2  # most rejected records are spanned


def test_multi_layout_decode_of_spanned_records(
    tmp_path: Path,
    spanned: tuple[Path, Path, list[bytes], bytes],
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    cpy, path, bodies, data = spanned
    errors = tmp_path / "errors.jsonl"
    argv = ["decode", str(cpy), str(path), "--framing", "vbs", "--codepage", "latin-1"]
    argv += ["--discriminator", "HEAD-REC.REC-TYPE", "--when", "H=HEAD-REC"]
    code = main([*argv, "--when", "D=ITEM-REC", "--errors", str(errors)])
    out = capsysbinary.readouterr()
    assert code == 1
    audits = _audits(errors)
    assert f"{len(bodies)} records read = " in out.err.decode()
    assert len(out.out.splitlines()) + len(audits) == len(bodies)
    fields = _field_offsets(compile_copybook(cpy))
    for audit in audits:
        _check_audit(audit, data, bodies, fields)
    assert {r["rule"] for a in audits for r in a["reasons"]} >= {
        "unknown-record-type",
        "bad-zone",
    }


def _mapping(
    tmp_path: Path, cpy: Path, multi: bool, capsysbinary: pytest.CaptureFixture[bytes]
) -> Path:
    """``bridge mapping init``'s mapping, read as VBS, with a maximum on the item id."""
    argv = ["mapping", "init", str(cpy), "--code-page", "latin-1"]
    if multi:
        argv += ["--discriminator", "REC-TYPE", "--when", "H=HEAD-REC", "--when", "D=ITEM-REC"]
    else:
        argv += ["--record", "ITEM-REC"]
    assert main(argv) == 0
    doc = json.loads(capsysbinary.readouterr().out)
    out = tmp_path / "init.json"
    doc["copybook"]["path"] = str(cpy)  # init writes it relative to where it runs
    doc["source"]["framing"] = {"type": "vbs"}
    for spec in doc["fields"]:
        if spec["source"].endswith("ITEM-ID"):
            spec["maximum"] = ITEM_LIMIT
    out.write_text(json.dumps(doc))
    return out


@pytest.mark.parametrize("multi", [False, True])
def test_mapping_audits_of_spanned_records(
    tmp_path: Path,
    spanned: tuple[Path, Path, list[bytes], bytes],
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
    multi: bool,
) -> None:
    """Decode and validate reasons alike, through the mapping's record stage (a single-record
    mapping over the item records, a multi-layout one over the whole file)."""
    cpy, path, bodies, data = spanned
    if not multi:
        bodies = [b for b in bodies if b[:1] == b"D"]
        data = _vbs_file(random.Random(11), bodies)
        path = tmp_path / "items.vbs"
        path.write_bytes(data)
    mapping = _mapping(tmp_path, cpy, multi, capsysbinary)
    errors = tmp_path / "audit.jsonl"
    code = main(["decode", "--mapping", str(mapping), str(path), "--errors", str(errors)])
    out = capsysbinary.readouterr()
    assert code == 1, out.err.decode()
    audits = _audits(errors)
    assert len(out.out.splitlines()) + len(audits) == len(bodies)
    fields = _field_offsets(compile_copybook(cpy))
    for audit in audits:
        _check_audit(audit, data, bodies, fields)
    stages = {a["stage"] for a in audits if "segments" in a["record"]}
    assert stages == {"decode", "validate"}
    too_big = [
        a for a in audits if a["stage"] == "validate" and a["reasons"][0]["rule"] == "maximum"
    ]
    assert too_big and all(int(bodies[a["record"]["number"]][1:5]) > ITEM_LIMIT for a in too_big)


def test_a_framing_error_after_a_spanned_record_starts_where_its_last_piece_ends(
    tmp_path: Path,
    spanned: tuple[Path, Path, list[bytes], bytes],
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    cpy = spanned[0]
    body = b"D0001000012{hello     "
    parts = [rdw(body[:5], code=1), rdw(body[5:12], code=3), rdw(body[12:], code=2)]
    good = b"".join(parts)
    data = (len(good) + 4).to_bytes(2, "big") + b"\0\0" + good
    broken = rdw(b"D0001", code=3)  # a middle segment with no first before it
    data += (len(broken) + 4).to_bytes(2, "big") + b"\0\0" + broken
    path = tmp_path / "broken.vbs"
    path.write_bytes(data)
    errors = tmp_path / "errors.jsonl"
    argv = ["decode", str(cpy), str(path), "--framing", "vbs", "--codepage", "latin-1"]
    code = main([*argv, "--record", "ITEM-REC", "--errors", str(errors)])
    capsysbinary.readouterr()
    assert code == 5
    [audit] = _audits(errors)
    assert audit["stage"] == "framing"
    assert audit["record"]["number"] == 1
    assert audit["record"]["offset"] == 4 + len(good)  # past the record's last piece
    assert base64.b64decode(audit["record"]["raw_base64"]) == data[4 + len(good) :]


def test_events_of_spanned_records_know_their_pieces(
    tmp_path: Path,
    spanned: tuple[Path, Path, list[bytes], bytes],
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """Each event's pieces hold its record's bytes, and its end is where the next record's
    first piece begins (less the descriptors between them)."""
    cpy, path, bodies, data = spanned
    runtime = load_program(_mapping(tmp_path, cpy, True, capsysbinary))
    outcomes = list(judge_file(runtime, path))
    assert [o.record for o in outcomes] == list(range(len(bodies)))
    spans = list(frame(data, "vbs"))
    events = [o for o in outcomes if isinstance(o, Event)]
    assert sum(1 for e in events if e.segments) > len(events) // 2
    for event in events:
        span = spans[event.record]
        assert (event.offset, event.length, event.segments) == (
            span.offset,
            span.length,
            span.segments,
        )
        assert (
            record_bytes(data, event.offset, event.length, event.segments) == bodies[event.record]
        )
        assert event.end == (
            span.segments[-1][0] + span.segments[-1][1]
            if span.segments
            else span.offset + span.length
        )


def test_spanned_records_become_events_in_c(
    tmp_path: Path,
    spanned: tuple[Path, Path, list[bytes], bytes],
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A VBS file's valid records, spanned or not, go to events through the C event plan
    (their pieces joined into one buffer), the same events the Python mapper writes."""
    cpy, _, bodies, _ = spanned
    items = [b for b in bodies if b[:1] == b"D"]
    path = tmp_path / "items.vbs"
    path.write_bytes(_vbs_file(random.Random(5), items))
    runtime = load_program(_mapping(tmp_path, cpy, False, capsysbinary))
    python = list(judge_file(runtime, path, native_events=False))
    calls = 0
    apply = Mapper.apply

    def counted(self: Mapper, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return apply(self, *args, **kwargs)

    monkeypatch.setattr(Mapper, "apply", counted)
    native = list(judge_file(runtime, path))
    assert calls == 0  # no valid record went through the Python mapper
    events = [o for o in native if isinstance(o, Event)]
    assert sum(1 for e in events if e.segments) > len(events) // 2
    assert [
        (o.record, o.offset, o.document, o.kafka_key, o.segments)
        for o in native
        if isinstance(o, Event)
    ] == [
        (o.record, o.offset, o.document, o.kafka_key, o.segments)
        for o in python
        if isinstance(o, Event)
    ]
    assert [o.record for o in native] == [o.record for o in python] == list(range(len(items)))
