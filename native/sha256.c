/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), portable C: no CPU-specific instructions,
 * so every machine that builds the core computes the same keyed hashes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bridge_core.h"
#include "sha256.h"

static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u};

static inline uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One round with the working variables named by position rather than shuffled: eight rounds
 * in a row rotate the names back to where they started, so the compiler keeps all eight in
 * registers with no moves between rounds. */
#define ROUND(a, b, c, d, e, f, g, h, i)                                                         \
    do {                                                                                         \
        uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + \
                      w[i];                                                                      \
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));    \
        d += t1;                                                                                 \
        h = t1 + t2;                                                                             \
    } while (0)

/* The compression function over `blocks` consecutive 64-byte blocks, the state kept in
 * locals across blocks. */
static void compress(uint32_t st[8], const uint8_t *p, size_t blocks)
{
    uint32_t w[64];
    for (; blocks; blocks--, p += 64) {
        for (int i = 0; i < 16; i++)
            w[i] = load_be32(p + 4 * i);
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
        uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
        for (int i = 0; i < 64; i += 8) {
            ROUND(a, b, c, d, e, f, g, h, i);
            ROUND(h, a, b, c, d, e, f, g, i + 1);
            ROUND(g, h, a, b, c, d, e, f, i + 2);
            ROUND(f, g, h, a, b, c, d, e, i + 3);
            ROUND(e, f, g, h, a, b, c, d, i + 4);
            ROUND(d, e, f, g, h, a, b, c, i + 5);
            ROUND(c, d, e, f, g, h, a, b, i + 6);
            ROUND(b, c, d, e, f, g, h, a, i + 7);
        }
        st[0] += a;
        st[1] += b;
        st[2] += c;
        st[3] += d;
        st[4] += e;
        st[5] += f;
        st[6] += g;
        st[7] += h;
    }
}

#undef ROUND

static void put_hex(const uint8_t d[32], char *out)
{
    static const char HEX[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = HEX[d[i] >> 4];
        out[2 * i + 1] = HEX[d[i] & 15];
    }
}

void bridge_sha256_init(bridge_sha256 *c)
{
    static const uint32_t IV[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    memcpy(c->h, IV, sizeof IV);
    c->len = 0;
    c->used = 0;
}

void bridge_sha256_update(bridge_sha256 *c, const uint8_t *data, size_t n)
{
    if (n == 0)
        return; /* data may be NULL, and memcpy from NULL is undefined even for 0 bytes */
    c->len += n;
    if (c->used) {
        size_t take = 64 - c->used < n ? 64 - c->used : n;
        memcpy(c->buf + c->used, data, take);
        c->used += (uint32_t)take;
        data += take;
        n -= take;
        if (c->used < 64)
            return;
        compress(c->h, c->buf, 1);
        c->used = 0;
    }
    /* Whole blocks straight from the caller's memory, no copy through buf. */
    if (n >= 64) {
        compress(c->h, data, n / 64);
        data += n & ~(size_t)63;
        n &= 63;
    }
    if (n) {
        memcpy(c->buf, data, n);
        c->used = (uint32_t)n;
    }
}

void bridge_sha256_final(bridge_sha256 *c, uint8_t out[32])
{
    uint64_t bits = c->len * 8;
    uint32_t u = c->used;
    c->buf[u++] = 0x80;
    if (u > 56) { /* no room for the length: it goes in a block of its own */
        memset(c->buf + u, 0, 64 - u);
        compress(c->h, c->buf, 1);
        u = 0;
    }
    memset(c->buf + u, 0, 56 - u);
    store_be32(c->buf + 56, (uint32_t)(bits >> 32));
    store_be32(c->buf + 60, (uint32_t)bits);
    compress(c->h, c->buf, 1);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, c->h[i]);
}

void bridge_hmac_prepare(bridge_hmac_key *k, const uint8_t *key, size_t key_len)
{
    uint8_t k0[64] = {0}, pad[64];
    if (key_len > 64) {
        bridge_sha256 c;
        bridge_sha256_init(&c);
        bridge_sha256_update(&c, key, key_len);
        bridge_sha256_final(&c, k0);
    } else if (key_len) {
        memcpy(k0, key, key_len);
    }
    for (int i = 0; i < 64; i++)
        pad[i] = k0[i] ^ 0x36;
    bridge_sha256_init(&k->inner);
    bridge_sha256_update(&k->inner, pad, 64);
    for (int i = 0; i < 64; i++)
        pad[i] = k0[i] ^ 0x5c;
    bridge_sha256_init(&k->outer);
    bridge_sha256_update(&k->outer, pad, 64);
}

void bridge_hmac_hex(const bridge_hmac_key *k, const uint8_t *msg, size_t n, char out[64])
{
    uint8_t d[32];
    bridge_sha256 c = k->inner;
    bridge_sha256_update(&c, msg, n);
    bridge_sha256_final(&c, d);
    c = k->outer;
    bridge_sha256_update(&c, d, 32);
    bridge_sha256_final(&c, d);
    put_hex(d, out);
}

int bridge_hmac_sha256_hex(const uint8_t *key, size_t key_len, const uint8_t *msg,
                           size_t msg_len, char *out64)
{
    if ((!key && key_len) || (!msg && msg_len) || !out64)
        return BRIDGE_E_ARG;
    bridge_hmac_key k;
    bridge_hmac_prepare(&k, key, key_len);
    bridge_hmac_hex(&k, msg, msg_len, out64);
    return BRIDGE_OK;
}

int bridge_sha256_hex(const uint8_t *msg, size_t msg_len, size_t chunk, char *out64)
{
    if ((!msg && msg_len) || !out64)
        return BRIDGE_E_ARG;
    if (chunk == 0)
        chunk = msg_len;
    bridge_sha256 c;
    uint8_t d[32];
    bridge_sha256_init(&c);
    for (size_t at = 0; at < msg_len; at += chunk)
        bridge_sha256_update(&c, msg + at, msg_len - at < chunk ? msg_len - at : chunk);
    bridge_sha256_final(&c, d);
    put_hex(d, out64);
    return BRIDGE_OK;
}
