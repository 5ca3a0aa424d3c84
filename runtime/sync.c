/* The parent <-> container process message channel (SOCK_SEQPACKET). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/sock.h"
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
    return sock_send_fd(fd, buf, n, pass_fd);
}

int sync_recv(int fd, enum sync_type *type, int *value, char *text, size_t text_size, int *recv_fd)
{
    char buf[sizeof(struct sync_hdr) + SYNC_TEXT_MAX + 1];
    int got;
    ssize_t n = sock_recv_fd(fd, buf, sizeof(buf) - 1, &got);
    if (recv_fd)
        *recv_fd = got;
    else if (got >= 0)
        close(got);
    if (n <= 0)
        return (int)n;
    if ((size_t)n < sizeof(struct sync_hdr))
        return -EBADMSG;
    struct sync_hdr h;
    memcpy(&h, buf, sizeof(h));
    *type = h.type;
    *value = h.value;
    if (text && text_size) {
        buf[n] = '\0';
        snprintf(text, text_size, "%s", (size_t)n > sizeof(h) ? buf + sizeof(h) : "");
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
        return err_setx(EPIPE, "berth exited while the container waited for it to %s", waiting_for);
    if (t != SYNC_CONTINUE)
        return err_setx(EBADMSG, "unexpected message %u while waiting for berth to %s", t,
                        waiting_for);
    return 0;
}
