/* libFuzzer target for the C core, built with ASan + UBSan by scripts/fuzz.
 *
 * The first bytes choose a mode and build a small plan, the rest is record data:
 *   byte 0 % 4: 0, 1  a plan assembled from 8-byte instructions (mostly well formed; some
 *                     fields then get overwritten with raw bytes to exercise the plan check)
 *               2     raw bridge_op structs straight from the input (the plan check's job)
 *               3     framing: bridge_frame_records and bridge_frame_fixed over the data
 *   byte 0 / 4 % 8 in {1, 3, 5} (modes 0-2): validation checks are attached to the plan (see
 *                     make_checks: mostly well-formed bridge_check structs for the ops' kinds,
 *                     their lists and pattern atoms in a checks blob, sometimes corrupted; with
 *                     bit 0x10 of its flags byte the checked fields' data is shaped into values
 *                     of their kind: dates in every format, numbers of up to 63 digits)
 *   byte 0 / 4 % 8 == 6 (modes 0-2): a mapped event's plan (plan.emitting, native/emit.c): field
 *                     ops carry emit bytes laid out as bridge/mapping/event_plan.py does (make_emit:
 *                     every conversion on the kinds it fits, masks of 1-6 byte characters,
 *                     HMAC keys of 0-100 bytes, null and choice lists, the text ops' character
 *                     table, a generous max-bytes), sometimes corrupted (offsets, counts,
 *                     lengths, max-bytes, conversions on other kinds); the text table then
 *                     holds characters JSON escapes and multi-byte ones. Flags byte: 0x10
 *                     shapes the fields' data into values their conversions take (listed null
 *                     values and choices, dates of the header's format, numbers held as text,
 *                     text full of escapes), 0x20 lowers each max-bytes to the least the plan
 *                     check accepts, 0x80 lets a record length byte >= 0xF0 cut a long record.
 *                     Each op with emit bytes is also checked and decoded alone with the rest
 *                     of the blob poisoned for ASan (fence_emit: no read outside its own
 *                     bytes), its value held to its max-bytes and its conversion's shape.
 *   byte 0 / 32 == 4 (modes 0-2): the plan has no blob (NULL, length 0), which must be refused
 *   byte 0 / 32 == 5 (modes 0-2): zoned digits are ASCII (digit0 X'30'; the sign tables stay)
 *   byte 1: option bits (trim, text-table seed, output and error buffer sizes)
 *   byte 2: instruction count, then the instructions, [then the checks or emit bytes,] then the
 *   data.
 * Every buffer is heap-allocated at its exact size so ASan sees any overrun. Decoding must
 * return OK, FULL or E_ARG and keep every reported position inside its buffer. With checks or
 * emit bytes the plan check must refuse the plan (E_PLAN) or the decode must run cleanly.
 * The seeds in tests/fuzz/corpus/ named shaped-* each reach one group of the shaped values;
 * those named emit-* reach each conversion and protection of a mapped event.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h> /* no-op macros in the coverage build (no ASan) */

#include "bridge_core.h"

#define MAX_OPS 96

static const char KEYS[] = ",\"ACCT-ID\":\"A\":,\"BB\":\"\\u00e9\":";

/* Numeric-edited masks: flags, floating symbol, its first and last index, symbol codes. */
static const uint8_t MASKS[][16] = {
    {0, 0, 0, 0, BRIDGE_ED_9, BRIDGE_ED_Z, BRIDGE_ED_STAR, BRIDGE_ED_POINT, BRIDGE_ED_PLUS},
    {BRIDGE_ED_BLANK_ZERO, BRIDGE_ED_PLUS, 0, 2, BRIDGE_ED_PLUS, BRIDGE_ED_PLUS, BRIDGE_ED_PLUS,
     BRIDGE_ED_9, BRIDGE_ED_POINT, BRIDGE_ED_9, BRIDGE_ED_9},
    {0, 0, 0, 0, BRIDGE_ED_Z, BRIDGE_ED_Z, BRIDGE_ED_COMMA, BRIDGE_ED_Z, BRIDGE_ED_9,
     BRIDGE_ED_POINT, BRIDGE_ED_9, BRIDGE_ED_9, BRIDGE_ED_CR},
    {0, BRIDGE_ED_CURRENCY, 0, 3, BRIDGE_ED_CURRENCY, BRIDGE_ED_CURRENCY, BRIDGE_ED_COMMA,
     BRIDGE_ED_CURRENCY, BRIDGE_ED_9, BRIDGE_ED_SLASH, BRIDGE_ED_B, BRIDGE_ED_ZERO, BRIDGE_ED_DB},
    {0, 0, 0, 0, BRIDGE_ED_STAR, BRIDGE_ED_STAR, BRIDGE_ED_POINT, BRIDGE_ED_STAR, BRIDGE_ED_MINUS},
    {BRIDGE_ED_BAD, 0, 0, 0},
};
static const uint8_t MASK_LEN[] = {9, 11, 13, 13, 9, 4};
#define N_MASKS 6

/* The blob: the keys, then the masks; where each mask starts and how wide its text is. */
static size_t make_blob(uint8_t *blob, uint32_t *mask_at, uint32_t *width)
{
    size_t n = sizeof KEYS - 1;
    memcpy(blob, KEYS, n);
    for (int m = 0; m < N_MASKS; m++) {
        mask_at[m] = (uint32_t)n;
        memcpy(blob + n, MASKS[m], MASK_LEN[m]);
        n += MASK_LEN[m];
        width[m] = 0;
        for (int k = 4; k < MASK_LEN[m]; k++)
            width[m] += (MASKS[m][k] == BRIDGE_ED_CR || MASKS[m][k] == BRIDGE_ED_DB) ? 2 : 1;
    }
    return n;
}

#define check(ok)                                                                         \
    do {                                                                                  \
        if (!(ok)) {                                                                      \
            fprintf(stderr, "fuzz_decode.c:%d: check failed: %s\n", __LINE__, #ok);         \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

typedef struct {
    const uint8_t *p;
    size_t n;
} cursor;

static uint8_t take(cursor *c)
{
    if (c->n == 0)
        return 0;
    c->n--;
    return *c->p++;
}

static void tables(uint8_t seed, uint8_t *text, uint8_t *zone, uint8_t *packed)
{
    uint32_t x = 2463534242u ^ seed;
    for (int i = 0; i < 256; i++) {
        uint8_t *e = text + 8 * i;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        e[7] = (uint8_t)(x % 7);
        for (int k = 0; k < 6; k++) /* escaped JSON never holds a raw control byte */
            e[k] = (uint8_t)(0x41 + (x >> (k * 4)) % 26);
        e[6] = (x & 15) == 0; /* a few unmappable bytes */
    }
    {
        /* The EBCDIC bytes of digits, space, signs, editing and timestamp characters mean
         * themselves. */
        static const char *chars = " .,+-*$CRDB/0123456789:";
        static const uint8_t bytes[] = {0x40, 0x4B, 0x6B, 0x4E, 0x60, 0x5C, 0x5B, 0xC3, 0xD9,
                                        0xC4, 0xC2, 0x61, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5,
                                        0xF6, 0xF7, 0xF8, 0xF9, 0x7A};
        for (size_t k = 0; k < sizeof bytes; k++) {
            uint8_t *e = text + 8 * bytes[k];
            e[0] = (uint8_t)chars[k];
            e[6] = chars[k] == ' ' ? 2 : 0;
            e[7] = 1;
        }
    }
    for (int i = 0; i < 512; i++) {
        int zonebits = (i & 255) >> 4, digit = i & 15;
        zone[i] = digit > 9 ? (uint8_t)(BRIDGE_R_BAD_ZONE << 5)
                  : zonebits == 0xD ? (uint8_t)(0x10 | digit)
                  : (zonebits == 0xC || zonebits == 0xF) ? (uint8_t)digit
                                                         : (uint8_t)(BRIDGE_R_BAD_SIGN << 5);
    }
    for (int i = 0; i < 32; i++)
        packed[i] = (uint8_t)(i % 3);
}

/* Assemble a plan from instructions: a stack closes what is open, `end` is filled in. */
static uint32_t assemble(cursor *c, bridge_op *ops, uint32_t *slots, const uint32_t *mask_at,
                         const uint32_t *width)
{
    uint32_t n = 0, stack[MAX_OPS], depth = 0, count_ops[8], ncount = 0;
    uint8_t count = take(c) % 48;
    memset(ops, 0, sizeof(bridge_op) * MAX_OPS);
    ops[n].kind = BRIDGE_OP_OPEN_OBJ;
    ops[n].odo = -1;
    stack[depth++] = n++;
    for (uint8_t i = 0; i < count && n < MAX_OPS - 40; i++) {
        uint8_t code = take(c), f0 = take(c), f1 = take(c), len = take(c);
        uint8_t off0 = take(c), off1 = take(c), ds = take(c), aux = take(c);
        bridge_op *op = &ops[n];
        op->odo = -1;
        op->offset = (uint32_t)off0 | (uint32_t)(off1 & 3) << 8;
        op->key_off = (uint32_t)(aux % 24);
        op->key_len = (uint32_t)((aux >> 3) % 12);
        switch (code % 6) {
        case 1: /* open group */
            op->kind = BRIDGE_OP_OPEN_OBJ;
            stack[depth++] = n++;
            break;
        case 2: /* close */
            if (depth > 1) {
                uint32_t open = stack[--depth];
                op->kind = ops[open].kind == BRIDGE_OP_OPEN_ARR ? BRIDGE_OP_CLOSE_ARR
                                                                 : BRIDGE_OP_CLOSE_OBJ;
                ops[open].end = n++;
            }
            break;
        case 3: /* open table */
            op->kind = BRIDGE_OP_OPEN_ARR;
            op->count = 1u + len % 6;
            op->min_count = f0 % 3;
            op->stride = 1u + ds % 40;
            op->key_len = 0;
            if (ncount && (f1 & 1))
                op->odo = (int32_t)count_ops[f1 % ncount];
            stack[depth++] = n++;
            break;
        case 4: /* a count item */
            op->kind = BRIDGE_OP_ZONED + (f0 % 3);
            op->length = 1u + len % 4;
            op->flags = BRIDGE_F_COUNT | (f1 & 1 ? BRIDGE_F_HIDDEN : 0);
            op->slot = (*slots)++ % BRIDGE_MAX_SLOTS;
            if (ncount < 8)
                count_ops[ncount++] = n;
            n++;
            break;
        default: /* a field of any kind */
            op->kind = (uint8_t)(BRIDGE_OP_TEXT + f0 % 8);
            op->flags = (uint16_t)(f1 | (f0 & 0x80 ? BRIDGE_F_BLANK_CHECK : 0) |
                                   (f0 & 0x40 ? BRIDGE_F_LOW_NULL : 0)) &
                        1023u & ~BRIDGE_F_COUNT;
            op->length = 1u + len % 70;
            op->digits = (uint16_t)(ds % 24);
            op->scale = (int16_t)((int8_t)ds / 4);
            op->reason = (uint8_t)(1 + aux % 12);
            if (op->kind == BRIDGE_OP_BINARY)
                op->length = 1u + len % 16; /* 9-16 bytes: 19-38 digit dialects */
            if (op->kind == BRIDGE_OP_FLOAT)
                op->length = len & 1 ? 8 : 4;
            if (op->kind == BRIDGE_OP_EDITED) {
                op->aux_off = mask_at[aux % N_MASKS];
                op->aux_len = MASK_LEN[aux % N_MASKS];
                op->length = len % 8 ? width[aux % N_MASKS] : 1u + len % 12;
            }
            n++;
        }
    }
    while (depth > 0) {
        uint32_t open = stack[--depth];
        ops[n].kind = ops[open].kind == BRIDGE_OP_OPEN_ARR ? BRIDGE_OP_CLOSE_ARR
                                                           : BRIDGE_OP_CLOSE_OBJ;
        ops[n].odo = -1;
        ops[open].end = n++;
    }
    /* Sometimes break the plan on purpose: the check must notice or it must not matter. */
    for (uint8_t k = take(c) % 3; k > 0 && n > 0; k--) {
        uint8_t which = take(c), field = take(c), value = take(c);
        uint8_t *raw = (uint8_t *)&ops[which % n];
        raw[field % sizeof(bridge_op)] = value;
    }
    return n;
}

/* ---- validation checks (native/validate.c), as bridge/mapping/check_plan.py fills them ---- */

#define CHECKS_BLOB_MAX 8192

typedef struct {
    uint8_t b[CHECKS_BLOB_MAX];
    uint32_t n;
} blobbuf;

static uint32_t put(blobbuf *b, const void *p, size_t n)
{
    uint32_t at = b->n;
    if (n > CHECKS_BLOB_MAX - b->n)
        n = CHECKS_BLOB_MAX - b->n;
    memcpy(b->b + b->n, p, n);
    b->n += (uint32_t)n;
    return at;
}

/* Code-page bytes a text item's lists and data plausibly hold: EBCDIC digits, letters, space,
 * newline, signs; a raw byte now and then. Numbers written as text use ASCII. */
static uint8_t list_byte(cursor *c, int text)
{
    static const uint8_t ebcdic[] = {0xF0, 0xF1, 0xF2, 0xF9, 0xC1, 0xC2, 0xC3, 0xE8,
                                     0x40, 0x40, 0x25, 0x05, 0x60, 0x4B, 0x00, 0xFF};
    static const char ascii[] = "0123456789-.0000";
    uint8_t x = take(c);
    if (x >= 0xF0)
        return take(c);
    return text ? ebcdic[x % 16] : (uint8_t)ascii[x % 16];
}

/* n strings: 2-byte little-endian length, then the bytes (up to 8, now and then up to 16:
 * items compared 8 bytes at a time). */
static void put_strings(cursor *c, blobbuf *b, int text, uint32_t *off, uint32_t *len,
                        uint32_t *n)
{
    uint32_t count = take(c) % 4;
    *off = b->n;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t x = take(c), k = x >= 0xF8 ? 9 + x % 8 : x % 9, item[2 + 16];
        item[0] = k;
        item[1] = 0;
        for (uint8_t j = 0; j < k; j++)
            item[2 + j] = list_byte(c, text);
        put(b, item, 2u + k);
    }
    *len = b->n - *off;
    *n = count;
}

static int64_t some_int(cursor *c)
{
    static const int64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                    100000000, 1000000000, 10000000000, 100000000000,
                                    1000000000000, 10000000000000, 100000000000000,
                                    1000000000000000, 10000000000000000};
    uint8_t sel = take(c);
    switch (sel % 8) {
    case 0: return sel & 8 ? INT64_MIN : INT64_MAX;
    case 1: return 0;
    case 2: return (int64_t)(int8_t)take(c);
    default: return (int64_t)(int8_t)take(c) * pow10[take(c) % 17];
    }
}

/* n (low, high) pairs of int64 in native byte order; high < low now and then. */
static void put_ranges(cursor *c, blobbuf *b, uint32_t *off, uint32_t *len, uint32_t *n)
{
    uint32_t count = take(c) % 4;
    *off = b->n;
    for (uint32_t i = 0; i < count; i++) {
        int64_t pair[2];
        uint8_t d = take(c);
        pair[0] = some_int(c);
        pair[1] = d == 0xFF ? some_int(c) : pair[0] < INT64_MAX - d ? pair[0] + d % 64 : pair[0];
        put(b, pair, sizeof pair);
    }
    *len = b->n - *off;
    *n = count;
}

/* A pattern: a flags byte (1: `$`), then atoms of 2-byte min, 2-byte max, a 32-byte set. */
static void put_pattern(cursor *c, blobbuf *b, int text, uint32_t *off, uint32_t *len)
{
    uint8_t head = take(c), atoms = head % 6;
    uint8_t flags = (head >> 3) & 1;
    if (head >= 0xF8) /* up to the atom limit */
        atoms = 30 + head % 4;
    *off = put(b, &flags, 1);
    for (uint8_t k = 0; k < atoms; k++) {
        uint8_t a[36], sel = take(c), cls = take(c);
        uint16_t lo, hi;
        switch (sel % 6) {
        case 0: lo = hi = 1; break;
        case 1: lo = 0, hi = 1; break;
        case 2: lo = 0, hi = 0xFFFF; break;
        case 3: lo = 1, hi = 0xFFFF; break;
        case 4: lo = hi = (uint16_t)(sel >> 3); break;
        default: lo = (uint16_t)(sel >> 5), hi = (uint16_t)(lo + (sel >> 3) % 4); break;
        }
        a[0] = (uint8_t)lo;
        a[1] = (uint8_t)(lo >> 8);
        a[2] = (uint8_t)hi;
        a[3] = (uint8_t)(hi >> 8);
        memset(a + 4, 0, 32);
        switch (cls % 5) {
        case 0: /* digits */
            for (int d = 0; d < 10; d++) {
                int byte = text ? 0xF0 + d : '0' + d;
                a[4 + byte / 8] |= (uint8_t)(1u << (byte % 8));
            }
            break;
        case 1: /* one character */ {
            uint8_t byte = list_byte(c, text);
            a[4 + byte / 8] |= (uint8_t)(1u << (byte % 8));
            break;
        }
        case 2: /* anything (`.`: all but the newline) */
            memset(a + 4, 0xFF, 32);
            a[4 + (text ? 0x25 : '\n') / 8] &= (uint8_t)~(1u << ((text ? 0x25 : '\n') % 8));
            break;
        case 3: /* a range */
            for (int byte = cls; byte < 256 && byte < cls + 40; byte++)
                a[4 + byte / 8] |= (uint8_t)(1u << (byte % 8));
            break;
        default: /* raw */
            for (int q = 0; q < 32; q++)
                a[4 + q] = take(c);
        }
        put(b, a, sizeof a);
    }
    *len = b->n - *off;
}

static int checkable(const bridge_op *op)
{
    return (op->kind == BRIDGE_OP_TEXT || op->kind == BRIDGE_OP_ZONED ||
            op->kind == BRIDGE_OP_PACKED || op->kind == BRIDGE_OP_BINARY ||
            op->kind == BRIDGE_OP_EDITED) &&
           !(op->flags & BRIDGE_F_HIDDEN);
}

/* One check for the op, as check_plan.py's _compile_field would write it for some target. */
static void make_check(cursor *c, blobbuf *b, const bridge_op *op, bridge_check *k)
{
    static const uint8_t date_width[] = {0, 8, 6, 5, 7, 7, 10, 14, 14, 14, 14};
    int text = op->kind == BRIDGE_OP_TEXT;
    uint8_t sel = take(c), opt = take(c);
    uint16_t rules = opt & 1 ? 1u << BRIDGE_V_TYPE : 0;
    memset(k, 0, sizeof *k);
    k->target = text ? (uint8_t[]){BRIDGE_CT_STRING, BRIDGE_CT_CHOICE, BRIDGE_CT_DATE}[sel % 3]
                     : (uint8_t)(BRIDGE_CT_STRING + sel % 5);
    if (opt & 2) {
        if (text)
            put_strings(c, b, 1, &k->null_off, &k->null_len, &k->n_null);
        else
            put_ranges(c, b, &k->null_off, &k->null_len, &k->n_null);
    }
    switch (k->target) {
    case BRIDGE_CT_STRING:
        k->trim = (uint8_t)((sel >> 3) % 3);
        if (!text)
            k->width = op->scale > 0 ? 0
                       : opt & 0x80  ? (uint16_t)(take(c) * 2 % 513)
                                     : (uint16_t)(op->digits + (op->scale < 0 ? -op->scale : 0));
        if (opt & 4) {
            k->min_len = take(c) % 12;
            rules |= 1u << BRIDGE_V_MIN_LENGTH;
        }
        if (opt & 8) {
            k->max_len = take(c) % 40;
            rules |= 1u << BRIDGE_V_MAX_LENGTH;
        }
        if (opt & 16) {
            put_strings(c, b, text, &k->enum_off, &k->enum_len, &k->n_enum);
            rules |= 1u << BRIDGE_V_ENUM;
        }
        if (opt & 32) {
            put_pattern(c, b, text, &k->pat_off, &k->pat_len);
            rules |= 1u << BRIDGE_V_PATTERN;
        }
        break;
    case BRIDGE_CT_INTEGER:
    case BRIDGE_CT_DECIMAL:
        if (opt & 4) {
            k->min = some_int(c);
            rules |= 1u << BRIDGE_V_MINIMUM;
        }
        if (opt & 8) {
            k->max = some_int(c);
            rules |= 1u << BRIDGE_V_MAXIMUM;
        }
        if (opt & 16) {
            put_ranges(c, b, &k->enum_off, &k->enum_len, &k->n_enum);
            rules |= 1u << BRIDGE_V_ENUM;
        }
        if (k->target == BRIDGE_CT_DECIMAL) {
            uint8_t prec = take(c);
            k->scale = (int16_t)(prec % 20);
            k->whole = (uint16_t)(prec >> 3);
            rules |= 1u << BRIDGE_V_PATTERN | 1u << BRIDGE_V_SCALE;
        } else {
            rules |= 1u << BRIDGE_V_CONVERT_TYPE;
        }
        break;
    case BRIDGE_CT_DATE:
        k->format = (uint8_t)(BRIDGE_FMT_YYYYMMDD + (sel >> 3) % 10);
        k->window = take(c) % 100;
        k->width = date_width[k->format];
        rules |= 1u << BRIDGE_V_FORMAT;
        break;
    default: /* BRIDGE_CT_CHOICE */
        if (text)
            put_strings(c, b, 1, &k->choice_off, &k->choice_len, &k->n_choice);
        else
            put_ranges(c, b, &k->choice_off, &k->choice_len, &k->n_choice);
        if ((opt & 1) && (opt & 16))
            rules |= 1u << BRIDGE_V_ENUM;
        rules |= 1u << BRIDGE_V_CHOICE;
    }
    k->rules = rules;
}

/* The chars table from the plan's text table: a one-byte character below 128 is its ASCII. */
static void make_chars(const uint8_t *text, uint8_t *chars)
{
    for (int i = 0; i < 256; i++) {
        const uint8_t *e = text + 8 * i;
        chars[i] = e[7] == 1 && e[0] < 0x80 ? e[0] : 0;
        chars[256 + i] = (uint8_t)((e[6] & 2 ? 3 : 0) | (i == 0x25 ? 5 : 0) | (i == 0x05));
    }
}

typedef struct {
    bridge_checks checks;
    bridge_check *ops;
    uint8_t *blob;
    uint8_t *chars;
    int shape; /* shape the checked fields' data (shape_field) */
} fuzz_checks;

/* The checks bytes: a flags byte (density, corruption), then per op a selector byte (and what
 * make_check reads), then the corruption's bytes. */
static void make_checks(cursor *c, const bridge_plan *plan, fuzz_checks *fc)
{
    static blobbuf b;
    uint8_t cf = take(c);
    uint32_t n = plan->n_ops;
    b.n = 0;
    fc->ops = malloc(sizeof(bridge_check) * (n ? n : 1));
    fc->chars = malloc(512);
    make_chars(plan->text_table, fc->chars);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t sel = take(c);
        memset(&fc->ops[i], 0, sizeof(bridge_check));
        /* Mostly checks on fields that take them; now and then on any op (must be refused). */
        if (sel % 4 != 0 && (checkable(&plan->ops[i]) || (cf & 0x40 && sel % 8 == 7)))
            make_check(c, &b, &plan->ops[i], &fc->ops[i]);
    }
    /* Sometimes corrupt the checks or their blob: the check must notice or it must not matter. */
    if (cf % 4 == 0) {
        for (uint8_t k = take(c) % 4; k > 0; k--) {
            uint8_t which = take(c), field = take(c), value = take(c);
            if (which & 0x80 && b.n > 0)
                b.b[(which | (uint32_t)field << 7) % b.n] = value;
            else if (n > 0)
                ((uint8_t *)&fc->ops[which % n])[field % sizeof(bridge_check)] = value;
        }
    }
    if (cf % 16 == 4) /* a NUL character table or a short blob length */
        b.n = b.n ? b.n - 1 - take(c) % b.n : 0;
    fc->blob = b.n || !(cf & 0x80) ? malloc(b.n ? b.n : 1) : NULL;
    if (fc->blob)
        memcpy(fc->blob, b.b, b.n);
    fc->checks.ops = fc->ops;
    fc->checks.blob = fc->blob;
    fc->checks.blob_len = b.n;
    fc->checks.chars = cf % 16 == 8 ? NULL : fc->chars;
    fc->shape = (cf & 0x10) != 0;
}

/* ---- shaped values: what a checked field plausibly holds, so that the checks get past a
 * value's shape to its parts (a date's month and day, a long number's digits) ---- */

/* A date or timestamp of the format as ASCII, its parts mostly in range (else just past it)
 * and its years around the leap-year rules, from r (the record's bytes where the field starts,
 * which the value then replaces: the fuzzer still picks it). Now and then one character is
 * spoiled. */
static uint32_t render_date(uint8_t format, const uint8_t *r, char *out, size_t cap)
{
    static const int years[16] = {0,    1,    4,    100,  400,  1600, 1899, 1900,
                                  1999, 2000, 2004, 2023, 2024, 2100, 2400, 9999};
    int y = r[0] & 3 ? 1 + (r[0] << 8 | r[1]) % 9999 : years[r[0] >> 4];
    int m = r[2] < 240 ? 1 + r[2] % 12 : r[2] - 240;                /* 0, 13-15 */
    int d = r[3] < 224 ? 1 + r[3] % 31 : (r[3] - 224) * 2;          /* 0, 32-62 */
    int julian = r[3] < 224 ? 1 + ((r[2] & 1) << 8 | r[3]) % 366 : r[3] * 4 % 1000;
    int hh = r[4] < 240 ? r[4] % 24 : 24 + (r[4] - 240) * 5;        /* 24-99 */
    int mi = r[5] < 240 ? r[5] % 60 : 60 + (r[5] - 240) * 2;        /* 60-90 */
    int ss = r[6] < 240 ? r[6] % 60 : 60 + (r[6] - 240) * 2;
    int frac = (r[7] * 7919 + r[1]) % 1000000;
    int n;
    switch (format) {
    case BRIDGE_FMT_YYYYMMDD: n = snprintf(out, cap, "%04d%02d%02d", y, m, d); break;
    case BRIDGE_FMT_YYMMDD: n = snprintf(out, cap, "%02d%02d%02d", y % 100, m, d); break;
    case BRIDGE_FMT_YYDDD: n = snprintf(out, cap, "%02d%03d", y % 100, julian); break;
    case BRIDGE_FMT_YYYYDDD: n = snprintf(out, cap, "%04d%03d", y, julian); break;
    case BRIDGE_FMT_CYYMMDD:
        n = snprintf(out, cap, "%d%02d%02d%02d", r[4] % 10, y % 100, m, d);
        break;
    case BRIDGE_FMT_ISO_DATE: n = snprintf(out, cap, "%04d-%02d-%02d", y, m, d); break;
    case BRIDGE_FMT_TS14:
        n = snprintf(out, cap, "%04d%02d%02d%02d%02d%02d", y, m, d, hh, mi, ss);
        break;
    case BRIDGE_FMT_TS_SPACE:
        n = snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, hh, mi, ss);
        break;
    case BRIDGE_FMT_TS_SPACE_F:
        n = snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06d", y, m, d, hh, mi, ss, frac);
        break;
    default: /* BRIDGE_FMT_TS_DB2 */
        n = snprintf(out, cap, "%04d-%02d-%02d-%02d.%02d.%02d.%06d", y, m, d, hh, mi, ss, frac);
    }
    check(n > 0 && (size_t)n < cap);
    if ((r[7] & 0xE0) == 0xE0) /* a separator where a digit goes, or the other way round */
        out[r[6] % n] = out[r[6] % n] >= '0' && out[r[6] % n] <= '9' ? '-' : '0';
    return (uint32_t)n;
}

/* The EBCDIC byte of a date's ASCII character (tables() maps these back). */
static uint8_t date_byte(char ch)
{
    switch (ch) {
    case '-': return 0x60;
    case ' ': return 0x40;
    case ':': return 0x7A;
    case '.': return 0x4B;
    default: return (uint8_t)(0xF0 + (ch - '0'));
    }
}

/* A zoned or packed item's bytes for the digits digs[0..nd) (nd: the item's digit count) and
 * the sign, in the plan's conventions. */
static void put_digits(uint8_t *s, const bridge_op *op, const bridge_plan *plan, const char *digs,
                       uint32_t nd, int neg)
{
    uint32_t len = op->length;
    int sep = (op->flags & BRIDGE_F_SIGN_SEPARATE) != 0;
    if (op->kind == BRIDGE_OP_PACKED) {
        uint8_t sign = 0xC;
        for (uint8_t nib = 10; nib < 16; nib++)
            if (plan->packed_sign[(op->flags & BRIDGE_F_SIGNED ? 0 : 16) + nib] == neg) {
                sign = nib;
                break;
            }
        for (uint32_t i = 0; i + 1 < len; i++)
            s[i] = (uint8_t)((digs[2 * i] - '0') << 4 | (digs[2 * i + 1] - '0'));
        s[len - 1] = (uint8_t)((digs[nd - 1] - '0') << 4 | sign);
    } else {
        int leading = (op->flags & BRIDGE_F_SIGN_LEADING) && (op->flags & BRIDGE_F_SIGNED);
        uint32_t si = leading ? 0 : len - 1, at = 0;
        for (uint32_t i = 0; i < len; i++)
            s[i] = sep && i == si ? (neg ? plan->minus : plan->plus)
                                  : (uint8_t)(plan->digit0 + (digs[at++] - '0'));
        if (!sep && (op->flags & BRIDGE_F_SIGNED))
            s[si] = (uint8_t)((neg ? 0xD0 : 0xC0) | (s[si] & 15));
    }
}

/* Overwrite a checked field (its first occurrence in a record, at s, `avail` bytes left in the
 * record) with a value of its kind. Text: a date in the check's format (a leading space and
 * trailing ones now and then), or all X'00' now and then where that is null (LOW_NULL). Zoned
 * and packed: valid digits, a date's for date checks, else the field's bytes' with the
 * significant ones around 19 half the time (where the checks go from a 64-bit value to the
 * digit walk). Binary and edited fields keep their bytes. */
static void shape_field(uint8_t *s, size_t avail, const bridge_op *op, const bridge_check *k,
                        const bridge_plan *plan)
{
    uint8_t r[8] = {0};
    char date[40], digs[2 * BRIDGE_MAX_NUM_LEN];
    uint32_t len = op->length, dn = 0, nd;
    int is_date = k->target == BRIDGE_CT_DATE && k->format >= BRIDGE_FMT_YYYYMMDD &&
                  k->format <= BRIDGE_FMT_TS_DB2;
    int sep = (op->flags & BRIDGE_F_SIGN_SEPARATE) != 0, neg;
    memcpy(r, s, avail < 8 ? avail : 8);
    if (is_date)
        dn = render_date(k->format, r, date, sizeof date);
    if (op->kind == BRIDGE_OP_TEXT) {
        uint32_t at = 0;
        if ((op->flags & BRIDGE_F_LOW_NULL) && (r[7] & 7) == 7) { /* null: the check sees it */
            memset(s, 0, len);
            return;
        }
        if (!is_date)
            return;
        if (len > dn && (r[7] & 0x40))
            s[at++] = 0x40;
        for (uint32_t i = 0; i < dn && at < len; i++)
            s[at++] = date_byte(date[i]);
        while (at < len)
            s[at++] = 0x40;
        return;
    }
    if (op->kind == BRIDGE_OP_ZONED)
        nd = sep ? len - 1 : len;
    else if (op->kind == BRIDGE_OP_PACKED)
        nd = 2 * len - 1;
    else
        return;
    if (nd == 0 || nd > sizeof digs)
        return;
    neg = (op->flags & BRIDGE_F_SIGNED) && (r[1] & 0x10);
    if (is_date) {
        /* The format's digits, less those a negative scale appends as zeros, right-aligned. */
        char only[40];
        uint32_t keep = 0, drop = op->scale < 0 ? (uint32_t)-op->scale : 0;
        for (uint32_t i = 0; i < dn; i++)
            if (date[i] >= '0' && date[i] <= '9')
                only[keep++] = date[i];
        keep = keep > drop ? keep - drop : 0;
        for (uint32_t i = 0; i < nd; i++)
            digs[i] = keep >= nd       ? only[keep - nd + i]
                      : i < nd - keep ? '0'
                                      : only[i - (nd - keep)];
        neg = neg && (r[7] & 0x10);
    } else {
        uint32_t sig = 17u + r[0] % 5;
        uint32_t zeros = r[0] & 0x80 ? (nd > sig ? nd - sig : 0) : r[0] % (nd + 1);
        for (uint32_t i = 0; i < nd; i++) {
            uint8_t raw = op->kind == BRIDGE_OP_PACKED ? (uint8_t)(s[i / 2] >> (i & 1 ? 0 : 4) & 15)
                                                       : s[i];
            digs[i] = i < zeros ? '0' : (char)('0' + raw % 10);
        }
    }
    put_digits(s, op, plan, digs, nd, neg);
}

/* ---- mapped events (native/emit.c), their bytes laid out as bridge/mapping/event_plan.py does ----
 *
 * Per op: a 44-byte header (bridge_core.h, BRIDGE_EMIT_HEADER), then text ops' 512-byte
 * character table, the null list, the choice list (number entries with their targets after
 * them), the protection's bytes. Offsets count from the header. */

#define EMIT_BLOB_MAX (1u << 18)
#define OP_EMIT_MAX 4096

typedef struct {
    uint8_t b[OP_EMIT_MAX];
    uint32_t n;
} opbuf;

static uint32_t oput(opbuf *o, const void *p, size_t n)
{
    uint32_t at = o->n;
    if (n > OP_EMIT_MAX - o->n)
        n = OP_EMIT_MAX - o->n;
    memcpy(o->b + o->n, p, n);
    o->n += (uint32_t)n;
    return at;
}

static void wr32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int64_t rd64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return (int64_t)v;
}

/* The code page's characters as the event plan's text tables hold them: EBCDIC letters, and
 * bytes whose character JSON escapes (quote, backslash, controls) or writes as 2-4 UTF-8 bytes,
 * so that masks count and hashes unescape real characters. */
static const struct {
    uint8_t byte, ascii; /* ascii: the character when below 128 (the emit character table) */
    const char *json;
} ESCAPED[] = {
    {0x7F, '"', "\\\""},   {0xE0, '\\', "\\\\"},       {0x25, '\n', "\\n"},
    {0x05, '\t', "\\t"},   {0x16, '\b', "\\b"},        {0x0C, '\f', "\\f"},
    {0x0D, '\r', "\\r"},   {0x00, 0, "\\u0000"},       {0x3F, 0x1A, "\\u001a"},
    {0x48, 0, "\xc3\xa7"}, {0x9F, 0, "\xe2\x82\xac"}, {0xFE, 0, "\xf0\x9f\x98\x80"},
    {0xFD, 0, "\\u12"}, /* no table of ours holds a broken escape; the check does not look */
};
#define N_ESCAPED (sizeof ESCAPED / sizeof ESCAPED[0])

static void emit_tables(uint8_t *text)
{
    static const uint8_t letters[3][2] = {{0xC1, 'A'}, {0xD1, 'J'}, {0xE2, 'S'}};
    for (int g = 0; g < 3; g++)
        for (int k = 0; k < (g == 2 ? 8 : 9); k++) {
            uint8_t *e = text + 8 * (letters[g][0] + k);
            e[0] = (uint8_t)(letters[g][1] + k);
            e[6] = 0;
            e[7] = 1;
        }
    for (size_t k = 0; k < N_ESCAPED; k++) {
        uint8_t *e = text + 8 * ESCAPED[k].byte;
        size_t n = strlen(ESCAPED[k].json);
        memcpy(e, ESCAPED[k].json, n);
        e[6] = 0;
        e[7] = (uint8_t)n;
    }
}

/* The 512-byte character table of a text op: each byte's character when ASCII, then flags
 * (1: white space as str.isspace sees it). */
static void emit_chars(const uint8_t *text, uint8_t *chars)
{
    for (int i = 0; i < 256; i++) {
        const uint8_t *e = text + 8 * i;
        chars[i] = e[7] == 1 && e[0] < 0x80 ? e[0] : 0;
        chars[256 + i] = (e[6] & 2) != 0;
    }
    for (size_t k = 0; k < N_ESCAPED; k++) {
        chars[ESCAPED[k].byte] = ESCAPED[k].ascii;
        chars[256 + ESCAPED[k].byte] = ESCAPED[k].ascii == '\n' || ESCAPED[k].ascii == '\t' ||
                                       ESCAPED[k].ascii == '\f' || ESCAPED[k].ascii == '\r';
    }
}

/* Choice targets as json.dumps writes them (enum strings, booleans, a null, a number). */
static const char *const TARGETS[] = {
    "\"GOLD\"", "true", "false", "\"\"", "\"\\u00e9t\\u00e9\"", "\"\xc3\xa9t\xc3\xa9\"",
    "\"\\\"q\\\\\"", "null", "12", "\"\xf0\x9f\x98\x80 a rather longer target, to be masked\"",
    "\"\\u00\"", /* a broken escape: the check does not read JSON */
};
#define N_TARGETS (sizeof TARGETS / sizeof TARGETS[0])

/* Mask characters as JSON (json.dumps(mask_char)[1:-1]): 1 to 6 bytes. */
static const char *const MASK_CHARS[] = {"*", "#", "\\\"", "\\\\", "\xc3\xa9", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80", "\\u0001"};
#define N_MASK_CHARS (sizeof MASK_CHARS / sizeof MASK_CHARS[0])

enum { EK_NONE, EK_TEXT, EK_NATIONAL, EK_NUMBER, EK_WRONG };

static int emit_kind(uint8_t kind)
{
    switch (kind) {
    case BRIDGE_OP_TEXT: return EK_TEXT;
    case BRIDGE_OP_NATIONAL: return EK_NATIONAL;
    case BRIDGE_OP_ZONED:
    case BRIDGE_OP_PACKED:
    case BRIDGE_OP_BINARY:
    case BRIDGE_OP_EDITED: return EK_NUMBER;
    case BRIDGE_OP_FLOAT:
    case BRIDGE_OP_FAIL: return EK_WRONG; /* the plan check must refuse emit bytes here */
    default: return EK_NONE;
    }
}

/* A number list: (low, high) entries, each with a target when `targets` (after the list, as
 * _number_list places them), else an empty one at the list's end. */
static uint32_t put_number_list(cursor *c, opbuf *o, uint32_t count, int targets)
{
    uint32_t at = o->n;
    uint8_t zero[24] = {0};
    for (uint32_t i = 0; i < count; i++)
        oput(o, zero, sizeof zero);
    for (uint32_t i = 0; i < count && at + 24 * (i + 1) <= o->n; i++) {
        uint8_t *x = o->b + at + 24 * i, d = take(c);
        int64_t low = some_int(c), high;
        const char *t = targets ? TARGETS[take(c) % N_TARGETS] : "";
        high = d == 0xFF ? some_int(c) : low < INT64_MAX - d ? low + d % 64 : low;
        if (!targets && d < 0x80) /* null values are single values */
            high = low;
        for (int k = 0; k < 8; k++) {
            x[k] = (uint8_t)((uint64_t)low >> (8 * k));
            x[8 + k] = (uint8_t)((uint64_t)high >> (8 * k));
        }
        wr32(x + 16, oput(o, t, strlen(t)));
        wr32(x + 20, (uint32_t)strlen(t));
    }
    return at;
}

/* A text list: u16 source length, code-page bytes, u16 target length, target JSON. */
static uint32_t put_text_list(cursor *c, opbuf *o, uint32_t count, int targets)
{
    uint32_t at = o->n;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t x = take(c), k = x >= 0xF8 ? 9 + x % 8 : x % 9, item[2 + 16];
        const char *t = targets ? TARGETS[take(c) % N_TARGETS] : "";
        uint8_t tl[2] = {(uint8_t)strlen(t), 0};
        item[0] = k;
        item[1] = 0;
        for (uint8_t j = 0; j < k; j++)
            item[2 + j] = list_byte(c, 1);
        oput(o, item, 2u + k);
        oput(o, tl, 2);
        oput(o, t, strlen(t));
    }
    return at;
}

/* One op's emit bytes, well formed for its kind (a float or fail op gets a number's, which
 * the check must refuse). Reads: sel, opt, then what the conversion and protection need. May
 * set the op's scale (a date from a number has none) and lengthen a protected text op. */
static void make_emit_op(cursor *c, opbuf *o, bridge_op *op, const uint8_t *chars)
{
    static const uint8_t date_width[] = {0, 8, 6, 5, 7, 7, 10, 14, 14, 14, 14};
    static const uint8_t number_formats[] = {BRIDGE_FMT_YYYYMMDD, BRIDGE_FMT_YYMMDD,
                                             BRIDGE_FMT_YYDDD,    BRIDGE_FMT_YYYYDDD,
                                             BRIDGE_FMT_CYYMMDD,  BRIDGE_FMT_TS14};
    uint8_t *h = o->b, sel = take(c), opt = take(c);
    int ek = emit_kind(op->kind), text = ek == EK_TEXT;
    uint8_t conv = text ? (uint8_t[]){BRIDGE_EC_KEEP, BRIDGE_EC_DATE, BRIDGE_EC_CHOICE,
                                      BRIDGE_EC_TEXT_NUMBER}[sel % 4]
                   : ek == EK_NATIONAL ? BRIDGE_EC_KEEP
                                       : (uint8_t)(sel % 5);
    uint8_t prot = (opt & 3) == 1   ? BRIDGE_PROTECT_MASK
                   : (opt & 3) == 2 ? BRIDGE_PROTECT_HASH
                                    : BRIDGE_PROTECT_NONE;
    uint32_t width = 0, n_null = 0, null_at = 0, n_choice = 0, choice_at = 0, chars_at = 0;
    uint32_t prot_at = 0, prot_len = 0;
    uint64_t bound;

    memset(h, 0, BRIDGE_EMIT_HEADER);
    o->n = BRIDGE_EMIT_HEADER;
    if (text && prot != BRIDGE_PROTECT_NONE && (opt & 0x40)) /* long text to mask or hash */
        op->length = 48u + 4u * take(c);
    if (text)
        chars_at = oput(o, chars, 512);
    /* Null values (on national text only now and then: refused). */
    if ((opt & 4) && (ek != EK_NATIONAL || (opt & 0x80))) {
        n_null = 1 + take(c) % 3;
        null_at = text ? put_text_list(c, o, n_null, 0) : put_number_list(c, o, n_null, 0);
    }
    switch (conv) {
    case BRIDGE_EC_KEEP:
        h[2] = (uint8_t)(take(c) % 3);
        break;
    case BRIDGE_EC_ZFILL: {
        uint8_t w = take(c);
        width = w == 0xFE ? 257 /* refused */
                : w & 0x80 ? (uint32_t)(w * 2 + take(c)) % 257
                           : op->digits + (op->scale < 0 ? (uint32_t)-op->scale : 0);
        break;
    }
    case BRIDGE_EC_DECIMAL: {
        uint8_t w = take(c);
        width = w >= 0xFE ? w - 0xFEu + 256 : w & 0x80 ? (uint32_t)w * 2 % 257 : w % 20;
        break;
    }
    case BRIDGE_EC_DATE:
        h[3] = text ? (uint8_t)(BRIDGE_FMT_YYYYMMDD + take(c) % 10)
                    : number_formats[take(c) % sizeof number_formats];
        h[4] = (uint8_t)(take(c) % 100);
        width = date_width[h[3]];
        if (!text)
            op->scale = 0;
        break;
    case BRIDGE_EC_TEXT_NUMBER: { /* an integer, or a decimal at `width` fractional digits */
        uint8_t w = take(c);
        h[5] = w & 1;
        width = w == 0xFF                ? 256
                : w == 0xFD || w == 0xFE ? 257 /* refused */
                : (w & 1)                ? (uint32_t)(w >> 1) % 24
                : (w & 0x80)             ? w % 8u /* an integer's width is not read */
                                         : 0;
        break;
    }
    default: /* BRIDGE_EC_CHOICE */
        n_choice = take(c) % 7;
        choice_at = text ? put_text_list(c, o, n_choice, 1) : put_number_list(c, o, n_choice, 1);
    }
    if (prot == BRIDGE_PROTECT_MASK) {
        uint8_t arg[5 + 6], m = take(c);
        uint32_t keep = take(c) % 12;
        size_t mlen;
        wr32(arg, keep);
        if (m < 0xF0) {
            mlen = strlen(MASK_CHARS[m % N_MASK_CHARS]);
            memcpy(arg + 5, MASK_CHARS[m % N_MASK_CHARS], mlen);
        } else { /* any bytes: the check does not read JSON */
            mlen = 1 + m % 6;
            for (size_t k = 0; k < mlen; k++)
                arg[5 + k] = take(c);
        }
        arg[4] = (uint8_t)mlen;
        prot_len = 5 + (uint32_t)mlen;
        prot_at = oput(o, arg, prot_len);
    } else if (prot == BRIDGE_PROTECT_HASH) {
        uint8_t key[100];
        prot_len = take(c) % 101;
        for (uint32_t k = 0; k < prot_len; k++)
            key[k] = take(c);
        prot_at = oput(o, key, prot_len);
    }
    /* The most the value can take, as generously as emit.py counts it. */
    bound = 6ull * op->length + 2 * BRIDGE_MAX_NUM_LEN + BRIDGE_MAX_SCALE + 16 + width + 256 +
            (o->n - BRIDGE_EMIT_HEADER);
    if (prot == BRIDGE_PROTECT_MASK)
        bound = 2 + bound * 6;
    if (bound < 66)
        bound = 66;
    h[0] = conv;
    h[1] = prot;
    wr32(h + 8, width);
    wr32(h + 12, n_null);
    wr32(h + 16, null_at);
    wr32(h + 20, n_choice);
    wr32(h + 24, choice_at);
    wr32(h + 28, chars_at);
    wr32(h + 32, prot_at);
    wr32(h + 36, prot_len);
    wr32(h + 40, bound > UINT32_MAX ? UINT32_MAX : (uint32_t)bound);
}

typedef struct {
    int shape;    /* shape the emitting fields' data into values their conversions take */
    int tight;    /* each max-bytes field lowered to the least the plan check accepts */
    int long_rec; /* a record's length byte >= 0xF0 cuts a long record */
} fuzz_emit;

/* The emit bytes: a flags byte (corruption, shaping, tight bounds, odd ops), per op a selector
 * byte (and what make_emit_op reads), then the corruption's bytes. The blob (keys and masks,
 * `base` bytes already in b) grows by each op's emit bytes; returns its length. */
static uint32_t make_emit(cursor *c, bridge_op *ops, uint32_t n_ops, const uint8_t *text,
                          uint8_t *b, uint32_t base, fuzz_emit *fe)
{
    static opbuf o;
    uint8_t chars[512], ef = take(c);
    uint32_t n = base;
    emit_chars(text, chars);
    fe->shape = (ef & 0x10) != 0;
    fe->tight = (ef & 0x20) != 0;
    fe->long_rec = (ef & 0x80) != 0;
    for (uint32_t i = 0; i < n_ops; i++) {
        bridge_op *op = &ops[i];
        int ek = emit_kind(op->kind);
        uint8_t sel = take(c);
        if (ek == EK_NONE) {
            /* Emit bytes on a group or table op: nothing reads them. */
            if ((ef & 0x40) && sel % 8 == 7) {
                op->emit_off = take(c);
                op->emit_len = take(c);
            }
            continue;
        }
        if (sel % 8 == 0 || (ek == EK_WRONG && !((ef & 0x40) && sel % 8 == 7)))
            continue;
        make_emit_op(c, &o, op, chars);
        n = (n + 7) & ~7u; /* ASan fences whole 8-byte granules (fence_emit) */
        if (o.n > EMIT_BLOB_MAX - n)
            continue;
        op->emit_off = n;
        op->emit_len = o.n;
        memcpy(b + n, o.b, o.n);
        n += o.n;
    }
    /* Sometimes break them on purpose: the check must refuse them or they must not matter. */
    if (ef % 4 == 0) {
        for (uint8_t k = take(c) % 6 + 1; k > 0 && n_ops > 0; k--) {
            uint8_t which = take(c), what = take(c), v = take(c), v2 = take(c);
            bridge_op *op = &ops[which % n_ops];
            int has = op->emit_len >= BRIDGE_EMIT_HEADER &&
                      (uint64_t)op->emit_off + op->emit_len <= n;
            uint8_t *h = has ? b + op->emit_off : b;
            switch (what % 8) {
            case 0: /* a header byte */
                if (has)
                    h[v % BRIDGE_EMIT_HEADER] = v2;
                break;
            case 1: /* any byte: list lengths and entries, the mask's length, the table */
                if (has)
                    h[((uint32_t)v | (uint32_t)v2 << 8) % op->emit_len] = take(c);
                break;
            case 2: { /* an offset, count, width or max-bytes near a boundary */
                uint32_t at = 8 + 4 * (v % 9), cur, x;
                if (!has)
                    break;
                cur = rd32(h + at);
                switch (v2 % 8) {
                case 0: x = 0; break;
                case 1: x = op->emit_len - (v2 >> 3) % 4; break;
                case 2: x = op->emit_len + (v2 >> 3) % 4; break;
                case 3: x = UINT32_MAX - (v2 >> 3) % 4; break;
                case 4: x = 0x80000000u; break;
                case 5: x = cur - 1 - (v2 >> 3) % 8; break;
                case 6: x = cur + 1 + (v2 >> 3) % 8; break;
                default: x = cur / 2; break;
                }
                wr32(h + at, x);
                break;
            }
            case 3: /* the op's emit length */
                op->emit_len = v2 & 1 ? op->emit_len - v % 8 : op->emit_len + v % 8;
                break;
            case 4: /* the op's emit offset */
                op->emit_off += (uint32_t)(int32_t)(int8_t)v;
                break;
            case 5: /* conversion, protection, trim, format, window, decimal: other values */
                if (has)
                    h[v % 6] = (uint8_t)(v2 % 13);
                break;
            case 6: /* the bytes on another kind of op (a conversion on the wrong kind) */
                op->kind = (uint8_t)(BRIDGE_OP_TEXT + v % 8);
                break;
            default: /* a length or scale the max-bytes or a date was not made for */
                if (v & 1)
                    op->length = v2 & 0x80 ? 1u + v2 * 64u : 1u + v2 % 64;
                else
                    op->scale = (int16_t)((int8_t)v2 % 66);
            }
        }
    }
    return n;
}

/* Lower each emitting op's max-bytes to the least the plan check accepts (it compares it
 * with the bound it computes, so the search finds that bound): the oracle then holds emit.c's
 * output to emit.c's own bound. The plan must pass the check as it is. */
static void tighten(const bridge_plan *plan, uint8_t *blob)
{
    uint32_t bad;
    for (uint32_t i = 0; i < plan->n_ops; i++) {
        const bridge_op *op = &plan->ops[i];
        uint8_t *m;
        uint32_t lo = 0, hi;
        if (op->emit_len == 0 || emit_kind(op->kind) == EK_NONE)
            continue;
        m = blob + op->emit_off + 40;
        hi = rd32(m);
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            wr32(m, mid);
            if (bridge_plan_check(plan, &bad) == BRIDGE_OK)
                hi = mid;
            else
                lo = mid + 1;
        }
        wr32(m, lo);
        check(bridge_plan_check(plan, &bad) == BRIDGE_OK);
    }
}

/* The n-th entry of a checked text list at `off` in the op's emit bytes, or NULL. */
static const uint8_t *text_entry(const uint8_t *h, uint32_t size, uint32_t off, uint32_t n)
{
    uint64_t at = off;
    for (uint32_t i = 0;; i++) {
        uint32_t sl, tl;
        if (at + 2 > size)
            return NULL;
        sl = (uint32_t)h[at] | (uint32_t)h[at + 1] << 8;
        if (at + 4 + sl > size)
            return NULL;
        tl = (uint32_t)h[at + 2 + sl] | (uint32_t)h[at + 3 + sl] << 8;
        if (at + 4 + sl + tl > size)
            return NULL;
        if (i == n)
            return h + at;
        at += 4 + sl + tl;
    }
}

/* Text a mask or hash works on: letters, digits, spaces, characters JSON escapes and
 * multi-byte ones. */
static const uint8_t TEXTY[] = {0xC1, 0xC2, 0xC9, 0xD1, 0xE2, 0xE9, 0xF0, 0xF5, 0xF9, 0x40,
                                0x40, 0x4B, 0x60, 0x7F, 0xE0, 0x25, 0x05, 0x16, 0x0C, 0x0D,
                                0x00, 0x3F, 0x48, 0x9F, 0xFE, 0xC3};

/* Overwrite an emitting field (its first occurrence, `avail` bytes left in the record) with a
 * value its conversion takes, chosen by the field's own first bytes: a listed null value or
 * choice (padded with spaces), a date of the header's format, text full of escapes, or valid
 * digits. */
static void shape_emit(uint8_t *s, size_t avail, const bridge_op *op, const bridge_plan *plan)
{
    const uint8_t *h = plan->blob + op->emit_off;
    uint32_t size = op->emit_len, len = op->length, n_null = rd32(h + 12), n_choice = rd32(h + 20);
    uint8_t r[8] = {0}, pick;
    int ek = emit_kind(op->kind);
    bridge_check fake;
    memset(&fake, 0, sizeof fake);
    memcpy(r, s, avail < 8 ? avail : 8);
    pick = r[7] % 4;
    if (h[0] == BRIDGE_EC_DATE) {
        fake.target = BRIDGE_CT_DATE;
        fake.format = h[3];
    }
    if (ek == EK_TEXT) {
        const uint8_t *e = NULL;
        if (n_null != 0 && pick == 0)
            e = text_entry(h, size, rd32(h + 16), r[0] % n_null);
        else if (h[0] == BRIDGE_EC_CHOICE && n_choice != 0 && pick != 3)
            e = text_entry(h, size, rd32(h + 24), r[0] % n_choice);
        if (e != NULL) {
            uint32_t sl = (uint32_t)e[0] | (uint32_t)e[1] << 8, at = 0;
            if (pick == 0 && (r[6] & 1) && len > sl) /* null values are stripped both ends */
                s[at++] = 0x40;
            for (uint32_t i = 0; i < sl && at < len; i++)
                s[at++] = e[2 + i];
            while (at < len)
                s[at++] = 0x40;
        } else if (h[0] == BRIDGE_EC_DATE) {
            shape_field(s, avail, op, &fake, plan);
        } else if (h[0] == BRIDGE_EC_TEXT_NUMBER && pick != 3) {
            /* Spaces, a sign, digits with a point among them now and then, spaces. */
            uint32_t room = (r[4] & 1) || len < 40 ? len : 40; /* now and then all digits */
            uint32_t at = 0, nd = 1 + ((uint32_t)r[2] | (uint32_t)r[5] << 8) % room;
            uint32_t point = r[3] % (nd + 4);
            for (uint32_t k = r[0] % 3; k > 0 && at < len; k--)
                s[at++] = 0x40;
            if (r[1] % 3 != 0 && at < len)
                s[at++] = r[1] % 3 == 1 ? 0x4E : 0x60;
            for (uint32_t k = 0; k < nd && at < len; k++) {
                if (k == point && at + 1 < len)
                    s[at++] = 0x4B;
                s[at++] = (uint8_t)(0xF0 + (r[k % 8] + 7 * k) % 10);
            }
            while (at < len)
                s[at++] = 0x40;
        } else if (pick == 1) {
            uint32_t spaces = r[6] & 2 ? r[5] % 8 : 0;
            for (uint32_t i = 0; i < len; i++)
                s[i] = i + spaces >= len ? 0x40 : TEXTY[s[i] % sizeof TEXTY];
        }
        return;
    }
    if (op->kind != BRIDGE_OP_ZONED && op->kind != BRIDGE_OP_PACKED &&
        op->kind != BRIDGE_OP_BINARY)
        return;
    {
        const uint8_t *list = NULL;
        uint32_t count = 0;
        if (n_null != 0 && pick == 0)
            list = h + rd32(h + 16), count = n_null;
        else if (h[0] == BRIDGE_EC_CHOICE && n_choice != 0 && pick != 3)
            list = h + rd32(h + 24), count = n_choice;
        if (list != NULL && (uint64_t)(list - h) + 24ull * count <= size) {
            const uint8_t *x = list + 24 * (r[0] % count);
            uint64_t low = (uint64_t)rd64(x), span = (uint64_t)rd64(x + 8) - low;
            uint64_t off = (uint64_t)r[1] | (uint64_t)r[2] << 8, u;
            int64_t v = (int64_t)(low + (span == UINT64_MAX ? off : off % (span + 1)));
            if (op->kind == BRIDGE_OP_BINARY) {
                u = (uint64_t)v;
                for (uint32_t i = 0; i < len; i++)
                    s[len - 1 - i] = (uint8_t)(i < 8 ? u >> (8 * i) : 0);
            } else {
                char digs[2 * BRIDGE_MAX_NUM_LEN];
                uint32_t nd = op->kind == BRIDGE_OP_PACKED                 ? 2 * len - 1
                              : (op->flags & BRIDGE_F_SIGN_SEPARATE) ? len - 1
                                                                          : len;
                u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
                if (nd == 0 || nd > sizeof digs)
                    return;
                for (uint32_t i = 0; i < nd; i++, u /= 10)
                    digs[nd - 1 - i] = (char)('0' + u % 10);
                put_digits(s, op, plan, digs, nd, v < 0 && (op->flags & BRIDGE_F_SIGNED));
            }
            return;
        }
    }
    if (op->kind == BRIDGE_OP_BINARY) {
        if (h[0] == BRIDGE_EC_DATE && fake.format >= BRIDGE_FMT_YYYYMMDD &&
            fake.format <= BRIDGE_FMT_TS_DB2) {
            char date[40];
            uint32_t dn = render_date(fake.format, r, date, sizeof date);
            uint64_t u = 0;
            for (uint32_t i = 0; i < dn; i++)
                if (date[i] >= '0' && date[i] <= '9')
                    u = u * 10 + (uint64_t)(date[i] - '0');
            for (uint32_t i = 0; i < len; i++)
                s[len - 1 - i] = (uint8_t)(i < 8 ? u >> (8 * i) : 0);
        }
        return;
    }
    shape_field(s, avail, op, &fake, plan); /* valid digits, or a date's */
}

static int is_hex_string(const uint8_t *v, uint32_t n)
{
    if (n != 66 || v[0] != '"' || v[65] != '"')
        return 0;
    for (uint32_t i = 1; i < 65; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
            return 0;
    return 1;
}

/* The blob made unreadable to ASan but for what the op alone may read: the keys and masks
 * (the first `base` bytes), its key (the 32 bytes put_key copies), its mask and its own emit
 * bytes (bridge_core.h: their offsets stay within emit_len), so that a read into another op's
 * bytes is caught too, not only one past the end of the blob. */
static void fence_emit(const bridge_plan *plan, const bridge_op *op, uint32_t base)
{
    uint8_t *blob = (uint8_t *)(uintptr_t)plan->blob;
    uint32_t from = (base + 7) & ~7u, len = plan->blob_len;
    if (from < len)
        ASAN_POISON_MEMORY_REGION(blob + from, len - from);
    if ((uint64_t)op->emit_off + op->emit_len <= len)
        ASAN_UNPOISON_MEMORY_REGION(blob + op->emit_off, op->emit_len);
    if ((uint64_t)op->key_off + op->key_len <= len) /* put_key copies 32 bytes when it can */
        ASAN_UNPOISON_MEMORY_REGION(blob + op->key_off,
                                    op->key_len <= 32 && (uint64_t)op->key_off + 32 <= len
                                        ? 32
                                        : op->key_len);
    if (op->kind == BRIDGE_OP_EDITED && (uint64_t)op->aux_off + op->aux_len <= len)
        ASAN_UNPOISON_MEMORY_REGION(blob + op->aux_off, op->aux_len);
}

static void unfence_emit(const bridge_plan *plan)
{
    ASAN_UNPOISON_MEMORY_REGION((uint8_t *)(uintptr_t)plan->blob, plan->blob_len);
}

/* Op `ip` in a plan of its own, a root object around it (its flags but HIDDEN). */
static void alone(const bridge_plan *plan, uint32_t ip, bridge_op *ops, bridge_plan *one)
{
    memset(ops, 0, 3 * sizeof *ops);
    ops[0].kind = BRIDGE_OP_OPEN_OBJ;
    ops[0].odo = -1;
    ops[0].end = 2;
    ops[1] = plan->ops[ip];
    ops[1].flags &= (uint16_t)~BRIDGE_F_HIDDEN;
    ops[2].kind = BRIDGE_OP_CLOSE_OBJ;
    ops[2].odo = -1;
    *one = *plan;
    one->ops = ops;
    one->n_ops = 3;
}

/* The plan check of each op's emit bytes, alone and fenced: refused or accepted, it reads
 * nothing but them (the whole plan's check stops at the first bad op). */
static void check_emit_alone(const bridge_plan *plan, uint32_t base)
{
    for (uint32_t i = 0; i < plan->n_ops; i++) {
        bridge_op ops[3];
        bridge_plan one;
        uint32_t bad;
        int status;
        if (plan->ops[i].emit_len == 0 || emit_kind(plan->ops[i].kind) == EK_NONE ||
            plan->blob == NULL)
            continue;
        alone(plan, i, ops, &one);
        fence_emit(plan, &plan->ops[i], base);
        status = bridge_plan_check(&one, &bad);
        unfence_emit(plan);
        check(status == BRIDGE_OK || status == BRIDGE_E_PLAN);
    }
}

/* Op `ip` (with emit bytes) alone in a plan: the document is then its key and its value in
 * braces, so the value can be held to the max-bytes its header promises (decode.c reserves
 * that much room for it and no more) and to the shape of its conversion. */
static void emit_oracle(const bridge_plan *plan, uint32_t ip, uint32_t base,
                        const bridge_batch *proto)
{
    const bridge_op *src = &plan->ops[ip];
    const uint8_t *h = plan->blob + src->emit_off;
    bridge_op ops[3];
    bridge_plan one;
    bridge_batch b = *proto;
    bridge_record records[16];
    bridge_error errors[32]; /* one field: an error or two a record */
    uint32_t bad, max = rd32(h + 40), key = src->key_len;
    uint64_t per = 64 + (uint64_t)key + 6ull * src->length + 256 + max;
    size_t cap;
    uint8_t *out;

    if (per > (1u << 20) || b.n_records == 0)
        return;
    alone(plan, ip, ops, &one);
    cap = (size_t)per * b.n_records + 512;
    out = malloc(cap);
    b.out = out;
    b.out_cap = cap;
    b.records = records;
    b.errors = errors;
    b.error_cap = 32;
    fence_emit(plan, src, base);
    check(bridge_plan_check(&one, &bad) == BRIDGE_OK); /* it passed inside the whole plan */
    check(bridge_decode(&one, &b) == BRIDGE_OK);
    unfence_emit(plan);
    for (size_t r = 0; r < b.done; r++) {
        const uint8_t *v = out + records[r].doc_offset + 1 + key;
        uint32_t n;
        check(records[r].doc_length >= 2 + key);
        n = records[r].doc_length - 2 - key;
        check(n <= max || records[r].stopped);
        if (n == 4 && memcmp(v, "null", 4) == 0)
            continue; /* a null value, an error, a listed null, a choice not listed */
        check(!records[r].stopped);
        if (h[1] == BRIDGE_PROTECT_HASH) {
            check(is_hex_string(v, n));
        } else if (h[1] == BRIDGE_PROTECT_MASK) {
            check(n >= 2 && v[0] == '"' && v[n - 1] == '"');
        } else if (h[0] == BRIDGE_EC_DATE) {
            check((n == 12 || n == 21 || n == 28) && v[0] == '"' && v[n - 1] == '"');
        } else if (h[0] == BRIDGE_EC_ZFILL) {
            check(n >= 2 + rd32(h + 8) && v[0] == '"' && v[n - 1] == '"');
        } else if (h[0] == BRIDGE_EC_KEEP && emit_kind(src->kind) != EK_NUMBER) {
            check(n >= 2 && v[0] == '"' && v[n - 1] == '"');
        } else if (h[0] == BRIDGE_EC_DECIMAL || (h[0] == BRIDGE_EC_TEXT_NUMBER && h[5])) {
            check(n >= 3 && v[0] == '"' && v[n - 1] == '"');
        } else if (h[0] == BRIDGE_EC_CHOICE) {
            /* One of the listed targets, byte for byte. */
            int found = 0;
            uint32_t count = rd32(h + 20), off = rd32(h + 24);
            for (uint32_t i = 0; i < count && !found; i++) {
                const uint8_t *t;
                uint32_t tl;
                if (emit_kind(src->kind) == EK_TEXT) {
                    const uint8_t *e = text_entry(h, src->emit_len, off, i);
                    uint32_t sl;
                    if (e == NULL)
                        break;
                    sl = (uint32_t)e[0] | (uint32_t)e[1] << 8;
                    tl = (uint32_t)e[2 + sl] | (uint32_t)e[3 + sl] << 8;
                    t = e + 4 + sl;
                } else {
                    const uint8_t *x = h + off + 24 * i;
                    t = h + rd32(x + 16);
                    tl = rd32(x + 20);
                }
                found = tl == n && memcmp(t, v, n) == 0;
            }
            check(found);
        }
    }
    free(out);
}

static void fuzz_decode(uint8_t mode, uint8_t opts, int with_checks, int with_emit, int no_blob,
                        int ascii, cursor *c)
{
    uint8_t *text = malloc(256 * 8), *zone = malloc(512), *packed = malloc(32);
    bridge_op *ops;
    uint32_t n_ops, slots = 0, bad = 0;
    bridge_plan plan;
    static uint8_t scratch[EMIT_BLOB_MAX];
    uint32_t mask_at[N_MASKS], width[N_MASKS];
    size_t blob_len = make_blob(scratch, mask_at, width);
    uint8_t *blob;
    fuzz_checks fc;
    fuzz_emit fe;
    uint32_t base;
    int status;

    tables(opts, text, zone, packed);
    if (with_emit)
        emit_tables(text);
    if (mode == 2) {
        n_ops = take(c) % 24 + 1;
        ops = malloc(sizeof(bridge_op) * n_ops);
        for (uint32_t i = 0; i < n_ops; i++)
            for (size_t b = 0; b < sizeof(bridge_op); b++)
                ((uint8_t *)&ops[i])[b] = take(c);
        slots = BRIDGE_MAX_SLOTS;
    } else {
        bridge_op *tmp = malloc(sizeof(bridge_op) * MAX_OPS);
        n_ops = assemble(c, tmp, &slots, mask_at, width);
        ops = malloc(sizeof(bridge_op) * n_ops);
        memcpy(ops, tmp, sizeof(bridge_op) * n_ops);
        free(tmp);
    }
    memset(&fe, 0, sizeof fe);
    base = (uint32_t)blob_len;
    if (with_emit)
        blob_len = make_emit(c, ops, n_ops, text, scratch, base, &fe);
    blob = malloc(blob_len);
    memcpy(blob, scratch, blob_len);
    memset(&plan, 0, sizeof plan);
    plan.ops = ops;
    plan.n_ops = n_ops;
    plan.blob = no_blob ? NULL : blob;
    plan.blob_len = no_blob ? 0 : (uint32_t)blob_len;
    plan.text_table = text;
    plan.zone_sign = zone;
    plan.packed_sign = packed;
    plan.trim = opts % 3;
    plan.space = 0x40;
    plan.plus = 0x4E;
    plan.minus = 0x60;
    plan.digit0 = ascii ? 0x30 : 0xF0;
    plan.n_slots = slots > BRIDGE_MAX_SLOTS ? BRIDGE_MAX_SLOTS : slots;
    memset(&fc, 0, sizeof fc);
    if (with_checks) {
        make_checks(c, &plan, &fc);
        plan.checks = &fc.checks;
    }
    plan.emitting = (uint8_t)with_emit;
    if (with_emit)
        check_emit_alone(&plan, base);

    status = bridge_plan_check(&plan, &bad);
    check(status == BRIDGE_OK || status == BRIDGE_E_PLAN);
    check(bad < n_ops);
    check(!no_blob || status == BRIDGE_E_PLAN);
    if (status == BRIDGE_OK && fe.tight)
        tighten(&plan, blob);
    if (status == BRIDGE_OK) {
        size_t data_len = c->n, n_rec = 0;
        uint8_t *data = malloc(data_len ? data_len : 1);
        size_t out_cap = 200u + (size_t)(opts >> 2) * 97u, err_cap = (opts >> 5) & 7;
        uint8_t *out;
        bridge_error *errors = malloc(sizeof(bridge_error) * (err_cap ? err_cap : 1));
        uint64_t offsets[16];
        uint32_t lengths[16];
        bridge_record records[16];
        bridge_batch b;

        /* Room for the events' values too (mask and hash bounds are large), now and then. */
        if (with_emit && (opts & 2))
            for (uint32_t i = 0; i < n_ops; i++)
                if (ops[i].emit_len != 0 && emit_kind(ops[i].kind) != EK_NONE)
                    out_cap += rd32(blob + ops[i].emit_off + 40) % (1u << 16);
        out = malloc(out_cap);
        memcpy(data, c->p, data_len);
        /* Records: cut the data at a few places derived from its first bytes. */
        for (size_t at = 0; n_rec < 16 && at < data_len;) {
            size_t len = fe.long_rec && data[at] >= 0xF0 ? 64u * (data[at] - 0xEFu)
                                                         : 1u + data[at] % 48u;
            if (len > data_len - at)
                len = data_len - at;
            offsets[n_rec] = at;
            lengths[n_rec] = (uint32_t)len;
            n_rec++;
            at += len;
        }
        if (fc.shape)
            for (size_t r = 0; r < n_rec; r++)
                for (uint32_t i = 0; i < n_ops; i++)
                    if (fc.ops[i].rules != 0 && (ops[i].kind == BRIDGE_OP_TEXT ||
                                                 ops[i].kind == BRIDGE_OP_ZONED ||
                                                 ops[i].kind == BRIDGE_OP_PACKED) &&
                        (uint64_t)ops[i].offset + ops[i].length <= lengths[r])
                        shape_field(data + offsets[r] + ops[i].offset,
                                    lengths[r] - ops[i].offset, &ops[i], &fc.ops[i], &plan);
        if (fe.shape)
            for (size_t r = 0; r < n_rec; r++)
                for (uint32_t i = 0; i < n_ops; i++)
                    if (ops[i].emit_len != 0 && emit_kind(ops[i].kind) != EK_NONE &&
                        (uint64_t)ops[i].offset + ops[i].length <= lengths[r])
                        shape_emit(data + offsets[r] + ops[i].offset, lengths[r] - ops[i].offset,
                                   &ops[i], &plan);
        memset(&b, 0, sizeof b);
        b.data = data;
        b.data_len = data_len;
        b.base_offset = 1000;
        b.offsets = offsets;
        b.lengths = lengths;
        b.n_records = n_rec;
        b.newline = opts & 1;
        b.out = out;
        b.out_cap = out_cap;
        b.records = records;
        b.errors = errors;
        b.error_cap = err_cap;
        status = bridge_decode(&plan, &b);
        check(status == BRIDGE_OK || status == BRIDGE_FULL || status == BRIDGE_E_ARG);
        check(b.done <= n_rec && b.out_used <= out_cap && b.errors_used <= err_cap);
        for (size_t r = 0; r < b.done; r++) {
            check(records[r].doc_offset + records[r].doc_length <= b.out_used);
            check(records[r].error_first + records[r].error_count <= b.errors_used);
            if (b.newline)
                check(out[records[r].doc_offset + records[r].doc_length] == '\n');
        }
        for (size_t e = 0; e < b.errors_used; e++) {
            check(errors[e].record < b.done && errors[e].op < n_ops);
            check((errors[e].reason >= 1 && errors[e].reason <= BRIDGE_R_RECORD_TOO_SHORT) ||
                  (with_checks && errors[e].reason >= BRIDGE_V_FIRST &&
                   errors[e].reason < BRIDGE_V_FIRST + BRIDGE_V_COUNT &&
                   fc.ops[errors[e].op].rules != 0));
            check(errors[e].depth <= BRIDGE_MAX_TABLE_DEPTH);
        }
        /* Each value with emit bytes, alone: within its max-bytes, in its conversion's shape. */
        if (with_emit) {
            b.offsets = offsets;
            b.lengths = lengths;
            b.n_records = n_rec;
            for (uint32_t i = 0, tried = 0; i < n_ops && tried < 8; i++)
                if (ops[i].emit_len != 0 && emit_kind(ops[i].kind) != EK_NONE) {
                    emit_oracle(&plan, i, base, &b);
                    tried++;
                }
        }
        /* The same records back to back as fixed-length records. */
        if (data_len >= 4) {
            b.offsets = NULL;
            b.lengths = NULL;
            b.fixed_length = 1 + data[0] % 40;
            b.n_records = data_len / b.fixed_length;
            if (b.n_records > 16)
                b.n_records = 16;
            status = bridge_decode(&plan, &b);
            check(status == BRIDGE_OK || status == BRIDGE_FULL || status == BRIDGE_E_ARG);
            check(b.out_used <= out_cap && b.errors_used <= err_cap);
        }
        free(errors);
        free(out);
        free(data);
    }
    free(fc.ops);
    free(fc.blob);
    free(fc.chars);
    free(ops);
    free(blob);
    free(text);
    free(zone);
    free(packed);
}

static void fuzz_framing(uint8_t opts, cursor *c)
{
    size_t len = c->n, cap = 1 + (opts >> 3), n = 0, next = 0;
    uint8_t *data = malloc(len ? len : 1);
    uint64_t *offsets = malloc(sizeof(uint64_t) * cap);
    uint32_t *lengths = malloc(sizeof(uint32_t) * cap);
    bridge_frame f;

    memcpy(data, c->p, len);
    memset(&f, 0, sizeof f);
    f.data = data;
    f.end = len;
    f.start = len ? (opts & 1 ? data[0] % (len + 1) : 0) : 0;
    f.kind = (opts >> 1) % 3;
    f.inclusive = opts >> 7;
    f.offsets = offsets;
    f.lengths = lengths;
    f.cap = cap;
    if (bridge_frame_records(&f) == BRIDGE_OK) {
        check(f.n <= cap && f.next <= len && f.next >= f.start);
        check(f.status >= BRIDGE_FRAME_DONE && f.status <= BRIDGE_FRAME_BROKEN);
        for (size_t i = 0; i < f.n; i++)
            check(offsets[i] <= len && lengths[i] <= len - offsets[i]);
        if (f.status == BRIDGE_FRAME_BROKEN)
            check(f.bad >= f.next && f.bad < len);
    }
    if (bridge_frame_fixed(len, 0, 1u + opts % 50, offsets, cap, &n, &next) == BRIDGE_OK)
        check(n <= cap && next <= len);
    free(offsets);
    free(lengths);
    free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cursor c = {data, size};
    uint8_t first = take(&c), mode = first % 4, opts = take(&c), sub = (first >> 2) % 8;
    if (mode == 3)
        fuzz_framing(opts, &c);
    else
        fuzz_decode(mode, opts, sub == 1 || sub == 3 || sub == 5, sub == 6, first >> 5 == 4,
                    first >> 5 == 5, &c);
    return 0;
}
