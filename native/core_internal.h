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

#endif
