/*
 * NAT for container networks with nftables, through libnftnl over libmnl.
 *
 * berth owns one table, `inet berth`, with three NAT base chains:
 *   prerouting  (nat, prerouting, priority dstnat)  published ports, from other hosts
 *   output      (nat, output,     priority dstnat)  published ports, from this host
 *   postrouting (nat, postrouting, priority srcnat) masquerade for each network
 * Every rule carries a comment saying whom it belongs to ("berth network NAME",
 * "berth container ID"): removing a network's or a container's rules is a dump of the
 * table and a batch deleting the handles with that comment, so nothing has to remember
 * handles and a half-finished attach is undone the same way. Adding rules is one batch that
 * also (re)creates the table and chains, so it works on a fresh namespace.
 */
#pragma once

#include <stddef.h>

#include "netns/addr.h"
#include "netns/options.h"

#define NFT_TABLE "berth"

/* The comment that tags the rules of a network or a container. */
void nft_network_tag(const char *name, char *buf, size_t size);
void nft_container_tag(const char *id, char *buf, size_t size);

/* Masquerade for traffic from the subnet(s) that leaves through another interface than
 * the bridge, and for published-port traffic between containers of the network (hairpin).
 * Nothing is added when rules with the tag exist. v6 may be NULL. */
int nft_network_ensure(const char *name, const char *bridge, const struct ipnet *v4,
                       const struct ipnet *v6);
/* DNAT for each published port to the container's address(es) (v6 may be NULL). */
int nft_container_add(const char *tag, const struct port_map *ports, size_t n,
                      const struct ipaddr *v4, const struct ipaddr *v6);
/* Delete every rule tagged `tag`; the table itself goes when remove_empty_table and no rule
 * is left. A missing table is success. */
int nft_remove_tagged(const char *tag, int remove_empty_table);
/* Count rules carrying `tag` (NULL: every rule in the table). */
int nft_count_tagged(const char *tag, size_t *n);
