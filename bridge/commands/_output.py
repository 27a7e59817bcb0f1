"""Output files that cannot destroy inputs: never an input, and replaced only when a run ends.

An output path (``--errors FILE``) is checked before anything is read: it may not be one of the
run's inputs (compared by device and inode, so another name or a hard link of the input is
caught too), and its directory must exist. A regular file is written to a temporary file beside
it and renamed over the target when the run ends, so an existing file is never truncated
before the run has something to replace it with, and a run that dies leaves it as it was. A
character device or FIFO (``/dev/stderr``, ``/dev/null``, a pipe) is written directly.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from bridge.commands._common import CommandFailed
from bridge.exitcodes import RET_IO_ERROR, RET_USAGE


def _identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def refuse_inputs(
    command: str, output: str, option: str, inputs: Iterable[str | os.PathLike[str] | None]
) -> None:
    """Stop with a usage error when ``output`` is the same file as one of ``inputs``."""
    target = _identity(output)
    if target is None:
        return
    for path in inputs:
        if path is not None and _identity(path) == target:
            print(
                f"bridge {command}: {option} {output} is the input {path}: "
                "writing it would destroy the input",
                file=sys.stderr,
            )
            raise CommandFailed(RET_USAGE)


def refuse_stdout_input(command: str, inputs: Iterable[str | os.PathLike[str] | None]) -> None:
    """Stop when stdout is redirected onto (appended to) one of the inputs being read."""
    try:
        st = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return
    if not stat.S_ISREG(st.st_mode):
        return
    for path in inputs:
        if path is not None and _identity(path) == (st.st_dev, st.st_ino):
            print(
                f"bridge {command}: stdout is the input {path}: writing it would destroy the input",
                file=sys.stderr,
            )
            raise CommandFailed(RET_USAGE)


class OutputFile:
    """A text output named on the command line, opened on the first write.

    ``check()`` says at once (before the input is read) why the path cannot be written;
    ``commit()`` renames the finished temporary file over the target; ``discard()`` removes it.
    """

    def __init__(self, command: str, path: str) -> None:
        self.command = command
        self.path = path
        self._fh: IO[str] | None = None
        self._tmp: str | None = None

    def _fail(self, why: str) -> CommandFailed:
        print(f"bridge {self.command}: cannot write {self.path}: {why}", file=sys.stderr)
        return CommandFailed(RET_IO_ERROR)

    def check(self) -> None:
        target = Path(self.path)
        if target.is_dir():
            raise self._fail("it is a directory")
        parent = target.parent
        if not parent.is_dir():
            raise self._fail(f"no directory {parent}")
        if not os.access(parent if not target.exists() else target, os.W_OK):
            raise self._fail("permission denied")

    def _direct(self) -> bool:
        try:
            mode = os.stat(self.path).st_mode
        except OSError:
            return False
        return not stat.S_ISREG(mode)

    def _open(self) -> IO[str]:
        if self._fh is None:
            try:
                if self._direct():
                    self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
                else:
                    target = Path(self.path)
                    fd, self._tmp = tempfile.mkstemp(
                        prefix=f".{target.name}.", suffix=".part", dir=target.parent
                    )
                    self._fh = os.fdopen(fd, "w", encoding="utf-8")
            except OSError as exc:
                raise self._fail(exc.strerror or str(exc)) from exc
        return self._fh

    def write(self, text: str) -> None:
        fh = self._open()
        try:
            fh.write(text)
        except OSError as exc:
            self.discard()
            raise self._fail(exc.strerror or str(exc)) from exc

    def commit(self) -> None:
        """Finish the file: flushed, and renamed over the target when it went to a temporary."""
        fh = self._open()  # an empty run still leaves an (empty) file
        try:
            fh.close()
            if self._tmp is not None:
                existing = _mode(self.path)
                os.chmod(self._tmp, existing if existing is not None else _default_mode())
                os.replace(self._tmp, self.path)
                self._tmp = None
        except OSError as exc:
            self.discard()
            raise self._fail(exc.strerror or str(exc)) from exc

    def discard(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None


def _mode(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
