"""``bridge audit``: the audit queue. ``verify`` checks each file's tamper-evident chain."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bridge.config import ConfigError, load_config
from bridge.exitcodes import RET_CONNECT, RET_COPYBOOK_INVALID, RET_OK, RET_UNRECONCILED
from bridge.replay.verify import verify
from bridge.sinks.kafka import KafkaFatalError, KafkaUnavailableError

VERIFY_HELP = """\
Read the audit and control topics (read_committed) and check, per file and run, that the audit
chain is complete and unaltered: every entry links to the one before it (SHA-256 over the
previous hash and the entry's bytes) from the run's genesis to the head anchored in the file
summary. The first altered, missing, inserted, reordered or truncated entry is named.

Topics: --audit-topic/--control-topic, else those of --config for --mapping (a mapping document
or its name), as bridge replay uses them.

Exit codes: 0 every chain verifies, 3 bad configuration, 6 Kafka unreachable, 7 some chain
does not verify (or the named file has none).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "audit",
        help="the audit queue: verify its chains",
        description="The audit queue of bridge replay.",
    )
    sub = p.add_subparsers(dest="audit_command", metavar="SUBCOMMAND", required=True)
    v = sub.add_parser(
        "verify",
        help="check each file's audit chain against its summary",
        description=VERIFY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("--file", metavar="SHA256", help="only this file (its SHA-256)")
    v.add_argument("--mapping", metavar="MAPPING", help="mapping document or name (topic names)")
    v.add_argument("--config", metavar="TOML", help="configuration file (default: bridge.toml)")
    v.add_argument("--audit-topic", metavar="TOPIC")
    v.add_argument("--control-topic", metavar="TOPIC")
    v.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    v.add_argument("--json", action="store_true", help="the verdicts as JSON on stdout")
    v.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    prog = "bridge audit verify"
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    name = _mapping_name(args.mapping)
    if name is None and not (args.audit_topic and args.control_topic):
        print(
            f"{prog}: name the topics (--audit-topic and --control-topic) or --mapping",
            file=sys.stderr,
        )
        return RET_COPYBOOK_INVALID
    topics = config.topics.for_mapping(name or "")
    audit_topic = args.audit_topic or topics.audit
    control_topic = args.control_topic or topics.control
    try:
        verdicts = verify(config, audit_topic, control_topic, args.file, args.timeout)
    except (KafkaUnavailableError, KafkaFatalError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_CONNECT
    if args.json:
        rows = [
            {
                "file_sha256": v.file_sha256,
                "run": v.run,
                "entries": v.entries,
                "ok": v.ok,
                "problem": v.problem,
            }
            for v in verdicts
        ]
        print(json.dumps(rows))
    else:
        for verdict in verdicts:
            print(verdict)
        bad = sum(not v.ok for v in verdicts)
        print(f"{len(verdicts)} chains ({audit_topic}, {control_topic}): {bad} failed")
    return RET_OK if all(v.ok for v in verdicts) else RET_UNRECONCILED


def _mapping_name(mapping: str | None) -> str | None:
    """The name of a mapping document, or ``mapping`` itself when it is no file."""
    if mapping is None:
        return None
    path = Path(mapping)
    if path.is_file():
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        name = doc.get("name") if isinstance(doc, dict) else None
        return name if isinstance(name, str) else None
    return mapping
