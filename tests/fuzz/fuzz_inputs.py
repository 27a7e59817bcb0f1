"""Atheris target: the copybook compiler and the mapping checker over arbitrary input.

The first byte chooses: even, the rest is copybook source for ``compile_text``; odd, it is a
mapping document, read, checked against tests/fixtures/hostile/ok.cpy and, when valid, turned
into its record schema. Refusals (CopybookError, MappingError, ...) are the expected answers;
any other exception is a bug, and atheris reports the input.

    .venv/bin/python tests/fuzz/fuzz_inputs.py [libFuzzer flags] [corpus dirs]

tests/unit/test_fuzz_inputs.py runs it for a fixed number of inputs from seeds made of the
hostile corpus.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from bridge.copybook.compiler import compile_copybook, compile_text
    from bridge.errors import CopybookError, CopybookNotFoundError
    from bridge.mapping.lint import check_mapping, errors
    from bridge.mapping.model import (
        MappingError,
        MappingNotFoundError,
        parse_mapping,
        read_document,
    )
    from bridge.mapping.record_schema import record_schema

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
LAYOUTS = compile_copybook(HOSTILE / "ok.cpy")
SCRATCH = Path(tempfile.mkdtemp(prefix="fuzz-inputs-")) / "mapping.json"


def one_input(data: bytes) -> None:
    if not data:
        return
    kind, payload = data[0], data[1:]
    if kind % 2 == 0:
        with contextlib.suppress(CopybookError, CopybookNotFoundError):
            compile_text(payload.decode("latin-1"), "fuzz.cpy")
        return
    SCRATCH.write_bytes(payload)
    try:
        mapping = parse_mapping(read_document(SCRATCH), base_dir=HOSTILE)
    except (MappingError, MappingNotFoundError):
        return
    if not errors(check_mapping(mapping, LAYOUTS)):
        record_schema(mapping, LAYOUTS, published=True)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
