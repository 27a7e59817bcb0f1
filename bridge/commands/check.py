"""``bridge check [--config FILE]``: is the daemon of this configuration ready? (0 yes, 1 no)"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from typing import Any

from bridge.config import DEFAULT_CONFIG_FILE, ConfigError
from bridge.daemon.settings import http_settings
from bridge.exitcodes import RET_COPYBOOK_INVALID, RET_OK

NOT_READY = 1  # the daemon answered not ready, or nothing answered


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check",
        help="exit 0 when the daemon of a configuration is ready, 1 when not",
        description="Ask the running daemon's /readyz ([http] listen of the configuration): "
        "exit 0 when it is ready (Kafka and Redis reachable, configuration loaded, not "
        "draining), 1 when not or when nothing answers, 3 when the configuration is bad.",
    )
    p.add_argument(
        "--config",
        default=DEFAULT_CONFIG_FILE,
        metavar="TOML",
        help=f"configuration file (default: {DEFAULT_CONFIG_FILE})",
    )
    p.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    prog = "bridge check"
    try:
        http = http_settings(args.config)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    host = f"[{http.host}]" if ":" in http.host else http.host
    url = f"http://{host}:{http.port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            print(f"{prog}: {url}: {response.read().decode().strip()}")
            return RET_OK
    except urllib.error.HTTPError as exc:
        print(f"{prog}: {url}: {exc.read().decode().strip()}", file=sys.stderr)
    except OSError as exc:
        print(f"{prog}: {url}: no answer ({exc})", file=sys.stderr)
    return NOT_READY
