/* IP address and prefix arithmetic for IPAM (pure, unit tested). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/util.h"
#include "netns/addr.h"

int ip_parse(const char *s, const char *what, struct ipaddr *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, s, out->a) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, s, out->a) == 1)
        out->family = AF_INET6;
    else
        return err_setx(EINVAL, "%s: \"%s\" is not an IPv4 or IPv6 address", what, s);
    return 0;
}

void ip_format(const struct ipaddr *a, char buf[IP_STRLEN])
{
    if (!a->family || !inet_ntop(a->family, a->a, buf, IP_STRLEN))
        snprintf(buf, IP_STRLEN, "?");
}

bool ip_equal(const struct ipaddr *a, const struct ipaddr *b)
{
    return a->family == b->family && memcmp(a->a, b->a, ip_len(a->family)) == 0;
}

static bool bit_set(const uint8_t *a, unsigned i)
{
    return a[i / 8] & (0x80 >> (i % 8));
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    if (memcmp(a, b, bits / 8) != 0)
        return false;
    if (bits % 8 == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
    return (a[bits / 8] & mask) == (b[bits / 8] & mask);
}

int cidr_parse(const char *s, const char *what, struct ipnet *out)
{
    memset(out, 0, sizeof(*out));
    const char *slash = strchr(s, '/');
    if (!slash)
        return err_setx(EINVAL,
                        "%s: \"%s\" is not a CIDR prefix (expected ADDRESS/LENGTH, "
                        "e.g. 10.88.0.0/16)",
                        what, s);
    _cleanup_free_ char *ip = xstrndup(s, (size_t)(slash - s));
    int r = ip_parse(ip, what, &out->addr);
    if (r < 0)
        return r;
    int len;
    unsigned min = out->addr.family == AF_INET ? 8 : 64;
    unsigned max = out->addr.family == AF_INET ? 30 : 120;
    if (parse_int(slash + 1, &len) < 0 || len < (int)min || len > (int)max)
        return err_setx(EINVAL, "%s: prefix length in \"%s\" must be %u..%u", what, s, min, max);
    out->prefix = (unsigned)len;
    unsigned total = (unsigned)ip_len(out->addr.family) * 8;
    for (unsigned i = out->prefix; i < total; i++)
        if (bit_set(out->addr.a, i)) {
            struct ipnet fixed = *out;
            for (unsigned j = out->prefix; j < total; j++)
                fixed.addr.a[j / 8] &= (uint8_t) ~(0x80 >> (j % 8));
            char buf[CIDR_STRLEN];
            cidr_format(&fixed, buf);
            return err_setx(EINVAL, "%s: \"%s\" has host bits set (did you mean %s?)", what, s,
                            buf);
        }
    return 0;
}

void cidr_format(const struct ipnet *n, char buf[CIDR_STRLEN])
{
    char ip[IP_STRLEN];
    ip_format(&n->addr, ip);
    snprintf(buf, CIDR_STRLEN, "%s/%u", ip, n->prefix);
}

bool net_contains(const struct ipnet *n, const struct ipaddr *a)
{
    return n->addr.family == a->family && prefix_equal(n->addr.a, a->a, n->prefix);
}

bool net_overlap(const struct ipnet *a, const struct ipnet *b)
{
    if (a->addr.family != b->addr.family)
        return false;
    unsigned bits = a->prefix < b->prefix ? a->prefix : b->prefix;
    return prefix_equal(a->addr.a, b->addr.a, bits);
}

unsigned net_host_bits(const struct ipnet *n)
{
    return (unsigned)ip_len(n->addr.family) * 8 - n->prefix;
}

void net_nth(const struct ipnet *n, uint64_t index, struct ipaddr *out)
{
    *out = n->addr;
    size_t len = ip_len(n->addr.family);
    /* add index to the last 8 bytes, big endian, with carry */
    unsigned carry = 0;
    for (size_t i = 0; i < 8 && i < len; i++) {
        size_t pos = len - 1 - i;
        unsigned sum = out->a[pos] + (unsigned)((index >> (8 * i)) & 0xff) + carry;
        out->a[pos] = (uint8_t)sum;
        carry = sum >> 8;
    }
}

uint64_t net_index(const struct ipnet *n, const struct ipaddr *a)
{
    size_t len = ip_len(n->addr.family);
    unsigned hb = net_host_bits(n);
    uint64_t v = 0;
    for (size_t i = len > 8 ? len - 8 : 0; i < len; i++)
        v = (v << 8) | a->a[i];
    if (hb < 64)
        v &= ((uint64_t)1 << hb) - 1;
    return v;
}

uint64_t net_last_index(const struct ipnet *n)
{
    unsigned hb = net_host_bits(n);
    if (hb > 24)
        return (uint64_t)1 << 24;
    uint64_t size = (uint64_t)1 << hb;
    return n->addr.family == AF_INET ? size - 2 : size - 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t ipam_pick(uint64_t last, const uint64_t *used, size_t n_used)
{
    _cleanup_free_ uint64_t *s = xmalloc((n_used ? n_used : 1) * sizeof(*s));
    if (n_used)
        memcpy(s, used, n_used * sizeof(*s));
    qsort(s, n_used, sizeof(*s), cmp_u64);
    uint64_t want = 1;
    for (size_t i = 0; i < n_used && want <= last; i++) {
        if (s[i] < want)
            continue;
        if (s[i] > want)
            break;
        want++;
    }
    return want <= last ? want : 0;
}
