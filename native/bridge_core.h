/* The contract between the C core and Python.
 *
 * This file is fed verbatim to cffi's cdef (native/build.py), so it must stay cdef-clean:
 * no #include, no #if, no macros beyond integer constants. C sources include <stdint.h> and
 * <stddef.h> before it. Rules: C never allocates and never sees a Python object; every function
 * returns an int status (0 = ok, negative = misuse), results go to caller-owned buffers.
 */

#define BRIDGE_OK 0
#define BRIDGE_E_ARG -1
#define BRIDGE_E_PLAN -2      /* the plan is inconsistent (bridge_plan_check says where) */
#define BRIDGE_FULL 1         /* stopped early: output or error buffer full; see `done` */

/* Map n bytes of src through a 256-entry byte table into dst (src and dst may be the same).
 * The single-byte building block of code-page conversion. */
int bridge_translate(const uint8_t *src, size_t n, const uint8_t *table, uint8_t *dst);

/* ---- The decode plan: a layout compiled (once, in Python) into a flat array of ops. ---- */

#define BRIDGE_OP_OPEN_OBJ 1  /* key, then '{' */
#define BRIDGE_OP_CLOSE_OBJ 2 /* '}' */
#define BRIDGE_OP_OPEN_ARR 3  /* key, then '[': the ops up to `end` repeat per element */
#define BRIDGE_OP_CLOSE_ARR 4 /* ']' */
#define BRIDGE_OP_TEXT 5      /* single-byte characters through the plan's text table */
#define BRIDGE_OP_NATIONAL 6  /* UTF-16BE */
#define BRIDGE_OP_ZONED 7     /* DISPLAY numeric */
#define BRIDGE_OP_PACKED 8    /* COMP-3 */
#define BRIDGE_OP_BINARY 9    /* COMP/COMP-4/COMP-5/BINARY, POINTER, INDEX: big-endian */
#define BRIDGE_OP_FLOAT 10    /* COMP-1 (4 bytes) / COMP-2 (8 bytes) */
#define BRIDGE_OP_EDITED 11   /* numeric-edited: text checked against a mask in the blob */
#define BRIDGE_OP_FAIL 12     /* always null with the error `reason` (DBCS without a codec) */

#define BRIDGE_F_SIGNED 1        /* numeric items */
#define BRIDGE_F_SIGN_LEADING 2  /* zoned */
#define BRIDGE_F_SIGN_SEPARATE 4 /* zoned */
#define BRIDGE_F_HIDDEN 8        /* decoded (an ODO count) but not written to the document */
#define BRIDGE_F_QUOTED 16       /* write the number as a JSON string (decimals_as_strings) */
#define BRIDGE_F_TRUNC_STD 32    /* binary: beyond 10**digits is an error */
#define BRIDGE_F_IEEE 64         /* float: IEEE 754 instead of IBM hexadecimal */
#define BRIDGE_F_COUNT 128       /* keep the integer value in `slot` for an OPEN_ARR's `odo` */
#define BRIDGE_F_BLANK_CHECK 256 /* numeric: all spaces / all X'00' is blank-numeric */
#define BRIDGE_F_LOW_NULL 512    /* text/national: all X'00' is null */

#define BRIDGE_TRIM_NONE 0
#define BRIDGE_TRIM_RIGHT 1
#define BRIDGE_TRIM_BOTH 2

/* Error reasons (the contract's names, in its order). */
#define BRIDGE_R_BAD_PACKED_DIGIT 1
#define BRIDGE_R_BAD_PACKED_SIGN 2
#define BRIDGE_R_BAD_ZONE 3
#define BRIDGE_R_BAD_SIGN 4
#define BRIDGE_R_BLANK_NUMERIC 5
#define BRIDGE_R_BINARY_OUT_OF_RANGE 6
#define BRIDGE_R_BAD_FLOAT 7
#define BRIDGE_R_BAD_EDITED 8
#define BRIDGE_R_UNMAPPABLE 9
#define BRIDGE_R_NO_CODEC 10
#define BRIDGE_R_ODO_OUT_OF_RANGE 11
#define BRIDGE_R_RECORD_TOO_SHORT 12

/* Numeric-edited masks (BRIDGE_OP_EDITED aux bytes): [0] flags, [1] the floating symbol's code
 * or 0, [2] and [3] the first and last symbol index of the floating string, then one code per
 * picture symbol (CR and DB take two text positions, every other symbol one). */
#define BRIDGE_ED_BAD 1          /* flag: the picture cannot be read (every value is bad-edited) */
#define BRIDGE_ED_BLANK_ZERO 2   /* flag: BLANK WHEN ZERO */
#define BRIDGE_ED_9 1
#define BRIDGE_ED_Z 2
#define BRIDGE_ED_STAR 3
#define BRIDGE_ED_POINT 4
#define BRIDGE_ED_PLUS 5
#define BRIDGE_ED_MINUS 6
#define BRIDGE_ED_CURRENCY 7
#define BRIDGE_ED_CR 8
#define BRIDGE_ED_DB 9
#define BRIDGE_ED_COMMA 10
#define BRIDGE_ED_B 11
#define BRIDGE_ED_ZERO 12
#define BRIDGE_ED_SLASH 13

#define BRIDGE_MAX_TABLE_DEPTH 8  /* nested OCCURS */
#define BRIDGE_MAX_OBJ_DEPTH 64   /* nested groups and tables */
#define BRIDGE_MAX_SLOTS 64       /* ODO count items */
#define BRIDGE_MAX_NUM_LEN 64     /* bytes of a zoned/packed/edited item */
#define BRIDGE_MAX_SCALE 64       /* |scale| */

typedef struct {
    uint8_t kind;       /* BRIDGE_OP_* */
    uint8_t reason;     /* BRIDGE_OP_FAIL: the reason to report */
    uint16_t flags;     /* BRIDGE_F_* */
    int16_t scale;      /* 10**-scale is the weight of the last digit */
    uint16_t digits;    /* PIC digit positions (binary range check) */
    uint32_t offset;    /* static offset of the first occurrence from the record start */
    uint32_t length;    /* bytes of one occurrence */
    uint32_t key_off;   /* pre-escaped `,"NAME":` in the blob (no comma when first) */
    uint32_t key_len;
    uint32_t aux_off;   /* BRIDGE_OP_EDITED: the mask in the blob (BRIDGE_ED_*) */
    uint32_t aux_len;
    uint32_t count;     /* OPEN_ARR: maximum number of elements */
    uint32_t min_count; /* OPEN_ARR: ODO minimum */
    uint32_t stride;    /* OPEN_ARR: bytes per element */
    int32_t odo;        /* OPEN_ARR: op index of the DEPENDING ON item, or -1 */
    uint32_t end;       /* OPEN_*: index of the matching CLOSE_* op */
    uint32_t slot;      /* BRIDGE_F_COUNT items: where the count is kept */
    uint32_t emit_off;  /* mapped events: the value's conversion in the blob (BRIDGE_EMIT_*), */
    uint32_t emit_len;  /* 0: the value as decoded */
} bridge_op;

typedef struct {
    const bridge_op *ops;
    uint32_t n_ops;
    uint32_t blob_len;
    const uint8_t *blob;
    /* 256 entries of 8 bytes: [0..5] the character as escaped JSON UTF-8, [6] flags
     * (1 = unmappable, 2 = a space for trimming), [7] the length of [0..5]. */
    const uint8_t *text_table;
    /* Zoned sign position, signed (first 256) then unsigned (next 256): bits 0-3 the digit,
     * bit 4 negative, bits 5-7 0 or an error reason (BRIDGE_R_BAD_ZONE / BRIDGE_R_BAD_SIGN). */
    const uint8_t *zone_sign;
    /* Packed sign nibble, signed (first 16) then unsigned (next 16): 0 = +, 1 = -, 2 = bad. */
    const uint8_t *packed_sign;
    uint8_t trim;       /* BRIDGE_TRIM_* */
    uint8_t space;      /* the code page's space byte (blank-numeric) */
    uint8_t plus;       /* SIGN SEPARATE '+' and '-': X'4E' X'60' (EBCDIC), X'2B' X'2D' (ASCII) */
    uint8_t minus;
    uint8_t digit0;     /* zoned digit 0: X'F0' (EBCDIC) or X'30' (ASCII); 1-9 follow it */
    uint32_t n_slots;
    /* Validation constraints (native/validate.c), or NULL: decode only. */
    const struct bridge_checks_s *checks;
    /* 1: a mapped event's plan (native/emit.c): ops with emit bytes convert their values. */
    uint8_t emitting;
} bridge_plan;

/* Mapped events (native/emit.c; bridge/mapping/event_plan.py builds them). An op's emit bytes open
 * with a header of BRIDGE_EMIT_HEADER bytes, little-endian: [0] conversion (BRIDGE_EC_*),
 * [1] protection (BRIDGE_PROTECT_*), [2] trim of a string (BRIDGE_TRIM_*), [3] date format
 * (BRIDGE_FMT_*), [4] century window, [5] TEXT_NUMBER: 1 for a decimal target, [8] u32
 * width (ZFILL), zeros to add (DECIMAL) or the decimal's scale (TEXT_NUMBER),
 * [12] u32 null values and [16] u32 their blob offset, [20] u32 choices and [24] their offset,
 * [28] u32 offset of the 512-byte character table (ASCII, then flags: 1 white space),
 * [32] u32 offset and [36] u32 length of the protection's bytes (MASK: u32 characters kept,
 * then the mask character as JSON; HASH: the HMAC key), [40] u32 the most bytes the value
 * can take. Lists on numbers: entries of i64 low, i64 high, u32 target offset, u32 target
 * length (the value scaled to the item). Lists on text: u16 length, the code-page bytes,
 * u16 length, the target's JSON. Offsets count from the header's first byte and stay within
 * emit_len. Nulls come first, then the conversion, then protection. */
#define BRIDGE_EMIT_HEADER 44
#define BRIDGE_EC_KEEP 0     /* the decoded value (a string re-trimmed as the mapping says) */
#define BRIDGE_EC_ZFILL 1    /* an integer as a string, zero-filled to the width */
#define BRIDGE_EC_DECIMAL 2  /* a decimal string with more zero digits (the target's scale) */
#define BRIDGE_EC_DATE 3     /* an ISO date or timestamp from the header's format */
#define BRIDGE_EC_CHOICE 4   /* the first listed source's target (enum string, true/false) */
#define BRIDGE_EC_TEXT_NUMBER 5 /* text holding a number: an integer, or a decimal string at
                                 * `width` fractional digits */
#define BRIDGE_PROTECT_NONE 0
#define BRIDGE_PROTECT_MASK 1
#define BRIDGE_PROTECT_HASH 2

/* Check a plan once before decoding with it: kinds, nesting, blob references, sizes, ODO
 * references. Returns BRIDGE_OK or BRIDGE_E_PLAN and the index of the first bad op. Decoding
 * trusts a checked plan. */
int bridge_plan_check(const bridge_plan *plan, uint32_t *bad_op);

typedef struct {
    uint64_t doc_offset;  /* the record's JSON in the output buffer */
    uint32_t doc_length;
    uint32_t error_first; /* index of its first error in the error array */
    uint32_t error_count;
    uint32_t stopped;     /* 1 when decoding stopped (ODO out of range, record too short) */
} bridge_record;

typedef struct {
    uint32_t record;      /* index in the batch */
    uint32_t op;          /* the op (path) index */
    uint64_t offset;      /* file offset of the field */
    uint32_t length;
    uint16_t reason;      /* BRIDGE_R_* */
    uint16_t depth;       /* subscripts used in subs */
    uint32_t detail;      /* for messages: the bad byte (or nibble) index in the field;
                           * odo-out-of-range: 0 count not reached, 1 count did not decode,
                           * 2 count out of range (in value); record-too-short: record length */
    int64_t value;        /* odo-out-of-range: the count */
    uint32_t subs[8];     /* 0-based subscripts of the enclosing tables, outermost first */
} bridge_error;

typedef struct {
    /* input: records in a window of the file */
    const uint8_t *data;
    size_t data_len;
    uint64_t base_offset;     /* file offset of data[0] */
    const uint64_t *offsets;  /* record offsets in data, or NULL: record i at i*fixed_length */
    const uint32_t *lengths;  /* record lengths, or NULL: every record is fixed_length */
    const uint64_t *file_offsets; /* each record's file offset, or NULL: base_offset + offset */
    uint32_t fixed_length;
    size_t n_records;
    uint32_t newline;         /* 1: a '\n' after each document (not in doc_length): JSON Lines */
    /* caller-owned output */
    uint8_t *out;
    size_t out_cap;
    bridge_record *records;   /* n_records entries */
    bridge_error *errors;
    size_t error_cap;
    /* results */
    size_t done;              /* records decoded (all of them unless BRIDGE_FULL) */
    size_t out_used;
    size_t errors_used;
    uint32_t full;            /* with BRIDGE_FULL: 1 the output buffer, 2 the error array */
} bridge_batch;

/* Decode batch->n_records records into JSON documents, one after another in batch->out.
 * Returns BRIDGE_OK, or BRIDGE_FULL when the output or error buffer filled (batch->done tells
 * how many records are complete; 0 means one record needs bigger buffers). */
int bridge_decode(const bridge_plan *plan, bridge_batch *batch);

/* ---- Framing ---- */

/* Fixed-length records: offsets of the whole records in data_len bytes from `start`. */
int bridge_frame_fixed(size_t data_len, size_t start, uint32_t record_length, uint64_t *offsets,
                       size_t cap, size_t *n, size_t *next);

#define BRIDGE_FRAME_RDW 0     /* 4-byte RDW: big-endian length, two zero bytes */
#define BRIDGE_FRAME_RDW_LE 1  /* the same with a little-endian length */
#define BRIDGE_FRAME_VB 2      /* blocks: a BDW (or extended BDW), then RDW records */
#define BRIDGE_FRAME_RDW_LE_HIGH 3 /* RDW with two zero bytes, then a little-endian length */

#define BRIDGE_FRAME_DONE 0    /* reached `end` exactly */
#define BRIDGE_FRAME_CAP 1     /* the arrays are full; call again from `next` */
#define BRIDGE_FRAME_PARTIAL 2 /* a descriptor, record or block at `next` runs past `end` */
#define BRIDGE_FRAME_BROKEN 3  /* a bad descriptor at `bad` (in its block, from `next`) */

typedef struct {
    const uint8_t *data;   /* a window of the file */
    size_t end;            /* bytes of data that may be read (the window, or up to a trailer) */
    size_t start;          /* where the first descriptor is */
    uint32_t kind;         /* BRIDGE_FRAME_RDW / _RDW_LE / _VB / _RDW_LE_HIGH */
    uint32_t inclusive;    /* the RDW length counts the RDW itself (else it is added) */
    uint64_t *offsets;     /* out: record data offsets in data (after the RDW) */
    uint32_t *lengths;     /* out: record data lengths */
    size_t cap;
    size_t n;              /* out: records found */
    size_t next;           /* out: where to go on (a record or block boundary) */
    size_t bad;            /* out, BROKEN: the offset of the bad descriptor */
    int status;            /* out: BRIDGE_FRAME_* */
} bridge_frame;

/* Walk descriptors from f->start; records of a block are only reported once the whole block
 * is in the window. */
int bridge_frame_records(bridge_frame *f);

/* LINE SEQUENTIAL text from f->start (f->kind and f->inclusive are not read): a record is a
 * line's bytes up to LF, less one CR just before it; the next starts after the LF. A line with
 * more than `width` bytes is BROKEN (f->bad = its start); one that runs past f->end is PARTIAL,
 * unless `final` says f->end is the end of the data (then it is the last record). When `pad`
 * (room for f->cap records of `width` bytes) is not NULL and a line is shorter than `width`,
 * every record of the call is copied there, record i at i * width, short lines padded with
 * `space`; *padded counts the short lines (0: pad is untouched). */
int bridge_frame_lines(bridge_frame *f, uint32_t width, uint32_t final, uint8_t space,
                       uint8_t *pad, size_t *padded);

/* ---- Validation: a mapping's constraints checked on the values as they decode ----
 *
 * A plan may carry `checks`: one bridge_check per op (rules 0: none). When a field decodes, the
 * rules it breaks are added to the error array as reasons BRIDGE_V_FIRST + bit, one per broken
 * rule, so decode errors and rule violations share one array and one format. Python names the
 * rule (the JSON Schema keyword or the conversion rule) from the bit and the field's target.
 */

#define BRIDGE_V_FIRST 64
#define BRIDGE_V_TYPE 0          /* null where the target is required (schema `type`) */
#define BRIDGE_V_CONVERT_TYPE 1  /* the value does not convert to the target type */
#define BRIDGE_V_MINIMUM 2       /* minimum / decimalMinimum (on the scaled integer) */
#define BRIDGE_V_MAXIMUM 3
#define BRIDGE_V_ENUM 4          /* schema enum */
#define BRIDGE_V_MIN_LENGTH 5    /* in characters */
#define BRIDGE_V_MAX_LENGTH 6
#define BRIDGE_V_PATTERN 7       /* the compiled pattern; decimals: integer digits */
#define BRIDGE_V_CHOICE 8        /* enum / boolean target: no source value matches */
#define BRIDGE_V_FORMAT 9        /* date / timestamp conversion */
#define BRIDGE_V_SCALE 10        /* a decimal with more fractional digits than the target */
#define BRIDGE_V_COUNT 11

#define BRIDGE_CT_STRING 1
#define BRIDGE_CT_INTEGER 2
#define BRIDGE_CT_DECIMAL 3
#define BRIDGE_CT_DATE 4         /* and timestamps: `format` says which */
#define BRIDGE_CT_CHOICE 5       /* enum and boolean targets: the source must be listed */

#define BRIDGE_FMT_YYYYMMDD 1
#define BRIDGE_FMT_YYMMDD 2
#define BRIDGE_FMT_YYDDD 3
#define BRIDGE_FMT_YYYYDDD 4
#define BRIDGE_FMT_CYYMMDD 5
#define BRIDGE_FMT_ISO_DATE 6    /* YYYY-MM-DD */
#define BRIDGE_FMT_TS14 7        /* YYYYMMDDHHMMSS */
#define BRIDGE_FMT_TS_SPACE 8    /* YYYY-MM-DD HH:MM:SS */
#define BRIDGE_FMT_TS_SPACE_F 9  /* YYYY-MM-DD HH:MM:SS.ffffff */
#define BRIDGE_FMT_TS_DB2 10     /* YYYY-MM-DD-HH.MM.SS.ffffff */

#define BRIDGE_MAX_CHECK_TEXT 1024 /* characters of a numeric value as text, a date's text */
#define BRIDGE_MAX_ATOMS 32        /* pattern atoms */

/* Candidate lists in the checks blob: numbers are (low, high) pairs of int64 (native byte
 * order) on the op's scaled integer; strings are a 2-byte little-endian length then the bytes
 * (code-page bytes for text items, ASCII for numbers written as text). Patterns: a flags byte
 * (1: anchored at the end, where a final newline is allowed as in Python's `$`), then atoms of
 * 2-byte min, 2-byte max (0xFFFF: unbounded), 32-byte set of the bytes the atom accepts. */
typedef struct {
    uint16_t rules;     /* BRIDGE_V_* bits checked */
    uint8_t target;     /* BRIDGE_CT_* */
    uint8_t trim;       /* string targets from text: BRIDGE_TRIM_* the mapping applies */
    uint8_t format;     /* BRIDGE_FMT_* (date targets) */
    uint8_t window;     /* YY century window: YY < window is 20YY */
    uint16_t width;     /* numbers as text: zero-filled width; dates: digits of the format */
    int16_t scale;      /* decimal target: its scale */
    uint16_t whole;     /* decimal target: integer digits allowed */
    int64_t min, max;   /* bounds on the op's scaled integer (BRIDGE_V_MINIMUM/MAXIMUM) */
    uint32_t min_len, max_len;
    uint32_t enum_off, enum_len, n_enum;       /* schema enum (numbers or strings) */
    uint32_t choice_off, choice_len, n_choice; /* enum/boolean target: source values */
    uint32_t null_off, null_len, n_null;       /* null_values (numbers or strings) */
    uint32_t pat_off, pat_len;                 /* pattern atoms */
} bridge_check;

typedef struct bridge_checks_s {
    const bridge_check *ops; /* one per plan op */
    const uint8_t *blob;
    uint32_t blob_len;
    /* 256 + 256: each code-page byte as ASCII (0: not ASCII), then flags (1: Python's
     * str.isspace, 2: the space character, 4: the newline). */
    const uint8_t *chars;
} bridge_checks;

/* The checks of a plan (called by bridge_plan_check when plan->checks is set): op kinds,
 * targets, blob references, pattern atoms. BRIDGE_OK or BRIDGE_E_PLAN with the op. */
int bridge_checks_check(const bridge_plan *plan, uint32_t *bad_op);

/* ---- Keyed hashes: HMAC-SHA256 (native/sha256.h has the per-record API) ---- */

/* HMAC-SHA256 of msg under key as 64 lower-case hex digits in out64 (no NUL): the text of
 * Python's hmac.new(key, msg, hashlib.sha256).hexdigest(). Prepares the key on every call;
 * the decoder prepares it once (bridge_hmac_prepare). BRIDGE_E_ARG: a NULL pointer with a
 * nonzero length, or out64 NULL. */
int bridge_hmac_sha256_hex(const uint8_t *key, size_t key_len, const uint8_t *msg,
                           size_t msg_len, char *out64);

/* Plain SHA-256 of msg as 64 hex digits, fed to the hash `chunk` bytes at a time (0: all at
 * once); the digest is the same for every chunk size, which lets tests reach the partial-block
 * buffering the HMAC path alone never splits. */
int bridge_sha256_hex(const uint8_t *msg, size_t msg_len, size_t chunk, char *out64);
