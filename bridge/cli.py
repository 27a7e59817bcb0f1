"""The ``bridge`` command line: arguments, then one call into the stage that does the work.

Start-up imports only what the chosen subcommand needs: ``bridge --version`` and ``bridge --help``
import no subcommand module at all (they list the one-line helps below), and ``bridge layout``
does not load the C core, jsonschema, Kafka or Redis clients. A new subcommand adds its module
name and the same one-line help its ``register`` gives (tests/unit/test_cli.py checks both).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from bridge import __version__
from bridge.exitcodes import (
    RET_BROKEN_PIPE,
    RET_INTERNAL,
    RET_INTERRUPTED,
    RET_IO_ERROR,
    RET_OK,
    RET_USAGE,
    CommandFailed,
)

# Set to print the traceback of an internal error (a bug) after its one-line message.
DEBUG_ENV = "BRIDGE_DEBUG"

# Subcommand modules under bridge/commands, in the order --help lists them, with their help.
COMMANDS: dict[str, str] = {
    "layout": "compile a copybook and show its record layout",
    "decode": "decode a record file to JSON Lines",
    "mapping": "write a default mapping for a copybook, or check a mapping",
    "schema": "print the record JSON Schema of a mapping",
    "replay": "publish a record file to Kafka exactly once (events, audits, summary)",
    "audit": "the audit queue: verify its chains, open sealed copies",
}


class _Parser(argparse.ArgumentParser):
    """argparse that lets a failed write of --help or --version through (it swallows it)."""

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (file or sys.stderr).write(message)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported to register its full arguments (all of
    them when ``command`` is ``"*"``), the others are listed by name and help."""
    parser = _Parser(
        prog="bridge",
        description="Decode COBOL/VSAM record files with their copybooks into validated JSON "
        "events on Kafka, with the latest state per key in Redis and an audit queue of rejects.",
    )
    parser.add_argument("--version", action="version", version=f"bridge {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (repeat for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        if command in (name, "*"):
            importlib.import_module(f"bridge.commands.{name}").register(sub)
        else:
            sub.add_parser(name, help=summary, add_help=False)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: the first word that is not an option (the top-level
    options take no values)."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(chosen_command(argv))
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return RET_USAGE
    except SystemExit:  # --help, --version or a usage error: their text must get out too
        if _flush_stdout("bridge") != RET_OK:
            raise SystemExit(RET_IO_ERROR) from None
        raise
    except OSError as exc:
        print(f"bridge: I/O error: {exc.strerror or exc}", file=sys.stderr)
        _silence_stdout()
        raise SystemExit(RET_IO_ERROR) from None
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        status: int = args.func(args)
    except CommandFailed as exc:
        return exc.status
    except KeyboardInterrupt:
        return RET_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): not an error of ours.
        _silence_stdout()
        return RET_BROKEN_PIPE
    except OSError as exc:
        # An output failed (stdout on a full device, an I/O error): say which, no traceback.
        where = f"{exc.filename}: " if exc.filename else "I/O error: "
        print(f"bridge {args.command}: {where}{exc.strerror or exc}", file=sys.stderr)
        _silence_stdout()
        return RET_IO_ERROR
    except Exception as exc:  # a bug of ours: one line, and a code no other outcome uses
        print(
            f"bridge {args.command}: internal error: {type(exc).__name__}: {exc} "
            f"(set {DEBUG_ENV}=1 for the traceback)",
            file=sys.stderr,
        )
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        return RET_INTERNAL
    return _flush_stdout(f"bridge {args.command}") or status


def _flush_stdout(prog: str) -> int:
    """Flush stdout now, where a failure (a full device) can still be reported."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return RET_BROKEN_PIPE
    except OSError as exc:
        print(f"{prog}: I/O error: {exc.strerror or exc}", file=sys.stderr)
        _silence_stdout()
        return RET_IO_ERROR
    return RET_OK


def _silence_stdout() -> None:
    """Point stdout at devnull so the interpreter's final flush does not raise again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
