       01  ACCOUNT-RECORD.
           05  ACCT-ID            PIC 9(11).
           05  ACCT-STATUS        PIC X(1).
           05  ACCT-NAME          PIC X(30).
           05  ACCT-BALANCE       PIC S9(10)V99 COMP-3.
           05  ACCT-CREDIT-LIMIT  PIC S9(10)V99 COMP-3.
           05  ACCT-OPEN-DATE     PIC X(10).
           05  ACCT-CYCLE-CREDIT  PIC S9(7)V99.
           05  ACCT-TXN-COUNT     PIC S9(9) COMP.
           05  ACCT-BRANCH        PIC X(6).
           05  FILLER             PIC X(20).
