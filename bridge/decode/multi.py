"""Multi-layout files: a discriminator field picks the layout (or REDEFINES branch) per record.

Header/detail/trailer files and files that mix record types carry a type code at a fixed place
in every record. ``MultiLayoutDecoder`` reads it from the raw bytes, groups the records of a
chunk by the decoder their code selects, decodes each group in one native batch, and returns
the results in file order. A code that selects nothing makes the record invalid
(``unknown-record-type``); it never stops the run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bridge.copybook.layout import Field, Layout
from bridge.decode.discriminator import DiscriminatorDecoder
from bridge.decode.framing import RecordSpan, frame, mapped
from bridge.decode.native import Batch, NativeDecoder
from bridge.decode.verdict import DecodeOptions, FieldError, Reason, RecordResult, in_file
from bridge.errors import BridgeError

__all__ = ["Case", "MultiLayoutDecoder", "MultiLayoutError", "resolve_case", "resolve_field"]

CHUNK_RECORDS = 8192


class MultiLayoutError(BridgeError):
    """The discriminator or a case does not name something in the copybook."""


@dataclass(frozen=True)
class Case:
    """What a discriminator value selects: a record layout and, optionally, a REDEFINES choice."""

    layout: Layout
    redefines: tuple[tuple[str, str], ...] = ()


def resolve_field(layouts: tuple[Layout, ...], name: str) -> Field:
    """An elementary item at a fixed place, named by path (``REC.TYPE``) or by unique name."""
    wanted = name.upper()
    hits = [
        f for lay in layouts for f in lay.fields() if wanted in (f.path, f.name) and not f.is_group
    ]
    if not hits:
        raise MultiLayoutError(f"discriminator {name}: no elementary item of that name or path")
    if len({(f.offset, f.length, f.usage) for f in hits}) > 1:
        paths = ", ".join(f.path for f in hits)
        raise MultiLayoutError(f"discriminator {name} is ambiguous ({paths}): give its path")
    item = hits[0]
    if item.variable_offset or _in_table(layouts, item):
        raise MultiLayoutError(
            f"discriminator {item.path} has no fixed place (it follows or is inside a table)"
        )
    return item


def _in_table(layouts: tuple[Layout, ...], item: Field) -> bool:
    for lay in layouts:
        if item.path.split(".")[0] == lay.name:
            return any(occ for occ, _ in lay.dimensions(item.path))
    return False


def resolve_case(layouts: tuple[Layout, ...], target: str) -> Case:
    """``target`` is a level-01 record name, or the path of a REDEFINES alternative."""
    wanted = target.upper()
    for lay in layouts:
        if lay.name == wanted:
            return Case(lay)
    for lay in layouts:
        for f in lay.fields():
            if f.path == wanted:
                if f.redefines is None:
                    raise MultiLayoutError(
                        f"case target {target} is neither a record nor a REDEFINES alternative"
                    )
                return Case(lay, ((f.redefines, f.path),))
    names = ", ".join(lay.name for lay in layouts)
    raise MultiLayoutError(f"case target {target}: no such record (records: {names})")


class MultiLayoutDecoder:
    """Decode a file whose records' layouts are chosen by a discriminator field."""

    def __init__(
        self,
        discriminator: Field,
        cases: Mapping[str, Case],
        options: DecodeOptions | None = None,
    ) -> None:
        self.discriminator = discriminator
        self.options = options or DecodeOptions()
        self._decoders: dict[str, NativeDecoder] = {}
        by_case: dict[Case, NativeDecoder] = {}
        for value, case in cases.items():
            if case not in by_case:
                opts = DecodeOptions(
                    codepage=self.options.codepage,
                    trim=self.options.trim,
                    decimals_as_strings=self.options.decimals_as_strings,
                    float_format=self.options.float_format,
                    trunc=self.options.trunc,
                    redefines={**self.options.redefines, **dict(case.redefines)},
                )
                by_case[case] = NativeDecoder(case.layout, opts)
            self._decoders[value] = by_case[case]
        layouts = [c.layout for c in cases.values()]
        holder = next(
            (lay for lay in layouts if discriminator.path.split(".")[0] == lay.name), None
        )
        self._probe = DiscriminatorDecoder(discriminator, holder or layouts[0], self.options)

    @property
    def record_length(self) -> int:
        return max(d.layout.record_length for d in self._decoders.values())

    def code(self, record: bytes | memoryview) -> str | None:
        """The discriminator's value in ``record``, as text; None when it does not decode."""
        return self._codes(record, [0], [len(record)])[0]

    def _codes(self, data: Any, offsets: list[int], lengths: list[int]) -> list[str | None]:
        values = self._probe.values(data, offsets, lengths)
        return [None if v is None else str(v) for v in values]

    def decode_file(
        self, path: str | Path, framing: str = "fixed", **frame_args: Any
    ) -> Iterator[Batch]:
        """Batches in file order; ``frame_args`` as :func:`bridge.decode.framing.frame` takes."""
        if framing in ("fixed", "lines") and frame_args.get("record_length") is None:
            # Every record is framed (and a short line padded) to the longest case; each case
            # then reads only its own layout's bytes.
            frame_args["record_length"] = self.record_length
        with mapped(path) as view:
            chunk: list[RecordSpan] = []
            for span in frame(view, framing, codepage=self.options.codepage, **frame_args):
                chunk.append(span)
                if len(chunk) == CHUNK_RECORDS:
                    yield self._decode_chunk(view, chunk)
                    chunk = []
            if chunk:
                yield self._decode_chunk(view, chunk)

    def _decode_chunk(self, mm: memoryview, spans: list[RecordSpan]) -> Batch:
        groups: dict[int, tuple[NativeDecoder, list[RecordSpan]]] = {}
        results: dict[int, RecordResult] = {}
        whole = [s for s in spans if not (s.segments or s.padding)]
        codes = dict(
            zip(
                (s.number for s in whole),
                self._codes(mm, [s.offset for s in whole], [s.length for s in whole]),
                strict=True,
            )
        )
        for span in spans:
            data = span.data(mm)
            code = codes[span.number] if span.number in codes else self.code(data)
            decoder = self._decoders.get(code) if code is not None else None
            if decoder is None:
                results[span.number] = self._unknown(span, data, code)
                continue
            groups.setdefault(id(decoder), (decoder, []))[1].append(span)
        layouts: dict[int, Layout] = {}
        for decoder, members in groups.values():
            for span, res in zip(members, _decode_spans(decoder, mm, members), strict=True):
                results[span.number] = replace(res, record=span.number)
                layouts[span.number] = decoder.layout
        ordered = [results[s.number] for s in spans]
        jsonl = b"".join(r.document + b"\n" for r in ordered)
        errors = {i: r.errors for i, r in enumerate(ordered) if r.errors}
        return Batch(
            spans[0].number,
            [r.offset for r in ordered],
            [r.length for r in ordered],
            memoryview(jsonl),
            errors,
            segments={i: r.segments for i, r in enumerate(ordered) if r.segments},
            layouts={i: layouts[s.number] for i, s in enumerate(spans) if s.number in layouts},
        )

    def _unknown(
        self, span: RecordSpan, data: bytes | memoryview, code: str | None
    ) -> RecordResult:
        d = self.discriminator
        raw = bytes(data[d.offset : d.offset + d.length])
        shown = "does not decode" if code is None else f"is {code!r}"
        known = ", ".join(repr(v) for v in sorted(self._decoders))
        error = FieldError(
            d.path,
            in_file(span.offset + d.offset, span.offset, span.segments),
            d.length,
            raw,
            Reason.UNKNOWN_RECORD_TYPE,
            f"discriminator {shown}; known: {known}",
        )
        return RecordResult(span.number, span.offset, span.length, b"null", (error,), span.segments)


def _decode_spans(
    decoder: NativeDecoder, mm: memoryview, spans: list[RecordSpan]
) -> Iterator[RecordResult]:
    """Results for ``spans`` in order: contiguous runs in native batches; spanned records and
    short lines decoded from a copy (a line's result keeps the line's own length, so its audit
    shows the bytes in the file, not the padding)."""
    i = 0
    while i < len(spans):
        if spans[i].segments or spans[i].padding:
            s = spans[i]
            yield s.place(decoder.decode(bytes(s.data(mm)), number=s.number, offset=s.offset))
            i += 1
            continue
        j = i
        while j < len(spans) and not (spans[j].segments or spans[j].padding):
            j += 1
        run = spans[i:j]
        batch = decoder.decode_batch(mm, [s.offset for s in run], [s.length for s in run])
        yield from batch.results()
        i += batch.count
