#include "base/sha256.h"
#include "base/str.h"

#include <string.h>

static const uint32_t sha256_k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned n)
{
        return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

static void sha256_compress(uint32_t state[8], const uint8_t block[SHA256_BLOCK_SIZE])
{
        uint32_t w[64];
        for (unsigned i = 0; i < 16; i++)
                w[i] = load_be32(block + 4 * i);
        for (unsigned i = 16; i < 64; i++) {
                uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
                uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }

        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (unsigned i = 0; i < 64; i++) {
                uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                              sha256_k[i] + w[i];
                uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                h = g;
                g = f;
                f = e;
                e = d + t1;
                d = c;
                c = b;
                b = a;
                a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
}

void sha256_init(Sha256 *s)
{
        static const uint32_t iv[8] = {
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
        };
        memcpy(s->state, iv, sizeof iv);
        s->total = 0;
        s->block_len = 0;
}

void sha256_update(Sha256 *s, const void *data, size_t len)
{
        const uint8_t *p = data;
        s->total += len;
        if (s->block_len > 0) {
                size_t take = SHA256_BLOCK_SIZE - s->block_len;
                if (take > len)
                        take = len;
                memcpy(s->block + s->block_len, p, take);
                s->block_len += take;
                p += take;
                len -= take;
                if (s->block_len < SHA256_BLOCK_SIZE)
                        return;
                sha256_compress(s->state, s->block);
                s->block_len = 0;
        }
        for (; len >= SHA256_BLOCK_SIZE; p += SHA256_BLOCK_SIZE, len -= SHA256_BLOCK_SIZE)
                sha256_compress(s->state, p);
        if (len > 0) {
                memcpy(s->block, p, len);
                s->block_len = len;
        }
}

void sha256_final(Sha256 *s, uint8_t out[SHA256_DIGEST_SIZE])
{
        uint64_t bits = s->total * 8;
        /* Padding: 0x80, zeros up to 56 mod 64, then the bit length. */
        s->block[s->block_len++] = 0x80;
        if (s->block_len > 56) {
                memset(s->block + s->block_len, 0, SHA256_BLOCK_SIZE - s->block_len);
                sha256_compress(s->state, s->block);
                s->block_len = 0;
        }
        memset(s->block + s->block_len, 0, 56 - s->block_len);
        for (unsigned i = 0; i < 8; i++)
                s->block[56 + i] = (uint8_t) (bits >> (56 - 8 * i));
        sha256_compress(s->state, s->block);
        for (unsigned i = 0; i < 8; i++)
                store_be32(out + 4 * i, s->state[i]);
        explicit_wipe(s, sizeof *s);
}

void sha256_buffer(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
        Sha256 s;
        sha256_init(&s);
        sha256_update(&s, data, len);
        sha256_final(&s, out);
}

void digest_to_hex(const uint8_t *digest, size_t n, char *out)
{
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex[digest[i] >> 4];
                out[2 * i + 1] = hex[digest[i] & 0xf];
        }
        out[2 * n] = 0;
}
