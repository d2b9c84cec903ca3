/* SHA-256 (FIPS 180-4), used to fingerprint configuration such as the
 * Enclavefile's setup list so that `up` re-runs setup only when it
 * changed.
 *
 * Hand-written because none of the project's allowed dependencies
 * (sqlite3, jansson, libseccomp, libmnl, libnftables, libarchive,
 * libcurl) exports a hash function; the kernel's AF_ALG interface would
 * work but needs the algif_hash module and a socket per digest, which is
 * a poor fit for a pure function the fuzzers and unit tests call. */
#pragma once

#include "base/macro.h"

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE 64
#define SHA256_HEX_SIZE (SHA256_DIGEST_SIZE * 2 + 1)

typedef struct Sha256 {
        uint32_t state[8];
        uint64_t total;                     /* bytes hashed so far */
        uint8_t block[SHA256_BLOCK_SIZE];   /* pending partial block */
        size_t block_len;
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t len);
/* Writes the digest and wipes the context. */
void sha256_final(Sha256 *s, uint8_t out[SHA256_DIGEST_SIZE]);

/* One-shot digest of a buffer. */
void sha256_buffer(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE]);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void digest_to_hex(const uint8_t *digest, size_t n, char *out);
