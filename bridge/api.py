"""The public API's implementation: what ``bridge`` exports, over the private internals.

Each function here is what a subcommand does, without argparse or exit codes: ``load_copybook``
is ``bridge layout``, ``decode`` is ``bridge decode``, ``load_mapping(...).judge`` is
``bridge decode --mapping``. Import it through ``bridge`` (``bridge.decode(...)``), never from
here: this module's name is private like the rest.
"""

from __future__ import annotations

import os
from collections import abc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.config import Config, load_config
from bridge.copybook.compiler import compile_copybook
from bridge.copybook.dialect import DIALECTS
from bridge.copybook.layout import Layout
from bridge.decode.framing import FRAMINGS
from bridge.decode.native import Batch, NativeDecoder
from bridge.decode.verdict import DecodeOptions, FieldError
from bridge.engine.engine import Summary
from bridge.engine.engine import replay as run_replay
from bridge.errors import InputNotFoundError, RecordNotFoundError
from bridge.mapping.program import Program, load_program
from bridge.mapping.record_schema import record_schema
from bridge.stage.records import Event, Rejected, judge_file

__all__ = [
    "Event",
    "Mapping",
    "Record",
    "Rejected",
    "decode",
    "decode_bytes",
    "load_copybook",
    "load_mapping",
    "replay",
]

StrPath = str | os.PathLike[str]
Value = dict[str, Any]


@dataclass(frozen=True)
class Record:
    """One record of a file: record ``number`` (from 0), ``length`` bytes at byte ``offset``.

    A valid record has its decoded ``value`` (the JSON document of docs/decoding.md as Python
    values: ``Decimal`` for scaled numbers, ``float`` for COMP-1/COMP-2, ``int``, ``str``,
    ``None``, lists for OCCURS tables) and no ``errors``; a rejected one has ``value`` None and
    every field that did not decode in ``errors`` (path, file offset, raw bytes, reason).
    """

    number: int
    offset: int
    length: int
    value: Value | None
    errors: tuple[FieldError, ...] = ()

    @property
    def valid(self) -> bool:
        """True when every field decoded."""
        return not self.errors


def load_copybook(
    path: StrPath,
    *,
    include: tuple[StrPath, ...] | list[StrPath] = (),
    record: str | None = None,
    free_format: bool | None = None,
    decimal_point_is_comma: bool = False,
    dialect: str = "ibm",
) -> Layout:
    """Compile the copybook at ``path`` into the layout of one record (as ``bridge layout``).

    ``include``: directories searched for COPY members after the copybook's own. ``record``:
    the level-01 record to return (required when the copybook has several). ``free_format``:
    None detects the source format. ``dialect``: the compiler whose rules apply (ibm, the
    default, IBM Enterprise COBOL; or one of the others ``bridge layout --dialect`` lists).
    Raises CopybookNotFoundError, CopybookError (with every diagnostic, file:line:column) or
    RecordNotFoundError; ValueError for an unknown dialect.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, not {dialect!r}")
    layouts = compile_copybook(
        path,
        include_dirs=include,
        free_format=free_format,
        decimal_point_is_comma=decimal_point_is_comma,
        dialect=dialect,
    )
    names = ", ".join(lay.name for lay in layouts)
    if record is None:
        if len(layouts) > 1:
            raise RecordNotFoundError(f"{path}: records {names}; choose one with record=")
        return layouts[0]
    wanted = record.upper()
    for lay in layouts:
        if lay.name == wanted:
            return lay
    raise RecordNotFoundError(f"{path}: no record {wanted} (records: {names})")


def decode(
    layout: Layout | StrPath,
    file: StrPath,
    *,
    framing: str = "fixed",
    codepage: str = "cp037",
    record_length: int | None = None,
    rdw_includes_header: bool = True,
    skip_header: int = 0,
    skip_trailer: int = 0,
    record_prefix: int = 0,
    trim: str = "right",
    decimals_as_strings: bool = False,
    float_format: str = "hfp",
    trunc: str = "std",
    redefines: abc.Mapping[str, str] | None = None,
) -> Iterator[Record]:
    """Every record of ``file``, in file order, decoded with ``layout`` (a Layout, or the path
    of a one-record copybook), as ``bridge decode`` does.

    ``framing`` is one of fixed, rdw, rdw-le, vb, vbs, odo, lines (``record_length`` defaults to
    the layout's); the value options are those of docs/decoding.md. Raises InputNotFoundError
    before the first record when ``file`` is missing, DecodeOptionsError or
    UnknownCodepageError for options that cannot apply (ValueError for an unknown framing),
    and FramingError (with its byte ``offset``) after the last record that framed when the rest
    of the file does not.
    """
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}, not {framing!r}")
    lay = layout if isinstance(layout, Layout) else load_copybook(layout)
    options = _options(codepage, trim, decimals_as_strings, float_format, trunc, redefines)
    decoder = NativeDecoder(lay, options)
    path = _existing(file)
    frame_args: dict[str, Any] = {
        "record_length": record_length,
        "rdw_includes_header": rdw_includes_header,
        "skip_header": skip_header,
        "skip_trailer": skip_trailer,
        "record_prefix": record_prefix,
    }
    return _records_of(decoder.decode_file(path, framing, **frame_args))


def _records_of(batches: Iterator[Batch]) -> Iterator[Record]:
    for batch in batches:
        yield from _records(batch)


def decode_bytes(
    layout: Layout,
    data: bytes | bytearray | memoryview,
    *,
    codepage: str = "cp037",
    trim: str = "right",
    decimals_as_strings: bool = False,
    float_format: str = "hfp",
    trunc: str = "std",
    redefines: abc.Mapping[str, str] | None = None,
    number: int = 0,
    offset: int = 0,
) -> Record:
    """One record's bytes decoded with ``layout`` (``number`` and ``offset`` only label the
    result and its errors' offsets). A record shorter than the layout is rejected with
    ``record-too-short``, never an exception."""
    decoder = NativeDecoder(
        layout, _options(codepage, trim, decimals_as_strings, float_format, trunc, redefines)
    )
    batch = decoder.decode_batch(
        bytes(data), [0], [len(data)], base_offset=offset, first_record=number
    )
    return next(_records(batch))


def _options(
    codepage: str,
    trim: str,
    decimals_as_strings: bool,
    float_format: str,
    trunc: str,
    redefines: abc.Mapping[str, str] | None,
) -> DecodeOptions:
    return DecodeOptions(
        codepage=codepage,
        trim=trim,
        decimals_as_strings=decimals_as_strings,
        float_format=float_format,
        trunc=trunc,
        redefines={k.upper(): v.upper() for k, v in (redefines or {}).items()},
    )


def _records(batch: Batch) -> Iterator[Record]:
    values = batch.dicts()
    for i, value in enumerate(values):
        errors = batch.errors.get(i, ())
        yield Record(
            batch.first_record + i,
            batch.offsets[i],
            batch.lengths[i],
            None if errors else value,
            errors,
        )


def _existing(file: StrPath) -> Path:
    path = Path(file)
    if not path.is_file():
        raise InputNotFoundError(f"{path}: no such file")
    return path


class Mapping:
    """A mapping document compiled with its copybook: what turns records into events.

    Made by :func:`load_mapping`; immutable, and safe to share between threads (every
    :meth:`judge` call decodes with its own buffers).
    """

    def __init__(self, program: Program, path: Path) -> None:
        self._program = program
        self.path = path
        """The mapping document's path."""

    @property
    def name(self) -> str:
        """The mapping's name (its ``name`` member)."""
        return self._program.mapping.name

    @property
    def schema_id(self) -> str:
        """The record schema's ``$id``: urn:bridge:schema:<name>:<version>:<fingerprint>."""
        return self._program.schema_id

    @property
    def layouts(self) -> tuple[Layout, ...]:
        """The layouts of the records the mapping reads (one per case of a multi-layout file)."""
        return tuple(case.layout for case in self._program.cases.values())

    @property
    def warnings(self) -> tuple[str, ...]:
        """What ``bridge mapping check`` warns about (the mapping loads nonetheless)."""
        return tuple(str(w) for w in self._program.warnings)

    def judge(self, file: StrPath) -> Iterator[Event | Rejected]:
        """Every record of ``file`` in file order: an :class:`Event` for each valid record (its
        JSON ``document`` and keys, ``event`` as Python values), a :class:`Rejected` for each
        record that did not decode or validate, with its audit document (``stage`` decode or
        validate), and a last Rejected of stage ``framing`` for an unframed rest of the file.
        Nothing raises for bad data; InputNotFoundError for a missing ``file``."""
        return judge_file(self._program, _existing(file))

    def record_schema(self, *, clear: bool = False) -> dict[str, Any]:
        """The JSON Schema (2020-12) every event satisfies, as ``bridge schema`` prints it;
        ``clear``: the schema checked before PII policies apply."""
        program = self._program
        schema: dict[str, Any] = record_schema(
            program.mapping, program.layouts, published=not clear
        )
        return schema

    def __repr__(self) -> str:
        return f"<bridge.Mapping {self.name!r} from {str(self.path)!r}>"


def load_mapping(
    path: StrPath,
    *,
    environ: abc.Mapping[str, str] | None = None,
    pii_key: bytes | None = None,
) -> Mapping:
    """Load, check and compile the mapping document at ``path`` and the copybook it names.

    ``environ`` is where the PII key's environment variable is read (default os.environ);
    ``pii_key`` gives the key itself. Raises MappingNotFoundError or CopybookNotFoundError for
    a missing file, MappingError (every problem ``bridge mapping check`` finds, each with its
    JSON pointer) or CopybookError for an invalid one.
    """
    where = Path(path)
    return Mapping(load_program(where, environ=environ, pii_key=pii_key), where)


def replay(
    file: StrPath,
    mapping: Mapping | StrPath,
    *,
    config: Config | StrPath | None = None,
    environ: abc.Mapping[str, str] | None = None,
    force: bool = False,
    from_record: int | None = None,
    dry_run: bool = False,
    timeout: float | None = None,
    chunk_records: int | None = None,
) -> Summary:
    """Publish ``file`` to Kafka exactly once with ``mapping`` (a Mapping, or a mapping
    document's path), as ``bridge replay`` does: the same engine, the same topics, progress
    records and audit chain (README: ``bridge replay``).

    ``config``: a Config, or a bridge.toml path; None reads ./bridge.toml when present, else
    the environment (BRIDGE_KAFKA_BOOTSTRAP ...). ``environ`` stands for os.environ in both
    the configuration and a mapping loaded from a path. A file already published returns a
    Summary with outcome ``already-complete`` (``force``: publish it again, a new run);
    ``dry_run`` judges and reconciles without publishing; ``timeout``: seconds to wait for
    Kafka (default: the configuration's). ``Summary.exit_code`` is what ``bridge replay``
    exits with. Raises InputNotFoundError, ConfigError, KafkaUnavailableError (Kafka did not
    answer in time; nothing half-committed is left), KafkaFatalError (fenced, not authorized)
    or ReplayConflictError (an unfinished run of the file was started with another mapping).
    """
    path = _existing(file)
    chosen = mapping if isinstance(mapping, Mapping) else load_mapping(mapping, environ=environ)
    if isinstance(config, Config):
        settings = config
    else:
        settings = load_config(None if config is None else Path(config), environ)
    return run_replay(
        chosen._program,
        path,
        settings,
        force=force,
        from_record=from_record,
        dry_run=dry_run,
        timeout=timeout,
        chunk_records=chunk_records,
    )
