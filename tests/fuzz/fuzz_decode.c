/* libFuzzer target for the C core, built with ASan + UBSan by scripts/fuzz.
 *
 * The first bytes choose a mode and build a small plan, the rest is record data:
 *   byte 0 % 4: 0, 1  a plan assembled from 8-byte instructions (mostly well formed; some
 *                     fields then get overwritten with raw bytes to exercise the plan check)
 *               2     raw bridge_op structs straight from the input (the plan check's job)
 *               3     framing: bridge_frame_records and bridge_frame_fixed over the data
 *   byte 1: option bits (trim, text-table seed, output and error buffer sizes)
 *   byte 2: instruction count, then the instructions, then the data.
 * Every buffer is heap-allocated at its exact size so ASan sees any overrun. Decoding must
 * return OK, FULL or E_ARG and keep every reported position inside its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        /* The EBCDIC bytes of digits, space, signs and editing characters mean themselves. */
        static const char *chars = " .,+-*$CRDB/0123456789";
        static const uint8_t bytes[] = {0x40, 0x4B, 0x6B, 0x4E, 0x60, 0x5C, 0x5B, 0xC3, 0xD9,
                                        0xC4, 0xC2, 0x61, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5,
                                        0xF6, 0xF7, 0xF8, 0xF9};
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
            op->flags = (uint16_t)(f1 | (f0 & 0x80 ? 256 : 0)) & 1023u & ~BRIDGE_F_COUNT;
            op->length = 1u + len % 70;
            op->digits = (uint16_t)(ds % 24);
            op->scale = (int16_t)((int8_t)ds / 4);
            op->reason = (uint8_t)(1 + aux % 12);
            if (op->kind == BRIDGE_OP_BINARY)
                op->length = 1u + len % 8;
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

static void fuzz_decode(uint8_t mode, uint8_t opts, cursor *c)
{
    uint8_t *text = malloc(256 * 8), *zone = malloc(512), *packed = malloc(32);
    bridge_op *ops;
    uint32_t n_ops, slots = 0, bad = 0;
    bridge_plan plan;
    uint8_t scratch[256];
    uint32_t mask_at[N_MASKS], width[N_MASKS];
    size_t blob_len = make_blob(scratch, mask_at, width);
    uint8_t *blob = malloc(blob_len);

    memcpy(blob, scratch, blob_len);
    tables(opts, text, zone, packed);
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
    memset(&plan, 0, sizeof plan);
    plan.ops = ops;
    plan.n_ops = n_ops;
    plan.blob = blob;
    plan.blob_len = (uint32_t)blob_len;
    plan.text_table = text;
    plan.zone_sign = zone;
    plan.packed_sign = packed;
    plan.trim = opts % 3;
    plan.space = 0x40;
    plan.plus = 0x4E;
    plan.minus = 0x60;
    plan.n_slots = slots > BRIDGE_MAX_SLOTS ? BRIDGE_MAX_SLOTS : slots;

    if (bridge_plan_check(&plan, &bad) == BRIDGE_OK) {
        size_t data_len = c->n, n_rec = 0;
        uint8_t *data = malloc(data_len ? data_len : 1);
        size_t out_cap = 200u + (size_t)(opts >> 2) * 97u, err_cap = (opts >> 5) & 7;
        uint8_t *out = malloc(out_cap);
        bridge_error *errors = malloc(sizeof(bridge_error) * (err_cap ? err_cap : 1));
        uint64_t offsets[16];
        uint32_t lengths[16];
        bridge_record records[16];
        bridge_batch b;
        int status;

        memcpy(data, c->p, data_len);
        /* Records: cut the data at a few places derived from its first bytes. */
        for (size_t at = 0; n_rec < 16 && at < data_len;) {
            size_t len = 1 + data[at] % 48;
            if (len > data_len - at)
                len = data_len - at;
            offsets[n_rec] = at;
            lengths[n_rec] = (uint32_t)len;
            n_rec++;
            at += len;
        }
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
            check(errors[e].reason >= 1 && errors[e].reason <= BRIDGE_R_RECORD_TOO_SHORT);
            check(errors[e].depth <= BRIDGE_MAX_TABLE_DEPTH);
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
    uint8_t mode = take(&c) % 4, opts = take(&c);
    if (mode == 3)
        fuzz_framing(opts, &c);
    else
        fuzz_decode(mode, opts, &c);
    return 0;
}
