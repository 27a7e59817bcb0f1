"""Multi-layout files: a discriminator field picks the layout (or REDEFINES branch) per record.

Header/detail/trailer files and files that mix record types carry a type code at a fixed place
in every record. ``MultiLayoutDecoder`` reads it from the raw bytes, groups the records of a
chunk by the decoder their code selects, decodes each group in one native batch, and returns
the results in file order. A code that selects nothing makes the record invalid
(``unknown-record-type``); it never stops the run.

A case's value is text (compared with the discriminator's decoded value) or bytes, written
``x'C3'`` (compared with its raw bytes: a type byte followed by X'00' padding is no text).
With ``trimmed``, both sides lose trailing spaces and low-values before they are compared.
Case targets and the discriminator may be named by path or by a unique short name; a name that
does not resolve lists the candidates. A discriminator outside the copybook's records (in a
per-record prefix: an IMS segment prefix, a transmission header) is given by place instead,
``OFFSET:LENGTH`` from the start of the prefix (:func:`discriminator_at`), read as text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bridge.codepages import space_byte
from bridge.copybook.layout import Category, Field, Layout, Usage
from bridge.decode.discriminator import DiscriminatorDecoder
from bridge.decode.framing import FramingError, RecordSpan, frame, mapped
from bridge.decode.native import Batch, NativeDecoder
from bridge.decode.verdict import DecodeOptions, FieldError, Reason, RecordResult, in_file
from bridge.errors import BridgeError

__all__ = [
    "Case",
    "MultiLayoutDecoder",
    "MultiLayoutError",
    "case_value",
    "discriminator_at",
    "resolve_case",
    "resolve_field",
]

CHUNK_RECORDS = 8192


class MultiLayoutError(BridgeError):
    """The discriminator or a case does not name something in the copybook."""


@dataclass(frozen=True)
class Case:
    """What a discriminator value selects: a record layout and, optionally, a REDEFINES choice."""

    layout: Layout
    redefines: tuple[tuple[str, str], ...] = ()


def _named(f: Field, wanted: str) -> bool:
    """``wanted`` is ``f``'s path, its name, or the end of its path (``GRP.TYPE``)."""
    return wanted in (f.path, f.name) or f.path.endswith("." + wanted)


def _candidates(names: list[str], wanted: str) -> str:
    """Names that look like ``wanted`` (their own name shares a word with it), else all."""
    words = {w for w in wanted.replace(".", "-").split("-") if len(w) > 1}
    close = [n for n in names if words & set(n.rsplit(".", 1)[-1].split("-"))] or names
    shown = ", ".join(close[:12]) + (f" and {len(close) - 12} more" if len(close) > 12 else "")
    return shown or "none"


def resolve_field(layouts: tuple[Layout, ...], name: str) -> Field:
    """An elementary item at a fixed place, named by path (``REC.TYPE``) or by unique name."""
    wanted = name.upper()
    hits = [f for lay in layouts for f in lay.fields() if _named(f, wanted) and not f.is_group]
    if not hits:
        items = [f.path for lay in layouts for f in lay.fields() if not f.is_group]
        raise MultiLayoutError(
            f"discriminator {name}: no elementary item of that name or path; "
            f"candidates: {_candidates(items, wanted)}"
        )
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
    """``target`` is a level-01 record name, a REDEFINES alternative, or the item an alternative
    redefines (that record, decoding the original); by path or by unique short name."""
    wanted = target.upper()
    for lay in layouts:
        if lay.name == wanted:
            return Case(lay)
    originals = {f.redefines for lay in layouts for f in lay.fields() if f.redefines}
    choices = [
        (lay, f)
        for lay in layouts
        for f in lay.fields()
        if f.level != 1 and (f.redefines is not None or f.path in originals)
    ]
    hits = [(lay, f) for lay, f in choices if _named(f, wanted)]
    if len(hits) == 1:
        lay, f = hits[0]
        return Case(lay) if f.redefines is None else Case(lay, ((f.redefines, f.path),))
    if len(hits) > 1:
        paths = ", ".join(f.path for _, f in hits)
        raise MultiLayoutError(f"case target {target} is ambiguous ({paths}): give its path")
    if any(_named(f, wanted) for lay in layouts for f in lay.fields()):
        raise MultiLayoutError(
            f"case target {target} is neither a record nor a REDEFINES alternative (or the "
            "item one redefines)"
        )
    names = [lay.name for lay in layouts] + [f.path for _, f in choices]
    raise MultiLayoutError(
        f"case target {target}: no such record or REDEFINES item; "
        f"candidates: {_candidates(names, wanted)}"
    )


def discriminator_at(spec: str, prefix: int = 0) -> Field:
    """``OFFSET:LENGTH`` bytes from the start of each record's prefix (or of the record, when
    there is none) as a text item; its offset is relative to the record's data (negative: in the
    prefix)."""
    start, sep, length = spec.partition(":")
    if not (sep and start.isdigit() and length.isdigit() and int(length) > 0):
        raise MultiLayoutError(f"discriminator at {spec}: expected OFFSET:LENGTH (bytes)")
    at, n = int(start), int(length)
    return Field(
        path=f"@{at}:{n}",
        name=f"@{at}:{n}",
        level=1,
        offset=at - prefix,
        length=n,
        usage=Usage.DISPLAY,
        category=Category.ALPHANUMERIC,
        picture=f"X({n})",
    )


def case_value(text: str) -> str | bytes:
    """A ``--when`` value: ``x'C3'`` (hex, any case of x) is bytes, anything else text."""
    if len(text) >= 3 and text[0] in "xX" and text[1] == text[-1] and text[1] in "'\"":
        digits = text[2:-1]
        try:
            raw = bytes.fromhex(digits)
        except ValueError:
            raise MultiLayoutError(f"{text}: not an even number of hex digits") from None
        if not raw:
            raise MultiLayoutError(f"{text}: no bytes")
        return raw
    return text


class MultiLayoutDecoder:
    """Decode a file whose records' layouts are chosen by a discriminator field."""

    def __init__(
        self,
        discriminator: Field,
        cases: Mapping[str | bytes, Case],
        options: DecodeOptions | None = None,
        *,
        trimmed: bool = False,
    ) -> None:
        self.discriminator = discriminator
        self.options = options or DecodeOptions()
        self.trimmed = trimmed
        self._pad = bytes([space_byte(self.options.codepage), 0])
        self._decoders: dict[str, NativeDecoder] = {}
        self._raw_decoders: dict[bytes, NativeDecoder] = {}
        self._prefix = 0  # the record prefix of the file being decoded
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
            if isinstance(value, bytes):
                self._check_raw(value)
                key = value.rstrip(self._pad) if trimmed else value
                self._raw_decoders[key] = by_case[case]
            else:
                self._decoders[value.rstrip(" \x00") if trimmed else value] = by_case[case]
        layouts = [c.layout for c in cases.values()]
        holder = next(
            (lay for lay in layouts if discriminator.path.split(".")[0] == lay.name), None
        )
        # The discriminator decoded alone in C: at its place in a record, or (in the record
        # prefix) from the start of a prefix of a given length (made when first needed).
        self._probe = (
            DiscriminatorDecoder(discriminator, holder or layouts[0], self.options)
            if discriminator.offset >= 0
            else None
        )
        self._prefix_probes: dict[int, DiscriminatorDecoder | None] = {}

    def _prefix_probe(self, prefix: int) -> DiscriminatorDecoder | None:
        """The discriminator's decoder for a record prefix of ``prefix`` bytes read with the
        record (None: the discriminator starts before such a prefix)."""
        if prefix not in self._prefix_probes:
            item = replace(self.discriminator, offset=self.discriminator.offset + prefix)
            probe = None
            if item.offset >= 0:
                layout = Layout(root=item, record_length=item.offset + item.length, min_length=0)
                probe = DiscriminatorDecoder(item, layout, self.options)
            self._prefix_probes[prefix] = probe
        return self._prefix_probes[prefix]

    def _check_raw(self, value: bytes) -> None:
        d = self.discriminator
        shown = f"x'{value.hex().upper()}'"
        if len(value) > d.length or (len(value) < d.length and not self.trimmed):
            fix = "" if len(value) > d.length else " (or compare trimmed values)"
            raise MultiLayoutError(
                f"{shown} is {len(value)} byte(s), the discriminator {d.path} has {d.length}: "
                f"write all {d.length}{fix}"
            )

    @property
    def record_length(self) -> int:
        decoders = [*self._decoders.values(), *self._raw_decoders.values()]
        return max(d.layout.record_length for d in decoders)

    def raw(self, record: bytes | memoryview, prefix: bytes = b"") -> bytes:
        """The discriminator's bytes; ``prefix`` is the record's prefix, for one placed in it."""
        d = self.discriminator
        if d.offset >= 0:
            return bytes(record[d.offset : d.offset + d.length])
        at = len(prefix) + d.offset
        return (prefix + bytes(record[: max(0, at + d.length - len(prefix))]))[at : at + d.length]

    def choose(
        self, record: bytes | memoryview, prefix: bytes = b""
    ) -> tuple[NativeDecoder | None, str | None]:
        """The decoder ``record``'s discriminator selects, and the value it was chosen by (as
        text; hex for raw bytes that select nothing and do not decode)."""
        return self._choose(record, prefix, self.code(record, prefix))

    def _choose(
        self, record: bytes | memoryview, prefix: bytes, code: str | None
    ) -> tuple[NativeDecoder | None, str | None]:
        """``choose`` given the discriminator's decoded value ``code``."""
        if self._raw_decoders:
            raw = self.raw(record, prefix)
            found = self._raw_decoders.get(raw.rstrip(self._pad) if self.trimmed else raw)
            if found is not None:
                return found, f"x'{raw.hex().upper()}'"
        if code is None:
            return None, None
        key = code.rstrip(" \x00") if self.trimmed else code
        return self._decoders.get(key), code

    def code(self, record: bytes | memoryview, prefix: bytes = b"") -> str | None:
        """The discriminator's value in ``record``, as text; None when it does not decode."""
        if self.discriminator.offset >= 0:
            return self._codes(record, [0], [len(record)])[0]
        data = prefix + bytes(record)
        return self._codes(data, [len(prefix)], [len(record)], len(prefix))[0]

    def _codes(
        self, data: Any, offsets: list[int], lengths: list[int], prefix: int = 0
    ) -> list[str | None]:
        """The discriminator's values (as text) of the records at ``offsets`` in ``data``, each
        after a ``prefix``-byte record prefix; None where it does not decode."""
        probe = self._probe
        if probe is None:  # in the prefix: read from each record's prefix on
            probe = self._prefix_probe(prefix)
            if probe is None:
                return [None] * len(offsets)
            offsets = [at - prefix for at in offsets]
            lengths = [n + prefix for n in lengths]
        values = probe.values(data, offsets, lengths)
        return [None if v is None else str(v) for v in values]

    def decode_file(
        self, path: str | Path, framing: str = "fixed", **frame_args: Any
    ) -> Iterator[Batch]:
        """Batches in file order; ``frame_args`` as :func:`bridge.decode.framing.frame` takes."""
        if framing in ("fixed", "lines") and frame_args.get("record_length") is None:
            # Every record is framed (and a short line padded) to the longest case; each case
            # then reads only its own layout's bytes.
            frame_args["record_length"] = self.record_length
        self._prefix = int(frame_args.get("record_prefix", 0))
        error: FramingError | None = None
        with mapped(path) as view:
            chunk: list[RecordSpan] = []
            try:
                for span in frame(view, framing, codepage=self.options.codepage, **frame_args):
                    chunk.append(span)
                    if len(chunk) == CHUNK_RECORDS:
                        yield self._decode_chunk(view, chunk)
                        chunk = []
            except FramingError as exc:  # the records before it are decoded first
                error = exc.with_traceback(None)
            if chunk:
                yield self._decode_chunk(view, chunk)
        if error is not None:
            raise error

    def _decode_chunk(self, mm: memoryview, spans: list[RecordSpan]) -> Batch:
        groups: dict[int, tuple[NativeDecoder, list[RecordSpan]]] = {}
        results: dict[int, RecordResult] = {}
        whole = [s for s in spans if not (s.segments or s.padding)]
        codes = dict(
            zip(
                (s.number for s in whole),
                self._codes(mm, [s.offset for s in whole], [s.length for s in whole], self._prefix),
                strict=True,
            )
        )
        for span in spans:
            data = span.data(mm)
            prefix = bytes(mm[span.offset - self._prefix : span.offset]) if self._prefix else b""
            code = codes[span.number] if span.number in codes else self.code(data, prefix)
            decoder, code = self._choose(data, prefix, code)
            if decoder is None:
                results[span.number] = self._unknown(span, data, code, prefix)
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
        self, span: RecordSpan, data: bytes | memoryview, code: str | None, prefix: bytes
    ) -> RecordResult:
        d = self.discriminator
        raw = self.raw(data, prefix)
        shown = "does not decode" if code is None else f"is {code!r}"
        if code is not None and self._raw_decoders:
            shown += f" (x'{raw.hex().upper()}')"
        known = ", ".join(
            [repr(v) for v in sorted(self._decoders)]
            + [f"x'{v.hex().upper()}'" for v in sorted(self._raw_decoders)]
        )
        if self.trimmed:
            known += " (trimmed)"
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
