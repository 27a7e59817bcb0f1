"""Source formats, continuation lines, tabs, and COPY ... REPLACING with positions kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.copybook.compiler import compile_copybook, compile_text
from bridge.copybook.source import find_member, looks_free_format
from bridge.errors import CopybookError, CopybookNotFoundError, Diagnostic


def card(seq: str, indicator: str, code: str, tail: str = "") -> str:
    """One fixed-format line: sequence area, indicator, code area (cols 8-72), cols 73-80."""
    assert len(seq) == 6 and len(indicator) == 1 and len(code) <= 65
    return seq + indicator + code.ljust(65) + tail if tail else seq + indicator + code


def test_sequence_area_identification_area_and_comments() -> None:
    text = "\n".join(
        [
            card("AB 12\t"[:6], "*", "a comment with anything: 01 NOT-A-RECORD."),
            card("000200", "/", "page eject comment"),
            card("000300", " ", "01  REC.", tail="IGNORED."),
            card("000400", "D", "    05  DEBUG-ONLY PIC X(99)."),
            card("000500", "d", "    05  DEBUG-TOO PIC X(99)."),
            card("XYZXYZ", " ", "    05  A  PIC X(3).", tail="05 B PIC X"),
            "",
            card("000700", " ", "    05  B  PIC 9(2)."),
            "000800",
        ]
    )
    (layout,) = compile_text(text)
    assert [f.name for f in layout.fields()] == ["REC", "A", "B"]
    assert layout.record_length == 5


def test_tabs_expand_to_stops_of_eight() -> None:
    # A tab in column 7 of the sequence area reaches column 9: area B code, indicator blank.
    text = "000100\t01 REC.\n\t    05 A PIC X(2).\n\t    05 B PIC X."
    (layout,) = compile_text(text)
    assert layout.record_length == 3
    with pytest.raises(CopybookError) as info:
        compile_text("000100\t01 REC.\n\t    05 A PIC Q.")
    (d,) = info.value.diagnostics
    # Line 2 expands to 12 spaces then "05 A PIC Q.": Q is in column 22.
    assert (d.line, d.column) == (2, 22)


def test_continued_alphanumeric_literal_runs_to_column_72() -> None:
    first = "    05  LIT PIC X(60) VALUE 'ABCDEFGHIJ"
    # The literal's first part runs from column 36 to column 72: 37 characters, spaces kept.
    lines = [
        card("000100", " ", "01  REC."),
        card("000200", " ", first),
        card("000300", "*", "a comment between the two parts"),
        card("000400", "-", "    'KLM'."),
    ]
    (layout,) = compile_text("\n".join(lines))
    value = layout.field("REC.LIT").value
    assert value is not None
    assert value.text == "ABCDEFGHIJ" + " " * (65 - len(first)) + "KLM"


def test_continued_word() -> None:
    lines = [
        card("000100", " ", "01  REC."),
        card("000200", " ", "    05  SPLIT-NA"),
        card("000300", "-", "        ME PIC X(2)."),
    ]
    (layout,) = compile_text("\n".join(lines))
    assert layout.field("REC.SPLIT-NAME").length == 2


def test_continuation_errors() -> None:
    lines = [
        card("000100", " ", "01  REC."),
        card("000200", " ", "    05 LIT PIC X(9) VALUE 'ABC"),
        card("000300", "-", "    DEF'."),
    ]
    with pytest.raises(CopybookError) as info:
        compile_text("\n".join(lines))
    found = {(d.line, d.column, d.message) for d in info.value.diagnostics}
    assert (3, 12, "a continued literal must resume with a quote") in found
    with pytest.raises(CopybookError, match="nothing to continue"):
        compile_text(card("000100", "-", "   01 REC PIC X."))


def test_invalid_indicator_in_fixed_format() -> None:
    with pytest.raises(CopybookError) as info:
        compile_text("       01 REC.\n000200X    05 A PIC X.", free_format=False)
    d = info.value.diagnostics[1]  # after "REC needs a PICTURE": its only item was dropped
    assert (d.line, d.column) == (2, 7)
    assert "invalid indicator" in d.message


def test_free_format_detection_and_override(fixtures: Path) -> None:
    (layout,) = compile_copybook(fixtures / "free_form.cbl")
    assert layout.record_length == 16
    assert layout.field("FREE-REC.AMOUNT").length == 4
    # Forcing fixed format reads columns 8-72 only, which breaks this file.
    with pytest.raises(CopybookError):
        compile_copybook(fixtures / "free_form.cbl", free_format=False)
    (layout,) = compile_text("01 R.\n05 A PIC X.", free_format=True)
    assert layout.record_length == 1


@pytest.mark.parametrize(
    ("lines", "free"),
    [
        (["       01 REC.", "           05 A PIC X."], False),
        (["000100 01 REC.", "000200     05 A PIC X."], False),
        (["01 REC.", "  05 A PIC X."], True),
        (["*> comment", "       01 REC."], True),
        ([" 01  REC.", "   05 A PIC X."], True),
    ],
)
def test_looks_free_format(lines: list[str], free: bool) -> None:
    assert looks_free_format(lines) is free


def test_copy_replacing_and_member_lookup(fixtures: Path) -> None:
    # ADDRESS is found as ADDRESS.cpy, "money" as Money.CBL (any case, any of the suffixes).
    (layout,) = compile_copybook(fixtures / "customer.cpy", include_dirs=[fixtures / "members"])
    assert [f.path for f in layout.fields()] == [
        "CUSTOMER",
        "CUSTOMER.CUST-ID",
        "CUSTOMER.CUST-ADDRESS",
        "CUSTOMER.CUST-ADDRESS.CUST-STREET",
        "CUSTOMER.CUST-ADDRESS.CUST-ZIP",
        "CUSTOMER.AMOUNT",
        "CUSTOMER.CURRENCY",
        "CUSTOMER.CUST-NAME",
    ]
    # 9 + 40 + 5 (S9(7)V99 packed) + 3 + 20 = 77
    assert layout.record_length == 77
    assert layout.field("CUSTOMER.AMOUNT").offset == 49


def test_copy_member_not_found(fixtures: Path) -> None:
    with pytest.raises(CopybookNotFoundError, match=r"missing_member.cpy:2:17: COPY member NOSUCH"):
        compile_copybook(fixtures / "missing_member.cpy", include_dirs=[fixtures / "members"])
    with pytest.raises(CopybookNotFoundError):
        compile_copybook(fixtures / "does-not-exist.cpy")


def test_errors_in_members_name_the_member_file(fixtures: Path) -> None:
    with pytest.raises(CopybookError) as info:
        compile_copybook(fixtures / "uses_broken.cpy", include_dirs=[fixtures / "members"])
    first, second = info.value.diagnostics
    assert Path(first.file).name == "BROKEN.cpy"
    assert (first.line, first.column) == (2, 50)
    assert "COMP-9" in first.text
    assert Path(second.file).name == "uses_broken.cpy"
    assert (second.line, second.column) == (3, 47)


def test_copy_cycle_is_an_error(fixtures: Path) -> None:
    with pytest.raises(CopybookError, match="copies itself"):
        compile_copybook(fixtures / "members" / "LOOP.cpy")


def test_copy_replacing_words_literals_leading(tmp_path: Path) -> None:
    (tmp_path / "PARTS.cpy").write_text(
        "       05 PFX-CODE PIC X(LEN).\n"
        "       05 PFX-NAME PIC X(5) VALUE 'OLD'.\n"
        "       05 OTHER PIC 9.\n"
    )
    text = (
        "       01 REC.\n"
        "       COPY PARTS REPLACING LEADING ==PFX== BY ==ACC==\n"
        "            ==X(LEN)== BY ==X(4)==\n"
        "            'OLD' BY 'NEW'\n"
        "            OTHER BY COUNTER.\n"
    )
    (layout,) = compile_text(text, include_dirs=[tmp_path])
    assert [f.name for f in layout.fields()] == ["REC", "ACC-CODE", "ACC-NAME", "COUNTER"]
    assert layout.field("REC.ACC-CODE").length == 4
    value = layout.field("REC.ACC-NAME").value
    assert value is not None and value.text == "NEW"


def test_replaced_text_keeps_the_member_position(tmp_path: Path) -> None:
    (tmp_path / "M.cpy").write_text("       05 A PIC X.\n       05 B PIC TYPE.\n")
    text = "       01 REC.\n       COPY M REPLACING ==TYPE== BY ==Q(3)==.\n"
    with pytest.raises(CopybookError) as info:
        compile_text(text, include_dirs=[tmp_path])
    (d,) = info.value.diagnostics
    assert (Path(d.file).name, d.line) == ("M.cpy", 2)
    assert d.column == 17  # where TYPE was written


def test_copy_syntax_errors() -> None:
    text = "       01 REC.\n       05 X PIC X.\n       COPY M REPLACING ==A== BY ==B=="
    with pytest.raises(CopybookError) as info:
        compile_text(text)
    (d,) = info.value.diagnostics
    # Reported at the last word of the statement: the closing == of ==B==.
    assert (d.line, d.column, d.message) == (3, 37, "COPY statement must end with a period")
    text = "       01 REC.\n       05 X PIC X.\n       COPY M REPLACING ==A== ==B==.\n"
    with pytest.raises(CopybookError) as info:
        compile_text(text)
    (d,) = info.value.diagnostics  # the bad statement is dropped: no errors follow from it
    assert (d.line, d.column, d.message) == (3, 31, "expected BY in COPY REPLACING")


def test_find_member_prefers_first_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "rec.cob").write_text("")
    (tmp_path / "a" / "REC").write_text("")
    assert find_member("rec", [tmp_path / "a", tmp_path / "b"]) == tmp_path / "a" / "REC"
    assert find_member("REC", [tmp_path / "b"]) == tmp_path / "b" / "rec.cob"
    assert find_member("NONE", [tmp_path / "a"]) is None


def test_compiler_directives_are_reported() -> None:
    with pytest.raises(CopybookError) as info:
        compile_text("       >>SOURCE FORMAT FREE\n       01 R PIC X.")
    (d,) = info.value.diagnostics
    assert (d.line, d.column) == (1, 8)
    assert "not supported" in d.message


# --------------------------------------------------------------------------- lenient source


def test_comment_asterisk_in_column_8_is_a_comment_with_a_warning() -> None:
    text = "\n".join(
        [
            "      " + "*" * 66,
            "       " + "*" * 60,
            "       * banner text in column 8",
            card("000100", " ", "01  REC."),
            card("000200", " ", "    05  A  PIC X(3)."),
            card("000300", " ", "    05  C  PIC"),
            card("000400", " ", "***9.99."),  # a PICTURE string continued: code, not a comment
        ]
    )
    warnings: list[Diagnostic] = []
    (layout,) = compile_text(text, warnings=warnings)
    assert layout.field("REC.C").picture == "***9.99"
    assert layout.record_length == 10
    (w,) = warnings
    assert (w.severity, w.line, w.column) == ("warning", 2, 8)
    assert "column 8" in w.message and "also line 3" in w.message
    assert "column 8" in str(w) and "warning:" in str(w)


def test_level_numbers_in_column_7_are_read_with_a_warning() -> None:
    text = "\n".join(
        [
            "      * a comment in column 7",
            "      01 REC.",
            "000200   05 A PIC X(2).",
            "000300 05 B PIC 9(3).",  # the mix: column 8 here
            "      05 C PIC X.",
        ]
    )
    assert not looks_free_format(text.splitlines())
    warnings: list[Diagnostic] = []
    (layout,) = compile_text(text, warnings=warnings)
    assert [(f.name, f.offset, f.length) for f in layout.fields()] == [
        ("REC", 0, 6),
        ("A", 0, 2),
        ("B", 2, 3),
        ("C", 5, 1),
    ]
    (w,) = warnings
    assert (w.line, w.column) == (2, 7) and "also line 5" in w.message
    assert "level number in column 7" in w.message
    # Forced fixed format reads them the same way.
    assert compile_text(text, free_format=False, warnings=[]) == (layout,)


def test_fixed_comments_in_a_cut_free_format_file_are_comments_with_a_warning() -> None:
    text = "* header\n01 REC.\n  05 A PIC X(2).\n*****\n  05 B PIC X.\n  05 C PIC\n  **9."
    warnings: list[Diagnostic] = []
    (layout,) = compile_text(text, warnings=warnings)
    assert layout.record_length == 6 and layout.field("REC.C").picture == "**9"
    (w,) = warnings
    assert (w.line, w.column) == (1, 1) and "also line 4" in w.message


def test_ambiguous_column_7_keeps_the_located_error_with_a_hint() -> None:
    with pytest.raises(CopybookError) as info:
        compile_text("       01 REC.\n      PIC X.\n", free_format=False)
    (d,) = [d for d in info.value.diagnostics if d.line == 2]
    assert d.column == 7
    assert "invalid indicator 'P' in column 7: was the sequence area cut off? try --free" in str(d)


def test_warnings_without_a_list_go_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="bridge.copybook"):
        compile_text("      01 REC.\n         05 A PIC X.")
    assert "level number in column 7" in caplog.text
