/* Plan validation: everything bridge_decode trusts, checked once per plan.
 *
 * A plan is Python's work (bridge/decode/plan.py), but the checks here are what keep a wrong or
 * hostile plan from reading or writing out of bounds, so they are written for the fuzzer.
 */
#include <stddef.h>
#include <stdint.h>

#include "core_internal.h"

#define ALL_FLAGS 1023u

typedef struct {
    uint32_t op;       /* index of the OPEN op */
    uint64_t lo, hi;   /* bytes an element of the innermost enclosing table may use */
    uint32_t tables;   /* enclosing tables, this one included */
} open_frame;

static int blob_ok(const bridge_plan *p, uint32_t off, uint32_t len)
{
    return (uint64_t)off + len <= p->blob_len;
}

/* An element of a table is exactly one item: a field, or a group/table spanning the rest. */
static int element_ok(const bridge_op *ops, uint32_t open, uint32_t end)
{
    uint32_t first = open + 1;
    if (first >= end || ops[first].key_len != 0)
        return 0;
    if (op_is_field(ops[first].kind))
        return first + 1 == end;
    if (ops[first].kind == BRIDGE_OP_OPEN_OBJ || ops[first].kind == BRIDGE_OP_OPEN_ARR)
        return ops[first].end + 1 == end;
    return 0;
}

static int tables_ok(const bridge_plan *p)
{
    for (int i = 0; i < 256; i++) {
        const uint8_t *e = p->text_table + 8 * i;
        if (e[7] > 6 || (e[6] & ~3u) != 0)
            return 0;
    }
    for (int i = 0; i < 512; i++) {
        uint8_t v = p->zone_sign[i], why = v >> 5;
        if ((v & 15) > 9 || (why != 0 && why != BRIDGE_R_BAD_ZONE && why != BRIDGE_R_BAD_SIGN))
            return 0;
    }
    for (int i = 0; i < 32; i++)
        if (p->packed_sign[i] > 2)
            return 0;
    return 1;
}

static int edited_ok(const bridge_plan *p, const bridge_op *op)
{
    const uint8_t *m;
    uint32_t n, width = 0;
    if (op->aux_len < 4 || !blob_ok(p, op->aux_off, op->aux_len))
        return 0;
    m = p->blob + op->aux_off; /* only once in bounds: a pointer past the blob is UB too */
    n = op->aux_len - 4;
    if (m[0] & BRIDGE_ED_BAD)
        return 1;
    if (n > BRIDGE_MAX_NUM_LEN || (m[0] & ~3u) != 0)
        return 0;
    if (m[1] != 0 && (m[1] < BRIDGE_ED_PLUS || m[1] > BRIDGE_ED_CURRENCY || m[2] >= m[3] ||
                      m[3] >= n))
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t c = m[4 + i];
        if (c < BRIDGE_ED_9 || c > BRIDGE_ED_SLASH)
            return 0;
        width += (c == BRIDGE_ED_CR || c == BRIDGE_ED_DB) ? 2 : 1;
    }
    return width == op->length;
}

static int field_ok(const bridge_plan *p, const bridge_op *op)
{
    uint32_t len = op->length;
    int scale = op->scale;
    if (len == 0 || scale > BRIDGE_MAX_SCALE || scale < -BRIDGE_MAX_SCALE)
        return 0;
    if ((op->flags & BRIDGE_F_SIGN_SEPARATE) && op->kind != BRIDGE_OP_ZONED)
        return 0;
    if ((op->flags & BRIDGE_F_COUNT) && (!op_is_numeric(op->kind) || op->scale != 0 ||
                                          op->slot >= p->n_slots))
        return 0;
    switch (op->kind) {
    case BRIDGE_OP_TEXT:
        return 1;
    case BRIDGE_OP_NATIONAL:
        return len % 2 == 0;
    case BRIDGE_OP_ZONED:
        if (len > BRIDGE_MAX_NUM_LEN)
            return 0;
        if (op->flags & BRIDGE_F_SIGN_SEPARATE)
            return len >= 2 && (op->flags & BRIDGE_F_SIGNED);
        return 1;
    case BRIDGE_OP_PACKED:
        return len <= BRIDGE_MAX_NUM_LEN / 2;
    case BRIDGE_OP_BINARY:
        if (len > 8) /* 19-38 digits (gnucobol, microfocus dialects): 128-bit arithmetic */
            return len <= 16 && (!(op->flags & BRIDGE_F_TRUNC_STD) || op->digits <= 38);
        return len <= 8 && (!(op->flags & BRIDGE_F_TRUNC_STD) || op->digits <= 20);
    case BRIDGE_OP_FLOAT:
        return len == 4 || len == 8;
    case BRIDGE_OP_EDITED:
        return len <= BRIDGE_MAX_NUM_LEN && edited_ok(p, op);
    case BRIDGE_OP_FAIL:
        return op->reason >= 1 && op->reason <= BRIDGE_R_RECORD_TOO_SHORT;
    }
    return 0;
}

int bridge_plan_check(const bridge_plan *p, uint32_t *bad_op)
{
    open_frame stack[BRIDGE_MAX_OBJ_DEPTH];
    int depth = 0;

    if (p == NULL || bad_op == NULL)
        return BRIDGE_E_ARG;
    *bad_op = 0;
    /* A blob even when empty: keys and masks are found at blob + offset, and NULL + 0 is UB
     * (Python always passes one). */
    if (p->ops == NULL || p->n_ops < 2 || p->text_table == NULL || p->zone_sign == NULL ||
        p->packed_sign == NULL || p->blob == NULL || p->trim > BRIDGE_TRIM_BOTH ||
        p->n_slots > BRIDGE_MAX_SLOTS || !tables_ok(p))
        return BRIDGE_E_PLAN;
    /* Zoned digits are EBCDIC or ASCII: a zeroed field is a caller that forgot to say. */
    if (p->digit0 != 0xF0 && p->digit0 != 0x30)
        return BRIDGE_E_PLAN;
    if (p->ops[0].kind != BRIDGE_OP_OPEN_OBJ || p->ops[0].end != p->n_ops - 1)
        return BRIDGE_E_PLAN;

    for (uint32_t i = 0; i < p->n_ops; i++) {
        const bridge_op *op = &p->ops[i];
        const open_frame *top = depth ? &stack[depth - 1] : NULL;
        uint64_t lo = top ? top->lo : 0, hi = top ? top->hi : UINT32_MAX;
        uint32_t tables = top ? top->tables : 0;
        *bad_op = i;
        if ((op->flags & ~ALL_FLAGS) != 0 || !blob_ok(p, op->key_off, op->key_len))
            return BRIDGE_E_PLAN;
        if (i > 0 && depth == 0)
            return BRIDGE_E_PLAN; /* something after the root closed */
        switch (op->kind) {
        case BRIDGE_OP_OPEN_OBJ:
        case BRIDGE_OP_OPEN_ARR: {
            uint8_t close = op->kind == BRIDGE_OP_OPEN_OBJ ? BRIDGE_OP_CLOSE_OBJ
                                                           : BRIDGE_OP_CLOSE_ARR;
            open_frame f = {i, lo, hi, tables};
            if (depth == BRIDGE_MAX_OBJ_DEPTH || op->end <= i || op->end >= p->n_ops ||
                p->ops[op->end].kind != close)
                return BRIDGE_E_PLAN;
            if (op->kind == BRIDGE_OP_OPEN_ARR) {
                uint64_t extent = (uint64_t)op->count * op->stride;
                if (tables == BRIDGE_MAX_TABLE_DEPTH || op->count == 0 || op->stride == 0 ||
                    op->min_count > op->count || op->offset < lo ||
                    op->offset + extent > hi || !element_ok(p->ops, i, op->end))
                    return BRIDGE_E_PLAN;
                if (op->odo >= 0) {
                    const bridge_op *c;
                    if ((uint32_t)op->odo >= p->n_ops || (uint32_t)op->odo == i)
                        return BRIDGE_E_PLAN;
                    c = &p->ops[op->odo];
                    if (!(c->flags & BRIDGE_F_COUNT) || !op_is_numeric(c->kind))
                        return BRIDGE_E_PLAN;
                } else if (op->odo != -1) {
                    return BRIDGE_E_PLAN;
                }
                f.lo = op->offset;
                f.hi = op->offset + op->stride;
                f.tables = tables + 1;
            }
            stack[depth++] = f;
            break;
        }
        case BRIDGE_OP_CLOSE_OBJ:
        case BRIDGE_OP_CLOSE_ARR:
            if (depth == 0 || p->ops[top->op].end != i)
                return BRIDGE_E_PLAN;
            depth--;
            break;
        default:
            if (!op_is_field(op->kind) || !field_ok(p, op) || op->offset < lo ||
                (uint64_t)op->offset + op->length > hi)
                return BRIDGE_E_PLAN;
            if (op->emit_len != 0 && !bridge_emit_ok(p, op))
                return BRIDGE_E_PLAN;
            /* A count lives outside every table: one value per record. */
            if ((op->flags & BRIDGE_F_COUNT) && tables != 0)
                return BRIDGE_E_PLAN;
            break;
        }
    }
    if (depth != 0)
        return BRIDGE_E_PLAN;
    *bad_op = 0;
    if (p->checks != NULL)
        return bridge_checks_check(p, bad_op);
    return BRIDGE_OK;
}
