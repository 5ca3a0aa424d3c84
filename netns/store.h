/*
 * The networks store under berth's root (a directory no container id can name, since ids
 * start with [A-Za-z0-9]):
 *   <root>/.networks/<name>.json  one network: subnet(s), gateway(s), bridge, MTU
 *   <root>/.networks/leases       one line per container on a network:
 *                                   NETWORK IPV4[,IPV6] ID PID STARTTIME PORT,PORT|-
 *   <root>/.networks/lock         flock'd (exclusive) around every change of the above
 * A lease is stale, and reclaimed at the next allocation, when the container's state
 * directory is gone or its recorded process is dead (the pid is gone or was reused).
 */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/json.h"
#include "netns/addr.h"
#include "netns/options.h"

#define STORE_DIR "/.networks"

struct network {
    char name[NETWORK_NAME_MAX + 1];
    char bridge[IFNAMSIZ];
    struct ipnet v4;
    struct ipaddr gw4;
    bool has_v6;
    struct ipnet v6;
    struct ipaddr gw6;
    unsigned mtu;
    char created[64];
};

/* Open <root>/.networks (creating root and it when asked); -ENOENT without a message when
 * absent and !create. */
int store_open(const char *root, bool create, int *dirfd);
/* Take the store's lock (blocks); *lockfd is closed to release it. */
int store_lock(int dirfd, int *lockfd);

/* -ENOENT with a message naming the network when it does not exist. */
int network_load(int dirfd, const char *name, struct network *out);
int network_save(int dirfd, const struct network *n);
int network_delete_file(int dirfd, const char *name);
/* All networks, sorted by name. */
int network_list(int dirfd, struct network **out, size_t *n);
void network_write_json(struct jw *w, const struct network *n);
/* Fill gateway(s), bridge and MTU defaults and check them; the subnets are set. */
int network_complete(struct network *n, const char *gw4, const char *gw6);
/* Parse network JSON text (for network_load and the unit tests). */
int network_parse(const char *text, size_t len, const char *what, struct network *out);

struct lease {
    char network[NETWORK_NAME_MAX + 1];
    struct ipaddr addr;  /* IPv4 */
    struct ipaddr addr6; /* family 0 when the network has no IPv6 */
    char *id;
    pid_t pid;
    uint64_t start;
    struct port_map *ports;
    size_t n_ports;
};

struct leases {
    struct lease *v;
    size_t n;
};

int leases_parse(const char *text, struct leases *out);
char *leases_format(const struct leases *l);
void leases_free(struct leases *l);
void leases_remove(struct leases *l, size_t i);
/* Append a copy of the values (id and ports copied). */
void leases_add(struct leases *l, const char *network, const struct ipaddr *a,
                const struct ipaddr *a6, const char *id, pid_t pid, uint64_t start,
                const struct port_map *ports, size_t n_ports);

int leases_load(int dirfd, struct leases *out);
int leases_save(int dirfd, const struct leases *l);
/* Whether one lease is stale (see above). */
bool lease_is_stale(const char *root, const struct lease *e);
/* Drop stale leases (see above); returns how many. */
size_t leases_reclaim(const char *root, struct leases *l);
