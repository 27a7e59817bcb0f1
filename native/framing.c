/* Record framing over a window of the file: fixed-length and RDW (variable) records. */
#include <stddef.h>
#include <stdint.h>

#include "bridge_core.h"

int bridge_frame_fixed(size_t data_len, size_t start, uint32_t record_length, uint64_t *offsets,
                       size_t cap, size_t *n, size_t *next)
{
    size_t count = 0, at = start;
    if (n == NULL || next == NULL || record_length == 0 || start > data_len ||
        (offsets == NULL && cap != 0))
        return BRIDGE_E_ARG;
    while (count < cap && data_len - at >= record_length) {
        offsets[count++] = at;
        at += record_length;
    }
    *n = count;
    *next = at;
    return BRIDGE_OK;
}

int bridge_frame_rdw(const uint8_t *data, size_t data_len, size_t start, uint64_t *offsets,
                     uint32_t *lengths, size_t cap, size_t *n, size_t *next, int *status)
{
    size_t count = 0, at = start;
    if (n == NULL || next == NULL || status == NULL || start > data_len ||
        (data == NULL && data_len != 0) || ((offsets == NULL || lengths == NULL) && cap != 0))
        return BRIDGE_E_ARG;
    *status = BRIDGE_FRAME_DONE;
    while (at < data_len) {
        size_t len;
        if (count == cap) {
            *status = BRIDGE_FRAME_CAP;
            break;
        }
        if (data_len - at < 4) {
            *status = BRIDGE_FRAME_PARTIAL;
            break;
        }
        len = (size_t)data[at] << 8 | data[at + 1];
        if (len < 4 || data[at + 2] != 0 || data[at + 3] != 0) {
            *status = BRIDGE_FRAME_BROKEN;
            break;
        }
        if (data_len - at < len) {
            *status = BRIDGE_FRAME_PARTIAL;
            break;
        }
        offsets[count] = at + 4;
        lengths[count] = (uint32_t)(len - 4);
        count++;
        at += len;
    }
    *n = count;
    *next = at;
    return BRIDGE_OK;
}
