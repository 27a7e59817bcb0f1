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

/* Python's float repr: the shortest digits that read back to the same double, in fixed
 * notation when the decimal exponent is in [-4, 16), with at least one fractional digit. */
uint8_t *bridge_put_double(uint8_t *w, double v)
{
    char buf[40], digs[20];
    int nd = 0, exp10 = 0;
    if (v == 0) {
        const char *z = signbit(v) ? "-0.0" : "0.0";
        memcpy(w, z, strlen(z));
        return w + strlen(z);
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* buf is [-]d[.ddd]e[+-]xx */
    const char *p = buf;
    if (*p == '-') {
        *w++ = '-';
        p++;
    }
    for (; *p != 'e'; p++)
        if (*p != '.')
            digs[nd++] = *p;
    exp10 = atoi(p + 1);
    while (nd > 1 && digs[nd - 1] == '0')
        nd--;
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
