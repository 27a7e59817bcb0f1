"""``bridge decode``: a record file and its copybook to JSON Lines, rejects with their reasons."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bridge.codepages import CODEPAGES, decode_table
from bridge.commands._common import (
    CommandFailed,
    add_copybook_arguments,
    load_layouts,
    pick_record,
)
from bridge.copybook.layout import Layout
from bridge.decode.framing import FRAMINGS, FramingError, frame, mapped
from bridge.decode.multi import Case, MultiLayoutDecoder, resolve_case, resolve_field
from bridge.decode.native import Batch, NativeDecoder
from bridge.decode.reference import decode_record, decode_value
from bridge.decode.verdict import DecodeOptions, RecordResult
from bridge.errors import BridgeError, CopybookError, CopybookNotFoundError
from bridge.exitcodes import (
    RET_COPYBOOK_INVALID,
    RET_FATAL_DATA,
    RET_INVALID_RECORDS,
    RET_NOT_FOUND,
    RET_OK,
    RET_USAGE,
)
from bridge.mapping.audit import AuditContext, audit_json
from bridge.mapping.model import MappingError, MappingNotFoundError
from bridge.mapping.program import Program, load_program
from bridge.stage.audits import framing_audit
from bridge.stage.batch import Checkpoint
from bridge.stage.judge import judge_batches

HELP = """\
Decode FILE with the record layout of COPYBOOK. Valid records go to stdout as JSON Lines (one
document per record, docs/decoding.md); each rejected record goes to stderr (or --errors FILE)
as one JSON line with its record number, byte offset, length and every bad field (path, file
offset, raw bytes in hex, reason). A last line on stderr reconciles: records read = valid +
rejected. Records are numbered from 0.

Multi-layout files: --discriminator names a field at a fixed place (e.g. REC-TYPE, read from
the raw bytes of every record); each --when VALUE=TARGET sends records whose discriminator is
VALUE to TARGET, a level-01 record of the copybook or the path of a REDEFINES alternative. A
record whose value has no --when is rejected (unknown-record-type).

Text files (--framing lines, COBOL LINE SEQUENTIAL): one record per line, ended by LF or CR LF;
a line shorter than the record is padded with spaces of the code page, a longer one stops the
run as a framing error. Use --codepage latin-1 (or ascii) for them.

Exit codes: 0 every record valid, 1 some records rejected, 3 the copybook is invalid, 4 a file
was not found, 5 the file cannot be framed (the error names the byte offset; the records before
it were written).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "decode",
        help="decode a record file to JSON Lines",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="[COPYBOOK] FILE",
        help="the copybook and the record file; with --mapping only the file",
    )
    p.add_argument(
        "--mapping",
        metavar="MAPPING",
        help="apply this mapping document (it names the copybook, framing and code page): "
        "mapped events on stdout, audit records for rejects",
    )
    add_copybook_arguments(p)
    p.add_argument("--record", metavar="NAME", help="the level-01 record to use (default: first)")
    p.add_argument(
        "--codepage", default="cp037", choices=CODEPAGES, metavar="CP", help="default cp037"
    )
    frm = p.add_argument_group("framing")
    frm.add_argument(
        "--framing",
        default="fixed",
        choices=FRAMINGS,
        help="how records sit in the file (default fixed; lines: one record per text line)",
    )
    frm.add_argument("--record-length", type=int, metavar="N", help="LRECL (default: layout's)")
    frm.add_argument(
        "--rdw-excludes-header",
        action="store_true",
        help="RDW lengths do not count the 4-byte RDW itself",
    )
    frm.add_argument("--skip-header", type=int, default=0, metavar="BYTES")
    frm.add_argument("--skip-trailer", type=int, default=0, metavar="BYTES")
    frm.add_argument(
        "--record-prefix", type=int, default=0, metavar="BYTES", help="bytes before each record"
    )
    val = p.add_argument_group("values")
    val.add_argument("--trim", default="right", choices=("right", "both", "none"))
    val.add_argument("--decimals-as-strings", action="store_true")
    val.add_argument("--float", dest="float_format", default="hfp", choices=("hfp", "ieee"))
    val.add_argument("--trunc", default="std", choices=("std", "bin"))
    val.add_argument(
        "--redefines",
        action="append",
        default=[],
        metavar="ORIG=ALT",
        help="decode the REDEFINES alternative ALT in place of ORIG (paths; repeatable)",
    )
    multi = p.add_argument_group("multi-layout files")
    multi.add_argument("--discriminator", metavar="FIELD")
    multi.add_argument("--when", action="append", default=[], metavar="VALUE=TARGET")
    out = p.add_argument_group("output")
    out.add_argument("--skip", type=int, default=0, metavar="N", help="skip the first N records")
    out.add_argument("--limit", type=int, metavar="N", help="stop after N records")
    out.add_argument("--errors", metavar="FILE", help="rejected records here, not to stderr")
    out.add_argument(
        "--hexdump", type=int, metavar="N", help="show record N in hex with field boundaries"
    )
    out.add_argument(
        "--reference",
        action="store_true",
        help="decode with the pure-Python reference decoder (slow; for cross-checking)",
    )
    p.set_defaults(func=run)


@dataclass
class Tally:
    read: int = 0
    valid: int = 0
    rejected: int = 0


def run(args: argparse.Namespace) -> int:
    wanted = 1 if args.mapping else 2
    if len(args.inputs) != wanted:
        shape = "--mapping MAPPING FILE" if args.mapping else "COPYBOOK FILE"
        print(f"bridge decode: expected {shape}", file=sys.stderr)
        return RET_USAGE
    path = Path(args.inputs[-1])
    if not path.is_file():
        print(f"bridge decode: {path}: no such file", file=sys.stderr)
        return RET_NOT_FOUND
    if args.mapping:
        return _run_mapping(args, path)
    args.copybook = args.inputs[0]
    layouts = load_layouts(args, "decode")
    options = _options(args)
    multi = bool(args.discriminator or args.when)  # the cases choose; no record to pick
    layout = (
        layouts[0] if multi and args.record is None else pick_record(layouts, args.record, "decode")
    )
    frame_args: dict[str, Any] = {
        "record_length": args.record_length,
        "rdw_includes_header": not args.rdw_excludes_header,
        "skip_header": args.skip_header,
        "skip_trailer": args.skip_trailer,
        "record_prefix": args.record_prefix,
    }
    if args.hexdump is not None:
        try:
            return _hexdump(layout, path, args.framing, frame_args, options, args.hexdump)
        except FramingError as exc:
            print(f"bridge decode: {path}: {exc}", file=sys.stderr)
            return RET_FATAL_DATA
    batches = _batches(args, layouts, layout, path, options, frame_args)
    return _write(batches, args, path, layout)


def _options(args: argparse.Namespace) -> DecodeOptions:
    redefines = {}
    for item in args.redefines:
        orig, sep, alt = item.partition("=")
        if not sep:
            print(f"bridge decode: --redefines {item}: expected ORIG=ALT", file=sys.stderr)
            raise CommandFailed(RET_USAGE)
        redefines[orig.upper()] = alt.upper()
    try:
        return DecodeOptions(
            codepage=args.codepage,
            trim=args.trim,
            decimals_as_strings=args.decimals_as_strings,
            float_format=args.float_format,
            trunc=args.trunc,
            redefines=redefines,
        )
    except BridgeError as exc:
        print(f"bridge decode: {exc}", file=sys.stderr)
        raise CommandFailed(RET_USAGE) from exc


def _batches(
    args: argparse.Namespace,
    layouts: tuple[Layout, ...],
    layout: Layout,
    path: Path,
    options: DecodeOptions,
    frame_args: dict[str, Any],
) -> Iterator[Batch]:
    if args.discriminator or args.when:
        return _multi(args, layouts, options).decode_file(path, args.framing, **frame_args)
    if args.reference:
        return _reference(layout, path, args.framing, frame_args, options)
    return NativeDecoder(layout, options).decode_file(path, args.framing, **frame_args)


def _multi(
    args: argparse.Namespace, layouts: tuple[Layout, ...], options: DecodeOptions
) -> MultiLayoutDecoder:
    if not (args.discriminator and args.when):
        print("bridge decode: --discriminator and --when go together", file=sys.stderr)
        raise CommandFailed(RET_USAGE)
    try:
        field = resolve_field(layouts, args.discriminator)
        cases: dict[str, Case] = {}
        for item in args.when:
            value, sep, target = item.partition("=")
            if not sep:
                print(f"bridge decode: --when {item}: expected VALUE=TARGET", file=sys.stderr)
                raise CommandFailed(RET_USAGE)
            cases[value] = resolve_case(layouts, target)
    except BridgeError as exc:
        print(f"bridge decode: {exc}", file=sys.stderr)
        raise CommandFailed(RET_USAGE) from exc
    return MultiLayoutDecoder(field, cases, options)


def _reference(
    layout: Layout, path: Path, framing: str, frame_args: dict[str, Any], options: DecodeOptions
) -> Iterator[Batch]:
    data = path.read_bytes()  # the reference path favours obviousness over memory
    if framing == "fixed" and frame_args["record_length"] is None:
        frame_args = {**frame_args, "record_length": layout.record_length}
    args = {**frame_args, "layout": layout, "codepage": options.codepage}
    for span in frame(data, framing, **args):
        res = decode_record(
            layout,
            bytes(span.data(data)),
            options=options,
            record_number=span.number,
            file_offset=span.offset,
        )
        yield _single(span.place(res))  # a padded line or a spanned record: as in the file


def _single(res: RecordResult) -> Batch:
    errors = {0: res.errors} if res.errors else {}
    segments = {0: res.segments} if res.segments else {}
    document = memoryview(res.document + b"\n")
    return Batch(res.record, [res.offset], [res.length], document, errors, segments=segments)


class _Sink:
    """Where records go: valid ones to stdout, audit documents to stderr or --errors."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.out = sys.stdout.buffer
        self.tally = Tally()
        self._file: IO[str] | None = None
        self.errs: IO[str] = sys.stderr
        if args.errors:
            self._file = self.errs = Path(args.errors).open("w", encoding="utf-8")  # noqa: SIM115

    def reject(self, audit: dict[str, Any]) -> None:
        self.tally.read += 1
        self.tally.rejected += 1
        self.errs.write(audit_json(audit) + "\n")

    def close(self) -> None:
        self.out.flush()
        if self._file is not None:
            self._file.close()
        t = self.tally
        print(
            f"bridge decode: {t.read} records read = {t.valid} valid + {t.rejected} rejected",
            file=sys.stderr,
        )


def _write(batches: Iterator[Batch], args: argparse.Namespace, path: Path, layout: Layout) -> int:
    sink = _Sink(args)
    context = AuditContext.for_file(path, layout_name=layout.name, fingerprint=layout.fingerprint)
    stop = None if args.limit is None else args.skip + args.limit
    done_to, number = args.skip_header, 0
    try:
        with mapped(path) as mm:
            for batch in batches:
                first, count = batch.first_record, batch.count
                if count:
                    done_to = batch.end(count - 1)
                    number = first + count
                lo = max(0, args.skip - first)
                hi = count if stop is None else min(count, stop - first)
                if lo >= hi:
                    if stop is not None and first >= stop:
                        break
                    continue
                if lo == 0 and hi == count and not batch.errors:
                    sink.out.write(batch.jsonl)  # the fast path: the C output as it is
                    sink.tally.read += count
                    sink.tally.valid += count
                    continue
                docs = batch.documents()
                for i in range(lo, hi):
                    bad = batch.errors.get(i)
                    if bad is None:
                        sink.tally.read += 1
                        sink.tally.valid += 1
                        sink.out.write(docs[i] + b"\n")
                        continue
                    sink.reject(
                        context.record(
                            stage="decode",
                            record_number=first + i,
                            offset=batch.offsets[i],
                            raw=batch.raw(i, mm),
                            reasons=bad,
                            segments=batch.segments.get(i, ()),
                            layout=batch.layouts.get(i),
                        )
                    )
    except FramingError as exc:
        print(f"bridge decode: {path}: {exc}", file=sys.stderr)
        sink.reject(framing_audit(context, exc, path, done_to, number))
        sink.close()
        return RET_FATAL_DATA
    sink.close()
    return RET_INVALID_RECORDS if sink.tally.rejected else RET_OK


def _run_mapping(args: argparse.Namespace, path: Path) -> int:
    try:
        program = load_program(args.mapping)
    except (MappingNotFoundError, CopybookNotFoundError) as exc:
        print(f"bridge decode: {exc}", file=sys.stderr)
        return RET_NOT_FOUND
    except (MappingError, CopybookError) as exc:
        print(f"bridge decode: {args.mapping} is invalid:\n{exc}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    for warning in program.warnings:
        print(f"bridge decode: warning: {warning}", file=sys.stderr)
    sink = _Sink(args)
    skip = args.skip
    stop = None if args.limit is None else skip + args.limit
    fatal = False
    try:
        for batch in judge_batches(program, path, start=_skipped(program, skip)):
            events = batch.events
            for i, number in enumerate(events.records):
                if skip <= number and (stop is None or number < stop):
                    sink.tally.read += 1
                    sink.tally.valid += 1
                    sink.out.write(events.document(i) + b"\n")
            for rejected in batch.rejected:
                if skip <= rejected.record and (stop is None or rejected.record < stop):
                    fatal = fatal or rejected.stage == "framing"
                    sink.reject(rejected.audit)
            if stop is not None and batch.end.record >= stop:
                break
    finally:
        sink.close()
    if fatal:
        return RET_FATAL_DATA
    return RET_INVALID_RECORDS if sink.tally.rejected else RET_OK


def _skipped(program: Program, skip: int) -> Checkpoint | None:
    """Where record ``skip`` starts when the framing says so without reading the file (fixed
    records); else None: the records before it are judged and not written."""
    framing = program.mapping.framing
    if skip <= 0 or framing.type != "fixed" or program.mapping.discriminator is not None:
        return None
    options = framing.frame_options()
    step = (options["record_length"] or program.layout().record_length) + options["record_prefix"]
    return Checkpoint(skip, framing.skip_header + skip * step)


def _hexdump(
    layout: Layout,
    path: Path,
    framing: str,
    frame_args: dict[str, Any],
    options: DecodeOptions,
    number: int,
) -> int:
    if framing == "fixed" and frame_args["record_length"] is None:
        frame_args = {**frame_args, "record_length": layout.record_length}
    with mapped(path) as view:
        args = {**frame_args, "layout": layout, "codepage": options.codepage}
        for span in frame(view, framing, **args):
            if span.number == number:
                record = bytes(span.data(view))
                print(render_hexdump(layout, record, span.offset, options))
                return RET_OK
    print(f"bridge decode: {path} has no record {number}", file=sys.stderr)
    return RET_NOT_FOUND


def render_hexdump(layout: Layout, record: bytes, file_offset: int, options: DecodeOptions) -> str:
    """The record's bytes, 16 a line, then each elementary item's place, bytes and value."""
    table = decode_table(options.codepage)
    lines = [f"record at file offset {file_offset}, {len(record)} bytes ({options.codepage})"]
    for at in range(0, len(record), 16):
        chunk = record[at : at + 16]
        text = "".join(c if (c := table[b]) is not None and c.isprintable() else "." for b in chunk)
        lines.append(f"{at:6d}  {chunk.hex(' '):<47}  |{text}|")
    lines.append("")
    lines.append(f"{'OFFSET':>6} {'LEN':>4}  {'FIELD':<40} {'BYTES':<24} VALUE")
    for f in layout.fields():
        if f.is_group or f.is_filler or f.level in (66, 88):
            continue
        raw = record[f.offset : f.offset + f.length]
        moved = " (moves with an ODO table)" if f.variable_offset else ""
        try:
            value: Any = decode_value(f, raw, options) if len(raw) == f.length else "<short>"
        except Exception as exc:  # show why, as the verdict would
            value = f"<{exc}>"
        hexed = raw.hex(" ")
        if len(hexed) > 24:
            hexed = hexed[:21] + "..."
        lines.append(f"{f.offset:6d} {f.length:4d}  {f.path:<40} {hexed:<24} {value!s}{moved}")
    return "\n".join(lines)
