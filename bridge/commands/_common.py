"""Arguments and loading shared by the subcommands that read a copybook."""

from __future__ import annotations

import argparse
import sys

from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Layout
from bridge.errors import CopybookError, CopybookNotFoundError, Diagnostic
from bridge.exitcodes import RET_COPYBOOK_INVALID, RET_NOT_FOUND, CommandFailed

# CommandFailed lives in bridge.exitcodes (the CLI catches it without importing this module);
# the subcommands keep importing it from here.
__all__ = ["CommandFailed", "add_copybook_arguments", "load_layouts", "pick_record"]


def non_negative(text: str) -> int:
    """An argparse type: a whole number, 0 or more (a count or a byte length)."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative (0 or more)")
    return value


def positive(text: str) -> int:
    """An argparse type: a whole number, 1 or more (a record length)."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not positive (1 or more)")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def add_copybook_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-I",
        dest="include_dirs",
        metavar="DIR",
        action="append",
        default=[],
        help="look for COPY members in DIR (repeatable; after the copybook's own directory)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument(
        "--free", dest="free_format", action="store_const", const=True, help="free-format source"
    )
    fmt.add_argument(
        "--fixed",
        dest="free_format",
        action="store_const",
        const=False,
        help="fixed (reference) format: columns 8-72 (default: detected)",
    )
    p.add_argument(
        "--decimal-point-is-comma",
        action="store_true",
        help="as SPECIAL-NAMES DECIMAL-POINT IS COMMA: swap . and , in PICTUREs and literals",
    )
    p.add_argument(
        "--dialect",
        choices=("ibm", "gnucobol", "microfocus"),
        default="ibm",
        help="the compiler the copybook was written for: ibm (default, Enterprise COBOL), "
        "gnucobol or microfocus (38 digits, their binary sizes, COMP-0; docs/decoding.md)",
    )
    p.set_defaults(free_format=None)


def load_layouts(args: argparse.Namespace, command: str) -> tuple[Layout, ...]:
    """Compile ``args.copybook``; on failure print why and raise CommandFailed."""
    warnings: list[Diagnostic] = []
    try:
        return compile_copybook(
            args.copybook,
            include_dirs=args.include_dirs,
            free_format=args.free_format,
            decimal_point_is_comma=args.decimal_point_is_comma,
            warnings=warnings,
            dialect=args.dialect,
        )
    except CopybookNotFoundError as exc:
        print(f"bridge {command}: {exc}", file=sys.stderr)
        raise CommandFailed(RET_NOT_FOUND) from exc
    except CopybookError as exc:
        for d in exc.diagnostics:
            print(d, file=sys.stderr)
        n = len(exc.diagnostics)
        print(
            f"bridge {command}: {n} error{'s' if n != 1 else ''} in {args.copybook}",
            file=sys.stderr,
        )
        raise CommandFailed(RET_COPYBOOK_INVALID) from exc
    finally:
        for w in warnings:
            print(w, file=sys.stderr)


def pick_record(layouts: tuple[Layout, ...], name: str | None, command: str) -> Layout:
    """The level-01 record ``name``, or the only/first one when no name is given."""
    if name is None:
        if len(layouts) > 1:
            names = ", ".join(lay.name for lay in layouts)
            print(
                f"bridge {command}: the copybook has records {names}; using {layouts[0].name} "
                "(choose with --record, or --discriminator/--when for a multi-layout file)",
                file=sys.stderr,
            )
        return layouts[0]
    wanted = name.upper()
    for lay in layouts:
        if lay.name == wanted:
            return lay
    names = ", ".join(lay.name for lay in layouts)
    print(f"bridge {command}: no record {wanted} (records: {names})", file=sys.stderr)
    raise CommandFailed(RET_NOT_FOUND)
