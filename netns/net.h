/*
 * Container networking: bridge + veth via rtnetlink (libmnl), IPAM, NAT and
 * published ports (nftables via netlink), bandwidth caps (tc via netlink).
 *
 * A container asks for networking through annotations in config.json, so any
 * OCI client can use it; `berth run/create` flags set the same keys:
 *   org.berth.net.network  network name ("none": no networking; unset while another
 *                          org.berth.net.* key is set: the default network)
 *   org.berth.net.ip       fixed address(es) on that network, comma separated; default automatic
 *   org.berth.net.publish  comma separated "[hostip:]hostport:containerport[/tcp|/udp]"
 *   org.berth.net.egress   rate cap for traffic leaving the container ("10mbit", "500kbit")
 *   org.berth.net.ingress  rate cap for traffic entering the container
 * A config that joins an existing network namespace by path gets no veth.
 *
 * Everything returns 0 or -errno with err_msg() naming the cause.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/spec.h"

struct net_request;

/* The request in config.json's annotations; *out = NULL when none. Validated here, before
 * anything is created (bad address, unknown network, malformed port or rate). */
int net_request_from_spec(const char *root, const struct spec *s, struct net_request **out);
void net_request_free(struct net_request *req);

/*
 * Called by berth in the runtime namespace while the container process waits,
 * once its network namespace exists (netns_pid is a process inside it): lease
 * an address, create the veth pair, move and configure the container end, add
 * NAT/port rules and rate caps. *record is the JSON to keep in state.json for
 * net_detach. On failure everything made so far is undone.
 */
struct net_saver {
    /* Called once what will be made is decided (names, address, rules' tag) and before any of
     * it exists, so that a berth killed in the middle leaves a record delete can undo. */
    int (*save)(void *ctx, const char *record);
    void *ctx;
};
int net_attach(const char *root, const char *id, pid_t netns_pid, const struct net_request *req,
               const struct net_saver *saver, char **record);

/* Undo what net_attach made (veth, rules, caps, lease), from its record. Idempotent: safe
 * after a crash, a kill -9 of the container, or a half-done attach. */
int net_detach(const char *root, const char *id, const char *record);

/* ---- networks (berth network create|ls|inspect|rm) ---- */

struct net_create_opts {
    const char *name;
    const char *subnet;       /* IPv4 CIDR, required */
    const char *gateway;      /* default: the first host address */
    const char *ipv6_subnet;  /* optional */
    const char *ipv6_gateway; /* default: the first host address */
    const char *bridge;       /* default: br-NAME (berth0 for "default") */
    unsigned mtu;             /* default 1500 */
};

/* Define a network and create its bridge and masquerade rules in this network namespace. */
int net_network_create(const char *root, const struct net_create_opts *o);
/* Remove a network (its bridge and rules); refused while a container uses it. */
int net_network_remove(const char *root, const char *name);
/* One network as JSON, with the containers on it (indented, trailing newline). */
int net_network_inspect(const char *root, const char *name, char **json);

struct net_summary {
    char name[16];
    char bridge[16];
    char subnet[56];
    char ipv6_subnet[56]; /* "" when none */
    unsigned mtu;
    size_t containers;
};
int net_network_list(const char *root, struct net_summary **out, size_t *n);
