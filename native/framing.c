/* Record framing over a window of the file: fixed-length, RDW, VB (blocked) records and lines.
 *
 * The checks and their order follow bridge/decode/framing.py (the reference); Python words
 * the error from the offset reported here.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* One RDW at `at` (4 bytes present): its total length, or 0 when it is bad. */
static size_t rdw_total(const bridge_frame *f, size_t at)
{
    const uint8_t *d = f->data + at;
    size_t length, total;
    if (f->kind == BRIDGE_FRAME_RDW_LE_HIGH) {
        /* Some PC transfer tools: two zero bytes, then the length (little-endian). */
        length = (size_t)d[3] << 8 | d[2];
        if (d[0] != 0 || d[1] != 0)
            return 0;
        total = f->inclusive ? length : length + 4;
        return total < 4 ? 0 : total;
    }
    length = f->kind == BRIDGE_FRAME_RDW_LE ? (size_t)d[1] << 8 | d[0] : (size_t)d[0] << 8 | d[1];
    total = f->inclusive ? length : length + 4;
    if (d[2] != 0 || d[3] != 0 || total < 4)
        return 0;
    return total;
}

static int frame_rdw(bridge_frame *f)
{
    size_t at = f->start, count = 0;
    f->status = BRIDGE_FRAME_DONE;
    while (at < f->end) {
        size_t total;
        if (count == f->cap) {
            f->status = BRIDGE_FRAME_CAP;
            break;
        }
        if (f->end - at < 4) {
            f->status = BRIDGE_FRAME_PARTIAL;
            break;
        }
        total = rdw_total(f, at);
        if (total == 0) {
            f->status = BRIDGE_FRAME_BROKEN;
            f->bad = at;
            break;
        }
        if (f->end - at < total) {
            f->status = BRIDGE_FRAME_PARTIAL;
            break;
        }
        f->offsets[count] = at + 4;
        f->lengths[count] = (uint32_t)(total - 4);
        count++;
        at += total;
    }
    f->n = count;
    f->next = at;
    return BRIDGE_OK;
}

static int frame_vb(bridge_frame *f)
{
    size_t at = f->start, count = 0;
    f->status = BRIDGE_FRAME_DONE;
    while (at < f->end) {
        const uint8_t *d = f->data + at;
        size_t block, rdw, block_end, first = count;
        if (f->end - at < 4) {
            f->status = BRIDGE_FRAME_PARTIAL;
            break;
        }
        if (d[0] & 0x80) {
            block = ((size_t)d[0] << 24 | (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3]) &
                    0x7FFFFFFFu;
        } else {
            block = (size_t)d[0] << 8 | d[1];
            if (d[2] != 0 || d[3] != 0)
                block = 0;
        }
        if (block < 4) {
            f->status = BRIDGE_FRAME_BROKEN;
            f->bad = at;
            break;
        }
        if (f->end - at < block) {
            f->status = BRIDGE_FRAME_PARTIAL;
            break;
        }
        block_end = at + block;
        for (rdw = at + 4; rdw < block_end;) {
            const uint8_t *r = f->data + rdw;
            size_t length;
            if (block_end - rdw < 4) {
                f->status = BRIDGE_FRAME_BROKEN;
                f->bad = rdw;
                break;
            }
            length = (size_t)r[0] << 8 | r[1];
            if (length < 4 || length > block_end - rdw || r[2] != 0 || r[3] != 0) {
                f->status = BRIDGE_FRAME_BROKEN;
                f->bad = rdw;
                break;
            }
            if (count == f->cap) { /* the block does not fit: report it next time */
                count = first;
                f->status = BRIDGE_FRAME_CAP;
                break;
            }
            f->offsets[count] = rdw + 4;
            f->lengths[count] = (uint32_t)(length - 4);
            count++;
            rdw += length;
        }
        if (f->status != BRIDGE_FRAME_DONE)
            break; /* BROKEN keeps the good records before the bad RDW, as the reference */
        at = block_end;
    }
    /* CAP with no records: one block holds more records than the arrays (grow them). */
    f->n = count;
    f->next = at;
    return BRIDGE_OK;
}

int bridge_frame_records(bridge_frame *f)
{
    if (f == NULL || (f->data == NULL && f->end != 0) || f->start > f->end ||
        ((f->offsets == NULL || f->lengths == NULL) && f->cap != 0) ||
        f->kind > BRIDGE_FRAME_RDW_LE_HIGH)
        return BRIDGE_E_ARG;
    f->n = 0;
    f->next = f->start;
    f->bad = 0;
    return f->kind == BRIDGE_FRAME_VB ? frame_vb(f) : frame_rdw(f);
}

/* Lines: memchr finds each LF, looking no further than a good line can reach (width bytes, a
 * CR, the LF), so bytes that are not text fail at once instead of being searched whole. */
int bridge_frame_lines(bridge_frame *f, uint32_t width, uint32_t final, uint8_t space,
                       uint8_t *pad, size_t *padded)
{
    size_t at, count = 0, shorts = 0, reach = (size_t)width + 2;
    if (f == NULL || padded == NULL || (f->data == NULL && f->end != 0) ||
        f->start > f->end || ((f->offsets == NULL || f->lengths == NULL) && f->cap != 0) ||
        width == 0)
        return BRIDGE_E_ARG;
    at = f->start;
    f->status = BRIDGE_FRAME_DONE;
    f->bad = 0;
    while (at < f->end) {
        const uint8_t *line = f->data + at;
        size_t room = f->end - at, length, stop;
        const uint8_t *lf;
        if (count == f->cap) {
            f->status = BRIDGE_FRAME_CAP;
            break;
        }
        lf = memchr(line, '\n', room < reach ? room : reach);
        if (lf != NULL) {
            length = (size_t)(lf - line);
            stop = length + 1;
            if (length > 0 && line[length - 1] == '\r')
                length--;
        } else if (room >= reach || final) {
            length = stop = room; /* too long, or the last line, unterminated */
        } else {
            f->status = BRIDGE_FRAME_PARTIAL;
            break;
        }
        if (length > width) {
            f->status = BRIDGE_FRAME_BROKEN;
            f->bad = at;
            break;
        }
        if (pad != NULL) {
            if (length < width && shorts++ == 0) /* the first short line: copy the full ones */
                for (size_t i = 0; i < count; i++)
                    memcpy(pad + i * width, f->data + f->offsets[i], width);
            if (shorts > 0) {
                memcpy(pad + count * width, line, length);
                memset(pad + count * width + length, space, width - length);
            }
        } else if (length < width) {
            shorts++;
        }
        f->offsets[count] = at;
        f->lengths[count] = (uint32_t)length;
        count++;
        at += stop;
    }
    f->n = count;
    f->next = at;
    *padded = shorts;
    return BRIDGE_OK;
}
