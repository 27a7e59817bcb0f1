/* Private: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) for keyed hashes of PII values,
 * the native twin of bridge/mapping/convert.py's pii_hash. Not part of the cffi contract: the
 * structs are the callers' to hold (on the stack or in a plan), so nothing here allocates. */
#ifndef BRIDGE_SHA256_H
#define BRIDGE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len;     /* bytes hashed so far, for the final length block */
    uint8_t buf[64];  /* a partial block waiting for more input */
    uint32_t used;    /* bytes of buf in use (always < 64 between calls) */
} bridge_sha256;

void bridge_sha256_init(bridge_sha256 *c);
/* data may be NULL when n is 0. */
void bridge_sha256_update(bridge_sha256 *c, const uint8_t *data, size_t n);
/* Leaves c spent: init it again before reuse. */
void bridge_sha256_final(bridge_sha256 *c, uint8_t out[32]);

/* A key made ready once: the states after the ipad and opad blocks. Each message then costs
 * the copies of these two states, its own blocks and one outer block, never the key again. */
typedef struct {
    bridge_sha256 inner, outer;
} bridge_hmac_key;

/* Keys longer than a block (64 bytes) are hashed first, as RFC 2104 says. key may be NULL when
 * key_len is 0. */
void bridge_hmac_prepare(bridge_hmac_key *k, const uint8_t *key, size_t key_len);

/* HMAC-SHA256 of msg as 64 lower-case hex digits (no NUL), the text of Python's
 * hmac.new(key, msg, hashlib.sha256).hexdigest(). k is only read, so one prepared key serves
 * any number of messages (and threads). msg may be NULL when n is 0. */
void bridge_hmac_hex(const bridge_hmac_key *k, const uint8_t *msg, size_t n, char out[64]);

#endif
