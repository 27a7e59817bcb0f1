"""The exception tree: every error bridge raises on purpose derives from BridgeError.

Errors carry where they happened: line and column in a copybook, byte offset and field path in
a record file, so a person can go straight to the offending text or bytes.
"""

from __future__ import annotations

from dataclasses import dataclass


class BridgeError(Exception):
    """Root of bridge's own errors."""


class NativeError(BridgeError):
    """The C core refused a call (a misuse, never bad data: bad data gets a verdict)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a copybook, at a 1-based line and column of a named file.

    A warning is something bridge accepted the way other compilers do (an IBM ``-W`` message, a
    lenient reading of the source); it never fails a compile but is always shown.
    """

    file: str
    line: int
    column: int
    message: str
    text: str = ""
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        kind = "warning: " if self.severity == "warning" else ""
        where = f"{self.file}:{self.line}:{self.column}: {kind}{self.message}"
        return f"{where}\n    {self.text}" if self.text else where


class CopybookError(BridgeError):
    """A copybook is invalid; holds every diagnostic found, not just the first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in diagnostics))


class CopybookNotFoundError(BridgeError):
    """A copybook file (or a COPY member) does not exist on the search path."""


class InputNotFoundError(BridgeError, FileNotFoundError):
    """A record file to decode or judge does not exist (or is not a regular file)."""


class RecordNotFoundError(BridgeError, LookupError):
    """A copybook has no level-01 record of the name asked for, or several and none was named."""
