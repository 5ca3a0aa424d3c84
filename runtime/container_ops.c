/* kill, delete, state and list. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runtime/container.h"
#include "runtime/init.h"
#include "netns/net.h"
#include "images/images.h"

int container_cgroup(const struct container_state *st, struct cgroup **out)
{
    *out = NULL;
    if (!st->cgroup_json)
        return st->cgroup_doc ? cgroup_state_read(st->cgroup_doc, out) : 0;
    struct arena a = {0};
    struct json *v;
    int r = json_parse(&a, st->cgroup_json, strlen(st->cgroup_json), "cgroup state", &v);
    if (r == 0)
        r = cgroup_state_read(v, out);
    arena_free(&a);
    return r;
}

/* The live status of a state just loaded (paused from its freezer file, or from the cgroup
 * record of a state written without one); dirfd: state_status's. */
static enum container_status live_status(const struct container_state *st, int dirfd)
{
    enum container_status s = state_status(st, dirfd);
    bool frozen = false;
    if (s != STATUS_RUNNING)
        return s;
    if (st->freezer_file)
        return cgroup_freezer_file_frozen(st->freezer_file, &frozen) == 0 && frozen ? STATUS_PAUSED
                                                                                    : s;
    if (st->cgroup_doc && cgroup_state_is_frozen(st->cgroup_doc, &frozen) == 0 && frozen)
        return STATUS_PAUSED;
    return s;
}

/* State and live status of the container whose directory is dirfd. */
static int load_at(int dirfd, const char *name, struct container_state **stp,
                   enum container_status *status)
{
    struct container_state *st;
    int r = state_load(dirfd, name, &st);
    if (r < 0)
        return r;
    *status = live_status(st, dirfd);
    *stp = st;
    return 0;
}

int container_load(const struct runtime_opts *rt, const char *id, bool lock, int *dirfd,
                   struct container_state **stp, enum container_status *status)
{
    _cleanup_close_ int rootfd = -1, fd = -1;
    int r = id_validate(id);
    if (r < 0)
        return r;
    r = state_root_open(rt->root, false, &rootfd);
    if (r == -ENOENT)
        return err_setx(ENOENT, "container %s does not exist", id);
    if (r < 0)
        return r;
    r = lock ? state_dir_open_locked(rootfd, id, &fd) : state_dir_open(rootfd, id, &fd);
    if (r < 0 || (r = load_at(fd, id, stp, status)) < 0)
        return r;
    if (dirfd)
        *dirfd = TAKE_FD(fd);
    return 0;
}

/* ---- kill ---- */

static int open_verified_pidfd(const struct container_state *st, int *out)
{
    int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (fd < 0)
        return -errno;
    /* the pid could have been reused between reading state and opening it */
    if (!state_process_alive(st)) {
        close(fd);
        return -ESRCH;
    }
    *out = fd;
    return 0;
}

static int signal_process(const struct container_state *st, int sig)
{
    _cleanup_close_ int pidfd = -1;
    int r = open_verified_pidfd(st, &pidfd);
    if (r < 0)
        return r;
    if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
        return -errno;
    return 0;
}

int container_kill(const struct runtime_opts *rt, const char *id, int sig, bool all)
{
    _cleanup_state_ struct container_state *st = NULL;
    enum container_status status;
    int r = container_load(rt, id, false, NULL, &st, &status);
    if (r < 0)
        return r;
    if (status == STATUS_STOPPED || status == STATUS_CREATING)
        return err_setx(ESRCH, "container %s is %s: nothing to signal", id, status_name(status));
    if (all) {
        _cleanup_cgroup_ struct cgroup *cg = NULL;
        if ((r = container_cgroup(st, &cg)) < 0)
            return r;
        if (cg)
            return cgroup_kill(cg, sig);
    }
    r = signal_process(st, sig);
    if (r == -ESRCH)
        return err_setx(ESRCH, "container %s is not running", id);
    return r < 0 ? err_set(r, "signal %d to container %s (pid %d)", sig, id, (int)st->pid) : 0;
}

/* ---- delete ---- */

/* Wait (bounded) for the container's process to be gone. */
static void wait_gone(const struct container_state *st)
{
    _cleanup_close_ int pidfd = -1;
    if (open_verified_pidfd(st, &pidfd) < 0)
        return;
    for (int i = 0; i < 100; i++) {
        struct pollfd pf = {.fd = pidfd, .events = POLLIN};
        if (poll(&pf, 1, 50) > 0 || !state_process_alive(st))
            return;
    }
    log_warn("container %s: process %d did not exit after SIGKILL", st->id, (int)st->pid);
}

static void run_poststop(const struct runtime_opts *rt, const struct container_state *st)
{
    _cleanup_spec_ struct spec *spec = NULL;
    _cleanup_free_ char *sdir = state_dir_path(rt->root, st->id);
    if (spec_load(sdir, &spec) < 0 || !spec->hooks.n[HOOK_POSTSTOP])
        return;
    _cleanup_free_ char *json = hook_state_json(st, STATUS_STOPPED, st->pid);
    /* the spec: a failing poststop hook is a warning, delete goes on */
    hooks_run_warn(spec, HOOK_POSTSTOP, json);
}

static int remove_leftover(int rootfd, int dirfd, const char *id, bool force)
{
    /* a directory without state: a create in progress, or one that was killed */
    if (state_dir_busy(dirfd))
        return err_setx(EBUSY, "container %s is being created", id);
    if (!force)
        return err_setx(EINVAL,
                        "container %s has no state (a create was interrupted): use "
                        "delete --force to remove it",
                        id);
    return state_dir_remove(rootfd, id);
}

static bool has_state(int rootfd, const char *id, int *dirfd)
{
    return state_dir_open(rootfd, id, dirfd) == 0 &&
           faccessat(*dirfd, "state.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static void stop_processes(struct container_state *st, struct cgroup *cg, bool paused)
{
    /* frozen processes only die once thawed */
    if (cg && paused && cgroup_freeze(cg, false) < 0)
        log_warn("container %s: thaw before kill: %s", st->id, err_msg());
    if (cg)
        cgroup_kill(cg, SIGKILL);
    signal_process(st, SIGKILL);
    wait_gone(st);
}

int container_delete(const struct runtime_opts *rt, const char *id, bool force)
{
    _cleanup_close_ int rootfd = -1, probe = -1, dirfd = -1;
    int r = id_validate(id);
    if (r < 0)
        return r;
    if ((r = state_root_open(rt->root, false, &rootfd)) < 0)
        return r == -ENOENT ? err_setx(ENOENT, "container %s does not exist", id) : r;
    if (!has_state(rootfd, id, &probe)) {
        if (probe < 0)
            return err_setx(ENOENT, "container %s does not exist", id);
        return remove_leftover(rootfd, probe, id, force);
    }
    _cleanup_state_ struct container_state *st = NULL;
    enum container_status status;
    if ((r = container_load(rt, id, true, &dirfd, &st, &status)) < 0)
        return r;
    state_records_text(st);
    if ((status == STATUS_RUNNING || status == STATUS_PAUSED) && !force)
        return err_setx(EBUSY,
                        "cannot delete container %s that is not stopped: %s (use delete --force)",
                        id, status_name(status));
    _cleanup_cgroup_ struct cgroup *cg = NULL;
    if (container_cgroup(st, &cg) < 0)
        log_warn("container %s: %s", id, err_msg());
    if (status != STATUS_STOPPED)
        stop_processes(st, cg, status == STATUS_PAUSED);
    if (st->net_json && (r = net_detach(rt->root, id, st->net_json)) < 0)
        return r;
    if (cg && (r = cgroup_destroy(cg)) < 0)
        return r;
    run_poststop(rt, st);
    if (st->image_json && (r = images_release_container(st->image_json)) < 0)
        return r;
    return state_dir_remove(rootfd, id);
}

/* ---- state and list ---- */

int container_state_json(const struct runtime_opts *rt, const char *id, char **out)
{
    _cleanup_state_ struct container_state *st = NULL;
    enum container_status status;
    int r = container_load(rt, id, false, NULL, &st, &status);
    if (r < 0)
        return r;
    struct jw w;
    jw_init(&w, "  ");
    state_write_oci(&w, st, status, true);
    *out = jw_steal(&w, NULL);
    return 0;
}

/* Directory entries that can hold a container: ids, and "_<sha256>" for long ids. */
static bool container_entry(const char *name)
{
    return name[0] == '_' ? strlen(name) == 65 : id_validate(name) == 0;
}

struct list_entry {
    char *name; /* under the root */
    char *id;   /* the name, or for "_<sha256>" the id its state records */
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct list_entry *)a)->id, ((const struct list_entry *)b)->id);
}

static void list_entries_free(struct list_entry *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (l[i].id != l[i].name)
            free(l[i].id);
        free(l[i].name);
    }
    free(l);
}

/* The id a long-id directory holds (NULL when it has no readable state). */
static char *hashed_entry_id(int rootfd, const char *name)
{
    _cleanup_close_ int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct container_state *st;
    if (fd < 0 || state_load(fd, name, &st) < 0)
        return NULL;
    char *id = xstrdup(st->id);
    state_free(st);
    return id;
}

/* The container directories under the root, sorted by id. */
static void list_entries(DIR *d, struct list_entry **out, size_t *n)
{
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!container_entry(de->d_name))
            continue;
        char *name = xstrdup(de->d_name);
        char *id = name[0] == '_' ? hashed_entry_id(dirfd(d), name) : name;
        if (!id) {
            free(name);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = xreallocarray(*out, cap, sizeof(**out));
        }
        (*out)[(*n)++] = (struct list_entry){.name = name, .id = id};
    }
    if (*n)
        qsort(*out, *n, sizeof(**out), cmp_entry);
}

/* A running container's directory is not opened at all: its state says everything. */
static int visit_entry(int rootfd, const char *name, container_visit_fn fn, void *ctx)
{
    _cleanup_state_ struct container_state *st = NULL;
    _cleanup_close_ int fd = -1;
    /* failures: being created, deleted meanwhile, or not ours */
    if (state_load_entry(rootfd, name, &st) < 0)
        return 0;
    if (state_status_needs_dir(st) &&
        (fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return 0;
    return fn(&(struct container_info){.st = st, .status = live_status(st, fd)}, ctx);
}

int container_list(const struct runtime_opts *rt, container_visit_fn fn, void *ctx)
{
    _cleanup_close_ int rootfd = -1;
    int r = state_root_open(rt->root, false, &rootfd);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    _cleanup_closedir_ DIR *d = fdopendir(TAKE_FD(rootfd));
    if (!d)
        return err_set(errno, "list %s", rt->root);
    struct list_entry *l = NULL;
    size_t n = 0;
    list_entries(d, &l, &n);
    for (size_t i = 0; i < n && r >= 0; i++)
        r = visit_entry(dirfd(d), l[i].name, fn, ctx);
    list_entries_free(l, n);
    if (r >= 0)
        err_clear();
    return r < 0 ? r : 0;
}
