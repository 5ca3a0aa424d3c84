/* Netlink message building and parsing (netns/nl.c, rtnl.c, tc.c) without any socket:
 * nested attributes of a veth request, error acks with the kernel's extended message,
 * dumps, sequence numbers. Needs no privileges. */
#include <errno.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/veth.h>

#include "lib/util.h"
#include "netns/nl.h"
#include "netns/rtnl.h"
#include "netns/tc.h"
#include "tests/unit/unit.h"

static const struct nlattr *find_attr(const struct nlattr *start, size_t len, uint16_t type)
{
    const struct nlattr *a = start;
    int left = (int)len;
    while (mnl_attr_ok(a, left)) {
        if (mnl_attr_get_type(a) == type)
            return a;
        left -= (int)MNL_ALIGN(a->nla_len);
        a = mnl_attr_next(a);
    }
    return NULL;
}

static const struct nlattr *nested(const struct nlattr *parent, uint16_t type)
{
    return find_attr(mnl_attr_get_payload(parent), mnl_attr_get_payload_len(parent), type);
}

static void test_msg_start(void)
{
    char buf[NL_MSG_SIZE];
    struct ifinfomsg *ifi;
    struct nlmsghdr *nlh = nl_msg_start(buf, RTM_GETLINK, NLM_F_DUMP, (void **)&ifi, sizeof(*ifi));
    CHECK_INT(nlh->nlmsg_type, RTM_GETLINK);
    CHECK(nlh->nlmsg_flags & NLM_F_REQUEST);
    CHECK(nlh->nlmsg_flags & NLM_F_ACK);
    CHECK(nlh->nlmsg_flags & NLM_F_DUMP);
    CHECK_INT(nlh->nlmsg_len, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*ifi)));
    CHECK((char *)ifi == buf + NLMSG_HDRLEN);
}

static void test_veth_nesting(void)
{
    char buf[NL_MSG_SIZE];
    const uint8_t mac[6] = {0x02, 0x42, 10, 0, 0, 2};
    struct nlmsghdr *nlh = rtnl_build_veth(buf, "vb12345678", "eth0", 4242, 1450, mac);
    CHECK_INT(nlh->nlmsg_type, RTM_NEWLINK);
    CHECK(nlh->nlmsg_flags & NLM_F_CREATE);
    CHECK(nlh->nlmsg_flags & NLM_F_EXCL);
    const struct nlattr *attrs = (const struct nlattr *)((char *)mnl_nlmsg_get_payload(nlh) +
                                                         NLMSG_ALIGN(sizeof(struct ifinfomsg)));
    size_t len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(struct ifinfomsg));
    const struct nlattr *name = find_attr(attrs, len, IFLA_IFNAME);
    CHECK(name);
    CHECK_STR(name ? mnl_attr_get_str(name) : NULL, "vb12345678");
    const struct nlattr *mtu = find_attr(attrs, len, IFLA_MTU);
    CHECK(mtu && mnl_attr_get_u32(mtu) == 1450);
    const struct nlattr *info = find_attr(attrs, len, IFLA_LINKINFO);
    CHECK(info);
    if (!info)
        return;
    const struct nlattr *kind = nested(info, IFLA_INFO_KIND);
    CHECK_STR(kind ? mnl_attr_get_str(kind) : NULL, "veth");
    const struct nlattr *data = nested(info, IFLA_INFO_DATA);
    CHECK(data);
    const struct nlattr *peer = data ? nested(data, VETH_INFO_PEER) : NULL;
    CHECK(peer);
    if (!peer)
        return;
    /* the peer: an ifinfomsg, then its own attributes */
    CHECK(mnl_attr_get_payload_len(peer) > NLMSG_ALIGN(sizeof(struct ifinfomsg)));
    const struct nlattr *pattrs = (const struct nlattr *)((const char *)mnl_attr_get_payload(peer) +
                                                          NLMSG_ALIGN(sizeof(struct ifinfomsg)));
    size_t plen = mnl_attr_get_payload_len(peer) - NLMSG_ALIGN(sizeof(struct ifinfomsg));
    const struct nlattr *pname = find_attr(pattrs, plen, IFLA_IFNAME);
    CHECK_STR(pname ? mnl_attr_get_str(pname) : NULL, "eth0");
    const struct nlattr *pid = find_attr(pattrs, plen, IFLA_NET_NS_PID);
    CHECK(pid && mnl_attr_get_u32(pid) == 4242);
    const struct nlattr *addr = find_attr(pattrs, plen, IFLA_ADDRESS);
    CHECK(addr && mnl_attr_get_payload_len(addr) == 6 &&
          memcmp(mnl_attr_get_payload(addr), mac, 6) == 0);
    /* the nests end where the message ends: lengths add up */
    CHECK((const char *)info + info->nla_len == (const char *)nlh + nlh->nlmsg_len);
}

/* An NLMSG_ERROR as the kernel sends it with NETLINK_CAP_ACK and NETLINK_EXT_ACK. */
static struct nlmsghdr *make_error(char *buf, uint32_t seq, int error, const char *ext, bool capped)
{
    memset(buf, 0, NL_MSG_SIZE);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_seq = seq;
    struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
    e->error = error;
    e->msg.nlmsg_len = sizeof(struct nlmsghdr) + (capped ? 0 : 16);
    e->msg.nlmsg_seq = seq;
    if (!capped)
        mnl_nlmsg_put_extra_header(nlh, 16); /* the echoed request's payload */
    if (capped)
        nlh->nlmsg_flags |= NLM_F_CAPPED;
    if (ext) {
        nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
        mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 20);
        mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, ext);
    }
    return nlh;
}

static void test_error_ack(void)
{
    char buf[NL_MSG_SIZE], ext[256];
    struct nlmsghdr *nlh = make_error(buf, 7, 0, NULL, true);
    CHECK_INT(nl_parse_error(nlh, ext, sizeof(ext)), 0);
    CHECK_STR(ext, "");
    nlh = make_error(buf, 7, -EOPNOTSUPP, "Unknown device type\n", true);
    CHECK_INT(nl_parse_error(nlh, ext, sizeof(ext)), -EOPNOTSUPP);
    CHECK_STR(ext, "Unknown device type");
    /* without NETLINK_CAP_ACK the request is echoed before the TLVs */
    nlh = make_error(buf, 7, -EEXIST, "File exists here", false);
    CHECK_INT(nl_parse_error(nlh, ext, sizeof(ext)), -EEXIST);
    CHECK_STR(ext, "File exists here");
    /* truncated */
    nlh = make_error(buf, 7, -EINVAL, NULL, true);
    nlh->nlmsg_len = NLMSG_HDRLEN + 2;
    CHECK_INT(nl_parse_error(nlh, ext, sizeof(ext)), -EBADMSG);
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
    (*(int *)data)++;
    return MNL_CB_OK;
}

static size_t put_msg(char *buf, size_t off, uint16_t type, uint32_t seq, int done_error)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + off);
    nlh->nlmsg_type = type;
    nlh->nlmsg_seq = seq;
    if (type == NLMSG_DONE) {
        int *e = mnl_nlmsg_put_extra_header(nlh, sizeof(int));
        *e = done_error;
    } else {
        mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
    }
    return off + nlh->nlmsg_len;
}

static void test_process_dump(void)
{
    char buf[4096], ext[64];
    memset(buf, 0, sizeof(buf));
    int n = 0;
    /* a stale reply of an earlier request, two entries, then the end */
    size_t len = put_msg(buf, 0, RTM_NEWLINK, 3, 0);
    len = put_msg(buf, len, RTM_NEWLINK, 5, 0);
    len = put_msg(buf, len, RTM_NEWLINK, 5, 0);
    CHECK_INT(nl_process(buf, len, 5, 5, count_cb, &n, ext, sizeof(ext)), 0);
    CHECK_INT(n, 2);
    len = put_msg(buf, len, NLMSG_DONE, 5, 0);
    n = 0;
    CHECK_INT(nl_process(buf, len, 5, 5, count_cb, &n, ext, sizeof(ext)), 1);
    CHECK_INT(n, 2);
    /* a dump that ends with an error */
    len = put_msg(buf, 0, NLMSG_DONE, 6, -ENOBUFS);
    CHECK_INT(nl_process(buf, len, 6, 6, NULL, NULL, ext, sizeof(ext)), -ENOBUFS);
}

static void test_process_batch(void)
{
    char buf[NL_MSG_SIZE * 3], ext[64];
    memset(buf, 0, sizeof(buf));
    /* acks for 10 and 11: not done until 12 (the last) is acknowledged */
    make_error(buf, 10, 0, NULL, true);
    size_t len = ((struct nlmsghdr *)buf)->nlmsg_len;
    make_error(buf + len, 11, 0, NULL, true);
    len += ((struct nlmsghdr *)(buf + len))->nlmsg_len;
    CHECK_INT(nl_process(buf, len, 10, 12, NULL, NULL, ext, sizeof(ext)), 0);
    make_error(buf + len, 12, 0, NULL, true);
    len += ((struct nlmsghdr *)(buf + len))->nlmsg_len;
    CHECK_INT(nl_process(buf, len, 10, 12, NULL, NULL, ext, sizeof(ext)), 1);
    /* an error in the middle ends the wait with that error and its message */
    make_error(buf, 10, 0, NULL, true);
    len = ((struct nlmsghdr *)buf)->nlmsg_len;
    make_error(buf + len, 11, -ENOENT, "No such chain", true);
    len += ((struct nlmsghdr *)(buf + len))->nlmsg_len;
    CHECK_INT(nl_process(buf, len, 10, 12, NULL, NULL, ext, sizeof(ext)), -ENOENT);
    CHECK_STR(ext, "No such chain");
    /* a stale error of another request is ignored */
    make_error(buf, 4, -EPERM, NULL, true);
    len = ((struct nlmsghdr *)buf)->nlmsg_len;
    CHECK_INT(nl_process(buf, len, 10, 12, NULL, NULL, ext, sizeof(ext)), 0);
}

static void test_parse_link(void)
{
    char buf[NL_MSG_SIZE], name[32];
    memset(buf, 0, sizeof(buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_index = 17;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, "br-x");
    mnl_attr_put_u32(nlh, IFLA_MTU, 1400);
    mnl_attr_put_u32(nlh, IFLA_MASTER, 3);
    mnl_attr_put_strz(nlh, IFLA_IFALIAS, "berth network x");
    struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(nlh, info);
    struct link_info li;
    CHECK_INT(rtnl_parse_link(nlh, &li, name, sizeof(name)), 0);
    CHECK_INT(li.ifindex, 17);
    CHECK_STR(name, "br-x");
    CHECK_INT(li.mtu, 1400);
    CHECK_INT(li.master, 3);
    CHECK_STR(li.kind, "bridge");
    CHECK_STR(li.alias, "berth network x");
    nlh->nlmsg_type = RTM_NEWADDR;
    CHECK_INT(rtnl_parse_link(nlh, &li, NULL, 0), -EBADMSG);
}

static void test_tbf(void)
{
    char buf[NL_MSG_SIZE];
    uint32_t burst, limit;
    tc_tbf_params(10000000, 1500, &burst, &limit);
    CHECK_INT(burst, 62500);         /* 50 ms at 1.25 MB/s */
    CHECK_INT(limit, 62500 + 62500); /* 50 ms plus the bucket */
    tc_tbf_params(100000, 1500, &burst, &limit);
    CHECK_INT(burst, 4 * 1514); /* never below a few frames */
    struct nlmsghdr *nlh = tc_build_tbf(buf, 9, 10000000, 1500);
    CHECK_INT(nlh->nlmsg_type, RTM_NEWQDISC);
    struct tcmsg *t = mnl_nlmsg_get_payload(nlh);
    CHECK_INT(t->tcm_ifindex, 9);
    CHECK_INT(t->tcm_parent, TC_H_ROOT);
    const struct nlattr *attrs = (const struct nlattr *)((char *)t + NLMSG_ALIGN(sizeof(*t)));
    size_t len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(*t));
    const struct nlattr *kind = find_attr(attrs, len, TCA_KIND);
    CHECK_STR(kind ? mnl_attr_get_str(kind) : NULL, "tbf");
    const struct nlattr *opts = find_attr(attrs, len, TCA_OPTIONS);
    const struct nlattr *parms = opts ? nested(opts, TCA_TBF_PARMS) : NULL;
    CHECK(parms && mnl_attr_get_payload_len(parms) == sizeof(struct tc_tbf_qopt));
    if (parms) {
        const struct tc_tbf_qopt *q = mnl_attr_get_payload(parms);
        CHECK_INT(q->rate.rate, 1250000);
        CHECK_INT(q->limit, 125000);
        CHECK_INT(q->buffer, 62500ull * 1000000000 / 1250000 / 64);
    }
    CHECK(opts && !nested(opts, TCA_TBF_RATE64));
    /* above 4 GB/s the rate goes in TCA_TBF_RATE64 */
    nlh = tc_build_tbf(buf, 9, 40000000000ull, 1500);
    t = mnl_nlmsg_get_payload(nlh);
    attrs = (const struct nlattr *)((char *)t + NLMSG_ALIGN(sizeof(*t)));
    len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(*t));
    opts = find_attr(attrs, len, TCA_OPTIONS);
    const struct nlattr *r64 = opts ? nested(opts, TCA_TBF_RATE64) : NULL;
    CHECK(r64 && mnl_attr_get_u64(r64) == 5000000000ull);
}

static void test_redirect_filter(void)
{
    char buf[NL_MSG_SIZE];
    struct nlmsghdr *nlh = tc_build_redirect_filter(buf, 5, 8);
    CHECK_INT(nlh->nlmsg_type, RTM_NEWTFILTER);
    struct tcmsg *t = mnl_nlmsg_get_payload(nlh);
    CHECK_INT(t->tcm_parent, TC_H_MAKE(TC_H_INGRESS, 0));
    const struct nlattr *attrs = (const struct nlattr *)((char *)t + NLMSG_ALIGN(sizeof(*t)));
    size_t len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(*t));
    const struct nlattr *kind = find_attr(attrs, len, TCA_KIND);
    CHECK_STR(kind ? mnl_attr_get_str(kind) : NULL, "u32");
    const struct nlattr *opts = find_attr(attrs, len, TCA_OPTIONS);
    const struct nlattr *sel = opts ? nested(opts, TCA_U32_SEL) : NULL;
    CHECK(sel &&
          mnl_attr_get_payload_len(sel) == sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key));
    const struct nlattr *acts = opts ? nested(opts, TCA_U32_ACT) : NULL;
    const struct nlattr *act = acts ? nested(acts, 1) : NULL;
    const struct nlattr *akind = act ? nested(act, TCA_ACT_KIND) : NULL;
    CHECK_STR(akind ? mnl_attr_get_str(akind) : NULL, "mirred");
    const struct nlattr *aopts = act ? nested(act, TCA_ACT_OPTIONS) : NULL;
    const struct nlattr *parms = aopts ? nested(aopts, TCA_MIRRED_PARMS) : NULL;
    CHECK(parms != NULL);
    if (parms) {
        const struct tc_mirred *m = mnl_attr_get_payload(parms);
        CHECK_INT(m->eaction, TCA_EGRESS_REDIR);
        CHECK_INT(m->action, TC_ACT_STOLEN);
        CHECK_INT(m->ifindex, 8);
    }
}

UNIT_MAIN(UNIT(test_msg_start), UNIT(test_veth_nesting), UNIT(test_error_ack),
          UNIT(test_process_dump), UNIT(test_process_batch), UNIT(test_parse_link), UNIT(test_tbf),
          UNIT(test_redirect_filter))
