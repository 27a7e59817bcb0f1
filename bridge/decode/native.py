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

import json
import mmap
import os
import struct
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge import _native
from bridge._native import ffi, lib
from bridge.codepages import decode_table
from bridge.copybook.layout import Layout, Usage
from bridge.decode.encoder import EditedPicture
from bridge.decode.plan import REASONS, Plan, compile_plan
from bridge.decode.verdict import DecodeOptions, FieldError, Reason, RecordResult
from bridge.errors import BridgeError

__all__ = ["Batch", "FramingError", "NativeDecoder"]

BATCH_RECORDS = 8192
WINDOW_BYTES = 64 << 20


class FramingError(BridgeError):
    """The file's record framing is broken at a byte offset."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at byte {offset}")
        self.offset = offset


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

    @property
    def count(self) -> int:
        return len(self.offsets)

    def documents(self) -> list[bytes]:
        """Each record's JSON document (C never writes a raw newline inside one)."""
        docs = self.jsonl.tobytes().split(b"\n")
        docs.pop()
        return docs

    def results(self) -> list[RecordResult]:
        return [
            RecordResult(self.first_record + i, off, length, doc, self.errors.get(i, ()))
            for i, (off, length, doc) in enumerate(
                zip(self.offsets, self.lengths, self.documents(), strict=True)
            )
        ]


class NativeDecoder:
    """Decode records of one layout with the C core."""

    def __init__(
        self,
        layout: Layout,
        options: DecodeOptions | None = None,
        *,
        out_bytes: int = 4 << 20,
        error_cap: int = 4096,
    ) -> None:
        self.layout = layout
        self.options = options or DecodeOptions()
        self.plan: Plan = compile_plan(layout, self.options)
        self._out = bytearray(max(out_bytes, 1024))
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
    ) -> Batch:
        """Decode records in ``data``: at ``offsets`` with ``lengths``, or back to back every
        ``fixed_length`` bytes (the whole records in data). May decode fewer records than given
        when the output buffer fills; ``Batch.count`` says how many."""
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
        if offsets is not None and lengths is not None:
            off_arr = offsets if isinstance(offsets, array) else array("Q", offsets)
            len_arr = lengths if isinstance(lengths, array) else array("I", lengths)
            off_c = ffi.from_buffer("uint64_t[]", off_arr)
            len_c = ffi.from_buffer("uint32_t[]", len_arr)
        with ffi.from_buffer(data) as src:
            done = self._run(
                src, len(data), off_c=off_c, len_c=len_c, fixed=fixed_length, n=n, base=base_offset
            )
            errors = self._collect_errors(data, base_offset, offsets, lengths, fixed_length)
        if offsets is None:
            offs: Sequence[int] = range(
                base_offset, base_offset + done * fixed_length, fixed_length
            )
            lens: Sequence[int] = [fixed_length] * done
        else:
            assert lengths is not None
            offs = [base_offset + o for o in offsets[:done]]
            lens = list(lengths[:done])
        view = memoryview(self._out)[: self._batch.out_used]
        return Batch(first_record, offs, lens, view, errors)

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
        """One record did not fit the empty buffers: double them."""
        if self._batch.errors_used >= self._error_cap - 1 or self._error_cap < 1 << 20:
            self._error_cap *= 2
            self._errors = ffi.new("bridge_error[]", self._error_cap)
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
            error = self._field_error(e, data, base, rec_start, rec_end)
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
        """The record's document as Python values (decimals as Decimal, exactly)."""
        doc: dict[str, Any] = json.loads(self.decode(record).document, parse_float=Decimal)
        return doc

    def decode_file(
        self,
        path: str | os.PathLike[str],
        framing: str = "fixed",
        *,
        record_length: int | None = None,
        batch_records: int = BATCH_RECORDS,
        window_bytes: int = WINDOW_BYTES,
    ) -> Iterator[Batch]:
        """Batches of a whole file, through an mmap window of ``window_bytes``.

        ``framing`` is ``fixed`` (``record_length`` defaults to the layout's) or ``rdw``.
        Each batch is valid until the next one is asked for.
        """
        if framing == "fixed":
            yield from self._file_fixed(
                Path(path), record_length or self.layout.record_length, batch_records, window_bytes
            )
        elif framing == "rdw":
            yield from self._file_rdw(Path(path), batch_records, window_bytes)
        else:
            raise ValueError(f"framing must be fixed or rdw, not {framing!r}")

    def _file_fixed(
        self, path: Path, lrecl: int, batch_records: int, window_bytes: int
    ) -> Iterator[Batch]:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            pos = 0
            number = 0
            window = max(window_bytes, lrecl + mmap.ALLOCATIONGRANULARITY)
            while size - pos >= lrecl:
                start = pos - pos % mmap.ALLOCATIONGRANULARITY
                end = min(size, start + window)
                with _Window(fh.fileno(), start, end - start) as mm:
                    skip = pos - start
                    whole = (end - pos) // lrecl
                    done_here = 0
                    while done_here < whole:
                        take = min(batch_records, whole - done_here)
                        lo = skip + done_here * lrecl
                        view = memoryview(mm)[lo : lo + take * lrecl]
                        try:
                            batch = self.decode_batch(
                                view,
                                fixed_length=lrecl,
                                base_offset=start + lo,
                                first_record=number,
                            )
                            yield batch
                        finally:
                            view.release()
                        done_here += batch.count
                        number += batch.count
                    pos += whole * lrecl
            if pos != size:
                raise FramingError(f"a short last record ({size - pos} of {lrecl} bytes)", pos)

    def _file_rdw(self, path: Path, batch_records: int, window_bytes: int) -> Iterator[Batch]:
        offsets = array("Q", bytes(8 * batch_records))
        lengths = array("I", bytes(4 * batch_records))
        n_c = ffi.new("size_t *")
        next_c = ffi.new("size_t *")
        status_c = ffi.new("int *")
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            pos = 0
            number = 0
            window = max(window_bytes, (1 << 16) + 2 * mmap.ALLOCATIONGRANULARITY)
            while pos < size:
                start = pos - pos % mmap.ALLOCATIONGRANULARITY
                end = min(size, start + window)
                with _Window(fh.fileno(), start, end - start) as mm:
                    at = pos - start
                    while True:
                        with ffi.from_buffer(mm) as src:
                            _native.ensure(
                                lib.bridge_frame_rdw(
                                    src,
                                    len(mm),
                                    at,
                                    ffi.from_buffer("uint64_t[]", offsets),
                                    ffi.from_buffer("uint32_t[]", lengths),
                                    batch_records,
                                    n_c,
                                    next_c,
                                    status_c,
                                ),
                                "frame rdw",
                            )
                        n, nxt, status = int(n_c[0]), int(next_c[0]), int(status_c[0])
                        done = 0
                        while done < n:
                            batch = self.decode_batch(
                                mm,
                                offsets[done:n],
                                lengths[done:n],
                                base_offset=start,
                                first_record=number,
                            )
                            yield batch
                            done += batch.count
                            number += batch.count
                        at = nxt
                        if status == _native.FRAME_BROKEN:
                            raise FramingError("a broken record descriptor", start + at)
                        if status != _native.FRAME_CAP:
                            break
                    pos = start + at
                    if status == _native.FRAME_PARTIAL and end == size:
                        raise FramingError("a truncated record", pos)


class _Window:
    """A read-only mmap of part of a file, closed (unmapped) on exit."""

    def __init__(self, fd: int, offset: int, length: int) -> None:
        self.mm = mmap.mmap(fd, length, access=mmap.ACCESS_READ, offset=offset)
        if hasattr(mmap, "MADV_SEQUENTIAL"):
            self.mm.madvise(mmap.MADV_SEQUENTIAL)

    def __enter__(self) -> mmap.mmap:
        return self.mm

    def __exit__(self, *exc: object) -> None:
        self.mm.close()


def _message(decoder: NativeDecoder, e: Any, reason: Reason, raw: bytes, rec_start: int) -> str:
    """The error's message, worded as the reference decoder words it (tests compare them)."""
    op = decoder.plan.ops[int(e.op)]
    f = op.field
    assert f is not None
    i = int(e.detail)
    byte = raw[i] if i < len(raw) else 0
    codepage = decoder.options.codepage
    if reason is Reason.RECORD_TOO_SHORT:
        start = int(e.offset) - rec_start
        have = max(0, i - start)
        return f"record ends after {i} bytes; {f.length}-byte item at {start} has {have}"
    if reason is Reason.ODO_OUT_OF_RANGE:
        assert f.occurs is not None and f.occurs.depending_on is not None
        count = f.occurs.depending_on
        if i == 0:
            return f"count {count} was not decoded before the table"
        shown = "did not decode" if i == 1 else f"is {int(e.value)}"
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
        if byte & 15 > 9:
            return f"byte {i} X'{byte:02X}' is not a digit"
        sign_at = 0 if f.signed and f.sign_leading else len(raw) - 1
        if i == sign_at and not f.sign_separate:
            return f"byte {i} X'{byte:02X}' has zone {byte >> 4:X}"
        return f"byte {i} X'{byte:02X}' has zone {byte >> 4:X}, not F"
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
