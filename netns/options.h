/* The small languages of networking options (pure, unit tested): published ports
 * "[hostip:]hostport:containerport[/tcp|/udp]", rates "10mbit", network names. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netns/addr.h"

struct port_map {
    int proto;          /* IPPROTO_TCP or IPPROTO_UDP */
    struct ipaddr host; /* family 0: every local address */
    uint16_t host_port, ctr_port;
};

/* "8080:80", "8080:80/udp", "127.0.0.1:8080:80/tcp", "[fd00::1]:8080:80". */
int port_parse(const char *s, struct port_map *out);
/* The canonical form, parseable by port_parse. */
void port_format(const struct port_map *p, char *buf, size_t size);
const char *port_proto_name(int proto);
/* Same protocol and host port, and the host addresses overlap (unset is every address). */
bool port_conflict(const struct port_map *a, const struct port_map *b);

/* tc's units: bit, kbit, mbit, gbit, tbit (SI, bits per second) and bps, kbps, mbps, gbps
 * (bytes per second); "k/m/g" alone mean kbit/mbit/gbit. Result in bits per second,
 * 8 kbit/s .. 100 gbit/s. */
int rate_parse(const char *s, const char *what, uint64_t *bits);
void rate_format(uint64_t bits, char *buf, size_t size);

/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most NETWORK_NAME_MAX bytes (the bridge is "br-NAME" and
 * a Linux interface name has at most 15 characters). */
#define NETWORK_NAME_MAX 12
int network_name_validate(const char *name);
