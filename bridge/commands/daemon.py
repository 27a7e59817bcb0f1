"""``bridge daemon --config FILE``: the long-running service of bridge/daemon/."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from bridge.config import DEFAULT_CONFIG_FILE, ConfigError
from bridge.daemon.logs import json_logging
from bridge.daemon.service import Daemon
from bridge.daemon.settings import load_settings
from bridge.exitcodes import RET_CONNECT, RET_COPYBOOK_INVALID

HELP = """\
Watch the [[inbox]] folders of the configuration and publish every complete file (its trigger
file NAME.done is there, or without a trigger its size stays the same) exactly once through
the replay engine, then materialize it into Redis ([daemon] cache = false leaves that to a
separate `bridge cache`). A finished file moves to processed/ with NAME.receipt.json beside
it; a file that cannot be read or framed moves to failed/ with NAME.reason.txt. Several
daemons may share an inbox (each with its own [daemon] name).

HTTP ([http] listen, default 127.0.0.1:9464): /healthz, /readyz, /metrics. Signals: SIGTERM
or SIGINT drains (a second one exits at once), SIGHUP reloads the configuration. Logs are
JSON lines on stderr.

Exit codes: 0 stopped cleanly, 3 bad configuration or mapping, 6 the HTTP address cannot be
bound, 130 stopped at once by a second signal.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "daemon",
        help="the long-running service: publish the files dropped into inboxes",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        default=DEFAULT_CONFIG_FILE,
        metavar="TOML",
        help=f"configuration file (default: {DEFAULT_CONFIG_FILE})",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    prog = "bridge daemon"
    json_logging(logging.DEBUG if args.verbose >= 2 else logging.INFO)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    try:
        daemon = Daemon(settings, args.config)
    except OSError as exc:
        print(
            f"{prog}: cannot listen on {settings.http.host}:{settings.http.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return RET_CONNECT
    return daemon.run()
