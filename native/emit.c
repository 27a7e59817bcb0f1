/* Mapped events: a decoded value rewritten as the mapping converts and protects it.
 *
 * The event plan (bridge/mapping/event_plan.py) decodes only records that already passed
 * validation, so every conversion here can trust its input's shape: a date is a real date of
 * its format, a choice is listed. What it must get exactly right is the text, which is held to
 * bridge/mapping/convert.py (the Python mapper) by tests/unit/mapping/test_emit.py. The
 * header layout is in bridge_core.h (BRIDGE_EMIT_HEADER). */
#include <string.h>

#include "core_internal.h"
#include "numfmt.h"
#include "sha256.h"

_Static_assert(sizeof(bridge_emit_header) == BRIDGE_EMIT_HEADER, "the emit header is 44 bytes");
_Static_assert(offsetof(bridge_emit_header, width) == 8 && offsetof(bridge_emit_header, max_len) == 40,
               "the emit header's fields sit where emit.c reads them");

#define BRIDGE_MAX_HASH_TEXT 4096 /* UTF-8 bytes of a hashed value (emit.py refuses longer) */

static uint32_t rd16(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8;
}

static uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int64_t rd64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return (int64_t)v;
}

uint32_t bridge_emit_max(const bridge_plan *p, const bridge_op *op)
{
    return rd32(p->blob + op->emit_off + 40);
}

/* The value at the item's scale, when it has at most 18 significant digits (list entries are
 * 64-bit: a longer value matches none of them). */
static int number_value(const char *digs, uint32_t nd, int neg, int64_t *out)
{
    int64_t v = 0;
    while (nd > 0 && *digs == '0') {
        digs++;
        nd--;
    }
    if (nd > 18)
        return 0;
    for (uint32_t i = 0; i < nd; i++)
        v = v * 10 + (digs[i] - '0');
    *out = neg ? -v : v;
    return 1;
}

/* The first entry of a number list holding v, or NULL. */
static const uint8_t *find_number(const uint8_t *list, uint32_t n, int64_t v)
{
    for (uint32_t i = 0; i < n; i++, list += 24)
        if (rd64(list) <= v && v <= rd64(list + 8))
            return list;
    return NULL;
}

/* The first entry of a text list whose source is t[0..tn), or NULL. */
static const uint8_t *find_text(const uint8_t *list, uint32_t n, const uint8_t *t, uint32_t tn)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = rd16(list);
        const uint8_t *target = list + 2 + len;
        if (len == tn && memcmp(list + 2, t, tn) == 0)
            return list;
        list = target + 2 + rd16(target);
    }
    return NULL;
}

/* White space as str.strip() sees it (flag 1 of the character table), both ends. */
static void strip_space(const uint8_t *flags, const uint8_t *s, uint32_t *a, uint32_t *z)
{
    while (*z > *a && (flags[s[*z - 1]] & 1))
        (*z)--;
    while (*a < *z && (flags[s[*a]] & 1))
        (*a)++;
}

/* ---- conversions ---- */

/* A string's content re-trimmed of spaces (U+0020 is never escaped, so a content byte 0x20 is
 * a space character). */
static uint8_t *retrim(uint8_t *val, uint8_t *w, int trim)
{
    uint8_t *a = val + 1, *z = w - 1;
    if (*val != '"' || trim == BRIDGE_TRIM_NONE)
        return w;
    while (z > a && z[-1] == ' ')
        z--;
    if (trim == BRIDGE_TRIM_BOTH) {
        uint8_t *b = a;
        while (b < z && *b == ' ')
            b++;
        memmove(a, b, (size_t)(z - b));
        z -= b - a;
    }
    *z++ = '"';
    return z;
}

/* str(abs(value)).zfill(width), signed: the digits of an integer as a string. */
static uint8_t *zfill(uint8_t *w, const char *digs, uint32_t nd, int neg, int scale,
                      uint32_t width)
{
    uint32_t zeros = scale < 0 ? (uint32_t)-scale : 0, len;
    while (nd > 0 && *digs == '0') {
        digs++;
        nd--;
    }
    if (nd == 0)
        zeros = 0;
    len = nd + zeros;
    *w++ = '"';
    if (neg && nd > 0)
        *w++ = '-';
    for (uint32_t i = len == 0 ? 1 : len; i < width; i++)
        *w++ = '0';
    if (len == 0)
        *w++ = '0';
    memcpy(w, digs, nd);
    w += nd;
    memset(w, '0', zeros);
    w += zeros;
    *w++ = '"';
    return w;
}

static int leap(int y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static uint8_t *put2(uint8_t *w, int v)
{
    *w++ = (uint8_t)('0' + v / 10 % 10);
    *w++ = (uint8_t)('0' + v % 10);
    return w;
}

static uint8_t *put_ymd(uint8_t *w, int y, int m, int d)
{
    *w++ = '"';
    w = put2(w, y / 100);
    w = put2(w, y % 100);
    *w++ = '-';
    w = put2(w, m);
    *w++ = '-';
    return put2(w, d);
}

static int num(const uint8_t *t, int at, int k)
{
    int v = 0;
    for (int i = 0; i < k; i++)
        v = v * 10 + (t[at + i] - '0');
    return v;
}

/* An ISO date (or timestamp) from the format's text `t` (ASCII, validated by the checks). */
static uint8_t *put_date(uint8_t *w, const uint8_t *t, int format, int window)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 0, m = 0, d = 0, day = 0, time_at = -1, frac_at = -1;
    switch (format) {
    case BRIDGE_FMT_YYYYMMDD:
        y = num(t, 0, 4), m = num(t, 4, 2), d = num(t, 6, 2);
        break;
    case BRIDGE_FMT_YYMMDD:
        y = num(t, 0, 2), m = num(t, 2, 2), d = num(t, 4, 2);
        y += y < window ? 2000 : 1900;
        break;
    case BRIDGE_FMT_CYYMMDD:
        y = 1900 + 100 * num(t, 0, 1) + num(t, 1, 2), m = num(t, 3, 2), d = num(t, 5, 2);
        break;
    case BRIDGE_FMT_YYDDD:
        y = num(t, 0, 2), day = num(t, 2, 3);
        y += y < window ? 2000 : 1900;
        break;
    case BRIDGE_FMT_YYYYDDD:
        y = num(t, 0, 4), day = num(t, 4, 3);
        break;
    case BRIDGE_FMT_TS14:
        y = num(t, 0, 4), m = num(t, 4, 2), d = num(t, 6, 2);
        break;
    default: /* YYYY-MM-DD and the timestamps written from it */
        y = num(t, 0, 4), m = num(t, 5, 2), d = num(t, 8, 2);
        time_at = format == BRIDGE_FMT_ISO_DATE ? -1 : 11;
        frac_at = format == BRIDGE_FMT_TS_SPACE_F || format == BRIDGE_FMT_TS_DB2 ? 20 : -1;
        break;
    }
    if (day > 0) { /* day of the year */
        for (m = 1; m <= 12; m++) {
            int dim = mdays[m - 1] + (m == 2 && leap(y));
            if (day <= dim)
                break;
            day -= dim;
        }
        d = day;
    }
    w = put_ymd(w, y, m, d);
    if (format == BRIDGE_FMT_TS14) {
        *w++ = 'T';
        w = put2(w, num(t, 8, 2));
        *w++ = ':';
        w = put2(w, num(t, 10, 2));
        *w++ = ':';
        w = put2(w, num(t, 12, 2));
    } else if (time_at >= 0) {
        *w++ = 'T';
        w = put2(w, num(t, time_at, 2));
        *w++ = ':';
        w = put2(w, num(t, time_at + 3, 2));
        *w++ = ':';
        w = put2(w, num(t, time_at + 6, 2));
        if (frac_at >= 0) {
            *w++ = '.';
            memcpy(w, t + frac_at, 6);
            w += 6;
        }
    }
    *w++ = '"';
    return w;
}

/* A number held as text (validated: white space, an optional sign, digits, for a decimal an
 * optional point and digits), written as int(text) or canonical_decimal(text, scale) write
 * it: an integer without leading zeros, or a decimal string with exactly `scale` fractional
 * digits (the ones dropped are zeros: validation says so). */
static uint8_t *text_number(uint8_t *w, const uint8_t *chars, const uint8_t *s, uint32_t a,
                            uint32_t z, int decimal, uint32_t scale)
{
    char digs[512];
    uint32_t nd = 0, frac = 0;
    int neg = 0, point = 0;
    strip_space(chars + 256, s, &a, &z);
    if (a < z && (chars[s[a]] == '+' || chars[s[a]] == '-'))
        neg = chars[s[a++]] == '-';
    for (uint32_t i = a; i < z && nd + scale + 1 < sizeof digs; i++) {
        uint8_t ch = chars[s[i]];
        if (ch == '.') {
            point = 1;
        } else {
            digs[nd++] = (char)ch;
            frac += (uint32_t)point;
        }
    }
    if (!decimal)
        return bridge_put_decimal(w, digs, nd, neg, 0, 0);
    for (; frac > scale; frac--)
        nd--;
    for (; frac < scale; frac++)
        digs[nd++] = '0';
    return bridge_put_decimal(w, digs, nd, neg, (int)scale, 1);
}

/* ---- protection: on the value's text form (a string's characters, else its JSON text) ---- */

/* Bytes of the character starting at c (a JSON escape, or one UTF-8 sequence). */
static uint32_t char_bytes(const uint8_t *c)
{
    if (*c == '\\')
        return c[1] == 'u' ? 6 : 2;
    return *c < 0x80 ? 1 : *c < 0xE0 ? 2 : *c < 0xF0 ? 3 : 4;
}

static uint8_t *protect_mask(uint8_t *val, uint8_t *w, const uint8_t *arg)
{
    uint32_t keep = rd32(arg), mlen = arg[4], n = 0, hide, tail_len;
    const uint8_t *mchar = arg + 5;
    int str = *val == '"';
    uint8_t *a = str ? val + 1 : val, *z = str ? w - 1 : w, *tail = z, *out;
    for (uint8_t *c = a; c < z; c += char_bytes(c))
        n++;
    hide = keep == 0 || n <= keep ? n : n - keep;
    if (hide < n) {
        uint32_t i = 0;
        for (tail = a; i < hide; i++)
            tail += char_bytes(tail);
        if (tail > z)
            tail = z;
    }
    tail_len = (uint32_t)(z - tail);
    /* The kept tail moves to its new place first (memmove: it may overlap). */
    out = val + 1 + (size_t)hide * mlen;
    memmove(out, tail, tail_len);
    *val = '"';
    for (uint32_t i = 0; i < hide; i++)
        memcpy(val + 1 + (size_t)i * mlen, mchar, mlen);
    out += tail_len;
    *out++ = '"';
    return out;
}

static uint8_t *protect_hash(uint8_t *val, uint8_t *w, const uint8_t *key, uint32_t key_len)
{
    uint8_t text[BRIDGE_MAX_HASH_TEXT];
    uint32_t n = 0;
    int str = *val == '"';
    const uint8_t *a = str ? val + 1 : val, *z = str ? w - 1 : w;
    bridge_hmac_key k;
    char hex[64];
    /* A string's characters as UTF-8: its JSON escapes undone. */
    while (a < z && n < sizeof text) {
        if (*a != '\\') {
            text[n++] = *a++;
            continue;
        }
        switch (a[1]) {
        case 'b': text[n++] = '\b'; break;
        case 'f': text[n++] = '\f'; break;
        case 'n': text[n++] = '\n'; break;
        case 'r': text[n++] = '\r'; break;
        case 't': text[n++] = '\t'; break;
        case 'u': {
            uint32_t v = 0;
            if (z - a < 6) { /* cannot happen in our own text: stop at the broken escape */
                a = z;
                continue;
            }
            for (int i = 2; i < 6; i++)
                v = v << 4 | (uint32_t)(a[i] <= '9' ? a[i] - '0' : (a[i] | 0x20) - 'a' + 10);
            text[n++] = (uint8_t)v; /* the decoder escapes only U+0000-U+001F this way */
            a += 4;
            break;
        }
        default: text[n++] = a[1]; break; /* \" and \\ */
        }
        a += 2;
    }
    bridge_hmac_prepare(&k, key, key_len);
    bridge_hmac_hex(&k, text, n, hex);
    *val = '"';
    memcpy(val + 1, hex, 64);
    val[65] = '"';
    return val + 66;
}

/* ---- the value ---- */

uint8_t *bridge_emit(const bridge_plan *p, const bridge_op *op, uint8_t *val, uint8_t *w,
                     const uint8_t *s, uint32_t a, uint32_t z, const char *digs, uint32_t nd,
                     int neg)
{
    const uint8_t *h = p->blob + op->emit_off;
    int text = op->kind == BRIDGE_OP_TEXT;
    /* Only text carries the character table (a pointer past the bytes is UB even unread). */
    const uint8_t *chars = text ? h + rd32(h + 28) : h, *flags = text ? chars + 256 : h;
    int numeric = !text && op->kind != BRIDGE_OP_NATIONAL;
    int64_t v = 0;
    int have_v = numeric && number_value(digs, nd, neg, &v);
    uint8_t t[32];

    if (*val == 'n') /* null (low-values) stays null */
        return w;
    if (rd32(h + 12) != 0) {
        const uint8_t *list = h + rd32(h + 16);
        uint32_t sa = a, sz = z;
        if (text)
            strip_space(flags, s, &sa, &sz);
        if (numeric ? have_v && find_number(list, rd32(h + 12), v)
                    : text && find_text(list, rd32(h + 12), s + sa, sz - sa)) {
            memcpy(val, "null", 4);
            return val + 4;
        }
    }
    switch (h[0]) {
    case BRIDGE_EC_KEEP:
        if (!numeric)
            w = retrim(val, w, h[2]);
        break;
    case BRIDGE_EC_ZFILL:
        w = zfill(val, digs, nd, neg, op->scale, rd32(h + 8));
        break;
    case BRIDGE_EC_DECIMAL: {
        char more[512]; /* digits (at most 2 * BRIDGE_MAX_NUM_LEN) and zeros (emit.py: <= 256) */
        uint32_t pad = rd32(h + 8);
        memcpy(more, digs, nd);
        memset(more + nd, '0', pad);
        w = bridge_put_decimal(val, more, nd + pad, neg, op->scale + (int)pad, 1);
        break;
    }
    case BRIDGE_EC_DATE: {
        uint32_t width = rd32(h + 8), n = 0;
        memset(t, '0', sizeof t); /* a short text reads zeros, never stale bytes */
        if (numeric) { /* the digits, zero-filled to the format's width */
            while (nd > 0 && *digs == '0') {
                digs++;
                nd--;
            }
            if (nd > width) { /* validation refuses it: keep within t all the same */
                digs += nd - width;
                nd = width;
            }
            for (; n + nd < width; n++)
                t[n] = '0';
            memcpy(t + n, digs, nd);
        } else {
            strip_space(flags, s, &a, &z);
            for (uint32_t i = a; i < z && n < sizeof t; i++)
                t[n++] = chars[s[i]];
        }
        w = put_date(val, t, h[3], h[4]);
        break;
    }
    case BRIDGE_EC_TEXT_NUMBER:
        w = text_number(val, chars, s, a, z, h[5], rd32(h + 8));
        break;
    default: { /* BRIDGE_EC_CHOICE */
        const uint8_t *list = h + rd32(h + 24), *hit = NULL, *target = NULL;
        uint32_t n = rd32(h + 20), len = 0;
        if (numeric) {
            hit = have_v ? find_number(list, n, v) : NULL;
            if (hit != NULL) {
                target = h + rd32(hit + 16);
                len = rd32(hit + 20);
            }
        } else {
            while (z > a && s[z - 1] == p->space) /* value.rstrip(" ") */
                z--;
            hit = find_text(list, n, s + a, z - a);
            if (hit != NULL) {
                target = hit + 2 + rd16(hit) + 2;
                len = rd16(hit + 2 + rd16(hit));
            }
        }
        if (target == NULL) { /* validation passed it: cannot happen; write null, not a guess */
            memcpy(val, "null", 4);
            return val + 4;
        }
        memcpy(val, target, len);
        w = val + len;
        break;
    }
    }
    if (h[1] == BRIDGE_PROTECT_MASK)
        w = protect_mask(val, w, h + rd32(h + 32));
    else if (h[1] == BRIDGE_PROTECT_HASH)
        w = protect_hash(val, w, h + rd32(h + 32), rd32(h + 36));
    return w;
}

/* ---- the plan check (plan.c calls it for every op with emit bytes) ---- */

/* The op's emit bytes: offsets in the header are from their start, and stay inside them. */
typedef struct {
    const uint8_t *h;
    uint32_t size;
} emit_bytes;

static int inside(emit_bytes e, uint32_t off, uint64_t len)
{
    return (uint64_t)off + len <= e.size;
}

static int number_list_ok(emit_bytes e, uint32_t off, uint32_t n, int targets, uint32_t *longest)
{
    if (!inside(e, off, (uint64_t)n * 24))
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *x = e.h + off + 24 * i;
        uint32_t t_off = rd32(x + 16), t_len = rd32(x + 20);
        if (rd64(x) > rd64(x + 8) || (targets && !inside(e, t_off, t_len)))
            return 0;
        if (targets && t_len > *longest)
            *longest = t_len;
    }
    return 1;
}

static int text_list_ok(emit_bytes e, uint32_t off, uint32_t n, uint32_t *longest)
{
    uint64_t at = off;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t_len;
        if (at + 2 > e.size || at + 2 + rd16(e.h + at) + 2 > e.size)
            return 0;
        at += 2 + rd16(e.h + at);
        t_len = rd16(e.h + at);
        if (at + 2 + t_len > e.size)
            return 0;
        at += 2 + t_len;
        if (t_len > *longest)
            *longest = t_len;
    }
    return 1;
}

int bridge_emit_ok(const bridge_plan *p, const bridge_op *op)
{
    emit_bytes e;
    const uint8_t *h;
    uint32_t conv, prot, width, longest = 0;
    uint64_t bound, content; /* 64-bit: a huge op must not wrap its bound below the truth */
    int text = op->kind == BRIDGE_OP_TEXT, national = op->kind == BRIDGE_OP_NATIONAL;
    int numeric = op_is_numeric(op->kind) || op->kind == BRIDGE_OP_EDITED;
    if (op->emit_len < BRIDGE_EMIT_HEADER || (uint64_t)op->emit_off + op->emit_len > p->blob_len)
        return 0;
    if (!(text || national || numeric)) /* floats, FAIL ops: never converted */
        return 0;
    h = p->blob + op->emit_off;
    e.h = h;
    e.size = op->emit_len;
    conv = h[0], prot = h[1], width = rd32(h + 8);
    if (conv > BRIDGE_EC_TEXT_NUMBER || prot > BRIDGE_PROTECT_HASH || h[2] > BRIDGE_TRIM_BOTH ||
        (text && !inside(e, rd32(h + 28), 512)))
        return 0;
    if (rd32(h + 12) != 0 &&
        (national || !(numeric ? number_list_ok(e, rd32(h + 16), rd32(h + 12), 0, &longest)
                               : text_list_ok(e, rd32(h + 16), rd32(h + 12), &longest))))
        return 0;
    /* What a value can take before conversion: text up to 6 bytes a byte (escapes), numbers
     * their digits, sign, point and scale zeros. */
    content = 6 * (uint64_t)op->length + 2 * BRIDGE_MAX_NUM_LEN + BRIDGE_MAX_SCALE + 16;
    switch (conv) {
    case BRIDGE_EC_KEEP:
        bound = content;
        break;
    case BRIDGE_EC_ZFILL:
    case BRIDGE_EC_DECIMAL:
        if (!numeric || width > 256)
            return 0;
        bound = content + width;
        break;
    case BRIDGE_EC_TEXT_NUMBER:
        if (!text || width > 256)
            return 0;
        bound = content + width;
        break;
    case BRIDGE_EC_DATE:
        if (national || (numeric && op->scale != 0) || h[3] < BRIDGE_FMT_YYYYMMDD ||
            h[3] > BRIDGE_FMT_TS_DB2 || width > 26)
            return 0;
        bound = 32;
        break;
    default: /* BRIDGE_EC_CHOICE */
        longest = 0;
        if (national || !(numeric ? number_list_ok(e, rd32(h + 24), rd32(h + 20), 1, &longest)
                                  : text_list_ok(e, rd32(h + 24), rd32(h + 20), &longest)))
            return 0;
        bound = longest + 4;
        break;
    }
    if (prot == BRIDGE_PROTECT_MASK) {
        uint32_t off = rd32(h + 32), len = rd32(h + 36);
        if (len < 5 || !inside(e, off, len) || h[off + 4] == 0 || h[off + 4] > 6 ||
            h[off + 4] + 5u != len)
            return 0;
        bound = 2 + bound * (uint64_t)h[off + 4];
    } else if (prot == BRIDGE_PROTECT_HASH) {
        if (!inside(e, rd32(h + 32), rd32(h + 36)))
            return 0;
        if (bound < 66)
            bound = 66;
    }
    return rd32(h + 40) >= bound;
}
