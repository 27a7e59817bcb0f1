"""``bridge audit``: the audit queue. ``verify`` checks each file's tamper-evident chain (the
replay's audit topic); ``open`` restores a sealed audit document, ``keygen`` makes its key pair."""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

from bridge.config import ConfigError, load_config
from bridge.engine.verify import verify
from bridge.exitcodes import (
    RET_CONNECT,
    RET_COPYBOOK_INVALID,
    RET_FATAL_DATA,
    RET_NOT_FOUND,
    RET_OK,
    RET_UNRECONCILED,
    RET_USAGE,
)
from bridge.mapping.audit import audit_json
from bridge.mapping.sealing import SealError, key_from_text, key_id_of, new_key_pair, open_sealed
from bridge.sinks.kafka import KafkaFatalError, KafkaUnavailableError

PRIVATE_KEY_ENV = "BRIDGE_AUDIT_PRIVATE_KEY"

HELP = """\
The audit queue: the audit documents of rejected records, which bridge replay publishes as one
tamper-evident chain per file and run (docs/audit-chain.md), and which bridge decode --errors
writes.

  verify check each file's audit chain on the audit topic against its summary
  open   print one audit document with its sealed original restored: record.raw_base64 and
         the reasons as they were before redaction (this output holds PII in clear)
  keygen make an X25519 key pair: the private key to a file only its owner can read, the
         public key (for the mapping's audit.seal_key) on stdout

Audit documents of a mapping with protected fields (PII, masked, hashed) carry the record with
those fields' bytes redacted (docs/audit.md). With the mapping's audit.seal_key they also carry
the original sealed to the operator's public key.
"""

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

OPEN_HELP = """\
Open the sealed copy of ONE audit document (a file, or - for stdin, holding one JSON document)
with the operator's private key (--private-key-file FILE, or the environment variable
BRIDGE_AUDIT_PRIVATE_KEY; base64) and print the document as it was before redaction: the
original record bytes and reasons, without redaction and sealed. The output holds PII in clear:
keep it where the original data may be kept. --raw FILE also writes the record's bytes.

Exit codes: 0 opened, 2 usage (no key, not one document), 4 file not found, 5 the document has
no sealed copy, or it does not open with this key, or it was sealed for another record.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "audit",
        help="the audit queue: verify its chains, open sealed copies",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    o = sub.add_parser(
        "open",
        help="restore an audit document's sealed original (needs the private key)",
        description=OPEN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    o.add_argument("document", metavar="FILE", help="one audit document; - reads stdin")
    o.add_argument("--private-key-file", metavar="FILE", help=f"default: ${PRIVATE_KEY_ENV}")
    o.add_argument("--raw", metavar="FILE", help="also write the original record bytes here")
    o.set_defaults(func=run_open)
    k = sub.add_parser(
        "keygen",
        help="make the operator's key pair for sealed audit copies",
        description="Write a new X25519 private key (base64) to FILE, readable by its owner "
        "only, and print the public key (base64) and its key id for the mapping's "
        "audit.seal_key. Refuses to overwrite FILE.",
    )
    k.add_argument("private_key_file", metavar="FILE")
    k.set_defaults(func=run_keygen)


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


def _fail(message: str, status: int) -> int:
    print(f"bridge audit: {message}", file=sys.stderr)
    return status


def run_open(args: argparse.Namespace) -> int:
    try:
        key = _private_key(args.private_key_file)
    except FileNotFoundError as exc:
        return _fail(f"{exc.filename}: no such file", RET_NOT_FOUND)
    except ValueError as exc:
        return _fail(str(exc), RET_USAGE)
    if args.document == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(args.document).read_text(encoding="utf-8")
        except FileNotFoundError:
            return _fail(f"{args.document}: no such file", RET_NOT_FOUND)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = sum(1 for line in text.splitlines() if line.strip())
        if lines > 1:
            return _fail(
                f"{args.document}: expected one audit document, found {lines} lines "
                "(pick one, e.g. sed -n 3p)",
                RET_USAGE,
            )
        return _fail(
            f"{args.document}: line {exc.lineno}, column {exc.colno}: not JSON: {exc.msg}",
            RET_USAGE,
        )
    if not isinstance(document, dict) or "record" not in document:
        return _fail(f"{args.document}: not an audit document", RET_USAGE)
    sealed = document.get("sealed")
    if not isinstance(sealed, dict):
        return _fail(
            f"{args.document}: record {document['record'].get('number')} has no sealed copy "
            "(the mapping named no audit.seal_key)",
            RET_FATAL_DATA,
        )
    try:
        payload = open_sealed(sealed, key)
    except SealError as exc:
        return _fail(f"{args.document}: {exc}", RET_FATAL_DATA)
    record = document["record"]
    mine = (document["source"]["sha256"], record["number"], record["offset"])
    if (payload.get("source_sha256"), payload.get("record_number"), payload.get("offset")) != mine:
        return _fail(f"{args.document}: the sealed copy belongs to another record", RET_FATAL_DATA)
    record["raw_base64"] = payload["raw_base64"]
    document["reasons"] = payload["reasons"]
    document.pop("redaction", None)
    document.pop("sealed", None)
    if args.raw:
        Path(args.raw).write_bytes(base64.b64decode(payload["raw_base64"]))
    print(audit_json(document))
    return RET_OK


def _private_key(path: str | None) -> bytes:
    if path is not None:
        return key_from_text(Path(path).read_text(encoding="ascii"), f"private key in {path}")
    text = os.environ.get(PRIVATE_KEY_ENV, "")
    if not text:
        raise ValueError(f"no private key: give --private-key-file or set {PRIVATE_KEY_ENV}")
    return key_from_text(text, f"private key in ${PRIVATE_KEY_ENV}")


def run_keygen(args: argparse.Namespace) -> int:
    private, public = new_key_pair()
    try:
        fd = os.open(args.private_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _fail(f"{args.private_key_file} exists: not overwritten", RET_USAGE)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(base64.b64encode(private).decode("ascii") + "\n")
    print(f"public key: {base64.b64encode(public).decode('ascii')}")
    print(f"key id:     {key_id_of(public)}")
    return RET_OK
