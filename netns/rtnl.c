/* Links, addresses and routes over rtnetlink. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "lib/err.h"
#include "lib/util.h"
#include "netns/rtnl.h"

static int link_attr_cb(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(a);
    if (mnl_attr_type_valid(a, IFLA_MAX) > 0)
        tb[type] = a;
    return MNL_CB_OK;
}

static int linkinfo_attr_cb(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(a);
    if (mnl_attr_type_valid(a, IFLA_INFO_MAX) > 0)
        tb[type] = a;
    return MNL_CB_OK;
}

int rtnl_parse_link(const struct nlmsghdr *nlh, struct link_info *out, char *name, size_t name_size)
{
    if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
        return -EBADMSG;
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[IFLA_MAX + 1] = {0};
    if (mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, tb) < 0)
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    out->ifindex = ifi->ifi_index;
    if (tb[IFLA_IFNAME] && name)
        snprintf(name, name_size, "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
    if (tb[IFLA_MTU])
        out->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
    if (tb[IFLA_MASTER])
        out->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
    if (tb[IFLA_IFALIAS])
        snprintf(out->alias, sizeof(out->alias), "%s", mnl_attr_get_str(tb[IFLA_IFALIAS]));
    if (tb[IFLA_LINKINFO]) {
        const struct nlattr *info[IFLA_INFO_MAX + 1] = {0};
        if (mnl_attr_parse_nested(tb[IFLA_LINKINFO], linkinfo_attr_cb, info) < 0)
            return -EBADMSG;
        if (info[IFLA_INFO_KIND])
            snprintf(out->kind, sizeof(out->kind), "%s", mnl_attr_get_str(info[IFLA_INFO_KIND]));
    }
    return 0;
}

static int get_link_cb(const struct nlmsghdr *nlh, void *data)
{
    return rtnl_parse_link(nlh, data, NULL, 0) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int rtnl_link_get(struct nl *nl, const char *name, struct link_info *out)
{
    char buf[NL_MSG_SIZE];
    struct ifinfomsg *ifi;
    struct nlmsghdr *nlh = nl_msg_start(buf, RTM_GETLINK, 0, (void **)&ifi, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    memset(out, 0, sizeof(*out));
    int r = nl_talk(nl, nlh, get_link_cb, out);
    if (r == -ENODEV)
        return -ENODEV;
    if (r < 0)
        return nl_fail(nl, r, "look up network interface %s", name);
    return out->ifindex > 0 ? 0 : -ENODEV;
}

/* The kernel answers an unknown link kind with EOPNOTSUPP ("Unknown device type"). */
static int create_fail(struct nl *nl, int r, const char *kind, const char *name)
{
    if (r == -EOPNOTSUPP)
        return err_setx(EOPNOTSUPP,
                        "create %s %s: the kernel has no %s support (load the "
                        "module: modprobe %s)",
                        kind, name, kind, kind);
    if (r == -EEXIST)
        return err_setx(EEXIST, "create %s %s: a network interface of that name exists already",
                        kind, name);
    return nl_fail(nl, r, "create %s %s", kind, name);
}

static struct nlmsghdr *newlink_start(void *buf, const char *name, unsigned mtu)
{
    struct ifinfomsg *ifi;
    struct nlmsghdr *nlh =
            nl_msg_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, (void **)&ifi, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    if (mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    return nlh;
}

int rtnl_bridge_create(struct nl *nl, const char *name, unsigned mtu, const char *alias)
{
    char buf[NL_MSG_SIZE];
    struct nlmsghdr *nlh = newlink_start(buf, name, mtu);
    struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(nlh, info);
    int r = nl_talk(nl, nlh, NULL, NULL);
    if (r < 0)
        return create_fail(nl, r, "bridge", name);
    if (!alias)
        return 0;
    /* a new link's alias is only taken by a change of an existing one */
    struct link_info li;
    if ((r = rtnl_link_get(nl, name, &li)) < 0)
        return r == -ENODEV ? err_setx(ENODEV, "bridge %s vanished", name) : r;
    struct ifinfomsg *ifi;
    nlh = nl_msg_start(buf, RTM_NEWLINK, 0, (void **)&ifi, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = li.ifindex;
    mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
    r = nl_talk(nl, nlh, NULL, NULL);
    return r < 0 ? nl_fail(nl, r, "set the alias of bridge %s", name) : 0;
}

struct nlmsghdr *rtnl_build_veth(void *buf, const char *name, const char *peer_name, pid_t peer_pid,
                                 unsigned mtu, const uint8_t peer_mac[6])
{
    struct nlmsghdr *nlh = newlink_start(buf, name, mtu);
    struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    /* the peer's attributes follow a struct ifinfomsg of its own */
    struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
    pifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
    if (mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    if (peer_mac)
        mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
    if (peer_pid > 0)
        mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)peer_pid);
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, info);
    return nlh;
}

int rtnl_veth_create(struct nl *nl, const char *name, const char *peer_name, pid_t peer_pid,
                     unsigned mtu, const uint8_t peer_mac[6])
{
    char buf[NL_MSG_SIZE];
    struct nlmsghdr *nlh = rtnl_build_veth(buf, name, peer_name, peer_pid, mtu, peer_mac);
    int r = nl_talk(nl, nlh, NULL, NULL);
    if (r == -ESRCH)
        return err_setx(ESRCH, "create veth %s: the container process %d is gone", name,
                        (int)peer_pid);
    return r < 0 ? create_fail(nl, r, "veth", name) : 0;
}

int rtnl_ifb_create(struct nl *nl, const char *name, unsigned mtu)
{
    char buf[NL_MSG_SIZE];
    struct nlmsghdr *nlh = newlink_start(buf, name, mtu);
    struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "ifb");
    mnl_attr_nest_end(nlh, info);
    int r = nl_talk(nl, nlh, NULL, NULL);
    return r < 0 ? create_fail(nl, r, "ifb", name) : 0;
}

int rtnl_link_del(struct nl *nl, const char *name)
{
    char buf[NL_MSG_SIZE];
    struct ifinfomsg *ifi;
    struct nlmsghdr *nlh = nl_msg_start(buf, RTM_DELLINK, 0, (void **)&ifi, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    int r = nl_talk(nl, nlh, NULL, NULL);
    if (r == -ENODEV)
        return 0;
    return r < 0 ? nl_fail(nl, r, "delete network interface %s", name) : 0;
}

static struct nlmsghdr *setlink_start(void *buf, int ifindex)
{
    struct ifinfomsg *ifi;
    struct nlmsghdr *nlh = nl_msg_start(buf, RTM_NEWLINK, 0, (void **)&ifi, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return nlh;
}

int rtnl_link_set_up(struct nl *nl, int ifindex, const char *name)
{
    char buf[NL_MSG_SIZE];
    struct nlmsghdr *nlh = setlink_start(buf, ifindex);
    struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = IFF_UP;
    int r = nl_talk(nl, nlh, NULL, NULL);
    return r < 0 ? nl_fail(nl, r, "bring up network interface %s", name) : 0;
}

int rtnl_link_set_master(struct nl *nl, int ifindex, const char *name, int master)
{
    char buf[NL_MSG_SIZE];
    struct nlmsghdr *nlh = setlink_start(buf, ifindex);
    mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
    int r = nl_talk(nl, nlh, NULL, NULL);
    if (r == -EXFULL)
        return err_setx(EXFULL,
                        "attach network interface %s to its bridge: the bridge is full (a Linux "
                        "bridge holds at most 1023 interfaces); put further containers on "
                        "another network",
                        name);
    return r < 0 ? nl_fail(nl, r, "attach network interface %s to its bridge", name) : 0;
}

int rtnl_link_no_ipv6_addrs(struct nl *nl, int ifindex, const char *name)
{
    char buf[NL_MSG_SIZE];
    struct nlmsghdr *nlh = setlink_start(buf, ifindex);
    struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
    struct nlattr *inet6 = mnl_attr_nest_start(nlh, AF_INET6);
    mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    mnl_attr_nest_end(nlh, inet6);
    mnl_attr_nest_end(nlh, spec);
    int r = nl_talk(nl, nlh, NULL, NULL);
    if (r == -EAFNOSUPPORT || r == -EOPNOTSUPP)
        return 0; /* a kernel without IPv6 makes no addresses anyway */
    return r < 0 ? nl_fail(nl, r, "turn off IPv6 addresses on network interface %s", name) : 0;
}

int rtnl_link_set_mtu(struct nl *nl, int ifindex, const char *name, unsigned mtu)
{
    char buf[NL_MSG_SIZE];
    struct nlmsghdr *nlh = setlink_start(buf, ifindex);
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    int r = nl_talk(nl, nlh, NULL, NULL);
    return r < 0 ? nl_fail(nl, r, "set MTU %u on network interface %s", mtu, name) : 0;
}

int rtnl_addr_add(struct nl *nl, int ifindex, const char *name, const struct ipaddr *a,
                  unsigned prefix)
{
    char buf[NL_MSG_SIZE];
    struct ifaddrmsg *ifa;
    struct nlmsghdr *nlh = nl_msg_start(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE,
                                        (void **)&ifa, sizeof(*ifa));
    ifa->ifa_family = (uint8_t)a->family;
    ifa->ifa_prefixlen = (uint8_t)prefix;
    ifa->ifa_index = (uint32_t)ifindex;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    size_t len = ip_len(a->family);
    mnl_attr_put(nlh, IFA_LOCAL, len, a->a);
    mnl_attr_put(nlh, IFA_ADDRESS, len, a->a);
    if (a->family == AF_INET6) {
        ifa->ifa_flags = IFA_F_NODAD;
        mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
    } else if (prefix < 31) {
        struct ipaddr bcast = *a;
        uint32_t host = prefix ? (1u << (32 - prefix)) - 1 : ~0u;
        uint32_t v;
        memcpy(&v, bcast.a, 4);
        v |= htonl(host);
        mnl_attr_put(nlh, IFA_BROADCAST, 4, &v);
    }
    int r = nl_talk(nl, nlh, NULL, NULL);
    if (r < 0) {
        char ip[IP_STRLEN];
        ip_format(a, ip);
        return nl_fail(nl, r, "add address %s/%u to %s", ip, prefix, name);
    }
    return 0;
}

int rtnl_route_add_default(struct nl *nl, int ifindex, const char *name, const struct ipaddr *gw)
{
    char buf[NL_MSG_SIZE];
    struct rtmsg *rtm;
    struct nlmsghdr *nlh = nl_msg_start(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE,
                                        (void **)&rtm, sizeof(*rtm));
    rtm->rtm_family = (uint8_t)gw->family;
    rtm->rtm_dst_len = 0;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put(nlh, RTA_GATEWAY, ip_len(gw->family), gw->a);
    mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
    int r = nl_talk(nl, nlh, NULL, NULL);
    if (r < 0) {
        char ip[IP_STRLEN];
        ip_format(gw, ip);
        return nl_fail(nl, r, "add default route via %s on %s", ip, name);
    }
    return 0;
}

struct prefixes {
    struct ipnet *v;
    size_t n, cap;
};

static void prefixes_add(struct prefixes *p, const void *addr, unsigned prefix)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
    }
    struct ipnet *n = &p->v[p->n++];
    memset(n, 0, sizeof(*n));
    n->addr.family = AF_INET;
    memcpy(n->addr.a, addr, 4);
    n->prefix = prefix;
    for (unsigned i = prefix; i < 32; i++)
        n->addr.a[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
}

static int addr_attr_cb(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    if (mnl_attr_type_valid(a, IFA_MAX) > 0)
        tb[mnl_attr_get_type(a)] = a;
    return MNL_CB_OK;
}

static int addr_dump_cb(const struct nlmsghdr *nlh, void *data)
{
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[IFA_MAX + 1] = {0};
    if (ifa->ifa_family != AF_INET || mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb) < 0)
        return MNL_CB_OK;
    const struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    if (a && mnl_attr_get_payload_len(a) == 4)
        prefixes_add(data, mnl_attr_get_payload(a), ifa->ifa_prefixlen);
    return MNL_CB_OK;
}

static int route_attr_cb(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    if (mnl_attr_type_valid(a, RTA_MAX) > 0)
        tb[mnl_attr_get_type(a)] = a;
    return MNL_CB_OK;
}

static int route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[RTA_MAX + 1] = {0};
    if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len == 0 ||
        mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb) < 0)
        return MNL_CB_OK;
    if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) == 4)
        prefixes_add(data, mnl_attr_get_payload(tb[RTA_DST]), rtm->rtm_dst_len);
    return MNL_CB_OK;
}

int rtnl_ipv4_prefixes(struct nl *nl, struct ipnet **out, size_t *n)
{
    struct prefixes p = {0};
    char buf[NL_MSG_SIZE];
    struct ifaddrmsg *ifa;
    struct nlmsghdr *nlh = nl_msg_start(buf, RTM_GETADDR, NLM_F_DUMP, (void **)&ifa, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    int r = nl_talk(nl, nlh, addr_dump_cb, &p);
    if (r == 0) {
        struct rtmsg *rtm;
        nlh = nl_msg_start(buf, RTM_GETROUTE, NLM_F_DUMP, (void **)&rtm, sizeof(*rtm));
        rtm->rtm_family = AF_INET;
        r = nl_talk(nl, nlh, route_dump_cb, &p);
    }
    if (r < 0) {
        free(p.v);
        return nl_fail(nl, r, "list the addresses and routes of this network namespace");
    }
    *out = p.v;
    *n = p.n;
    return 0;
}
