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

#endif
