      *****************************************************************
      * ACCTMAST  Core banking account master (VSAM KSDS, RECLN 300)
      *   Key: AM-KEY (branch transit + account number).
      *   Amounts are packed decimal in the account currency.
      *   Dates as the source system keeps them:
      *     AM-OPEN-DATE      zoned   YYYYMMDD
      *     AM-LAST-TXN-DATE  packed  CYYMMDD  (C: 0 = 19xx, 1 = 20xx)
      *     AM-MATURITY-DATE  packed  YYDDD    (Julian, 0 = none)
      *     AM-REVIEW-DATE    text    YYMMDD
      *     AM-BIRTH-DATE     zoned   YYYYMMDD
      *     AM-LAST-MAINT-TS  text    DB2 timestamp
      *****************************************************************
       01  ACCT-MASTER-REC.
           05  AM-KEY.
               10  AM-BRANCH-NO            PIC 9(05).
               10  AM-ACCT-NO              PIC 9(12).
           05  AM-REC-TYPE                 PIC X(01).
               88  AM-REC-ACCOUNT                VALUE 'A'.
           05  AM-PRODUCT-CODE             PIC X(04).
           05  AM-CURRENCY                 PIC X(03).
           05  AM-STATUS                   PIC X(01).
               88  AM-STATUS-ACTIVE              VALUE 'A'.
               88  AM-STATUS-DORMANT             VALUE 'D'.
               88  AM-STATUS-FROZEN              VALUE 'F'.
               88  AM-STATUS-CLOSED              VALUE 'C'.
           05  AM-OPEN-DATE                PIC 9(08).
           05  AM-LAST-TXN-DATE            PIC S9(07)      COMP-3.
           05  AM-MATURITY-DATE            PIC 9(05)       COMP-3.
           05  AM-REVIEW-DATE              PIC X(06).
           05  AM-REVIEW-DATE-N  REDEFINES AM-REVIEW-DATE
                                           PIC 9(06).
           05  AM-BALANCES.
               10  AM-LEDGER-BAL           PIC S9(13)V99   COMP-3.
               10  AM-AVAIL-BAL            PIC S9(13)V99   COMP-3.
               10  AM-OVERDRAFT-LIMIT      PIC S9(11)V99   COMP-3.
               10  AM-ACCRUED-INT          PIC S9(09)V9(6) COMP-3.
               10  AM-INT-RATE             PIC S9(03)V9(5) COMP-3.
           05  AM-CUSTOMER.
               10  AM-CUST-ID              PIC 9(10).
               10  AM-CUST-NAME            PIC X(40).
               10  AM-NATIONAL-ID          PIC X(12).
               10  AM-NATIONAL-ID-TYPE     PIC X(02).
                   88  AM-NID-SIN                VALUE 'SN'.
                   88  AM-NID-NRIC               VALUE 'NR'.
                   88  AM-NID-NINO               VALUE 'NI'.
                   88  AM-NID-PASSPORT           VALUE 'PP'.
               10  AM-BIRTH-DATE           PIC 9(08).
           05  AM-KYC-RISK                 PIC 9(01).
               88  AM-KYC-LOW                    VALUE 1.
               88  AM-KYC-MEDIUM                 VALUE 2.
               88  AM-KYC-HIGH                   VALUE 3.
           05  AM-STMT-CYCLE               PIC S9(04)      COMP.
           05  AM-HOLD-COUNT               PIC 9(02).
           05  AM-HOLDS                    OCCURS 5 TIMES.
               10  AM-HOLD-AMT             PIC S9(11)V99   COMP-3.
               10  AM-HOLD-REASON          PIC X(02).
               10  AM-HOLD-EXPIRY          PIC 9(08).
           05  AM-LAST-MAINT-TS            PIC X(26).
           05  AM-JOINT-FLAG               PIC X(01).
               88  AM-JOINT-YES                  VALUE 'Y'.
               88  AM-JOINT-NO                   VALUE 'N'.
           05  AM-LAST-MAINT-USER          PIC X(08).
           05  FILLER                      PIC X(20).
