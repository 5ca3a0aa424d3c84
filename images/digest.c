#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/digest.h"
#include "lib/err.h"
#include "lib/util.h"

bool digest_hex_valid(const char *hex)
{
    size_t i;
    for (i = 0; hex[i]; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return i == DIGEST_HEX_LEN;
}

int digest_parse(const char *s, const char *what, struct digest *out)
{
    const char *colon = s ? strchr(s, ':') : NULL;
    if (!colon)
        return err_setx(EINVAL, "%s: \"%s\" is not a digest (expected sha256:<64 hex digits>)",
                        what, s ? s : "");
    size_t alg_len = (size_t)(colon - s);
    if (alg_len != 6 || strncmp(s, "sha256", 6) != 0)
        return err_setx(ENOTSUP, "%s: digest algorithm \"%.*s\" is not supported (only sha256)",
                        what, (int)alg_len, s);
    if (!digest_hex_valid(colon + 1))
        return err_setx(EINVAL, "%s: \"%s\" is not a valid sha256 digest (64 lowercase hex digits)",
                        what, s);
    memcpy(out->hex, colon + 1, DIGEST_HEX_LEN + 1);
    return 0;
}

const char *digest_str(const struct digest *d, char buf[DIGEST_STR_SIZE])
{
    snprintf(buf, DIGEST_STR_SIZE, "sha256:%s", d->hex);
    return buf;
}

bool digest_eq(const struct digest *a, const struct digest *b)
{
    return memcmp(a->hex, b->hex, DIGEST_HEX_LEN) == 0;
}

void hasher_init(struct hasher *h)
{
    h->bytes = 0;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx)
        die_oom();
    if (!EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL)) {
        fputs("berth: libcrypto cannot compute sha256\n", stderr);
        abort();
    }
}

void hasher_update(struct hasher *h, const void *data, size_t n)
{
    if (n)
        EVP_DigestUpdate(h->ctx, data, n);
    h->bytes += n;
}

void hasher_final(struct hasher *h, struct digest *out)
{
    static const char hexdigits[] = "0123456789abcdef";
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(h->ctx, raw, &len);
    hasher_free(h);
    for (size_t i = 0; i < 32; i++) {
        out->hex[2 * i] = hexdigits[raw[i] >> 4];
        out->hex[2 * i + 1] = hexdigits[raw[i] & 15];
    }
    out->hex[DIGEST_HEX_LEN] = '\0';
}

void hasher_free(struct hasher *h)
{
    if (h->ctx)
        EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

void digest_buf(const void *data, size_t n, struct digest *out)
{
    struct hasher h;
    hasher_init(&h);
    hasher_update(&h, data, n);
    hasher_final(&h, out);
}
