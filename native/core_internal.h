/* Private helpers shared by the C sources (not part of the cffi contract). */
#ifndef BRIDGE_CORE_INTERNAL_H
#define BRIDGE_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bridge_core.h"

/* Bytes kept free at the end of the output buffer: the closing brackets of a stopped record
 * and the 8-byte over-copy of table-driven character output. */
/* Powers of ten that fit 64 bits, shared by the decoder and the checks. */
static const uint64_t POW10[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};

/* The value of m <= 19 ASCII digits: two independent halves, half the multiply-add latency
 * chain (both the number checks and the inline fast path read digits this way). */
static inline uint64_t digits_mag(const char *digs, uint32_t m)
{
    uint32_t h = m / 2;
    uint64_t hi = 0, lo = 0;
    for (uint32_t i = 0; i < h; i++) {
        hi = hi * 10 + (uint64_t)(digs[i] - '0');
        lo = lo * 10 + (uint64_t)(digs[h + i] - '0');
    }
    if (m & 1)
        lo = lo * 10 + (uint64_t)(digs[m - 1] - '0');
    return hi * POW10[m - h] + lo;
}

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

/* Patterns (bridge_core.h): the one-pass forms inline, the general case in validate.c. */
#define BRIDGE_ATOM_BYTES 36u

int bridge_pattern_nfa(const uint8_t *pat, uint32_t plen, const uint8_t *t, uint32_t n,
                       int nl_last);

/* A string of `n` characters against its pattern (anchored at the start). `nl_last`: its last
 * character is a newline, which Python's `$` lets stand after the end. */
static inline int bridge_pattern_ok(const uint8_t *pat, uint32_t plen, const uint8_t *t, uint32_t n,
                                    int nl_last)
{
    uint32_t atoms = (plen - 1) / BRIDGE_ATOM_BYTES, at = 0, k = 0;
    /* Fixed counts, then at most one ranged atom last: one pass, no backtracking. */
    for (; k < atoms; k++) {
        const uint8_t *atom = pat + 1 + BRIDGE_ATOM_BYTES * k, *set = atom + 4;
        uint32_t lo = (uint32_t)atom[0] | (uint32_t)atom[1] << 8;
        uint32_t hi = (uint32_t)atom[2] | (uint32_t)atom[3] << 8;
        if (lo != hi)
            break;
        if (n - at < lo)
            return 0;
        for (uint32_t q = at; q < at + lo; q++)
            if (!((set[t[q] >> 3] >> (t[q] & 7)) & 1))
                return 0;
        at += lo;
    }
    if (k == atoms)
        return !(pat[0] & 1) || at == n || (at + 1 == n && nl_last);
    if (k + 1 == atoms && (pat[0] & 1)) {
        const uint8_t *atom = pat + 1 + BRIDGE_ATOM_BYTES * k, *set = atom + 4;
        uint32_t lo = (uint32_t)atom[0] | (uint32_t)atom[1] << 8;
        uint32_t hi = (uint32_t)atom[2] | (uint32_t)atom[3] << 8, q = at;
        while (q < n && (hi == 0xFFFF || q - at < hi) && ((set[t[q] >> 3] >> (t[q] & 7)) & 1))
            q++;
        /* The greedy run stops at the end, or (for `$`) just before a final newline. */
        if (q - at < lo)
            return 0;
        if (q == n)
            return 1;
        return q + 1 == n && nl_last;
    }
    return bridge_pattern_nfa(pat, plen, t, n, nl_last);
}

/* Fast paths for the common checks, derived from a plan's checks once per batch (validate.c)
 * and run inline by decode.c; anything they do not cover goes to bridge_check_value. */
#define BRIDGE_FAST_OPS 128     /* ops past this always take bridge_check_value */
#define BRIDGE_FAST_NONE 0      /* no rules */
#define BRIDGE_FAST_CALL 1      /* bridge_check_value */
#define BRIDGE_FAST_NUMBER 2    /* integer/decimal from a number: bounds and integer digits */
#define BRIDGE_FAST_CHOICE1 3   /* text choice whose source values are at most one byte */
#define BRIDGE_FAST_DATE 4      /* text date, YYYY-MM-DD or YYYYMMDD */
#define BRIDGE_FAST_STRING 5    /* text string: lengths, pattern, enum of <= 4 same-length words */

typedef struct {
    uint8_t kind;     /* BRIDGE_FAST_* */
    uint8_t empty_ok; /* CHOICE1: the empty value is listed */
    uint8_t iso;      /* DATE: YYYY-MM-DD (else YYYYMMDD) */
    uint8_t pad;
    uint32_t fail;    /* CHOICE1 / DATE: the bit a bad value breaks */
    uint64_t lim;     /* NUMBER: a magnitude at or above breaks BRIDGE_V_PATTERN */
    int64_t min, max; /* NUMBER: the bounds (INT64_MIN / INT64_MAX when not checked) */
    uint64_t set[4];  /* CHOICE1: the listed bytes; STRING: the enum's words (little-endian) */
    uint8_t trim;     /* STRING: BRIDGE_TRIM_* */
    uint8_t n_words;  /* STRING with an enum: its items, all word_len bytes */
    uint8_t word_len;
    uint32_t min_len, max_len;  /* STRING: 0 / UINT32_MAX when not checked */
    const uint8_t *pat;         /* STRING: the pattern's atoms, or NULL */
    uint32_t pat_len;
    uint8_t pmode;              /* STRING with a pattern: BRIDGE_PAT_* */
    uint32_t plo, phi;          /* BRIDGE_PAT_ONE: the atom's counts (phi UINT32_MAX: open) */
    uint8_t ptab[256];          /* ONE / TAB / POS: bit k set when the byte is in atom k's class */
    uint8_t pfuse;              /* STRING: the pattern has the positional form (ppos) */
    uint32_t pos_lo, pos_hi;    /* positional form: the lengths it takes (pos_hi UINT32_MAX: open) */
    uint8_t ppos[64];           /* positional form: the atom bit position q needs (63: all later) */
} bridge_fast;

#define BRIDGE_PAT_GENERAL 0 /* bridge_pattern_ok on the packed atoms */
#define BRIDGE_PAT_ONE 1     /* ^[class]{lo,hi}$: one scan, the count checked at the end */
#define BRIDGE_PAT_TAB 2     /* at most 8 atoms: bridge_pattern_tab */
#define BRIDGE_PAT_POS 3     /* fixed counts, then at most one ranged atom, last; anchored at the
                              * end: each position's class known up front (bridge_pattern_pos) */

/* bridge_pattern_ok with each class looked up in `tab` (bit k: atom k; at most 8 atoms). */
static inline int bridge_pattern_tab(const uint8_t *pat, uint32_t plen, const uint8_t *tab,
                                     const uint8_t *t, uint32_t n, int nl_last)
{
    uint32_t atoms = (plen - 1) / BRIDGE_ATOM_BYTES, at = 0, k = 0;
    for (; k < atoms; k++) {
        const uint8_t *atom = pat + 1 + BRIDGE_ATOM_BYTES * k;
        uint32_t lo = (uint32_t)atom[0] | (uint32_t)atom[1] << 8;
        uint32_t hi = (uint32_t)atom[2] | (uint32_t)atom[3] << 8;
        uint8_t m = (uint8_t)(1u << k);
        if (lo != hi)
            break;
        if (n - at < lo)
            return 0;
        for (uint32_t q = at; q < at + lo; q++)
            if (!(tab[t[q]] & m))
                return 0;
        at += lo;
    }
    if (k == atoms)
        return !(pat[0] & 1) || at == n || (at + 1 == n && nl_last);
    if (k + 1 == atoms && (pat[0] & 1)) {
        const uint8_t *atom = pat + 1 + BRIDGE_ATOM_BYTES * k;
        uint32_t lo = (uint32_t)atom[0] | (uint32_t)atom[1] << 8;
        uint32_t hi = (uint32_t)atom[2] | (uint32_t)atom[3] << 8, q = at;
        uint8_t m = (uint8_t)(1u << k);
        while (q < n && (hi == 0xFFFF || q - at < hi) && (tab[t[q]] & m))
            q++;
        if (q - at < lo)
            return 0;
        if (q == n)
            return 1;
        return q + 1 == n && nl_last;
    }
    return bridge_pattern_nfa(pat, plen, t, n, nl_last);
}

/* ^[class]{lo,hi}$ (anchored at the end): the run of class bytes, its length checked once. A
 * final newline may stand after the end, whether or not the class holds it. */
static inline int bridge_pattern_one(const uint8_t *tab, uint32_t lo, uint32_t hi,
                                     const uint8_t *t, uint32_t n, int nl_last)
{
    uint32_t r = 0;
    while (r < n && (tab[t[r]] & 1))
        r++;
    if (r == n && n >= lo && n <= hi)
        return 1;
    return nl_last && r + 1 >= n && n - 1 >= lo && n - 1 <= hi;
}

/* The positional form: a single scan, each byte against its position's class, the length
 * checked once. A final newline may stand after the end (Python's `$`). */
static inline int bridge_pattern_pos(const bridge_fast *f, const uint8_t *t, uint32_t n,
                                     int nl_last)
{
    uint32_t q = 0;
    while (q < n && (f->ptab[t[q]] & f->ppos[q < 63 ? q : 63]))
        q++;
    if (q == n && n >= f->pos_lo && n <= f->pos_hi)
        return 1;
    return nl_last && q + 1 >= n && n - 1 >= f->pos_lo && n - 1 <= f->pos_hi;
}

/* The fast path of op `ip` (its checks' rules non-zero). */
void bridge_fast_prepare(const bridge_plan *p, uint32_t ip, bridge_fast *f);


/* Mapped events (emit.c): the op's value at [val, w) rewritten as its emit bytes say; returns
 * the new end. `s`, [a, z): a text item's bytes and trimmed span; digits for numbers. */
uint8_t *bridge_emit(const bridge_plan *p, const bridge_op *op, uint8_t *val, uint8_t *w,
                     const uint8_t *s, uint32_t a, uint32_t z, const char *digs, uint32_t nd,
                     int neg);
/* The most bytes bridge_emit may write for the op's value. */
uint32_t bridge_emit_max(const bridge_plan *p, const bridge_op *op);
/* The plan check of an op's emit bytes: 1 when bridge_emit may trust them. */
int bridge_emit_ok(const bridge_plan *p, const bridge_op *op);

#endif
