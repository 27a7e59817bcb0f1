/* Number text: exact decimals from digit strings, and floats as Python's repr writes them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"

uint8_t *bridge_put_decimal(uint8_t *w, const char *digs, size_t nd, int neg, int scale,
                            int quoted)
{
    while (nd > 0 && *digs == '0') {
        digs++;
        nd--;
    }
    if (quoted)
        *w++ = '"';
    if (neg && nd > 0)
        *w++ = '-';
    if (scale <= 0) {
        if (nd == 0) {
            *w++ = '0';
        } else {
            memcpy(w, digs, nd);
            w += nd;
            for (int z = 0; z < -scale; z++)
                *w++ = '0';
        }
    } else if (nd > (size_t)scale) {
        size_t ip = nd - (size_t)scale;
        memcpy(w, digs, ip);
        w += ip;
        *w++ = '.';
        memcpy(w, digs + ip, (size_t)scale);
        w += scale;
    } else {
        *w++ = '0';
        *w++ = '.';
        for (size_t z = nd; z < (size_t)scale; z++)
            *w++ = '0';
        memcpy(w, digs, nd);
        w += nd;
    }
    if (quoted)
        *w++ = '"';
    return w;
}

size_t bridge_u64_digits(uint64_t v, char *end)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return (size_t)(end - p);
}

/* The shortest decimal digits that read back as v (v > 0), as Python's repr finds them. The
 * correctly rounded p-digit decimal is tried first; at a power of two the rounding interval is
 * lopsided, so its neighbours may round-trip where it does not. */
static int shortest(double v, char *digs, int *exp10)
{
    char buf[48];
    for (int prec = 1; prec <= 17; prec++) {
        unsigned long long m = 0, cand[3];
        int e;
        const char *q;
        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        for (q = buf; *q != 'e'; q++)
            if (*q != '.')
                m = m * 10 + (unsigned long long)(*q - '0');
        e = atoi(q + 1);
        cand[0] = m;
        cand[1] = m + 1;
        cand[2] = m - 1;
        for (int c = 0; c < 3; c++) {
            if (cand[c] == 0)
                continue;
            snprintf(buf, sizeof buf, "%llue%d", cand[c], e - (prec - 1));
            if (strtod(buf, NULL) == v) {
                int nd = snprintf(digs, 20, "%llu", cand[c]);
                *exp10 = e + (nd - prec);
                while (nd > 1 && digs[nd - 1] == '0')
                    nd--;
                return nd;
            }
        }
    }
    return 0; /* unreachable: 17 digits always round-trip */
}

/* Python's float repr: the shortest digits that read back to the same double, in fixed
 * notation when the decimal exponent is in [-4, 16), with at least one fractional digit. */
uint8_t *bridge_put_double(uint8_t *w, double v)
{
    char digs[24];
    int nd, exp10 = 0;
    if (v == 0) { /* the contract writes zero without a sign */
        memcpy(w, "0.0", 3);
        return w + 3;
    }
    if (v < 0) {
        *w++ = '-';
        v = -v;
    }
    nd = shortest(v, digs, &exp10);
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            *w++ = '0';
            *w++ = '.';
            for (int z = 0; z < -exp10 - 1; z++)
                *w++ = '0';
            memcpy(w, digs, (size_t)nd);
            w += nd;
        } else {
            int ip = exp10 + 1;
            for (int k = 0; k < ip; k++)
                *w++ = k < nd ? (uint8_t)digs[k] : '0';
            *w++ = '.';
            if (nd > ip) {
                memcpy(w, digs + ip, (size_t)(nd - ip));
                w += nd - ip;
            } else {
                *w++ = '0';
            }
        }
    } else {
        *w++ = (uint8_t)digs[0];
        if (nd > 1) {
            *w++ = '.';
            memcpy(w, digs + 1, (size_t)(nd - 1));
            w += nd - 1;
        }
        w += sprintf((char *)w, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    return w;
}
