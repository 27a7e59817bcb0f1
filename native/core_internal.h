/* Private helpers shared by the C sources (not part of the cffi contract). */
#ifndef BRIDGE_CORE_INTERNAL_H
#define BRIDGE_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bridge_core.h"

/* Bytes kept free at the end of the output buffer: the closing brackets of a stopped record
 * and the 8-byte over-copy of table-driven character output. */
#define BRIDGE_OUT_RESERVE (BRIDGE_MAX_OBJ_DEPTH + 16)

static inline int op_is_field(uint8_t kind)
{
    return kind >= BRIDGE_OP_TEXT && kind <= BRIDGE_OP_FAIL;
}

static inline int op_is_numeric(uint8_t kind)
{
    return kind == BRIDGE_OP_ZONED || kind == BRIDGE_OP_PACKED || kind == BRIDGE_OP_BINARY;
}

/* The rules (bit set of BRIDGE_V_*) a decoded value breaks: validate.c, called by decode.c for
 * each field that decoded when the plan has checks. */
uint32_t bridge_check_value(const bridge_plan *p, uint32_t ip, const uint8_t *s, uint32_t len,
                            const char *digs, uint32_t nd, int neg, int is_null);

/* Fast paths for the common checks, derived from a plan's checks once per batch (validate.c)
 * and run inline by decode.c; anything they do not cover goes to bridge_check_value. */
#define BRIDGE_FAST_OPS 128     /* ops past this always take bridge_check_value */
#define BRIDGE_FAST_NONE 0      /* no rules */
#define BRIDGE_FAST_CALL 1      /* bridge_check_value */
#define BRIDGE_FAST_NUMBER 2    /* integer/decimal from a number: bounds and integer digits */
#define BRIDGE_FAST_CHOICE1 3   /* text choice whose source values are at most one byte */
#define BRIDGE_FAST_DATE 4      /* text date, YYYY-MM-DD or YYYYMMDD */

typedef struct {
    uint8_t kind;     /* BRIDGE_FAST_* */
    uint8_t empty_ok; /* CHOICE1: the empty value is listed */
    uint8_t iso;      /* DATE: YYYY-MM-DD (else YYYYMMDD) */
    uint8_t pad;
    uint32_t fail;    /* CHOICE1 / DATE: the bit a bad value breaks */
    uint64_t lim;     /* NUMBER: a magnitude at or above breaks BRIDGE_V_PATTERN */
    int64_t min, max; /* NUMBER: the bounds (INT64_MIN / INT64_MAX when not checked) */
    uint64_t set[4];  /* CHOICE1: the listed bytes */
} bridge_fast;

/* The fast path of op `ip` (its checks' rules non-zero). */
void bridge_fast_prepare(const bridge_plan *p, uint32_t ip, bridge_fast *f);

#endif
