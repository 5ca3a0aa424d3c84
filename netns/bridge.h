/* A network's bridge in the current network namespace, and the default network. */
#pragma once

#include "netns/nl.h"
#include "netns/store.h"

/* The alias berth gives its bridges: a bridge of that name without it is someone else's. */
void bridge_alias(const struct network *n, char *buf, size_t size);
/* Make sure the bridge exists (create it with the gateway address(es), up), forwarding is
 * on and the network's masquerade rules are in place. EEXIST names a clash when an
 * interface of the bridge's name exists and is not berth's bridge for this network. */
int bridge_ensure(struct nl *nl, const struct network *n);
/* Delete the bridge and the network's rules (network rm). */
int bridge_remove(struct nl *nl, const struct network *n);
/* Load a network; "default" is created on first use on a free private subnet. */
int network_load_or_default(int dirfd, struct nl *nl, const char *name, struct network *out);
/* The first candidate private subnet that overlaps none of used[] (and no network of the
 * store). Pure, for the unit tests: 0 or -ENOSPC. */
int default_subnet_pick(const struct ipnet *used, size_t n_used, struct ipnet *out);
/* Check a new subnet against this namespace's addresses and routes and other networks. */
int subnet_check_free(struct nl *nl, int dirfd, const struct network *n);
