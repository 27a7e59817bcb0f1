/* libFuzzer target for the framing in native/framing.c, built with ASan + UBSan by scripts/fuzz.
 *
 * Every result is compared with a small reference written here from the contract (the
 * comments of native/bridge_core.h and bridge/decode/framing.py), never from framing.c:
 * lines split at LF less one CR before it (a lone CR is data, a last line without LF is a
 * record, no empty record after a final LF); RDW and VB descriptors walked record by record.
 * The reference frames the whole of what a call may read; the call must return exactly its
 * first `cap` records, then CAP, or its end (DONE, PARTIAL, BROKEN and where).
 *
 * Input: 9 header bytes, then the data.
 *   [0] % 4  mode: 0 lines as decode_file walks a file (windows, batches, padded copies),
 *                  1 one bridge_frame_lines call with any arguments (misuse included),
 *                  2 rdw / rdw-le / vb as decode_file walks a file (windows, the arrays grown
 *                    when one block holds more records than them),
 *                  3 one bridge_frame_records call and one bridge_frame_fixed call
 *       & 4    shape the data: lines get many LF and CR; descriptors are generated (records
 *              of 0-39 bytes, blocks of 0-4 records), now and then one byte corrupted
 *       & 8    lines: `final` (mode 1); the copies buffer is NULL (mode 0)
 *   [1]      the width (lines; mode 3: the fixed record length): 0-239, or >= 0xF0 one of
 *            0, 1, 2, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 2, 2**32 - 1
 *   [2]      lines: a prefix of [2] % 8 bytes added to the width (as decode_file does);
 *            records: [2] % 4 the kind, [2] >> 6 the RDW length is inclusive (any nonzero)
 *   [3] [4]  header and trailer bytes skipped (walks), or start and end (single calls)
 *   [5]      the first window's size, 1-256 bytes
 *   [6]      % 8: windows start at multiples of 2**([6] % 8); / 16: misuse (single calls)
 *   [7]      the arrays' capacity: 0-5, 0-47, about 4096, or the reference's count -1/0/+1
 *   [8]      the pad byte
 * Buffers are heap-allocated at their exact size (a window of the file, the offset and length
 * arrays, the padded copies: cap * width), and the bytes of a window before `start` are
 * poisoned, so ASan sees any read or write outside what the contract allows.
 * Seeds: tests/fuzz/corpus-frame/ (the named ones each reach one case).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h> /* no-op macros in the coverage build (no ASan) */

#include "bridge_core.h"

#define check(ok)                                                                         \
    do {                                                                                  \
        if (!(ok)) {                                                                      \
            fprintf(stderr, "fuzz_frame.c:%d: check failed: %s\n", __LINE__, #ok);          \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

#define PAD_LIMIT ((size_t)1 << 16) /* the most bytes of padded copies allocated */
#define MAX_CALLS 200000             /* a walk that calls more often than this is stuck */

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

static uint32_t pick_width(uint8_t b)
{
    static const uint32_t odd[] = {0,          1,          2,           65535,      65536,
                                   0x7FFFFFFF, 0x80000000, 0xFFFFFFFEu, 0xFFFFFFFFu};
    return b >= 0xF0 ? odd[(b - 0xF0) % 9] : b;
}

static size_t pick_cap(uint8_t b, size_t reference)
{
    if (b == 0xFF)
        return reference;
    if (b == 0xFE)
        return reference ? reference - 1 : 0;
    if (b == 0xFD)
        return reference + 1;
    if (b >= 0xF0)
        return 4096 + (b & 7);
    return b < 0xC0 ? b % 6 : (size_t)(b - 0xC0);
}

/* ---- the reference ---- */

typedef struct {
    size_t desc; /* where the record (its line, its RDW) starts: `next` when stopped there */
    size_t off, len;
} ref_rec;

typedef struct {
    ref_rec *recs;
    size_t n;
    int status; /* BRIDGE_FRAME_DONE, _PARTIAL or _BROKEN (never CAP: the reference has no cap) */
    size_t at;  /* where it stopped: end, the partial record or block, the bad line or block */
    size_t bad; /* BROKEN: the bad line or descriptor */
} ref_frame;

static void ref_add(ref_frame *r, size_t desc, size_t off, size_t len)
{
    r->recs[r->n].desc = desc;
    r->recs[r->n].off = off;
    r->recs[r->n].len = len;
    r->n++;
}

static void ref_stop(ref_frame *r, int status, size_t at, size_t bad)
{
    r->status = status;
    r->at = at;
    r->bad = bad;
}

/* Lines of d[start, end). Without `final` a line with no LF yet may still get one, unless it
 * is already too long whatever follows: more than width bytes, a CR and the LF to come. */
static void ref_lines(const uint8_t *d, size_t start, size_t end, uint64_t width, int final,
                      ref_frame *r)
{
    size_t at = start;
    r->n = 0;
    while (at < end) {
        size_t lf = at, len, stop;
        while (lf < end && d[lf] != '\n')
            lf++;
        if (lf < end) {
            len = lf - at;
            stop = lf + 1;
            if (len > 0 && d[lf - 1] == '\r')
                len--;
        } else if (final) {
            len = end - at;
            stop = end;
        } else {
            if (end - at > width + 1)
                ref_stop(r, BRIDGE_FRAME_BROKEN, at, at);
            else
                ref_stop(r, BRIDGE_FRAME_PARTIAL, at, 0);
            return;
        }
        if (len > width) {
            ref_stop(r, BRIDGE_FRAME_BROKEN, at, at);
            return;
        }
        ref_add(r, at, at, len);
        at = stop;
    }
    ref_stop(r, BRIDGE_FRAME_DONE, at, 0);
}

static size_t be16(const uint8_t *p) { return (size_t)p[0] << 8 | p[1]; }

/* RDW records of d[start, end), as bridge/decode/framing.py's _rdw reads them. */
static void ref_rdw(const uint8_t *d, size_t start, size_t end, uint32_t kind, int inclusive,
                    ref_frame *r)
{
    size_t at = start;
    r->n = 0;
    while (at < end) {
        size_t length, total;
        if (end - at < 4) {
            ref_stop(r, BRIDGE_FRAME_PARTIAL, at, 0);
            return;
        }
        if (kind == BRIDGE_FRAME_RDW_LE_HIGH) /* two zero bytes, then a little-endian length */
            length = (size_t)d[at + 3] << 8 | d[at + 2];
        else if (kind == BRIDGE_FRAME_RDW_LE)
            length = (size_t)d[at + 1] << 8 | d[at];
        else
            length = be16(d + at);
        total = inclusive ? length : length + 4;
        if ((kind == BRIDGE_FRAME_RDW_LE_HIGH ? d[at] || d[at + 1] : d[at + 2] || d[at + 3]) ||
            total < 4) {
            ref_stop(r, BRIDGE_FRAME_BROKEN, at, at);
            return;
        }
        if (total > end - at) {
            ref_stop(r, BRIDGE_FRAME_PARTIAL, at, 0);
            return;
        }
        ref_add(r, at, at + 4, total - 4);
        at += total;
    }
    ref_stop(r, BRIDGE_FRAME_DONE, at, 0);
}

/* VB blocks of d[start, end), as _vb reads them (no spanned segments). A block's records are
 * reported whole or not at all: with `cap`, the block that would pass it stops the walk (CAP,
 * r->at its BDW); cap SIZE_MAX walks everything. A bad RDW keeps the good records before it in
 * its block, and the walk stops at the block (r->at) with r->bad the RDW. */
static int ref_vb(const uint8_t *d, size_t start, size_t end, size_t cap, ref_frame *r)
{
    size_t at = start;
    r->n = 0;
    while (at < end) {
        size_t block, rdw, block_end, first = r->n, bad = 0;
        if (end - at < 4) {
            ref_stop(r, BRIDGE_FRAME_PARTIAL, at, 0);
            return 0;
        }
        if (d[at] & 0x80)
            block = ((size_t)d[at] << 24 | (size_t)d[at + 1] << 16 | be16(d + at + 2)) &
                    0x7FFFFFFFu;
        else
            block = d[at + 2] || d[at + 3] ? 0 : be16(d + at);
        if (block < 4) {
            ref_stop(r, BRIDGE_FRAME_BROKEN, at, at);
            return 0;
        }
        if (block > end - at) {
            ref_stop(r, BRIDGE_FRAME_PARTIAL, at, 0);
            return 0;
        }
        block_end = at + block;
        for (rdw = at + 4; rdw < block_end;) {
            size_t length = block_end - rdw < 4 ? 0 : be16(d + rdw);
            if (length < 4 || length > block_end - rdw || d[rdw + 2] || d[rdw + 3]) {
                bad = rdw;
                break;
            }
            ref_add(r, rdw, rdw + 4, length - 4);
            rdw += length;
        }
        if (r->n > cap) {
            r->n = first;
            ref_stop(r, BRIDGE_FRAME_CAP, at, 0);
            return 1;
        }
        if (bad) {
            ref_stop(r, BRIDGE_FRAME_BROKEN, at, bad);
            return 0;
        }
        at = block_end;
    }
    ref_stop(r, BRIDGE_FRAME_DONE, at, 0);
    return 0;
}

/* The result of one call with `cap`: the reference's first cap records, then CAP where the
 * next one starts (or where the reference stopped), or the reference's own end. VB's cap is
 * applied by ref_vb itself (whole blocks). */
static void check_call(const bridge_frame *f, const ref_frame *r, size_t cap, int capped)
{
    size_t expect_n = r->n;
    int status = r->status;
    size_t next = r->at;
    if (!capped && (r->n > cap || (r->n == cap && r->status != BRIDGE_FRAME_DONE))) {
        expect_n = cap;
        status = BRIDGE_FRAME_CAP;
        next = r->n > cap ? r->recs[cap].desc : r->at;
    }
    check(f->status == status);
    check(f->n == expect_n);
    check(f->next == next);
    check(f->next >= f->start && f->next <= f->end);
    if (status == BRIDGE_FRAME_BROKEN)
        check(f->bad == r->bad && f->bad >= f->next && f->bad < f->end);
    if (status == BRIDGE_FRAME_DONE)
        check(f->next == f->end);
    if (status == BRIDGE_FRAME_CAP) /* stopped before a record or block that is there */
        check(f->next < f->end && (f->n == f->cap || capped));
    for (size_t i = 0; i < f->n; i++) {
        check(f->offsets[i] == r->recs[i].off && f->lengths[i] == r->recs[i].len);
        check(f->offsets[i] <= f->end && f->lengths[i] <= f->end - f->offsets[i]);
        if (i > 0) /* in order, never overlapping */
            check(f->offsets[i] >= f->offsets[i - 1] + f->lengths[i - 1]);
    }
}

/* ---- lines ---- */

typedef struct {
    uint8_t *pad;    /* cap * width bytes, or NULL */
    size_t pad_size;
    uint8_t canary;  /* every byte of pad before a call */
    uint8_t space;
} pad_buf;

/* The lines' own invariants, then the copies: all of the call's records when a line was short
 * (each exactly `width` bytes: the line, then the pad byte), else untouched. */
static void check_lines(const bridge_frame *f, uint32_t width, size_t padded, const pad_buf *p)
{
    size_t shorts = 0;
    for (size_t i = 0; i < f->n; i++) {
        const uint8_t *line = f->data + f->offsets[i];
        size_t len = f->lengths[i], after = f->offsets[i] + len;
        check(len <= width); /* a longer line is never a record */
        check(memchr(line, '\n', len) == NULL);
        if (after < f->end) /* its terminator: LF or CR LF, and the next record after it */
            check(f->data[after] == '\n' ||
                  (f->data[after] == '\r' && after + 1 < f->end && f->data[after + 1] == '\n'));
        else
            check(i + 1 == f->n); /* only the last record may end with the data */
        shorts += len < width;
    }
    check(padded == shorts);
    if (p->pad == NULL)
        return;
    for (size_t i = 0; i < p->pad_size; i++) {
        size_t record = i / width, k = i % width;
        uint8_t want = p->canary;
        if (shorts > 0 && record < f->n)
            want = k < f->lengths[record] ? f->data[f->offsets[record] + k] : p->space;
        check(p->pad[i] == want);
    }
}

/* One bridge_frame_lines call on the exact-size window d[0, len) from `at`. */
static int frame_lines(bridge_frame *f, const uint8_t *window, size_t len, size_t at,
                       uint32_t width, int final, pad_buf *p, ref_frame *r)
{
    size_t padded = (size_t)-1;
    int rc;
    f->data = window;
    f->end = len;
    f->start = at;
    if (p->pad != NULL)
        memset(p->pad, p->canary, p->pad_size);
    rc = bridge_frame_lines(f, width, (uint32_t)final, p->space, p->pad, &padded);
    check(rc == BRIDGE_OK);
    ref_lines(window, at, len, width, final, r);
    check_call(f, r, f->cap, 0);
    check(!(final && f->status == BRIDGE_FRAME_PARTIAL));
    check_lines(f, width, padded, p);
    return f->status;
}

/* A window of the file, copied to its own heap block of exactly its size; the bytes before
 * `at` are poisoned (nothing before f->start may be read). */
static uint8_t *window_copy(const uint8_t *file, size_t start, size_t stop, size_t at)
{
    uint8_t *w = malloc(stop - start ? stop - start : 1);
    memcpy(w, file + start, stop - start);
    ASAN_POISON_MEMORY_REGION(w, at);
    return w;
}

static void window_free(uint8_t *w, size_t len)
{
    ASAN_UNPOISON_MEMORY_REGION(w, len);
    free(w);
}

typedef struct {
    const uint8_t *file;
    size_t size, header, trailer;
    size_t window, granule; /* the first window's size, the mmap granularity */
    uint8_t cap_b;
} walk;

/* The window decode_file maps for `pos` (_FileWalk.window). */
static void walk_window(const walk *w, size_t end, size_t pos, size_t length, size_t *start,
                        size_t *stop)
{
    size_t room;
    *start = pos - pos % w->granule;
    room = length > pos - *start + 1 ? length : pos - *start + 1;
    *stop = end - *start < room ? end : *start + room;
}

/* decode_file's lines walk (_FileWalk.lines): windows through the file, every batch of a
 * window until it is not CAP, the window doubled when one line does not fit it. The records
 * and the error must be the whole file's reference lines. */
static void walk_lines(const walk *w, uint32_t width, int no_pad, uint8_t space)
{
    size_t end = w->size - w->trailer, pos = w->header, window = w->window, seen = 0, calls = 0;
    ref_frame whole, part;
    size_t cap;
    bridge_frame f;
    pad_buf p = {NULL, 0, (uint8_t)(space ^ 0x5A), space};
    int status = BRIDGE_FRAME_DONE;

    whole.recs = malloc(sizeof(ref_rec) * (w->size + 1));
    part.recs = malloc(sizeof(ref_rec) * (w->size + 1));
    ref_lines(w->file, pos, end, width, 1, &whole);
    cap = pick_cap(w->cap_b, whole.n);
    if (cap == 0)
        cap = 1; /* decode_file's arrays always hold a record */
    if (!no_pad && width <= PAD_LIMIT / cap) {
        p.pad_size = cap * width;
        p.pad = malloc(p.pad_size);
    }
    memset(&f, 0, sizeof f);
    f.offsets = malloc(sizeof(uint64_t) * cap);
    f.lengths = malloc(sizeof(uint32_t) * cap);
    f.cap = cap;
    while (pos < end && status != BRIDGE_FRAME_BROKEN) {
        size_t start, stop, at;
        uint8_t *mm;
        walk_window(w, end, pos, window, &start, &stop);
        at = pos - start;
        mm = window_copy(w->file, start, stop, at);
        status = BRIDGE_FRAME_CAP;
        while (status == BRIDGE_FRAME_CAP) {
            check(++calls < MAX_CALLS);
            status = frame_lines(&f, mm, stop - start, at, width, stop == end, &p, &part);
            for (size_t i = 0; i < f.n; i++, seen++) {
                check(seen < whole.n);
                check(start + f.offsets[i] == whole.recs[seen].off);
                check(f.lengths[i] == whole.recs[seen].len);
            }
            if (status == BRIDGE_FRAME_CAP)
                check(f.n == cap && f.next > at);
            at = f.next;
        }
        window_free(mm, stop - start);
        if (status == BRIDGE_FRAME_PARTIAL && at == pos - start)
            window *= 2; /* one line is larger than the window */
        else
            check(at > pos - start || status == BRIDGE_FRAME_BROKEN);
        pos = start + at;
    }
    check(seen == whole.n);
    check(status == whole.status);
    if (status == BRIDGE_FRAME_BROKEN)
        check(pos == whole.bad);
    free(f.offsets);
    free(f.lengths);
    free(p.pad);
    free(whole.recs);
    free(part.recs);
}

/* One call with whatever arguments the input gives, misuse included: E_ARG exactly when the
 * contract says so, else the reference's result. */
static void single_lines(const uint8_t *data, size_t len, uint32_t width, int final,
                         uint8_t start_b, uint8_t end_b, uint8_t misuse, uint8_t cap_b,
                         uint8_t space)
{
    size_t end = len - end_b % (len + 1), start = start_b % (end + 1), cap, padded = 0;
    ref_frame r;
    bridge_frame f;
    pad_buf p = {NULL, 0, (uint8_t)(space ^ 0x5A), space};
    uint8_t *copy;
    uint64_t *own_offsets;
    uint32_t *own_lengths;
    int rc, arg;

    r.recs = malloc(sizeof(ref_rec) * (len + 1));
    ref_lines(data, start, end, width, final, &r);
    cap = pick_cap(cap_b, r.n);
    copy = window_copy(data, 0, end, start);
    memset(&f, 0, sizeof f);
    f.data = copy;
    f.end = end;
    f.start = start;
    f.cap = cap;
    f.offsets = own_offsets = malloc(sizeof(uint64_t) * (cap ? cap : 1));
    f.lengths = own_lengths = malloc(sizeof(uint32_t) * (cap ? cap : 1));
    f.kind = misuse; /* not read */
    f.inclusive = misuse;
    if (width > 0 && cap <= PAD_LIMIT / width && !(misuse & 1)) {
        p.pad_size = cap * width;
        p.pad = malloc(p.pad_size ? p.pad_size : 1);
        memset(p.pad, p.canary, p.pad_size);
    }
    switch (misuse >> 4) {
    case 1: f.data = NULL; break;
    case 2: f.start = end + 1 + (misuse & 7); break;
    case 3: f.offsets = NULL; break;
    case 4: f.lengths = NULL; break;
    default: break;
    }
    arg = width == 0 || (f.data == NULL && f.end != 0) || f.start > f.end ||
          ((f.offsets == NULL || f.lengths == NULL) && f.cap != 0) || misuse >> 4 == 5 ||
          misuse >> 4 == 6;
    if (misuse >> 4 == 5)
        rc = bridge_frame_lines(NULL, width, (uint32_t)final, space, p.pad, &padded);
    else
        rc = bridge_frame_lines(&f, width, (uint32_t)final, space, p.pad,
                                misuse >> 4 == 6 ? NULL : &padded);
    check(rc == (arg ? BRIDGE_E_ARG : BRIDGE_OK));
    if (rc == BRIDGE_OK) {
        check_call(&f, &r, cap, 0);
        check(!(final && f.status == BRIDGE_FRAME_PARTIAL));
        check_lines(&f, width, padded, &p);
    } else if (p.pad != NULL) {
        for (size_t i = 0; i < p.pad_size; i++)
            check(p.pad[i] == p.canary);
    }
    window_free(copy, end);
    free(own_offsets);
    free(own_lengths);
    free(p.pad);
    free(r.recs);
}

/* ---- RDW, VB, fixed ---- */

static void ref_records(const uint8_t *d, size_t start, size_t end, uint32_t kind,
                        int inclusive, size_t cap, ref_frame *r, int *capped)
{
    *capped = 0;
    if (kind == BRIDGE_FRAME_VB)
        *capped = ref_vb(d, start, end, cap, r) || cap != SIZE_MAX;
    else
        ref_rdw(d, start, end, kind, inclusive, r);
}

static void check_records(bridge_frame *f, ref_frame *r, size_t cap)
{
    int capped;
    ref_records(f->data, f->start, f->end, f->kind, f->inclusive != 0, cap, r, &capped);
    check_call(f, r, cap, capped);
}

/* decode_file's descriptor walk (_FileWalk.described): windows, the window doubled when one
 * record or block does not fit it, the arrays doubled when one block holds more records than
 * them; a PARTIAL in the last window is the file's error. */
static void walk_records(const walk *w, uint32_t kind, int inclusive)
{
    size_t end = w->size - w->trailer, pos = w->header, window = w->window, seen = 0, calls = 0;
    ref_frame whole, part;
    size_t cap;
    bridge_frame f;
    int capped, stopped = 0;

    whole.recs = malloc(sizeof(ref_rec) * (w->size + 1));
    part.recs = malloc(sizeof(ref_rec) * (w->size + 1));
    ref_records(w->file, pos, end, kind, inclusive, SIZE_MAX, &whole, &capped);
    cap = pick_cap(w->cap_b, whole.n);
    if (cap == 0)
        cap = 1;
    memset(&f, 0, sizeof f);
    f.kind = kind;
    f.inclusive = (uint32_t)inclusive;
    while (pos < end && !stopped) {
        size_t start, stop;
        uint8_t *mm;
        int status;
        check(++calls < MAX_CALLS);
        walk_window(w, end, pos, window, &start, &stop);
        mm = window_copy(w->file, start, stop, pos - start);
        f.data = mm;
        f.end = stop - start;
        f.start = pos - start;
        f.offsets = malloc(sizeof(uint64_t) * cap);
        f.lengths = malloc(sizeof(uint32_t) * cap);
        f.cap = cap;
        check(bridge_frame_records(&f) == BRIDGE_OK);
        check_records(&f, &part, cap);
        status = f.status;
        for (size_t i = 0; i < f.n; i++, seen++) {
            check(seen < whole.n);
            check(start + f.offsets[i] == whole.recs[seen].off);
            check(f.lengths[i] == whole.recs[seen].len);
        }
        if (status == BRIDGE_FRAME_BROKEN || (status == BRIDGE_FRAME_PARTIAL && stop == end)) {
            check(status == whole.status && start + f.next == whole.at);
            if (status == BRIDGE_FRAME_BROKEN)
                check(start + f.bad == whole.bad);
            stopped = 1;
        } else if (status == BRIDGE_FRAME_PARTIAL && f.next == pos - start) {
            window *= 2;
        } else if (status == BRIDGE_FRAME_CAP && f.n == 0) {
            check(kind == BRIDGE_FRAME_VB); /* only a block can hold more than the arrays */
            cap *= 2;
        } else {
            check(f.next > pos - start);
        }
        pos = start + f.next;
        free(f.offsets);
        free(f.lengths);
        window_free(mm, stop - start);
    }
    check(seen == whole.n);
    if (!stopped)
        check(whole.status == BRIDGE_FRAME_DONE && pos == end);
    free(whole.recs);
    free(part.recs);
}

static void single_records(const uint8_t *data, size_t len, uint8_t kind_b, uint32_t record_length,
                           uint8_t start_b, uint8_t end_b, uint8_t misuse, uint8_t cap_b)
{
    size_t end = len - end_b % (len + 1), start = start_b % (end + 1), cap, n = 7, next = 7;
    uint32_t kind = kind_b % 4;
    ref_frame r;
    bridge_frame f;
    uint8_t *copy;
    uint64_t *offsets, *own_offsets;
    uint32_t *own_lengths;
    int capped, rc, arg;

    r.recs = malloc(sizeof(ref_rec) * (len + 1));
    ref_records(data, start, end, kind, kind_b >> 6 != 0, SIZE_MAX, &r, &capped);
    cap = pick_cap(cap_b, r.n);
    copy = window_copy(data, 0, end, start);
    memset(&f, 0, sizeof f);
    f.data = copy;
    f.end = end;
    f.start = start;
    f.kind = kind;
    f.inclusive = kind_b >> 6; /* any nonzero value is inclusive */
    f.cap = cap;
    f.offsets = own_offsets = malloc(sizeof(uint64_t) * (cap ? cap : 1));
    f.lengths = own_lengths = malloc(sizeof(uint32_t) * (cap ? cap : 1));
    switch (misuse >> 4) {
    case 1: f.data = NULL; break;
    case 2: f.start = end + 1 + (misuse & 7); break;
    case 3: f.offsets = NULL; break;
    case 4: f.lengths = NULL; break;
    case 5: f.kind = 4 + (misuse & 7); break;
    default: break;
    }
    arg = (f.data == NULL && f.end != 0) || f.start > f.end ||
          f.kind > BRIDGE_FRAME_RDW_LE_HIGH ||
          ((f.offsets == NULL || f.lengths == NULL) && f.cap != 0) || misuse >> 4 == 6;
    rc = bridge_frame_records(misuse >> 4 == 6 ? NULL : &f);
    check(rc == (arg ? BRIDGE_E_ARG : BRIDGE_OK));
    if (rc == BRIDGE_OK)
        check_records(&f, &r, cap);
    free(own_offsets);
    free(own_lengths);

    /* Fixed: whole records from start, at most cap. */
    offsets = malloc(sizeof(uint64_t) * (cap ? cap : 1));
    start = misuse >> 4 == 2 ? end + 1 + (misuse & 7) : start;
    arg = record_length == 0 || start > end || (misuse >> 4 == 3 && cap != 0) ||
          misuse >> 4 == 7 || misuse >> 4 == 8;
    rc = bridge_frame_fixed(end, start, record_length, misuse >> 4 == 3 ? NULL : offsets, cap,
                            misuse >> 4 == 7 ? NULL : &n, misuse >> 4 == 8 ? NULL : &next);
    check(rc == (arg ? BRIDGE_E_ARG : BRIDGE_OK));
    if (rc == BRIDGE_OK) {
        size_t whole = (end - start) / record_length;
        check(n == (whole < cap ? whole : cap));
        check(next == start + n * record_length && next <= end);
        for (size_t i = 0; i < n; i++)
            check(offsets[i] == start + i * record_length);
    }
    free(offsets);
    window_free(copy, end);
    free(r.recs);
}

/* ---- shaping ---- */

/* Text: about one byte in eight a LF and one in sixteen a CR. */
static void shape_text(uint8_t *d, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (d[i] % 8 == 0)
            d[i] = '\n';
        else if (d[i] % 16 == 1)
            d[i] = '\r';
    }
}

/* Descriptors generated from the input: per byte c a record (RDW) or a block of c % 5 records
 * (VB, an extended BDW when c & 0x80) of take() % 40 bytes each; with (c & 0x70) == 0x70 one
 * byte of what is written so far is then changed. Returns the bytes written to out. */
static size_t shape_records(cursor *c, uint32_t kind, int inclusive, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (c->n > 0) {
        uint8_t b = take(c);
        size_t records = kind == BRIDGE_FRAME_VB ? b % 5u : 1, block = n;
        if (kind == BRIDGE_FRAME_VB) {
            if (n + 4 > cap)
                break;
            n += 4;
        }
        for (size_t k = 0; k < records; k++) {
            size_t len = take(c) % 40u, field = kind == BRIDGE_FRAME_VB || inclusive ? len + 4 : len;
            if (n + 4 + len > cap)
                return n;
            if (kind == BRIDGE_FRAME_RDW_LE_HIGH) {
                out[n] = out[n + 1] = 0;
                out[n + 2] = (uint8_t)field;
                out[n + 3] = (uint8_t)(field >> 8);
            } else {
                out[n] = (uint8_t)(kind == BRIDGE_FRAME_RDW_LE ? field : field >> 8);
                out[n + 1] = (uint8_t)(kind == BRIDGE_FRAME_RDW_LE ? field >> 8 : field);
                out[n + 2] = out[n + 3] = 0;
            }
            for (size_t i = 0; i < len; i++)
                out[n + 4 + i] = take(c);
            n += 4 + len;
        }
        if (kind == BRIDGE_FRAME_VB) {
            size_t size = n - block;
            if (b & 0x80) {
                out[block] = (uint8_t)(0x80 | size >> 24);
                out[block + 1] = (uint8_t)(size >> 16);
                out[block + 2] = (uint8_t)(size >> 8);
                out[block + 3] = (uint8_t)size;
            } else {
                out[block] = (uint8_t)(size >> 8);
                out[block + 1] = (uint8_t)size;
                out[block + 2] = out[block + 3] = 0;
            }
        }
        if ((b & 0x70) == 0x70 && n > 0) {
            uint8_t where = take(c);
            out[where % n] ^= take(c) | 1;
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    cursor c = {input, size};
    uint8_t head[9];
    uint8_t *data;
    size_t len;
    uint32_t width;
    int shaped, mode;
    for (int i = 0; i < 9; i++)
        head[i] = take(&c);
    mode = head[0] % 4;
    shaped = (head[0] & 4) != 0;
    width = pick_width(head[1]);
    if (mode >= 2 && shaped) {
        size_t room = 4 * c.n + 64;
        data = malloc(room);
        len = shape_records(&c, head[2] % 4u, head[2] >> 6 != 0, data, room);
    } else {
        len = c.n;
        data = malloc(len ? len : 1);
        memcpy(data, c.p, len);
        if (shaped)
            shape_text(data, len);
    }
    if (mode == 0 || mode == 2) {
        walk w = {data, len, head[3], head[4], 1u + head[5], (size_t)1 << (head[6] % 8), head[7]};
        if (w.header + w.trailer <= len) { /* else the reference framing refuses the file */
            if (mode == 0) {
                uint64_t wide = (uint64_t)width + head[2] % 8;
                if (wide > 0 && wide <= UINT32_MAX) /* decode_file refuses a width of 0 */
                    walk_lines(&w, (uint32_t)wide, (head[0] & 8) != 0, head[8]);
            } else {
                walk_records(&w, head[2] % 4u, head[2] >> 6 != 0);
            }
        }
    } else if (mode == 1) {
        single_lines(data, len, width, (head[0] & 8) != 0, head[3], head[4], head[6], head[7],
                     head[8]);
    } else {
        single_records(data, len, head[2], width, head[3], head[4], head[6], head[7]);
    }
    free(data);
    return 0;
}
