/* IP addresses and prefixes (IPv4 and IPv6), and the pure parts of address management:
 * parsing, containment, overlap, the n-th address of a subnet and picking a free one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <arpa/inet.h>

struct ipaddr {
    int family; /* AF_INET or AF_INET6; 0 when unset */
    uint8_t a[16];
};

struct ipnet {
    struct ipaddr addr;
    unsigned prefix;
};

#define IP_STRLEN   INET6_ADDRSTRLEN
#define CIDR_STRLEN (INET6_ADDRSTRLEN + 4)

static inline size_t ip_len(int family)
{
    return family == AF_INET ? 4 : 16;
}

/* "10.0.0.1" or "fd00::1" (no brackets). -EINVAL with a message naming `what`. */
int ip_parse(const char *s, const char *what, struct ipaddr *out);
void ip_format(const struct ipaddr *a, char buf[IP_STRLEN]);
bool ip_equal(const struct ipaddr *a, const struct ipaddr *b);
/* "10.88.0.0/16": host bits must be zero; IPv4 prefixes /8../30, IPv6 /64../120. */
int cidr_parse(const char *s, const char *what, struct ipnet *out);
void cidr_format(const struct ipnet *n, char buf[CIDR_STRLEN]);
bool net_contains(const struct ipnet *n, const struct ipaddr *a);
bool net_overlap(const struct ipnet *a, const struct ipnet *b);
/* Number of host bits (32 - prefix or 128 - prefix). */
unsigned net_host_bits(const struct ipnet *n);
/* The address `index` places after the network address (index must fit the host bits). */
void net_nth(const struct ipnet *n, uint64_t index, struct ipaddr *out);
/* The offset of a from the network address (a must be inside n; host bits beyond 64 are
 * ignored). */
uint64_t net_index(const struct ipnet *n, const struct ipaddr *a);
/* Host addresses usable by containers: 1 .. size-2 for IPv4 (no network or broadcast),
 * capped at 2^24 so huge IPv6 subnets stay cheap to scan. */
uint64_t net_last_index(const struct ipnet *n);

/* The lowest index in [1, last] not in used[] (sorted or not): 0 when none is free. */
uint64_t ipam_pick(uint64_t last, const uint64_t *used, size_t n_used);
