/*
 * The container process from clone to exec. Order matters and is the point of
 * this file: namespaces, then the host-side steps the parent must do, then the
 * filesystem, then the process's own attributes, identity and privileges, and
 * seccomp as the very last thing before the exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runtime/init.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int reset_signals(void)
{
    sigset_t all;
    sigemptyset(&all);
    if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
        return err_set(errno, "reset signal mask");
    /* an ignored signal stays ignored across exec: don't pass berth's caller's ignores on */
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
            continue;
        if (sa.sa_handler == SIG_IGN || sa.sa_handler != SIG_DFL) {
            sa.sa_handler = SIG_DFL;
            sa.sa_flags = 0;
            sigaction(sig, &sa, NULL);
        }
    }
    return 0;
}

static int become_root_in_userns(void)
{
    if (setresgid(0, 0, 0) < 0)
        return err_set(errno, "user namespace: setresgid(0) (is gid 0 mapped?)");
    if (setresuid(0, 0, 0) < 0)
        return err_set(errno, "user namespace: setresuid(0) (is uid 0 mapped?)");
    return 0;
}

/* Die with berth while being set up; and keep /proc/<pid> of this berth-code process closed
 * to other container processes. */
static int watch_parent(const struct init_ctx *c)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        return err_set(errno, "set parent death signal");
    /* in a new pid namespace the parent is invisible and getppid() is 0 */
    pid_t pp = getppid();
    if (pp != 0 && pp != c->parent_pid)
        return err_setx(EPIPE, "berth exited while the container was being created");
    prctl(PR_SET_DUMPABLE, 0);
    return 0;
}

/* Staged path: this process joined/created namespaces; fork the real init into the new pid ns. */
static int fork_stage2(struct init_ctx *c)
{
    if (unshare(CLONE_NEWPID) < 0)
        return err_set(errno, "create pid namespace");
    /* CLONE_PARENT: the container process is berth's child, so `run` can wait for it */
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
    if (pid < 0)
        return err_set(errno, "fork into the new pid namespace");
    if (pid > 0) {
        int r = sync_send(c->sync_fd, SYNC_STAGE2_PID, pid, NULL, -1);
        _exit(r < 0 ? 1 : 0);
    }
    return watch_parent(c);
}

static int enter_namespaces_staged(struct init_ctx *c)
{
    const struct ns_plan *p = &c->plan;
    int r;
    if ((r = ns_join_all(p, true)) < 0 || (r = ns_join_all(p, false)) < 0)
        return r;
    if (p->new_user) {
        if (unshare(CLONE_NEWUSER) < 0)
            return err_set(errno, "create user namespace");
        if ((r = sync_send(c->sync_fd, SYNC_USERNS, 0, NULL, -1)) < 0)
            return err_set(r, "ask berth to write the id maps");
        if ((r = sync_wait_continue(c->sync_fd, "write the user namespace's id maps")) < 0)
            return r;
    }
    if (p->new_user || p->join_fd[NS_USER] >= 0)
        if ((r = become_root_in_userns()) < 0)
            return r;
    int flags = p->unshare_flags & ~(CLONE_NEWUSER | CLONE_NEWPID);
    if (flags && unshare(flags) < 0)
        return err_set(errno, "create namespaces (unshare 0x%x)", flags);
    if (p->unshare_flags & CLONE_NEWPID)
        return fork_stage2(c);
    return 0;
}

static int enter_namespaces(struct init_ctx *c)
{
    const struct ns_plan *p = &c->plan;
    int r;
    if (p->staged)
        r = enter_namespaces_staged(c);
    else {
        r = ns_join_all(p, false);
        if (r == 0 && p->new_user)
            r = become_root_in_userns();
    }
    if (r < 0)
        return r;
    if (p->new_cgroup && unshare(CLONE_NEWCGROUP) < 0)
        return err_set(errno, "create cgroup namespace");
    if (p->new_time)
        return ns_setup_time(c->spec);
    return 0;
}

static int set_names(const struct spec *s)
{
    if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
        return err_set(errno, "set hostname \"%s\"", s->hostname);
    if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
        return err_set(errno, "set domainname \"%s\"", s->domainname);
    return 0;
}

/* Hooks run by the container process see its pid in its own namespace, as runc's do. */
static int run_child_hooks(const struct init_ctx *c, enum hook_kind kind, enum container_status st)
{
    if (!c->spec->hooks.n[kind])
        return 0;
    _cleanup_free_ char *json = hook_state_json(c->state, st, getpid());
    return hooks_run(c->spec, kind, json);
}

static int set_oom_score_adj(const struct spec_process *p)
{
    if (!p->oom_score_adj.set)
        return 0;
    char buf[16];
    snprintf(buf, sizeof(buf), "%d", p->oom_score_adj.v);
    int r = write_string_at(AT_FDCWD, "/proc/self/oom_score_adj", buf);
    if (r == -EACCES || r == -EPERM)
        return err_set(r,
                       "process.oomScoreAdj: write %s to /proc/self/oom_score_adj (lowering "
                       "it below berth's own value needs CAP_SYS_RESOURCE)",
                       buf);
    if (r < 0)
        return err_set(r, "process.oomScoreAdj: write %s to /proc/self/oom_score_adj", buf);
    return 0;
}

static int setup_before_pivot(struct init_ctx *c)
{
    const struct spec *s = c->spec;
    int r;
    if ((r = set_names(s)) < 0 || (r = security_set_sysctls(s)) < 0 ||
        (r = set_oom_score_adj(s->process)) < 0)
        return r;
    if (c->pause_after_namespaces) {
        if ((r = sync_send(c->sync_fd, SYNC_NAMESPACES_READY, 0, NULL, -1)) < 0)
            return err_set(r, "tell berth the namespaces are ready");
        if ((r = sync_wait_continue(c->sync_fd, "set up the network and run createRuntime hooks")) <
            0)
            return r;
    }
    if ((r = rootfs_prepare(c)) < 0)
        return r;
    return run_child_hooks(c, HOOK_CREATE_CONTAINER, STATUS_CREATING);
}

static int setup_filesystem(struct init_ctx *c)
{
    int r;
    if ((r = setup_before_pivot(c)) < 0 || (r = rootfs_pivot(c)) < 0)
        return r;
    if (setsid() < 0)
        return err_set(errno, "setsid");
    if ((r = terminal_setup(c)) < 0)
        return r;
    return rootfs_finish(c);
}

static bool needs_sys_admin_for_seccomp(const struct init_ctx *c)
{
    const struct spec_process *p = c->spec->process;
    if (!c->seccomp || p->no_new_privileges)
        return false;
    /* without no_new_privs, loading a filter needs CAP_SYS_ADMIN at that moment */
    return !p->capabilities || !(p->capabilities->sets[CAPSET_EFFECTIVE] & (1ULL << CAP_SYS_ADMIN));
}

static int chdir_cwd(const struct spec_process *p)
{
    if (chdir(p->cwd) < 0)
        return err_set(errno, "process.cwd: chdir to %s inside the container", p->cwd);
    return 0;
}

static int load_seccomp(struct init_ctx *c, bool notify_phase)
{
    if (!c->seccomp || seccomp_filter_has_notify(c->seccomp) != notify_phase)
        return 0;
    int notify_fd = -1;
    int r = seccomp_filter_load(c->seccomp, &notify_fd);
    if (r < 0)
        return err_prefix(r, "linux.seccomp");
    if (notify_fd >= 0) {
        r = sync_send(c->sync_fd, SYNC_SECCOMP_FD, 0, NULL, notify_fd);
        close(notify_fd);
        if (r < 0)
            return err_set(r, "send the seccomp listener to berth");
        return sync_wait_continue(c->sync_fd, "pass the seccomp listener on");
    }
    return 0;
}

static int setup_process(struct init_ctx *c, struct exec_plan *plan)
{
    const struct spec_process *p = c->spec->process;
    int r;
    if (!c->no_new_keyring && (r = security_join_session_keyring(c->id)) < 0)
        return r;
    if ((r = security_apply_process_attrs(c)) < 0 || (r = exec_prepare(c, plan)) < 0)
        return r;
    if ((r = security_set_user_and_caps(p, needs_sys_admin_for_seccomp(c))) < 0)
        return r;
    if ((r = chdir_cwd(p)) < 0)
        return r;
    if (p->user.umask.set)
        umask(p->user.umask.v);
    if ((r = exec_resolve(c, plan)) < 0)
        return r;
    if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return err_set(errno, "set no_new_privs");
    return load_seccomp(c, true);
}

static void mark_fds_cloexec(unsigned preserve)
{
    /* nothing of berth's may reach the container: everything past the preserved fds */
    unsigned first = 3 + preserve;
    if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    for (int fd = (int)first; fd < 4096; fd++)
        fd_set_cloexec(fd, true);
}

static void on_signal_before_start(int sig)
{
    /* created containers die on the usual termination signals, as runc's do */
    _exit(128 + sig);
}

static void set_waiting_handlers(bool on)
{
    static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
    struct sigaction sa = {.sa_handler = on ? on_signal_before_start : SIG_DFL};
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        sigaction(sigs[i], &sa, NULL);
}

static int wait_for_start(struct init_ctx *c)
{
    int r;
    if (prctl(PR_SET_PDEATHSIG, 0) < 0)
        return err_set(errno, "clear parent death signal");
    set_waiting_handlers(true);
    if ((r = sync_send(c->sync_fd, SYNC_READY, 0, NULL, -1)) < 0)
        return err_set(r, "tell berth the container is ready");
    if (c->fifo_fd >= 0) {
        char b;
        ssize_t n = RETRY_EINTR(read(c->fifo_fd, &b, 1));
        if (n != 1)
            _exit(1);
        close(c->fifo_fd);
        c->fifo_fd = -1;
    } else {
        enum sync_type t;
        int v;
        r = sync_recv(c->sync_fd, &t, &v, NULL, 0, NULL);
        if (r <= 0 || t != SYNC_START)
            _exit(1);
    }
    set_waiting_handlers(false);
    return 0;
}

static int init_run(struct init_ctx *c)
{
    struct exec_plan plan = {0};
    int r;

    if ((r = watch_parent(c)) < 0 || (r = reset_signals()) < 0)
        return r;
    if (c->await_parent && (r = sync_wait_continue(c->sync_fd, "set up cgroups and id maps")) < 0)
        return r;
    if ((r = enter_namespaces(c)) < 0 || (r = setup_filesystem(c)) < 0 ||
        (r = setup_process(c, &plan)) < 0)
        return r;
    mark_fds_cloexec(c->preserve_fds);
    if ((r = wait_for_start(c)) < 0)
        return r;
    if ((r = run_child_hooks(c, HOOK_START_CONTAINER, STATUS_CREATED)) < 0)
        return r;
    if ((r = load_seccomp(c, false)) < 0)
        return r;
    if (needs_sys_admin_for_seccomp(c) && (r = security_final_caps(c->spec->process)) < 0)
        return r;
    exec_now(c, &plan);
    return -EIO; /* not reached: exec_now execs or exits */
}

void init_main(struct init_ctx *c)
{
    int r = init_run(c);
    /* after `create` returned nobody listens any more: the container's stderr is all we have */
    if (sync_send(c->sync_fd, SYNC_ERROR, -r, err_msg(), -1) < 0)
        dprintf(STDERR_FILENO, "berth: container %s: %s\n", c->id, err_msg());
    _exit(1);
}

/* ---- exec: a new process in a running container ---- */

static int exec_setup(struct init_ctx *c)
{
    const struct spec_process *p = c->spec->process;
    struct exec_plan plan = {0};
    int r;
    if ((r = watch_parent(c)) < 0)
        return r;
    if (p->terminal) {
        if (setsid() < 0)
            return err_set(errno, "setsid");
        if ((r = terminal_setup(c)) < 0)
            return r;
    }
    if ((r = setup_process(c, &plan)) < 0)
        return r;
    mark_fds_cloexec(c->preserve_fds);
    /* from here on the process outlives `berth exec --detach` */
    if (prctl(PR_SET_PDEATHSIG, 0) < 0)
        return err_set(errno, "clear parent death signal");
    if ((r = load_seccomp(c, false)) < 0)
        return r;
    if (needs_sys_admin_for_seccomp(c) && (r = security_final_caps(p)) < 0)
        return r;
    exec_now(c, &plan);
    return -EIO; /* not reached: exec_now execs or exits */
}

static int exec_join(struct init_ctx *c)
{
    int r;
    if ((r = watch_parent(c)) < 0 || (r = reset_signals()) < 0)
        return r;
    if (c->await_parent && (r = sync_wait_continue(c->sync_fd, "enter the container's cgroup")) < 0)
        return r;
    /* one call joins them all, the user namespace first, as the kernel orders them */
    if (setns(c->target_pidfd, c->join_flags) < 0)
        return err_set(errno, "join the container's namespaces");
    close(c->target_pidfd);
    /* the pid namespace applies to children: the process proper is forked, as berth's child */
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
    if (pid < 0)
        return err_set(errno, "fork into the container");
    if (pid > 0) {
        r = sync_send(c->sync_fd, SYNC_STAGE2_PID, pid, NULL, -1);
        _exit(r < 0 ? 1 : 0);
    }
    return exec_setup(c);
}

void init_exec_main(struct init_ctx *c)
{
    int r = exec_join(c);
    if (sync_send(c->sync_fd, SYNC_ERROR, -r, err_msg(), -1) < 0)
        dprintf(STDERR_FILENO, "berth: exec in %s: %s\n", c->id, err_msg());
    _exit(1);
}
