"""The native decoder: batches of records to JSON documents in one C call.

``NativeDecoder(layout, options)`` compiles the layout once (:mod:`bridge.decode.plan`).
``decode_batch`` hands a buffer of records (zero copy, ``ffi.from_buffer``) to C, which writes
every document into one reusable output buffer as JSON Lines and fills an error array; Python
only builds objects for the errors. ``decode_file`` walks a file through a moving mmap window,
so resident memory stays bounded whatever the file size. ``decode`` and ``decode_to_dict`` are
the one-record conveniences.

A :class:`Batch` views the decoder's buffers: it is valid until the decoder's next call.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import mmap
import os
import struct
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge import _native
from bridge._native import ffi, lib
from bridge.codepages import decode_table, space_byte
from bridge.copybook.layout import Field, Layout, Usage
from bridge.decode.edited import EditedPicture
from bridge.decode.framing import (
    FRAMINGS,
    FileChangedError,
    FramingError,
    RecordSpan,
    frame,
    line_start,
    long_line_error,
    rdw_length_last,
)
from bridge.decode.plan import REASONS, Plan, compile_plan
from bridge.decode.verdict import (
    DecodeOptions,
    FieldError,
    Reason,
    RecordResult,
    Segments,
    no_count_value,
    record_bytes,
    record_end,
    relocate,
)
from bridge.decode.zoned import zoned_bytes
from bridge.errors import NativeError

__all__ = ["Batch", "NativeDecoder"]

BATCH_RECORDS = 8192
WINDOW_BYTES = 64 << 20
PAD_BYTES = 8 << 20  # lines framing: the most bytes of padded records copied per batch


@dataclass
class Batch:
    """Decoded records ``first_record`` .. ``first_record + count - 1``.

    ``jsonl`` holds every document followed by a newline; ``offsets``/``lengths`` are the
    records' places in the file; ``errors`` maps a batch index to that record's field errors
    (records absent from it are valid).
    """

    first_record: int
    offsets: Sequence[int]
    lengths: Sequence[int]
    jsonl: memoryview
    errors: dict[int, tuple[FieldError, ...]]
    floats: Field | None = None  # the record group, when it holds COMP-1/COMP-2 items
    # Spanned (VBS) records' pieces in the file by batch index; such a record's offset is its
    # first piece's, its length the whole record's, its errors' offsets in their pieces.
    segments: dict[int, Segments] = field(default_factory=dict)
    # A multi-layout batch: the layout each record decoded with (absent: the decoder's own,
    # or none for an unknown record type).
    layouts: dict[int, Layout] = field(default_factory=dict)
    # VB/VBS: by batch index, the end of the block a record ends in when more of the block
    # follows it (None at a block boundary); None for framings without blocks.
    block_ends: Sequence[int | None] | None = None

    @property
    def count(self) -> int:
        return len(self.offsets)

    def documents(self) -> list[bytes]:
        """Each record's JSON document (C never writes a raw newline inside one)."""
        docs = self.jsonl.tobytes().split(b"\n")
        docs.pop()
        return docs

    def dicts(self) -> list[dict[str, Any]]:
        """Each record's document as Python values (see NativeDecoder.decode_to_dict), parsed
        with one json.loads over the whole batch."""
        text = b"[" + self.jsonl.tobytes().replace(b"\n", b",")[:-1] + b"]"
        docs: list[dict[str, Any]] = json.loads(text, parse_float=Decimal)
        if self.floats is not None:
            for doc in docs:
                _floats_in(doc, self.floats)
        return docs

    def end(self, index: int) -> int:
        """The file offset just past record ``index`` of the batch."""
        return record_end(self.offsets[index], self.lengths[index], self.segments.get(index, ()))

    def block_end(self, index: int) -> int | None:
        """The end of the VB/VBS block record ``index`` ends inside (None: at its end)."""
        return self.block_ends[index] if self.block_ends is not None else None

    def raw(self, index: int, buf: Any) -> bytes:
        """Record ``index``'s bytes in ``buf`` (the whole file), pieces joined when spanned."""
        return record_bytes(
            buf, self.offsets[index], self.lengths[index], self.segments.get(index, ())
        )

    def results(self) -> list[RecordResult]:
        segments = self.segments
        return [
            RecordResult(
                self.first_record + i, off, length, doc, self.errors.get(i, ()), segments.get(i, ())
            )
            for i, (off, length, doc) in enumerate(
                zip(self.offsets, self.lengths, self.documents(), strict=True)
            )
        ]


class NativeDecoder:
    """Decode records of one layout with the C core.

    A decoder owns reusable output and error buffers, so use one per thread (the C core
    itself keeps no state between calls).
    """

    def __init__(
        self,
        layout: Layout,
        options: DecodeOptions | None = None,
        *,
        out_bytes: int = 4 << 20,
        error_cap: int = 4096,
        max_out_bytes: int = 1 << 30,
        plan: Plan | None = None,
    ) -> None:
        """``plan``: a plan compiled for ``layout`` and ``options`` (one with checks or an event
        plan's); by default the layout's decode plan."""
        self.layout = layout
        self.options = options or DecodeOptions()
        self.plan: Plan = plan if plan is not None else compile_plan(layout, self.options)
        has_floats = any(f.usage in (Usage.COMP1, Usage.COMP2) for f in layout.fields())
        self._floats = layout.root if has_floats and layout.root.is_group else None
        self._out = bytearray(max(out_bytes, 1024))
        self.max_out_bytes = max_out_bytes
        self._error_cap = max(error_cap, 16)
        self._errors: Any = ffi.new("bridge_error[]", self._error_cap)
        self._records: Any = ffi.new("bridge_record[]", 1)
        self._record_cap = 1
        self._batch: Any = ffi.new("bridge_batch *")

    # -- one C call ---------------------------------------------------------------------

    def _records_for(self, n: int) -> Any:
        if n > self._record_cap:
            self._record_cap = max(n, 2 * self._record_cap)
            self._records = ffi.new("bridge_record[]", self._record_cap)
        return self._records

    def decode_batch(
        self,
        data: bytes | bytearray | memoryview | mmap.mmap,
        offsets: Sequence[int] | None = None,
        lengths: Sequence[int] | None = None,
        *,
        fixed_length: int = 0,
        base_offset: int = 0,
        first_record: int = 0,
        file_offsets: Sequence[int] | None = None,
        file_lengths: Sequence[int] | None = None,
    ) -> Batch:
        """Decode records in ``data``: at ``offsets`` with ``lengths``, or back to back every
        ``fixed_length`` bytes (the whole records in data). ``data[0]`` is at ``base_offset``
        in the file, unless ``file_offsets`` gives each record's place (records copied out of
        the file; ``file_lengths``: their lengths in the file, when a copy is padded). May
        decode fewer records than given when the output buffer fills; ``Batch.count`` says how
        many."""
        offs: Sequence[int]
        lens: Sequence[int]
        if offsets is None:
            if fixed_length <= 0:
                raise ValueError("give offsets and lengths, or a fixed_length")
            n = len(data) // fixed_length
        else:
            if lengths is None or len(lengths) != len(offsets):
                raise ValueError("offsets and lengths go together")
            n = len(offsets)
        off_c: Any = ffi.NULL
        len_c: Any = ffi.NULL
        file_c: Any = ffi.NULL
        if file_offsets is not None:
            file_arr = file_offsets if isinstance(file_offsets, array) else array("Q", file_offsets)
            file_c = ffi.from_buffer("uint64_t[]", file_arr)
        if offsets is not None and lengths is not None:
            off_arr = offsets if isinstance(offsets, array) else array("Q", offsets)
            len_arr = lengths if isinstance(lengths, array) else array("I", lengths)
            off_c = ffi.from_buffer("uint64_t[]", off_arr)
            len_c = ffi.from_buffer("uint32_t[]", len_arr)
        with ffi.from_buffer(data) as src:
            self._batch.file_offsets = file_c
            done = self._run(
                src, len(data), off_c=off_c, len_c=len_c, fixed=fixed_length, n=n, base=base_offset
            )
            errors = self._collect_errors(data, base_offset, offsets, lengths, fixed_length)
            self._batch.file_offsets = ffi.NULL
        if file_offsets is not None:
            kept = file_lengths if file_lengths is not None else lengths
            assert kept is not None
            offs = list(file_offsets[:done])
            lens = list(kept[:done])
        elif offsets is None:
            offs = range(base_offset, base_offset + done * fixed_length, fixed_length)
            lens = [fixed_length] * done
        else:
            assert lengths is not None
            offs = [base_offset + o for o in offsets[:done]]
            lens = list(lengths[:done])
        view = memoryview(self._out)[: self._batch.out_used]
        return Batch(first_record, offs, lens, view, errors, self._floats)

    def _run(
        self, src: Any, size: int, *, off_c: Any, len_c: Any, fixed: int, n: int, base: int
    ) -> int:
        b = self._batch
        while True:
            records = self._records_for(n)
            out = ffi.from_buffer(self._out)
            b.data = src
            b.data_len = size
            b.base_offset = base
            b.offsets = off_c
            b.lengths = len_c
            b.fixed_length = fixed
            b.n_records = n
            b.newline = 1
            b.out = out
            b.out_cap = len(self._out)
            b.records = records
            b.errors = self._errors
            b.error_cap = self._error_cap
            status = lib.bridge_decode(self.plan.c, b)
            ffi.release(out)
            if status == _native.FULL and b.done == 0:
                self._grow()
                continue
            if status != _native.FULL:
                _native.ensure(status, "decode")
            return int(b.done)

    def _grow(self) -> None:
        """One record did not fit the empty buffers: double the one that filled."""
        if self._batch.full == 2:
            self._error_cap *= 2
            self._errors = ffi.new("bridge_error[]", self._error_cap)
            return
        if 2 * len(self._out) > self.max_out_bytes:
            raise NativeError(
                f"one record's JSON needs more than {self.max_out_bytes} bytes", _native.FULL
            )
        self._out = bytearray(2 * len(self._out))

    def _collect_errors(
        self,
        data: Any,
        base: int,
        offsets: Sequence[int] | None,
        lengths: Sequence[int] | None,
        fixed: int,
    ) -> dict[int, tuple[FieldError, ...]]:
        out: dict[int, list[FieldError]] = {}
        for k in range(int(self._batch.errors_used)):
            e = self._errors[k]
            index = int(e.record)
            if offsets is not None and lengths is not None:
                rec_start, rec_end = offsets[index], offsets[index] + lengths[index]
            else:
                rec_start, rec_end = index * fixed, (index + 1) * fixed
            # The record's file offset minus its place in data turns file offsets to data ones.
            rec_base = (
                int(self._batch.file_offsets[index]) - rec_start
                if self._batch.file_offsets != ffi.NULL
                else base
            )
            error = self._field_error(e, data, rec_base, rec_start, rec_end)
            out.setdefault(index, []).append(error)
        return {i: tuple(errs) for i, errs in out.items()}

    def _field_error(
        self, e: Any, data: Any, base: int, rec_start: int, rec_end: int
    ) -> FieldError:
        reason = REASONS[e.reason - 1]
        path = self.plan.path(int(e.op), tuple(e.subs[0 : e.depth]))
        at = int(e.offset) - base
        length = int(e.length)
        raw = bytes(data[at : max(at, min(at + length, rec_end))])
        message = _message(self, e, reason, raw, base + rec_start)
        return FieldError(path, int(e.offset), length, raw, reason, message)

    # -- conveniences -----------------------------------------------------------------------

    def decode(self, record: bytes, *, number: int = 0, offset: int = 0) -> RecordResult:
        """One record (``offset`` is its place in the file, for error offsets)."""
        batch = self.decode_batch(
            record, [0], [len(record)], base_offset=offset, first_record=number
        )
        return batch.results()[0]

    def decode_to_dict(self, record: bytes) -> dict[str, Any]:
        """The record's document as Python values, as the reference gives them: Decimal for
        scaled numbers (exact), float for COMP-1/COMP-2, int, str, None."""
        doc: dict[str, Any] = json.loads(self.decode(record).document, parse_float=Decimal)
        root = self.layout.root
        if root.is_group:
            _floats_in(doc, root)
        elif root.key in doc:
            doc[root.key] = _float_values(doc[root.key], root)
        return doc

    def decode_file(
        self,
        path: str | os.PathLike[str],
        framing: str = "fixed",
        *,
        record_length: int | None = None,
        rdw_includes_header: bool = True,
        skip_header: int = 0,
        skip_trailer: int = 0,
        record_prefix: int = 0,
        batch_records: int = BATCH_RECORDS,
        window_bytes: int = WINDOW_BYTES,
        start: int | None = None,
        first_record: int = 0,
        block_end: int | None = None,
    ) -> Iterator[Batch]:
        """Batches of a whole file, framed as :func:`bridge.decode.framing.frame` frames it.

        ``start``, ``first_record`` and ``block_end`` resume as ``frame`` does: from where
        record ``first_record - 1`` ends, nothing before it read.

        fixed, rdw, rdw-le, vb and lines go through a moving mmap window of ``window_bytes``
        (framed in C; a batch of lines holding a short one is decoded from padded copies);
        vbs and odo use the reference framing and decode copies of the records. Each batch is
        valid until the next one is asked for. Bad framing raises FramingError after the
        batches before it.
        """
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}, not {framing!r}")
        if min(skip_header, skip_trailer, record_prefix) < 0:
            raise ValueError("skip_header, skip_trailer and record_prefix cannot be negative")
        walk = _FileWalk(
            self,
            Path(path),
            batch_records=max(1, batch_records),
            window_bytes=max(window_bytes, 2 * mmap.ALLOCATIONGRANULARITY),
            skip_header=skip_header,
            skip_trailer=skip_trailer,
            prefix=record_prefix,
            start=start if first_record > 0 and start is not None else None,
            first_record=first_record,
            block_end=block_end,
        )
        with walk:
            if skip_header + skip_trailer > walk.size:
                raise FramingError(
                    0,
                    f"{walk.size} bytes cannot hold a {skip_header}-byte header "
                    f"and a {skip_trailer}-byte trailer",
                )
            if framing == "fixed":
                yield from walk.fixed(record_length or self.layout.record_length)
            elif framing == "lines":
                yield from walk.lines(record_length or self.layout.record_length)
            elif framing in ("rdw", "rdw-le", "vb"):
                kinds = {"rdw": _native.FRAME_RDW, "rdw-le": _native.FRAME_RDW_LE}
                yield from walk.described(
                    kinds.get(framing, _native.FRAME_VB), inclusive=rdw_includes_header
                )
            else:
                yield from walk.spans(
                    framing, record_length=record_length, rdw_includes_header=rdw_includes_header
                )


def _floats_in(members: dict[str, Any], group: Field) -> None:
    """COMP-1/COMP-2 values parsed as Decimal back to float, in place."""
    for child in group.children:
        if child.key in members:
            members[child.key] = _float_values(members[child.key], child)


def _float_values(value: Any, f: Field) -> Any:
    if isinstance(value, list):
        return [_float_values(v, replace(f, occurs=None)) for v in value]
    if f.is_group and isinstance(value, dict):
        _floats_in(value, f)
    elif f.usage in (Usage.COMP1, Usage.COMP2) and isinstance(value, Decimal):
        return float(value)
    return value


class _FileWalk:
    """One pass over a file: windows, framing and batches (see NativeDecoder.decode_file)."""

    def __init__(
        self,
        decoder: NativeDecoder,
        path: Path,
        *,
        batch_records: int,
        window_bytes: int,
        skip_header: int,
        skip_trailer: int,
        prefix: int,
        start: int | None = None,
        first_record: int = 0,
        block_end: int | None = None,
    ) -> None:
        self.decoder = decoder
        self.path = path
        self.batch_records = batch_records
        self.window_bytes = window_bytes
        self.skip_header = skip_header
        self.skip_trailer = skip_trailer
        self.prefix = prefix
        self.fh = path.open("rb")
        self.size = os.fstat(self.fh.fileno()).st_size
        self.end = self.size - skip_trailer
        self.number = first_record
        self.start = skip_header if start is None else start  # where framing begins
        self.resumed = start is not None
        self.block_end = block_end if block_end is not None and block_end > self.start else None

    def __enter__(self) -> _FileWalk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()

    def window(self, pos: int, length: int) -> tuple[int, bytearray]:
        """The bytes from ``pos`` (rounded down to the granularity) of about ``length`` bytes.

        Read, not mapped: a file cut short while it is read (another process truncating it)
        is then a short read and a FramingError naming the offset, where a mapped page past
        the new end would kill the process with SIGBUS.
        """
        start = pos - pos % mmap.ALLOCATIONGRANULARITY
        stop = min(self.end, start + max(length, pos - start + 1))
        buf = bytearray(stop - start)
        got = 0
        with memoryview(buf) as view:
            while got < len(buf):
                n = os.preadv(self.fh.fileno(), [view[got:]], start + got)
                if n == 0:
                    raise FileChangedError(start + got)
                got += n
        return start, buf

    def batches(
        self,
        data: Any,
        offsets: array[int],
        lengths: array[int],
        base: int,
        block_ends: list[int | None] | None = None,
    ) -> Iterator[Batch]:
        done = 0
        while done < len(offsets):
            upto = done + self.batch_records  # a VB block may hold more records than a batch
            batch = self.decoder.decode_batch(
                data,
                offsets[done:upto],
                lengths[done:upto],
                base_offset=base,
                first_record=self.number,
            )
            if block_ends is not None:
                batch.block_ends = block_ends[done : done + batch.count]
            yield batch
            done += batch.count
            self.number += batch.count

    # -- fixed ----------------------------------------------------------------------------

    def fixed(self, lrecl: int) -> Iterator[Batch]:
        step = lrecl + self.prefix
        if step <= 0:
            raise ValueError(f"the record length must be positive, not {step}")
        if (self.end - self.skip_header) % step:
            self.reference_error("fixed", record_length=lrecl)
        pos = self.start
        per_window = max(1, self.window_bytes // step)
        while pos < self.end:
            start, mm = self.window(pos, per_window * step)
            try:
                whole = (start + len(mm) - pos) // step
                if whole == 0:  # a record larger than the window
                    _close(mm)
                    start, mm = self.window(pos, step)
                    whole = 1
                yield from self.fixed_window(
                    mm, pos - start, whole, lrecl=lrecl, step=step, base=start
                )
            finally:
                _close(mm)
            pos += whole * step

    def fixed_window(
        self, mm: bytearray, at: int, whole: int, *, lrecl: int, step: int, base: int
    ) -> Iterator[Batch]:
        for first in range(0, whole, self.batch_records):
            n = min(self.batch_records, whole - first)
            lo = at + first * step
            if self.prefix == 0:
                view = memoryview(mm)[lo : lo + n * lrecl]
                try:
                    done = 0
                    while done < n:
                        batch = self.decoder.decode_batch(
                            view[done * lrecl :],
                            fixed_length=lrecl,
                            base_offset=base + lo + done * lrecl,
                            first_record=self.number,
                        )
                        yield batch
                        done += batch.count
                        self.number += batch.count
                finally:
                    view.release()
            else:
                offsets = array("Q", range(lo + self.prefix, lo + n * step, step))
                lengths = array("I", [lrecl]) * n
                yield from self.batches(mm, offsets, lengths, base)

    # -- rdw, rdw-le, vb ----------------------------------------------------------------

    def described(self, kind: int, *, inclusive: bool) -> Iterator[Batch]:
        if kind == _native.FRAME_RDW_LE:
            self.fh.seek(self.skip_header)
            if rdw_length_last(self.fh.read(4)):
                kind = _native.FRAME_RDW_LE_HIGH  # the variant the first RDW shows, for the file
        cap = self.batch_records
        offsets = array("Q", bytes(8 * cap))
        lengths = array("I", bytes(4 * cap))
        f: Any = ffi.new("bridge_frame *")
        pos = self.start
        if self.block_end is not None:  # resumed inside a block: its rest framed in Python
            yield from self.spans(
                "vb", record_length=None, rdw_includes_header=inclusive, stop=self.block_end
            )
            pos = self.block_end
        window = self.window_bytes
        while pos < self.end:
            start, mm = self.window(pos, window)
            try:
                with ffi.from_buffer(mm) as src:
                    f.data = src
                    f.end = len(mm)
                    f.start = pos - start
                    f.kind = kind
                    f.inclusive = int(inclusive)
                    f.offsets = ffi.from_buffer("uint64_t[]", offsets)
                    f.lengths = ffi.from_buffer("uint32_t[]", lengths)
                    f.cap = cap
                    _native.ensure(lib.bridge_frame_records(f), "framing")
                    n, nxt, status, bad = int(f.n), int(f.next), int(f.status), int(f.bad)
                    f.data = f.offsets = f.lengths = ffi.NULL
                ends = None
                if kind == _native.FRAME_VB:
                    ends = _block_ends(offsets, lengths, n, start)
                    if status == _native.FRAME_BROKEN and bad > nxt:
                        # The good records of the block with the bad RDW: inside it.
                        block = _bdw_length(mm[nxt : nxt + 4])
                        for j in range(n):
                            if offsets[j] > nxt:
                                ends[j] = start + nxt + block
                short = None
                if self.prefix:
                    n, short = self.cut_prefix(offsets, lengths, n, start)
                at_end = start + len(mm) == self.end
                yield from self.batches(mm, offsets[:n], lengths[:n], start, ends)
                if short is not None:
                    raise short
            finally:
                _close(mm)
            if status == _native.FRAME_BROKEN or (status == _native.FRAME_PARTIAL and at_end):
                bad = bad if status == _native.FRAME_BROKEN else nxt
                self.framing_error(kind, start + nxt, start + bad, inclusive=inclusive)
            if status == _native.FRAME_PARTIAL and nxt == pos - start:
                window *= 2  # one record or block is larger than the window
            elif status == _native.FRAME_CAP and n == 0:
                cap *= 2  # one block holds more records than the arrays
                offsets = array("Q", bytes(8 * cap))
                lengths = array("I", bytes(4 * cap))
            pos = start + nxt

    def cut_prefix(
        self, offsets: array[int], lengths: array[int], n: int, base: int
    ) -> tuple[int, FramingError | None]:
        """Drop each record's prefix; a record shorter than it is a framing error (raised
        once the records before it are out)."""
        for i in range(n):
            if lengths[i] < self.prefix:
                number = self.number + i
                return i, FramingError(
                    base + offsets[i],
                    f"record {number} has {lengths[i]} bytes, less than its "
                    f"{self.prefix}-byte prefix",
                )
            offsets[i] += self.prefix
            lengths[i] -= self.prefix
        return n, None

    def framing_error(self, kind: int, at: int, bad: int, *, inclusive: bool) -> None:
        """Word the error at ``at`` (a record or block) as the reference framing does."""
        with self.path.open("rb") as fh:
            fh.seek(at)
            head = fh.read(max(0, min(bad - at, self.end - at)) + 8)
        number = self.number
        if kind != _native.FRAME_VB:
            d = head[:4]
            if self.end - at < 4:
                raise FramingError(at, f"record {number}: the file ends inside its RDW")
            if kind == _native.FRAME_RDW_LE_HIGH:
                length = int.from_bytes(d[2:4], "little")
                if d[0] or d[1]:
                    raise FramingError(
                        at,
                        f"record {number}: RDW {d.hex()} has non-zero bytes 0-1, and the "
                        "file's first RDW had its length in bytes 2-3",
                    )
            else:
                length = int.from_bytes(d[:2], "little" if kind == _native.FRAME_RDW_LE else "big")
            total = length if inclusive else length + 4
            if kind != _native.FRAME_RDW_LE_HIGH and (d[2] or d[3]):
                raise FramingError(
                    at,
                    f"record {number}: RDW {d.hex()} has non-zero bytes 2-3",
                    "is there a block descriptor (vb) or no RDW at all (fixed)?",
                )
            if total < 4:
                raise FramingError(at, f"record {number}: RDW length {length} is less than 4")
            raise FramingError(
                at, f"record {number}: RDW says {total} bytes, the file has {self.end - at} left"
            )
        if bad == at or self.end - at < 4:
            d = head[:4]
            if self.end - at < 4:
                raise FramingError(at, "the file ends inside a block descriptor (BDW)")
            if d[0] & 0x80:
                block = int.from_bytes(d, "big") & 0x7FFFFFFF
            else:
                block = int.from_bytes(d[:2], "big")
                if d[2] or d[3]:
                    raise FramingError(
                        at,
                        f"BDW {d.hex()} has non-zero bytes 2-3",
                        "is this RDW-only (rdw) rather than blocked (vb)?",
                    )
            if block < 4:
                raise FramingError(at, f"BDW length {block} is less than 4")
            raise FramingError(at, f"BDW says {block} bytes, the file has {self.end - at} left")
        # A bad RDW inside a block that is wholly in the file.
        block = int.from_bytes(head[:4], "big") & 0x7FFFFFFF
        if not head[0] & 0x80:
            block = int.from_bytes(head[:2], "big")
        left = at + block - bad
        r = head[bad - at : bad - at + 4]
        if left < 4:
            raise FramingError(bad, "the block ends inside an RDW")
        length = int.from_bytes(r[:2], "big")
        if length < 4 or length > left:
            raise FramingError(bad, f"RDW length {length} does not fit the block ({left} left)")
        hint = "spanned records need vbs" if r[2] in (1, 2, 3) else None
        raise FramingError(bad, f"RDW {r.hex()} has bad bytes 2-3", hint)

    def reference_error(self, framing: str, **kw: Any) -> None:
        """Let the reference framing raise its error (it checks before the first record)."""
        mm = mmap.mmap(self.fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            for _ in frame(
                _buffer(mm),
                framing,
                skip_header=self.skip_header,
                skip_trailer=self.skip_trailer,
                record_prefix=self.prefix,
                **kw,
            ):
                break
        finally:
            _close(mm)

    # -- lines ----------------------------------------------------------------------------

    def lines(self, lrecl: int) -> Iterator[Batch]:
        width = lrecl + self.prefix
        if width <= 0:
            raise ValueError(f"the record length must be positive, not {width}")
        # Padded copies go to one reusable buffer, so a batch holds at most PAD_BYTES of them.
        frames = _LineFrames(max(1, min(self.batch_records, PAD_BYTES // width)), width)
        space = space_byte(self.decoder.options.codepage)
        pos = self.start
        if self.resumed:  # past the LF of the line before
            self.fh.seek(pos)
            pos = line_start(self.fh.read(2), 0, self.end - pos) + pos
        window = self.window_bytes
        while pos < self.end:
            start, mm = self.window(pos, window)
            at, status = pos - start, _native.FRAME_CAP
            try:
                final = start + len(mm) == self.end
                while status == _native.FRAME_CAP:  # every batch of lines in the window
                    n, nxt, status, padded = frames.frame(mm, at, final=final, space=space)
                    offsets, lengths = frames.offsets[:n], frames.lengths[:n]
                    short = None
                    if self.prefix:
                        n, short = self.cut_prefix(offsets, lengths, n, start)
                        del offsets[n:], lengths[n:]
                    if padded:
                        yield from self.padded_lines(frames.pad, offsets, lengths, lrecl, start)
                    else:
                        yield from self.batches(mm, offsets, lengths, start)
                    if short is not None:
                        raise short
                    at = nxt
            finally:
                _close(mm)
            if status == _native.FRAME_BROKEN:
                self.long_line(start + at, lrecl)
            if status == _native.FRAME_PARTIAL and at == pos - start:
                window *= 2  # one line is larger than the window
            pos = start + at

    def padded_lines(
        self, pad: bytearray, offsets: array[int], lengths: array[int], lrecl: int, base: int
    ) -> Iterator[Batch]:
        """Decode a batch from its padded copies (record i at i * width in ``pad``), each
        keeping its place and length in the file."""
        width = lrecl + self.prefix
        n = len(offsets)
        files = array("Q", map(base.__add__, offsets))
        view = memoryview(pad)
        try:
            done = 0
            while done < n:
                data = view[done * width : n * width]
                # Without a prefix the copies are back to back records of lrecl bytes.
                places: array[int] | None = None
                sizes: array[int] | None = None
                if self.prefix:
                    places = array("Q", range(self.prefix, len(data), width))
                    sizes = array("I", [lrecl]) * (n - done)
                batch = self.decoder.decode_batch(
                    data,
                    places,
                    sizes,
                    fixed_length=lrecl,
                    first_record=self.number,
                    file_offsets=files[done:],
                    file_lengths=lengths[done:],
                )
                yield batch
                done += batch.count
                self.number += batch.count
        finally:
            view.release()

    def long_line(self, at: int, lrecl: int) -> None:
        """Raise the reference framing's error for the line at ``at``."""
        mm = mmap.mmap(self.fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            raise long_line_error(_buffer(mm), at, self.end, self.number, lrecl, self.prefix)
        finally:
            _close(mm)

    # -- vbs, odo: the reference framing, records copied ----------------------------------

    def spans(
        self,
        framing: str,
        *,
        record_length: int | None,
        rdw_includes_header: bool,
        stop: int | None = None,
    ) -> Iterator[Batch]:
        """Batches framed by the reference framing (``stop``: only the records before it, the
        rest of a block a resumption starts in)."""
        if self.size == 0:
            return
        decoder = self.decoder
        mm = mmap.mmap(self.fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            spans = frame(
                _buffer(mm) if stop is None else memoryview(mm)[:stop],
                framing,
                record_length=record_length,
                rdw_includes_header=rdw_includes_header,
                skip_header=self.skip_header,
                skip_trailer=self.skip_trailer if stop is None else 0,
                record_prefix=self.prefix,
                layout=decoder.layout,
                codepage=decoder.options.codepage,
                start=self.start,
                first_number=self.number,
                block_end=self.block_end,
            )
            failure: FramingError | None = None
            while failure is None:
                chunk: list[RecordSpan] = []
                try:
                    chunk.extend(itertools.islice(spans, self.batch_records))
                except FramingError as exc:  # decode the records before it first
                    failure = exc
                if not chunk:
                    break
                # A chunk without spanned records is decoded in place, zero copy; one with them
                # is reassembled into a buffer (records keep their file offsets).
                lengths = array("I", (span.length for span in chunk))
                files = array("Q", (span.offset for span in chunk))
                data: Any = mm
                offsets = files
                spanned: array[int] | None = None
                if any(span.segments for span in chunk):
                    data = bytearray()
                    offsets = array("Q")
                    for span in chunk:
                        offsets.append(len(data))
                        data += span.data(_buffer(mm))
                    spanned = files
                done = 0
                while done < len(chunk):
                    batch = decoder.decode_batch(
                        data,
                        offsets[done:],
                        lengths[done:],
                        file_offsets=None if spanned is None else spanned[done:],
                        first_record=self.number,
                    )
                    if framing in ("vb", "vbs"):
                        batch.block_ends = [s.block_end for s in chunk[done : done + batch.count]]
                    if spanned is not None:
                        for i, span in enumerate(chunk[done : done + batch.count]):
                            if span.segments:
                                batch.segments[i] = span.segments
                                if i in batch.errors:
                                    batch.errors[i] = relocate(
                                        batch.errors[i], span.offset, span.segments
                                    )
                    yield batch
                    done += batch.count
                    self.number += batch.count
            if failure is not None:
                raise failure
        finally:
            _close(mm)


class _LineFrames:
    """The C lines framing's reusable arrays: up to ``cap`` records of at most ``width``
    bytes a call, and room for their padded copies."""

    def __init__(self, cap: int, width: int) -> None:
        self.cap = cap
        self.width = width
        self.offsets = array("Q", bytes(8 * cap))
        self.lengths = array("I", bytes(4 * cap))
        self.pad = bytearray(cap * width)
        self._f: Any = ffi.new("bridge_frame *")
        self._padded: Any = ffi.new("size_t *")

    def frame(
        self, mm: bytearray, at: int, *, final: bool, space: int
    ) -> tuple[int, int, int, int]:
        """Lines from ``at`` in ``mm``: (records, where to go on, status, short lines)."""
        f = self._f
        with ffi.from_buffer(mm) as src, ffi.from_buffer(self.pad) as pad:
            f.data = src
            f.end = len(mm)
            f.start = at
            f.offsets = ffi.from_buffer("uint64_t[]", self.offsets)
            f.lengths = ffi.from_buffer("uint32_t[]", self.lengths)
            f.cap = self.cap
            status = lib.bridge_frame_lines(f, self.width, int(final), space, pad, self._padded)
            f.data = f.offsets = f.lengths = ffi.NULL
        _native.ensure(status, "framing")
        return int(f.n), int(f.next), int(f.status), int(self._padded[0])


def _block_ends(offsets: array[int], lengths: array[int], n: int, base: int) -> list[int | None]:
    """For VB records framed whole blocks at a time (data offsets after their RDWs), the file
    offset where each one's block ends when more of the block follows it, else None: a record
    and the next share a block when the next one's RDW starts where this one ends."""
    ends: list[int | None] = [None] * n
    block = 0
    for j in range(n - 1, -1, -1):
        end = offsets[j] + lengths[j]
        if j == n - 1 or offsets[j + 1] != end + 4:
            block = end  # the last record of its block
        elif block > end:
            ends[j] = base + block
    return ends


def _bdw_length(bdw: bytes | bytearray) -> int:
    """The block length a (valid) BDW gives."""
    if bdw[0] & 0x80:
        return int.from_bytes(bdw, "big") & 0x7FFFFFFF
    return int.from_bytes(bdw[:2], "big")


def _buffer(mm: mmap.mmap) -> Any:
    """An mmap where a bytes-like object is expected (the reference framing's parameter)."""
    return mm


def _close(mm: mmap.mmap | bytearray) -> None:
    """Unmap now, or (while an exception's traceback still holds views of it) when freed."""
    if isinstance(mm, mmap.mmap):
        with contextlib.suppress(BufferError):
            mm.close()


def _message(decoder: NativeDecoder, e: Any, reason: Reason, raw: bytes, rec_start: int) -> str:
    """The error's message, worded as the reference decoder words it (tests compare them)."""
    op = decoder.plan.ops[int(e.op)]
    f = op.field
    if f is None:  # only a plan changed behind Plan's back has errors on group ops
        return str(reason)
    i = int(e.detail)
    byte = raw[i] if i < len(raw) else 0
    codepage = decoder.options.codepage
    if reason is Reason.RECORD_TOO_SHORT:
        start = int(e.offset) - rec_start
        have = max(0, i - start)
        return f"record ends after {i} bytes; {f.length}-byte item at {start} has {have}"
    if reason is Reason.ODO_OUT_OF_RANGE:
        if f.occurs is None or f.occurs.depending_on is None:
            return str(reason)
        count = f.occurs.depending_on
        if i == 0:
            return f"count {count} was not decoded before the table"
        pic = decoder.layout.field(count).picture
        shown = no_count_value(pic) if i == 1 else f"is {int(e.value)}"
        return f"count {count} {shown}; the table takes {f.occurs.min} to {f.occurs.max}"
    if reason is Reason.BLANK_NUMERIC:
        kind = "packed" if f.usage is Usage.COMP3 else "numeric"
        return f"{kind} item holds only spaces or low-values"
    if reason is Reason.BAD_PACKED_DIGIT:
        return f"digit nibble {i} is {raw.hex().upper()[i]}"
    if reason is Reason.BAD_PACKED_SIGN:
        allowed, kind = ("CAEFDB", "") if f.signed else ("FC", " in an unsigned item")
        return f"sign nibble {raw[-1] & 15:X} is not one of {allowed}{kind}"
    if reason is Reason.BAD_SIGN:
        if f.sign_separate:
            return f"separate sign byte X'{byte:02X}' is not + or -"
        return f"byte {i} X'{byte:02X}' is signed, item unsigned"
    if reason is Reason.BAD_ZONE:
        sign_at = 0 if f.signed and f.sign_leading else len(raw) - 1
        return zoned_bytes(codepage).not_digit(byte, i, i == sign_at and not f.sign_separate)
    if reason is Reason.BINARY_OUT_OF_RANGE:
        n = int.from_bytes(raw, "big", signed=f.signed)
        return f"{n} has more than {f.digits} digits"
    if reason is Reason.BAD_FLOAT:
        (value,) = struct.unpack(">f" if len(raw) == 4 else ">d", raw)
        return f"IEEE {value} has no JSON number"
    if reason is Reason.UNMAPPABLE_CHARACTER:
        if f.usage is Usage.NATIONAL:
            return f"bytes {i}.. are not UTF-16"
        return f"byte {i} X'{byte:02X}' has no character in {codepage}"
    if reason is Reason.NO_CODEC:
        return "no DBCS codec for this item"
    if reason is Reason.BAD_EDITED:
        try:
            EditedPicture.parse(f.picture or "", blank_when_zero=f.blank_when_zero)
        except ValueError as exc:
            return str(exc)
        table = decode_table(codepage)
        text = "".join(table[b] or "" for b in raw)
        return f"{text!r} does not fit picture {f.picture}"
    return str(reason)
