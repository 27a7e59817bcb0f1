"""``bridge mapping``: write a default mapping for a copybook, or check a mapping against one."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bridge.commands._output import OutputFile, refuse_inputs
from bridge.copybook.compiler import compile_copybook
from bridge.copybook.layout import Layout
from bridge.decode.multi import MultiLayoutError, resolve_field
from bridge.errors import CopybookError, CopybookNotFoundError, Diagnostic
from bridge.exitcodes import RET_COPYBOOK_INVALID, RET_NOT_FOUND, RET_OK, RET_USAGE
from bridge.mapping.lint import errors, load_checked
from bridge.mapping.model import MappingError, MappingNotFoundError, Problem
from bridge.mapping.scaffold import CASE_STYLES, default_mapping, default_multi_mapping

HELP = """\
init COPYBOOK prints a complete default mapping (JSON) for the copybook's record: every
non-FILLER elementary field with a readable target name, its type from the PIC (scale > 0:
decimal, other numerics: integer, text: string with maxLength, 88-levels: enum), REDEFINES
alternatives dropped with the reason. Review it: dates are not guessed, and fields whose names
suggest personal data are classified pii and masked until someone decides.

check MAPPING validates a mapping against the meta-schema (schemas/osfi-mapping.schema.json)
and against its copybook: every field exists and is mapped or dropped, target types fit the
PICs, the layout fingerprint matches. Problems name the JSON pointer in the mapping and the
layout path.

Exit codes: 0 ok, 3 the mapping (or its copybook) is invalid, 4 a file was not found.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "mapping",
        help="write a default mapping for a copybook, or check a mapping",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="mapping_command", metavar="ACTION")
    init = sub.add_parser("init", help="print a default mapping for COPYBOOK")
    init.add_argument("copybook", metavar="COPYBOOK")
    init.add_argument(
        "-I",
        dest="include_dirs",
        metavar="DIR",
        action="append",
        default=[],
        help="look for COPY members in DIR (repeatable)",
    )
    init.add_argument(
        "--dialect",
        choices=("ibm", "gnucobol", "microfocus"),
        default="ibm",
        help="the compiler the copybook was written for (default ibm; see bridge layout --help)",
    )
    init.add_argument("--case", choices=CASE_STYLES, default="camel", help="target name style")
    init.add_argument("--name", help="mapping name (default: the copybook's file name)")
    init.add_argument(
        "--record", metavar="NAME", help="the level-01 record, when there are several"
    )
    init.add_argument("--code-page", default="cp037", help="EBCDIC code page (default cp037)")
    init.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the mapping to FILE (replaced when complete; never the copybook), its "
        "paths relative to FILE's directory, as check reads them",
    )
    init.add_argument(
        "--relative-to",
        metavar="DIR",
        help="write the copybook path relative to DIR, where the mapping file will live "
        "(default: -o FILE's directory, else the current directory)",
    )
    init.add_argument(
        "--discriminator",
        metavar="FIELD",
        help="multi-layout files: the record-type field every record has at one place",
    )
    init.add_argument(
        "--when",
        action="append",
        default=[],
        metavar="VALUE=RECORD",
        help="with --discriminator: records whose field holds VALUE are the level-01 RECORD "
        "(repeatable; one case per record)",
    )
    init.set_defaults(func=run_init)
    check = sub.add_parser("check", help="check MAPPING against the meta-schema and its copybook")
    check.add_argument("mapping", metavar="MAPPING")
    check.add_argument("--json", action="store_true", help="print the problems as JSON")
    check.set_defaults(func=run_check)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return RET_USAGE


def run_init(args: argparse.Namespace) -> int:
    try:
        warnings: list[Diagnostic] = []
        layouts = compile_copybook(
            args.copybook, include_dirs=args.include_dirs, dialect=args.dialect, warnings=warnings
        )
        for w in warnings:
            print(w, file=sys.stderr)
    except CopybookNotFoundError as exc:
        print(f"bridge mapping init: {exc}", file=sys.stderr)
        return RET_NOT_FOUND
    except CopybookError as exc:
        print(exc, file=sys.stderr)
        return RET_COPYBOOK_INVALID
    name = args.name or re.sub(r"[^a-z0-9._-]+", "-", Path(args.copybook).stem.lower())
    base = args.relative_to or (os.path.dirname(args.output) or "." if args.output else ".")
    out: OutputFile | None = None
    if args.output:
        refuse_inputs("mapping init", args.output, "-o", [args.copybook])
        out = OutputFile("mapping init", args.output)
        out.check()
    elif args.relative_to is None:
        _warn_if_stdout_elsewhere()
    common: dict[str, Any] = {
        "name": name,
        "case": args.case,
        "include_dirs": [os.path.relpath(d, base) for d in args.include_dirs],
        "code_page": args.code_page,
    }
    try:
        if args.discriminator or args.when:
            doc = _multi(args, layouts, os.path.relpath(args.copybook, base), common)
        else:
            doc = default_mapping(
                layouts,
                os.path.relpath(args.copybook, base),
                record=args.record.upper() if args.record else None,
                **common,
            )
    except KeyError as exc:
        print(f"bridge mapping init: no record {exc.args[0]} in {args.copybook}", file=sys.stderr)
        return RET_NOT_FOUND
    except ValueError as exc:
        print(f"bridge mapping init: {exc}", file=sys.stderr)
        return RET_USAGE
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if out is None:
        print(text)
    else:
        out.write(text + "\n")
        out.commit()
    return RET_OK


def _warn_if_stdout_elsewhere() -> None:
    """Paths in the mapping are relative to the current directory, where check will not look
    when stdout is a file in another one."""
    try:
        target = Path(os.readlink(f"/proc/self/fd/{sys.stdout.fileno()}"))
    except (OSError, ValueError, AttributeError):
        return
    if target.is_file() and target.parent.resolve() != Path.cwd().resolve():
        print(
            f"bridge mapping init: warning: stdout is {target}, but the copybook path is "
            "written relative to the current directory: use -o FILE (or --relative-to DIR)",
            file=sys.stderr,
        )


def _multi(
    args: argparse.Namespace, layouts: Sequence[Layout], copybook: str, common: dict[str, Any]
) -> dict[str, Any]:
    """--discriminator FIELD --when VALUE=RECORD ...: a mapping with one case per record."""
    if not (args.discriminator and args.when):
        raise ValueError("--discriminator and --when go together")
    if args.record:
        raise ValueError("--record names one record; a discriminator chooses among several")
    when = []
    for item in args.when:
        value, sep, record = item.partition("=")
        if not sep or "." in record:
            raise ValueError(f"--when {item}: expected VALUE=RECORD (a level-01 record name)")
        when.append((value, record))
    try:
        field = resolve_field(tuple(layouts), args.discriminator)
    except MultiLayoutError as exc:
        raise ValueError(str(exc)) from exc
    return default_multi_mapping(layouts, copybook, discriminator=field, when=when, **common)


def report(problems: list[Problem] | tuple[Problem, ...], as_json: bool, prog: str) -> None:
    if as_json:
        print(json.dumps([p.to_json() for p in problems], indent=2))
    else:
        for problem in problems:
            print(problem, file=sys.stderr)


def run_check(args: argparse.Namespace) -> int:
    prog = "bridge mapping check"
    try:
        mapping, _, problems = load_checked(args.mapping)
    except (MappingNotFoundError, CopybookNotFoundError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_NOT_FOUND
    except MappingError as exc:
        report(exc.problems, args.json, prog)
        print(f"{prog}: {args.mapping} is invalid", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    except CopybookError as exc:
        print(exc, file=sys.stderr)
        return RET_COPYBOOK_INVALID
    report(problems, args.json, prog)
    bad = errors(problems)
    if bad:
        n = len(bad)
        print(f"{prog}: {n} error{'s' if n != 1 else ''} in {args.mapping}", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    if not args.json:
        print(
            f"{args.mapping}: ok ({mapping.name} {mapping.version}: {len(mapping.fields)} fields "
            f"mapped, {len(mapping.drops)} dropped)"
        )
    return RET_OK
