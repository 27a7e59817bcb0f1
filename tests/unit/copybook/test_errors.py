"""Every class of copybook error names the line and column of the offending text."""

from __future__ import annotations

import pytest

from bridge.copybook.compiler import compile_text
from bridge.errors import CopybookError, Diagnostic


def errors(text: str) -> list[Diagnostic]:
    with pytest.raises(CopybookError) as info:
        compile_text(text, name="t.cpy")
    return list(info.value.diagnostics)


# Each case: copybook (area A starts in column 8), then (line, column, message fragment) of the
# first diagnostic. Columns are counted by hand on the text as written.
CASES = {
    "bad level": (
        "       01 R.\n       55 A PIC X.",
        (2, 8, "invalid level number 55"),
    ),
    "level 00": ("       00 R PIC X.", (1, 8, "invalid level number 00")),
    "not a level": ("       01 R.\n       AB PIC X.", (2, 8, "expected a level number")),
    "bad picture symbol": (
        "       01 R.\n           05 A PIC 9(3)Q9.",
        (2, 25, "'Q' is not a PICTURE symbol"),  # PIC string at 21, Q is its 5th character
    ),
    "bad repetition": (
        "       01 R.\n           05 A PIC X(0).",
        (2, 22, "repetition count"),
    ),
    "picture S not first": (
        "       01 R.\n           05 A PIC 9S.",
        (2, 22, "S must be the first symbol"),
    ),
    "two V": ("       01 R.\n           05 A PIC 9V9V9.", (2, 24, "only one V")),
    "floating point edit": (
        "       01 R.\n           05 A PIC +9.9E+99.",
        (2, 25, "floating-point editing"),
    ),
    "unknown usage": (
        "       01 R.\n           05 A PIC 9(3) USAGE COMP-9.",
        (2, 32, "unknown USAGE 'COMP-9'"),
    ),
    "unknown bare usage": (
        "       01 R.\n           05 A PIC 9(3) COMPUTATIONAL-7.",
        (2, 26, "unknown USAGE"),
    ),
    "unsupported usage": (
        "       01 R.\n           05 A USAGE PROCEDURE-POINTER.",
        (2, 23, "USAGE PROCEDURE-POINTER is not supported"),
    ),
    "unsupported clause": (
        "       01 R GROUP-USAGE NATIONAL.\n           05 A PIC N.",
        (1, 13, "GROUP-USAGE clause is not supported"),
    ),
    "unexpected word": (
        "       01 R.\n           05 A PIC X FOO.",
        (2, 23, "unexpected 'FOO'"),
    ),
    "missing period mid-file": (
        "       01 R.\n           05 A PIC X\n           05 B PIC X.",
        (3, 12, "missing period before level number 05"),
    ),
    "clause twice": (
        "       01 R.\n           05 A PIC X PIC 9.",
        (2, 23, "PICTURE clause given twice"),
    ),
    "redefines unknown": (
        "       01 R.\n           05 A PIC X.\n           05 B REDEFINES NOPE PIC X.",
        (3, 27, "REDEFINES names NOPE, which is not defined"),
    ),
    "redefines not adjacent": (
        "       01 R.\n           05 A PIC X.\n           05 B PIC X.\n"
        "           05 C REDEFINES A PIC X.",
        (4, 27, "must be the one just before"),
    ),
    "redefines an ODO table": (
        "       01 R.\n           05 N PIC 9.\n"
        "           05 A OCCURS 1 TO 3 DEPENDING ON N PIC X.\n"
        "           05 B REDEFINES A PIC X(3).",
        (4, 27, "OCCURS DEPENDING ON"),
    ),
    "01 redefines unknown": (
        "       01 R PIC X.\n       01 S REDEFINES T PIC X.",
        (2, 23, "REDEFINES names T"),
    ),
    "odo object not found": (
        "       01 R.\n           05 T OCCURS 1 TO 5 DEPENDING ON NOPE PIC X.",
        (2, 44, "OCCURS DEPENDING ON object NOPE not found in record R"),
    ),
    "odo object after table": (
        "       01 R.\n           05 T OCCURS 1 TO 5 DEPENDING ON N PIC X.\n           05 N PIC 9.",
        (2, 44, "must come before the table"),
    ),
    "odo object in its table": (
        "       01 R.\n           05 T OCCURS 1 TO 5 DEPENDING ON N.\n              10 N PIC 9.",
        (2, 44, "inside its own table"),
    ),
    "odo object not numeric": (
        "       01 R.\n           05 N PIC X.\n           05 T OCCURS 1 TO 5 DEPENDING ON N PIC X.",
        (3, 44, "integer numeric item"),
    ),
    "odo max below min": (
        "       01 R.\n           05 N PIC 9.\n           05 T OCCURS 5 TO 2 DEPENDING ON N PIC X.",
        (3, 17, "maximum is below the minimum"),
    ),
    "occurs at 01": ("       01 R OCCURS 3 PIC X.", (1, 13, "OCCURS is not allowed at level 01")),
    "renames unknown": (
        "       01 R.\n           05 A PIC X.\n       66 S RENAMES NOPE.",
        (3, 21, "RENAMES object NOPE not found in record R"),
    ),
    "renames thru backwards": (
        "       01 R.\n           05 A PIC X.\n           05 B PIC X.\n"
        "       66 S RENAMES B THRU A.",
        (4, 28, "must end after B"),
    ),
    "renames item in table": (
        "       01 R.\n           05 A OCCURS 2 PIC X.\n       66 S RENAMES A.",
        (3, 21, "it is in a table"),
    ),
    "renames a record": ("       01 R PIC X.\n       66 S RENAMES R.", (2, 21, "level-01")),
    "renames without clause": (
        "       01 R.\n           05 A PIC X.\n       66 S.",
        (3, 11, "needs a RENAMES clause"),
    ),
    "66 before any record": ("       66 S RENAMES A.", (1, 8, "must follow the record")),
    "items after 66": (
        "       01 R.\n           05 A PIC X.\n       66 S RENAMES A.\n           05 B PIC X.",
        (4, 12, "cannot follow level-66 entries"),
    ),
    "unterminated literal": (
        "       01 R.\n           05 A PIC X(3) VALUE 'ABC.",
        (2, 32, "unterminated literal"),
    ),
    "level mismatch": (
        "       01 R.\n           05 A.\n              10 B PIC X.\n            07 C PIC X.",
        (4, 13, "level 07 does not match its sibling level 10"),
    ),
    "group with picture": (
        "       01 R.\n           05 A PIC X.\n              10 B PIC X.",
        (2, 21, "has subordinate items, so no PICTURE"),
    ),
    "no picture": ("       01 R.\n           05 A.", (2, 15, "A needs a PICTURE")),
    "comp-1 with picture": (
        "       01 R.\n           05 A PIC 9 COMP-1.",
        (2, 21, "USAGE COMP-1 item has no PICTURE"),
    ),
    "comp-3 alphanumeric": (
        "       01 R.\n           05 A PIC X(3) COMP-3.",
        (2, 26, "needs a numeric PICTURE"),
    ),
    "88 without value": (
        "       01 R.\n           05 A PIC X.\n              88 YES.",
        (3, 18, "needs a VALUE clause"),
    ),
    "88 first": ("       88 YES VALUE 'Y'.", (1, 8, "must follow the item")),
    "sync on subordinate group": (
        "       01 R.\n           05 G SYNC.\n              10 A PIC S9(4) COMP.",
        (2, 17, "SYNC on a group needs level 01"),
    ),
    "sign on unsigned": (
        "       01 R.\n           05 A PIC 9(3) SIGN LEADING SEPARATE.",
        (2, 26, "SIGN needs a signed numeric"),
    ),
    "justified numeric": (
        "       01 R.\n           05 A PIC 9(3) JUST RIGHT.",
        (2, 26, "JUSTIFIED cannot be used on numeric"),
    ),
    "bad value literal": (
        "       01 R.\n           05 A PIC X VALUE FOO.",
        (2, 29, "expected a literal"),
    ),
    "binary too long": (
        "       01 R.\n           05 A PIC S9(19) BINARY.",
        (2, 21, "at most 18 digits"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_position(case: str) -> None:
    text, (line, column, fragment) = CASES[case]
    first = errors(text)[0]
    assert (first.file, first.line, first.column) == ("t.cpy", line, column), first
    assert fragment in first.message
    assert first.text == text.splitlines()[line - 1].rstrip()


def test_several_errors_are_collected_in_one_run() -> None:
    text = (
        "       01 R.\n"
        "           05 A PIC 9(3) COMP-9.\n"
        "           05 B PIC XQ.\n"
        "           05 C PIC X\n"
        "           05 D REDEFINES NOPE PIC X.\n"
        "           05 E PIC X.\n"
    )
    found = [(d.line, d.message.split(":")[0]) for d in errors(text)]
    assert [line for line, _ in found] == [2, 3, 5, 5]
    assert "missing period before level number 05" in [m for _, m in found]


def test_diagnostic_string_shows_file_line_column_and_text() -> None:
    (d,) = errors("       01 R.\n           05 A PIC 9(3) COMP-9.")
    assert str(d) == ("t.cpy:2:26: unknown USAGE 'COMP-9'\n               05 A PIC 9(3) COMP-9.")


def test_empty_copybook() -> None:
    (d,) = errors("      * only a comment\n")
    assert "no data description entries" in d.message
