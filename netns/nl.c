/* Netlink requests over libmnl: acks, dumps, batches, extended ack messages. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/netlink.h>

#include "lib/err.h"
#include "lib/util.h"
#include "netns/nl.h"

int nl_open(int bus, struct nl **out)
{
    struct mnl_socket *s = mnl_socket_open2(bus, SOCK_CLOEXEC);
    if (!s) {
        if (errno == EPROTONOSUPPORT && bus == NETLINK_NETFILTER)
            return err_set(errno, "open a netfilter netlink socket (is the nfnetlink/nf_tables "
                                  "kernel module available? try: modprobe nf_tables)");
        return err_set(errno, "open a netlink socket (bus %d)", bus);
    }
    if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno;
        mnl_socket_close(s);
        return err_set(e, "bind a netlink socket (bus %d)", bus);
    }
    int one = 1;
    /* the kernel's own words in errors, and acks without a copy of our request */
    (void)mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
    (void)mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
    struct nl *nl = xzalloc(sizeof(*nl));
    nl->sock = s;
    nl->portid = mnl_socket_get_portid(s);
    nl->seq = (uint32_t)time(NULL);
    nl->bus = bus;
    *out = nl;
    return 0;
}

int nl_open_in_netns(int bus, int nsfd, struct nl **out)
{
    _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return err_set(errno, "open /proc/self/ns/net");
    if (setns(nsfd, CLONE_NEWNET) < 0)
        return err_set(errno, "enter the container's network namespace");
    int r = nl_open(bus, out);
    if (setns(self, CLONE_NEWNET) < 0) {
        /* berth cannot go on in the wrong namespace */
        if (r == 0)
            nl_close(*out);
        return err_set(errno, "return to berth's own network namespace");
    }
    return r;
}

void nl_close(struct nl *nl)
{
    if (!nl)
        return;
    mnl_socket_close(nl->sock);
    free(nl);
}

struct nlmsghdr *nl_msg_start(void *buf, uint16_t type, uint16_t flags, void **extra,
                              size_t extra_len)
{
    memset(buf, 0, NL_MSG_SIZE);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    void *x = extra_len ? mnl_nlmsg_put_extra_header(nlh, extra_len) : NULL;
    if (extra)
        *extra = x;
    return nlh;
}

uint32_t nl_next_seq(struct nl *nl)
{
    return ++nl->seq;
}

int nl_parse_error(const struct nlmsghdr *nlh, char *ext, size_t ext_size)
{
    if (ext_size)
        ext[0] = '\0';
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
        return -EBADMSG;
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    int err = e->error > 0 ? -e->error : e->error;
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || !ext_size)
        return err;
    /* the TLVs follow the error, and the echoed request unless it was capped */
    size_t off = sizeof(*e);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(struct nlmsghdr))
        off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
    size_t payload = mnl_nlmsg_get_payload_len(nlh);
    if (off >= payload)
        return err;
    const struct nlattr *a = (const struct nlattr *)((const char *)e + off);
    size_t left = payload - off;
    while (mnl_attr_ok(a, (int)left)) {
        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
            mnl_attr_validate((struct nlattr *)a, MNL_TYPE_NUL_STRING) == 0) {
            snprintf(ext, ext_size, "%s", mnl_attr_get_str(a));
            /* the kernel's message often ends with a newline or a space */
            size_t n = strlen(ext);
            while (n && (ext[n - 1] == '\n' || ext[n - 1] == ' '))
                ext[--n] = '\0';
            break;
        }
        left -= MNL_ALIGN(a->nla_len);
        a = mnl_attr_next(a);
    }
    return err;
}

int nl_process(const void *buf, size_t len, uint32_t first_seq, uint32_t last_seq, mnl_cb_t cb,
               void *data, char *ext, size_t ext_size)
{
    const struct nlmsghdr *nlh = buf;
    int left = (int)len;
    while (mnl_nlmsg_ok(nlh, left)) {
        uint32_t seq = nlh->nlmsg_seq;
        bool ours = seq >= first_seq && seq <= last_seq;
        if (ours && nlh->nlmsg_type == NLMSG_ERROR) {
            int r = nl_parse_error(nlh, ext, ext_size);
            if (r < 0)
                return r;
            if (seq == last_seq)
                return 1;
        } else if (ours && nlh->nlmsg_type == NLMSG_DONE) {
            /* a dump's end may carry an error of its own */
            if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
                int e = *(const int *)mnl_nlmsg_get_payload(nlh);
                if (e < 0)
                    return e;
            }
            if (seq == last_seq)
                return 1;
        } else if (ours && nlh->nlmsg_type >= NLMSG_MIN_TYPE && cb) {
            int r = cb(nlh, data);
            if (r == MNL_CB_ERROR)
                return errno > 0 ? -errno : -EIO;
        }
        nlh = mnl_nlmsg_next(nlh, &left);
    }
    return 0;
}

static int nl_wait(struct nl *nl, uint32_t first_seq, uint32_t last_seq, mnl_cb_t cb, void *data)
{
    _cleanup_free_ char *buf = xmalloc(NL_BUF_SIZE);
    nl->ext[0] = '\0';
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl->sock, buf, NL_BUF_SIZE);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        int r = nl_process(buf, (size_t)n, first_seq, last_seq, cb, data, nl->ext, sizeof(nl->ext));
        if (r != 0)
            return r < 0 ? r : 0;
    }
}

int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
    nlh->nlmsg_seq = nl_next_seq(nl);
    nlh->nlmsg_flags |= NLM_F_ACK;
    if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
        return -errno;
    return nl_wait(nl, nlh->nlmsg_seq, nlh->nlmsg_seq, cb, data);
}

int nl_talk_batch(struct nl *nl, const void *buf, size_t len, uint32_t first_seq, uint32_t last_seq)
{
    if (mnl_socket_sendto(nl->sock, buf, len) < 0)
        return -errno;
    return nl_wait(nl, first_seq, last_seq, NULL, NULL);
}

int nl_fail(const struct nl *nl, int r, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (nl && nl->ext[0])
        return err_setx(-r, "%s: %s (kernel: %s)", what, strerror(-r), nl->ext);
    return err_setx(-r, "%s: %s", what, strerror(-r));
}
