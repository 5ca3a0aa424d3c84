/* Traffic control over rtnetlink: token bucket caps on the host side of a container's veth.
 *
 *   to the container   (its ingress): tbf as the root qdisc of the host veth, whose
 *                      transmit queue feeds the container.
 *   from the container (its egress): what the container sends arrives on the host veth's
 *                      receive side; an ingress qdisc there with a match-all u32 filter
 *                      redirects it (mirred) to an ifb device whose root qdisc is a tbf.
 * The container holds neither device, so CAP_NET_ADMIN inside cannot lift the caps. */
#pragma once

#include <stdint.h>

#include "netns/nl.h"

/* Root tbf with rate (bits per second) on ifindex. */
int tc_add_tbf(struct nl *nl, int ifindex, const char *name, uint64_t bits, unsigned mtu);
/* Ingress qdisc on ifindex plus a filter sending everything to target_ifindex's egress. */
int tc_add_redirect(struct nl *nl, int ifindex, const char *name, int target_ifindex,
                    const char *target);

/* Message builders (unit tests) into buf of NL_MSG_SIZE bytes. */
struct nlmsghdr *tc_build_tbf(void *buf, int ifindex, uint64_t bits, unsigned mtu);
struct nlmsghdr *tc_build_redirect_filter(void *buf, int ifindex, int target_ifindex);
/* The tbf parameters for a rate: burst and queue limit in bytes. */
void tc_tbf_params(uint64_t bits, unsigned mtu, uint32_t *burst, uint32_t *limit);
