/*
 * The networking API the runtime calls (net.h): requests from annotations, attach and
 * detach. The pieces live beside this file: nl (netlink), rtnl (links, addresses, routes),
 * tc (rate caps), nft (NAT), addr (IPAM arithmetic), options (ports, rates), store
 * (networks and leases), bridge (a network's bridge and the default network).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netns/bridge.h"
#include "netns/net.h"
#include "netns/nft.h"
#include "netns/rtnl.h"
#include "netns/store.h"
#include "netns/tc.h"
#include "runtime/state.h"

#define ANN_PREFIX "org.berth.net."

struct net_request {
    char network[NETWORK_NAME_MAX + 1];
    struct ipaddr ip4, ip6; /* fixed addresses (family 0: automatic) */
    struct port_map *ports;
    size_t n_ports;
    uint64_t egress, ingress; /* bits per second, 0: none */
};

void net_request_free(struct net_request *req)
{
    if (!req)
        return;
    free(req->ports);
    free(req);
}

static void reqp_free(struct net_request **r)
{
    net_request_free(*r);
}

static int parse_ips(struct net_request *req, const char *value)
{
    _cleanup_free_ char *copy = xstrdup(value);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        struct ipaddr a;
        int r = ip_parse(tok, "annotation " ANN_PREFIX "ip", &a);
        if (r < 0)
            return r;
        struct ipaddr *slot = a.family == AF_INET ? &req->ip4 : &req->ip6;
        if (slot->family)
            return err_setx(EINVAL, "annotation " ANN_PREFIX "ip: more than one IPv%d address",
                            a.family == AF_INET ? 4 : 6);
        *slot = a;
    }
    return 0;
}

static int parse_ports(struct net_request *req, const char *value)
{
    _cleanup_free_ char *copy = xstrdup(value);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        struct port_map p;
        int r = port_parse(tok, &p);
        if (r < 0)
            return err_prefix(r, "annotation " ANN_PREFIX "publish");
        for (size_t i = 0; i < req->n_ports; i++)
            if (port_conflict(&req->ports[i], &p))
                return err_setx(EINVAL,
                                "annotation " ANN_PREFIX "publish: host port %u/%s is "
                                "published twice",
                                p.host_port, port_proto_name(p.proto));
        req->ports = xreallocarray(req->ports, req->n_ports + 1, sizeof(p));
        req->ports[req->n_ports++] = p;
    }
    return 0;
}

static int check_fixed_ip(const struct network *n, const struct ipaddr *a, const struct ipnet *net,
                          const struct ipaddr *gw)
{
    char ip[IP_STRLEN], cidr[CIDR_STRLEN];
    ip_format(a, ip);
    cidr_format(net, cidr);
    if (!net_contains(net, a))
        return err_setx(EINVAL, "address %s is not in network %s's subnet %s", ip, n->name, cidr);
    uint64_t i = net_index(net, a);
    if (ip_equal(a, gw))
        return err_setx(EADDRINUSE, "address %s is network %s's gateway", ip, n->name);
    if (i < 1 || i > net_last_index(net))
        return err_setx(EINVAL, "address %s is not a host address of %s", ip, cidr);
    return 0;
}

/* Checks that need the network's definition (also run again at attach time). */
static int check_against_network(const struct net_request *req, const struct network *n)
{
    int r;
    if (req->ip4.family && (r = check_fixed_ip(n, &req->ip4, &n->v4, &n->gw4)) < 0)
        return r;
    if (req->ip6.family) {
        if (!n->has_v6)
            return err_setx(EINVAL, "network %s has no IPv6 subnet", n->name);
        if ((r = check_fixed_ip(n, &req->ip6, &n->v6, &n->gw6)) < 0)
            return r;
    }
    for (size_t i = 0; i < req->n_ports; i++)
        if (req->ports[i].host.family == AF_INET6 && !n->has_v6)
            return err_setx(EINVAL,
                            "port %u is published on an IPv6 address but network %s has "
                            "no IPv6 subnet",
                            req->ports[i].host_port, n->name);
    return 0;
}

static int apply_annotation(struct net_request *req, const char *key, const char *value, bool *any)
{
    const char *k = key + strlen(ANN_PREFIX);
    *any = true;
    if (streq(k, "network")) {
        if (streq(value, "none")) {
            snprintf(req->network, sizeof(req->network), "none");
            return 0;
        }
        int r = network_name_validate(value);
        if (r < 0)
            return err_prefix(r, "annotation %s", key);
        snprintf(req->network, sizeof(req->network), "%s", value);
        return 0;
    }
    if (streq(k, "ip"))
        return parse_ips(req, value);
    if (streq(k, "publish"))
        return parse_ports(req, value);
    if (streq(k, "egress"))
        return rate_parse(value, "annotation " ANN_PREFIX "egress", &req->egress);
    if (streq(k, "ingress"))
        return rate_parse(value, "annotation " ANN_PREFIX "ingress", &req->ingress);
    return err_setx(EINVAL,
                    "unknown annotation %s (known: " ANN_PREFIX "network, ip, publish, "
                    "egress, ingress)",
                    key);
}

int net_request_from_spec(const char *root, const struct spec *s, struct net_request **out)
{
    _cleanup_(reqp_free) struct net_request *req = xzalloc(sizeof(*req));
    bool any = false;
    int r;
    *out = NULL;
    for (size_t i = 0; i < s->n_annotations; i++) {
        const struct json_kv *kv = &s->annotations[i];
        if (startswith(kv->key, ANN_PREFIX) &&
            (r = apply_annotation(req, kv->key, kv->value, &any)) < 0)
            return r;
    }
    if (!any)
        return 0;
    if (streq(req->network, "none")) {
        if (req->ip4.family || req->ip6.family || req->n_ports || req->egress || req->ingress)
            return err_setx(EINVAL,
                            "annotation " ANN_PREFIX "network is \"none\" but other " ANN_PREFIX
                            "* annotations ask for networking");
        return 0;
    }
    if (!req->network[0])
        snprintf(req->network, sizeof(req->network), "default");
    _cleanup_close_ int dirfd = -1;
    r = store_open(root, false, &dirfd);
    if (r < 0 && r != -ENOENT)
        return r;
    struct network n;
    if (dirfd >= 0 && (r = network_load(dirfd, req->network, &n)) == 0) {
        if ((r = check_against_network(req, &n)) < 0)
            return r;
    } else if (!streq(req->network, "default")) {
        if (dirfd < 0)
            return err_setx(ENOENT,
                            "network %s does not exist (create it with: berth network "
                            "create %s --subnet CIDR)",
                            req->network, req->network);
        return r;
    }
    err_clear();
    *out = TAKE_PTR(req);
    return 0;
}

/* ---- what an attach made: the record in state.json ---- */

struct attachment {
    char network[NETWORK_NAME_MAX + 1];
    char bridge[IFNAMSIZ], veth[IFNAMSIZ], ifb[IFNAMSIZ];
    char tag[300];
    struct ipaddr ip4, ip6;
    unsigned prefix4, prefix6;
    uint64_t ns_dev, ns_ino;
    struct port_map *ports;
    size_t n_ports;
    uint64_t egress, ingress;
};

static char *record_json(const struct attachment *a)
{
    struct jw w;
    char ip[IP_STRLEN], buf[128];
    jw_init(&w, NULL);
    jw_object_begin(&w);
    jw_kv_string(&w, "network", a->network);
    jw_kv_string(&w, "bridge", a->bridge);
    jw_kv_string(&w, "veth", a->veth);
    if (a->ifb[0])
        jw_kv_string(&w, "ifb", a->ifb);
    jw_kv_string(&w, "tag", a->tag);
    if (a->ip4.family) {
        ip_format(&a->ip4, ip);
        snprintf(buf, sizeof(buf), "%s/%u", ip, a->prefix4);
        jw_kv_string(&w, "ipv4", buf);
    }
    if (a->ip6.family) {
        ip_format(&a->ip6, ip);
        snprintf(buf, sizeof(buf), "%s/%u", ip, a->prefix6);
        jw_kv_string(&w, "ipv6", buf);
    }
    jw_kv_uint(&w, "netnsDev", a->ns_dev);
    jw_kv_uint(&w, "netnsIno", a->ns_ino);
    jw_key(&w, "ports");
    jw_array_begin(&w);
    for (size_t i = 0; i < a->n_ports; i++) {
        port_format(&a->ports[i], buf, sizeof(buf));
        jw_string(&w, buf);
    }
    jw_array_end(&w);
    if (a->egress)
        jw_kv_uint(&w, "egress", a->egress);
    if (a->ingress)
        jw_kv_uint(&w, "ingress", a->ingress);
    jw_object_end(&w);
    return jw_steal(&w, NULL);
}

static int copy_str(char *dst, size_t size, const char *src, const char *what)
{
    if (strlen(src) >= size)
        return err_setx(EINVAL, "network record: %s \"%s\" is too long", what, src);
    snprintf(dst, size, "%s", src);
    return 0;
}

static int parse_record_ip(const char *s, struct ipaddr *a, unsigned *prefix)
{
    _cleanup_free_ char *copy = xstrdup(s);
    char *slash = strchr(copy, '/');
    int p = 0;
    if (slash) {
        *slash = '\0';
        if (parse_int(slash + 1, &p) < 0)
            return err_setx(EINVAL, "network record: bad prefix in \"%s\"", s);
    }
    *prefix = (unsigned)p;
    return ip_parse(copy, "network record", a);
}

static int record_parse(const char *text, struct attachment *a)
{
    struct arena ar = {0};
    struct jctx c = {.what = "network record", .arena = &ar};
    struct json *doc, *ports = NULL;
    char *network = NULL, *bridge = NULL, *veth = NULL, *ifb = NULL, *tag = NULL, *ip4 = NULL,
         *ip6 = NULL;
    struct opt_u64 dev = {0}, ino = {0}, eg = {0}, in = {0};
    memset(a, 0, sizeof(*a));
    int r = json_parse(&ar, text, strlen(text), "network record", &doc);
    if (r == 0)
        r = jv_object(&c, doc, NULL);
    if (r == 0)
        r = jo_req_string(&c, doc, NULL, "network", &network);
    if (r == 0)
        r = jo_req_string(&c, doc, NULL, "veth", &veth);
    if (r == 0)
        r = jo_req_string(&c, doc, NULL, "tag", &tag);
    if (r >= 0)
        r = jo_string(&c, doc, NULL, "bridge", &bridge);
    if (r >= 0)
        r = jo_string(&c, doc, NULL, "ifb", &ifb);
    if (r >= 0)
        r = jo_string(&c, doc, NULL, "ipv4", &ip4);
    if (r >= 0)
        r = jo_string(&c, doc, NULL, "ipv6", &ip6);
    if (r >= 0)
        r = jo_opt_u64(&c, doc, NULL, "netnsDev", &dev);
    if (r >= 0)
        r = jo_opt_u64(&c, doc, NULL, "netnsIno", &ino);
    if (r >= 0)
        r = jo_opt_u64(&c, doc, NULL, "egress", &eg);
    if (r >= 0)
        r = jo_opt_u64(&c, doc, NULL, "ingress", &in);
    if (r >= 0)
        r = jo_array(&c, doc, NULL, "ports", &ports);
    if (r >= 0)
        r = copy_str(a->network, sizeof(a->network), network, "network");
    if (r >= 0)
        r = copy_str(a->veth, sizeof(a->veth), veth, "veth");
    if (r >= 0)
        r = copy_str(a->tag, sizeof(a->tag), tag, "tag");
    if (r >= 0 && bridge)
        r = copy_str(a->bridge, sizeof(a->bridge), bridge, "bridge");
    if (r >= 0 && ifb)
        r = copy_str(a->ifb, sizeof(a->ifb), ifb, "ifb");
    if (r >= 0 && ip4)
        r = parse_record_ip(ip4, &a->ip4, &a->prefix4);
    if (r >= 0 && ip6)
        r = parse_record_ip(ip6, &a->ip6, &a->prefix6);
    for (size_t i = 0; r >= 0 && ports && i < ports->n; i++) {
        char *s;
        struct port_map p;
        r = jv_string(&c, ports->items[i], NULL, &s);
        if (r >= 0)
            r = port_parse(s, &p);
        if (r >= 0) {
            a->ports = xreallocarray(a->ports, a->n_ports + 1, sizeof(p));
            a->ports[a->n_ports++] = p;
        }
    }
    a->ns_dev = dev.v;
    a->ns_ino = ino.v;
    a->egress = eg.v;
    a->ingress = in.v;
    arena_free(&ar);
    return r < 0 ? r : 0;
}

/* ---- network namespaces: detach may run from another one than attach did ---- */

static int netns_id(int fd, uint64_t *dev, uint64_t *ino)
{
    struct stat st;
    if ((fd >= 0 ? fstat(fd, &st) : stat("/proc/self/ns/net", &st)) < 0)
        return -errno;
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}

static int open_if_match(const char *path, uint64_t dev, uint64_t ino)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    uint64_t d = 0, i = 0;
    if (netns_id(fd, &d, &i) == 0 && d == dev && i == ino)
        return fd;
    close(fd);
    return -1;
}

/* A handle on the namespace (dev, ino): a named one under /run/netns or any process's. */
static int find_netns(uint64_t dev, uint64_t ino)
{
    const char *dirs[] = {"/run/netns", "/proc"};
    for (size_t k = 0; k < ARRAY_SIZE(dirs); k++) {
        _cleanup_closedir_ DIR *d = opendir(dirs[k]);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.' || (k == 1 && (de->d_name[0] < '0' || de->d_name[0] > '9')))
                continue;
            char path[300];
            snprintf(path, sizeof(path), k == 0 ? "%s/%s" : "%s/%s/ns/net", dirs[k], de->d_name);
            int fd = open_if_match(path, dev, ino);
            if (fd >= 0)
                return fd;
        }
    }
    return -ENOENT;
}

/* Enter the namespace of the record if berth runs elsewhere: *back is where to return
 * (-1: nothing to do). 0 when entered (or already there), -ENOENT when it is gone. */
static int enter_recorded_netns(const struct attachment *a, int *back)
{
    uint64_t dev = 0, ino = 0;
    *back = -1;
    if (!a->ns_ino || netns_id(-1, &dev, &ino) < 0 || (dev == a->ns_dev && ino == a->ns_ino))
        return 0;
    _cleanup_close_ int target = find_netns(a->ns_dev, a->ns_ino);
    if (target < 0)
        return -ENOENT;
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return err_set(errno, "open /proc/self/ns/net");
    if (setns(target, CLONE_NEWNET) < 0) {
        int e = errno;
        close(self);
        return err_set(e, "enter the network namespace of network %s", a->network);
    }
    *back = self;
    return 0;
}

static void leave_netns(int back)
{
    if (back < 0)
        return;
    if (setns(back, CLONE_NEWNET) < 0)
        log_error("cannot return to berth's own network namespace: %s", strerror(errno));
    close(back);
}

/* ---- detach ---- */

static int release_lease(const char *root, const struct attachment *a, const char *id)
{
    _cleanup_close_ int dirfd = -1, lockfd = -1;
    int r = store_open(root, false, &dirfd);
    if (r == -ENOENT)
        return 0;
    if (r < 0 || (r = store_lock(dirfd, &lockfd)) < 0)
        return r;
    struct leases l;
    if ((r = leases_load(dirfd, &l)) < 0)
        return r;
    bool changed = false;
    for (size_t i = 0; i < l.n;) {
        if (streq(l.v[i].network, a->network) && streq(l.v[i].id, id)) {
            leases_remove(&l, i);
            changed = true;
        } else {
            i++;
        }
    }
    if (changed)
        r = leases_save(dirfd, &l);
    leases_free(&l);
    return r;
}

/* Undo the kernel side; every step tolerates what is already gone. */
static int undo_kernel(const struct attachment *a)
{
    int ret = 0, r;
    _cleanup_nl_ struct nl *nl = NULL;
    if ((r = nl_open(NETLINK_ROUTE, &nl)) < 0)
        return r;
    /* deleting the host end takes the container end (and the qdiscs) with it */
    if (a->veth[0] && (r = rtnl_link_del(nl, a->veth)) < 0)
        ret = ret ?: r;
    if (a->ifb[0] && (r = rtnl_link_del(nl, a->ifb)) < 0)
        ret = ret ?: r;
    if (a->tag[0] && (r = nft_remove_tagged(a->tag, false)) < 0)
        ret = ret ?: r;
    return ret;
}

static int detach(const char *root, const char *id, const struct attachment *a)
{
    int back = -1, ret = 0;
    int r = enter_recorded_netns(a, &back);
    if (r == 0) {
        ret = undo_kernel(a);
        leave_netns(back);
    } else if (r == -ENOENT) {
        /* the namespace is gone, and with it the veth, the ifb and the rules */
        log_debug("container %s: the network namespace of its network is gone", id);
    } else {
        ret = r;
    }
    r = release_lease(root, a, id);
    return ret ?: r;
}

static void attachment_free(struct attachment *a)
{
    free(a->ports);
    a->ports = NULL;
}

int net_detach(const char *root, const char *id, const char *record)
{
    struct attachment a;
    int r = record_parse(record, &a);
    if (r < 0)
        return err_prefix(r, "container %s", id);
    r = detach(root, id, &a);
    attachment_free(&a);
    return r < 0 ? err_prefix(r, "remove the network of container %s", id) : 0;
}

/* ---- attach ---- */

static void name_for(const char *prefix, const char *id, unsigned salt, char buf[IFNAMSIZ])
{
    uint32_t h = 2166136261u ^ salt;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(buf, IFNAMSIZ, "%s%08x", prefix, h);
}

/* A host veth name no interface has: vb + hash of the id (the ifb gets ib + the same). */
static int pick_names(struct nl *nl, const char *id, struct attachment *a, bool need_ifb)
{
    for (unsigned salt = 0; salt < 64; salt++) {
        struct link_info li;
        char veth[IFNAMSIZ], ifb[IFNAMSIZ];
        name_for("vb", id, salt, veth);
        name_for("ib", id, salt, ifb);
        int r = rtnl_link_get(nl, veth, &li);
        if (r == 0)
            continue;
        if (r != -ENODEV)
            return r;
        if (need_ifb && (r = rtnl_link_get(nl, ifb, &li)) != -ENODEV) {
            if (r < 0)
                return r;
            continue;
        }
        snprintf(a->veth, IFNAMSIZ, "%s", veth);
        if (need_ifb)
            snprintf(a->ifb, IFNAMSIZ, "%s", ifb);
        return 0;
    }
    return err_setx(EEXIST, "no free interface name for container %s", id);
}

/* The host numbers in use on n: the gateways, and each lease's IPv4 and IPv6 (a fixed IPv6
 * address may hold another number than its IPv4 one). Fails when a lease holds a port or
 * address the request wants. */
static int used_numbers(const struct leases *l, const struct network *n,
                        const struct net_request *req, uint64_t *used, size_t *n_used)
{
    *n_used = 0;
    used[(*n_used)++] = net_index(&n->v4, &n->gw4);
    if (n->has_v6)
        used[(*n_used)++] = net_index(&n->v6, &n->gw6);
    for (size_t i = 0; i < l->n; i++) {
        const struct lease *e = &l->v[i];
        for (size_t j = 0; j < e->n_ports; j++)
            for (size_t k = 0; k < req->n_ports; k++)
                if (port_conflict(&e->ports[j], &req->ports[k])) {
                    char p[96];
                    port_format(&req->ports[k], p, sizeof(p));
                    return err_setx(EADDRINUSE, "port %s is already published by container %s", p,
                                    e->id);
                }
        if (!streq(e->network, n->name))
            continue;
        const struct ipaddr *taken = req->ip4.family && ip_equal(&e->addr, &req->ip4)    ? &req->ip4
                                     : req->ip6.family && ip_equal(&e->addr6, &req->ip6) ? &req->ip6
                                                                                         : NULL;
        if (taken) {
            char ip[IP_STRLEN];
            ip_format(taken, ip);
            return err_setx(EADDRINUSE, "address %s on network %s is taken by container %s", ip,
                            n->name, e->id);
        }
        used[(*n_used)++] = net_index(&n->v4, &e->addr);
        if (n->has_v6 && e->addr6.family && net_contains(&n->v6, &e->addr6))
            used[(*n_used)++] = net_index(&n->v6, &e->addr6);
    }
    return 0;
}

/* The host number of the container's address on n (the requested one, or a free one). */
static int pick_number(const struct leases *l, const struct network *n,
                       const struct net_request *req, uint64_t *idx)
{
    _cleanup_free_ uint64_t *used = xcalloc(2 * l->n + 2, sizeof(*used));
    size_t n_used;
    int r = used_numbers(l, n, req, used, &n_used);
    if (r < 0)
        return r;
    if (req->ip4.family) {
        *idx = net_index(&n->v4, &req->ip4);
        return 0;
    }
    *idx = ipam_pick(net_last_index(&n->v4), used, n_used);
    if (*idx)
        return 0;
    char cidr[CIDR_STRLEN];
    cidr_format(&n->v4, cidr);
    return err_setx(ENOSPC,
                    "network %s: subnet %s is exhausted (all %llu addresses are "
                    "leased): delete containers or use a larger subnet",
                    n->name, cidr, (unsigned long long)(n_used - 1));
}

static int lease_address(const char *root, int dirfd, const struct network *n,
                         const struct net_request *req, const char *id, pid_t pid,
                         struct attachment *a)
{
    struct leases l;
    int r = leases_load(dirfd, &l);
    if (r < 0)
        return r;
    /* Leases of containers that are gone are only looked for when they stand in the way:
     * checking every lease on every attach made a create cost O(containers on the host). */
    uint64_t idx = 0;
    r = pick_number(&l, n, req, &idx);
    if (r < 0) {
        /* again after the reclaim, which clears the error: this also says it again */
        leases_reclaim(root, &l);
        r = pick_number(&l, n, req, &idx);
    }
    if (r == 0) {
        net_nth(&n->v4, idx, &a->ip4);
        a->prefix4 = n->v4.prefix;
        if (n->has_v6) {
            if (req->ip6.family)
                a->ip6 = req->ip6;
            else
                net_nth(&n->v6, idx, &a->ip6);
            a->prefix6 = n->v6.prefix;
        }
        uint64_t start = 0;
        if (proc_start_time(pid, &start, NULL) < 0)
            r = err_setx(ESRCH, "the container process %d is gone", (int)pid);
        if (r == 0) {
            leases_add(&l, n->name, &a->ip4, a->ip6.family ? &a->ip6 : NULL, id, pid, start,
                       req->ports, req->n_ports);
            r = leases_save(dirfd, &l);
        }
    }
    leases_free(&l);
    return r;
}

static void mac_for(const struct ipaddr *ip4, uint8_t mac[6])
{
    /* locally administered, unicast, derived from the address like docker's 02:42:a.b.c.d */
    mac[0] = 0x02;
    mac[1] = 0x42;
    memcpy(mac + 2, ip4->a, 4);
}

static int open_container_nl(pid_t pid, struct nl **out)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(errno, "open the network namespace of the container process %d", (int)pid);
    return nl_open_in_netns(NETLINK_ROUTE, fd, out);
}

static int configure_container(pid_t pid, const struct network *n, const struct attachment *a)
{
    _cleanup_nl_ struct nl *nl = NULL;
    int r = open_container_nl(pid, &nl);
    if (r < 0)
        return r;
    struct link_info lo, eth;
    if ((r = rtnl_link_get(nl, "lo", &lo)) < 0 || (r = rtnl_link_get(nl, "eth0", &eth)) < 0)
        return r == -ENODEV ? err_setx(ENODEV, "the container has no lo or eth0 interface") : r;
    if ((r = rtnl_link_set_up(nl, lo.ifindex, "lo in the container")) < 0 ||
        (r = rtnl_addr_add(nl, eth.ifindex, "eth0 in the container", &a->ip4, a->prefix4)) < 0)
        return r;
    if (a->ip6.family &&
        (r = rtnl_addr_add(nl, eth.ifindex, "eth0 in the container", &a->ip6, a->prefix6)) < 0)
        return r;
    /* on an IPv4-only network, as Docker does: no IPv6 link-local address, whose DAD and MLD
     * packets the bridge would flood to every container on it */
    if (!a->ip6.family &&
        (r = rtnl_link_no_ipv6_addrs(nl, eth.ifindex, "eth0 in the container")) < 0)
        return r;
    if ((r = rtnl_link_set_up(nl, eth.ifindex, "eth0 in the container")) < 0 ||
        (r = rtnl_route_add_default(nl, eth.ifindex, "eth0 in the container", &n->gw4)) < 0)
        return r;
    if (a->ip6.family &&
        (r = rtnl_route_add_default(nl, eth.ifindex, "eth0 in the container", &n->gw6)) < 0)
        return r;
    return 0;
}

static int add_caps(struct nl *nl, const struct network *n, const struct attachment *a,
                    int veth_index)
{
    int r;
    if (a->ingress && (r = tc_add_tbf(nl, veth_index, a->veth, a->ingress, n->mtu)) < 0)
        return r;
    if (!a->egress)
        return 0;
    struct link_info ifb;
    if ((r = rtnl_ifb_create(nl, a->ifb, n->mtu)) < 0 || (r = rtnl_link_get(nl, a->ifb, &ifb)) < 0)
        return r;
    if ((r = rtnl_link_set_up(nl, ifb.ifindex, a->ifb)) < 0 ||
        (r = tc_add_tbf(nl, ifb.ifindex, a->ifb, a->egress, n->mtu)) < 0)
        return r;
    return tc_add_redirect(nl, veth_index, a->veth, ifb.ifindex, a->ifb);
}

static int plumb(struct nl *nl, const struct network *n, pid_t pid, struct attachment *a)
{
    uint8_t mac[6];
    mac_for(&a->ip4, mac);
    struct link_info br, veth;
    int r = rtnl_link_get(nl, n->bridge, &br);
    if (r < 0)
        return r == -ENODEV
                       ? err_setx(ENODEV, "bridge %s of network %s vanished", n->bridge, n->name)
                       : r;
    if ((r = rtnl_veth_create(nl, a->veth, "eth0", pid, n->mtu, mac)) < 0 ||
        (r = rtnl_link_get(nl, a->veth, &veth)) < 0)
        return r;
    if ((r = rtnl_link_set_master(nl, veth.ifindex, a->veth, br.ifindex)) < 0 ||
        (r = rtnl_link_no_ipv6_addrs(nl, veth.ifindex, a->veth)) < 0 ||
        (r = rtnl_link_set_up(nl, veth.ifindex, a->veth)) < 0)
        return r;
    if ((r = configure_container(pid, n, a)) < 0)
        return r;
    if ((r = add_caps(nl, n, a, veth.ifindex)) < 0)
        return r;
    return nft_container_add(a->tag, a->ports, a->n_ports, &a->ip4, a->ip6.family ? &a->ip6 : NULL);
}

static int save_provisional(const struct net_saver *saver, const struct attachment *a)
{
    if (!saver || !saver->save)
        return 0;
    _cleanup_free_ char *rec = record_json(a);
    return saver->save(saver->ctx, rec);
}

static int attach_locked(const char *root, int dirfd, const char *id, pid_t pid,
                         const struct net_request *req, const struct net_saver *saver,
                         struct attachment *a, bool *leased)
{
    struct network n;
    _cleanup_nl_ struct nl *nl = NULL;
    int r = nl_open(NETLINK_ROUTE, &nl);
    if (r < 0)
        return r;
    if ((r = network_load_or_default(dirfd, nl, req->network, &n)) < 0 ||
        (r = check_against_network(req, &n)) < 0 || (r = bridge_ensure(nl, &n)) < 0)
        return r;
    snprintf(a->network, sizeof(a->network), "%s", n.name);
    snprintf(a->bridge, sizeof(a->bridge), "%s", n.bridge);
    nft_container_tag(id, a->tag, sizeof(a->tag));
    a->egress = req->egress;
    a->ingress = req->ingress;
    if (req->n_ports) {
        a->ports = xcalloc(req->n_ports, sizeof(*a->ports));
        memcpy(a->ports, req->ports, req->n_ports * sizeof(*a->ports));
        a->n_ports = req->n_ports;
    }
    if ((r = pick_names(nl, id, a, req->egress > 0)) < 0)
        return r;
    if ((r = lease_address(root, dirfd, &n, req, id, pid, a)) < 0)
        return r;
    *leased = true;
    if ((r = save_provisional(saver, a)) < 0)
        return r;
    return plumb(nl, &n, pid, a);
}

int net_attach(const char *root, const char *id, pid_t netns_pid, const struct net_request *req,
               const struct net_saver *saver, char **record)
{
    struct attachment a;
    memset(&a, 0, sizeof(a));
    *record = NULL;
    if (!req)
        return 0;
    if (netns_id(-1, &a.ns_dev, &a.ns_ino) < 0)
        return err_set(errno, "stat /proc/self/ns/net");
    _cleanup_close_ int dirfd = -1, lockfd = -1;
    int r = store_open(root, true, &dirfd);
    if (r < 0 || (r = store_lock(dirfd, &lockfd)) < 0)
        return r;
    bool leased = false;
    r = attach_locked(root, dirfd, id, netns_pid, req, saver, &a, &leased);
    if (r < 0) {
        char saved[4096];
        int code = err_code();
        snprintf(saved, sizeof(saved), "%s", err_msg());
        /* the lock is held: undo the kernel side here, and drop the lease by hand */
        if (a.tag[0] && undo_kernel(&a) < 0)
            log_warn("cleanup: %s", err_msg());
        if (leased) {
            struct leases l;
            if (leases_load(dirfd, &l) == 0) {
                for (size_t i = 0; i < l.n; i++)
                    if (streq(l.v[i].id, id) && streq(l.v[i].network, a.network)) {
                        leases_remove(&l, i);
                        break;
                    }
                if (leases_save(dirfd, &l) < 0)
                    log_warn("cleanup: %s", err_msg());
                leases_free(&l);
            }
        }
        attachment_free(&a);
        return err_setx(code ? code : EIO, "network for container %s: %s", id, saved);
    }
    *record = record_json(&a);
    attachment_free(&a);
    return 0;
}
