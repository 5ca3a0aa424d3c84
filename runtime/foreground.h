/*
 * A container process berth waits for in the foreground (`run`, `exec`): signals
 * are forwarded to it, a pty master is proxied to berth's own stdio (raw mode,
 * window size followed), sd_notify messages are relayed to systemd with MAINPID,
 * and its exit status is returned (128+N when killed by signal N).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <termios.h>

struct foreground {
    pid_t pid; /* the process to wait for: berth's child */
    int pidfd;
    int sfd;         /* signalfd of the forwarded signals, SIGCHLD and SIGWINCH */
    int master;      /* pty master to proxy, or -1 */
    int notify_fd;   /* the container's notify socket, or -1 */
    pid_t main_pid;  /* MAINPID reported to systemd */
    int stop_signal; /* what a SIGTERM to berth becomes (the image's StopSignal); 0 = SIGTERM */
    bool stdin_open;
    bool stdout_open; /* false once the reader went away (EPIPE): output is drained, dropped */
    char last_in;     /* the last byte passed to the pty (EOF after a partial line needs two) */
    bool ready;       /* READY=1 was relayed: systemd tracks the container as MAINPID */
    bool raw;
    struct termios saved;
};

void foreground_init(struct foreground *fg);
/* Block the forwarded signals and open the signalfd: before the process can start. */
int foreground_block_signals(struct foreground *fg);
/* The signal an "org.opencontainers.image.stopSignal" annotation names (e.g. "SIGQUIT", "3"),
 * or 0 when absent or unknown. */
int stop_signal_from_annotation(const char *value);
/* Take the pty master the container sent over the console socket pair. */
int foreground_receive_pty(struct foreground *fg, int console_sock);
/* Proxy, forward and relay until the process exits; then restore the terminal. */
int foreground_wait(struct foreground *fg, int *exit_code);
void foreground_close(struct foreground *fg);

/* sd_notify relay: NOTIFY_SOCKET of berth's caller, and a socket for the container. */
struct notify_relay {
    char *host_socket;    /* the caller's NOTIFY_SOCKET ("@name" for abstract) */
    char *container_path; /* where the container sees its socket */
    char *dir;            /* <state>/notify: bind-mounted over the container path's directory */
};

/* When berth runs with NOTIFY_SOCKET set: make <state_dir>/notify and describe the mount and
 * the env the container gets. Returns 0 with r->host_socket NULL when there is nothing to do. */
int notify_relay_prepare(const char *state_dir, struct notify_relay *r);
/* Bind the listening datagram socket (before the process can send READY=1). */
int notify_relay_listen(const struct notify_relay *r, int *fd);
/* Forward one message to systemd with MAINPID=pid. */
int notify_relay_forward(const char *host_socket, const char *msg, size_t len, pid_t pid);
/* Send one message of berth's own to systemd. */
int notify_send(const char *host_socket, const char *msg);
/* Wait until systemd has processed every message sent so far (BARRIER=1). */
int notify_barrier(const char *host_socket);
/* Relay messages until one carries READY=1 (start, run -d). */
int notify_relay_until_ready(const char *host_socket, int fd, pid_t pid, int pidfd);
void notify_relay_free(struct notify_relay *r);
