/* Validation on the decode path: a mapping's constraints checked on each value as it decodes.
 *
 * Numbers are compared exactly on the scaled integer the decoder read (its digit string, never a
 * float); text is checked on the code-page bytes, one character per byte, trimmed as the mapping
 * trims; dates and timestamps on their ASCII text. Each function mirrors one step of
 * bridge/mapping/apply.py (conversion) or of the record schema (validation); the differential
 * test (tests/unit/mapping/test_native_validate.py) holds them to jsonschema's verdicts.
 */
#include <string.h>

#include "core_internal.h"

#define BIT(r) (1u << (r))

typedef struct {
    const char *d; /* digits without leading zeros (strip_number); the raw digits (load_number) */
    uint32_t n;    /* strip_number: 0 for zero */
    int neg;       /* never set for zero */
    int big;       /* more than 19 significant digits: mag is not the value */
    uint64_t mag;  /* the magnitude, unless big */
} number;

static number strip_number(const char *digs, uint32_t nd, int neg)
{
    number v;
    while (nd > 0 && *digs == '0') {
        digs++;
        nd--;
    }
    v.d = digs;
    v.n = nd;
    v.neg = nd > 0 && neg;
    v.big = nd > 19;
    v.mag = digits_mag(digs, nd < 19 ? nd : 19);
    return v;
}

/* The hot path: no leading-zero walk while the digits fit (leading zeros add nothing). `d`
 * and `n` stay the raw digits: strip_number them where the digits themselves matter. */
static inline number load_number(const char *digs, uint32_t nd, int neg)
{
    number v;
    if (nd > 19)
        return strip_number(digs, nd, neg);
    v.d = digs;
    v.n = nd;
    v.big = 0;
    v.mag = digits_mag(digs, nd);
    v.neg = neg && v.mag != 0;
    return v;
}

/* -1, 0, 1 as v is below, at or above b. */
static int compare(number v, int64_t b)
{
    uint64_t mag = v.mag, ub;
    if (v.big)
        return v.neg ? -1 : 1;
    if (v.neg) {
        if (b >= 0)
            return -1;
        ub = (uint64_t)(-(b + 1)) + 1;
        return mag > ub ? -1 : mag < ub ? 1 : 0;
    }
    if (b < 0)
        return 1;
    ub = (uint64_t)b;
    return mag > ub ? 1 : mag < ub ? -1 : 0;
}

static int64_t load_i64(const uint8_t *at)
{
    int64_t x;
    memcpy(&x, at, 8);
    return x;
}

static int in_ranges(number v, const uint8_t *list, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (compare(v, load_i64(list + 16 * i)) >= 0 && compare(v, load_i64(list + 16 * i + 8)) <= 0)
            return 1;
    return 0;
}

/* Equal bytes; the lists hold short items, where a call to memcmp costs more than the loop. */
static inline int same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return 0;
    }
    for (; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static int in_strings(const uint8_t *t, uint32_t len, const uint8_t *list, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)list[0] | (uint32_t)list[1] << 8;
        if (k == len && same_bytes(list + 2, t, len))
            return 1;
        list += 2 + k;
    }
    return 0;
}

/* The general case: the set of positions each atom can reach (kept out of line: its arrays
 * would weigh on every check's stack frame). */
__attribute__((noinline)) int bridge_pattern_nfa(const uint8_t *pat, uint32_t plen,
                                                const uint8_t *t, uint32_t n, int nl_last)
{
    uint8_t a[BRIDGE_MAX_CHECK_TEXT + 1], b[BRIDGE_MAX_CHECK_TEXT + 1];
    uint8_t *reach = a, *next = b;
    uint32_t atoms = (plen - 1) / BRIDGE_ATOM_BYTES, k = 0;
    memset(reach, 0, n + 1);
    reach[0] = 1;
    for (; k < atoms; k++) {
        const uint8_t *atom = pat + 1 + BRIDGE_ATOM_BYTES * k, *set = atom + 4;
        uint32_t lo = (uint32_t)atom[0] | (uint32_t)atom[1] << 8;
        uint32_t hi = (uint32_t)atom[2] | (uint32_t)atom[3] << 8;
        int any = 0;
        uint8_t *swap;
        memset(next, 0, n + 1);
        for (uint32_t p = 0; p <= n; p++) {
            if (!reach[p])
                continue;
            if (lo == 0)
                next[p] = 1;
            for (uint32_t q = p; q < n && (hi == 0xFFFF || q - p < hi); q++) {
                if (!((set[t[q] >> 3] >> (t[q] & 7)) & 1))
                    break;
                if (q - p + 1 >= lo)
                    next[q + 1] = 1;
            }
        }
        swap = reach;
        reach = next;
        next = swap;
        for (uint32_t p = 0; p <= n; p++)
            any |= reach[p];
        if (!any)
            return 0;
    }
    if (!(pat[0] & 1))
        return 1;
    return reach[n] || (n > 0 && nl_last && reach[n - 1]);
}

/* ---- dates ---- */

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

static int num_at(const uint8_t *t, int at, int k)
{
    int v = 0;
    for (int i = 0; i < k; i++)
        v = v * 10 + (t[at + i] - '0');
    return v;
}

static int ymd_ok(int y, int m, int d)
{
    return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= month_days(y, m);
}

static int century(int yy, int window)
{
    return yy < window ? 2000 + yy : 1900 + yy;
}

static int julian_ok(int y, int day)
{
    return y >= 1 && y <= 9999 && day >= 1 && day <= (leap(y) ? 366 : 365);
}

static const char *const templates[] = {
    "", "dddddddd", "dddddd", "ddddd", "ddddddd", "ddddddd", "dddd-dd-dd", "dddddddddddddd",
    "dddd-dd-dd dd:dd:dd", "dddd-dd-dd dd:dd:dd.dddddd", "dddd-dd-dd-dd.dd.dd.dddddd"};
static const uint8_t template_len[] = {0, 8, 6, 5, 7, 7, 10, 14, 19, 26, 26};

/* `t` (ASCII) fits the template: 'd' an ASCII digit, anything else itself. */
static int shape(const uint8_t *t, uint32_t n, const char *tmpl, uint32_t k)
{
    uint32_t bad = 0;
    if (n != k)
        return 0;
    for (uint32_t i = 0; i < k; i++)
        bad |= tmpl[i] == 'd' ? (uint32_t)(t[i] - '0') > 9u : t[i] != (uint8_t)tmpl[i];
    return !bad;
}

static int format_ok(const bridge_check *k, const uint8_t *t, uint32_t n)
{
    int w = k->window;
    if (!shape(t, n, templates[k->format], template_len[k->format]))
        return 0;
    switch (k->format) {
    case BRIDGE_FMT_YYYYMMDD: return ymd_ok(num_at(t, 0, 4), num_at(t, 4, 2), num_at(t, 6, 2));
    case BRIDGE_FMT_YYMMDD:
        return ymd_ok(century(num_at(t, 0, 2), w), num_at(t, 2, 2), num_at(t, 4, 2));
    case BRIDGE_FMT_YYDDD: return julian_ok(century(num_at(t, 0, 2), w), num_at(t, 2, 3));
    case BRIDGE_FMT_YYYYDDD: return julian_ok(num_at(t, 0, 4), num_at(t, 4, 3));
    case BRIDGE_FMT_CYYMMDD:
        return ymd_ok(1900 + 100 * num_at(t, 0, 1) + num_at(t, 1, 2), num_at(t, 3, 2),
                      num_at(t, 5, 2));
    case BRIDGE_FMT_ISO_DATE: return ymd_ok(num_at(t, 0, 4), num_at(t, 5, 2), num_at(t, 8, 2));
    case BRIDGE_FMT_TS14:
        return ymd_ok(num_at(t, 0, 4), num_at(t, 4, 2), num_at(t, 6, 2)) && num_at(t, 8, 2) < 24 &&
               num_at(t, 10, 2) < 60 && num_at(t, 12, 2) < 60;
    default: /* the three YYYY-MM-DD?HH?MM?SS forms */
        return ymd_ok(num_at(t, 0, 4), num_at(t, 5, 2), num_at(t, 8, 2)) &&
               num_at(t, 11, 2) < 24 && num_at(t, 14, 2) < 60 && num_at(t, 17, 2) < 60;
    }
}

/* ---- numbers as text (apply.py's str(int).zfill(width) and canonical_decimal) ---- */

static uint32_t number_text(number v, int scale, uint32_t width, uint8_t *out)
{
    uint8_t digits[2 * BRIDGE_MAX_NUM_LEN + BRIDGE_MAX_SCALE + 8];
    uint32_t nd = 0, w = 0;
    if (v.neg)
        out[w++] = '-';
    if (scale <= 0) {
        for (uint32_t i = 0; i < v.n; i++)
            digits[nd++] = (uint8_t)v.d[i];
        if (v.n > 0)
            for (int i = 0; i < -scale; i++)
                digits[nd++] = '0';
        if (nd == 0)
            digits[nd++] = '0';
        for (uint32_t i = nd; i < width; i++)
            out[w++] = '0';
        memcpy(out + w, digits, nd);
        return w + nd;
    }
    if (v.n > (uint32_t)scale) {
        memcpy(out + w, v.d, v.n - (uint32_t)scale);
        w += v.n - (uint32_t)scale;
    } else {
        out[w++] = '0';
    }
    out[w++] = '.';
    for (uint32_t i = v.n; i < (uint32_t)scale; i++)
        out[w++] = '0';
    for (uint32_t i = v.n > (uint32_t)scale ? v.n - (uint32_t)scale : 0; i < v.n; i++)
        out[w++] = (uint8_t)v.d[i];
    return w;
}

static uint32_t string_rules(const bridge_checks *c, const bridge_check *k, const uint8_t *t,
                             uint32_t n, int nl_last)
{
    uint32_t bad = 0;
    if ((k->rules & BIT(BRIDGE_V_MIN_LENGTH)) && n < k->min_len)
        bad |= BIT(BRIDGE_V_MIN_LENGTH);
    if ((k->rules & BIT(BRIDGE_V_MAX_LENGTH)) && n > k->max_len)
        bad |= BIT(BRIDGE_V_MAX_LENGTH);
    if ((k->rules & BIT(BRIDGE_V_ENUM)) && !in_strings(t, n, c->blob + k->enum_off, k->n_enum))
        bad |= BIT(BRIDGE_V_ENUM);
    if ((k->rules & BIT(BRIDGE_V_PATTERN)) &&
        (n > BRIDGE_MAX_CHECK_TEXT || !bridge_pattern_ok(c->blob + k->pat_off, k->pat_len, t, n, nl_last)))
        bad |= BIT(BRIDGE_V_PATTERN);
    return bad;
}

/* null where a value is required breaks `type`, and `enum` when there is one (a schema
 * lists null among its enum values only where null is allowed). */
static uint32_t null_value(const bridge_check *k)
{
    if (!(k->rules & BIT(BRIDGE_V_TYPE)))
        return 0;
    return k->rules & (BIT(BRIDGE_V_TYPE) | BIT(BRIDGE_V_ENUM));
}

/* Numbers converted to text (string and date targets), out of line for the same reason. */
__attribute__((noinline)) static uint32_t number_as_text(const bridge_checks *c,
                                                         const bridge_check *k, int s,
                                                         number raw)
{
    uint8_t text[BRIDGE_MAX_CHECK_TEXT];
    number v = strip_number(raw.d, raw.n, raw.neg);
    if (k->target == BRIDGE_CT_STRING)
        return string_rules(c, k, text, number_text(v, s, k->width, text), 0);
    if (s > 0)
        return BIT(BRIDGE_V_CONVERT_TYPE);
    if (v.neg)
        return BIT(BRIDGE_V_FORMAT);
    return format_ok(k, text, number_text(v, s, k->width, text)) ? 0 : BIT(BRIDGE_V_FORMAT);
}

/* A decimal of more than 19 significant digits (v from strip_number): the digit walk. */
__attribute__((noinline)) static uint32_t big_decimal(const bridge_check *k, int s, number v)
{
    uint32_t whole, bad = 0;
    if (s > k->scale) {
        uint32_t drop = (uint32_t)(s - k->scale);
        for (uint32_t i = v.n > drop ? v.n - drop : 0; i < v.n; i++)
            if (v.d[i] != '0')
                return BIT(BRIDGE_V_SCALE);
    }
    whole = s >= 0 ? (v.n > (uint32_t)s ? v.n - (uint32_t)s : 0)
                   : (v.n > 0 ? v.n + (uint32_t)(-s) : 0);
    if ((k->rules & BIT(BRIDGE_V_PATTERN)) && whole > k->whole)
        bad |= BIT(BRIDGE_V_PATTERN);
    return bad;
}

/* `v` holds the value times 10^s (s: the item's scale, or a text's fractional digits). */
static uint32_t check_number(const bridge_checks *c, const bridge_check *k, int s, number v)
{
    uint32_t bad = 0;
    if (k->n_null && in_ranges(v, c->blob + k->null_off, k->n_null))
        return null_value(k);
    switch (k->target) {
    case BRIDGE_CT_CHOICE:
        return in_ranges(v, c->blob + k->choice_off, k->n_choice) ? 0 : BIT(BRIDGE_V_CHOICE);
    case BRIDGE_CT_STRING:
    case BRIDGE_CT_DATE:
        return number_as_text(c, k, s, v);
    case BRIDGE_CT_INTEGER:
        if (s > 0)
            return BIT(BRIDGE_V_CONVERT_TYPE);
        break;
    default: { /* BRIDGE_CT_DECIMAL */
        if (v.big) {
            bad = big_decimal(k, s, v);
            if (bad & BIT(BRIDGE_V_SCALE))
                return bad;
            break;
        }
        /* Digits dropped past the target's scale must be zeros: mag a multiple of 10^drop. */
        if (s > k->scale) {
            uint32_t drop = (uint32_t)(s - k->scale);
            if (drop > 19 ? v.mag != 0 : v.mag % POW10[drop] != 0)
                return BIT(BRIDGE_V_SCALE);
        }
        /* More than `whole` integer digits: n significant digits with n > 0 and n - s > whole,
         * that is mag >= 10^(whole + s) (any non-zero value when whole + s < 0). */
        if (k->rules & BIT(BRIDGE_V_PATTERN)) {
            int e = (int)k->whole + s;
            if (e < 0 ? v.mag != 0 : e <= 19 && v.mag >= POW10[e])
                bad |= BIT(BRIDGE_V_PATTERN);
        }
        break;
    }
    }
    if ((k->rules & BIT(BRIDGE_V_MINIMUM)) && compare(v, k->min) < 0)
        bad |= BIT(BRIDGE_V_MINIMUM);
    if ((k->rules & BIT(BRIDGE_V_MAXIMUM)) && compare(v, k->max) > 0)
        bad |= BIT(BRIDGE_V_MAXIMUM);
    if ((k->rules & BIT(BRIDGE_V_ENUM)) && !in_ranges(v, c->blob + k->enum_off, k->n_enum))
        bad |= BIT(BRIDGE_V_ENUM);
    return bad;
}

/* Text converted to a number, as apply.py does: stripped of white space (str.strip), then
 * [+-]?[0-9]+ for an integer, [+-]?[0-9]+(\.[0-9]+)? for a decimal, else the conversion's
 * `type` rule. A decimal is brought to the target's scale, so its bounds (scaled to it) and the
 * number rules apply as to a decoded number; fractional digits past that scale must be zeros. */
__attribute__((noinline)) static uint32_t text_number(const bridge_checks *c,
                                                      const bridge_check *k, const uint8_t *s,
                                                      uint32_t len)
{
    const uint8_t *asc = c->chars, *flag = c->chars + 256;
    char digs[BRIDGE_MAX_CHECK_TEXT + BRIDGE_MAX_SCALE];
    uint32_t a = 0, z = len, nd = 0, frac = 0, whole;
    int neg = 0, point = 0, target = k->scale;
    while (z > a && (flag[s[z - 1]] & 1))
        z--;
    while (a < z && (flag[s[a]] & 1))
        a++;
    if (z - a > BRIDGE_MAX_CHECK_TEXT)
        return BIT(BRIDGE_V_CONVERT_TYPE);
    if (a < z && (asc[s[a]] == '+' || asc[s[a]] == '-'))
        neg = asc[s[a++]] == '-';
    for (uint32_t i = a; i < z; i++) {
        uint8_t ch = asc[s[i]];
        if (ch >= '0' && ch <= '9') {
            digs[nd++] = (char)ch;
            frac += point;
        } else if (ch == '.' && !point && k->target == BRIDGE_CT_DECIMAL && nd > 0) {
            point = 1;
        } else {
            return BIT(BRIDGE_V_CONVERT_TYPE);
        }
    }
    whole = nd - frac;
    if (whole == 0 || (point && frac == 0))
        return BIT(BRIDGE_V_CONVERT_TYPE);
    if (k->target == BRIDGE_CT_INTEGER)
        target = 0;
    /* To the target's scale: pad with zeros, or drop zeros (anything else breaks `scale`). */
    for (; (int)frac > target; frac--)
        if (digs[--nd] != '0')
            return BIT(BRIDGE_V_SCALE);
    for (; (int)frac < target; frac++)
        digs[nd++] = '0';
    return check_number(c, k, target, load_number(digs, nd, neg));
}

static uint32_t check_text(const bridge_plan *p, const bridge_check *k, const uint8_t *s,
                           uint32_t len)
{
    const bridge_checks *c = p->checks;
    const uint8_t *asc = c->chars, *flag = c->chars + 256;
    uint32_t a = 0, z = len; /* the decoder trimmed as the plan trims */
    if (k->n_null) {
        uint32_t sa = a, sz = z;
        while (sz > sa && (flag[s[sz - 1]] & 1))
            sz--;
        while (sa < sz && (flag[s[sa]] & 1))
            sa++;
        if (in_strings(s + sa, sz - sa, c->blob + k->null_off, k->n_null))
            return null_value(k);
    }
    switch (k->target) {
    case BRIDGE_CT_STRING:
        if (k->trim != BRIDGE_TRIM_NONE)
            while (z > a && (flag[s[z - 1]] & 2))
                z--;
        if (k->trim == BRIDGE_TRIM_BOTH)
            while (a < z && (flag[s[a]] & 2))
                a++;
        return string_rules(c, k, s + a, z - a, z > a && (flag[s[z - 1]] & 4));
    case BRIDGE_CT_CHOICE:
        while (z > a && (flag[s[z - 1]] & 2))
            z--;
        return in_strings(s + a, z - a, c->blob + k->choice_off, k->n_choice)
                   ? 0
                   : BIT(BRIDGE_V_CHOICE);
    case BRIDGE_CT_INTEGER:
    case BRIDGE_CT_DECIMAL:
        return text_number(c, k, s, len);
    default: { /* BRIDGE_CT_DATE */
        uint8_t text[32];
        uint8_t miss = 0;
        while (z > a && (flag[s[z - 1]] & 1))
            z--;
        while (a < z && (flag[s[a]] & 1))
            a++;
        /* Only the format's length can match: no conversion of anything else. */
        if (z - a != template_len[k->format])
            return BIT(BRIDGE_V_FORMAT);
        for (uint32_t i = a; i < z; i++) {
            text[i - a] = asc[s[i]];
            miss |= text[i - a] == 0;
        }
        if (miss)
            return BIT(BRIDGE_V_FORMAT);
        return format_ok(k, text, z - a) ? 0 : BIT(BRIDGE_V_FORMAT);
    }
    }
}

uint32_t bridge_check_value(const bridge_plan *p, uint32_t ip, const uint8_t *s, uint32_t len,
                            const char *digs, uint32_t nd, int neg, int is_null)
{
    const bridge_check *k = &p->checks->ops[ip];
    const bridge_op *op = &p->ops[ip];
    if (is_null)
        return null_value(k);
    if (op->kind == BRIDGE_OP_TEXT)
        return check_text(p, k, s, len);
    return check_number(p->checks, k, op->scale, load_number(digs, nd, neg));
}

/* ---- fast paths (decode.c runs them inline; see core_internal.h) ---- */

/* The positional form of a pattern (see BRIDGE_PAT_POS), when it has one: fixed counts, then
 * at most one ranged atom, last, the fixed part under 64 bytes, anchored at the end. */
static void fast_positional(const uint8_t *pat, uint32_t atoms, bridge_fast *f)
{
    uint32_t fixed = 0, q;
    if (!(pat[0] & 1))
        return;
    for (uint32_t a = 0; a < atoms; a++) {
        const uint8_t *atom = pat + 1 + BRIDGE_ATOM_BYTES * a;
        uint32_t lo = (uint32_t)atom[0] | (uint32_t)atom[1] << 8;
        uint32_t hi = (uint32_t)atom[2] | (uint32_t)atom[3] << 8;
        if (lo != hi) {
            if (a + 1 != atoms)
                return;
            for (q = fixed; q < 64; q++)
                f->ppos[q] = (uint8_t)(1u << a);
            f->pos_lo = fixed + lo;
            f->pos_hi = hi == 0xFFFF ? UINT32_MAX : fixed + hi;
            f->pfuse = 1;
            f->pmode = BRIDGE_PAT_POS;
            return;
        }
        if (fixed + lo >= 64)
            return;
        for (q = fixed; q < fixed + lo; q++)
            f->ppos[q] = (uint8_t)(1u << a);
        fixed += lo;
    }
    for (q = fixed; q < 64; q++)
        f->ppos[q] = 0;
    f->pos_lo = f->pos_hi = fixed;
    f->pfuse = 1;
    f->pmode = BRIDGE_PAT_POS;
}

void bridge_fast_prepare(const bridge_plan *p, uint32_t ip, bridge_fast *f)
{
    const bridge_check *k = &p->checks->ops[ip];
    const bridge_op *op = &p->ops[ip];
    memset(f, 0, sizeof *f);
    f->kind = BRIDGE_FAST_CALL;
    if (k->n_null != 0)
        return;
    if (op->kind == BRIDGE_OP_TEXT) {
        if (k->target == BRIDGE_CT_CHOICE) {
            const uint8_t *list = p->checks->blob + k->choice_off;
            for (uint32_t i = 0; i < k->n_choice; i++) {
                uint32_t n = (uint32_t)list[0] | (uint32_t)list[1] << 8;
                if (n > 1)
                    return;
                if (n == 0)
                    f->empty_ok = 1;
                else
                    f->set[list[2] >> 6] |= 1ull << (list[2] & 63);
                list += 2 + n;
            }
            f->fail = BIT(BRIDGE_V_CHOICE);
            f->kind = BRIDGE_FAST_CHOICE1;
        } else if (k->target == BRIDGE_CT_DATE &&
                   (k->format == BRIDGE_FMT_ISO_DATE || k->format == BRIDGE_FMT_YYYYMMDD)) {
            f->iso = k->format == BRIDGE_FMT_ISO_DATE;
            f->fail = BIT(BRIDGE_V_FORMAT);
            f->kind = BRIDGE_FAST_DATE;
        } else if (k->target == BRIDGE_CT_STRING) {
            if (k->rules & BIT(BRIDGE_V_ENUM)) {
                const uint8_t *list = p->checks->blob + k->enum_off;
                if (k->n_enum == 0 || k->n_enum > 4)
                    return;
                for (uint32_t i = 0; i < k->n_enum; i++) {
                    uint32_t n = (uint32_t)list[0] | (uint32_t)list[1] << 8;
                    if (n > 8 || (i > 0 && n != f->word_len))
                        return;
                    f->word_len = (uint8_t)n;
                    for (uint32_t j = 0; j < n; j++)
                        f->set[i] |= (uint64_t)list[2 + j] << (8 * j);
                    list += 2 + n;
                }
                f->n_words = (uint8_t)k->n_enum;
            }
            f->trim = k->trim;
            f->min_len = (k->rules & BIT(BRIDGE_V_MIN_LENGTH)) ? k->min_len : 0;
            f->max_len = (k->rules & BIT(BRIDGE_V_MAX_LENGTH)) ? k->max_len : UINT32_MAX;
            if (k->rules & BIT(BRIDGE_V_PATTERN)) {
                const uint8_t *pat = p->checks->blob + k->pat_off;
                uint32_t atoms = (k->pat_len - 1) / BRIDGE_ATOM_BYTES;
                f->pat = pat;
                f->pat_len = k->pat_len;
                f->pmode = BRIDGE_PAT_GENERAL;
                if (atoms >= 1 && atoms <= 8) {
                    for (uint32_t a = 0; a < atoms; a++) {
                        const uint8_t *set = pat + 1 + BRIDGE_ATOM_BYTES * a + 4;
                        for (uint32_t c = 0; c < 256; c++)
                            if ((set[c >> 3] >> (c & 7)) & 1)
                                f->ptab[c] |= (uint8_t)(1u << a);
                    }
                    f->pmode = BRIDGE_PAT_TAB;
                    fast_positional(pat, atoms, f);
                    if (atoms == 1 && (pat[0] & 1)) {
                        uint32_t lo = (uint32_t)pat[1] | (uint32_t)pat[2] << 8;
                        uint32_t hi = (uint32_t)pat[3] | (uint32_t)pat[4] << 8;
                        f->plo = lo;
                        f->phi = (hi == 0xFFFF && lo != hi) ? UINT32_MAX : hi;
                        f->pmode = BRIDGE_PAT_ONE;
                    }
                }
            }
            f->kind = BRIDGE_FAST_STRING;
        }
        return;
    }
    if (!(op_is_numeric(op->kind) || op->kind == BRIDGE_OP_EDITED) ||
        (k->rules & BIT(BRIDGE_V_ENUM)))
        return;
    if (k->target == BRIDGE_CT_INTEGER) {
        if (op->scale > 0)
            return;
        f->lim = UINT64_MAX;
    } else if (k->target == BRIDGE_CT_DECIMAL) {
        int e = (int)k->whole + op->scale;
        if (op->scale > k->scale)
            return;
        f->lim = !(k->rules & BIT(BRIDGE_V_PATTERN)) ? UINT64_MAX
                 : e < 0                               ? 1
                 : e <= 19                             ? POW10[e]
                                                       : UINT64_MAX;
    } else {
        return;
    }
    f->min = (k->rules & BIT(BRIDGE_V_MINIMUM)) ? k->min : INT64_MIN;
    f->max = (k->rules & BIT(BRIDGE_V_MAXIMUM)) ? k->max : INT64_MAX;
    f->kind = BRIDGE_FAST_NUMBER;
}

/* ---- the plan check ---- */

static int numbers_ok(const bridge_checks *c, uint32_t off, uint32_t len, uint32_t n)
{
    return (uint64_t)off + len <= c->blob_len && (uint64_t)n * 16 == len;
}

static int strings_ok(const bridge_checks *c, uint32_t off, uint32_t len, uint32_t n)
{
    uint64_t at = off, end = (uint64_t)off + len;
    if (end > c->blob_len)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        if (at + 2 > end)
            return 0;
        at += 2 + ((uint32_t)c->blob[at] | (uint32_t)c->blob[at + 1] << 8);
    }
    return at == end;
}

static int pattern_atoms_ok(const bridge_checks *c, uint32_t off, uint32_t len)
{
    if ((uint64_t)off + len > c->blob_len || len < 1 || (len - 1) % BRIDGE_ATOM_BYTES != 0 ||
        (len - 1) / BRIDGE_ATOM_BYTES > BRIDGE_MAX_ATOMS || (c->blob[off] & ~1u) != 0)
        return 0;
    for (uint32_t k = 0; k < (len - 1) / BRIDGE_ATOM_BYTES; k++) {
        const uint8_t *atom = c->blob + off + 1 + BRIDGE_ATOM_BYTES * k;
        uint32_t lo = (uint32_t)atom[0] | (uint32_t)atom[1] << 8;
        uint32_t hi = (uint32_t)atom[2] | (uint32_t)atom[3] << 8;
        if (lo > hi)
            return 0;
    }
    return 1;
}

static int check_ok(const bridge_checks *c, const bridge_op *op, const bridge_check *k)
{
    int text = op->kind == BRIDGE_OP_TEXT;
    int strings;
    if (k->rules >= BIT(BRIDGE_V_COUNT) || k->trim > BRIDGE_TRIM_BOTH)
        return 0;
    if (!(text || op_is_numeric(op->kind) || op->kind == BRIDGE_OP_EDITED) ||
        (op->flags & BRIDGE_F_HIDDEN))
        return 0;
    if (k->target < BRIDGE_CT_STRING || k->target > BRIDGE_CT_CHOICE)
        return 0;
    if (k->target == BRIDGE_CT_DATE &&
        (k->format < BRIDGE_FMT_YYYYMMDD || k->format > BRIDGE_FMT_TS_DB2))
        return 0;
    if (k->width > BRIDGE_MAX_CHECK_TEXT / 2 || k->scale < 0 || k->scale > BRIDGE_MAX_SCALE)
        return 0;
    /* Lists hold strings where the value is a string (text, or a number written as text). */
    strings = k->target == BRIDGE_CT_STRING || (text && k->target == BRIDGE_CT_CHOICE);
    /* Numbers from text keep numeric lists (their value is compared, not their text). */
    if (!(strings ? strings_ok(c, k->enum_off, k->enum_len, k->n_enum)
                  : numbers_ok(c, k->enum_off, k->enum_len, k->n_enum)))
        return 0;
    if (!(text ? strings_ok(c, k->choice_off, k->choice_len, k->n_choice)
               : numbers_ok(c, k->choice_off, k->choice_len, k->n_choice)))
        return 0;
    if (!(text ? strings_ok(c, k->null_off, k->null_len, k->n_null)
               : numbers_ok(c, k->null_off, k->null_len, k->n_null)))
        return 0;
    if (k->rules & BIT(BRIDGE_V_PATTERN)) {
        if (k->target == BRIDGE_CT_STRING && !pattern_atoms_ok(c, k->pat_off, k->pat_len))
            return 0;
    }
    return 1;
}

int bridge_checks_check(const bridge_plan *p, uint32_t *bad_op)
{
    const bridge_checks *c;
    if (p == NULL || bad_op == NULL || p->checks == NULL)
        return BRIDGE_E_ARG;
    c = p->checks;
    *bad_op = 0;
    /* A blob even when empty: the lists are found at blob + offset (Python passes one byte). */
    if (c->ops == NULL || c->chars == NULL || c->blob == NULL)
        return BRIDGE_E_PLAN;
    for (uint32_t i = 0; i < p->n_ops; i++) {
        *bad_op = i;
        if (c->ops[i].rules != 0 && !check_ok(c, &p->ops[i], &c->ops[i]))
            return BRIDGE_E_PLAN;
    }
    *bad_op = 0;
    return BRIDGE_OK;
}
