"""``bridge consume TOPIC``: the feed as a downstream team sees it, each message checked."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from confluent_kafka import KafkaException

from bridge.exitcodes import RET_CONNECT, RET_COPYBOOK_INVALID, RET_INVALID_RECORDS, RET_OK
from bridge.sinks.cache_config import ConfigError, load_cache_config
from bridge.sinks.feed import read_feed

HELP = """\
Print the committed messages of TOPIC (read_committed: nothing of an aborted transaction), one
JSON line each: topic, partition, offset, key, headers, value. Each event is validated against
the schema its ce_dataschema header names, resolved from the schemas topic (--schemas-topic);
with --audit, TOPIC is an audit topic and each message is validated against the audit record
schema. A message that does not validate carries "problems" and is reported on stderr.

Reads from the start of TOPIC (--from-beginning, the default without --group) or from where
consumer group --group left off (committing as it goes). --max N stops after N messages,
--timeout S after S seconds without a message.

Exit codes: 0 every message valid, 1 some message did not validate, 3 bad configuration,
6 Kafka unreachable or TOPIC missing.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "consume",
        help="print a topic's committed messages, validated against their schemas",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("topic", metavar="TOPIC")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="TOML configuration ([kafka], [topics]; default bridge.toml)",
    )
    p.add_argument("--group", help="consumer group to read (and commit) with")
    p.add_argument("--from-beginning", action="store_true", help="read TOPIC from its start")
    p.add_argument(
        "--schemas-topic",
        metavar="TOPIC",
        help="compacted topic of record schemas by $id (default: the configuration's, "
        "bridge.schemas)",
    )
    p.add_argument("--audit", action="store_true", help="TOPIC holds audit records")
    p.add_argument("--max", type=int, metavar="N", help="stop after N messages")
    p.add_argument("--timeout", type=float, metavar="S", help="stop after S idle seconds")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    prog = "bridge consume"
    try:
        config = load_cache_config(args.config)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    invalid = total = 0
    try:
        for message in read_feed(
            config.kafka,
            args.topic,
            group=args.group,
            from_beginning=args.from_beginning,
            schemas_topic=args.schemas_topic or config.config.topics.names["schemas"],
            audit=args.audit,
            max_messages=args.max,
            timeout=args.timeout,
        ):
            total += 1
            print(json.dumps(message.to_json(), ensure_ascii=False), flush=True)
            if message.problems:
                invalid += 1
                where = f"{message.topic}/{message.partition}@{message.offset}"
                for problem in message.problems:
                    print(f"{prog}: {where}: {problem}", file=sys.stderr)
    except KafkaException as exc:
        print(f"{prog}: {args.topic}: {exc.args[0]}", file=sys.stderr)
        return RET_CONNECT
    print(f"{prog}: {total} messages, {invalid} not valid", file=sys.stderr)
    return RET_INVALID_RECORDS if invalid else RET_OK
