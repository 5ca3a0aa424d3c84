/* rtnetlink operations berth needs: links (bridge, veth, ifb), addresses, routes. Each
 * returns 0 or -errno with the error recorded (naming the device and, where the kernel
 * says why, its words). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "netns/addr.h"
#include "netns/nl.h"

struct link_info {
    int ifindex;
    char kind[32];   /* IFLA_INFO_KIND ("bridge", "veth"), "" for none */
    char alias[128]; /* IFLA_IFALIAS */
    unsigned mtu;
    int master;
};

/* -ENODEV (no message recorded) when there is no such link. */
int rtnl_link_get(struct nl *nl, const char *name, struct link_info *out);
int rtnl_bridge_create(struct nl *nl, const char *name, unsigned mtu, const char *alias);
/* The host end `name` stays here; the peer is created as `peer_name` in the network
 * namespace of peer_pid, with peer_mac. */
int rtnl_veth_create(struct nl *nl, const char *name, const char *peer_name, pid_t peer_pid,
                     unsigned mtu, const uint8_t peer_mac[6]);
int rtnl_ifb_create(struct nl *nl, const char *name, unsigned mtu);
/* Delete a link by name; a missing link is success. */
int rtnl_link_del(struct nl *nl, const char *name);
int rtnl_link_set_up(struct nl *nl, int ifindex, const char *name);
int rtnl_link_set_master(struct nl *nl, int ifindex, const char *name, int master);
/* No link-local (or any generated) IPv6 address, hence no DAD or MLD traffic from it: for a
 * bridge port, whose packets the bridge floods to every other port. Before it goes up. */
int rtnl_link_no_ipv6_addrs(struct nl *nl, int ifindex, const char *name);
int rtnl_link_set_mtu(struct nl *nl, int ifindex, const char *name, unsigned mtu);

/* Add a.addr/prefix on ifindex (IPv6 without duplicate address detection). Existing: ok. */
int rtnl_addr_add(struct nl *nl, int ifindex, const char *name, const struct ipaddr *a,
                  unsigned prefix);
int rtnl_route_add_default(struct nl *nl, int ifindex, const char *name, const struct ipaddr *gw);

/* Every IPv4 prefix in use in this namespace: addresses (with their prefixes) and routes,
 * default routes excluded. *out is malloc'd. */
int rtnl_ipv4_prefixes(struct nl *nl, struct ipnet **out, size_t *n);

/* Decode of an RTM_NEWLINK message into link_info (for the unit tests too). */
int rtnl_parse_link(const struct nlmsghdr *nlh, struct link_info *out, char *name,
                    size_t name_size);
/* Build an RTM_NEWLINK request creating a veth pair into buf (NL_MSG_SIZE bytes). */
struct nlmsghdr *rtnl_build_veth(void *buf, const char *name, const char *peer_name, pid_t peer_pid,
                                 unsigned mtu, const uint8_t peer_mac[6]);
