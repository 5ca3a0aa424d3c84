/* Unix-socket messages that may carry one file descriptor (SCM_RIGHTS). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Send len bytes and, when fd >= 0, the fd with them. Returns 0 or -errno. */
int sock_send_fd(int sock, const void *data, size_t len, int fd);
/* Receive one message into buf (at most size bytes); a passed fd goes to *fd (close-on-exec,
 * -1 when none; further fds are closed). Returns the byte count (0: the peer is gone) or
 * -errno. */
ssize_t sock_recv_fd(int sock, void *buf, size_t size, int *fd);
