/*
 * OCI hooks: each runs with the container state JSON on stdin, its own args and
 * env, and an optional timeout. Output is captured so a failure can be shown.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runtime/init.h"

#define HOOK_OUTPUT_MAX 2048

static const char *const kind_names[] = {
        [HOOK_PRESTART] = "prestart",
        [HOOK_CREATE_RUNTIME] = "createRuntime",
        [HOOK_CREATE_CONTAINER] = "createContainer",
        [HOOK_START_CONTAINER] = "startContainer",
        [HOOK_POSTSTART] = "poststart",
        [HOOK_POSTSTOP] = "poststop",
};

static _noreturn_ void hook_exec(const struct spec_hook *h, int in, int out)
{
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(127);
    close_fds_from(3, NULL, 0);
    char *fallback[] = {h->path, NULL};
    char *noenv[] = {NULL};
    execve(h->path, h->n_args ? h->args : fallback, h->env ? h->env : noenv);
    dprintf(2, "exec %s: %s", h->path, strerror(errno));
    _exit(127);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append_output(int fd, char *buf, size_t *len)
{
    char tmp[512];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
        size_t room = HOOK_OUTPUT_MAX - 1 - *len;
        size_t k = (size_t)n < room ? (size_t)n : room;
        memcpy(buf + *len, tmp, k);
        *len += k;
    }
}

/* Feed the hook its state, collect its output and wait for it, all under its deadline (a
 * hook that never reads a large state must not outlive its timeout). Returns the wait
 * status, or -ETIME. */
static int hook_wait(pid_t pid, int in, const char *state, int out, int timeout_s, char *buf,
                     size_t *len)
{
    _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int64_t deadline = timeout_s > 0 ? now_ms() + (int64_t)timeout_s * 1000 : -1;
    size_t sent = 0, total = strlen(state);
    fcntl(out, F_SETFL, O_NONBLOCK);
    fcntl(in, F_SETFL, O_NONBLOCK);
    for (;;) {
        struct pollfd pf[3] = {{.fd = out, .events = POLLIN},
                               {.fd = pidfd, .events = POLLIN},
                               {.fd = in, .events = POLLOUT}};
        int wait_ms = deadline < 0 ? -1 : (int)(deadline - now_ms());
        if (deadline >= 0 && wait_ms <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            if (in >= 0)
                close(in);
            return -ETIME;
        }
        if (pidfd < 0)
            wait_ms = wait_ms < 0 || wait_ms > 10 ? 10 : wait_ms;
        if (poll(pf, 3, wait_ms) < 0 && errno != EINTR)
            return -errno;
        if (in >= 0 && pf[2].revents) {
            ssize_t n = write(in, state + sent, total - sent);
            if (n > 0)
                sent += (size_t)n;
            /* all sent: EOF for the hook; an error (EPIPE): it did not want it */
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || sent == total) {
                close(in);
                in = -1;
            }
        }
        if (pf[0].revents)
            append_output(out, buf, len);
        if (pf[0].revents & POLLHUP)
            out = -1; /* poll ignores negative fds */
        int status;
        bool exited =
                pidfd >= 0 ? (pf[1].revents & POLLIN) != 0 : waitpid(pid, &status, WNOHANG) == pid;
        if (!exited)
            continue;
        if (in >= 0)
            close(in);
        if (out >= 0)
            append_output(out, buf, len);
        if (pidfd >= 0 && RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
            return -errno;
        return status;
    }
}

static int run_one(const struct spec_hook *h, const char *kind, size_t idx, const char *state)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return err_set(errno, "%s hook #%zu: pipe", kind, idx);
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return err_set(errno, "%s hook #%zu: pipe", kind, idx);
    }
    pid_t pid = fork();
    if (pid == 0)
        hook_exec(h, in[0], out[1]);
    int fork_errno = errno;
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return err_set(fork_errno, "%s hook #%zu (%s): fork", kind, idx, h->path);
    }
    /* a hook may not read its stdin: that is fine, and must not kill us with SIGPIPE */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGPIPE, &ign, &old);
    char buf[HOOK_OUTPUT_MAX];
    size_t len = 0;
    int st = hook_wait(pid, in[1], state, out[0], h->timeout, buf, &len);
    sigaction(SIGPIPE, &old, NULL);
    close(out[0]);
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    if (st == -ETIME)
        return err_setx(ETIME, "%s hook #%zu (%s): timed out after %d s", kind, idx, h->path,
                        h->timeout);
    if (st < 0)
        return err_set(st, "%s hook #%zu (%s): wait", kind, idx, h->path);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    char how[64];
    if (WIFEXITED(st))
        snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(st));
    else
        snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(st));
    return err_setx(EIO, "%s hook #%zu (%s): %s%s%s", kind, idx, h->path, how,
                    len ? ", output: " : "", buf);
}

/* poststart and poststop: a failing hook is a warning and the rest still run (the spec) */
void hooks_run_warn(const struct spec *s, enum hook_kind kind, const char *state_json)
{
    for (size_t i = 0; i < s->hooks.n[kind]; i++)
        if (run_one(&s->hooks.list[kind][i], kind_names[kind], i, state_json) < 0)
            log_warn("%s", err_msg());
}

int hooks_run(const struct spec *s, enum hook_kind kind, const char *state_json)
{
    for (size_t i = 0; i < s->hooks.n[kind]; i++) {
        int r = run_one(&s->hooks.list[kind][i], kind_names[kind], i,
                        state_json ? state_json : "{}");
        if (r < 0)
            return r;
    }
    return 0;
}

char *hook_state_json(const struct container_state *st, enum container_status status, pid_t pid)
{
    struct container_state copy = *st;
    copy.pid = pid;
    struct jw w;
    jw_init(&w, NULL);
    state_write_oci(&w, &copy, status, false);
    return jw_steal(&w, NULL);
}
