/* Bridges, forwarding, the default network. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netns/bridge.h"
#include "netns/nft.h"
#include "netns/rtnl.h"

void bridge_alias(const struct network *n, char *buf, size_t size)
{
    snprintf(buf, size, "berth network %s", n->name);
}

static int sysctl_on(const char *path)
{
    _cleanup_free_ char *cur = NULL;
    if (read_file_at(AT_FDCWD, path, 64, &cur, NULL) == 0 && cur[0] == '1')
        return 0;
    int r = write_string_at(AT_FDCWD, path, "1");
    return r < 0 ? err_set(r, "enable forwarding (%s)", path) : 0;
}

static int bridge_create(struct nl *nl, const struct network *n)
{
    char alias[128];
    bridge_alias(n, alias, sizeof(alias));
    int r = rtnl_bridge_create(nl, n->bridge, n->mtu, alias);
    if (r < 0)
        return err_prefix(r, "network %s", n->name);
    struct link_info br;
    if ((r = rtnl_link_get(nl, n->bridge, &br)) < 0)
        return r == -ENODEV ? err_setx(ENODEV, "bridge %s vanished", n->bridge) : r;
    if ((r = rtnl_addr_add(nl, br.ifindex, n->bridge, &n->gw4, n->v4.prefix)) < 0)
        return r;
    if (n->has_v6 && (r = rtnl_addr_add(nl, br.ifindex, n->bridge, &n->gw6, n->v6.prefix)) < 0)
        return r;
    return rtnl_link_set_up(nl, br.ifindex, n->bridge);
}

int bridge_ensure(struct nl *nl, const struct network *n)
{
    struct link_info li;
    char alias[128];
    bridge_alias(n, alias, sizeof(alias));
    int r = rtnl_link_get(nl, n->bridge, &li);
    if (r == -ENODEV) {
        if ((r = bridge_create(nl, n)) < 0) {
            (void)rtnl_link_del(nl, n->bridge);
            return r;
        }
    } else if (r < 0) {
        return r;
    } else if (!streq(li.kind, "bridge") || !streq(li.alias, alias)) {
        return err_setx(EEXIST,
                        "network %s: bridge name clash: an interface named %s exists "
                        "and is not berth's bridge for this network (it is %s%s%s): "
                        "remove it or recreate the network with another name",
                        n->name, n->bridge, li.kind[0] ? "a " : "a device", li.kind,
                        streq(li.kind, "bridge") ? " without berth's alias" : "");
    }
    if ((r = sysctl_on("/proc/sys/net/ipv4/ip_forward")) < 0)
        return r;
    if (n->has_v6 && (r = sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding")) < 0)
        return r;
    r = nft_network_ensure(n->name, n->bridge, &n->v4, n->has_v6 ? &n->v6 : NULL);
    return r < 0 ? err_prefix(r, "network %s", n->name) : 0;
}

int bridge_remove(struct nl *nl, const struct network *n)
{
    struct link_info li;
    char alias[128], tag[300];
    bridge_alias(n, alias, sizeof(alias));
    int r = rtnl_link_get(nl, n->bridge, &li);
    if (r == 0 && streq(li.kind, "bridge") && streq(li.alias, alias) &&
        (r = rtnl_link_del(nl, n->bridge)) < 0)
        return r;
    if (r < 0 && r != -ENODEV)
        return r;
    nft_network_tag(n->name, tag, sizeof(tag));
    return nft_remove_tagged(tag, true);
}

int default_subnet_pick(const struct ipnet *used, size_t n_used, struct ipnet *out)
{
    /* 10.88-10.99.0.0/16, 172.17-172.31.0.0/16, 192.168.0-255.0/24 */
    for (unsigned k = 0; k < 12 + 15 + 256; k++) {
        struct ipnet c = {.addr.family = AF_INET};
        if (k < 12) {
            c.addr.a[0] = 10, c.addr.a[1] = (uint8_t)(88 + k), c.prefix = 16;
        } else if (k < 27) {
            c.addr.a[0] = 172, c.addr.a[1] = (uint8_t)(17 + k - 12), c.prefix = 16;
        } else {
            c.addr.a[0] = 192, c.addr.a[1] = 168, c.addr.a[2] = (uint8_t)(k - 27), c.prefix = 24;
        }
        bool clash = false;
        for (size_t i = 0; i < n_used && !clash; i++)
            clash = used[i].prefix > 0 && net_overlap(&c, &used[i]);
        if (!clash) {
            *out = c;
            return 0;
        }
    }
    return -ENOSPC;
}

/* Prefixes in use: this namespace's addresses and routes plus every network of the store. */
static int used_prefixes(struct nl *nl, int dirfd, const char *skip, struct ipnet **out, size_t *n)
{
    int r = rtnl_ipv4_prefixes(nl, out, n);
    if (r < 0)
        return r;
    struct network *nets = NULL;
    size_t nn = 0;
    if ((r = network_list(dirfd, &nets, &nn)) < 0) {
        free(*out);
        return r;
    }
    *out = xreallocarray(*out, *n + nn + 1, sizeof(**out));
    for (size_t i = 0; i < nn; i++)
        if (!skip || !streq(nets[i].name, skip))
            (*out)[(*n)++] = nets[i].v4;
    free(nets);
    return 0;
}

int subnet_check_free(struct nl *nl, int dirfd, const struct network *n)
{
    struct ipnet *used = NULL;
    size_t nu = 0;
    int r = used_prefixes(nl, dirfd, n->name, &used, &nu);
    if (r < 0)
        return r;
    for (size_t i = 0; i < nu && r == 0; i++) {
        if (used[i].prefix == 0 || !net_overlap(&n->v4, &used[i]))
            continue;
        char a[CIDR_STRLEN], b[CIDR_STRLEN];
        cidr_format(&n->v4, a);
        cidr_format(&used[i], b);
        r = err_setx(EADDRINUSE,
                     "subnet %s overlaps %s, which is already in use here (an "
                     "address, a route or another network)",
                     a, b);
    }
    free(used);
    return r;
}

int network_load_or_default(int dirfd, struct nl *nl, const char *name, struct network *out)
{
    int r = network_load(dirfd, name, out);
    if (r != -ENOENT || !streq(name, "default"))
        return r;
    err_clear();
    struct ipnet *used = NULL;
    size_t nu = 0;
    if ((r = used_prefixes(nl, dirfd, NULL, &used, &nu)) < 0)
        return r;
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "default");
    r = default_subnet_pick(used, nu, &out->v4);
    free(used);
    if (r < 0)
        return err_setx(ENOSPC, "no free private subnet for the default network: create it by "
                                "hand with berth network create default --subnet CIDR");
    if ((r = network_complete(out, NULL, NULL)) < 0)
        return r;
    char cidr[CIDR_STRLEN];
    cidr_format(&out->v4, cidr);
    log_debug("created the default network on %s", cidr);
    return network_save(dirfd, out);
}
