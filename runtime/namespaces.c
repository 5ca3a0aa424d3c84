/* Which namespaces to create, which to join, and in what order. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/util.h"
#include "runtime/init.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int open_ns(const struct spec_namespace *ns, int *out)
{
    int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(errno, "%s namespace: open %s", ns_type_name(ns->type), ns->path);
    int kind = ioctl(fd, NS_GET_NSTYPE);
    if (kind >= 0 && kind != ns_clone_flag(ns->type)) {
        close(fd);
        return err_setx(EINVAL, "%s namespace: %s is not a %s namespace", ns_type_name(ns->type),
                        ns->path, ns_type_name(ns->type));
    }
    *out = fd;
    return 0;
}

void ns_plan_close(struct ns_plan *plan)
{
    for (int t = 0; t < NS__COUNT; t++)
        if (plan->join_fd[t] >= 0) {
            close(plan->join_fd[t]);
            plan->join_fd[t] = -1;
        }
}

int ns_plan_build(const struct spec *s, struct ns_plan *plan)
{
    bool create[NS__COUNT] = {false};
    bool joins_other = false;

    memset(plan, 0, sizeof(*plan));
    for (int t = 0; t < NS__COUNT; t++)
        plan->join_fd[t] = -1;
    for (int t = 0; t < NS__COUNT; t++) {
        const struct spec_namespace *ns = s->ns[t];
        if (!ns)
            continue;
        if (!ns->path) {
            create[t] = true;
            continue;
        }
        int r = open_ns(ns, &plan->join_fd[t]);
        if (r < 0) {
            ns_plan_close(plan);
            return r;
        }
        if (t != NS_USER && t != NS_PID)
            joins_other = true;
    }
    plan->new_user = create[NS_USER];
    plan->new_time = create[NS_TIME];
    plan->new_cgroup = create[NS_CGROUP];
    plan->pid_join_in_parent = plan->join_fd[NS_PID] >= 0;
    /*
     * Namespaces created together with a user namespace belong to it, and a
     * process inside a new user namespace may no longer join namespaces owned
     * by the host's. So when a user namespace is joined, or created while
     * other namespaces are joined, the child joins first and creates after
     * (and forks once more for a new pid namespace): the staged path.
     */
    plan->staged = plan->join_fd[NS_USER] >= 0 || (plan->new_user && joins_other);
    int flags = 0;
    for (int t = 0; t < NS__COUNT; t++)
        if (create[t] && t != NS_TIME && t != NS_CGROUP)
            flags |= ns_clone_flag(t);
    if (plan->staged)
        plan->unshare_flags = flags;
    else
        plan->clone_flags = flags;
    return 0;
}

/* Join the namespaces given by path: the user namespace first, then the rest. */
int ns_join_all(const struct ns_plan *plan, bool user_only)
{
    static const enum ns_type order[] = {NS_USER,   NS_IPC,  NS_UTS, NS_NET,
                                         NS_CGROUP, NS_TIME, NS_MNT};
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        enum ns_type t = order[i];
        if (plan->join_fd[t] < 0 || (user_only && t != NS_USER) || (!user_only && t == NS_USER))
            continue;
        if (setns(plan->join_fd[t], ns_clone_flag(t)) < 0)
            return err_set(errno, "join %s namespace", ns_type_name(t));
    }
    return 0;
}

static int write_map(pid_t pid, const char *file, const struct spec_idmap *m, size_t n)
{
    char path[64];
    _cleanup_free_ char *buf = xmalloc(n * 40 + 1);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(buf + len, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
                               m[i].container_id, m[i].host_id, m[i].size);
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    int r = write_file_at(AT_FDCWD, path, buf, len);
    if (r < 0)
        return err_set(r,
                       "user namespace: write %s (check that the mapped ranges do not "
                       "overlap and exist on the host)",
                       file);
    return 0;
}

int ns_write_id_maps(pid_t pid, const struct spec *s)
{
    int r = write_map(pid, "uid_map", s->linux_.uid_mappings, s->linux_.n_uid_mappings);
    if (r < 0)
        return r;
    return write_map(pid, "gid_map", s->linux_.gid_mappings, s->linux_.n_gid_mappings);
}

int ns_setup_time(const struct spec *s)
{
    static const char *const clocks[] = {"monotonic", "boottime"};
    char buf[128];
    size_t len = 0;

    if (unshare(CLONE_NEWTIME) < 0)
        return err_set(errno, "create time namespace");
    for (int i = 0; i < 2; i++) {
        const struct spec_time_offset *o = &s->linux_.time_offsets[i];
        if (o->set)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %" PRId64 " %" PRIu32 "\n",
                                    clocks[i], o->secs, o->nanosecs);
    }
    if (len) {
        int r = write_file_at(AT_FDCWD, "/proc/self/timens_offsets", buf, len);
        if (r < 0)
            return err_set(r, "time namespace: write offsets");
    }
    /* unshare() only moves future children; enter the new namespace ourselves */
    _cleanup_close_ int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(errno, "time namespace: open /proc/self/ns/time_for_children");
    if (setns(fd, CLONE_NEWTIME) < 0)
        return err_set(errno, "enter time namespace");
    return 0;
}
