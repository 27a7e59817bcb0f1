"""``bridge decode``: a record file and its copybook to JSON Lines, rejects with their reasons."""

from __future__ import annotations

import argparse
import os
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
    non_negative,
    pick_record,
    positive,
)
from bridge.commands._output import OutputFile, refuse_inputs, refuse_stdout_input
from bridge.copybook.layout import Layout
from bridge.decode.framing import FRAMINGS, FileChangedError, FramingError, frame, mapped
from bridge.decode.multi import (
    Case,
    MultiLayoutDecoder,
    case_value,
    discriminator_at,
    resolve_case,
    resolve_field,
)
from bridge.decode.native import Batch, NativeDecoder
from bridge.decode.plan import PlanError, check_redefines
from bridge.decode.reference import decode_record, decode_value
from bridge.decode.verdict import (
    DecodeOptions,
    DecodeOptionsError,
    FieldError,
    Reason,
    RecordResult,
    relocate,
)
from bridge.errors import BridgeError, CopybookError, CopybookNotFoundError
from bridge.exitcodes import (
    RET_COPYBOOK_INVALID,
    RET_FATAL_DATA,
    RET_INVALID_RECORDS,
    RET_NOT_FOUND,
    RET_OK,
    RET_USAGE,
)
from bridge.inputs import input_problem
from bridge.mapping.audit import AuditContext, audit_json
from bridge.mapping.model import MappingError, MappingNotFoundError
from bridge.mapping.program import Program, load_program
from bridge.stage.audits import audit_context, framing_audit
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
VALUE to TARGET, a level-01 record of the copybook, a REDEFINES alternative or the item it
redefines (by path, or by name when unique). VALUE x'C300' compares the raw bytes (a type byte
and X'00' padding); --trim-discriminator drops trailing spaces and low-values from both sides. A
record whose value has no --when is rejected (unknown-record-type).

Text files (--framing lines, COBOL LINE SEQUENTIAL): one record per line, ended by LF or CR LF;
a line shorter than the record is padded with spaces of the code page, a longer one stops the
run as a framing error. Use --codepage latin-1 (or ascii) for them.

Audit documents hold each rejected record's raw bytes and values in clear; with --mapping,
the fields the mapping protects are withheld (docs/audit.md) and the rest stays clear: send
them to --errors FILE rather than to stderr, which ends up in terminals and CI logs.

Exit codes: 0 every record valid, 1 some records rejected, 2 usage error, 3 the copybook is
invalid, 4 a file was not found, 5 the file cannot be framed (the error names the byte offset;
the records before it were written), 70 internal error (a bug; BRIDGE_DEBUG=1 shows the
traceback), 74 an output cannot be written (full device, missing directory).
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
    p.set_defaults(dialect=None)  # given or not is told apart: --mapping refuses it (_DEFAULTS)
    p.add_argument("--record", metavar="NAME", help="the level-01 record to use (default: first)")
    p.add_argument("--codepage", choices=CODEPAGES, metavar="CP", help="default cp037")
    frm = p.add_argument_group("framing")
    frm.add_argument(
        "--framing",
        choices=FRAMINGS,
        help="how records sit in the file (default fixed; lines: one record per text line)",
    )
    frm.add_argument(
        "--record-length", type=positive, metavar="N", help="LRECL (default: layout's)"
    )
    frm.add_argument(
        "--rdw-excludes-header",
        action="store_true",
        help="RDW lengths do not count the 4-byte RDW itself",
    )
    frm.add_argument("--skip-header", type=non_negative, default=0, metavar="BYTES")
    frm.add_argument("--skip-trailer", type=non_negative, default=0, metavar="BYTES")
    frm.add_argument(
        "--record-prefix",
        type=non_negative,
        default=0,
        metavar="BYTES",
        help="bytes before each record",
    )
    val = p.add_argument_group("values")
    val.add_argument("--trim", choices=("right", "both", "none"), help="default right")
    val.add_argument("--decimals-as-strings", action="store_true")
    val.add_argument("--float", dest="float_format", choices=("hfp", "ieee"), help="default hfp")
    val.add_argument("--trunc", choices=("std", "bin"), help="default std")
    val.add_argument(
        "--redefines",
        action="append",
        default=[],
        metavar="ORIG=ALT",
        help="decode the REDEFINES alternative ALT in place of ORIG (paths; repeatable)",
    )
    multi = p.add_argument_group("multi-layout files")
    multi.add_argument("--discriminator", metavar="FIELD")
    multi.add_argument(
        "--when",
        action="append",
        default=[],
        metavar="VALUE=TARGET",
        help="VALUE as text, or x'C3' for raw bytes; TARGET a record, a REDEFINES item (path or "
        "unique name)",
    )
    multi.add_argument(
        "--discriminator-at",
        metavar="OFFSET:LENGTH",
        help="a discriminator outside the copybook: LENGTH bytes at OFFSET from the start of "
        "each record's --record-prefix (an IMS segment prefix, a transmission header), as text",
    )
    multi.add_argument(
        "--trim-discriminator",
        action="store_true",
        help="compare values without trailing spaces and low-values (X'00')",
    )
    frm.add_argument(
        "--strict-length",
        action="store_true",
        help="reject a record longer than its layout (record-too-long, naming the extra "
        "bytes); by default it is decoded, its extra bytes are not, and the last line counts it",
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--skip", type=non_negative, default=0, metavar="N", help="skip the first N records"
    )
    out.add_argument("--limit", type=non_negative, metavar="N", help="stop after N records")
    out.add_argument(
        "--errors",
        metavar="FILE",
        help="rejected records here, not to stderr; never one of the inputs; an existing FILE "
        "is replaced when the run ends (written beside it, then renamed), kept if the run dies",
    )
    out.add_argument(
        "--hexdump",
        type=non_negative,
        metavar="N",
        help="show record N in hex with field boundaries; a debugging view that shows every "
        "byte and value IN CLEAR, PII included (no mapping, no redaction)",
    )
    out.add_argument(
        "--reference",
        action="store_true",
        help="decode with the pure-Python reference decoder (slow; for cross-checking)",
    )
    p.set_defaults(func=run)


# Options of a copybook run that a mapping run takes from its mapping document instead.
_COPYBOOK_OPTIONS = {
    "include_dirs": "-I",
    "free_format": "--free/--fixed",
    "decimal_point_is_comma": "--decimal-point-is-comma",
    "record": "--record",
    "codepage": "--codepage",
    "framing": "--framing",
    "record_length": "--record-length",
    "rdw_excludes_header": "--rdw-excludes-header",
    "skip_header": "--skip-header",
    "skip_trailer": "--skip-trailer",
    "record_prefix": "--record-prefix",
    "trim": "--trim",
    "decimals_as_strings": "--decimals-as-strings",
    "float_format": "--float",
    "trunc": "--trunc",
    "redefines": "--redefines",
    "dialect": "--dialect",
    "discriminator": "--discriminator",
    "discriminator_at": "--discriminator-at",
    "trim_discriminator": "--trim-discriminator",
    "when": "--when",
    "hexdump": "--hexdump",
    "reference": "--reference",
    "strict_length": "--strict-length",
}
_DEFAULTS = {
    "dialect": "ibm",
    "codepage": "cp037",
    "framing": "fixed",
    "trim": "right",
    "float_format": "hfp",
    "trunc": "std",
}


@dataclass
class Tally:
    read: int = 0
    valid: int = 0
    rejected: int = 0
    longer: int = 0  # valid records longer than their layout (the bytes past it not decoded)


def run(args: argparse.Namespace) -> int:
    wanted = 1 if args.mapping else 2
    if len(args.inputs) != wanted:
        shape = "--mapping MAPPING FILE" if args.mapping else "COPYBOOK FILE"
        print(f"bridge decode: expected {shape}", file=sys.stderr)
        return RET_USAGE
    path = Path(args.inputs[-1])
    problem = input_problem(path)
    if problem is not None:
        print(f"bridge decode: {path}: {problem}", file=sys.stderr)
        return RET_NOT_FOUND
    if args.mapping:
        ignored = [
            opt
            for dest, opt in _COPYBOOK_OPTIONS.items()
            if getattr(args, dest) or (dest == "free_format" and args.free_format is not None)
        ]
        if ignored:
            print(
                f"bridge decode: {', '.join(ignored)}: not with --mapping (the mapping document "
                "says how its file is framed and decoded)",
                file=sys.stderr,
            )
            return RET_USAGE
        return _run_mapping(args, path)
    args.copybook = args.inputs[0]
    for dest, default in _DEFAULTS.items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)
    layouts = load_layouts(args, "decode")
    options = _options(args)
    multi = bool(args.discriminator or args.discriminator_at or args.when)  # cases choose
    layout = (
        layouts[0] if multi and args.record is None else pick_record(layouts, args.record, "decode")
    )
    if not multi:
        try:
            check_redefines(layout, options.redefines)
        except DecodeOptionsError as exc:
            print(f"bridge decode: --{exc}", file=sys.stderr)
            raise CommandFailed(RET_USAGE) from exc
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
    limit = max(lay.record_length for lay in layouts) if multi else layout.record_length
    return _write(batches, args, path, layout, limit)


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
    if args.discriminator or args.discriminator_at or args.when:
        try:
            multi = _multi(args, layouts, options)
        except PlanError as exc:
            print(
                f"bridge decode: {args.copybook}: the native decoder cannot walk a case's "
                f"layout ({exc}), and multi-layout files are decoded natively only",
                file=sys.stderr,
            )
            raise CommandFailed(RET_COPYBOOK_INVALID) from exc
        except DecodeOptionsError as exc:
            print(f"bridge decode: --{exc}", file=sys.stderr)
            raise CommandFailed(RET_USAGE) from exc
        return multi.decode_file(path, args.framing, **frame_args)
    if args.reference:
        return _reference(layout, path, args.framing, frame_args, options)
    try:
        native = NativeDecoder(layout, options)
    except PlanError as exc:
        print(
            f"bridge decode: warning: {args.copybook}: the native decoder cannot walk "
            f"{layout.name} ({exc}); decoding with the reference decoder (slower, same results)",
            file=sys.stderr,
        )
        return _reference(layout, path, args.framing, frame_args, options)
    return native.decode_file(path, args.framing, **frame_args)


def _multi(
    args: argparse.Namespace, layouts: tuple[Layout, ...], options: DecodeOptions
) -> MultiLayoutDecoder:
    if not ((args.discriminator or args.discriminator_at) and args.when):
        print("bridge decode: --discriminator and --when go together", file=sys.stderr)
        raise CommandFailed(RET_USAGE)
    if args.discriminator and args.discriminator_at:
        print("bridge decode: --discriminator or --discriminator-at, not both", file=sys.stderr)
        raise CommandFailed(RET_USAGE)
    try:
        if args.discriminator_at:
            field = discriminator_at(args.discriminator_at, args.record_prefix)
        else:
            field = resolve_field(layouts, args.discriminator)
        cases: dict[str | bytes, Case] = {}
        for item in args.when:
            value, sep, target = item.partition("=")
            if not sep:
                print(f"bridge decode: --when {item}: expected VALUE=TARGET", file=sys.stderr)
                raise CommandFailed(RET_USAGE)
            key = case_value(value)
            if key in cases:
                print(f"bridge decode: --when {value}=... is given twice", file=sys.stderr)
                raise CommandFailed(RET_USAGE)
            cases[key] = resolve_case(layouts, target)
        return MultiLayoutDecoder(field, cases, options, trimmed=args.trim_discriminator)
    except DecodeOptionsError:  # PlanError included: _batches says which
        raise
    except BridgeError as exc:
        print(f"bridge decode: {exc}", file=sys.stderr)
        raise CommandFailed(RET_USAGE) from exc


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
    """Where records go: valid ones to stdout, audit documents to stderr or --errors (an
    OutputFile: never an input, replaced only when the run ends)."""

    def __init__(self, args: argparse.Namespace, inputs: tuple[str | Path | None, ...]) -> None:
        self.out = sys.stdout.buffer
        self.tally = Tally()
        self._file: OutputFile | None = None
        self.errs: IO[str] | OutputFile = sys.stderr
        self.longer_hint = "; --strict-length rejects them"
        refuse_stdout_input("decode", inputs)
        if args.errors:
            refuse_inputs("decode", args.errors, "--errors", inputs)
            self._file = self.errs = OutputFile("decode", args.errors)
            self._file.check()

    def reject(self, audit: dict[str, Any]) -> None:
        self.tally.read += 1
        self.tally.rejected += 1
        self.errs.write(audit_json(audit) + "\n")

    def close(self) -> None:
        self.out.flush()
        if self._file is not None:
            self._file.commit()
        t = self.tally
        longer = (
            f" ({t.longer} of them longer than their layout: the bytes past it not decoded"
            f"{self.longer_hint})"
            if t.longer
            else ""
        )
        print(
            f"bridge decode: {t.read} records read = {t.valid} valid + {t.rejected} rejected"
            + longer,
            file=sys.stderr,
        )

    def abandon(self) -> None:
        """The run died: leave an existing --errors file as it was."""
        if self._file is not None:
            self._file.discard()


def _write(
    batches: Iterator[Batch], args: argparse.Namespace, path: Path, layout: Layout, limit: int
) -> int:
    """Write the batches' records; ``limit`` is the longest record a layout describes: a
    longer record's extra bytes are not decoded, so it is counted (or, --strict-length,
    rejected with the extra length)."""
    sink = _Sink(args, (path, args.copybook))
    strict = args.strict_length
    context = AuditContext.for_file(path, layout_name=layout.name, fingerprint=layout.fingerprint)
    stop = None if args.limit is None else args.skip + args.limit
    done_to, number = args.skip_header, 0
    try:
        with path.open("rb") as fh:
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
                lengths = batch.lengths
                longer = count and max(lengths) > limit
                if longer and not strict:
                    sink.tally.longer += sum(1 for n in lengths[lo:hi] if n > limit)
                if lo == 0 and hi == count and not batch.errors and not (longer and strict):
                    sink.out.write(batch.jsonl)  # the fast path: the C output as it is
                    sink.tally.read += count
                    sink.tally.valid += count
                    continue
                docs = batch.documents()
                for i in range(lo, hi):
                    bad = batch.errors.get(i)
                    if strict and lengths[i] > limit:
                        bad = (*(bad or ()), _too_long(fh, batch, i, limit, layout))
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
                            raw=_raw(fh, batch, i),
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
    except BaseException:
        sink.abandon()
        raise
    sink.close()
    return RET_INVALID_RECORDS if sink.tally.rejected else RET_OK


def _too_long(fh: IO[bytes], batch: Batch, index: int, limit: int, layout: Layout) -> FieldError:
    """--strict-length: the reason a record longer than its layout is rejected, at the bytes
    past the layout (in the piece that holds them, for a spanned record)."""
    length, offset = batch.lengths[index], batch.offsets[index]
    extra = length - limit
    error = FieldError(
        path=batch.layouts.get(index, layout).name,
        offset=offset + limit,
        length=extra,
        raw=_raw(fh, batch, index)[limit:],
        reason=Reason.RECORD_TOO_LONG,
        message=f"the record has {length} bytes, {extra} more than its layout's {limit}",
    )
    segments = batch.segments.get(index, ())
    return relocate((error,), offset, segments)[0] if segments else error


def _raw(fh: IO[bytes], batch: Batch, index: int) -> bytes:
    """A rejected record's bytes, read (not mapped: a file cut short meanwhile is an error
    naming the offset, not SIGBUS), a spanned record's pieces joined."""
    pieces = batch.segments.get(index) or ((batch.offsets[index], batch.lengths[index]),)
    raw = b""
    for at, n in pieces:
        piece = os.pread(fh.fileno(), n, at)
        if len(piece) < n:
            raise FileChangedError(at + len(piece))
        raw += piece
    return raw


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
    try:  # the audit keys (docs/audit.md) are read before the first record
        context = audit_context(program, path)
    except MappingError as exc:
        print(f"bridge decode: {args.mapping} is invalid:\n{exc}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    inputs = (path, args.mapping, program.mapping.copybook_path)
    sink = _Sink(args, inputs)
    disc = program.mapping.discriminator
    cases = [c.name for c in disc.cases] if disc else [None]
    limit = max(program.layout(case).record_length for case in cases)
    sink.longer_hint = ""  # a mapping's records are not refused for their length (yet)
    skip = args.skip
    stop = None if args.limit is None else skip + args.limit
    fatal = False
    try:
        start = _skipped(program, skip)
        for batch in judge_batches(program, path, start=start, context=context):
            events = batch.events
            for i, number in enumerate(events.records):
                if skip <= number and (stop is None or number < stop):
                    sink.tally.read += 1
                    sink.tally.valid += 1
                    sink.tally.longer += events.lengths[i] > limit
                    sink.out.write(events.document(i) + b"\n")
            for rejected in batch.rejected:
                if skip <= rejected.record and (stop is None or rejected.record < stop):
                    if rejected.stage == "framing":  # the run stops: say why, as plain decode
                        fatal = True
                        for reason in rejected.audit["reasons"]:
                            print(f"bridge decode: {path}: {reason['message']}", file=sys.stderr)
                    sink.reject(rejected.audit)
            if stop is not None and batch.end.record >= stop:
                break
    except BaseException:
        sink.abandon()
        raise
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
