/* berth network create|ls|inspect|rm: the store plus the bridge in this namespace. */
#include <errno.h>
#include <string.h>

#include "lib/err.h"
#include "lib/json.h"
#include "lib/util.h"
#include "netns/bridge.h"
#include "netns/net.h"
#include "netns/rtnl.h"
#include "netns/store.h"

static int network_from_opts(const struct net_create_opts *o, struct network *n)
{
    int r;
    memset(n, 0, sizeof(*n));
    if ((r = network_name_validate(o->name)) < 0)
        return r;
    if (streq(o->name, "none"))
        return err_setx(EINVAL, "network name \"none\" is reserved (it means no networking)");
    snprintf(n->name, sizeof(n->name), "%s", o->name);
    if (!o->subnet)
        return err_setx(EINVAL, "a network needs --subnet (e.g. --subnet 10.90.0.0/24)");
    if ((r = cidr_parse(o->subnet, "--subnet", &n->v4)) < 0)
        return r;
    if (n->v4.addr.family != AF_INET)
        return err_setx(EINVAL,
                        "--subnet %s: give the IPv4 subnet here and the IPv6 one with "
                        "--ipv6-subnet",
                        o->subnet);
    if (o->ipv6_subnet) {
        if ((r = cidr_parse(o->ipv6_subnet, "--ipv6-subnet", &n->v6)) < 0)
            return r;
        if (n->v6.addr.family != AF_INET6)
            return err_setx(EINVAL, "--ipv6-subnet %s is not an IPv6 subnet", o->ipv6_subnet);
        n->has_v6 = true;
    }
    if (o->bridge) {
        if (strlen(o->bridge) >= IFNAMSIZ || !*o->bridge || strchr(o->bridge, '/') ||
            strchr(o->bridge, ' '))
            return err_setx(EINVAL,
                            "--bridge \"%s\": not a valid interface name (1..15 "
                            "characters, no '/' or spaces)",
                            o->bridge);
        snprintf(n->bridge, sizeof(n->bridge), "%s", o->bridge);
    }
    n->mtu = o->mtu;
    return network_complete(n, o->gateway, o->ipv6_gateway);
}

static int check_bridge_unused(int dirfd, const struct network *n)
{
    struct network *all = NULL;
    size_t na = 0;
    int r = network_list(dirfd, &all, &na);
    for (size_t i = 0; r == 0 && i < na; i++)
        if (streq(all[i].bridge, n->bridge))
            r = err_setx(EEXIST, "bridge name clash: network %s uses bridge %s already",
                         all[i].name, n->bridge);
    free(all);
    return r;
}

int net_network_create(const char *root, const struct net_create_opts *o)
{
    struct network n, existing;
    int r = network_from_opts(o, &n);
    if (r < 0)
        return r;
    _cleanup_close_ int dirfd = -1, lockfd = -1;
    _cleanup_nl_ struct nl *nl = NULL;
    if ((r = store_open(root, true, &dirfd)) < 0 || (r = store_lock(dirfd, &lockfd)) < 0)
        return r;
    if (network_load(dirfd, n.name, &existing) == 0)
        return err_setx(EEXIST, "network %s exists already", n.name);
    err_clear();
    if ((r = check_bridge_unused(dirfd, &n)) < 0 || (r = nl_open(NETLINK_ROUTE, &nl)) < 0)
        return r;
    struct link_info li;
    r = rtnl_link_get(nl, n.bridge, &li);
    if (r == 0)
        return err_setx(EEXIST,
                        "bridge name clash: an interface named %s exists already (%s%s): "
                        "pick another name with --bridge",
                        n.bridge, li.kind[0] ? li.kind : "device",
                        li.alias[0] ? ", not made for this network" : "");
    if (r != -ENODEV)
        return r;
    if ((r = subnet_check_free(nl, dirfd, &n)) < 0)
        return r;
    if ((r = bridge_ensure(nl, &n)) < 0) {
        (void)bridge_remove(nl, &n);
        return r;
    }
    return network_save(dirfd, &n);
}

static bool lease_in_network(const struct lease *e, const char *name)
{
    return streq(e->network, name);
}

int net_network_remove(const char *root, const char *name)
{
    _cleanup_close_ int dirfd = -1, lockfd = -1;
    _cleanup_nl_ struct nl *nl = NULL;
    struct network n;
    int r = store_open(root, false, &dirfd);
    if (r == -ENOENT)
        return err_setx(ENOENT, "network %s does not exist", name);
    if (r < 0 || (r = store_lock(dirfd, &lockfd)) < 0 || (r = network_load(dirfd, name, &n)) < 0)
        return r;
    struct leases l;
    if ((r = leases_load(dirfd, &l)) < 0)
        return r;
    size_t reclaimed = leases_reclaim(root, &l);
    char users[512] = "";
    size_t in_use = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (!lease_in_network(&l.v[i], name))
            continue;
        if (in_use++ < 5) {
            size_t len = strlen(users);
            snprintf(users + len, sizeof(users) - len, "%s%s", len ? ", " : "", l.v[i].id);
        }
    }
    if (reclaimed && (r = leases_save(dirfd, &l)) < 0) {
        leases_free(&l);
        return r;
    }
    leases_free(&l);
    if (in_use)
        return err_setx(EBUSY, "network %s is in use by %zu container%s (%s%s): delete %s first",
                        name, in_use, in_use == 1 ? "" : "s", users, in_use > 5 ? ", ..." : "",
                        in_use == 1 ? "it" : "them");
    if ((r = nl_open(NETLINK_ROUTE, &nl)) < 0 || (r = bridge_remove(nl, &n)) < 0)
        return r;
    return network_delete_file(dirfd, name);
}

static bool lease_live(const char *root, const struct lease *e)
{
    return !lease_is_stale(root, e);
}

int net_network_inspect(const char *root, const char *name, char **json)
{
    _cleanup_close_ int dirfd = -1;
    struct network n;
    int r = store_open(root, false, &dirfd);
    if (r == -ENOENT)
        return err_setx(ENOENT, "network %s does not exist", name);
    if (r < 0 || (r = network_load(dirfd, name, &n)) < 0)
        return r;
    struct leases l;
    if ((r = leases_load(dirfd, &l)) < 0)
        return r;
    struct jw w, inner;
    jw_init(&inner, NULL);
    network_write_json(&inner, &n);
    jw_init(&w, "  ");
    /* the network's fields, then its containers */
    struct arena a = {0};
    struct json *doc;
    r = json_parse(&a, inner.buf, inner.len, "network", &doc);
    jw_free(&inner);
    if (r < 0) {
        arena_free(&a);
        leases_free(&l);
        jw_free(&w);
        return r;
    }
    jw_object_begin(&w);
    for (size_t i = 0; i < doc->n; i++) {
        const struct json *v = doc->object.values[i];
        jw_key(&w, doc->object.keys[i]);
        if (v->type == JSON_STRING)
            jw_string(&w, v->string);
        else
            jw_raw(&w, v->number, strlen(v->number));
    }
    arena_free(&a);
    jw_key(&w, "containers");
    jw_array_begin(&w);
    for (size_t i = 0; i < l.n; i++) {
        const struct lease *e = &l.v[i];
        if (!streq(e->network, name) || !lease_live(root, e))
            continue;
        char ip[IP_STRLEN], buf[96];
        jw_object_begin(&w);
        jw_kv_string(&w, "id", e->id);
        ip_format(&e->addr, ip);
        jw_kv_string(&w, "ipv4", ip);
        if (e->addr6.family) {
            ip_format(&e->addr6, ip);
            jw_kv_string(&w, "ipv6", ip);
        }
        jw_key(&w, "ports");
        jw_array_begin(&w);
        for (size_t j = 0; j < e->n_ports; j++) {
            port_format(&e->ports[j], buf, sizeof(buf));
            jw_string(&w, buf);
        }
        jw_array_end(&w);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w);
    jw_putc(&w, '\n');
    leases_free(&l);
    *json = jw_steal(&w, NULL);
    return 0;
}

int net_network_list(const char *root, struct net_summary **out, size_t *n)
{
    _cleanup_close_ int dirfd = -1;
    *out = NULL;
    *n = 0;
    int r = store_open(root, false, &dirfd);
    if (r == -ENOENT)
        return 0;
    struct network *nets = NULL;
    size_t nn = 0;
    if (r < 0 || (r = network_list(dirfd, &nets, &nn)) < 0)
        return r;
    struct leases l;
    if ((r = leases_load(dirfd, &l)) < 0) {
        free(nets);
        return r;
    }
    leases_reclaim(root, &l);
    *out = xcalloc(nn ? nn : 1, sizeof(**out));
    for (size_t i = 0; i < nn; i++) {
        struct net_summary *s = &(*out)[i];
        snprintf(s->name, sizeof(s->name), "%s", nets[i].name);
        snprintf(s->bridge, sizeof(s->bridge), "%s", nets[i].bridge);
        cidr_format(&nets[i].v4, s->subnet);
        if (nets[i].has_v6)
            cidr_format(&nets[i].v6, s->ipv6_subnet);
        s->mtu = nets[i].mtu;
        for (size_t j = 0; j < l.n; j++)
            s->containers += streq(l.v[j].network, nets[i].name);
    }
    *n = nn;
    leases_free(&l);
    free(nets);
    return 0;
}
