"""The ``bridge`` command line: arguments, then one call into the stage that does the work."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from bridge import __version__
from bridge.commands._common import CommandFailed
from bridge.exitcodes import RET_BROKEN_PIPE, RET_INTERRUPTED, RET_USAGE

# Subcommand modules under bridge/commands, in the order --help lists them.
COMMANDS: tuple[str, ...] = ("layout", "decode", "mapping", "schema", "audit")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridge",
        description="Decode COBOL/VSAM record files with their copybooks into validated JSON "
        "events on Kafka, with the latest state per key in Redis and an audit queue of rejects.",
    )
    parser.add_argument("--version", action="version", version=f"bridge {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (repeat for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"bridge.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help(sys.stderr)
        return RET_USAGE
    try:
        status: int = args.func(args)
    except CommandFailed as exc:
        return exc.status
    except KeyboardInterrupt:
        return RET_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): not an error of ours. Point stdout at devnull so
        # the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return RET_BROKEN_PIPE
    return status


if __name__ == "__main__":
    sys.exit(main())
