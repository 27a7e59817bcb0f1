"""Synthetic copybooks for each construct; expected offsets derived by hand from IBM's rules."""

from __future__ import annotations

import pytest

from bridge.copybook.compiler import compile_text
from bridge.copybook.layout import Category, Layout, Literal, Usage, ValueRange
from bridge.errors import CopybookError, Diagnostic

from .conftest import fixed


def one(text: str, **kw: object) -> Layout:
    layouts = compile_text(fixed(text), **kw)  # type: ignore[arg-type]
    assert len(layouts) == 1
    return layouts[0]


def spans(layout: Layout) -> dict[str, tuple[int, int]]:
    return {f.path: (f.offset, f.length) for f in layout.fields()}


@pytest.mark.parametrize(
    ("clause", "length", "usage"),
    [
        ("PIC S9(4) COMP", 2, Usage.COMP),  # 1-4 digits: halfword
        ("PIC 9(5) BINARY", 4, Usage.COMP),  # 5-9: fullword
        ("PIC S9(9) COMP-4", 4, Usage.COMP),
        ("PIC S9(10) COMPUTATIONAL", 8, Usage.COMP),  # 10-18: doubleword
        ("PIC S9(18) COMP-5", 8, Usage.COMP5),
        ("PIC 9 COMP-5", 2, Usage.COMP5),
        ("PIC S9(7)V99 COMP-3", 5, Usage.COMP3),  # 9 digits: (9+1)/2 = 5
        ("PIC S9(6) PACKED-DECIMAL", 4, Usage.COMP3),  # 6 digits: ceil(7/2) = 4
        ("PIC 9(31) COMP-3", 16, Usage.COMP3),  # ARITH(EXTEND) maximum
        ("COMP-1", 4, Usage.COMP1),
        ("USAGE IS COMP-2", 8, Usage.COMP2),
        ("POINTER", 4, Usage.POINTER),
        ("USAGE INDEX", 4, Usage.INDEX),
        ("PIC N(5)", 10, Usage.NATIONAL),
        ("PIC X(3) USAGE NATIONAL", None, None),  # IBM: PIC X cannot be NATIONAL
        ("PIC G(4)", 8, Usage.DBCS),
        ("PIC G(4) DISPLAY-1", 8, Usage.DBCS),
        ("PIC S9(5) NATIONAL", 10, Usage.NATIONAL),  # national decimal: 2 bytes a digit
        ("PIC S9(5) SIGN LEADING SEPARATE", 6, Usage.DISPLAY),
        ("PIC S9(5) SIGN IS TRAILING SEPARATE CHARACTER", 6, Usage.DISPLAY),
        ("PIC S9(5) SIGN TRAILING", 5, Usage.DISPLAY),
        ("PIC S9(5) NATIONAL SIGN LEADING SEPARATE", 12, Usage.NATIONAL),
        ("PIC 9(3)PP", 3, Usage.DISPLAY),  # P takes no storage
        ("PIC SVPP9", 1, Usage.DISPLAY),
        ("PIC ZZ,ZZ9.99CR", 11, Usage.DISPLAY),  # CR counts two positions
        ("PIC XXBXX/0", 7, Usage.DISPLAY),
    ],
)
def test_elementary_sizes(clause: str, length: int | None, usage: Usage | None) -> None:
    text = f"01 R.\n   05 F {clause}.\n   05 NEXT-ITEM PIC X."
    if length is None:
        with pytest.raises(CopybookError):
            one(text)
        return
    layout = one(text)
    f = layout.field("R.F")
    assert (f.offset, f.length, f.usage) == (0, length, usage)
    assert layout.field("R.NEXT-ITEM").offset == length
    assert layout.record_length == length + 1


def test_binary_over_18_digits_is_an_error() -> None:
    with pytest.raises(CopybookError, match="at most 18 digits"):
        one("01 R.\n   05 F PIC 9(19) COMP.")


@pytest.mark.parametrize(
    ("picture", "category", "digits", "scale", "signed"),
    [
        ("X(10)", Category.ALPHANUMERIC, None, None, False),
        ("A(3)", Category.ALPHABETIC, None, None, False),
        ("AXA9", Category.ALPHANUMERIC, None, None, False),
        ("S9(10)V99", Category.NUMERIC, 12, 2, True),
        ("9(3)PP", Category.NUMERIC, 3, -2, False),  # value = n * 100
        ("PP9", Category.NUMERIC, 1, 3, False),  # value = n * 0.001
        ("VPP9", Category.NUMERIC, 1, 3, False),
        ("99PPV", Category.NUMERIC, 2, -2, False),
        ("V99", Category.NUMERIC, 2, 2, False),
        ("ZZ,ZZ9.99", Category.NUMERIC_EDITED, 7, 2, False),
        ("$$$,$$9.99", Category.NUMERIC_EDITED, 7, 2, False),  # leftmost $ holds no digit
        ("+++9", Category.NUMERIC_EDITED, 3, 0, True),
        ("-9.99", Category.NUMERIC_EDITED, 3, 2, True),
        ("***,**9.99DB", Category.NUMERIC_EDITED, 8, 2, True),
        ("99/99/99", Category.NUMERIC_EDITED, 6, 0, False),
        ("99B99", Category.NUMERIC_EDITED, 4, 0, False),
        ("X(3)BX", Category.ALPHANUMERIC_EDITED, None, None, False),
        ("ABA", Category.ALPHANUMERIC_EDITED, None, None, False),
    ],
)
def test_picture_categories(
    picture: str, category: Category, digits: int | None, scale: int | None, signed: bool
) -> None:
    f = one(f"01 R.\n   05 F PIC {picture}.").field("R.F")
    assert (f.category, f.digits, f.scale, f.signed) == (category, digits, scale, signed)
    assert f.picture == picture


def test_decimal_point_is_comma() -> None:
    layout = one("01 R.\n   05 F PIC ZZ.ZZ9,99 VALUE 1,5.", decimal_point_is_comma=True)
    f = layout.field("R.F")
    assert (f.length, f.digits, f.scale) == (9, 7, 2)
    assert f.value == Literal("numeric", "1.5")


def test_lower_case_and_usage_words() -> None:
    layout = one("01 rec.\n   05 amount pic s9(5)v99 usage is comp-3.\n   05 code pic x")
    f = layout.field("REC.AMOUNT")
    assert (f.length, f.usage, f.picture) == (4, Usage.COMP3, "S9(5)V99")
    assert layout.record_length == 5  # and the missing final period is tolerated


def test_group_usage_and_sign_apply_to_members() -> None:
    layout = one(
        """
01 R.
   05 G USAGE COMP-3.
      10 A PIC S9(5).
      10 B PIC 9(2).
   05 H SIGN LEADING SEPARATE.
      10 C PIC S9(3).
      10 D PIC 9(3).
"""
    )
    # A: 5 digits packed = 3; B: 2 digits packed = 2 -> G is 5 bytes.
    # C: 3 digits + separate sign = 4 at 5; D unsigned, the SIGN clause does not apply: 3 at 9.
    assert spans(layout)["R.G.A"] == (0, 3)
    assert spans(layout)["R.G.B"] == (3, 2)
    c, d = layout.field("R.H.C"), layout.field("R.H.D")
    assert (c.offset, c.length, c.sign_leading, c.sign_separate) == (5, 4, True, True)
    assert (d.offset, d.length, d.sign_separate) == (9, 3, False)
    assert layout.field("R.G").usage is Usage.GROUP
    assert layout.record_length == 12


def test_conflicting_group_usage_is_an_error() -> None:
    with pytest.raises(CopybookError, match="conflicts with the group's USAGE"):
        one("01 R.\n   05 G COMP-3.\n      10 A PIC S9(5) COMP.")


def test_occurs_and_nested_tables() -> None:
    layout = one(
        """
01 R.
   05 HDR PIC X(2).
   05 ROW OCCURS 3 TIMES INDEXED BY RX.
      10 ID PIC 9(2).
      10 CELL OCCURS 4 ASCENDING KEY IS V INDEXED BY CX CY.
         15 V PIC S9(3) COMP-3.
   05 TRAILER PIC X.
"""
    )
    # CELL: 2 bytes x 4 = 8; ROW: 2 + 8 = 10 per occurrence, x3 = 30 at 2; TRAILER at 32.
    assert spans(layout)["R.ROW"] == (2, 10)
    assert spans(layout)["R.ROW.CELL"] == (4, 2)
    assert spans(layout)["R.ROW.CELL.V"] == (4, 2)
    assert spans(layout)["R.TRAILER"] == (32, 1)
    row = layout.field("R.ROW")
    assert row.occurs is not None and row.occurs.indexed_by == ("RX",)
    cell = layout.field("R.ROW.CELL")
    assert cell.occurs is not None
    assert cell.occurs.keys == (("ascending", "V"),) and cell.occurs.indexed_by == ("CX", "CY")
    assert layout.dimensions("R.ROW.CELL.V") == ((row.occurs, 10), (cell.occurs, 2))
    assert layout.record_length == layout.min_length == 33


def test_odo_at_max_with_variable_offsets() -> None:
    layout = one(
        """
01 R.
   05 CNT PIC 9(2).
   05 ITEMS OCCURS 0 TO 5 TIMES DEPENDING ON CNT.
      10 A PIC X(3).
      10 B PIC S9(5) COMP-3.
   05 TAIL PIC X(2).
"""
    )
    # ITEMS: 3 + 3 = 6 bytes; at max 5 x 6 = 30 from 2; TAIL at 32; record 34.
    # At min (0): 2 + 0 + 2 = 4.
    assert spans(layout)["R.ITEMS"] == (2, 6)
    assert spans(layout)["R.ITEMS.B"] == (5, 3)
    assert spans(layout)["R.TAIL"] == (32, 2)
    assert (layout.record_length, layout.min_length) == (34, 4)
    items = layout.field("R.ITEMS")
    assert items.occurs is not None
    assert (items.occurs.min, items.occurs.max, items.occurs.depending_on) == (0, 5, "R.CNT")
    assert layout.field("R.TAIL").variable_offset
    assert not layout.field("R.ITEMS.B").variable_offset
    assert not layout.field("R.CNT").variable_offset


def test_odo_without_minimum_defaults_to_one_and_qualified_object() -> None:
    layout = one(
        """
01 R.
   05 H.
      10 N PIC S9(4) COMP.
   05 T OCCURS 7 TIMES DEPENDING ON N OF H PIC X(10).
"""
    )
    t = layout.field("R.T")
    assert t.occurs is not None and (t.occurs.min, t.occurs.max) == (1, 7)  # IBM: min 1
    assert t.occurs.depending_on == "R.H.N"
    assert (layout.record_length, layout.min_length) == (72, 12)


def test_nested_odo_inside_fixed_table() -> None:
    layout = one(
        """
01 R.
   05 GRP OCCURS 2.
      10 K PIC 9.
      10 E OCCURS 1 TO 3 DEPENDING ON K PIC X(2).
      10 AFTER-E PIC X.
   05 LAST-ONE PIC X.
"""
    )
    # GRP occurrence: 1 + 3x2 + 1 = 8; x2 = 16; LAST-ONE at 16. Min: (1 + 2 + 1) x 2 + 1 = 9.
    assert spans(layout)["R.GRP.AFTER-E"] == (7, 1)
    assert spans(layout)["R.LAST-ONE"] == (16, 1)
    assert (layout.record_length, layout.min_length) == (17, 9)
    assert layout.field("R.GRP.AFTER-E").variable_offset
    assert layout.field("R.LAST-ONE").variable_offset
    assert layout.field("R.GRP.E").occurs.depending_on == "R.GRP.K"  # type: ignore[union-attr]


def test_redefines_elementary_group_and_chain() -> None:
    layout = one(
        """
01 R.
   05 A PIC X(10).
   05 B REDEFINES A.
      10 B1 PIC 9(4).
      10 B2 PIC X(6).
   05 C REDEFINES A PIC S9(9) COMP.
   05 D PIC X.
"""
    )
    assert spans(layout)["R.B"] == (0, 10)
    assert spans(layout)["R.B.B2"] == (4, 6)
    assert spans(layout)["R.C"] == (0, 4)  # smaller than A: fine
    assert spans(layout)["R.D"] == (10, 1)  # the redefinitions take no room of their own
    assert layout.field("R.B").redefines == "R.A"
    assert layout.field("R.C").redefines == "R.A"  # chains point at the original
    assert layout.record_length == 11


def test_larger_redefines_below_01_is_accepted_with_a_warning() -> None:
    # IBM compiles this with IGYDS1154-W: the pair takes the larger size, what follows moves.
    text = """
01 R.
   05 HEAD PIC X(2).
   05 GRP OCCURS 2.
      10 SHORT PIC X(3).
      10 LONG REDEFINES SHORT.
         15 L1 PIC 9(3).
         15 L2 PIC S9(3) COMP-3.
      10 ALSO REDEFINES SHORT PIC X(4).
      10 AFTER PIC X.
   05 TAIL PIC X(2).
"""
    warnings: list[Diagnostic] = []
    (layout,) = compile_text(fixed(text), warnings=warnings)
    assert spans(layout) == {
        "R": (0, 16),
        "R.HEAD": (0, 2),
        "R.GRP": (2, 6),  # one occurrence: SHORT/LONG/ALSO take 5 bytes, then AFTER
        "R.GRP.SHORT": (2, 3),
        "R.GRP.LONG": (2, 5),
        "R.GRP.LONG.L1": (2, 3),
        "R.GRP.LONG.L2": (5, 2),
        "R.GRP.ALSO": (2, 4),
        "R.GRP.AFTER": (7, 1),
        "R.TAIL": (14, 2),
    }
    assert (layout.record_length, layout.min_length) == (16, 16)
    assert [(w.severity, w.line) for w in warnings] == [("warning", 5), ("warning", 8)]
    assert warnings[0].message == (
        "LONG (5 bytes) is larger than SHORT (3 bytes) that it redefines (IBM IGYDS1154-W): "
        "both start at offset 2, the next item at 7"
    )


def test_level_01_redefines_may_be_larger() -> None:
    layouts = compile_text(fixed("01 R1 PIC X(10).\n01 R2 REDEFINES R1.\n   05 F PIC X(20)."))
    assert [(lay.name, lay.record_length) for lay in layouts] == [("R1", 10), ("R2", 20)]
    assert layouts[1].root.redefines == "R1"


def test_filler_and_unnamed_items_get_unique_paths() -> None:
    layout = one(
        "01 R.\n   05 FILLER PIC X.\n   05 PIC X(2) VALUE SPACES.\n"
        "   05 FILLER PIC X.\n   05 A PIC X."
    )
    assert spans(layout) == {
        "R": (0, 5),
        "R.FILLER": (0, 1),
        "R.FILLER#2": (1, 2),
        "R.FILLER#3": (3, 1),
        "R.A": (4, 1),
    }
    f = layout.field("R.FILLER#2")
    assert f.name == "FILLER" and f.is_filler
    assert f.value == Literal("figurative", "SPACES")


def test_synchronized_ibm_examples() -> None:
    # The Language Reference's "Slack bytes within records" examples.
    layouts = compile_text(
        fixed(
            """
01 FIELD-A.
   05 FIELD-B PIC X(5).
   05 FIELD-C.
      10 FIELD-D PIC XX.
      10 FIELD-E COMP PIC S9(6) SYNC.
01 FIELD-L.
   05 FIELD-M PIC X(5).
   05 FIELD-N PIC XX.
   05 FIELD-O.
      10 FIELD-P COMP PIC S9(6) SYNC.
01 WORK-RECORD.
   05 WORK-CODE PIC X.
   05 COMP-TABLE OCCURS 10 TIMES.
      10 COMP-TYPE PIC X.
      10 COMP-PAY PIC S9(4)V99 COMP SYNC.
      10 COMP-HRS PIC S9(3) COMP SYNC.
      10 COMP-NAME PIC X(5).
"""
        )
    )
    a, el, w = layouts
    # FIELD-E (fullword, m=4): 7 bytes precede it -> 1 slack byte inside FIELD-C; E at 8.
    assert spans(a)["FIELD-A.FIELD-C"] == (5, 7)
    assert spans(a)["FIELD-A.FIELD-C.FIELD-E"] == (8, 4)
    assert a.field("FIELD-A.FIELD-C.FIELD-E").synchronized
    # FIELD-P: same 7 bytes before it, but the slack byte is at level 05, before FIELD-O.
    assert spans(el)["FIELD-L.FIELD-O"] == (8, 4)
    # COMP-TABLE starts at 1; COMP-PAY (m=4) needs 2 slack bytes (at 4), COMP-HRS (m=2) at 8,
    # COMP-NAME at 10..15: 14 bytes, padded to 16 (largest m is 4) -> 10 x 16 + 1 = 161.
    assert spans(w)["WORK-RECORD.COMP-TABLE"] == (1, 16)
    assert spans(w)["WORK-RECORD.COMP-TABLE.COMP-PAY"] == (4, 4)
    assert spans(w)["WORK-RECORD.COMP-TABLE.COMP-HRS"] == (8, 2)
    assert spans(w)["WORK-RECORD.COMP-TABLE.COMP-NAME"] == (10, 5)
    assert w.record_length == 161


def test_synchronized_boundaries_per_usage() -> None:
    layout = one(
        """
01 R SYNC.
   05 A PIC X.
   05 H PIC S9(4) COMP.
   05 B PIC X.
   05 D PIC S9(18) COMP.
   05 C PIC X.
   05 F2 COMP-2.
   05 E PIC X.
   05 P POINTER.
   05 Z PIC X(3) SYNC.
"""
    )
    # A 0; H (m=2) 2..3; B 4; D: 8 bytes but IBM's m is 4 for 5+ digits -> 8..15;
    # C 16; F2 (m=8) 24..31; E 32; P (m=4) 36..39; Z: SYNC has no effect on DISPLAY -> 40.
    got = spans(layout)
    assert [got[f"R.{n}"][0] for n in "AHBDC"] == [0, 2, 4, 8, 16]
    assert got["R.F2"] == (24, 8)
    assert got["R.E"] == (32, 1)
    assert got["R.P"] == (36, 4)
    assert got["R.Z"] == (40, 3)
    assert layout.record_length == 43


def test_sync_without_slack_changes_nothing() -> None:
    layout = one("01 R.\n   05 A PIC S9(9) COMP SYNC.\n   05 B PIC X.")
    assert spans(layout)["R.A"] == (0, 4)
    assert layout.record_length == 5


def test_justified_blank_when_zero_and_values() -> None:
    layout = one(
        """
01 R.
   05 J PIC X(5) JUST RIGHT VALUE 'AB''C'.
   05 Z PIC ZZ9 BLANK WHEN ZERO VALUE ZERO.
   05 H PIC X(2) VALUE X'C1C2'.
   05 N PIC N(2) VALUE N'AB'.
   05 Q PIC X(3) VALUE ALL '*'.
   05 S PIC S9(3)V9 VALUE -12.5.
   05 FLAG PIC X.
      88 YES VALUE 'Y'.
      88 NO VALUES ARE 'N' 'n'.
      88 DIGIT VALUE '0' THRU '9'.
      88 ODD VALUE 1 3 5
         7 9.
   05 HI PIC X VALUE HIGH-VALUES.
"""
    )
    j = layout.field("R.J")
    assert j.justified and j.value == Literal("alphanumeric", "AB'C")
    z = layout.field("R.Z")
    assert z.blank_when_zero and z.value == Literal("figurative", "ZEROS")
    assert layout.field("R.H").value == Literal("hex", "C1C2")
    assert layout.field("R.N").value == Literal("national", "AB")
    assert layout.field("R.Q").value == Literal("figurative", "ALL '*'")
    assert layout.field("R.S").value == Literal("numeric", "-12.5")
    assert layout.field("R.HI").value == Literal("figurative", "HIGH-VALUES")
    conds = {c.name: c.values for c in layout.field("R.FLAG").conditions}
    assert conds["YES"] == (ValueRange(Literal("alphanumeric", "Y")),)
    assert len(conds["NO"]) == 2
    assert conds["DIGIT"] == (
        ValueRange(Literal("alphanumeric", "0"), Literal("alphanumeric", "9")),
    )
    assert [v.low.text for v in conds["ODD"]] == ["1", "3", "5", "7", "9"]
    # HI follows FLAG; the 88s take no storage: 5+3+2+4+3+4+1 = 22.
    assert layout.field("R.HI").offset == 22


def test_renames() -> None:
    layout = one(
        """
01 R.
   05 A PIC X(2).
   05 B.
      10 B1 PIC 9(3).
      10 B2 PIC X(4).
   05 C PIC S9(4) COMP.
66 R-B1 RENAMES B1.
66 R-SPAN RENAMES A THRU B1.
66 R-ALL RENAMES B THROUGH C.
"""
    )
    one_item = layout.field("R.R-B1")
    assert (one_item.level, one_item.offset, one_item.length) == (66, 2, 3)
    assert (one_item.usage, one_item.category, one_item.digits) == (
        Usage.DISPLAY,
        Category.NUMERIC,
        3,
    )
    assert one_item.renames == ("R.B.B1", None)
    span = layout.field("R.R-SPAN")
    assert (span.offset, span.length, span.usage) == (0, 5, Usage.GROUP)
    assert span.renames == ("R.A", "R.B.B1")
    assert spans(layout)["R.R-ALL"] == (2, 9)
    assert layout.record_length == 11  # RENAMES takes no storage


def test_several_records_and_level_77() -> None:
    layouts = compile_text(
        fixed("01 A.\n   05 X PIC X.\n01 B.\n   05 Y PIC X(4).\n77 C PIC S9(4) COMP.")
    )
    assert [(lay.name, lay.record_length, lay.root.level) for lay in layouts] == [
        ("A", 1, 1),
        ("B", 4, 1),
        ("C", 2, 77),
    ]


def test_copybook_starting_at_05_gets_a_root_named_after_the_file() -> None:
    (layout,) = compile_text(fixed("05 A PIC X.\n05 B PIC 9(3)."), name="my_rec.cpy")
    assert layout.name == "MY-REC-CPY"
    assert spans(layout) == {"MY-REC-CPY": (0, 4), "MY-REC-CPY.A": (0, 1), "MY-REC-CPY.B": (1, 3)}


def test_listing_control_and_external_are_ignored() -> None:
    layout = one("01 R EXTERNAL.\nEJECT\n   05 A PIC X GLOBAL.\nSKIP1\n   05 B PIC X.")
    assert layout.record_length == 2
