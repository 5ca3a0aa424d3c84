#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/sock.h"
#include "lib/util.h"
#include "runtime/foreground.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

void foreground_init(struct foreground *fg)
{
    *fg = (struct foreground){.pidfd = -1,
                              .sfd = -1,
                              .master = -1,
                              .notify_fd = -1,
                              .stdin_open = true,
                              .stdout_open = true,
                              .last_in = '\n'};
}

int foreground_block_signals(struct foreground *fg)
{
    /* a reader of our stdout going away (| head) must not kill berth in the middle */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
        sigaddset(&set, forwarded[i]);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGWINCH);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return err_set(errno, "block signals");
    fg->sfd = signalfd(-1, &set, SFD_CLOEXEC);
    return fg->sfd < 0 ? err_set(errno, "signalfd") : 0;
}

int stop_signal_from_annotation(const char *value)
{
    if (!value || !*value)
        return 0;
    uint64_t n;
    if (parse_u64(value, &n) == 0)
        return n > 0 && n < (uint64_t)NSIG ? (int)n : 0;
    const char *name = strncasecmp(value, "SIG", 3) == 0 ? value + 3 : value;
    for (int sig = 1; sig < NSIG; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev && strcasecmp(abbrev, name) == 0)
            return sig;
    }
    return 0;
}

int foreground_receive_pty(struct foreground *fg, int sock)
{
    char name[128];
    ssize_t n = sock_recv_fd(sock, name, sizeof(name) - 1, &fg->master);
    if (n < 0)
        return err_set((int)n, "terminal: receive the pty from the container");
    if (fg->master < 0)
        return err_setx(EPIPE, "terminal: the container sent no pty");
    /* non-blocking: draining after the process exits must not wait for its children */
    fcntl(fg->master, F_SETFL, O_NONBLOCK);
    return 0;
}

static void copy_winsize(int from, int to)
{
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0)
        ioctl(to, TIOCSWINSZ, &ws);
}

static void tty_raw(struct foreground *fg)
{
    if (fg->master < 0 || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &fg->saved) < 0)
        return;
    struct termios raw = fg->saved;
    cfmakeraw(&raw);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
        fg->raw = true;
    copy_winsize(STDIN_FILENO, fg->master);
}

static void tty_restore(struct foreground *fg)
{
    if (fg->raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &fg->saved);
        fg->raw = false;
    }
}

/* stdin -> pty; at EOF of a non-tty stdin the pty gets its EOF character, once. */
static void pump_stdin(struct foreground *fg)
{
    char buf[4096];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n > 0) {
        write_all(fg->master, buf, (size_t)n);
        fg->last_in = buf[n - 1];
        return;
    }
    if (n < 0 && errno == EINTR)
        return;
    fg->stdin_open = false;
    struct termios t;
    if (tcgetattr(fg->master, &t) == 0) {
        /* the first EOF only hands over a partial line; the second is the end */
        write_all(fg->master, &t.c_cc[VEOF], 1);
        if (fg->last_in != '\n')
            write_all(fg->master, &t.c_cc[VEOF], 1);
    }
}

/* pty -> stdout: 1 copied, 0 nothing now, -1 closed (EIO once the last slave fd is gone) */
static int pump_master(struct foreground *fg)
{
    char buf[8192];
    ssize_t n = read(fg->master, buf, sizeof(buf));
    if (n > 0) {
        /* with nobody reading our stdout, keep draining so the container never blocks */
        if (fg->stdout_open && write_all(STDOUT_FILENO, buf, (size_t)n) == -EPIPE)
            fg->stdout_open = false;
        return 1;
    }
    return n < 0 && (errno == EINTR || errno == EAGAIN) ? 0 : -1;
}

static void relay_notify(struct foreground *fg, const char *host_socket)
{
    char buf[4096];
    ssize_t n = recv(fg->notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    if (n <= 0 || !host_socket)
        return;
    buf[n] = '\0';
    notify_relay_forward(host_socket, buf, (size_t)n, fg->main_pid ? fg->main_pid : fg->pid);
    if (strstr(buf, "READY=1"))
        fg->ready = true;
}

/* A signal for us: forward it, follow the window size, or reap the process. */
static bool handle_signal(struct foreground *fg, int *exit_code)
{
    struct signalfd_siginfo si;
    if (read(fg->sfd, &si, sizeof(si)) != sizeof(si))
        return false;
    if (si.ssi_signo == SIGWINCH) {
        if (fg->master >= 0)
            copy_winsize(STDIN_FILENO, fg->master);
        return false;
    }
    if (si.ssi_signo != SIGCHLD) {
        int sig = (int)si.ssi_signo;
        /* stopping berth (systemctl stop) stops the container the way its image asks */
        if (sig == SIGTERM && fg->stop_signal > 0)
            sig = fg->stop_signal;
        if (syscall(SYS_pidfd_send_signal, fg->pidfd, sig, NULL, 0) < 0)
            kill(fg->pid, sig);
        return false;
    }
    int status;
    pid_t w;
    while ((w = waitpid(-1, &status, WNOHANG)) > 0)
        if (w == fg->pid) {
            *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return true;
        }
    return false;
}

int foreground_wait(struct foreground *fg, int *exit_code)
{
    const char *host_socket = getenv("NOTIFY_SOCKET");
    tty_raw(fg);
    for (;;) {
        struct pollfd pf[4] = {
                {.fd = fg->sfd, .events = POLLIN},
                {.fd = fg->master, .events = POLLIN},
                {.fd = fg->master >= 0 && fg->stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
                {.fd = fg->notify_fd, .events = POLLIN},
        };
        if (poll(pf, ARRAY_SIZE(pf), -1) < 0 && errno != EINTR) {
            tty_restore(fg);
            return err_set(errno, "poll");
        }
        if (pf[1].revents && pump_master(fg) < 0) {
            close(fg->master);
            fg->master = -1;
        }
        if (pf[2].revents)
            pump_stdin(fg);
        if (pf[3].revents)
            relay_notify(fg, host_socket);
        if (pf[0].revents && handle_signal(fg, exit_code)) {
            while (fg->master >= 0 && pump_master(fg) > 0)
                ; /* what the process wrote before it exited */
            tty_restore(fg);
            /* systemd can only see the exit status of its own child: hand MAINPID back to
             * berth, which exits with the container's status */
            if (fg->ready && host_socket) {
                char msg[32];
                snprintf(msg, sizeof(msg), "MAINPID=%d", (int)getpid());
                if (notify_send(host_socket, msg) == 0)
                    notify_barrier(host_socket);
            }
            return 0;
        }
    }
}

void foreground_close(struct foreground *fg)
{
    tty_restore(fg);
    if (fg->sfd >= 0)
        close(fg->sfd);
    if (fg->master >= 0)
        close(fg->master);
    if (fg->notify_fd >= 0)
        close(fg->notify_fd);
    if (fg->pidfd >= 0)
        close(fg->pidfd);
    foreground_init(fg);
}

/* ---- sd_notify relay ---- */

static int notify_addr(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(sa->sun_path))
        return -EINVAL;
    memcpy(sa->sun_path, path, n);
    if (path[0] == '@')
        sa->sun_path[0] = '\0'; /* abstract namespace */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
    return 0;
}

int notify_relay_prepare(const char *state_dir, struct notify_relay *r)
{
    memset(r, 0, sizeof(*r));
    const char *host = getenv("NOTIFY_SOCKET");
    if (!host || !*host)
        return 0;
    r->host_socket = xstrdup(host);
    /* the container's socket lives in a directory of its own, /run/notify, so that the mount
     * hides nothing of the container's; same file name as ours */
    const char *base = host[0] == '/' ? strrchr(host, '/') + 1 : "";
    r->container_path = xasprintf("/run/notify/%s", *base ? base : "notify.sock");
    r->dir = xasprintf("%s/notify", state_dir);
    if (mkdir(r->dir, 0755) < 0 && errno != EEXIST)
        return err_set(errno, "NOTIFY_SOCKET: create %s", r->dir);
    return 0;
}

int notify_relay_listen(const struct notify_relay *r, int *out)
{
    const char *name = strrchr(r->container_path, '/') + 1;
    _cleanup_free_ char *path = xasprintf("%s/%s", r->dir, name);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(errno, "NOTIFY_SOCKET: socket");
    struct sockaddr_un sa;
    socklen_t len;
    unlink(path);
    if (notify_addr(path, &sa, &len) < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0) {
        int e = errno;
        close(fd);
        return err_set(e, "NOTIFY_SOCKET: bind %s", path);
    }
    chmod(path, 0666); /* the container's user may not be root */
    *out = fd;
    return 0;
}

int notify_relay_forward(const char *host_socket, const char *msg, size_t len, pid_t pid)
{
    struct sockaddr_un sa;
    socklen_t salen;
    if (notify_addr(host_socket, &sa, &salen) < 0)
        return err_setx(EINVAL, "NOTIFY_SOCKET \"%s\" is not a socket address", host_socket);
    char buf[4200];
    int n = snprintf(buf, sizeof(buf), "MAINPID=%d\n%.*s", (int)pid, (int)len, msg);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, buf, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
        return err_set(errno, "NOTIFY_SOCKET: send to %s", host_socket);
    return 0;
}

int notify_send(const char *host_socket, const char *msg)
{
    struct sockaddr_un sa;
    socklen_t salen;
    if (notify_addr(host_socket, &sa, &salen) < 0)
        return err_setx(EINVAL, "NOTIFY_SOCKET \"%s\" is not a socket address", host_socket);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
        return err_set(errno, "NOTIFY_SOCKET: send to %s", host_socket);
    return 0;
}

/* BARRIER=1 with a pipe's write end: systemd closes it once it has processed every message
 * before it, so berth exits only after systemd took the new MAINPID (5 s at most). */
int notify_barrier(const char *host_socket)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return err_set(errno, "NOTIFY_SOCKET: pipe");
    struct sockaddr_un sa;
    socklen_t salen;
    int r = notify_addr(host_socket, &sa, &salen);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (r == 0 && fd >= 0 && connect(fd, (struct sockaddr *)&sa, salen) == 0)
        r = sock_send_fd(fd, "BARRIER=1", 9, p[1]);
    else
        r = -errno;
    close(p[1]);
    if (r == 0) {
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        poll(&pf, 1, 5000);
    }
    close(p[0]);
    return r < 0 ? err_set(r, "NOTIFY_SOCKET: barrier") : 0;
}

int notify_relay_until_ready(const char *host_socket, int fd, pid_t pid, int pidfd)
{
    for (;;) {
        struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            return err_set(errno, "poll");
        if (pf[0].revents & POLLIN) {
            char buf[4096];
            ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
            if (n <= 0)
                continue;
            buf[n] = '\0';
            int r = notify_relay_forward(host_socket, buf, (size_t)n, pid);
            if (r < 0)
                return r;
            if (strstr(buf, "READY=1"))
                return 0;
        }
        if (pf[1].revents & POLLIN)
            return err_setx(ESRCH, "the container exited before it sent READY=1");
    }
}

void notify_relay_free(struct notify_relay *r)
{
    free(r->host_socket);
    free(r->container_path);
    free(r->dir);
    memset(r, 0, sizeof(*r));
}
