/* The batch decoder: walks a checked plan over each record and writes its JSON document.
 *
 * Hot-path rules: one bounds check per op against a worst case, keys are memcpy'd from the
 * blob, characters are one table lookup and an 8-byte copy, digits go straight from the
 * record bytes to the output. Positions: a field is at its static offset, plus the elements
 * of the tables around it, minus what the ODO tables before it did not use (`shift`).
 */
#include <math.h>
#include <string.h>

#include "core_internal.h"
#include "numfmt.h"

#define RESERVE (2 * BRIDGE_MAX_OBJ_DEPTH + 32)
#define ALWAYS_INLINE inline __attribute__((always_inline))

enum { WALK_OK = 0, WALK_FULL = 1 };

typedef struct {
    uint32_t op; /* the OPEN_ARR */
    uint32_t i;  /* current element */
    uint32_t n;  /* actual number of elements */
} table_frame;

typedef struct {
    const bridge_plan *p;
    bridge_batch *b;
    const uint8_t *rec;
    uint32_t rec_len;
    uint32_t recno;
    uint64_t rec_file_off;
    size_t errors_used;
    int64_t elem_base, shift;
    int ntables, nclosers;
    int stopped;
    table_frame tables[BRIDGE_MAX_TABLE_DEPTH];
    uint8_t closers[BRIDGE_MAX_OBJ_DEPTH];
    uint8_t single[256]; /* the text table's one-byte characters (0: longer or unmappable) */
    uint64_t slot_ok;   /* bit per slot: the count decoded */
    uint64_t slot_seen; /* bit per slot: the count item was reached */
    int64_t slot_val[BRIDGE_MAX_SLOTS];
    int64_t slot_at[BRIDGE_MAX_SLOTS]; /* where the count item was */
    bridge_fast fast[BRIDGE_FAST_OPS];  /* with checks: each op's fast path (validate.c) */
} walk;

/* The op's key: one fixed 32-byte copy (inlined, no call) when the blob has the room. */
static inline uint8_t *put_key(const bridge_plan *p, const bridge_op *op, uint8_t *w)
{
    const uint8_t *key = p->blob + op->key_off;
    if (op->key_len <= 32 && (uint64_t)op->key_off + 32 <= p->blob_len)
        memcpy(w, key, 32);
    else
        memcpy(w, key, op->key_len);
    return w + op->key_len;
}

/* ---- errors ---- */

static int add_error(walk *k, uint32_t op, int64_t at, uint32_t length, int reason,
                     uint32_t detail, int64_t value)
{
    bridge_error *e;
    if (k->errors_used >= k->b->error_cap) {
        k->b->full = 2;
        return WALK_FULL;
    }
    e = &k->b->errors[k->errors_used++];
    e->record = k->recno;
    e->op = op;
    e->offset = k->rec_file_off + (uint64_t)(at < 0 ? 0 : at);
    e->length = length;
    e->reason = (uint16_t)reason;
    e->depth = (uint16_t)k->ntables;
    e->detail = detail;
    e->value = value;
    for (int t = 0; t < 8; t++)
        e->subs[t] = t < k->ntables ? k->tables[t].i : 0;
    return WALK_OK;
}

/* ---- validation fast paths (the rest: bridge_check_value) ---- */

static inline uint32_t fast_number(const bridge_fast *f, uint64_t mag, int neg)
{
    int64_t v = neg ? -(int64_t)mag : (int64_t)mag;
    return (mag >= f->lim ? 1u << BRIDGE_V_PATTERN : 0) | (v < f->min ? 1u << BRIDGE_V_MINIMUM : 0) |
           (v > f->max ? 1u << BRIDGE_V_MAXIMUM : 0);
}

/* The trimmed text's one byte (or none) against the listed bytes. */
static inline uint32_t fast_choice1(const bridge_fast *f, const uint8_t *flag, const uint8_t *s,
                                    uint32_t z)
{
    while (z > 0 && (flag[s[z - 1]] & 2))
        z--;
    if (z == 0)
        return f->empty_ok ? 0 : f->fail;
    if (z == 1 && ((f->set[s[0] >> 6] >> (s[0] & 63)) & 1))
        return 0;
    return f->fail;
}

/* A string target from text: trimmed as the mapping trims, then string_rules (validate.c). */
/* Four bytes as loaded, read little-endian. */
static inline uint32_t bridge_le32(uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap32(v);
#else
    return v;
#endif
}

/* `pre_ok`: put_text found these `len` bytes match the pattern's positional form. */
static ALWAYS_INLINE uint32_t fast_string(const bridge_fast *f, const uint8_t *flag,
                                          const uint8_t *s, uint32_t len, int pre_ok)
{
    uint32_t a = 0, z = len, n, bad = 0;
    if (f->trim != BRIDGE_TRIM_NONE)
        while (z > a && (flag[s[z - 1]] & 2))
            z--;
    if (f->trim == BRIDGE_TRIM_BOTH)
        while (a < z && (flag[s[a]] & 2))
            a++;
    n = z - a;
    if (n < f->min_len)
        bad |= 1u << BRIDGE_V_MIN_LENGTH;
    if (n > f->max_len)
        bad |= 1u << BRIDGE_V_MAX_LENGTH;
    if (f->n_words) {
        int hit = 0;
        if (n == f->word_len) {
            uint64_t x = 0;
            if (n >= 4) {
                /* Two overlapping 4-byte loads (the bytes they share agree). */
                uint32_t lo, hi;
                memcpy(&lo, s + a, 4);
                memcpy(&hi, s + a + n - 4, 4);
                x = bridge_le32(lo) | (uint64_t)bridge_le32(hi) << (8 * (n - 4));
            } else {
                for (uint32_t i = 0; i < n; i++)
                    x |= (uint64_t)s[a + i] << (8 * i);
            }
            for (uint32_t j = 0; j < f->n_words; j++)
                hit |= x == f->set[j];
        }
        if (!hit)
            bad |= 1u << BRIDGE_V_ENUM;
    }
    if (f->pat != NULL) {
        int nl = n > 0 && (flag[s[z - 1]] & 4), ok;
        if (pre_ok && a == 0 && z == len)
            ok = 1;
        else if (n > BRIDGE_MAX_CHECK_TEXT)
            ok = 0;
        else if (f->pmode == BRIDGE_PAT_POS)
            ok = bridge_pattern_pos(f, s + a, n, nl);
        else if (f->pmode == BRIDGE_PAT_ONE)
            ok = bridge_pattern_one(f->ptab, f->plo, f->phi, s + a, n, nl);
        else if (f->pmode == BRIDGE_PAT_TAB)
            ok = bridge_pattern_tab(f->pat, f->pat_len, f->ptab, s + a, n, nl);
        else
            ok = bridge_pattern_ok(f->pat, f->pat_len, s + a, n, nl);
        if (!ok)
            bad |= 1u << BRIDGE_V_PATTERN;
    }
    return bad;
}

/* YYYY-MM-DD / YYYYMMDD (code-page bytes; `asc` their ASCII, `flag` their classes). */
static inline uint32_t fast_date(const bridge_fast *f, const uint8_t *asc, const uint8_t *flag,
                                 const uint8_t *s, uint32_t len)
{
    static const uint8_t mdays[16] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0, 0, 0};
    uint32_t a = 0, z = len, n, nondigit = 0, mo, y, m, d, dim;
    uint8_t c[10];
    while (z > a && (flag[s[z - 1]] & 1))
        z--;
    while (a < z && (flag[s[a]] & 1))
        a++;
    n = f->iso ? 10 : 8;
    if (z - a != n)
        return f->fail;
    for (uint32_t i = 0; i < n; i++) {
        c[i] = (uint8_t)(asc[s[a + i]] - '0');
        nondigit |= (uint32_t)(c[i] > 9) << i;
    }
    if (f->iso) {
        if (nondigit != (1u << 4 | 1u << 7) || c[4] != (uint8_t)('-' - '0') ||
            c[7] != (uint8_t)('-' - '0'))
            return f->fail;
        mo = 5;
    } else {
        if (nondigit != 0)
            return f->fail;
        mo = 4;
    }
    y = c[0] * 1000u + c[1] * 100u + c[2] * 10u + c[3];
    m = c[mo] * 10u + c[mo + 1];
    d = c[mo + 3 - (f->iso ? 0 : 1)] * 10u + c[mo + 4 - (f->iso ? 0 : 1)];
    if (y == 0 || m - 1 > 11 || d == 0)
        return f->fail;
    dim = mdays[m] + (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
    return d <= dim ? 0 : f->fail;
}

/* ---- field decoders: 0 or a BRIDGE_R_* reason; values written at *wp ---- */

static int all_bytes(const uint8_t *s, uint32_t len, uint8_t v)
{
    for (uint32_t i = 0; i < len; i++)
        if (s[i] != v)
            return 0;
    return 1;
}

static uint8_t *put_null(uint8_t *w)
{
    memcpy(w, "null", 4);
    return w + 4;
}

/* Text items open with a null check (all low-values) and trimming: 1 when null was written,
 * else 0 with the trimmed span [a, z) in `span` and the opening quote written. */
static int put_text_open(const walk *k, const bridge_op *op, const uint8_t *s, uint32_t len,
                         uint8_t **wp, uint32_t span[2])
{
    const uint8_t *tab = k->p->text_table;
    uint32_t a = 0, z = len;
    if ((op->flags & BRIDGE_F_LOW_NULL) && s[0] == 0 && all_bytes(s, len, 0)) {
        *wp = put_null(*wp);
        return 1;
    }
    if (k->p->trim != BRIDGE_TRIM_NONE)
        while (z > a && (tab[8 * s[z - 1] + 6] & 2))
            z--;
    if (k->p->trim == BRIDGE_TRIM_BOTH)
        while (a < z && (tab[8 * s[a] + 6] & 2))
            a++;
    span[0] = a;
    span[1] = z;
    *(*wp)++ = '"';
    return 0;
}

/* The general way, when a byte is not one UTF-8 byte (or unmappable): each byte's escaped
 * UTF-8 from the 8-byte table entry, then the closing quote. */
static int put_text_general(const walk *k, const uint8_t *s, uint32_t a, uint32_t z,
                            uint8_t **wp, uint32_t *detail)
{
    const uint8_t *tab = k->p->text_table;
    uint8_t bad = 0, *w = *wp;
    for (uint32_t i = a; i < z; i++) {
        const uint8_t *e = tab + 8 * (size_t)s[i];
        memcpy(w, e, 8);
        w += e[7];
        bad |= e[6];
    }
    if (bad & 1) {
        for (uint32_t i = a; i < z; i++)
            if (tab[8 * s[i] + 6] & 1) {
                *detail = i;
                break;
            }
        return BRIDGE_R_UNMAPPABLE;
    }
    *w++ = '"';
    *wp = w;
    return 0;
}

/* `span`: the trimmed value's first and end byte (validation checks the value written). */
static int put_text(const walk *k, const bridge_op *op, const uint8_t *s, uint32_t len,
                    uint8_t **wp, uint32_t *detail, uint32_t span[2])
{
    if (put_text_open(k, op, s, len, wp, span))
        return 0;
    uint32_t a = span[0], z = span[1];
    uint8_t *w = *wp;
    /* Most text is one byte a character: translate on that bet (no dependency between
     * bytes), and redo the item the general way when a byte says otherwise. */
    uint8_t miss = 0;
    for (uint32_t i = a; i < z; i++) {
        uint8_t c = k->single[s[i]];
        w[i - a] = c;
        miss |= c == 0;
    }
    if (miss)
        return put_text_general(k, s, a, z, wp, detail);
    w += z - a;
    *w++ = '"';
    *wp = w;
    return 0;
}

/* put_text checking on the way the positional form of a pattern, `pf` (op->length <= 64):
 * *pre_ok says the trimmed bytes match it (0: not known). */
static int put_text_pat(const walk *k, const bridge_op *op, const uint8_t *s, uint32_t len,
                        uint8_t **wp, uint32_t *detail, uint32_t span[2], const bridge_fast *pf,
                        int *pre_ok)
{
    if (put_text_open(k, op, s, len, wp, span))
        return 0;
    uint32_t a = span[0], z = span[1];
    uint8_t *w = *wp;
    /* As put_text, with the pattern's classes in the same pass: no second loop. */
    uint8_t miss = 0, pbad = 0;
    for (uint32_t i = a; i < z; i++) {
        uint8_t c = k->single[s[i]];
        w[i - a] = c;
        miss |= c == 0;
        pbad |= (pf->ptab[s[i]] & pf->ppos[i - a]) == 0;
    }
    *pre_ok = !pbad && z - a >= pf->pos_lo && z - a <= pf->pos_hi;
    if (miss)
        return put_text_general(k, s, a, z, wp, detail);
    w += z - a;
    *w++ = '"';
    *wp = w;
    return 0;
}

static uint8_t *put_ascii_escaped(uint8_t *w, unsigned c)
{
    static const char hex[] = "0123456789abcdef";
    if (c >= 0x20 && c != '"' && c != '\\') {
        *w++ = (uint8_t)c;
        return w;
    }
    *w++ = '\\';
    switch (c) {
    case '"': *w++ = '"'; break;
    case '\\': *w++ = '\\'; break;
    case '\b': *w++ = 'b'; break;
    case '\t': *w++ = 't'; break;
    case '\n': *w++ = 'n'; break;
    case '\f': *w++ = 'f'; break;
    case '\r': *w++ = 'r'; break;
    default:
        memcpy(w, "u00", 3);
        w[3] = (uint8_t)hex[c >> 4];
        w[4] = (uint8_t)hex[c & 15];
        w += 5;
    }
    return w;
}

static int put_national(const walk *k, const bridge_op *op, const uint8_t *s, uint32_t len,
                        uint8_t **wp, uint32_t *detail)
{
    uint32_t a = 0, z = len;
    uint8_t *w = *wp;
    if ((op->flags & BRIDGE_F_LOW_NULL) && all_bytes(s, len, 0)) {
        *wp = put_null(w);
        return 0;
    }
    if (k->p->trim != BRIDGE_TRIM_NONE)
        while (z > a && s[z - 2] == 0 && s[z - 1] == 0x20)
            z -= 2;
    if (k->p->trim == BRIDGE_TRIM_BOTH)
        while (a < z && s[a] == 0 && s[a + 1] == 0x20)
            a += 2;
    *w++ = '"';
    for (uint32_t i = a; i < z; i += 2) {
        uint32_t u = (uint32_t)s[i] << 8 | s[i + 1];
        if (u < 0x80) {
            w = put_ascii_escaped(w, u);
        } else if (u < 0x800) {
            *w++ = (uint8_t)(0xC0 | u >> 6);
            *w++ = (uint8_t)(0x80 | (u & 0x3F));
        } else if (u >= 0xD800 && u <= 0xDFFF) {
            uint32_t lo = i + 3 < z ? (uint32_t)s[i + 2] << 8 | s[i + 3] : 0;
            if (u > 0xDBFF || lo < 0xDC00 || lo > 0xDFFF) {
                *detail = i;
                return BRIDGE_R_UNMAPPABLE;
            }
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            *w++ = (uint8_t)(0xF0 | u >> 18);
            *w++ = (uint8_t)(0x80 | ((u >> 12) & 0x3F));
            *w++ = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
            *w++ = (uint8_t)(0x80 | (u & 0x3F));
            i += 2;
        } else {
            *w++ = (uint8_t)(0xE0 | u >> 12);
            *w++ = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
            *w++ = (uint8_t)(0x80 | (u & 0x3F));
        }
    }
    *w++ = '"';
    *wp = w;
    return 0;
}

static int blank(const walk *k, const uint8_t *s, uint32_t len)
{
    return (s[0] == k->p->space && all_bytes(s, len, k->p->space)) ||
           (s[0] == 0 && all_bytes(s, len, 0));
}

/* Zoned digits: each byte must be digit0 + 0..9 (F0-F9, or 30-39 in ASCII files). `*mag`
 * takes them on (wrapping past 19 digits: the caller uses it for at most 18). */
static inline int zoned_digits(const uint8_t *s, uint32_t from, uint32_t to, char *digs,
                               uint32_t *detail, uint64_t *mag, int acc, uint8_t digit0)
{
    uint64_t m = *mag;
    for (uint32_t i = from; i < to; i++) {
        uint8_t d = (uint8_t)(s[i] - digit0);
        if (d > 9) {
            *detail = i;
            return BRIDGE_R_BAD_ZONE;
        }
        *digs++ = (char)('0' + d);
        if (acc)
            m = m * 10 + d;
    }
    *mag = m;
    return 0;
}

/* The checks go in byte order, so the first bad byte names the error. */
/* `acc`: *mag takes the digits' value (meaningful for at most 18
 * digits), for the checks; without checks the decode does not pay for it. */
static int dec_zoned(const walk *k, const bridge_op *op, const uint8_t *s,
                                   uint32_t len, char *digs, uint32_t *nd, int *neg,
                                   uint32_t *detail, uint64_t *mag, int acc)
{
    const bridge_plan *p = k->p;
    uint16_t f = op->flags;
    uint8_t d0 = p->digit0;
    int leading = (f & BRIDGE_F_SIGN_LEADING) && (f & BRIDGE_F_SIGNED), why;
    uint32_t si = leading ? 0 : len - 1;
    if ((f & BRIDGE_F_BLANK_CHECK) && blank(k, s, len))
        return BRIDGE_R_BLANK_NUMERIC;
    *neg = 0;
    *mag = 0;
    if (f & BRIDGE_F_SIGN_SEPARATE) {
        uint8_t sb = s[si];
        *nd = len - 1;
        if (!leading && (why = zoned_digits(s, 0, len - 1, digs, detail, mag, acc, d0)) != 0)
            return why;
        if (sb == p->minus)
            *neg = 1;
        else if (sb != p->plus) {
            *detail = si;
            return BRIDGE_R_BAD_SIGN;
        }
        if (leading && (why = zoned_digits(s, 1, len, digs, detail, mag, acc, d0)) != 0)
            return why;
        return 0;
    }
    *nd = len;
    if (leading || (f & BRIDGE_F_SIGNED) || len == 1 || (uint8_t)(s[si] - d0) > 9) {
        const uint8_t *table = p->zone_sign + ((f & BRIDGE_F_SIGNED) ? 0 : 256);
        uint8_t v = table[s[si]];
        if (!leading && (why = zoned_digits(s, 0, len - 1, digs, detail, mag, acc, d0)) != 0)
            return why;
        if (v >> 5) {
            *detail = si;
            return v >> 5;
        }
        digs[si] = (char)('0' + (v & 15));
        *neg = (v >> 4) & 1;
        *mag = *mag * 10 + (v & 15);
        if (leading && (why = zoned_digits(s, 1, len, digs + 1, detail, mag, acc, d0)) != 0)
            return why;
        return 0;
    }
    /* unsigned, last byte a plain digit */
    return zoned_digits(s, 0, len, digs, detail, mag, acc, d0);
}

static int dec_packed(const walk *k, const bridge_op *op, const uint8_t *s,
                                    uint32_t len, char *digs, uint32_t *nd, int *neg,
                                    uint32_t *detail, uint64_t *mag, int acc)
{
    unsigned bad = 0;
    uint64_t m = 0;
    uint8_t last = s[len - 1], sign;
    if ((op->flags & BRIDGE_F_BLANK_CHECK) && blank(k, s, len))
        return BRIDGE_R_BLANK_NUMERIC;
    for (uint32_t i = 0; i + 1 < len; i++) {
        unsigned b = s[i], hi = b >> 4, lo = b & 15;
        bad |= ((hi + 6) | (lo + 6)) & 16;
        digs[2 * i] = (char)('0' + hi);
        digs[2 * i + 1] = (char)('0' + lo);
        if (acc)
            m = m * 100 + hi * 10 + lo;
    }
    if (bad || (last >> 4) > 9) {
        for (uint32_t i = 0; i < 2 * len - 1; i++) {
            unsigned nib = i & 1 ? s[i / 2] & 15 : s[i / 2] >> 4;
            if (nib > 9) {
                *detail = i;
                break;
            }
        }
        return BRIDGE_R_BAD_PACKED_DIGIT;
    }
    digs[2 * len - 2] = (char)('0' + (last >> 4));
    *nd = 2 * len - 1;
    *mag = m * 10 + (last >> 4);
    sign = k->p->packed_sign[((op->flags & BRIDGE_F_SIGNED) ? 0 : 16) + (last & 15)];
    if (sign == 2) {
        *detail = 2 * len - 1;
        return BRIDGE_R_BAD_PACKED_SIGN;
    }
    *neg = sign;
    return 0;
}

static int dec_binary(const bridge_op *op, const uint8_t *s, uint32_t len, uint64_t *mag,
                      int *neg)
{
    uint64_t u = 0;
    for (uint32_t i = 0; i < len; i++)
        u = u << 8 | s[i];
    *neg = 0;
    if ((op->flags & BRIDGE_F_SIGNED) && (s[0] & 0x80)) {
        *neg = 1;
        u = len == 8 ? 0 - u : (1ull << (8 * len)) - u; /* the magnitude */
    }
    *mag = u;
    if ((op->flags & BRIDGE_F_TRUNC_STD) && op->digits > 0 && op->digits < 20 &&
        u >= POW10[op->digits])
        return BRIDGE_R_BINARY_OUT_OF_RANGE;
    return 0;
}

/* Binary items of 9-16 bytes (19-38 digits in the gnucobol and microfocus dialects): the
 * magnitude's decimal digits end at `end`; `*nd` says how many. */
static int dec_binary_wide(const bridge_op *op, const uint8_t *s, uint32_t len, char *end,
                           uint32_t *nd, int *neg)
{
    unsigned __int128 u = 0;
    char *d = end;
    for (uint32_t i = 0; i < len; i++)
        u = u << 8 | s[i];
    *neg = 0;
    if ((op->flags & BRIDGE_F_SIGNED) && (s[0] & 0x80)) {
        *neg = 1;
        u = len == 16 ? 0 - u : ((unsigned __int128)1 << (8 * len)) - u;
    }
    do {
        *--d = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0);
    *nd = (uint32_t)(end - d);
    /* TRUNC(STD): a value of more digits than the PICTURE's is out of range. */
    if ((op->flags & BRIDGE_F_TRUNC_STD) && op->digits > 0 && *nd > op->digits)
        return BRIDGE_R_BINARY_OUT_OF_RANGE;
    return 0;
}

static int dec_float(const bridge_op *op, const uint8_t *s, uint32_t len, double *out)
{
    uint64_t u = 0;
    for (uint32_t i = 0; i < len; i++)
        u = u << 8 | s[i];
    if (op->flags & BRIDGE_F_IEEE) {
        if (len == 4) {
            uint32_t u32 = (uint32_t)u;
            float f;
            memcpy(&f, &u32, 4);
            *out = f;
        } else {
            memcpy(out, &u, 8);
        }
        return isfinite(*out) ? 0 : BRIDGE_R_BAD_FLOAT;
    }
    /* IBM hexadecimal: sign, 7-bit excess-64 exponent of 16, 24- or 56-bit fraction. */
    {
        int bits = len == 4 ? 24 : 56;
        int neg = (int)(u >> (8 * len - 1)) & 1;
        int exp = (int)(u >> bits) & 0x7F;
        uint64_t frac = u & ((1ull << bits) - 1);
        double v = ldexp((double)frac, 4 * (exp - 64) - bits);
        *out = neg ? -v : v;
    }
    return 0;
}

/* ---- numeric-edited: read the digits and sign the text shows, then edit them back with the
 * picture (IBM MOVE rules) and require exactly the same text ---- */

static char edit_sign(uint8_t code, int neg, int second)
{
    switch (code) {
    case BRIDGE_ED_PLUS: return neg ? '-' : '+';
    case BRIDGE_ED_MINUS: return neg ? '-' : ' ';
    case BRIDGE_ED_CR: return neg ? (second ? 'R' : 'C') : ' ';
    case BRIDGE_ED_DB: return neg ? (second ? 'B' : 'D') : ' ';
    default: return '$';
    }
}

static char edit_insert(uint8_t code, int second)
{
    switch (code) {
    case BRIDGE_ED_COMMA: return ',';
    case BRIDGE_ED_B: return ' ';
    case BRIDGE_ED_ZERO: return '0';
    case BRIDGE_ED_SLASH: return '/';
    case BRIDGE_ED_POINT: return '.';
    case BRIDGE_ED_PLUS: return '+';
    case BRIDGE_ED_MINUS: return '-';
    case BRIDGE_ED_CR: return second ? 'R' : 'C';
    case BRIDGE_ED_DB: return second ? 'B' : 'D';
    case BRIDGE_ED_STAR: return '*';
    case BRIDGE_ED_Z: return 'Z';
    case BRIDGE_ED_9: return '9';
    default: return '$';
    }
}

static int dec_edited(const walk *k, const bridge_op *op, const uint8_t *s, uint32_t len,
                      char *digs, uint32_t *nd, int *neg, uint32_t *detail)
{
    const uint8_t *tab = k->p->text_table, *m = k->p->blob + op->aux_off, *sym = m + 4;
    char text[BRIDGE_MAX_NUM_LEN], want[BRIDGE_MAX_NUM_LEN];
    uint8_t start[BRIDGE_MAX_NUM_LEN], isdig[BRIDGE_MAX_NUM_LEN], digit_of[BRIDGE_MAX_NUM_LEN];
    uint32_t nsym = op->aux_len - 4, ndig = 0, at = 0, w = 0;
    uint8_t fc = m[1], ff = m[2], fl = m[3];
    int negative = 0, zero = 1, only_z = 1, only_star = 1, only_float = 1, has_star = 0;
    int suppressing, symbol_at = -1;
    char fill;

    for (uint32_t i = 0; i < len; i++) {
        const uint8_t *e = tab + 8 * (size_t)s[i];
        if (e[6] & 1) {
            *detail = i;
            return BRIDGE_R_UNMAPPABLE;
        }
        text[i] = e[7] == 1 ? (char)e[0] : 0;
    }
    if (m[0] & BRIDGE_ED_BAD)
        return BRIDGE_R_BAD_EDITED;
    for (uint32_t j = 0; j < nsym; j++) {
        uint8_t c = sym[j];
        int in_float = fc && ff <= j && j <= fl;
        start[j] = (uint8_t)at;
        at += (c == BRIDGE_ED_CR || c == BRIDGE_ED_DB) ? 2 : 1;
        isdig[j] = c == BRIDGE_ED_9 || c == BRIDGE_ED_Z || c == BRIDGE_ED_STAR ||
                   (c == fc && ff < j && j <= fl);
        if (isdig[j]) {
            char ch = text[start[j]];
            digit_of[j] = (uint8_t)ndig;
            digs[ndig] = ch >= '0' && ch <= '9' ? ch : '0';
            zero &= digs[ndig] == '0';
            ndig++;
            only_z &= c == BRIDGE_ED_Z;
            only_star &= c == BRIDGE_ED_STAR;
            only_float &= c == fc;
            has_star |= c == BRIDGE_ED_STAR;
        }
        if (((c == BRIDGE_ED_PLUS || c == BRIDGE_ED_MINUS) && text[start[j]] == '-') ||
            (c == BRIDGE_ED_CR && text[start[j]] == 'C' && text[start[j] + 1] == 'R') ||
            (c == BRIDGE_ED_DB && text[start[j]] == 'D' && text[start[j] + 1] == 'B') ||
            (in_float && (fc == BRIDGE_ED_PLUS || fc == BRIDGE_ED_MINUS) &&
             text[start[j]] == '-'))
            negative = 1;
    }
    *nd = ndig;
    *neg = negative;
    if (zero && ((m[0] & BRIDGE_ED_BLANK_ZERO) || only_z || (fc && ndig && only_float))) {
        for (uint32_t i = 0; i < len; i++)
            if (text[i] != ' ')
                return BRIDGE_R_BAD_EDITED;
        return 0;
    }
    if (zero && ndig && only_star) {
        for (uint32_t j = 0; j < nsym; j++) {
            char ch = sym[j] == BRIDGE_ED_POINT ? '.' : '*';
            if (text[start[j]] != ch ||
                ((sym[j] == BRIDGE_ED_CR || sym[j] == BRIDGE_ED_DB) && text[start[j] + 1] != ch))
                return BRIDGE_R_BAD_EDITED;
        }
        return 0;
    }
    if (fc) {
        symbol_at = fl;
        for (uint32_t j = ff + 1u; j <= fl; j++)
            if (isdig[j] && digs[digit_of[j]] != '0') {
                symbol_at = (int)j - 1;
                break;
            }
    }
    fill = has_star ? '*' : ' ';
    suppressing = 0;
    for (uint32_t j = 0; j < nsym; j++)
        if (isdig[j]) {
            suppressing = sym[j] == BRIDGE_ED_Z || sym[j] == BRIDGE_ED_STAR;
            break;
        }
    for (uint32_t j = 0; j < nsym; j++) {
        uint8_t c = sym[j];
        int two = c == BRIDGE_ED_CR || c == BRIDGE_ED_DB;
        char d = isdig[j] ? digs[digit_of[j]] : 0;
        if (fc && ff <= j && j <= fl) {
            for (int h = 0; h <= two; h++)
                want[w++] = (int)j == symbol_at ? edit_sign(fc, negative, h)
                            : (int)j < symbol_at ? ' '
                            : isdig[j]           ? d
                                                 : edit_insert(c, h);
            continue;
        }
        switch (c) {
        case BRIDGE_ED_9:
            want[w++] = d;
            suppressing = 0;
            break;
        case BRIDGE_ED_Z:
        case BRIDGE_ED_STAR:
            if (suppressing && d == '0') {
                want[w++] = fill;
            } else {
                want[w++] = d;
                suppressing = 0;
            }
            break;
        case BRIDGE_ED_POINT:
            want[w++] = '.';
            suppressing = 0;
            break;
        case BRIDGE_ED_COMMA:
        case BRIDGE_ED_B:
        case BRIDGE_ED_ZERO:
        case BRIDGE_ED_SLASH:
            want[w++] = suppressing ? fill : edit_insert(c, 0);
            break;
        default:
            for (int h = 0; h <= two; h++)
                want[w++] = edit_sign(c, negative, h);
        }
    }
    if (w != len || memcmp(want, text, len) != 0)
        return BRIDGE_R_BAD_EDITED;
    return 0;
}

/* The integer a count item holds (saturating: anything past 18 digits is out of range). */
static int64_t digits_value(const char *digs, uint32_t nd, int neg)
{
    int64_t v = 0;
    while (nd > 0 && *digs == '0') {
        digs++;
        nd--;
    }
    if (nd > 18)
        return neg ? INT64_MIN : INT64_MAX;
    for (uint32_t i = 0; i < nd; i++)
        v = v * 10 + (digs[i] - '0');
    return neg ? -v : v;
}

/* ---- the walk ---- */

static int stop(walk *k, uint8_t **wp)
{
    uint8_t *w = *wp;
    while (k->nclosers > 0)
        *w++ = k->closers[--k->nclosers];
    k->stopped = 1;
    *wp = w;
    return WALK_OK;
}

/* One field: its key, its value, then (each a constant in its instance below) the mapping's
 * rules on the value (`checking`) or the mapped event's conversion of it (`emitting`). Three
 * instances, so a plain decode pays for neither. */
static ALWAYS_INLINE int decode_field_t(walk *k, uint32_t ip, uint8_t **wp, const uint8_t *wend,
                                        const int checking, const int emitting)
{
    const bridge_plan *p = k->p;
    const bridge_op *op = &p->ops[ip];
    uint32_t len = op->length, detail = 0, nd = 0;
    int64_t at = (int64_t)op->offset + k->elem_base - k->shift;
    uint8_t *w = *wp, *keyw = w, *val;
    const uint8_t *s;
    int why = 0, neg = 0;
    char digs[2 * BRIDGE_MAX_NUM_LEN + 24];
    uint32_t span[2] = {0, len}; /* text: the value's bytes, trimmed as the plan trims */
    const char *value_digits = digs; /* the digits the value was written from (validation) */
    uint64_t mag = 0; /* binary, zoned, packed: the magnitude (validation) */
    int have_mag = 0, pre_ok = 0;
    size_t need = op->key_len + 6 * (size_t)len + BRIDGE_MAX_SCALE + 48;

    if (emitting && op->emit_len != 0)
        need += bridge_emit_max(p, op);
    if (w > wend || (size_t)(wend - w) < need)
        return WALK_FULL;
    w = put_key(p, op, w);
    val = w;
    if (at < 0 || (uint64_t)at + len > k->rec_len) {
        *wp = (op->flags & BRIDGE_F_HIDDEN) ? keyw : put_null(w);
        if (add_error(k, ip, at, len, BRIDGE_R_RECORD_TOO_SHORT, k->rec_len, 0))
            return WALK_FULL;
        return stop(k, wp);
    }
    s = k->rec + at;
    if (op->flags & BRIDGE_F_COUNT) {
        k->slot_at[op->slot] = at;
        k->slot_seen |= 1ull << op->slot;
    }
    switch (op->kind) {
    case BRIDGE_OP_TEXT:
        if (checking && ip < BRIDGE_FAST_OPS && k->fast[ip].kind == BRIDGE_FAST_STRING &&
            k->fast[ip].pfuse && len <= 64)
            why = put_text_pat(k, op, s, len, &w, &detail, span, &k->fast[ip], &pre_ok);
        else
            why = put_text(k, op, s, len, &w, &detail, span);
        break;
    case BRIDGE_OP_NATIONAL:
        why = put_national(k, op, s, len, &w, &detail);
        break;
    case BRIDGE_OP_ZONED:
    case BRIDGE_OP_PACKED:
    case BRIDGE_OP_EDITED:
        /* With checks, zoned and packed hand them their value (up to 18 digits: exact). */
        if (op->kind == BRIDGE_OP_ZONED)
            why = dec_zoned(k, op, s, len, digs, &nd, &neg, &detail, &mag, checking);
        else if (op->kind == BRIDGE_OP_PACKED)
            why = dec_packed(k, op, s, len, digs, &nd, &neg, &detail, &mag, checking);
        else
            why = dec_edited(k, op, s, len, digs, &nd, &neg, &detail);
        have_mag = op->kind != BRIDGE_OP_EDITED && nd <= 18;
        if (why == 0) {
            w = bridge_put_decimal(w, digs, nd, neg, op->scale,
                                   (op->flags & BRIDGE_F_QUOTED) != 0);
            if (op->flags & BRIDGE_F_COUNT) {
                k->slot_val[op->slot] = digits_value(digs, nd, neg);
                k->slot_ok |= 1ull << op->slot;
            }
        }
        break;
    case BRIDGE_OP_BINARY: {
        if (len > 8) {
            char *end = digs + sizeof digs;
            why = dec_binary_wide(op, s, len, end, &nd, &neg);
            if (why == 0) {
                value_digits = end - nd;
                w = bridge_put_decimal(w, end - nd, nd, neg, op->scale,
                                       (op->flags & BRIDGE_F_QUOTED) != 0);
                if (op->flags & BRIDGE_F_COUNT) {
                    k->slot_val[op->slot] = digits_value(end - nd, nd, neg);
                    k->slot_ok |= 1ull << op->slot;
                }
            }
            break;
        }
        why = dec_binary(op, s, len, &mag, &neg);
        have_mag = 1;
        if (why == 0) {
            char *end = digs + sizeof digs;
            nd = (uint32_t)bridge_u64_digits(mag, end);
            value_digits = end - nd;
            w = bridge_put_decimal(w, end - nd, nd, neg, op->scale,
                                   (op->flags & BRIDGE_F_QUOTED) != 0);
            if (op->flags & BRIDGE_F_COUNT) {
                k->slot_val[op->slot] = digits_value(end - nd, nd, neg);
                k->slot_ok |= 1ull << op->slot;
            }
        }
        break;
    }
    case BRIDGE_OP_FLOAT: {
        double v;
        why = dec_float(op, s, len, &v);
        if (why == 0)
            w = bridge_put_double(w, v);
        break;
    }
    default: /* BRIDGE_OP_FAIL */
        why = op->reason;
        break;
    }
    if (why != 0) {
        w = put_null(val);
        if (!(op->flags & BRIDGE_F_HIDDEN) &&
            add_error(k, ip, at, len, why, detail, 0) != WALK_OK)
            return WALK_FULL;
    } else if (checking) {
        /* The mapping's rules on the value just written: one error per rule. The fast paths
         * inline (no call), the rest in validate.c. */
        uint32_t broken = 0;
        const bridge_fast *f = ip < BRIDGE_FAST_OPS ? &k->fast[ip] : NULL;
        int kind = f != NULL                       ? f->kind
                   : p->checks->ops[ip].rules != 0 ? BRIDGE_FAST_CALL
                                                   : BRIDGE_FAST_NONE;
        int is_null = *val == 'n';
        if (kind == BRIDGE_FAST_NUMBER && !is_null) {
            if (have_mag && mag <= (uint64_t)INT64_MAX)
                broken = fast_number(f, mag, neg);
            else if (!have_mag && nd <= 18)
                broken = fast_number(f, digits_mag(value_digits, nd), neg);
            else
                kind = BRIDGE_FAST_CALL;
        } else if (kind == BRIDGE_FAST_CHOICE1 && !is_null) {
            broken = fast_choice1(f, p->checks->chars + 256, s + span[0], span[1] - span[0]);
        } else if (kind == BRIDGE_FAST_DATE && !is_null) {
            broken = fast_date(f, p->checks->chars, p->checks->chars + 256, s + span[0],
                               span[1] - span[0]);
        } else if (kind == BRIDGE_FAST_STRING && !is_null) {
            broken = fast_string(f, p->checks->chars + 256, s + span[0], span[1] - span[0],
                                 pre_ok);
        } else if (kind != BRIDGE_FAST_NONE) {
            kind = BRIDGE_FAST_CALL;
        }
        if (kind == BRIDGE_FAST_CALL)
            broken = bridge_check_value(p, ip, s + span[0], span[1] - span[0], value_digits, nd,
                                        neg, is_null);
        for (int r = 0; broken != 0; r++, broken >>= 1)
            if ((broken & 1) &&
                add_error(k, ip, at, len, BRIDGE_V_FIRST + r, 0, 0) != WALK_OK)
                return WALK_FULL;
    }
    if (emitting && why == 0 && op->emit_len != 0)
        w = bridge_emit(p, op, val, w, s, span[0], span[1], value_digits, nd, neg);
    *wp = (op->flags & BRIDGE_F_HIDDEN) ? keyw : w;
    return WALK_OK;
}

enum { MODE_PLAIN, MODE_CHECKED, MODE_EMITTING };

static ALWAYS_INLINE int decode_record_t(walk *k, uint8_t **wp, const uint8_t *wend,
                                         const int mode)
{
    const bridge_plan *p = k->p;
    const bridge_op *ops = p->ops;
    uint32_t ip = 0, n = p->n_ops;
    uint8_t *w = *wp;

    k->elem_base = 0;
    k->shift = 0;
    k->ntables = 0;
    k->nclosers = 0;
    k->stopped = 0;
    k->slot_ok = 0;
    k->slot_seen = 0;
    while (ip < n && !k->stopped) {
        const bridge_op *op = &ops[ip];
        switch (op->kind) {
        case BRIDGE_OP_OPEN_OBJ:
            if (w > wend || (size_t)(wend - w) < op->key_len + 40u)
                return WALK_FULL;
            w = put_key(p, op, w);
            *w++ = '{';
            k->closers[k->nclosers++] = '}';
            ip++;
            break;
        case BRIDGE_OP_CLOSE_OBJ:
            *w++ = '}';
            k->nclosers--;
            ip++;
            break;
        case BRIDGE_OP_OPEN_ARR: {
            uint32_t cnt = op->count;
            if (w > wend || (size_t)(wend - w) < op->key_len + 40u)
                return WALK_FULL;
            w = put_key(p, op, w);
            if (op->odo >= 0) {
                const bridge_op *c = &ops[op->odo];
                int ok = (k->slot_ok >> c->slot) & 1;
                int64_t v = k->slot_val[c->slot];
                if (!ok || v < op->min_count || v > op->count) {
                    int seen = (k->slot_seen >> c->slot) & 1;
                    int64_t at = seen ? k->slot_at[c->slot] : (int64_t)c->offset;
                    w = put_null(w);
                    /* The table's path; the count item's place and bytes. */
                    if (add_error(k, ip, at, c->length, BRIDGE_R_ODO_OUT_OF_RANGE,
                                  (uint32_t)(seen + ok), v))
                        return WALK_FULL;
                    stop(k, &w);
                    break;
                }
                cnt = (uint32_t)v;
            }
            *w++ = '[';
            if (cnt == 0) {
                *w++ = ']';
                k->shift += (int64_t)op->count * op->stride;
                ip = op->end + 1;
                break;
            }
            k->tables[k->ntables++] = (table_frame){ip, 0, cnt};
            k->closers[k->nclosers++] = ']';
            ip++;
            break;
        }
        case BRIDGE_OP_CLOSE_ARR: {
            table_frame *t = &k->tables[k->ntables - 1];
            const bridge_op *a = &ops[t->op];
            if (++t->i < t->n) {
                *w++ = ',';
                k->elem_base += a->stride;
                ip = t->op + 1;
            } else {
                *w++ = ']';
                k->elem_base -= (int64_t)(t->n - 1) * a->stride;
                k->shift += (int64_t)(a->count - t->n) * a->stride;
                k->ntables--;
                k->nclosers--;
                ip++;
            }
            break;
        }
        default:
            if (decode_field_t(k, ip, &w, wend, mode == MODE_CHECKED, mode == MODE_EMITTING) !=
                WALK_OK)
                return WALK_FULL;
            ip++;
            break;
        }
    }
    *wp = w;
    return WALK_OK;
}

/* The records of a batch, one instance per mode (each inlines its record and field walk:
 * a call per field costs a plain decode about a tenth of its speed). */
static ALWAYS_INLINE int decode_batch_t(walk *k, const int mode)
{
    bridge_batch *b = k->b;
    uint8_t *w, *wend;
    w = b->out;
    wend = b->out + b->out_cap - RESERVE;
    for (size_t r = 0; r < b->n_records; r++) {
        uint64_t off = b->offsets ? b->offsets[r] : (uint64_t)r * b->fixed_length;
        uint32_t len = b->lengths ? b->lengths[r] : b->fixed_length;
        uint8_t *start = w;
        size_t e0 = k->errors_used;
        bridge_record *rec = &b->records[r];
        if (off > b->data_len || len > b->data_len - off || r > UINT32_MAX)
            return BRIDGE_E_ARG;
        k->rec = b->data + off;
        k->rec_len = len;
        k->recno = (uint32_t)r;
        k->rec_file_off = b->file_offsets ? b->file_offsets[r] : b->base_offset + off;
        if (decode_record_t(k, &w, wend, mode) != WALK_OK || (size_t)(w - start) > UINT32_MAX) {
            k->errors_used = e0;
            b->out_used = (size_t)(start - b->out);
            b->errors_used = e0;
            if (b->full == 0)
                b->full = 1;
            return BRIDGE_FULL;
        }
        if (b->newline)
            *w++ = '\n';
        rec->doc_offset = (uint64_t)(start - b->out);
        rec->doc_length = (uint32_t)(w - start - (b->newline ? 1 : 0));
        rec->error_first = (uint32_t)e0;
        rec->error_count = (uint32_t)(k->errors_used - e0);
        rec->stopped = (uint32_t)k->stopped;
        b->done = r + 1;
        b->out_used = (size_t)(w - b->out);
        b->errors_used = k->errors_used;
    }
    return BRIDGE_OK;
}

static __attribute__((noinline)) int decode_batch_plain(walk *k)
{
    return decode_batch_t(k, MODE_PLAIN);
}

static __attribute__((noinline)) int decode_batch_checked(walk *k)
{
    return decode_batch_t(k, MODE_CHECKED);
}

static __attribute__((noinline)) int decode_batch_emitting(walk *k)
{
    return decode_batch_t(k, MODE_EMITTING);
}

int bridge_decode(const bridge_plan *p, bridge_batch *b)
{
    walk k;

    if (p == NULL || b == NULL)
        return BRIDGE_E_ARG;
    b->done = 0;
    b->out_used = 0;
    b->errors_used = 0;
    b->full = 0;
    if (b->n_records == 0)
        return BRIDGE_OK;
    if (b->data == NULL || b->out == NULL || b->out_cap < RESERVE || b->records == NULL ||
        (b->errors == NULL && b->error_cap != 0) || (b->lengths == NULL && b->fixed_length == 0))
        return BRIDGE_E_ARG;
    memset(&k, 0, sizeof k);
    k.p = p;
    k.b = b;
    for (int c = 0; c < 256; c++) {
        const uint8_t *e = p->text_table + 8 * c;
        k.single[c] = (e[7] == 1 && !(e[6] & 1)) ? e[0] : 0;
    }
    if (p->checks != NULL)
        for (uint32_t i = 0; i < p->n_ops && i < BRIDGE_FAST_OPS; i++) {
            if (p->checks->ops[i].rules == 0)
                k.fast[i].kind = BRIDGE_FAST_NONE;
            else
                bridge_fast_prepare(p, i, &k.fast[i]);
        }
    if (p->checks != NULL)
        return decode_batch_checked(&k);
    return p->emitting ? decode_batch_emitting(&k) : decode_batch_plain(&k);
}
