#include <stddef.h>
#include <stdint.h>

#include "bridge_core.h"

int bridge_translate(const uint8_t *src, size_t n, const uint8_t *table, uint8_t *dst)
{
    if ((src == NULL || dst == NULL) && n != 0)
        return BRIDGE_E_ARG;
    if (table == NULL)
        return BRIDGE_E_ARG;
    for (size_t i = 0; i < n; i++)
        dst[i] = table[src[i]];
    return BRIDGE_OK;
}
