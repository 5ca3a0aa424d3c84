/* The parent <-> container process message channel (SOCK_SEQPACKET). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/err.h"
#include "runtime/init.h"

#define SYNC_TEXT_MAX 4096

struct sync_hdr {
    uint32_t type;
    int32_t value;
};

int sync_send(int fd, enum sync_type type, int value, const char *text, int pass_fd)
{
    char buf[sizeof(struct sync_hdr) + SYNC_TEXT_MAX];
    struct sync_hdr h = {.type = type, .value = value};
    size_t n = sizeof(h);
    memcpy(buf, &h, sizeof(h));
    if (text) {
        size_t tl = strnlen(text, SYNC_TEXT_MAX - 1);
        memcpy(buf + n, text, tl);
        buf[n + tl] = '\0';
        n += tl + 1;
    }
    struct iovec iov = {.iov_base = buf, .iov_len = n};
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (pass_fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.b;
        msg.msg_controllen = sizeof(ctl.b);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
    }
    if (RETRY_EINTR(sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0)
        return -errno;
    return 0;
}

int sync_recv(int fd, enum sync_type *type, int *value, char *text, size_t text_size,
              int *recv_fd)
{
    char buf[sizeof(struct sync_hdr) + SYNC_TEXT_MAX + 1];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
                         .msg_controllen = sizeof(ctl.b)};
    if (recv_fd)
        *recv_fd = -1;
    ssize_t n = RETRY_EINTR(recvmsg(fd, &msg, MSG_CMSG_CLOEXEC));
    if (n < 0)
        return -errno;
    if (n == 0)
        return 0;
    if ((size_t)n < sizeof(struct sync_hdr))
        return -EBADMSG;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int got;
            memcpy(&got, CMSG_DATA(cm), sizeof(int));
            if (recv_fd && *recv_fd < 0)
                *recv_fd = got;
            else
                close(got);
        }
    }
    struct sync_hdr h;
    memcpy(&h, buf, sizeof(h));
    *type = h.type;
    *value = h.value;
    if (text && text_size) {
        size_t tl = (size_t)n - sizeof(h);
        buf[n] = '\0';
        snprintf(text, text_size, "%s", tl ? buf + sizeof(h) : "");
    }
    return 1;
}

int sync_wait_continue(int fd, const char *waiting_for)
{
    enum sync_type t;
    int v;
    int r = sync_recv(fd, &t, &v, NULL, 0, NULL);
    if (r < 0)
        return err_set(r, "waiting for berth to %s", waiting_for);
    if (r == 0)
        return err_setx(EPIPE, "berth exited while the container waited for it to %s",
                        waiting_for);
    if (t != SYNC_CONTINUE)
        return err_setx(EBADMSG, "unexpected message %u while waiting for berth to %s", t,
                        waiting_for);
    return 0;
}
