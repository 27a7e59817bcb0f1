"""``bridge cache``: keep Redis at the latest state of every record key (long-running)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType
from typing import Any

from bridge.exitcodes import RET_CONNECT, RET_COPYBOOK_INVALID, RET_NOT_FOUND, RET_OK, RET_USAGE
from bridge.mapping.model import MappingDoc, MappingError, MappingNotFoundError, load_mapping
from bridge.sinks.cache_config import ConfigError, load_cache_config
from bridge.sinks.materializer import CacheRules, Materializer, catch_up, rules_for
from bridge.sinks.redis import CacheStore, connect

HELP = """\
Read the events topics (read_committed, consumer group GROUP) and keep, in Redis, the latest
state of every record key: a hash under the event's bridge_redis_key holding the event JSON,
its version and provenance. A state never goes back: the version is the event's (partition,
offset), or the business version the mapping names (cache.version); a duplicate or an older
version changes nothing. The offsets reached are written with the states, in Redis, and a
restart resumes from them; a Redis that comes back empty is rebuilt from the topic start (the
events topic must keep every record's latest event: compaction by key, or retention longer
than a rebuild needs). Several `bridge cache` with the same group share the partitions.

Logs the lag (records and seconds behind the topics' committed end) every few seconds with -v.
SIGTERM or Ctrl-C stops after the current batch; the last line on stdout is a JSON summary.

Exit codes: 0 stopped cleanly, 2 nothing to read (no topics), 3 bad configuration or mapping,
4 a file was not found.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cache",
        help="materialize the events topics into Redis (latest state per key)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config", metavar="FILE", help="TOML configuration ([kafka], [redis], [cache])"
    )
    p.add_argument("--topic", action="append", default=[], help="an events topic (repeatable)")
    p.add_argument(
        "--mapping",
        action="append",
        default=[],
        help="a mapping: its cache rules, and its events topic is read (repeatable)",
    )
    p.add_argument("--group", help="consumer group (default: the configuration's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    prog = "bridge cache"
    try:
        config = load_cache_config(args.config)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    topics = [*config.topics, *args.topic]
    rules: dict[str, CacheRules] = {}
    for path in [*config.mappings, *args.mapping]:
        try:
            mapping = load_mapping(path)
            rules[mapping.name] = rules_for(mapping)
        except MappingNotFoundError as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return RET_NOT_FOUND
        except (MappingError, ValueError) as exc:
            print(f"{prog}: {path}: {exc}", file=sys.stderr)
            return RET_COPYBOOK_INVALID
        events = config.config.topics.for_mapping(mapping.name).events
        if events not in topics:
            topics.append(events)
    if not topics:
        print(f"{prog}: no events topic (cache.mappings, cache.topics or --topic)", file=sys.stderr)
        return RET_USAGE
    store = CacheStore(connect(config.redis_url, timeout=config.redis_timeout), config.namespace)
    materializer = Materializer(
        config.kafka,
        topics,
        store,
        group=args.group or config.group,
        rules=rules,
        batch=config.batch,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second signal: stop now
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stats = materializer.run(stop)
    print(json.dumps(stats.to_json()), flush=True)
    return RET_OK


def fill_cache(
    config_path: str | None,
    mapping: MappingDoc,
    offsets: dict[str, Any],
    timeout: float | None,
) -> int:
    """``bridge replay --cache``: materialize the mapping's events topic (in the cache's group,
    beside any running ``bridge cache``) until Redis holds the replayed file's last offsets.
    ``offsets`` is the replay's {topic: {partition: [first, last]}}."""
    prog = "bridge replay --cache"
    try:
        config = load_cache_config(config_path)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    topic = config.config.topics.for_mapping(mapping.name).events
    targets = {(topic, int(p)): int(span[1]) + 1 for p, span in offsets.get(topic, {}).items()}
    if not targets:
        return RET_OK
    store = CacheStore(connect(config.redis_url, timeout=config.redis_timeout), config.namespace)
    materializer = Materializer(
        config.kafka,
        [topic],
        store,
        group=config.group,
        rules={mapping.name: rules_for(mapping)},
        batch=config.batch,
    )
    if not catch_up(materializer, targets, timeout=timeout):
        print(
            f"{prog}: Redis does not hold the file's last events after {timeout} s", file=sys.stderr
        )
        return RET_CONNECT
    stats = materializer.stats
    print(
        f"{prog}: Redis holds the file's events up to {topic} "
        + ", ".join(f"{p}@{n}" for (_, p), n in sorted(targets.items()))
        + f" ({stats.applied} keys written, {stats.stale} events changed nothing)",
        file=sys.stderr,
    )
    return RET_OK
