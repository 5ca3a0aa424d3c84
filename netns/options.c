/* Parsing of port mappings, rates and network names. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/err.h"
#include "lib/util.h"
#include "netns/options.h"

static int parse_port_number(const char *s, const char *spec, const char *which, uint16_t *out)
{
    uint64_t v;
    if (parse_u64(s, &v) < 0 || v < 1 || v > 65535)
        return err_setx(EINVAL, "published port \"%s\": %s port \"%s\" is not a number 1..65535",
                        spec, which, s);
    *out = (uint16_t)v;
    return 0;
}

int port_parse(const char *s, struct port_map *out)
{
    memset(out, 0, sizeof(*out));
    out->proto = IPPROTO_TCP;
    _cleanup_free_ char *copy = xstrdup(s);
    char *p = copy;
    char *slash = strrchr(p, '/');
    if (slash) {
        *slash = '\0';
        if (strcasecmp(slash + 1, "udp") == 0)
            out->proto = IPPROTO_UDP;
        else if (strcasecmp(slash + 1, "tcp") != 0)
            return err_setx(EINVAL, "published port \"%s\": protocol must be tcp or udp", s);
    }
    if (*p == '[') {
        char *end = strchr(p, ']');
        if (!end || end[1] != ':')
            return err_setx(EINVAL, "published port \"%s\": expected [IPv6]:HOSTPORT:PORT", s);
        *end = '\0';
        int r = ip_parse(p + 1, "published port host address", &out->host);
        if (r < 0 || out->host.family != AF_INET6)
            return err_setx(EINVAL, "published port \"%s\": \"%s\" is not an IPv6 address", s,
                            p + 1);
        p = end + 2;
    }
    char *last = strrchr(p, ':');
    if (!last)
        return err_setx(EINVAL, "published port \"%s\": expected [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]",
                        s);
    *last = '\0';
    char *hostport = strrchr(p, ':');
    if (hostport) {
        if (out->host.family)
            return err_setx(EINVAL, "published port \"%s\": too many fields", s);
        *hostport++ = '\0';
        int r = ip_parse(p, "published port host address", &out->host);
        if (r < 0 || out->host.family != AF_INET)
            return err_setx(EINVAL,
                            "published port \"%s\": \"%s\" is not an IP address (write "
                            "IPv6 addresses in brackets)",
                            s, p);
    } else {
        hostport = p;
    }
    int r = parse_port_number(hostport, s, "host", &out->host_port);
    if (r == 0)
        r = parse_port_number(last + 1, s, "container", &out->ctr_port);
    return r;
}

const char *port_proto_name(int proto)
{
    return proto == IPPROTO_UDP ? "udp" : "tcp";
}

void port_format(const struct port_map *p, char *buf, size_t size)
{
    char ip[IP_STRLEN];
    const char *proto = port_proto_name(p->proto);
    if (!p->host.family) {
        snprintf(buf, size, "%u:%u/%s", p->host_port, p->ctr_port, proto);
        return;
    }
    ip_format(&p->host, ip);
    snprintf(buf, size, p->host.family == AF_INET6 ? "[%s]:%u:%u/%s" : "%s:%u:%u/%s", ip,
             p->host_port, p->ctr_port, proto);
}

bool port_conflict(const struct port_map *a, const struct port_map *b)
{
    if (a->proto != b->proto || a->host_port != b->host_port)
        return false;
    return !a->host.family || !b->host.family || ip_equal(&a->host, &b->host);
}

static const struct {
    const char *suffix;
    uint64_t mult; /* bits per second per unit */
} rate_units[] = {
        {"bit", 1},
        {"kbit", 1000},
        {"mbit", 1000000},
        {"gbit", 1000000000},
        {"tbit", 1000000000000ULL},
        {"k", 1000},
        {"m", 1000000},
        {"g", 1000000000},
        {"bps", 8},
        {"kbps", 8000},
        {"mbps", 8000000},
        {"gbps", 8000000000ULL},
};

int rate_parse(const char *s, const char *what, uint64_t *bits)
{
    const char *p = s;
    _cleanup_free_ char *num = NULL;
    while (isdigit((unsigned char)*p) || *p == '.')
        p++;
    if (p == s)
        goto bad;
    num = xstrndup(s, (size_t)(p - s));
    char *end;
    errno = 0;
    double v = strtod(num, &end);
    if (errno || *end || v <= 0)
        goto bad;
    for (size_t i = 0; i < ARRAY_SIZE(rate_units); i++) {
        if (strcasecmp(p, rate_units[i].suffix) != 0)
            continue;
        double b = v * (double)rate_units[i].mult;
        if (b < 8000 || b > 100e9)
            return err_setx(ERANGE, "%s: rate \"%s\" is outside 8kbit..100gbit", what, s);
        *bits = (uint64_t)b;
        return 0;
    }
bad:
    return err_setx(EINVAL, "%s: \"%s\" is not a rate (e.g. 10mbit, 500kbit, 1gbit, 2mbps)", what,
                    s);
}

void rate_format(uint64_t bits, char *buf, size_t size)
{
    if (bits % 1000000000 == 0)
        snprintf(buf, size, "%llugbit", (unsigned long long)(bits / 1000000000));
    else if (bits % 1000000 == 0)
        snprintf(buf, size, "%llumbit", (unsigned long long)(bits / 1000000));
    else if (bits % 1000 == 0)
        snprintf(buf, size, "%llukbit", (unsigned long long)(bits / 1000));
    else
        snprintf(buf, size, "%llubit", (unsigned long long)bits);
}

int network_name_validate(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NETWORK_NAME_MAX || !isalnum((unsigned char)name[0]))
        goto bad;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
            goto bad;
    return 0;
bad:
    return err_setx(EINVAL,
                    "network name \"%s\": use 1..%d characters [A-Za-z0-9_.-] starting "
                    "with a letter or digit",
                    name, NETWORK_NAME_MAX);
}
