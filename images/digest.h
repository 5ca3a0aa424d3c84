/*
 * Content digests. The store is content addressed by sha256 (the only algorithm
 * OCI requires; others are refused with a clear message). Hashing uses OpenSSL's
 * libcrypto: its sha256 has the SHA-NI and AVX2 code paths, and hashing is most of the
 * CPU time of an import (every byte is hashed once compressed and once not).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define DIGEST_STR_SIZE 72

struct digest {
    char hex[DIGEST_HEX_LEN + 1]; /* lowercase */
};

/* "sha256:<64 lowercase hex>" -> digest; -EINVAL (or -ENOTSUP for another algorithm) with
 * err_msg() saying what is wrong. `what` names the field for the message. */
int digest_parse(const char *s, const char *what, struct digest *out);
/* True for exactly 64 lowercase hex characters. */
bool digest_hex_valid(const char *hex);
/* "sha256:<hex>" */
const char *digest_str(const struct digest *d, char buf[DIGEST_STR_SIZE]);
bool digest_eq(const struct digest *a, const struct digest *b);

struct hasher {
    void *ctx; /* EVP_MD_CTX */
    uint64_t bytes;
};

void hasher_init(struct hasher *h);
void hasher_update(struct hasher *h, const void *data, size_t n);
/* The digest; the hasher is done (hasher_free is then a no-op). */
void hasher_final(struct hasher *h, struct digest *out);
void hasher_free(struct hasher *h);
#define _cleanup_hasher_ __attribute__((cleanup(hasher_free)))

/* Hash a whole buffer. */
void digest_buf(const void *data, size_t n, struct digest *out);
