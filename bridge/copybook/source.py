"""Source stage: copybook files to one stream of code text that remembers where each char came from.

Reference (fixed) format: columns 1-6 are the sequence area (ignored, may hold anything), column 7
the indicator (``*`` and ``/`` comment, ``D`` debugging line -- a comment here, ``-`` continuation),
columns 8-72 the code, 73-80 ignored. Free format: the whole line is code. In both, ``*>`` starts
a comment that runs to the end of the line.

Copybooks as transfers and many hands leave them are read the way other compilers read them,
each with a warning naming the lines (never silently, and only where the reading is unambiguous):
a ``*`` comment in column 8 instead of 7 (banner lines of asterisks), a level number starting in
column 7 (the indicator column: the sequence area was cut by one column), and in free format a
line starting with ``*`` (a fixed-format comment whose sequence area was cut off). A ``*`` that
may start a PICTURE string continued from the line before stays code.

Tabs are expanded to stops every 8 columns before columns are counted, as IBM's ISPF/Rational
editors do when they import a file; columns in diagnostics count the expanded line.

``COPY name [REPLACING ...] .`` is expanded here, on text words, so the rest of the compiler never
sees it. Replaced text keeps the position of the text it replaced, so a diagnostic always names the
member file and line where the offending characters (or what they replaced) were written.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bridge.errors import CopybookNotFoundError, Diagnostic

MEMBER_SUFFIXES = ("", ".cpy", ".cbl", ".cob")
TAB_STOP = 8
_INDICATORS = frozenset(" *-/Dd")
_MAX_COPY_DEPTH = 20
# Members expanded in one compile: real copybooks copy dozens; members that each copy the
# next twice would double the text at every level.
_MAX_COPIES = 1000


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a named file."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class _Segment:
    start: int  # index in SourceText.text
    file: str
    line: int
    column: int
    fixed: bool = False  # every char maps to ``column`` (text substituted by COPY REPLACING)


@dataclass(frozen=True)
class SourceText:
    """Code text with a map back to the original files, and the original lines for messages."""

    text: str
    segments: tuple[_Segment, ...]
    lines: dict[str, tuple[str, ...]] = field(default_factory=dict)
    starts: tuple[int, ...] = field(default=(), compare=False)  # segment starts, for bisect

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts", tuple(s.start for s in self.segments))

    def position(self, index: int) -> Position:
        if not self.segments:
            return Position("", 1, 1)
        seg = self.segments[max(0, bisect.bisect_right(self.starts, index) - 1)]
        column = seg.column if seg.fixed else seg.column + index - seg.start
        return Position(seg.file, seg.line, column)

    def line_text(self, pos: Position) -> str:
        lines = self.lines.get(pos.file, ())
        return lines[pos.line - 1].rstrip() if 0 < pos.line <= len(lines) else ""

    def diagnostic(self, pos: Position, message: str) -> Diagnostic:
        return Diagnostic(pos.file, pos.line, pos.column, message, self.line_text(pos))


class _Builder:
    """Accumulates text and segments; segments are merged lazily by ``position``."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.segments: list[_Segment] = []
        self.length = 0

    def add(self, text: str, file: str, line: int, column: int, *, fixed: bool = False) -> None:
        if not text:
            return
        self.segments.append(_Segment(self.length, file, line, column, fixed))
        self.parts.append(text)
        self.length += len(text)

    def add_slice(self, src: SourceText, start: int, end: int) -> None:
        """Copy ``src.text[start:end]`` keeping its positions."""
        if start >= end:
            return
        i = max(0, bisect.bisect_right(src.starts, start) - 1)
        pos = start
        while pos < end:
            seg = src.segments[i]
            seg_end = src.segments[i + 1].start if i + 1 < len(src.segments) else len(src.text)
            stop = min(end, seg_end)
            column = seg.column if seg.fixed else seg.column + pos - seg.start
            self.add(src.text[pos:stop], seg.file, seg.line, column, fixed=seg.fixed)
            pos = stop
            i += 1

    def build(self, lines: dict[str, tuple[str, ...]]) -> SourceText:
        return SourceText("".join(self.parts), tuple(self.segments), lines)


# --------------------------------------------------------------------------- reading lines


def read_text(path: Path) -> str:
    # latin-1 never fails: a stray byte in a comment or sequence area must not stop the compile.
    return path.read_bytes().decode("latin-1")


_LEVEL_IN_SEQUENCE_AREA = re.compile(r"^\s*\d{1,2}\s+[A-Za-z]")
# A level number in column 7 (then a name, FILLER, or the end of the entry).
_LEVEL_IN_INDICATOR_COLUMN = re.compile(r"^\d{1,2}(\s+\S|\s*\.?\s*$)")
_PICTURE_OPEN = re.compile(r"(?i)\b(PIC|PICTURE)(\s+IS)?\s*$")


def level_in_indicator_column(line: str) -> bool:
    """True when a level number starts in column 7, where the indicator belongs."""
    return len(line) > 6 and bool(_LEVEL_IN_INDICATOR_COLUMN.match(line[6:72]))


def looks_free_format(lines: Sequence[str]) -> bool:
    """True when a file cannot be reference format: a code line with an impossible indicator in
    column 7, a level number and name in columns 1-6, or a ``*>`` comment before column 7.

    Sequence areas may hold anything, so only these clear signs count; anything else is fixed.
    """
    for line in lines:
        if not line.strip():
            continue
        if line.lstrip().startswith("*>") and line.index("*") < 6:
            return True
        if len(line) > 6 and line[6] not in _INDICATORS and not level_in_indicator_column(line):
            return True
        if _LEVEL_IN_SEQUENCE_AREA.match(line[:7]):
            return True
    return False


def _strip_inline_comment(code: str, quote: str | None) -> tuple[str, str | None]:
    """Cut a ``*>`` comment (outside literals); return the code and the literal still open."""
    i = 0
    while i < len(code):
        ch = code[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif code.startswith("*>", i):
            return code[:i], None
        i += 1
    return code, quote


@dataclass
class _Pending:
    """The current logical line: pieces of physical lines joined by continuations."""

    pieces: list[tuple[str, int, int]]  # (text, line, column)
    quote: str | None  # the quote of a literal left open at the end, if any


def raw_tab_in_sequence_area(raw_lines: Sequence[str] | None, number: int) -> bool:
    return raw_lines is not None and "\t" in raw_lines[number - 1][:7]


def scan_file(
    lines: Sequence[str],
    file: str,
    *,
    free: bool,
    diagnostics: list[Diagnostic],
    raw_lines: Sequence[str] | None = None,
) -> _Builder:
    """One file's code text (no COPY expansion yet); logical lines end with a newline.

    ``lines`` are tab-expanded; ``raw_lines`` (as read) tell where a tab sat in the sequence area.
    Lenient readings are reported in ``diagnostics`` as warnings, one per kind and file.
    """
    out = _Builder()
    pending: _Pending | None = None
    lenient: dict[str, list[int]] = {}  # kind of lenient reading -> the lines read that way
    last_code = ""  # the code before this line, to tell a continued PICTURE from a comment

    def picture_open() -> bool:
        code = pending.pieces[-1][0] if pending is not None else last_code
        return bool(_PICTURE_OPEN.search(code))

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            for text, line, column in pending.pieces:
                out.add(text, file, line, column)
            out.add("\n", file, pending.pieces[-1][1], 1, fixed=True)
        pending = None

    def diag(line: int, column: int, message: str) -> None:
        diagnostics.append(Diagnostic(file, line, column, message, lines[line - 1].rstrip()))

    for number, line in enumerate(lines, 1):
        if free:
            # Free format has no indicator column, hence no continuation lines either.
            stripped = line.lstrip()
            if not stripped or stripped.startswith("*>") or stripped.startswith(">>D"):
                continue
            if stripped.startswith("*") and not picture_open():
                lenient.setdefault("free-star", []).append(number)
                continue
            indicator, code, first_col = " ", line, 1
        else:
            if len(line) < 7 or not line[6:72].strip():
                continue  # blank, or only a sequence number
            indicator, code, first_col = line[6], line[7:72], 8
            if raw_tab_in_sequence_area(raw_lines, number) and line[6:].lstrip()[:1] in ("*", "/"):
                continue  # "000100<tab>* ..." : a tab pushed the comment indicator past column 7
            if indicator in "*/Dd":
                continue  # comment, page eject, or debugging line (WITH DEBUGGING MODE is off)
            if indicator == " " and code[:1] == "*" and code[:2] != "*>" and not picture_open():
                lenient.setdefault("column-8", []).append(number)
                continue
            if indicator not in _INDICATORS and level_in_indicator_column(line):
                lenient.setdefault("column-7", []).append(number)
                indicator, code, first_col = " ", line[6:72], 7
            elif indicator not in _INDICATORS:
                diag(
                    number,
                    7,
                    f"invalid indicator {indicator!r} in column 7: was the sequence area cut "
                    "off? try --free",
                )
                continue
        if code.lstrip().startswith(">>"):
            # >>SOURCE FORMAT and friends: reported rather than half-honoured.
            col = first_col + len(code) - len(code.lstrip())
            diag(number, col, "compiler directives (>>...) are not supported; use --free/--fixed")
            continue
        if indicator != "-":
            flush()
            code, quote = _strip_inline_comment(code, None)
            pending = _Pending([(code, number, first_col)], quote)
            if free:
                last_code = code
            continue
        if pending is None:
            diag(number, 7, "continuation line with nothing to continue")
            continue
        body = code.lstrip()
        col = first_col + len(code) - len(body)
        text, last_line, last_col = pending.pieces[-1]
        if pending.quote:
            # An open literal runs to column 72 and resumes after the quote on this line.
            pending.pieces[-1] = (text.ljust(73 - last_col), last_line, last_col)
            if not body.startswith(pending.quote):
                diag(number, col, "a continued literal must resume with a quote")
                continue
            body, col = body[1:], col + 1
        else:
            # A continued word resumes at the first nonblank character.
            pending.pieces[-1] = (text.rstrip(), last_line, last_col)
        body, pending.quote = _strip_inline_comment(body, pending.quote)
        pending.pieces.append((body, number, col))
    flush()
    for kind, numbers in lenient.items():
        first = numbers[0]
        text = lines[first - 1]
        column = {"column-8": 8, "column-7": 7}.get(kind, len(text) - len(text.lstrip()) + 1)
        others = ""
        if len(numbers) > 1:
            shown = ", ".join(str(n) for n in numbers[1:11])
            more = f" and {len(numbers) - 11} more" if len(numbers) > 11 else ""
            others = f" (also line{'s' if len(numbers) > 2 else ''} {shown}{more})"
        diagnostics.append(
            Diagnostic(
                file,
                first,
                column,
                _LENIENT_MESSAGES[kind] + others,
                text.rstrip(),
                severity="warning",
            )
        )
    return out


_LENIENT_MESSAGES = {
    "column-8": "'*' in column 8 read as a comment line (the indicator column is 7)",
    "column-7": "level number in column 7, the indicator column, read as code: the sequence "
    "area looks cut by one column",
    "free-star": "line starting with '*' read as a comment (a fixed-format comment line; "
    "free format comments start with '*>')",
}


# --------------------------------------------------------------------------- text words


@dataclass(frozen=True)
class Word:
    """A text word (COBOL's unit for COPY REPLACING): start/end index and its kind."""

    kind: str  # "word", "literal", "pseudo" (the == delimiter), "period"
    start: int
    end: int


_SINGLE = frozenset("():")
_LITERAL_PREFIX = re.compile(r"(?i)(NX|X|N|G|Z)?['\"]")


def text_words(text: str, begin: int = 0, end: int | None = None) -> list[Word]:
    """Split code text into text words; separators (space, ``, ; .`` before a space) are dropped.

    ``(``, ``)`` and ``:`` are words of their own, as IBM treats them as separators when matching
    pseudo-text, which is what makes ``==:TAG:==`` replace part of ``:TAG:-NAME``.
    """
    end = len(text) if end is None else end
    words: list[Word] = []
    i = begin

    def sep_follows(j: int) -> bool:
        return j + 1 >= end or text[j + 1].isspace()

    while i < end:
        ch = text[i]
        if ch.isspace() or (ch in ",;" and sep_follows(i)):
            i += 1
        elif text.startswith("==", i):
            words.append(Word("pseudo", i, i + 2))
            i += 2
        elif ch == "." and sep_follows(i):
            words.append(Word("period", i, i + 1))
            i += 1
        elif ch in _SINGLE:
            words.append(Word("word", i, i + 1))
            i += 1
        elif m := _LITERAL_PREFIX.match(text, i):
            quote = text[m.end() - 1]
            j = m.end()
            while j < end:
                if text[j] == quote:
                    if j + 1 < end and text[j + 1] == quote:
                        j += 2
                        continue
                    break
                if text[j] == "\n":
                    break
                j += 1
            words.append(Word("literal", i, min(j + 1, end)))
            i = j + 1
        else:
            j = i
            while j < end:
                c = text[j]
                if c.isspace() or c in _SINGLE or c in "'\"" or text.startswith("==", j):
                    break
                if c in ".,;" and sep_follows(j):
                    break
                j += 1
            words.append(Word("word", i, j))
            i = j
    return words


# --------------------------------------------------------------------------- COPY


@dataclass(frozen=True)
class _Replacing:
    old: tuple[str, ...]  # text words to match (upper-cased outside literals)
    new_start: int  # replacement text, as a slice of the including file's text
    new_end: int
    mode: str = ""  # "", "LEADING" or "TRAILING"


def _key(text: str, word: Word) -> str:
    s = text[word.start : word.end]
    return s if word.kind == "literal" else s.upper()


class Expander:
    """Reads a copybook and every member it copies, into one SourceText."""

    def __init__(self, include_dirs: Sequence[Path], free_format: bool | None) -> None:
        self.include_dirs = tuple(include_dirs)
        self.free_format = free_format
        self.lines: dict[str, tuple[str, ...]] = {}
        self.diagnostics: list[Diagnostic] = []
        self.copies = 0  # members expanded so far, against _MAX_COPIES
        self.over_limit = False

    def load_text(self, text: str, file: str, base_dir: Path | None) -> SourceText:
        return self._expand(text, file, base_dir, ())

    def load_file(self, path: Path) -> SourceText:
        return self._expand(read_text(path), str(path), path.parent, ())

    def _expand(
        self, text: str, file: str, base_dir: Path | None, stack: tuple[str, ...]
    ) -> SourceText:
        raw_lines = text.splitlines()
        lines = tuple(line.expandtabs(TAB_STOP) for line in raw_lines)
        self.lines[file] = lines
        free = looks_free_format(lines) if self.free_format is None else self.free_format
        src = scan_file(
            lines, file, free=free, diagnostics=self.diagnostics, raw_lines=raw_lines
        ).build(self.lines)
        words = text_words(src.text)
        out = _Builder()
        done = 0
        i = 0
        while i < len(words):
            w = words[i]
            if w.kind == "word" and src.text[w.start : w.end].upper() == "COPY":
                stmt = self._copy_statement(src, words, i)
                if stmt is None:
                    # Reported; drop the statement through its period so no errors follow from it.
                    out.add_slice(src, done, w.start)
                    i += 1
                    while i < len(words) and words[i].kind != "period":
                        i += 1
                    done = words[i].end if i < len(words) else len(src.text)
                    i += 1
                    continue
                name, replacing, next_i = stmt
                out.add_slice(src, done, w.start)
                member = self._member(src, words[i + 1], name, base_dir, (*stack, file))
                if member is not None:
                    self._splice(out, member, replacing, src)
                done = words[next_i - 1].end
                i = next_i
                continue
            i += 1
        out.add_slice(src, done, len(src.text))
        return out.build(self.lines)

    def _copy_statement(
        self, src: SourceText, words: list[Word], i: int
    ) -> tuple[str, list[_Replacing], int] | None:
        """Parse ``COPY name [OF|IN lib] [SUPPRESS] [REPLACING ...] .`` starting at words[i]."""
        text = src.text

        def err(word: Word, message: str) -> None:
            self.diagnostics.append(src.diagnostic(src.position(word.start), message))

        if i + 1 >= len(words) or words[i + 1].kind not in ("word", "literal"):
            err(words[i], "COPY needs a member name")
            return None
        raw = text[words[i + 1].start : words[i + 1].end]
        name = raw[1:-1] if words[i + 1].kind == "literal" else raw
        j = i + 2

        def upper(k: int) -> str:
            return text[words[k].start : words[k].end].upper() if k < len(words) else ""

        if upper(j) in ("OF", "IN"):
            j += 2  # the library name: members are looked up on the search path regardless
        if upper(j) == "SUPPRESS":
            j += 1
        replacing: list[_Replacing] = []
        if upper(j) == "REPLACING":
            j += 1
            while j < len(words) and words[j].kind != "period":
                mode = ""
                if upper(j) in ("LEADING", "TRAILING"):
                    mode = upper(j)
                    j += 1
                old = self._operand(src, words, j)
                if old is None:
                    err(words[min(j, len(words) - 1)], "expected ==pseudo-text== or a word")
                    return None
                old_words, _, _, j = old
                if upper(j) != "BY":
                    err(words[min(j, len(words) - 1)], "expected BY in COPY REPLACING")
                    return None
                new = self._operand(src, words, j + 1)
                if new is None:
                    err(words[min(j + 1, len(words) - 1)], "expected ==pseudo-text== or a word")
                    return None
                _, new_start, new_end, j = new
                if not old_words:
                    err(words[i], "COPY REPLACING pseudo-text to replace must not be empty")
                    return None
                replacing.append(_Replacing(tuple(old_words), new_start, new_end, mode))
        if j >= len(words) or words[j].kind != "period":
            err(words[min(j, len(words) - 1)], "COPY statement must end with a period")
            return None
        return name, replacing, j + 1

    def _operand(
        self, src: SourceText, words: list[Word], j: int
    ) -> tuple[list[str], int, int, int] | None:
        """A REPLACING operand: (its text words, text start, text end, index after it)."""
        if j >= len(words):
            return None
        if words[j].kind == "pseudo":
            k = j + 1
            while k < len(words) and words[k].kind != "pseudo":
                k += 1
            if k >= len(words):
                return None
            inner = words[j + 1 : k]
            keys = [_key(src.text, w) for w in inner]
            return keys, words[j].end, words[k].start, k + 1
        if words[j].kind in ("word", "literal"):
            w = words[j]
            return [_key(src.text, w)], w.start, w.end, j + 1
        return None

    def _member(
        self, src: SourceText, at: Word, name: str, base_dir: Path | None, stack: tuple[str, ...]
    ) -> SourceText | None:
        pos = src.position(at.start)
        path = find_member(name, ((base_dir,) if base_dir else ()) + self.include_dirs)
        if path is None:
            raise CopybookNotFoundError(
                f"{pos.file}:{pos.line}:{pos.column}: COPY member {name} not found in "
                + (", ".join(str(d) for d in self.include_dirs) or "the copybook's directory")
            )
        if str(path) in stack:
            self.diagnostics.append(src.diagnostic(pos, f"COPY {name} copies itself"))
            return None
        if self.over_limit:  # said once, where a limit was reached; expand nothing more
            return None
        self.copies += 1
        if len(stack) > _MAX_COPY_DEPTH or self.copies > _MAX_COPIES:
            self.over_limit = True
            message = (
                f"COPY nesting deeper than {_MAX_COPY_DEPTH} (at {name})"
                if len(stack) > _MAX_COPY_DEPTH
                else f"COPY {name}: more than {_MAX_COPIES} COPY statements expanded "
                "(members that copy others several times?)"
            )
            self.diagnostics.append(src.diagnostic(pos, message))
            return None
        return self._expand(read_text(path), str(path), path.parent, stack)

    def _splice(
        self, out: _Builder, member: SourceText, replacing: list[_Replacing], src: SourceText
    ) -> None:
        """Append ``member`` to ``out`` with REPLACING applied (leftmost match, first pair wins)."""
        words = [w for w in text_words(member.text) if w.kind != "pseudo"]
        keys = [_key(member.text, w) for w in words]
        done = 0
        i = 0
        while i < len(words):
            for rep in replacing:
                n = len(rep.old)
                if rep.mode:
                    key, old = keys[i], rep.old[0]
                    hit = key.startswith(old) if rep.mode == "LEADING" else key.endswith(old)
                    if not hit:
                        continue
                    w = words[i]
                    start = w.start if rep.mode == "LEADING" else w.end - len(old)
                    out.add_slice(member, done, start)
                    self._add_replacement(out, member, start, rep, src)
                    done = start + len(old)
                    i += 1
                    break
                if keys[i : i + n] == list(rep.old):
                    start, end = words[i].start, words[i + n - 1].end
                    out.add_slice(member, done, start)
                    self._add_replacement(out, member, start, rep, src)
                    done = end
                    i += n
                    break
            else:
                i += 1
        out.add_slice(member, done, len(member.text))

    @staticmethod
    def _add_replacement(
        out: _Builder, member: SourceText, at: int, rep: _Replacing, src: SourceText
    ) -> None:
        # Replacement text takes the position of what it replaced: that is where a reader looks.
        pos = member.position(at)
        text = src.text[rep.new_start : rep.new_end].strip()
        out.add(text.replace("\n", " "), pos.file, pos.line, pos.column, fixed=True)


def find_member(name: str, dirs: Sequence[Path]) -> Path | None:
    """NAME, NAME.cpy, NAME.cbl or NAME.cob in the first directory that has one (any case)."""
    wanted = [(name + suffix).lower() for suffix in MEMBER_SUFFIXES]
    for d in dirs:
        try:
            entries = {e.lower(): e for e in os.listdir(d)}
        except OSError:
            continue
        for w in wanted:
            if w in entries and (d / entries[w]).is_file():
                return d / entries[w]
    return None
