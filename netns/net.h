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
int net_attach(const char *root, const char *id, pid_t netns_pid, const struct net_request *req,
               char **record);

/* Undo what net_attach made (veth, rules, caps, lease), from its record. Idempotent: safe
 * after a crash, a kill -9 of the container, or a half-done attach. */
int net_detach(const char *root, const char *id, const char *record);
