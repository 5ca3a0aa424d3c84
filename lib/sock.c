#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/macros.h"
#include "lib/sock.h"

union fd_cmsg {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

int sock_send_fd(int sock, const void *data, size_t len, int fd)
{
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    union fd_cmsg ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    ssize_t n = RETRY_EINTR(sendmsg(sock, &msg, MSG_NOSIGNAL));
    if (n < 0)
        return -errno;
    /* a stream socket may take the payload in parts; the fd went with the first */
    for (size_t done = (size_t)n; done < len; done += (size_t)n) {
        n = RETRY_EINTR(send(sock, (const char *)data + done, len - done, MSG_NOSIGNAL));
        if (n < 0)
            return -errno;
    }
    return 0;
}

ssize_t sock_recv_fd(int sock, void *buf, size_t size, int *fd)
{
    struct iovec iov = {.iov_base = buf, .iov_len = size};
    union fd_cmsg ctl;
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    *fd = -1;
    ssize_t n = RETRY_EINTR(recvmsg(sock, &msg, MSG_CMSG_CLOEXEC));
    if (n < 0)
        return -errno;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        int got;
        memcpy(&got, CMSG_DATA(cm), sizeof(int));
        if (*fd < 0)
            *fd = got;
        else
            close(got);
    }
    return n;
}
