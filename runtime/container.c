/*
 * create, start and run. A create prepares everything that can fail before
 * touching the disk (config, rootfs, namespaces, seccomp), then reserves the
 * id, makes the cgroup and clones the container process. Whatever fails after
 * that is rolled back in creation_abort(): no state dir, process, cgroup or
 * mount is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runtime/container.h"
#include "runtime/init.h"
#include "runtime/foreground.h"
#include "netns/net.h"
#include "images/images.h"

#define CONFIG_MAX_SIZE (32 << 20)

struct creation {
    const struct runtime_opts *rt;
    const struct create_opts *o;
    bool use_fifo; /* create: wait for `start` on exec.fifo; run: on the sync socket */
    struct spec *spec;
    char *config_text;
    size_t config_len;
    char *bundle, *rootfs, *state_dir;
    int rootfd, dirfd;
    bool dir_made;
    struct cgroup *cg;
    struct seccomp_filter *seccomp;
    struct net_request *net;
    struct ns_plan plan;
    int stub_fd, console_fd, fifo_fd;
    int console_pair;      /* our end when berth itself receives the pty (foreground run) */
    bool foreground;       /* run without --detach */
    unsigned preserve_fds; /* --preserve-fds plus inherited LISTEN_FDS */
    struct notify_relay notify;
    struct foreground fg;
    int sync[2];
    pid_t pid;
    int pidfd;
    struct container_state *st;
};

static void creation_init(struct creation *cr, const struct runtime_opts *rt,
                          const struct create_opts *o, bool use_fifo)
{
    memset(cr, 0, sizeof(*cr));
    cr->rt = rt;
    cr->o = o;
    cr->use_fifo = use_fifo;
    cr->rootfd = cr->dirfd = cr->stub_fd = cr->console_fd = cr->fifo_fd = cr->pidfd = -1;
    cr->console_pair = -1;
    cr->preserve_fds = o->preserve_fds;
    foreground_init(&cr->fg);
    cr->sync[0] = cr->sync[1] = -1;
    for (int t = 0; t < NS__COUNT; t++)
        cr->plan.join_fd[t] = -1;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static void creation_free(struct creation *cr)
{
    close_fd(&cr->rootfd);
    close_fd(&cr->dirfd);
    close_fd(&cr->stub_fd);
    close_fd(&cr->console_fd);
    close_fd(&cr->fifo_fd);
    close_fd(&cr->sync[0]);
    close_fd(&cr->sync[1]);
    close_fd(&cr->pidfd);
    close_fd(&cr->console_pair);
    foreground_close(&cr->fg);
    notify_relay_free(&cr->notify);
    ns_plan_close(&cr->plan);
    if (cr->seccomp)
        seccomp_filter_free(cr->seccomp);
    net_request_free(cr->net);
    if (cr->cg)
        cgroup_free(cr->cg);
    if (cr->spec)
        spec_free(cr->spec);
    state_free(cr->st);
    free(cr->config_text);
    free(cr->bundle);
    free(cr->rootfs);
    free(cr->state_dir);
}

/* ---- preparation: nothing on disk changes here ---- */

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const struct json_kv *)a)->key, ((const struct json_kv *)b)->key);
}

/* Command-line annotations win over config.json's; the list stays sorted by key. */
static void merge_annotations(struct spec *s, const struct json_kv *add, size_t n_add)
{
    if (!n_add)
        return;
    struct json_kv *all = arena_alloc_array(&s->arena, s->n_annotations + n_add, sizeof(*all));
    size_t n = 0;
    for (size_t i = 0; i < s->n_annotations; i++) {
        bool overridden = false;
        for (size_t j = 0; j < n_add && !overridden; j++)
            overridden = streq(add[j].key, s->annotations[i].key);
        if (!overridden)
            all[n++] = s->annotations[i];
    }
    for (size_t j = 0; j < n_add; j++)
        all[n++] = (struct json_kv){arena_strdup(&s->arena, add[j].key),
                                    arena_strdup(&s->arena, add[j].value)};
    qsort(all, n, sizeof(*all), cmp_kv);
    s->annotations = all;
    s->n_annotations = n;
}

static int load_config(struct creation *cr)
{
    const char *b = cr->o->bundle ? cr->o->bundle : ".";
    cr->bundle = realpath(b, NULL);
    if (!cr->bundle)
        return err_set(errno, "bundle %s", b);
    _cleanup_close_ int bfd = open(cr->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bfd < 0)
        return err_set(errno, "bundle %s", cr->bundle);
    /* O_NONBLOCK and a regular-file check: a fifo or device must not hang or feed us */
    _cleanup_close_ int cfd =
            openat(bfd, "config.json", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat cst;
    if (cfd < 0)
        return err_set(errno, "read %s/config.json", cr->bundle);
    if (fstat(cfd, &cst) < 0 || !S_ISREG(cst.st_mode))
        return err_setx(EINVAL, "%s/config.json is not a regular file", cr->bundle);
    int r = read_all_fd(cfd, CONFIG_MAX_SIZE, &cr->config_text, &cr->config_len);
    if (r == -EFBIG)
        return err_setx(EFBIG, "config.json in %s is larger than 32 MiB", cr->bundle);
    if (r < 0)
        return err_set(r, "read %s/config.json", cr->bundle);
    r = spec_parse(cr->config_text, cr->config_len, "config.json", &cr->spec);
    if (r < 0)
        return r;
    merge_annotations(cr->spec, cr->o->annotations, cr->o->n_annotations);
    return 0;
}

/* What `berth features` reports as disabled is refused, never silently ignored. */
static int check_unsupported(const struct spec *s)
{
    for (size_t i = 0; i < s->n_mounts; i++)
        if (s->mounts[i].idmap || s->mounts[i].n_uid_mappings || s->mounts[i].n_gid_mappings)
            return err_setx(ENOTSUP,
                            "config.json: .mounts[%zu]: idmapped mounts are not "
                            "supported by berth (berth features: idmap disabled)",
                            i);
    if (s->linux_.n_net_devices)
        return err_setx(ENOTSUP, "config.json: .linux.netDevices is not supported by berth "
                                 "(berth features: netDevices disabled)");
    if (s->linux_.intel_rdt)
        return err_setx(ENOTSUP, "config.json: .linux.intelRdt: berth does not manage resctrl "
                                 "(berth features: intelRdt disabled)");
    if (s->process && s->process->apparmor_profile && *s->process->apparmor_profile)
        return err_setx(ENOTSUP, "config.json: .process.apparmorProfile: AppArmor is not "
                                 "enabled on this host");
    if (s->process && s->process->selinux_label && *s->process->selinux_label)
        return err_setx(ENOTSUP, "config.json: .process.selinuxLabel: SELinux is not enabled "
                                 "on this host");
    return 0;
}

static int check_config(struct creation *cr)
{
    const struct spec *s = cr->spec;
    if (!s->process)
        return err_setx(EINVAL, "config.json: .process: missing required field (a container "
                                "needs a process to run)");
    if (!s->ns[NS_MNT])
        return err_setx(EINVAL, "config.json: .linux.namespaces: a mount namespace is required");
    if (s->hostname && !s->ns[NS_UTS])
        return err_setx(EINVAL, "config.json: .hostname: setting a hostname needs a uts "
                                "namespace");
    if (s->process->terminal && !cr->o->console_socket && !cr->foreground)
        return err_setx(EINVAL, "process.terminal is true: pass --console-socket to receive "
                                "the terminal (or run it in the foreground)");
    if (!s->process->terminal && cr->o->console_socket)
        return err_setx(EINVAL, "--console-socket was given but process.terminal is false");
    int r = check_unsupported(s);
    if (r < 0)
        return r;
    /* processes already in the pid namespace it will be in could reach berth's binary */
    const struct spec_namespace *pidns = s->ns[NS_PID];
    if ((!pidns || pidns->path) && cr->rt->argv && (r = exe_protect(cr->rt->argv)) < 0)
        return r;
    _cleanup_free_ char *root = s->root_path[0] == '/'
                                        ? xstrdup(s->root_path)
                                        : xasprintf("%s/%s", cr->bundle, s->root_path);
    cr->rootfs = realpath(root, NULL);
    if (!cr->rootfs)
        return err_set(errno, "config.json: .root.path: rootfs %s", root);
    struct stat st;
    if (stat(cr->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
        return err_setx(ENOTDIR, "config.json: .root.path: rootfs %s is not a directory",
                        cr->rootfs);
    return 0;
}

static int connect_console(const char *path, int *out)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(errno, "console socket: socket");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        close(fd);
        return err_setx(ENAMETOOLONG, "console socket %s: path too long", path);
    }
    strcpy(sa.sun_path, path);
    if (RETRY_EINTR(connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0) {
        int e = errno;
        close(fd);
        return err_set(e, "connect to console socket %s", path);
    }
    *out = fd;
    return 0;
}

/* Replace or add NAME=value in the process environment. */
static void set_env(struct spec *s, const char *name, const char *value)
{
    struct spec_process *p = s->process;
    size_t n = strlen(name);
    char *entry = arena_alloc(&s->arena, n + strlen(value) + 2);
    sprintf(entry, "%s=%s", name, value);
    for (size_t i = 0; i < p->n_env; i++)
        if (strncmp(p->env[i], name, n) == 0 && p->env[i][n] == '=') {
            p->env[i] = entry;
            return;
        }
    char **env = arena_alloc_array(&s->arena, p->n_env + 2, sizeof(char *));
    if (p->n_env)
        memcpy(env, p->env, p->n_env * sizeof(char *));
    env[p->n_env++] = entry;
    p->env = env;
}

/* systemd socket activation: the fds berth got (LISTEN_FDS, from 3) go to the container's
 * process, numbered the same, ahead of --preserve-fds, with LISTEN_PID its own pid (1). */
static void inherit_listen_fds(struct creation *cr)
{
    const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
    uint64_t n, p;
    if (!fds || parse_u64(fds, &n) < 0 || n == 0 || n > 4096)
        return;
    if (pid && (parse_u64(pid, &p) < 0 || p != (uint64_t)getpid()))
        return;
    cr->preserve_fds = (unsigned)n + cr->o->preserve_fds;
    set_env(cr->spec, "LISTEN_FDS", fds);
    set_env(cr->spec, "LISTEN_PID", "1");
}

/* With NOTIFY_SOCKET set, the container gets a socket of its own (a directory of the state
 * dir mounted over its NOTIFY_SOCKET's directory); berth relays what arrives to systemd. */
static int prepare_notify(struct creation *cr)
{
    int r = notify_relay_prepare(cr->state_dir, &cr->notify);
    if (r < 0 || !cr->notify.host_socket)
        return r;
    struct spec *s = cr->spec;
    struct spec_mount *m = arena_alloc_array(&s->arena, s->n_mounts + 1, sizeof(*m));
    if (s->n_mounts)
        memcpy(m, s->mounts, s->n_mounts * sizeof(*m));
    struct spec_mount *nm = &m[s->n_mounts];
    char *dest = arena_strdup(&s->arena, cr->notify.container_path);
    *strrchr(dest, '/') = '\0';
    nm->destination = *dest ? dest : arena_strdup(&s->arena, "/");
    nm->source = arena_strdup(&s->arena, cr->notify.dir);
    nm->type = arena_strdup(&s->arena, "bind");
    nm->bind = true;
    /* sending to the socket needs no write access to the mount; nothing else may be written */
    nm->flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    s->mounts = m;
    s->n_mounts++;
    set_env(s, "NOTIFY_SOCKET", cr->notify.container_path);
    /* made from here, as root: a user-namespaced container's root may not write the rootfs */
    _cleanup_close_ int rootfd = open(cr->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int mp = -1;
    if (rootfd < 0 || (r = create_in_root(rootfd, nm->destination, false, &mp)) < 0)
        return err_set(rootfd < 0 ? errno : r, "NOTIFY_SOCKET: create %s in the rootfs",
                       nm->destination);
    return 0;
}

static int prepare_network(struct creation *cr)
{
    int r = net_request_from_spec(cr->rt->root, cr->spec, &cr->net);
    if (r < 0 || !cr->net)
        return r;
    const struct spec_namespace *ns = cr->spec->ns[NS_NET];
    if (!ns)
        return err_setx(EINVAL, "networking was requested (org.berth.net.*) but the container "
                                "shares the host's network namespace: add a network namespace");
    if (ns->path) {
        /* joining an existing network namespace: it is already networked, no veth */
        net_request_free(cr->net);
        cr->net = NULL;
    }
    return 0;
}

static int creation_prepare(struct creation *cr)
{
    int r;
    if ((r = id_validate(cr->o->id)) < 0 || (r = load_config(cr)) < 0 || (r = check_config(cr)) < 0)
        return r;
    if (cr->spec->linux_.seccomp &&
        (r = seccomp_filter_build(cr->spec->linux_.seccomp, &cr->seccomp)) < 0)
        return err_prefix(r, "config.json: .linux.seccomp");
    if ((r = ns_plan_build(cr->spec, &cr->plan)) < 0 || (r = exec_stub_memfd(&cr->stub_fd)) < 0)
        return r;
    if (cr->o->console_socket && (r = connect_console(cr->o->console_socket, &cr->console_fd)) < 0)
        return r;
    if (cr->spec->process->terminal && !cr->o->console_socket) {
        /* a foreground run: berth itself receives the pty and proxies it */
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
            return err_set(errno, "terminal: socketpair");
        cr->console_pair = pair[0];
        cr->console_fd = pair[1];
    }
    inherit_listen_fds(cr);
    return prepare_network(cr);
}

/* ---- reservation: from here on, creation_abort() undoes everything ---- */

static int make_state(struct creation *cr)
{
    struct container_state *st = xzalloc(sizeof(*st));
    cr->st = st;
    st->id = arena_strdup(&st->arena, cr->o->id);
    st->bundle = arena_strdup(&st->arena, cr->bundle);
    st->rootfs = arena_strdup(&st->arena, cr->rootfs);
    st->owner = "";
    st->recorded_status = cr->use_fifo ? STATUS_CREATED : STATUS_RUNNING;
    st->annotations = cr->spec->annotations;
    st->n_annotations = cr->spec->n_annotations;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    format_rfc3339nano(&now, st->created);
    read_boot_id(st->boot_id);
    if (cr->o->image_record)
        st->image_json = arena_strdup(&st->arena, cr->o->image_record);
    if (cr->cg) {
        struct jw w;
        jw_init(&w, NULL);
        cgroup_state_write(cr->cg, &w);
        st->cgroup_json = arena_strdup(&st->arena, w.buf ? w.buf : "null");
        jw_free(&w);
        _cleanup_free_ char *freezer = cgroup_freezer_file(cr->cg);
        st->freezer_file = arena_strdup(&st->arena, freezer);
    }
    /* recorded before the process exists so delete can clean up after a killed create */
    return state_save(cr->dirfd, st);
}

static int make_fifo(struct creation *cr)
{
    if (mkfifoat(cr->dirfd, "exec.fifo", 0600) < 0)
        return err_set(errno, "create %s/exec.fifo", cr->state_dir);
    /* O_RDWR never blocks on a fifo, and keeps a writer so the child's read waits for data */
    cr->fifo_fd = openat(cr->dirfd, "exec.fifo", O_RDWR | O_CLOEXEC);
    if (cr->fifo_fd < 0)
        return err_set(errno, "open %s/exec.fifo", cr->state_dir);
    return 0;
}

/* The devices the config creates (linux.devices) are allowed in the cgroup after its own
 * rules, as runc does, so a config need not list them twice. */
static const struct spec_resources *resources_with_devices(struct spec *s)
{
    const struct spec_linux *l = &s->linux_;
    if (!l->n_devices)
        return l->resources;
    struct spec_resources *r = arena_alloc(&s->arena, sizeof(*r));
    if (l->resources)
        *r = *l->resources;
    struct spec_device_rule *rules =
            arena_alloc_array(&s->arena, r->n_devices + l->n_devices, sizeof(*rules));
    if (r->n_devices)
        memcpy(rules, r->devices, r->n_devices * sizeof(*rules));
    size_t n = r->n_devices;
    for (size_t i = 0; i < l->n_devices; i++) {
        const struct spec_device *d = &l->devices[i];
        if (d->type == 'p') /* fifos are not devices to the cgroup */
            continue;
        rules[n] = (struct spec_device_rule){.allow = true,
                                             .type = d->type == 'b' ? 'b' : 'c',
                                             .major = d->major,
                                             .minor = d->minor};
        memcpy(rules[n++].access, "rwm", 4);
    }
    r->devices = rules;
    r->n_devices = n;
    return r;
}

static int creation_reserve(struct creation *cr)
{
    const char *id = cr->o->id;
    int r = state_root_open(cr->rt->root, true, &cr->rootfd);
    if (r < 0 || (r = state_dir_create(cr->rootfd, id, &cr->dirfd)) < 0)
        return r;
    cr->dir_made = true;
    cr->state_dir = state_dir_path(cr->rt->root, id);
    r = write_file_atomic_at(cr->dirfd, "config.json", cr->config_text, cr->config_len, 0600);
    if (r < 0)
        return err_set(r, "save config.json in %s", cr->state_dir);
    /* a long id is not a file name: its cgroup is named like its state directory */
    char cg_name[STATE_DIR_NAME_MAX];
    state_dir_name(id, cg_name);
    struct cgroup_params cp = {.id = cg_name,
                               .path = cr->spec->linux_.cgroups_path,
                               .resources = resources_with_devices(cr->spec),
                               .systemd = cr->rt->systemd_cgroup};
    if ((r = cgroup_create(&cp, &cr->cg)) < 0)
        return r;
    if ((r = make_state(cr)) < 0 || (r = prepare_notify(cr)) < 0)
        return r;
    return cr->use_fifo ? make_fifo(cr) : 0;
}

/* ---- spawning ---- */

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
            set_tid_size, cgroup;
};

static pid_t clone_child(uint64_t flags, int cgroup_fd, int *pidfd, bool *into_cgroup)
{
    struct clone_args_v2 a = {.flags = flags | CLONE_PIDFD,
                              .pidfd = (uint64_t)(uintptr_t)pidfd,
                              .exit_signal = SIGCHLD};
    *into_cgroup = false;
    if (cgroup_fd >= 0) {
        a.flags |= CLONE_INTO_CGROUP;
        a.cgroup = (uint64_t)cgroup_fd;
    }
    pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
    if (pid >= 0) {
        *into_cgroup = cgroup_fd >= 0;
        return pid;
    }
    if (errno != ENOSYS && errno != E2BIG && !(errno == EINVAL && cgroup_fd >= 0))
        return -1;
    /* no clone3 (or no CLONE_INTO_CGROUP): classic clone, the parent enters the cgroup */
    pid = (pid_t)syscall(SYS_clone, (unsigned long)(flags & ~(uint64_t)CLONE_NEWCGROUP) | SIGCHLD,
                         NULL, NULL, NULL, NULL);
    if (pid > 0)
        *pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    return pid;
}

static int reap_error(struct creation *cr)
{
    int status = 0;
    if (cr->pid > 0 && RETRY_EINTR(waitpid(cr->pid, &status, 0)) == cr->pid) {
        cr->pid = 0;
        if (WIFSIGNALED(status))
            return err_setx(EIO, "the container process was killed by signal %d during setup",
                            WTERMSIG(status));
        return err_setx(EIO, "the container process exited with status %d during setup",
                        WEXITSTATUS(status));
    }
    return err_setx(EIO, "the container process exited during setup");
}

static char *parent_state_json(struct creation *cr, enum container_status s)
{
    return hook_state_json(cr->st, s, cr->pid);
}

/* The network record goes into state.json before and after the veth and rules are made, so
 * that delete can undo them even if this create is killed half way. */
static int save_net_record(void *ctx, const char *record)
{
    struct creation *cr = ctx;
    cr->st->net_json = arena_strdup(&cr->st->arena, record);
    return state_save(cr->dirfd, cr->st);
}

static int attach_network(struct creation *cr)
{
    char *record = NULL;
    struct net_saver saver = {save_net_record, cr};
    int r = net_attach(cr->rt->root, cr->o->id, cr->pid, cr->net, &saver, &record);
    if (r == 0)
        r = save_net_record(cr, record);
    free(record);
    return r;
}

static int run_runtime_hooks(struct creation *cr)
{
    _cleanup_free_ char *json = parent_state_json(cr, STATUS_CREATING);
    int r = hooks_run(cr->spec, HOOK_PRESTART, json);
    if (r == 0)
        r = hooks_run(cr->spec, HOOK_CREATE_RUNTIME, json);
    return r;
}

static int forward_seccomp_fd(struct creation *cr, int fd)
{
    const struct spec_seccomp *sc = cr->spec->linux_.seccomp;
    _cleanup_free_ char *json = parent_state_json(cr, STATUS_CREATING);
    int r = seccomp_send_listener(sc->listener_path, sc->listener_metadata, fd, cr->pid, json);
    close(fd);
    return r;
}

static int handle_message(struct creation *cr, enum sync_type t, int v, const char *text, int fd)
{
    int r = 0;
    switch (t) {
    case SYNC_ERROR: return err_setx(v > 0 ? v : EIO, "%s", text);
    case SYNC_USERNS: r = ns_write_id_maps(cr->pid, cr->spec); break;
    case SYNC_STAGE2_PID: {
        /* the first stage has done its part; the container process is its child (ours) */
        RETRY_EINTR(waitpid(cr->pid, NULL, 0));
        close_fd(&cr->pidfd);
        cr->pid = v;
        cr->pidfd = (int)syscall(SYS_pidfd_open, cr->pid, 0);
        return 0;
    }
    case SYNC_NAMESPACES_READY:
        r = cr->net ? attach_network(cr) : 0;
        if (r == 0)
            r = run_runtime_hooks(cr);
        break;
    case SYNC_SECCOMP_FD:
        r = fd >= 0 ? forward_seccomp_fd(cr, fd) : err_setx(EBADMSG, "seccomp listener missing");
        break;
    case SYNC_READY: return 1;
    default: return err_setx(EBADMSG, "unexpected message %d from the container process", t);
    }
    if (r < 0)
        return r;
    return sync_send(cr->sync[0], SYNC_CONTINUE, 0, NULL, -1) < 0 ? reap_error(cr) : 0;
}

static int parent_loop(struct creation *cr)
{
    for (;;) {
        enum sync_type t;
        int v, fd;
        char text[4200];
        int r = sync_recv(cr->sync[0], &t, &v, text, sizeof(text), &fd);
        if (r < 0)
            return err_set(r, "read from the container process");
        if (r == 0)
            return reap_error(cr);
        r = handle_message(cr, t, v, text, fd);
        if (r != 0)
            return r < 0 ? r : 0;
    }
}

static void fill_ctx(struct creation *cr, struct init_ctx *c)
{
    memset(c, 0, sizeof(*c));
    c->spec = cr->spec;
    c->id = cr->o->id;
    c->bundle = cr->bundle;
    c->rootfs = cr->rootfs;
    c->state_dir = cr->state_dir;
    c->cgroup = cr->cg;
    c->seccomp = cr->seccomp;
    c->plan = cr->plan;
    c->sync_fd = cr->sync[1];
    c->fifo_fd = cr->fifo_fd;
    c->console_fd = cr->console_fd;
    c->stub_fd = cr->stub_fd;
    c->preserve_fds = cr->preserve_fds;
    c->no_pivot = cr->o->no_pivot;
    c->no_new_keyring = cr->o->no_new_keyring;
    c->parent_pid = getpid();
    c->state = cr->st;
    c->pause_after_namespaces =
            cr->net || cr->spec->hooks.n[HOOK_PRESTART] || cr->spec->hooks.n[HOOK_CREATE_RUNTIME];
    for (size_t i = 0; i < cr->spec->n_mounts; i++)
        if (cr->spec->mounts[i].type && streq(cr->spec->mounts[i].type, "proc") &&
            streq(cr->spec->mounts[i].destination, "/proc"))
            c->proc_mounted = true;
}

static int clone_into_pidns(struct creation *cr, struct init_ctx *c, uint64_t flags, int cgfd,
                            bool *into_cgroup)
{
    _cleanup_close_ int own_pidns = -1;
    if (cr->plan.pid_join_in_parent) {
        own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own_pidns < 0 || setns(cr->plan.join_fd[NS_PID], CLONE_NEWPID) < 0)
            return err_set(errno, "join pid namespace %s", cr->spec->ns[NS_PID]->path);
    }
    cr->pid = clone_child(flags, cgfd, &cr->pidfd, into_cgroup);
    if (cr->pid == 0) {
        /* the state dir's lock must end with `create`, not live on in the container */
        close(cr->sync[0]);
        close(cr->dirfd);
        close(cr->rootfd);
        if (cr->console_pair >= 0)
            close(cr->console_pair);
        init_main(c);
    }
    int e = errno;
    if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0)
        log_warn("could not return to berth's own pid namespace: %s", strerror(errno));
    if (cr->pid < 0) {
        cr->pid = 0;
        if (e == ENOMEM && cr->plan.pid_join_in_parent)
            return err_setx(ESRCH,
                            "clone into pid namespace %s: its first process has exited, "
                            "so it takes no new processes",
                            cr->spec->ns[NS_PID]->path);
        return err_set(e, "clone the container process");
    }
    return 0;
}

static int creation_spawn(struct creation *cr)
{
    struct init_ctx c;
    /* non-dumpable before the clone: the child has no window in which a container process
     * could open its /proc entries (it clears nothing: exec resets dumpability) */
    prctl(PR_SET_DUMPABLE, 0);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, cr->sync) < 0)
        return err_set(errno, "socketpair");
    int cgfd = cr->plan.staged ? -1 : cgroup_clone_fd(cr->cg);
    uint64_t flags = (uint64_t)cr->plan.clone_flags;
    /* born in its cgroup: a cgroup namespace can come with the clone too */
    if (cgfd >= 0 && cr->plan.new_cgroup)
        flags |= CLONE_NEWCGROUP;
    fill_ctx(cr, &c);
    c.plan.new_cgroup = cr->plan.new_cgroup && cgfd < 0;
    c.await_parent = cgfd < 0 || (cr->plan.new_user && !cr->plan.staged);
    bool into = false;
    int r = clone_into_pidns(cr, &c, flags, cgfd, &into);
    if (r < 0)
        return r;
    close_fd(&cr->sync[1]);
    close_fd(&cr->fifo_fd);
    if (cr->console_pair >= 0)
        close_fd(&cr->console_fd); /* the child has its end */
    if (cgfd >= 0 && !into) {
        /* clone3 refused CLONE_INTO_CGROUP: the child waits for us anyway */
        log_debug("CLONE_INTO_CGROUP unavailable, entering the cgroup after clone");
    }
    if (c.await_parent) {
        if (!into && (r = cgroup_enter(cr->cg, cr->pid)) < 0)
            return r;
        if (cr->plan.new_user && !cr->plan.staged && (r = ns_write_id_maps(cr->pid, cr->spec)) < 0)
            return r;
        if (sync_send(cr->sync[0], SYNC_CONTINUE, 0, NULL, -1) < 0)
            return reap_error(cr);
    }
    return parent_loop(cr);
}

static int write_pid_file(const char *path, pid_t pid)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
    _cleanup_free_ char *copy = xstrdup(path);
    char *slash = strrchr(copy, '/');
    const char *dir = slash ? (slash == copy ? "/" : copy) : ".";
    const char *name = slash ? slash + 1 : copy;
    if (slash)
        *slash = '\0';
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return err_set(errno, "--pid-file %s: open directory", path);
    int r = write_file_atomic_at(dfd, name, buf, (size_t)n, 0644);
    return r < 0 ? err_set(r, "--pid-file %s", path) : 0;
}

static int creation_commit(struct creation *cr)
{
    int r = proc_start_time(cr->pid, &cr->st->pid_start, NULL);
    if (r < 0)
        return err_set(r, "read the start time of the container process %d", (int)cr->pid);
    cr->st->pid = cr->pid;
    if ((r = state_save(cr->dirfd, cr->st)) < 0)
        return r;
    if (cr->o->pid_file && (r = write_pid_file(cr->o->pid_file, cr->pid)) < 0)
        return r;
    /* the container exists: other commands (kill, delete --force) may take it from here */
    close_fd(&cr->dirfd);
    return 0;
}

static void creation_abort(struct creation *cr)
{
    char saved[4096];
    int code = err_code();
    snprintf(saved, sizeof(saved), "%s", err_msg());
    if (cr->pid > 0) {
        kill(cr->pid, SIGKILL);
        RETRY_EINTR(waitpid(cr->pid, NULL, 0));
        cr->pid = 0;
    }
    if (cr->st && cr->st->net_json && net_detach(cr->rt->root, cr->o->id, cr->st->net_json) < 0)
        log_warn("cleanup: %s", err_msg());
    if (cr->cg && cgroup_destroy(cr->cg) < 0)
        log_warn("cleanup: %s", err_msg());
    if (cr->dir_made && state_dir_remove(cr->rootfd, cr->o->id) < 0)
        log_warn("cleanup: %s", err_msg());
    cr->dir_made = false;
    err_setx(code, "%s", saved);
}

static int create_container(struct creation *cr)
{
    int r = creation_prepare(cr);
    if (r < 0)
        return r;
    if ((r = creation_reserve(cr)) < 0 || (r = creation_spawn(cr)) < 0 ||
        (r = creation_commit(cr)) < 0) {
        creation_abort(cr);
        return r;
    }
    return 0;
}

int container_create(const struct runtime_opts *rt, const struct create_opts *o)
{
    struct creation cr;
    creation_init(&cr, rt, o, true);
    int r = create_container(&cr);
    creation_free(&cr);
    return r;
}

/* ---- start ---- */

static void run_poststart(const struct spec *s, const struct container_state *st)
{
    if (!s->hooks.n[HOOK_POSTSTART])
        return;
    _cleanup_free_ char *json = hook_state_json(st, STATUS_RUNNING, st->pid);
    /* the spec: a failing poststart hook is a warning, the container keeps running */
    hooks_run_warn(s, HOOK_POSTSTART, json);
}

static int release_fifo(int dirfd, const char *id)
{
    _cleanup_close_ int fd = openat(dirfd, "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENXIO)
            return err_setx(ESRCH, "container %s: its process exited before start", id);
        return err_set(errno, "open exec.fifo of container %s", id);
    }
    if (write(fd, "0", 1) != 1)
        return err_set(errno, "write exec.fifo of container %s", id);
    if (unlinkat(dirfd, "exec.fifo", 0) < 0)
        return err_set(errno, "remove exec.fifo of container %s", id);
    return 0;
}

int container_start(const struct runtime_opts *rt, const char *id)
{
    _cleanup_close_ int dirfd = -1;
    _cleanup_state_ struct container_state *st = NULL;
    enum container_status status;
    int r = container_load(rt, id, true, &dirfd, &st, &status);
    if (r < 0)
        return r;
    if (status != STATUS_CREATED)
        return err_setx(EINVAL, "cannot start container %s: it is %s, not created", id,
                        status_name(status));
    /* systemd: listen before the process can send READY=1, relay until it does */
    struct notify_relay nr;
    _cleanup_close_ int notify_fd = -1;
    _cleanup_free_ char *sdir_n = state_dir_path(rt->root, id);
    if (faccessat(dirfd, "notify", F_OK, 0) == 0 && notify_relay_prepare(sdir_n, &nr) == 0 &&
        nr.host_socket) {
        r = notify_relay_listen(&nr, &notify_fd);
        if (r < 0) {
            notify_relay_free(&nr);
            return r;
        }
    } else {
        memset(&nr, 0, sizeof(nr));
    }
    if ((r = release_fifo(dirfd, id)) < 0) {
        notify_relay_free(&nr);
        return r;
    }
    st->recorded_status = STATUS_RUNNING;
    if ((r = state_save(dirfd, st)) < 0)
        return r;
    _cleanup_spec_ struct spec *spec = NULL;
    _cleanup_free_ char *sdir = state_dir_path(rt->root, id);
    if (spec_load(sdir, &spec) == 0)
        run_poststart(spec, st);
    if (notify_fd >= 0) {
        _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
        r = notify_relay_until_ready(nr.host_socket, notify_fd, st->pid, pidfd);
    }
    notify_relay_free(&nr);
    return r;
}

/* ---- run ---- */

/* After SYNC_START: the socket closes at exec; an error message means the last steps failed. */
static int wait_exec(struct creation *cr)
{
    enum sync_type t;
    int v;
    char text[4200];
    int r = sync_recv(cr->sync[0], &t, &v, text, sizeof(text), NULL);
    if (r > 0 && t == SYNC_ERROR)
        return err_setx(v > 0 ? v : EIO, "%s", text);
    return 0;
}

static int start_process(struct creation *cr)
{
    int r;
    if (cr->notify.host_socket && (r = notify_relay_listen(&cr->notify, &cr->fg.notify_fd)) < 0)
        return r;
    if (cr->console_pair >= 0 && (r = foreground_receive_pty(&cr->fg, cr->console_pair)) < 0)
        return r;
    if (sync_send(cr->sync[0], SYNC_START, 0, NULL, -1) < 0)
        return reap_error(cr);
    return wait_exec(cr);
}

static int run_container(struct creation *cr, bool detach, int *exit_code)
{
    int r;
    if ((r = creation_prepare(cr)) < 0)
        return r;
    if ((r = creation_reserve(cr)) < 0 || (r = creation_spawn(cr)) < 0 ||
        (r = creation_commit(cr)) < 0 || (r = foreground_block_signals(&cr->fg)) < 0 ||
        (r = start_process(cr)) < 0) {
        creation_abort(cr);
        return r;
    }
    run_poststart(cr->spec, cr->st);
    if (detach) {
        if (cr->fg.notify_fd >= 0 &&
            (r = notify_relay_until_ready(cr->notify.host_socket, cr->fg.notify_fd, cr->pid,
                                          cr->pidfd)) < 0)
            creation_abort(cr); /* it never became ready: nothing of it stays */
        return r;
    }
    cr->fg.pid = cr->pid;
    cr->fg.pidfd = TAKE_FD(cr->pidfd);
    cr->fg.stop_signal = stop_signal_from_annotation(
            spec_annotation(cr->spec, "org.opencontainers.image.stopSignal"));
    r = foreground_wait(&cr->fg, exit_code);
    cr->pid = 0;
    return r;
}

int container_run(const struct runtime_opts *rt, const struct create_opts *o, bool detach,
                  bool keep, int *exit_code)
{
    struct creation cr;
    creation_init(&cr, rt, o, false);
    cr.foreground = !detach;
    *exit_code = 0;
    int r = run_container(&cr, detach, exit_code);
    bool started = r == 0 && cr.dir_made;
    creation_free(&cr);
    if (started && !detach && !keep && container_delete(rt, o->id, true) < 0)
        log_warn("%s", err_msg());
    return r;
}
