"""``bridge schema``: print the record JSON Schema (2020-12) every event of a mapping satisfies."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bridge.errors import CopybookError, CopybookNotFoundError
from bridge.exitcodes import RET_COPYBOOK_INVALID, RET_NOT_FOUND, RET_OK
from bridge.mapping.lint import errors, load_checked
from bridge.mapping.model import MappingError, MappingNotFoundError
from bridge.mapping.record_schema import record_schema

HELP = """\
Check MAPPING (as `bridge mapping check` does) and print the JSON Schema (draft 2020-12) of
its events. $id is urn:bridge:schema:<mapping name>:<version>:<layout fingerprint>. Decimals
are exact strings with the target scale (the schema's description says why).

--clear prints the schema checked before PII policies apply (every constraint on clear values).

Exit codes: 0 ok, 3 the mapping (or its copybook) is invalid, 4 a file was not found.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "schema",
        help="print the record JSON Schema of a mapping",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("mapping", metavar="MAPPING")
    p.add_argument("--clear", action="store_true", help="the schema before PII policies")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    prog = "bridge schema"
    try:
        mapping, layouts, problems = load_checked(args.mapping)
    except (MappingNotFoundError, CopybookNotFoundError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return RET_NOT_FOUND
    except MappingError as exc:
        print(exc, file=sys.stderr)
        return RET_COPYBOOK_INVALID
    except CopybookError as exc:
        print(exc, file=sys.stderr)
        return RET_COPYBOOK_INVALID
    bad = errors(problems)
    if bad:
        for problem in bad:
            print(problem, file=sys.stderr)
        print(f"{prog}: {args.mapping} is invalid (bridge mapping check)", file=sys.stderr)
        return RET_COPYBOOK_INVALID
    schema = record_schema(mapping, layouts, published=not args.clear)
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return RET_OK
