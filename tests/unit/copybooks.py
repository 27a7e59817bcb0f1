"""Small copybooks shared by tests."""

# A file of two record types told apart by their first byte: a header and item records, all
# DISPLAY, so their lines read as text (latin-1) or EBCDIC alike.
MIXED = """\
       01  HEAD-REC.
           05  REC-TYPE        PIC X.
           05  RUN-DATE        PIC 9(8).
       01  ITEM-REC.
           05  REC-TYPE        PIC X.
           05  ITEM-ID         PIC 9(4).
           05  AMOUNT          PIC S9(5)V99.
           05  NOTE            PIC X(10).
"""
