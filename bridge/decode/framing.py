"""Where each record is in a file: the pure-Python reference framing.

``frame(buf, framing, ...)`` yields one :class:`RecordSpan` per record, numbered from 0, with
the file offset of the record's first data byte (after any RDW/BDW and per-record prefix) and
its length. Bad framing raises :class:`FramingError` with the byte offset of the problem; a
file is never silently truncated.

Framings:

- ``fixed``: records of ``record_length`` bytes back to back (z/OS RECFM=F/FB unloaded).
- ``rdw`` / ``rdw-le``: each record starts with a 4-byte RDW: a 2-byte length (big- or
  little-endian; including the RDW unless ``rdw_includes_header=False``), then 2 zero bytes.
  Some PC transfer tools write ``rdw-le`` the other way round: 2 zero bytes, then the
  little-endian length. ``rdw-le`` reads both: the first RDW tells which (its length is never
  0), and every later RDW must be the same.
- ``vb``: blocks, each with a 4-byte BDW (2-byte length including the BDW and 2 zero bytes, or
  with the high bit set an extended 4-byte length) holding RDW records (RECFM=VB).
- ``vbs``: like ``vb``, but the RDW's third byte is a segment code (0 complete, 1 first,
  2 last, 3 middle) and a record may span segments and blocks (RECFM=VBS).
- ``odo``: no descriptors; each record is as long as its layout says once the OCCURS
  DEPENDING ON counts in its own bytes are read (``layout=`` is required).
- ``lines``: text, one record per line (COBOL LINE SEQUENTIAL): a record is the bytes up to an
  LF, less one CR just before it; a last line without an LF is a record too. A line may be
  shorter than ``record_length`` (LINE SEQUENTIAL trims trailing spaces): :meth:`RecordSpan.data`
  pads it with the code page's space. A longer line is a framing error, never cut.

Spanned records (VBS): their bytes are not contiguous in the file, so a span also lists its
``segments`` (file offset and length of each piece of data) and :meth:`RecordSpan.data`
reassembles them (a copy); a contiguous record's ``data`` is a zero-copy memoryview. ``offset``
is always where the record's first data byte is in the file, so record numbers and offsets
stay stable for resumption and deduplication whatever the framing. A short line's span keeps
the line's own ``length`` (the bytes in the file) and lists the ``padding`` its data gets.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bridge.codepages import space_byte
from bridge.copybook.layout import Layout
from bridge.decode.reference import record_extent
from bridge.decode.verdict import DecodeOptions, RecordResult, record_end, relocate
from bridge.errors import BridgeError

__all__ = [
    "FRAMINGS",
    "FileChangedError",
    "FramingError",
    "RecordSpan",
    "frame",
    "line_start",
    "long_line_error",
]

FRAMINGS = ("fixed", "rdw", "rdw-le", "vb", "vbs", "odo", "lines")

_SEGMENT_CODES = {0: "complete", 1: "first", 2: "last", 3: "middle"}

Buffer = bytes | bytearray | memoryview


class FramingError(BridgeError):
    """The file does not frame: a bad descriptor or a partial record, at byte ``offset``."""

    def __init__(self, offset: int, message: str, hint: str | None = None) -> None:
        self.offset = offset
        self.hint = hint
        text = f"offset {offset}: {message}"
        super().__init__(f"{text} ({hint})" if hint else text)


class FileChangedError(FramingError):
    """The file got shorter while it was read (another process truncated or rewrote it)."""

    def __init__(self, offset: int) -> None:
        super().__init__(
            offset, "file changed while reading (cut short by another process: run it again)"
        )


@dataclass(frozen=True)
class RecordSpan:
    """Record ``number`` is ``length`` bytes from file offset ``offset``.

    ``segments`` is empty for a contiguous record; for a record reassembled from VBS segments
    it lists every piece's (offset, length) in the file. ``padding`` is what a short line
    lacks of its record length (spaces of the code page; lines framing only).
    """

    number: int
    offset: int
    length: int
    segments: tuple[tuple[int, int], ...] = ()
    padding: bytes = b""
    # VB/VBS: the end of the block the record's bytes end in, when more of the block follows
    # (a resumption from just after this record starts inside that block). Framing state,
    # not part of what the record is: spans compare without it.
    block_end: int | None = field(default=None, compare=False)

    @property
    def end(self) -> int:
        """The file offset just past the record: where the next one's bytes begin."""
        return record_end(self.offset, self.length, self.segments)

    def data(self, buf: Buffer) -> memoryview | bytes:
        """The record's bytes: a view into ``buf``, or a copy for spanned or padded ones."""
        if self.segments:
            return b"".join(bytes(memoryview(buf)[at : at + n]) for at, n in self.segments)
        view = memoryview(buf)[self.offset : self.offset + self.length]
        return bytes(view) + self.padding if self.padding else view

    def place(self, result: RecordResult) -> RecordResult:
        """A result decoded from ``data``'s copy, placed back in the file: a short line keeps
        the line's length (its audit shows the line, not the padding); a spanned record
        keeps its pieces, and its field errors' offsets move into the pieces holding them."""
        if not (self.segments or self.padding):
            return result
        errors = relocate(result.errors, self.offset, self.segments)
        return replace(result, length=self.length, errors=errors, segments=self.segments)


@contextlib.contextmanager
def mapped(path: str | os.PathLike[str]) -> Iterator[memoryview]:
    """A file's bytes, mapped read-only, for ``frame``. An empty file (which mmap refuses) is
    an empty view, so it is framed like any other: no records, or a framing error when a
    header or trailer is expected. Views of it must be released before the block ends."""
    with Path(path).open("rb") as fh:
        if fh.seek(0, 2) == 0:
            yield memoryview(b"")
            return
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(mm)
        try:
            yield view
        finally:
            # A slice still alive (held by an exception's traceback) keeps the mapping until it
            # goes: closing it now would raise BufferError in place of the real error.
            with contextlib.suppress(BufferError):
                view.release()
                mm.close()


def frame(
    buf: Buffer,
    framing: str,
    *,
    record_length: int | None = None,
    rdw_includes_header: bool = True,
    skip_header: int = 0,
    skip_trailer: int = 0,
    record_prefix: int = 0,
    layout: Layout | None = None,
    codepage: str = "cp037",
    start: int | None = None,
    first_number: int = 0,
    block_end: int | None = None,
) -> Iterator[RecordSpan]:
    """The records of ``buf`` (see the module text for each framing).

    ``skip_header``/``skip_trailer`` bytes at the start/end of the file are not records;
    ``record_prefix`` bytes at the start of each record (after its RDW) are skipped.
    Descriptor errors raise when iteration reaches them (the records before are good); a fixed
    file whose size does not fit its record length raises before the first record.

    Resuming: ``start`` is where record ``first_number - 1``'s bytes end (its span's ``end``;
    a line's LF follows), and ``block_end`` the end of the VB/VBS block it lies in (its
    span's ``block_end``); the records from there are framed, numbered and worded as a
    whole-file run frames them.
    """
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}, not {framing!r}")
    data = memoryview(buf).cast("B")
    if skip_header < 0 or skip_trailer < 0 or record_prefix < 0:
        raise ValueError("skip_header, skip_trailer and record_prefix cannot be negative")
    if skip_header + skip_trailer > len(data):
        raise FramingError(
            0,
            f"{len(data)} bytes cannot hold a {skip_header}-byte header "
            f"and a {skip_trailer}-byte trailer",
        )
    end = len(data) - skip_trailer
    at = skip_header if start is None else start
    n = first_number
    if framing == "lines":
        if start is not None and first_number > 0:
            at = line_start(data, at, end)  # past the previous record's line end
        lrecl = record_length if record_length is not None else _layout(layout).record_length
        yield from _padded(
            _lines(data, at, end, lrecl, record_prefix, n),
            lrecl,
            record_prefix,
            space_byte(codepage),
            n,
        )
        return
    pieces: Iterator[tuple[list[tuple[int, int]], int | None]]
    if framing == "fixed":
        lrecl = record_length if record_length is not None else _layout(layout).record_length
        pieces = _fixed(data, skip_header, end, lrecl + record_prefix, at)
    elif framing in ("rdw", "rdw-le"):
        little = framing == "rdw-le"
        pieces = _rdw(
            data,
            at,
            end,
            little=little,
            inclusive=rdw_includes_header,
            number=n,
            first=skip_header,
        )
    elif framing in ("vb", "vbs"):
        pieces = _vb(data, at, end, spanned=framing == "vbs", number=n, block_end=block_end)
    else:
        options = DecodeOptions(codepage=codepage)
        pieces = _odo(
            data, at, end, _layout(layout), prefix=record_prefix, options=options, number=n
        )
    for number, (segments, in_block) in enumerate(pieces, n):
        yield _span(number, segments, record_prefix, in_block)


def _layout(layout: Layout | None) -> Layout:
    if layout is None:
        raise ValueError("this framing needs record_length= or layout=")
    return layout


def _span(
    number: int, segments: list[tuple[int, int]], prefix: int, block_end: int | None = None
) -> RecordSpan:
    """A span of the pieces' data less the first ``prefix`` bytes."""
    total = sum(n for _, n in segments)
    if prefix > total:
        raise FramingError(
            segments[0][0], f"record {number} has {total} bytes, less than its {prefix}-byte prefix"
        )
    left = prefix
    kept: list[tuple[int, int]] = []
    for at, n in segments:
        cut = min(left, n)
        left -= cut
        if n > cut:
            kept.append((at + cut, n - cut))
    if not kept:  # an empty record sits just after its last (prefix) byte
        at, n = segments[-1]
        return RecordSpan(number, at + n, 0, block_end=block_end)
    pieces = tuple(kept) if len(kept) > 1 else ()
    return RecordSpan(number, kept[0][0], total - prefix, pieces, block_end=block_end)


# --- fixed -----------------------------------------------------------------------------------


def _fixed(
    data: memoryview, start: int, end: int, step: int, at: int
) -> Iterator[tuple[list[tuple[int, int]], None]]:
    """Records from ``at`` (a record boundary); ``start``: the first record's, for the check."""
    if step <= 0:
        raise ValueError(f"the record length must be positive, not {step}")
    size = end - start
    whole, extra = divmod(size, step)
    if extra:
        # Say so before any record is read: a caller must not take a cut file as whole.
        at = start + whole * step
        raise FramingError(
            at,
            f"{size} bytes are not a multiple of the record length {step}: record {whole} is "
            f"cut off after {extra} bytes",
            _text_mode_hint(data[start:end], step),
        )
    for pos in range(at, end, step):
        yield [(pos, step)], None


def _text_mode_hint(data: memoryview, step: int) -> str | None:
    """Why a fixed file may not fit its LRECL: it went through a text-mode transfer."""
    raw = bytes(data[: 64 * 1024])
    hints = []
    lines = raw.split(b"\n")
    if len(lines) > 2:
        widths = {len(line.removesuffix(b"\r")) for line in lines[:-1]}
        if widths == {step}:
            hints.append("every record ends in LF or CR LF")
        elif b"\r\n" in raw or len(widths) <= 2:
            hints.append("the data has line ends (LF or CR LF) between records")
    ascii_digits = sum(raw.count(bytes([b])) for b in range(0x30, 0x3A))
    ebcdic_digits = sum(raw.count(bytes([b])) for b in range(0xF0, 0xFA))
    if ascii_digits > ebcdic_digits:
        hints.append("digits are ASCII X'30'-X'39', not EBCDIC X'F0'-X'F9'")
    if not hints:
        return None
    return "; ".join(hints) + ": was the file transferred in text (ASCII) mode? Use binary"


# --- RDW, VB, VBS ----------------------------------------------------------------------------


def rdw_length_last(first: bytes) -> bool:
    """True when an ``rdw-le`` file's first RDW holds its length in bytes 2-3 (bytes 0-1 zero)."""
    return len(first) >= 4 and first[0] == 0 and first[1] == 0 and (first[2] or first[3]) != 0


def _rdw(
    data: memoryview,
    start: int,
    end: int,
    *,
    little: bool,
    inclusive: bool,
    number: int = 0,
    first: int | None = None,
) -> Iterator[tuple[list[tuple[int, int]], None]]:
    first = start if first is None else first
    at = start
    # The variant the file's first RDW shows (at ``first``), for the whole file: a resumed
    # run reads it there too.
    last = little and rdw_length_last(bytes(data[first : first + 4]))
    while at < end:
        if end - at < 4:
            raise FramingError(at, f"record {number}: the file ends inside its RDW")
        if last:
            length = int.from_bytes(data[at + 2 : at + 4], "little")
            total = length if inclusive else length + 4
            if data[at] or data[at + 1]:
                raise FramingError(
                    at,
                    f"record {number}: RDW {bytes(data[at : at + 4]).hex()} has non-zero "
                    "bytes 0-1, and the file's first RDW had its length in bytes 2-3",
                )
        else:
            length = int.from_bytes(data[at : at + 2], "little" if little else "big")
            total = length if inclusive else length + 4
        if not last and (data[at + 2] or data[at + 3]):
            raise FramingError(
                at,
                f"record {number}: RDW {bytes(data[at : at + 4]).hex()} has non-zero bytes 2-3",
                "is there a block descriptor (vb) or no RDW at all (fixed)?",
            )
        if total < 4:
            raise FramingError(at, f"record {number}: RDW length {length} is less than 4")
        if at + total > end:
            raise FramingError(
                at,
                f"record {number}: RDW says {total} bytes, the file has {end - at} left",
            )
        yield [(at + 4, total - 4)], None
        at += total
        number += 1


def _vb(
    data: memoryview,
    start: int,
    end: int,
    *,
    spanned: bool,
    number: int = 0,
    block_end: int | None = None,
) -> Iterator[tuple[list[tuple[int, int]], int | None]]:
    """Records and where their block ends when more of it follows them. ``block_end``: the
    end of the block ``start`` lies inside (a resumption between two of its records)."""
    at = start
    pending: list[tuple[int, int]] | None = None  # segments of an unfinished spanned record
    pending_at = 0
    resume = block_end if block_end is not None and block_end > start else None
    while at < end:
        if resume is not None:  # the rest of the block a resumption starts in
            block_end, rdw, resume = resume, at, None
        else:
            block_end = at + _bdw(data, at, end)
            rdw = at + 4
        while rdw < block_end:
            if block_end - rdw < 4:
                raise FramingError(rdw, "the block ends inside an RDW")
            length = int.from_bytes(data[rdw : rdw + 2], "big")
            code = data[rdw + 2]
            if length < 4 or rdw + length > block_end:
                raise FramingError(
                    rdw, f"RDW length {length} does not fit the block ({block_end - rdw} left)"
                )
            if data[rdw + 3] or (code and not spanned) or code > 3:
                raise FramingError(
                    rdw,
                    f"RDW {bytes(data[rdw : rdw + 4]).hex()} has bad bytes 2-3",
                    "spanned records need vbs" if code in (1, 2, 3) and not spanned else None,
                )
            piece = (rdw + 4, length - 4)
            if code in (0, 1):  # complete or first: no record may be open
                if pending is not None:
                    raise FramingError(
                        rdw,
                        f"a {_SEGMENT_CODES[code]} segment while record {number} (from offset "
                        f"{pending_at}) lacks its last segment",
                    )
                if code == 0:
                    yield [piece], _more(rdw + length, block_end)
                    number += 1
                else:
                    pending, pending_at = [piece], rdw
            else:  # last or middle: continue the open record
                if pending is None:
                    raise FramingError(
                        rdw, f"a {_SEGMENT_CODES[code]} segment with no first segment before it"
                    )
                pending.append(piece)
                if code == 2:
                    yield pending, _more(rdw + length, block_end)
                    pending = None
                    number += 1
            rdw += length
        at = block_end
    if pending is not None:
        raise FramingError(pending_at, f"record {number} has no last segment before the end")


def _bdw(data: memoryview, at: int, end: int) -> int:
    """The length of the block whose BDW is at ``at``."""
    if end - at < 4:
        raise FramingError(at, "the file ends inside a block descriptor (BDW)")
    if data[at] & 0x80:  # extended BDW: a 31-bit length in all four bytes
        block = int.from_bytes(data[at : at + 4], "big") & 0x7FFFFFFF
    else:
        block = int.from_bytes(data[at : at + 2], "big")
        if data[at + 2] or data[at + 3]:
            raise FramingError(
                at,
                f"BDW {bytes(data[at : at + 4]).hex()} has non-zero bytes 2-3",
                "is this RDW-only (rdw) rather than blocked (vb)?",
            )
    if block < 4:
        raise FramingError(at, f"BDW length {block} is less than 4")
    if at + block > end:
        raise FramingError(at, f"BDW says {block} bytes, the file has {end - at} left")
    return block


def _more(at: int, block_end: int) -> int | None:
    """``block_end`` when the block goes on after ``at``."""
    return block_end if at < block_end else None


# --- ODO-driven length -----------------------------------------------------------------------


def _odo(
    data: memoryview,
    start: int,
    end: int,
    layout: Layout,
    *,
    prefix: int,
    options: DecodeOptions,
    number: int = 0,
) -> Iterator[tuple[list[tuple[int, int]], None]]:
    # The reference decoder lays the record out exactly as decoding will.
    at = start
    while at < end:
        window = bytes(data[at + prefix : min(end, at + prefix + layout.record_length)])
        length, problem = record_extent(layout, window, options)
        if problem is not None:
            raise FramingError(at, f"record {number}: {problem}")
        if at + prefix + length > end:
            raise FramingError(
                at, f"record {number} needs {prefix + length} bytes, the file has {end - at}"
            )
        yield [(at, prefix + length)], None
        at += prefix + length
        number += 1


# --- lines (LINE SEQUENTIAL) -----------------------------------------------------------------


def _lines(
    data: memoryview, start: int, end: int, lrecl: int, prefix: int, number: int = 0
) -> Iterator[list[tuple[int, int]]]:
    width = lrecl + prefix
    if width <= 0:
        raise ValueError(f"the record length must be positive, not {width}")
    # A good line has at most width bytes, a CR and the LF: look no further for its end, so a
    # file that is not text fails at its first line instead of being searched whole.
    reach = width + 2
    at = start
    while at < end:
        window = bytes(data[at : min(end, at + reach)])
        lf = window.find(b"\n")
        if lf < 0 and len(window) == reach:
            raise long_line_error(data, at, end, number, lrecl, prefix)
        length, stop = (len(window), len(window)) if lf < 0 else (lf, lf + 1)
        if lf > 0 and window[lf - 1] == 0x0D:
            length -= 1
        if length > width:
            raise long_line_error(data, at, end, number, lrecl, prefix)
        yield [(at, length)]
        at += stop
        number += 1


def _padded(
    pieces: Iterator[list[tuple[int, int]]], lrecl: int, prefix: int, space: int, first: int = 0
) -> Iterator[RecordSpan]:
    for number, segments in enumerate(pieces, first):
        span = _span(number, segments, prefix)
        if span.length < lrecl:
            span = replace(span, padding=bytes([space]) * (lrecl - span.length))
        yield span


def line_start(data: Buffer, at: int, end: int) -> int:
    """Where the line after a record ending at ``at`` starts: past its LF or CR LF (a record's
    end, as a checkpoint keeps it, is where its data ends)."""
    view = memoryview(data)
    if at < end and view[at] == 0x0A:
        return at + 1
    if at + 1 < end and view[at] == 0x0D and view[at + 1] == 0x0A:
        return at + 2
    return at


def long_line_error(
    data: Buffer, at: int, end: int, number: int, lrecl: int, prefix: int
) -> FramingError:
    """The error for line ``number`` at ``at``, longer than its record (the native framing
    words it with this too)."""
    view = memoryview(data).cast("B")
    stop = at
    while stop < end:  # the line's end, a chunk at a time (it may be the whole file)
        chunk = bytes(view[stop : min(end, stop + (1 << 16))])
        lf = chunk.find(b"\n")
        if lf >= 0:
            stop += lf
            break
        stop += len(chunk)
    length = stop - at
    if stop < end and length and view[stop - 1] == 0x0D:
        length -= 1
    limit = f"the record length {lrecl}" + (f" and a {prefix}-byte prefix" if prefix else "")
    return FramingError(
        at,
        f"line {number + 1} (record {number}) has {length} bytes, more than {limit}",
        "a line may be shorter than its record, never longer: is the record length right, "
        "and is this a text file?",
    )
