/* console-receiver: the receiving end of `--console-socket` for tests. The runtime connects,
 * sends the pty master over SCM_RIGHTS with the pty name as payload (runc's protocol), and
 * everything the container writes to its terminal ends up on our stdout or in --out FILE. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "lib/macros.h"

#define PROG "console-receiver"

static const char usage_text[] =
        "usage: " PROG " SOCKET_PATH [--out FILE] [--input TEXT] [--resize ROWSxCOLS]\n"
        "                        [--timeout SECONDS]\n"
        "Listen on SOCKET_PATH, accept one connection, receive a pty master (SCM_RIGHTS,\n"
        "payload = pty name), print `received pty NAME` to stderr, optionally resize it and\n"
        "write TEXT to it, then copy the master to stdout (or FILE) until EOF/EIO.\n"
        "--timeout bounds the wait for the connection (default 60 s, 0 = forever).\n";

/* Set once the socket exists, so every way out removes it. */
static const char *bound_path;

static void remove_socket(void)
{
    if (bound_path)
        unlink(bound_path);
    bound_path = NULL;
}

static void on_fatal_signal(int sig)
{
    if (bound_path)
        unlink(bound_path);
    signal(sig, SIG_DFL);
    raise(sig);
}

static _noreturn_ _printf_(1, 2) void fail(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    remove_socket();
    exit(1);
}

static int listen_on(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        fail("socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        fail("bind %s: %s", path, strerror(errno));
    bound_path = path;
    if (listen(fd, 1) < 0)
        fail("listen: %s", strerror(errno));
    return fd;
}

static int accept_within(int lfd, int timeout_ms)
{
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    int r = RETRY_EINTR(poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : -1));
    int fd;

    if (r < 0)
        fail("poll: %s", strerror(errno));
    if (r == 0)
        fail("nobody connected to %s within %d ms", bound_path, timeout_ms);
    fd = RETRY_EINTR(accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
    if (fd < 0)
        fail("accept: %s", strerror(errno));
    return fd;
}

/* One message carrying the master fd; any extra fds are closed so none leak. */
static int receive_pty(int conn, char *name, size_t namelen)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = name, .iov_len = namelen - 1};
    struct msghdr msg = {
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = control.buf,
            .msg_controllen = sizeof(control.buf),
    };
    ssize_t n = RETRY_EINTR(recvmsg(conn, &msg, MSG_CMSG_CLOEXEC));
    int master = -1;

    if (n < 0)
        fail("recvmsg: %s", strerror(errno));
    name[n] = '\0';
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        size_t nfds;
        int fds[8];

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if (nfds > ARRAY_SIZE(fds))
            nfds = ARRAY_SIZE(fds);
        memcpy(fds, CMSG_DATA(c), nfds * sizeof(int));
        for (size_t i = 0; i < nfds; i++) {
            if (master < 0)
                master = fds[i];
            else
                close(fds[i]);
        }
    }
    if (msg.msg_flags & MSG_CTRUNC)
        fprintf(stderr, PROG ": warning: control message truncated\n");
    if (master < 0)
        fail("no file descriptor in the message (payload \"%s\")", name);
    return master;
}

static void write_all(int fd, const char *buf, size_t len, const char *what)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("write %s: %s", what, strerror(errno));
        }
        buf += n;
        len -= (size_t)n;
    }
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
            {"out", required_argument, NULL, 'o'},    {"input", required_argument, NULL, 'i'},
            {"resize", required_argument, NULL, 'r'}, {"timeout", required_argument, NULL, 't'},
            {"help", no_argument, NULL, 'h'},         {0},
    };
    const char *out_path = NULL, *input = NULL, *path;
    struct winsize ws = {0};
    bool resize = false;
    double timeout = 60;
    struct sigaction sa = {.sa_handler = on_fatal_signal};
    char name[PATH_MAX];
    int opt, lfd, conn, master, out = STDOUT_FILENO;

    while ((opt = getopt_long(argc, argv, "o:i:r:t:h", options, NULL)) != -1) {
        switch (opt) {
        case 'o': out_path = optarg; break;
        case 'i': input = optarg; break;
        case 'r':
            if (sscanf(optarg, "%hux%hu", &ws.ws_row, &ws.ws_col) != 2)
                fail("--resize wants ROWSxCOLS, not %s", optarg);
            resize = true;
            break;
        case 't': timeout = strtod(optarg, NULL); break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: fputs(usage_text, stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fputs(usage_text, stderr);
        return 2;
    }
    path = argv[optind];

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (out_path) {
        out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0)
            fail("%s: %s", out_path, strerror(errno));
    }

    lfd = listen_on(path);
    conn = accept_within(lfd, (int)(timeout * 1000));
    close(lfd);
    /* One connection is all the protocol has; the path is of no use any more. */
    remove_socket();
    master = receive_pty(conn, name, sizeof(name));
    close(conn);
    fprintf(stderr, "received pty %s\n", name);

    if (resize && ioctl(master, TIOCSWINSZ, &ws) < 0)
        fail("TIOCSWINSZ: %s", strerror(errno));
    if (input)
        write_all(master, input, strlen(input), "pty master");

    for (;;) {
        char buf[65536];
        ssize_t n = read(master, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        /* EIO is how a master reports that the last slave fd was closed. */
        if (n == 0 || (n < 0 && errno == EIO))
            break;
        if (n < 0)
            fail("read pty master: %s", strerror(errno));
        write_all(out, buf, (size_t)n, out_path ? out_path : "stdout");
    }
    close(master);
    if (out != STDOUT_FILENO && close(out) < 0)
        fail("%s: %s", out_path, strerror(errno));
    return 0;
}
