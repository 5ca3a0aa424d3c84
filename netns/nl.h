/*
 * Netlink over libmnl: one socket per bus (and per network namespace), requests
 * that wait for their acknowledgement, dumps, and the kernel's extended ack
 * message ("Unknown device type") kept for error reports.
 *
 * Every request carries NLM_F_ACK, so each one ends with an NLMSG_ERROR (0 for
 * success) or, for dumps, NLMSG_DONE. Replies whose sequence number belongs to
 * an earlier request are skipped.
 */
#pragma once

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NL_BUF_SIZE 65536

struct nl {
    struct mnl_socket *sock;
    unsigned portid;
    uint32_t seq;
    int bus;
    char ext[256]; /* the kernel's extended ack message of the last failed request */
};

/* A socket on bus (NETLINK_ROUTE, NETLINK_NETFILTER) in the caller's network namespace. */
int nl_open(int bus, struct nl **out);
/* The same in the network namespace nsfd refers to (setns there and back). */
int nl_open_in_netns(int bus, int nsfd, struct nl **out);
void nl_close(struct nl *nl);

static inline void nl_closep(struct nl **nl)
{
    if (*nl)
        nl_close(*nl);
}
#define _cleanup_nl_ __attribute__((cleanup(nl_closep)))

/* Start a message in buf (at least NL_MSG_SIZE bytes): header, zeroed family header of
 * extra bytes, flags | NLM_F_REQUEST | NLM_F_ACK. */
#define NL_MSG_SIZE 8192
struct nlmsghdr *nl_msg_start(void *buf, uint16_t type, uint16_t flags, void **extra,
                              size_t extra_len);

/* Parse an NLMSG_ERROR message: returns its error (0 is an ack, else -errno) and copies
 * the extended ack message, if any, into ext (always NUL-terminated). -EBADMSG when the
 * message is truncated. Pure: for the unit tests too. */
int nl_parse_error(const struct nlmsghdr *nlh, char *ext, size_t ext_size);

/* Walk the messages in buf[0..len): returns 1 when the request with sequence number
 * `last_seq` is complete (ack, error or NLMSG_DONE), 0 when more is to come, -errno for an
 * error ack or a callback failure. Replies with a sequence below first_seq are skipped.
 * Pure over the buffer: the unit tests feed it made-up replies. */
int nl_process(const void *buf, size_t len, uint32_t first_seq, uint32_t last_seq, mnl_cb_t cb,
               void *data, char *ext, size_t ext_size);

/* Send nlh (its seq is assigned here) and read replies until its ack or NLMSG_DONE; each
 * other reply goes to cb (may be NULL). Returns 0 or -errno; nl->ext holds the kernel's
 * message. */
int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
/* Send a prepared batch of n messages whose sequence numbers run first_seq..last_seq
 * (nftables) and wait for the ack of the last one. */
int nl_talk_batch(struct nl *nl, const void *buf, size_t len, uint32_t first_seq,
                  uint32_t last_seq);
/* A fresh sequence number (for batches built by hand). */
uint32_t nl_next_seq(struct nl *nl);

/* Record "<what>: <strerror>[ (kernel: <ext>)]" and return r (negative). */
int nl_fail(const struct nl *nl, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
