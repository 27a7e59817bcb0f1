/* Private: number text for the decoder. */
#ifndef BRIDGE_NUMFMT_H
#define BRIDGE_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

/* Write digs (ASCII, leading zeros allowed) as a JSON number with `scale` fractional digits
 * (negative: trailing zeros), no leading zeros, no sign on zero; in quotes when asked.
 * Writes at most nd + |scale| + 5 bytes. */
uint8_t *bridge_put_decimal(uint8_t *w, const char *digs, size_t nd, int neg, int scale,
                            int quoted);

/* Decimal digits of v, written backwards ending just before `end`; returns how many. */
size_t bridge_u64_digits(uint64_t v, char *end);

/* A double as Python's repr writes it (at most 25 bytes). */
uint8_t *bridge_put_double(uint8_t *w, double v);

#endif
