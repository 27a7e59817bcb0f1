"""The copybook compiler's public API: source -> tokens -> entries -> Layouts.

Every stage reports what it finds as Diagnostics; the compile fails with one CopybookError
holding all of its errors, so a person fixes a copybook in one pass rather than one error per run.
Warnings (what bridge accepted the way other compilers do) go to the caller's ``warnings`` list,
or to the ``bridge.copybook`` logger when it passes none: never silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from os import PathLike
from pathlib import Path

from bridge.copybook.builder import build_layouts, record_name_from_stem
from bridge.copybook.dialect import DIALECTS, Dialect
from bridge.copybook.layout import Layout
from bridge.copybook.parser import parse
from bridge.copybook.source import Expander, SourceText
from bridge.copybook.tokens import tokenize
from bridge.errors import CopybookError, CopybookNotFoundError, Diagnostic
from bridge.inputs import input_problem

__all__ = ["compile_copybook", "compile_text"]

_log = logging.getLogger("bridge.copybook")

StrPath = str | PathLike[str]


def compile_copybook(
    path: StrPath,
    *,
    include_dirs: Sequence[StrPath] = (),
    free_format: bool | None = None,
    decimal_point_is_comma: bool = False,
    warnings: list[Diagnostic] | None = None,
    dialect: str = "ibm",
) -> tuple[Layout, ...]:
    """One Layout per level-01 (or 77) record of the copybook at ``path``.

    A copybook that starts below level 01 (``05 ...``) gets one record named after the file stem.
    ``free_format=None`` detects the format; COPY members are looked up next to the including
    file, then in ``include_dirs``. Raises CopybookNotFoundError for a missing file or member and
    CopybookError (with every Diagnostic) for an invalid copybook. ``dialect`` is one of
    copybook.dialect.DIALECTS (IBM Enterprise COBOL by default).
    """
    p = Path(path)
    problem = input_problem(p)
    if problem is not None:
        why = "no such copybook" if problem == "no such file" else problem
        raise CopybookNotFoundError(f"{p}: {why}")
    expander = Expander([Path(d) for d in include_dirs], free_format)
    src = expander.load_file(p)
    return _compile(
        src,
        expander.diagnostics,
        record_name_from_stem(p.stem),
        decimal_point_is_comma,
        warnings,
        DIALECTS[dialect],
        str(p),
    )


def compile_text(
    text: str,
    name: str = "COPYBOOK",
    *,
    include_dirs: Sequence[StrPath] = (),
    free_format: bool | None = None,
    decimal_point_is_comma: bool = False,
    warnings: list[Diagnostic] | None = None,
    dialect: str = "ibm",
) -> tuple[Layout, ...]:
    """Like compile_copybook for copybook text; ``name`` labels diagnostics and names the record
    synthesised for text that starts below level 01."""
    expander = Expander([Path(d) for d in include_dirs], free_format)
    src = expander.load_text(text, name, None)
    return _compile(
        src,
        expander.diagnostics,
        record_name_from_stem(name),
        decimal_point_is_comma,
        warnings,
        DIALECTS[dialect],
        name,
    )


def _compile(
    src: SourceText,
    diagnostics: list[Diagnostic],
    root_name: str,
    comma: bool,
    warnings: list[Diagnostic] | None,
    dialect: Dialect,
    file: str,
) -> tuple[Layout, ...]:
    diagnostics = list(diagnostics)
    tokens = tokenize(src, diagnostics)
    entries, parse_diags = parse(tokens, src, decimal_point_is_comma=comma)
    diagnostics += parse_diags
    layouts, build_diags = build_layouts(
        entries, src, root_name, decimal_point_is_comma=comma, dialect=dialect
    )
    diagnostics += build_diags
    found = sorted(
        (d for d in diagnostics if d.severity == "warning"), key=lambda d: (d.file, d.line)
    )
    diagnostics = [d for d in diagnostics if d.severity != "warning"]
    if warnings is not None:
        warnings.extend(found)
    else:
        for w in found:
            _log.warning("%s", w)
    if not layouts and not diagnostics:
        end = tokens[-1].pos
        empty = src.diagnostic(end, "no data description entries in the copybook")
        # A file with no code at all has no position of its own: name the file.
        diagnostics.append(empty if empty.file else replace(empty, file=file, line=1, column=1))
    if diagnostics:
        diagnostics.sort(key=lambda d: (d.file, d.line, d.column))
        raise CopybookError(diagnostics)
    return tuple(layouts)
