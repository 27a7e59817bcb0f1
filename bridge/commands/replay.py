"""``bridge replay FILE --mapping MAPPING``: the file to Kafka, exactly once (bridge/engine/)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from tqdm import tqdm

from bridge.commands.cache import fill_cache
from bridge.config import ConfigError, load_config
from bridge.engine.engine import ReplayConflictError, Summary, replay
from bridge.engine.progress import Progress
from bridge.errors import CopybookError, CopybookNotFoundError
from bridge.exitcodes import RET_CONNECT, RET_COPYBOOK_INVALID, RET_NOT_FOUND, RET_USAGE
from bridge.mapping.model import MappingError, MappingNotFoundError
from bridge.mapping.program import load_program
from bridge.sinks.kafka import KafkaFatalError, KafkaUnavailableError

HELP = """\
Publish every record of FILE to Kafka exactly once: valid records as events (the events topic),
rejected ones as audit documents (the audit topic, a tamper-evident chain per file), the file's
progress with every chunk (one transaction each) and a summary at the end (the control topic).
A crashed or interrupted run resumes where its last transaction ended; a file already complete
publishes nothing.

The broker and topic names come from --config (default bridge.toml when present), else from
BRIDGE_KAFKA_BOOTSTRAP and the default names bridge.<mapping>.events|audit|control|progress
and bridge.schemas.

With --cache, the events are then materialized into Redis (as `bridge cache` does, in the
[cache] group) until Redis holds the file's last events: a hand run leaves Kafka and Redis
consistent.

Exit codes: 0 every record published (or the file was complete already), 1 some records
rejected (in the audit topic), 2 an unfinished run of the file with another mapping version,
3 bad configuration or mapping, 4 file not found, 5 the file cannot be framed past some point
(the records before it published, a framing audit for the rest), 6 Kafka unreachable
(--timeout) or refusing (fenced by another run, not authorised), 7 records read != published
+ rejected.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "replay",
        help="publish a record file to Kafka exactly once (events, audits, summary)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--mapping", required=True, metavar="MAPPING", help="the mapping document")
    p.add_argument("--config", metavar="TOML", help="configuration file (default: bridge.toml)")
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up (exit 6) when Kafka does not answer for this long (default: wait)",
    )
    p.add_argument(
        "--chunk-records", type=int, metavar="N", help="records per transaction ([replay])"
    )
    again = p.add_mutually_exclusive_group()
    again.add_argument(
        "--force", action="store_true", help="publish a complete file again (a new run)"
    )
    again.add_argument(
        "--from-record", type=int, metavar="N", help="a new run starting at record N (0-based)"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="decode, validate and reconcile; publish nothing"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON summary on stdout, nothing else (the default when stdout is no terminal)",
    )
    p.add_argument(
        "--cache",
        action="store_true",
        help="then materialize the events into Redis until it holds the file's last ones",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    prog = "bridge replay"
    if (args.chunk_records is not None and args.chunk_records < 1) or (
        args.from_record is not None and args.from_record < 0
    ):
        print(f"{prog}: --chunk-records must be >= 1, --from-record >= 0", file=sys.stderr)
        return RET_USAGE
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    try:
        program = load_program(args.mapping)
    except (MappingNotFoundError, CopybookNotFoundError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_NOT_FOUND
    except (MappingError, CopybookError) as exc:
        print(f"{prog}: {args.mapping} is invalid:\n{exc}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    for warning in program.warnings:
        print(f"{prog}: warning: {warning}", file=sys.stderr)
    try:
        with open(args.file, "rb"):
            pass
    except OSError as exc:
        print(f"{prog}: {args.file}: {exc.strerror}", file=sys.stderr)
        return RET_NOT_FOUND

    def say(message: str) -> None:
        print(f"{prog}: {message}", file=sys.stderr, flush=True)

    bar = _Bar(args.file) if sys.stderr.isatty() and not args.json else None
    try:
        summary = replay(
            program,
            args.file,
            config,
            force=args.force,
            from_record=args.from_record,
            dry_run=args.dry_run,
            timeout=args.timeout,
            chunk_records=args.chunk_records,
            say=say if bar is None else bar.write,
            on_chunk=bar.update if bar is not None else lambda progress: None,
        )
    except KafkaUnavailableError as exc:
        say(str(exc))
        return RET_CONNECT
    except KafkaFatalError as exc:
        say(f"Kafka refused: {exc}; stopped (nothing of the open chunk was committed)")
        return RET_CONNECT
    except ReplayConflictError as exc:
        say(str(exc))
        return RET_USAGE
    except MappingError as exc:  # the audit keys (pii_key, audit.seal_key) cannot be read
        say(f"{args.mapping} is invalid:\n{exc}")
        return RET_COPYBOOK_INVALID
    finally:
        if bar is not None:
            bar.close()
    # A person at a terminal reads the report; a script (stdout not a terminal, or --json)
    # gets one JSON summary on stdout, and the report goes to stderr unless --json.
    if args.json or not sys.stdout.isatty():
        print(json.dumps(summary.document(), separators=(",", ":")))
        if not args.json:
            print(_report(summary), file=sys.stderr)
    else:
        print(_report(summary))
    if args.cache and summary.outcome != "dry-run":
        status = fill_cache(args.config, program.mapping, summary.progress.offsets, args.timeout)
        if status != 0:
            return status
    return summary.exit_code


def _report(summary: Summary) -> str:
    p = summary.progress
    c = p.counts
    lines: list[str] = []
    if summary.outcome == "already-complete":
        lines.append(
            f"{p.file.path}: already published (run {p.run}, sha256 {p.file.sha256[:12]}); "
            "nothing published (--force publishes it again)"
        )
    elif summary.outcome == "dry-run":
        lines.append(f"{p.file.path}: dry run, nothing published")
    else:
        resumed = (
            f", resumed at record {summary.resumed_from.record}"
            if summary.resumed_from is not None
            else ""
        )
        lines.append(
            f"{p.file.path}: run {p.run} complete{resumed}: {summary.published_now} events and "
            f"{summary.rejected_now} audits published now"
        )
    rules = ", ".join(f"{rule} {n}" for rule, n in sorted(c.by_rule.items()))
    lines.append(f"  rejected by rule: {rules}" if rules else "  no record rejected")
    if p.framing_failed:
        lines.append(f"  the file cannot be framed from byte {p.next.offset} on (see the audit)")
    ok = "PASS" if c.reconciled else "FAIL"
    lines.append(f"{c.read} records read = {c.published} published + {c.rejected} rejected  {ok}")
    return "\n".join(lines)


class _Bar:
    """A progress bar on a terminal (tqdm): records/s, MB/s, ETA and rejects so far."""

    def __init__(self, path: str) -> None:
        self.bar = tqdm(
            total=os.path.getsize(path),
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="replay",
            file=sys.stderr,
        )
        self.records = 0

    def update(self, progress: Progress) -> None:
        self.bar.update(max(0, progress.next.offset - self.bar.n))
        elapsed = self.bar.format_dict.get("elapsed") or 0
        per_second = progress.counts.read / elapsed if elapsed else 0
        self.bar.set_postfix(
            records=progress.counts.read,
            rec_s=f"{per_second:,.0f}",
            rejected=progress.counts.rejected,
            refresh=False,
        )

    def write(self, message: str) -> None:
        self.bar.write(f"bridge replay: {message}", file=sys.stderr)

    def close(self) -> None:
        self.bar.close()
