#include <openssl/evp.h>
#include <stdio.h>

#include "lib/hash.h"
#include "lib/util.h"

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_SIZE])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
        die_oom(); /* only allocation can fail in a one-shot digest */
    for (unsigned i = 0; i < n && 2 * i + 2 < SHA256_HEX_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}
