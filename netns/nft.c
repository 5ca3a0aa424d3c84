/* nftables rules for masquerade and published ports (libnftnl batches over libmnl). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include "lib/err.h"
#include "lib/util.h"
#include "netns/nft.h"
#include "netns/nl.h"

#define BATCH_SIZE (256 * 1024)
/* priorities dstnat and srcnat */
#define PRIO_DSTNAT (-100)
#define PRIO_SRCNAT 100
#define TAG_MAX     240

void nft_network_tag(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "berth network %s", name);
}

/* ids are at most 1024 bytes but a comment at most 256: long ids are hashed (FNV-1a) */
void nft_container_tag(const char *id, char *buf, size_t size)
{
    if (strlen(id) <= 200) {
        snprintf(buf, size, "berth container %s", id);
        return;
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    snprintf(buf, size, "berth container %.100s~%016llx", id, (unsigned long long)h);
}

/* ---- batches ---- */

struct batch {
    struct nl *nl;
    char *buf;
    struct mnl_nlmsg_batch *b;
    uint32_t first, last;
    int n;
    bool full;
};

static int batch_open(struct batch *bt)
{
    memset(bt, 0, sizeof(*bt));
    int r = nl_open(NETLINK_NETFILTER, &bt->nl);
    if (r < 0)
        return r;
    bt->buf = xmalloc(BATCH_SIZE);
    bt->b = mnl_nlmsg_batch_start(bt->buf, BATCH_SIZE - 8192);
    nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), nl_next_seq(bt->nl));
    mnl_nlmsg_batch_next(bt->b);
    return 0;
}

static void batch_close(struct batch *bt)
{
    if (bt->b)
        mnl_nlmsg_batch_stop(bt->b);
    free(bt->buf);
    nl_close(bt->nl);
    memset(bt, 0, sizeof(*bt));
}

static struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, uint16_t flags)
{
    uint32_t seq = nl_next_seq(bt->nl);
    if (!bt->n++)
        bt->first = seq;
    bt->last = seq;
    return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_INET,
                                 flags | NLM_F_ACK, seq);
}

static void batch_next(struct batch *bt)
{
    if (!mnl_nlmsg_batch_next(bt->b))
        bt->full = true;
}

static int nft_fail(struct nl *nl, int r, const char *what)
{
    switch (-r) {
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
    case EOPNOTSUPP:
        return err_setx(-r,
                        "nftables: %s: the kernel has no nf_tables support for this (load "
                        "the modules: modprobe nf_tables nft_chain_nat nft_masq nft_nat "
                        "nft_fib_inet)%s%s",
                        what, nl->ext[0] ? ": " : "", nl->ext);
    case ENOENT:
        if (!nl->ext[0])
            return err_setx(ENOENT,
                            "nftables: %s: %s (is nft_chain_nat, nft_nat, nft_masq or "
                            "nft_fib_inet missing? try modprobe)",
                            what, strerror(ENOENT));
        break;
    }
    return nl_fail(nl, r, "nftables: %s", what);
}

static int batch_commit(struct batch *bt, const char *what)
{
    if (bt->full)
        return err_setx(E2BIG, "nftables: %s: too many rules for one batch", what);
    if (!bt->n)
        return 0;
    nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), nl_next_seq(bt->nl));
    mnl_nlmsg_batch_next(bt->b);
    int r = nl_talk_batch(bt->nl, mnl_nlmsg_batch_head(bt->b), mnl_nlmsg_batch_size(bt->b),
                          bt->first, bt->last);
    return r < 0 ? nft_fail(bt->nl, r, what) : 0;
}

/* ---- table and chains ---- */

static void put_table(struct batch *bt)
{
    struct nftnl_table *t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE);
    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
    struct nlmsghdr *nlh = batch_msg(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE);
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
    batch_next(bt);
}

static void put_chain(struct batch *bt, const char *name, unsigned hook, int prio)
{
    struct nftnl_chain *c = nftnl_chain_alloc();
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE);
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
    nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
    nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
    nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
    struct nlmsghdr *nlh = batch_msg(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
    nftnl_chain_nlmsg_build_payload(nlh, c);
    nftnl_chain_free(c);
    batch_next(bt);
}

/* `add table` and `add chain` are idempotent: every batch that adds rules starts so */
static void put_base(struct batch *bt)
{
    put_table(bt);
    put_chain(bt, "prerouting", NF_INET_PRE_ROUTING, PRIO_DSTNAT);
    put_chain(bt, "output", NF_INET_LOCAL_OUT, PRIO_DSTNAT);
    put_chain(bt, "postrouting", NF_INET_POST_ROUTING, PRIO_SRCNAT);
}

/* ---- expressions ---- */

static void add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
    nftnl_rule_add_expr(r, e);
}

static void e_meta(struct nftnl_rule *r, uint32_t key, uint32_t reg)
{
    struct nftnl_expr *e = nftnl_expr_alloc("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, reg);
    add_expr(r, e);
}

static void e_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
    struct nftnl_expr *e = nftnl_expr_alloc("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    add_expr(r, e);
}

static void e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
    struct nftnl_expr *e = nftnl_expr_alloc("payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    add_expr(r, e);
}

static void e_bitwise(struct nftnl_rule *r, const void *mask, uint32_t len)
{
    uint8_t xor [16] = {0};
    struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
    add_expr(r, e);
}

static void e_immediate(struct nftnl_rule *r, uint32_t reg, const void *data, uint32_t len)
{
    struct nftnl_expr *e = nftnl_expr_alloc("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
    nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
    add_expr(r, e);
}

static void match_nfproto(struct nftnl_rule *r, int family)
{
    uint8_t p = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
    e_meta(r, NFT_META_NFPROTO, NFT_REG_1);
    e_cmp(r, NFT_CMP_EQ, &p, 1);
}

/* ip/ip6 saddr or daddr within n */
static void match_net(struct nftnl_rule *r, const struct ipnet *n, bool src)
{
    uint32_t len = (uint32_t)ip_len(n->addr.family);
    uint32_t off = n->addr.family == AF_INET ? (src ? 12 : 16) : (src ? 8 : 24);
    e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, len);
    if (n->prefix < len * 8) {
        uint8_t mask[16] = {0};
        for (unsigned i = 0; i < n->prefix; i++)
            mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
        e_bitwise(r, mask, len);
    }
    e_cmp(r, NFT_CMP_EQ, n->addr.a, len);
}

static void match_oifname(struct nftnl_rule *r, const char *name, bool equal)
{
    char ifname[IFNAMSIZ] = {0};
    snprintf(ifname, sizeof(ifname), "%s", name);
    e_meta(r, NFT_META_OIFNAME, NFT_REG_1);
    e_cmp(r, equal ? NFT_CMP_EQ : NFT_CMP_NEQ, ifname, IFNAMSIZ);
}

static void match_ct_dnat(struct nftnl_rule *r)
{
    uint32_t mask = IPS_DST_NAT, zero = 0;
    struct nftnl_expr *e = nftnl_expr_alloc("ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    add_expr(r, e);
    e_bitwise(r, &mask, sizeof(mask));
    e_cmp(r, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* fib daddr type local */
static void match_local_daddr(struct nftnl_rule *r)
{
    uint32_t local = RTN_LOCAL;
    struct nftnl_expr *e = nftnl_expr_alloc("fib");
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
    add_expr(r, e);
    e_cmp(r, NFT_CMP_EQ, &local, sizeof(local));
}

static void match_dport(struct nftnl_rule *r, int proto, uint16_t port)
{
    uint8_t p = (uint8_t)proto;
    uint16_t be = htons(port);
    e_meta(r, NFT_META_L4PROTO, NFT_REG_1);
    e_cmp(r, NFT_CMP_EQ, &p, 1);
    e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
    e_cmp(r, NFT_CMP_EQ, &be, 2);
}

static void do_masquerade(struct nftnl_rule *r)
{
    add_expr(r, nftnl_expr_alloc("masq"));
}

static void do_dnat(struct nftnl_rule *r, const struct ipaddr *to, uint16_t port)
{
    uint16_t be = htons(port);
    e_immediate(r, NFT_REG_1, to->a, (uint32_t)ip_len(to->family));
    e_immediate(r, NFT_REG_2, &be, 2);
    struct nftnl_expr *e = nftnl_expr_alloc("nat");
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY,
                       to->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
    add_expr(r, e);
}

static struct nftnl_rule *rule_new(const char *chain, const char *tag)
{
    struct nftnl_rule *r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE);
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
    struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
    nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, tag);
    nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
    nftnl_udata_buf_free(ud);
    return r;
}

static void put_rule(struct batch *bt, struct nftnl_rule *r)
{
    struct nlmsghdr *nlh = batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
    batch_next(bt);
}

/* ---- reading rules back ---- */

struct tagged {
    const char *tag; /* NULL: all */
    struct {
        char chain[64];
        uint64_t handle;
    } * v;
    size_t n, cap;
};

static int udata_comment_cb(const struct nftnl_udata *attr, void *data)
{
    const char **out = data;
    if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && nftnl_udata_len(attr) > 0) {
        const char *s = nftnl_udata_get(attr);
        if (s[nftnl_udata_len(attr) - 1] == '\0')
            *out = s;
    }
    return MNL_CB_OK;
}

static int rule_dump_cb(const struct nlmsghdr *nlh, void *data)
{
    struct tagged *t = data;
    struct nftnl_rule *r = nftnl_rule_alloc();
    if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
        nftnl_rule_free(r);
        return MNL_CB_OK;
    }
    const char *comment = NULL;
    uint32_t len = 0;
    const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
    if (ud && len)
        nftnl_udata_parse(ud, len, udata_comment_cb, &comment);
    const char *table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
    if (table && streq(table, NFT_TABLE) && (!t->tag || (comment && streq(comment, t->tag)))) {
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 16;
            t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
        }
        snprintf(t->v[t->n].chain, sizeof(t->v[t->n].chain), "%s",
                 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
        t->v[t->n].handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
        t->n++;
    }
    nftnl_rule_free(r);
    return MNL_CB_OK;
}

/* Rules of table berth carrying tag; -ENOENT when the table does not exist. */
static int find_tagged(struct nl *nl, struct tagged *t)
{
    char buf[NL_MSG_SIZE];
    memset(buf, 0, sizeof(buf));
    struct nftnl_rule *r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE);
    struct nlmsghdr *nlh =
            nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, 0);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    nftnl_rule_free(r);
    return nl_talk(nl, nlh, rule_dump_cb, t);
}

int nft_count_tagged(const char *tag, size_t *n)
{
    _cleanup_nl_ struct nl *nl = NULL;
    int r = nl_open(NETLINK_NETFILTER, &nl);
    if (r < 0)
        return r;
    struct tagged t = {.tag = tag};
    r = find_tagged(nl, &t);
    free(t.v);
    if (r == -ENOENT) {
        *n = 0;
        return 0;
    }
    if (r < 0)
        return nft_fail(nl, r, "list the rules of table inet " NFT_TABLE);
    *n = t.n;
    return 0;
}

int nft_remove_tagged(const char *tag, int remove_empty_table)
{
    _cleanup_nl_ struct nl *nl = NULL;
    int r = nl_open(NETLINK_NETFILTER, &nl);
    if (r < 0)
        return r;
    struct tagged all = {.tag = NULL};
    r = find_tagged(nl, &all);
    if (r == -ENOENT || r == -EAFNOSUPPORT || r == -EOPNOTSUPP) {
        free(all.v);
        return 0; /* no table, nothing of ours */
    }
    if (r < 0) {
        free(all.v);
        return nft_fail(nl, r, "list the rules of table inet " NFT_TABLE);
    }
    free(all.v);
    struct tagged t = {.tag = tag};
    r = find_tagged(nl, &t);
    if (r < 0) {
        free(t.v);
        return nft_fail(nl, r, "list the rules of table inet " NFT_TABLE);
    }
    size_t total = all.n;
    struct batch bt;
    if ((r = batch_open(&bt)) < 0) {
        free(t.v);
        return r;
    }
    for (size_t i = 0; i < t.n; i++) {
        struct nftnl_rule *rule = nftnl_rule_alloc();
        nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, NFT_TABLE);
        nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, t.v[i].chain);
        nftnl_rule_set_u64(rule, NFTNL_RULE_HANDLE, t.v[i].handle);
        struct nlmsghdr *nlh = batch_msg(&bt, NFT_MSG_DELRULE, 0);
        nftnl_rule_nlmsg_build_payload(nlh, rule);
        nftnl_rule_free(rule);
        batch_next(&bt);
    }
    if (remove_empty_table && total == t.n) {
        struct nftnl_table *tb = nftnl_table_alloc();
        nftnl_table_set_str(tb, NFTNL_TABLE_NAME, NFT_TABLE);
        struct nlmsghdr *nlh = batch_msg(&bt, NFT_MSG_DELTABLE, 0);
        nftnl_table_nlmsg_build_payload(nlh, tb);
        nftnl_table_free(tb);
        batch_next(&bt);
    }
    char what[300];
    snprintf(what, sizeof(what), "delete the rules tagged \"%s\"", tag);
    r = batch_commit(&bt, what);
    batch_close(&bt);
    free(t.v);
    return r;
}

int nft_network_ensure(const char *name, const char *bridge, const struct ipnet *v4,
                       const struct ipnet *v6)
{
    char tag[TAG_MAX + 16];
    nft_network_tag(name, tag, sizeof(tag));
    _cleanup_nl_ struct nl *nl = NULL;
    int r = nl_open(NETLINK_NETFILTER, &nl);
    if (r < 0)
        return r;
    struct tagged t = {.tag = tag};
    r = find_tagged(nl, &t);
    free(t.v);
    if (r == 0 && t.n > 0)
        return 0;
    struct batch bt;
    if ((r = batch_open(&bt)) < 0)
        return r;
    put_base(&bt);
    const struct ipnet *nets[] = {v4, v6};
    for (size_t i = 0; i < ARRAY_SIZE(nets); i++) {
        if (!nets[i])
            continue;
        /* ip saddr SUBNET oifname != BRIDGE masquerade */
        struct nftnl_rule *rule = rule_new("postrouting", tag);
        match_nfproto(rule, nets[i]->addr.family);
        match_net(rule, nets[i], true);
        match_oifname(rule, bridge, false);
        do_masquerade(rule);
        put_rule(&bt, rule);
        /* published ports between containers of the network: ct status dnat masquerade */
        rule = rule_new("postrouting", tag);
        match_nfproto(rule, nets[i]->addr.family);
        match_net(rule, nets[i], true);
        match_oifname(rule, bridge, true);
        match_ct_dnat(rule);
        do_masquerade(rule);
        put_rule(&bt, rule);
    }
    char what[300];
    snprintf(what, sizeof(what), "add masquerade rules for network %s", name);
    r = batch_commit(&bt, what);
    batch_close(&bt);
    return r;
}

static void put_dnat(struct batch *bt, const char *chain, const char *tag, const struct port_map *p,
                     const struct ipaddr *to)
{
    struct nftnl_rule *rule = rule_new(chain, tag);
    match_nfproto(rule, to->family);
    if (p->host.family) {
        struct ipnet host = {.addr = p->host, .prefix = (unsigned)ip_len(p->host.family) * 8};
        match_net(rule, &host, false);
    } else {
        match_local_daddr(rule);
    }
    match_dport(rule, p->proto, p->host_port);
    do_dnat(rule, to, p->ctr_port);
    put_rule(bt, rule);
}

int nft_container_add(const char *tag, const struct port_map *ports, size_t n,
                      const struct ipaddr *v4, const struct ipaddr *v6)
{
    if (!n)
        return 0;
    struct batch bt;
    int r = batch_open(&bt);
    if (r < 0)
        return r;
    put_base(&bt);
    for (size_t i = 0; i < n; i++) {
        const struct port_map *p = &ports[i];
        const struct ipaddr *tos[] = {v4, v6};
        for (size_t j = 0; j < ARRAY_SIZE(tos); j++) {
            if (!tos[j] || !tos[j]->family)
                continue;
            if (p->host.family && p->host.family != tos[j]->family)
                continue;
            put_dnat(&bt, "prerouting", tag, p, tos[j]);
            put_dnat(&bt, "output", tag, p, tos[j]);
        }
    }
    r = batch_commit(&bt, "add the published-port (DNAT) rules");
    batch_close(&bt);
    return r;
}
