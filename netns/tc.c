/* tbf qdiscs and ingress redirection to ifb, over rtnetlink. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include "lib/err.h"
#include "netns/tc.h"

#define TBF_LATENCY_MS 50
/* Tokens beyond the bucket are lost: a gap between two dequeues longer than the bucket (a busy
 * VM whose CPUs are stolen for tens of ms) delivers less than the rate. */
#define TBF_BUCKET_MS 50

void tc_tbf_params(uint64_t bits, unsigned mtu, uint32_t *burst, uint32_t *limit)
{
    uint64_t bytes = bits / 8;
    /* TBF_BUCKET_MS worth of traffic, but never less than a few full frames */
    uint64_t b = bytes * TBF_BUCKET_MS / 1000;
    uint64_t min = 4 * ((uint64_t)(mtu ? mtu : 1500) + ETH_HLEN);
    if (b < min)
        b = min;
    if (b > UINT32_MAX / 2)
        b = UINT32_MAX / 2;
    uint64_t l = bytes * TBF_LATENCY_MS / 1000 + b;
    if (l > UINT32_MAX)
        l = UINT32_MAX;
    *burst = (uint32_t)b;
    *limit = (uint32_t)l;
}

static struct nlmsghdr *tc_start(void *buf, uint16_t type, uint16_t flags, int ifindex,
                                 uint32_t parent, uint32_t handle, uint32_t info)
{
    struct tcmsg *t;
    struct nlmsghdr *nlh = nl_msg_start(buf, type, flags, (void **)&t, sizeof(*t));
    t->tcm_family = AF_UNSPEC;
    t->tcm_ifindex = ifindex;
    t->tcm_parent = parent;
    t->tcm_handle = handle;
    t->tcm_info = info;
    return nlh;
}

struct nlmsghdr *tc_build_tbf(void *buf, int ifindex, uint64_t bits, unsigned mtu)
{
    struct nlmsghdr *nlh = tc_start(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex,
                                    TC_H_ROOT, TC_H_MAKE(0x10000u, 0), 0);
    mnl_attr_put_strz(nlh, TCA_KIND, "tbf");
    uint32_t burst, limit;
    tc_tbf_params(bits, mtu, &burst, &limit);
    uint64_t bytes = bits / 8;
    struct tc_tbf_qopt q;
    memset(&q, 0, sizeof(q));
    q.rate.linklayer = TC_LINKLAYER_ETHERNET;
    q.rate.rate = bytes >= UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    q.limit = limit;
    /* the bucket in scheduler ticks (64 ns); TCA_TBF_BURST below states it in bytes */
    q.buffer = (uint32_t)((uint64_t)burst * 1000000000ull / (bytes ? bytes : 1) / 64);
    struct nlattr *opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
    mnl_attr_put(nlh, TCA_TBF_PARMS, sizeof(q), &q);
    mnl_attr_put_u32(nlh, TCA_TBF_BURST, burst);
    if (bytes >= UINT32_MAX)
        mnl_attr_put_u64(nlh, TCA_TBF_RATE64, bytes);
    mnl_attr_nest_end(nlh, opts);
    return nlh;
}

static int tc_fail(struct nl *nl, int r, const char *what, const char *name)
{
    if (r == -ENOENT || r == -EOPNOTSUPP)
        return err_setx(-r,
                        "%s on %s: the kernel lacks it (needs sch_tbf, sch_ingress, "
                        "cls_u32, act_mirred and ifb; try modprobe)%s%s",
                        what, name, nl->ext[0] ? ": " : "", nl->ext);
    return nl_fail(nl, r, "%s on %s", what, name);
}

int tc_add_tbf(struct nl *nl, int ifindex, const char *name, uint64_t bits, unsigned mtu)
{
    char buf[NL_MSG_SIZE];
    int r = nl_talk(nl, tc_build_tbf(buf, ifindex, bits, mtu), NULL, NULL);
    return r < 0 ? tc_fail(nl, r, "add a tbf rate cap", name) : 0;
}

struct nlmsghdr *tc_build_redirect_filter(void *buf, int ifindex, int target_ifindex)
{
    uint32_t info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL));
    struct nlmsghdr *nlh = tc_start(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex,
                                    TC_H_MAKE(TC_H_INGRESS, 0), 0, info);
    mnl_attr_put_strz(nlh, TCA_KIND, "u32");
    struct nlattr *opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
    /* one key with mask 0: every packet matches */
    struct {
        struct tc_u32_sel sel;
        struct tc_u32_key key;
    } s;
    memset(&s, 0, sizeof(s));
    s.sel.flags = TC_U32_TERMINAL;
    s.sel.nkeys = 1;
    mnl_attr_put(nlh, TCA_U32_SEL, sizeof(s), &s);
    struct nlattr *acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
    struct nlattr *act = mnl_attr_nest_start(nlh, 1);
    mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
    struct nlattr *aopts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
    struct tc_mirred m;
    memset(&m, 0, sizeof(m));
    m.action = TC_ACT_STOLEN;
    m.eaction = TCA_EGRESS_REDIR;
    m.ifindex = (uint32_t)target_ifindex;
    mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(m), &m);
    mnl_attr_nest_end(nlh, aopts);
    mnl_attr_nest_end(nlh, act);
    mnl_attr_nest_end(nlh, acts);
    mnl_attr_nest_end(nlh, opts);
    return nlh;
}

int tc_add_redirect(struct nl *nl, int ifindex, const char *name, int target_ifindex,
                    const char *target)
{
    char buf[NL_MSG_SIZE];
    struct nlmsghdr *nlh = tc_start(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex,
                                    TC_H_INGRESS, TC_H_MAKE(TC_H_INGRESS, 0), 0);
    mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
    int r = nl_talk(nl, nlh, NULL, NULL);
    if (r < 0)
        return tc_fail(nl, r, "add an ingress qdisc", name);
    r = nl_talk(nl, tc_build_redirect_filter(buf, ifindex, target_ifindex), NULL, NULL);
    if (r < 0)
        return tc_fail(nl, r, "add a filter redirecting to ifb", name);
    return 0;
}
