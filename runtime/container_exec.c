/*
 * exec: run another process in a running container. The process gets the
 * container's namespaces, cgroup, root and (unless told otherwise) its
 * capabilities, rlimits, no_new_privs and seccomp filter, like the first one.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/init.h"

struct execution {
    const struct runtime_opts *rt;
    const struct exec_opts *o;
    struct container_state *st;
    enum container_status status;
    struct spec *spec;
    struct cgroup *cg;
    struct seccomp_filter *seccomp;
    int target_pidfd, stub_fd, console_fd, console_pair, sync[2];
    pid_t child, pid;
    struct foreground fg;
};

static void execution_free(struct execution *e)
{
    int *fds[] = {&e->target_pidfd, &e->stub_fd, &e->console_fd,
                  &e->console_pair, &e->sync[0], &e->sync[1]};
    for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
        if (*fds[i] >= 0)
            close(*fds[i]);
    foreground_close(&e->fg);
    if (e->seccomp)
        seccomp_filter_free(e->seccomp);
    if (e->cg)
        cgroup_free(e->cg);
    if (e->spec)
        spec_free(e->spec);
    state_free(e->st);
}

static int load_process_file(struct execution *e)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_file_at(AT_FDCWD, e->o->process_file, 4 << 20, &text, &len);
    if (r < 0)
        return err_set(r, "--process %s", e->o->process_file);
    return spec_parse_process(e->spec, text, len, e->o->process_file, &e->spec->process);
}

static bool env_name_eq(const char *a, const char *b)
{
    size_t n = strcspn(a, "=");
    return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* The container's own environment with -e NAME=VALUE replacing or adding entries. */
static void apply_env(struct spec *s, struct spec_process *p, char *const *add, size_t n_add)
{
    char **env = arena_alloc_array(&s->arena, p->n_env + n_add + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < p->n_env; i++) {
        bool replaced = false;
        for (size_t j = 0; j < n_add && !replaced; j++)
            replaced = env_name_eq(add[j], p->env[i]);
        if (!replaced)
            env[n++] = p->env[i];
    }
    for (size_t j = 0; j < n_add; j++)
        env[n++] = add[j];
    p->env = env;
    p->n_env = n;
}

static int apply_user(struct spec_process *p, const char *user)
{
    uint64_t uid, gid;
    _cleanup_free_ char *copy = xstrdup(user);
    char *colon = strchr(copy, ':');
    if (colon)
        *colon++ = '\0';
    if (parse_u64(copy, &uid) < 0 || uid > UINT32_MAX ||
        (colon && (parse_u64(colon, &gid) < 0 || gid > UINT32_MAX)))
        return err_setx(EINVAL, "--user \"%s\": expected uid[:gid] as numbers", user);
    p->user.uid = (uint32_t)uid;
    if (colon)
        p->user.gid = (uint32_t)gid;
    return 0;
}

static int apply_caps(struct spec *s, struct spec_process *p, char *const *caps, size_t n)
{
    if (!n)
        return 0;
    struct spec_capabilities *c = arena_alloc(&s->arena, sizeof(*c));
    if (p->capabilities)
        *c = *p->capabilities;
    for (size_t i = 0; i < n; i++) {
        int cap = capability_from_name(caps[i]);
        if (cap < 0)
            return err_setx(EINVAL, "--cap: unknown capability \"%s\"", caps[i]);
        uint64_t bit = 1ULL << cap;
        c->sets[CAPSET_BOUNDING] |= bit;
        c->sets[CAPSET_EFFECTIVE] |= bit;
        c->sets[CAPSET_PERMITTED] |= bit;
        /* ambient needs inheritable; like runc, only when the config already uses it */
        if (c->present[CAPSET_INHERITABLE])
            c->sets[CAPSET_AMBIENT] |= bit;
    }
    p->capabilities = c;
    return 0;
}

/* The process to run: --process, or the container's process with the command-line changes. */
static int build_process(struct execution *e)
{
    const struct exec_opts *o = e->o;
    struct spec *s = e->spec;
    if (o->process_file)
        return load_process_file(e);
    if (!o->n_args)
        return err_setx(EINVAL, "no command to run: give one after the container id, or --process");
    struct spec_process *p = arena_alloc(&s->arena, sizeof(*p));
    *p = *s->process;
    p->args = (char **)o->args;
    p->n_args = o->n_args;
    p->terminal = o->tty;
    p->has_console_size = false;
    if (o->cwd) {
        if (o->cwd[0] != '/')
            return err_setx(EINVAL, "--cwd \"%s\": must be an absolute path", o->cwd);
        p->cwd = (char *)o->cwd;
    }
    if (o->user && apply_user(p, o->user) < 0)
        return -EINVAL;
    if (o->n_additional_gids) {
        p->user.additional_gids = (uint32_t *)o->additional_gids;
        p->user.n_additional_gids = o->n_additional_gids;
    }
    if (o->no_new_privs)
        p->no_new_privileges = true;
    apply_env(s, p, o->env, o->n_env);
    s->process = p;
    return apply_caps(s, p, o->caps, o->n_caps);
}

static int open_target(struct execution *e)
{
    int fd = (int)syscall(SYS_pidfd_open, e->st->pid, 0);
    if (fd < 0 || !state_process_alive(e->st)) {
        if (fd >= 0)
            close(fd);
        return err_setx(ESRCH, "container %s is not running", e->st->id);
    }
    e->target_pidfd = fd;
    return 0;
}

static int check_status(struct execution *e)
{
    const char *id = e->st->id;
    if (e->status == STATUS_STOPPED || e->status == STATUS_CREATING)
        return err_setx(EINVAL, "cannot exec in container %s: it is %s", id,
                        status_name(e->status));
    if (e->status == STATUS_PAUSED && !e->o->ignore_paused)
        return err_setx(EINVAL,
                        "cannot exec in container %s: it is paused (resume it, or use "
                        "--ignore-paused)",
                        id);
    if (e->o->apparmor || e->o->process_label)
        return err_setx(ENOTSUP, "%s is not enabled on this host",
                        e->o->apparmor ? "AppArmor" : "SELinux");
    return 0;
}

static int load_container(struct execution *e)
{
    int r = container_load(e->rt, e->o->id, false, NULL, &e->st, &e->status);
    if (r < 0 || (r = check_status(e)) < 0)
        return r;
    _cleanup_free_ char *sdir = state_dir_path(e->rt->root, e->o->id);
    if ((r = spec_load(sdir, &e->spec)) < 0)
        return err_prefix(r, "the container's saved config");
    if ((r = build_process(e)) < 0)
        return r;
    if (e->spec->process->terminal && !e->o->console_socket && e->o->detach)
        return err_setx(EINVAL, "--tty with --detach needs --console-socket");
    if ((r = container_cgroup(e->st, &e->cg)) < 0)
        return r;
    if (e->spec->linux_.seccomp &&
        (r = seccomp_filter_build(e->spec->linux_.seccomp, &e->seccomp)) < 0)
        return err_prefix(r, "the container's seccomp profile");
    return open_target(e);
}

static int connect_console_socket(const char *path, int *out)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
        if (fd >= 0)
            close(fd);
        return err_setx(EINVAL, "console socket %s: cannot use this path", path);
    }
    strcpy(sa.sun_path, path);
    if (RETRY_EINTR(connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0) {
        int err = errno;
        close(fd);
        return err_set(err, "connect to console socket %s", path);
    }
    *out = fd;
    return 0;
}

static int prepare_io(struct execution *e)
{
    int r = exec_stub_memfd(&e->stub_fd);
    if (r < 0 || !e->spec->process->terminal)
        return r;
    if (e->o->console_socket)
        return connect_console_socket(e->o->console_socket, &e->console_fd);
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
        return err_set(errno, "terminal: socketpair");
    e->console_pair = pair[0];
    e->console_fd = pair[1];
    return 0;
}

static int join_flags(const struct spec *s)
{
    int flags = 0;
    for (int t = 0; t < NS__COUNT; t++)
        if (s->ns[t])
            flags |= ns_clone_flag(t);
    return flags;
}

static void fill_ctx(struct execution *e, struct init_ctx *c)
{
    memset(c, 0, sizeof(*c));
    c->spec = e->spec;
    c->id = e->o->id;
    c->bundle = e->st->bundle;
    c->rootfs = e->st->rootfs;
    c->cgroup = e->cg;
    c->seccomp = e->seccomp;
    c->sync_fd = e->sync[1];
    c->fifo_fd = -1;
    c->console_fd = e->console_fd;
    c->stub_fd = e->stub_fd;
    c->preserve_fds = e->o->preserve_fds;
    c->no_new_keyring = true;
    c->parent_pid = getpid();
    c->state = e->st;
    c->exec_process = true;
    c->target_pidfd = e->target_pidfd;
    c->join_flags = join_flags(e->spec);
    for (int t = 0; t < NS__COUNT; t++)
        c->plan.join_fd[t] = -1;
    for (size_t i = 0; i < e->spec->n_mounts; i++)
        if (e->spec->mounts[i].type && streq(e->spec->mounts[i].type, "proc") &&
            streq(e->spec->mounts[i].destination, "/proc"))
            c->proc_mounted = true;
}

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
            set_tid_size, cgroup;
};

static int spawn_joiner(struct execution *e, struct init_ctx *c)
{
    int cgfd = e->cg && !e->o->cgroup ? cgroup_clone_fd(e->cg) : -1;
    struct clone_args_v2 a = {.exit_signal = SIGCHLD};
    if (cgfd >= 0) {
        a.flags = CLONE_INTO_CGROUP;
        a.cgroup = (uint64_t)cgfd;
    }
    c->await_parent = cgfd < 0 && e->cg;
    pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
    if (pid < 0 && cgfd >= 0) {
        c->await_parent = true;
        pid = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
    }
    if (pid == 0) {
        close(e->sync[0]);
        if (e->console_pair >= 0)
            close(e->console_pair);
        init_exec_main(c);
    }
    if (pid < 0)
        return err_set(errno, "clone the exec process");
    e->child = pid;
    close(e->sync[1]);
    e->sync[1] = -1;
    if (!c->await_parent)
        return 0;
    int r = e->o->cgroup ? cgroup_enter_sub(e->cg, e->o->cgroup, pid) : cgroup_enter(e->cg, pid);
    if (r < 0)
        return r;
    return sync_send(e->sync[0], SYNC_CONTINUE, 0, NULL, -1) < 0
                   ? err_setx(EPIPE, "the exec process died before joining the container")
                   : 0;
}

static int forward_listener(struct execution *e, int fd)
{
    const struct spec_seccomp *sc = e->spec->linux_.seccomp;
    _cleanup_free_ char *json = hook_state_json(e->st, STATUS_RUNNING, e->st->pid);
    int r = seccomp_send_listener(sc->listener_path, sc->listener_metadata, fd, e->pid, json);
    close(fd);
    if (r == 0 && sync_send(e->sync[0], SYNC_CONTINUE, 0, NULL, -1) < 0)
        r = err_setx(EPIPE, "the exec process died");
    return r;
}

/* Until the socket closes (the process exec'd, or died) or reports an error. */
static int follow_child(struct execution *e)
{
    for (;;) {
        enum sync_type t;
        int v, fd;
        char text[4200];
        int r = sync_recv(e->sync[0], &t, &v, text, sizeof(text), &fd);
        if (r < 0)
            return err_set(r, "read from the exec process");
        if (r == 0)
            return e->pid > 0 ? 0 : err_setx(EIO, "the exec process exited before joining");
        if (t == SYNC_ERROR)
            return err_setx(v > 0 ? v : EIO, "%s", text);
        if (t == SYNC_STAGE2_PID) {
            RETRY_EINTR(waitpid(e->child, NULL, 0));
            e->child = 0;
            e->pid = v;
        } else if (t == SYNC_SECCOMP_FD && (r = forward_listener(e, fd)) < 0) {
            return r;
        }
    }
}

static void kill_leftovers(struct execution *e)
{
    pid_t pids[] = {e->child, e->pid};
    for (size_t i = 0; i < ARRAY_SIZE(pids); i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            RETRY_EINTR(waitpid(pids[i], NULL, 0));
        }
    e->child = e->pid = 0;
}

static int write_exec_pid_file(const char *path, pid_t pid)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, buf, (size_t)n) < 0)
        return err_set(errno, "--pid-file %s", path);
    return 0;
}

static int run_exec(struct execution *e, int *exit_code)
{
    struct init_ctx c;
    int r;
    /* the exec'd process is visible to the container's processes from its first instant */
    if (e->rt->argv && (r = exe_protect(e->rt->argv)) < 0)
        return r;
    if ((r = load_container(e)) < 0 || (r = prepare_io(e)) < 0)
        return r;
    prctl(PR_SET_DUMPABLE, 0);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, e->sync) < 0)
        return err_set(errno, "socketpair");
    if (!e->o->detach && (r = foreground_block_signals(&e->fg)) < 0)
        return r;
    fill_ctx(e, &c);
    if ((r = spawn_joiner(e, &c)) < 0 || (r = follow_child(e)) < 0) {
        kill_leftovers(e);
        return r;
    }
    if (e->console_pair >= 0 && (r = foreground_receive_pty(&e->fg, e->console_pair)) < 0) {
        kill_leftovers(e);
        return r;
    }
    if (e->o->pid_file && (r = write_exec_pid_file(e->o->pid_file, e->pid)) < 0)
        return r;
    if (e->o->detach)
        return 0;
    e->fg.pid = e->pid;
    e->fg.pidfd = (int)syscall(SYS_pidfd_open, e->pid, 0);
    return foreground_wait(&e->fg, exit_code);
}

int container_exec(const struct runtime_opts *rt, const struct exec_opts *o, int *exit_code)
{
    struct execution e = {.rt = rt,
                          .o = o,
                          .target_pidfd = -1,
                          .stub_fd = -1,
                          .console_fd = -1,
                          .console_pair = -1,
                          .sync = {-1, -1}};
    foreground_init(&e.fg);
    *exit_code = 0;
    int r = run_exec(&e, exit_code);
    execution_free(&e);
    return r;
}
