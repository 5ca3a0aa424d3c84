/*
 * /sys/fs/cgroup inside the container. Runs in the container's process before
 * pivot_root, so it sticks to mount(2), mkdirat and symlinkat with paths on
 * the stack.
 *
 * On legacy and hybrid hosts the tmpfs that holds the hierarchies is made
 * with fsopen/fsmount: the mount fd then names the tmpfs root itself, so the
 * directories and mounts below land inside the tmpfs. A path through
 * /proc/self/fd/N of the target would resolve to the directory underneath the
 * new tmpfs instead (magic links do not cross mounts stacked on their target).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "lib/err.h"
#include "lib/util.h"

#ifndef FSCONFIG_SET_STRING
#define FSCONFIG_SET_STRING 1
#endif
#ifndef FSCONFIG_CMD_CREATE
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 1
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x4
#endif
#ifndef MOVE_MOUNT_T_SYMLINKS
#define MOVE_MOUNT_T_SYMLINKS 0x10
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOUNT_ATTR__ATIME
#define MOUNT_ATTR__ATIME 0x70
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY      0x1
#define MOUNT_ATTR_NOSUID      0x2
#define MOUNT_ATTR_NODEV       0x4
#define MOUNT_ATTR_NOEXEC      0x8
#define MOUNT_ATTR_NOATIME     0x10
#define MOUNT_ATTR_STRICTATIME 0x20
#define MOUNT_ATTR_NODIRATIME  0x80
#endif

/* The per-mount flags a cgroup entry in config.json can carry. */
#define MOUNT_FLAGS                                                                            \
    (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
     MS_STRICTATIME)

static int do_mount(const char *src, const char *dst, const char *type, unsigned long flags,
                    const char *data)
{
    if (mount(src, dst, type, flags, data) < 0)
        return err_set(errno, "cgroup: mounting %s (%s%s%s) on %s", src ? src : "none",
                       type ? type : "remount", data ? ", " : "", data ? data : "", dst);
    return 0;
}

static unsigned mount_attrs(unsigned long flags)
{
    unsigned a = 0;
    if (flags & MS_NOSUID)
        a |= MOUNT_ATTR_NOSUID;
    if (flags & MS_NODEV)
        a |= MOUNT_ATTR_NODEV;
    if (flags & MS_NOEXEC)
        a |= MOUNT_ATTR_NOEXEC;
    if (flags & MS_NOATIME)
        a |= MOUNT_ATTR_NOATIME;
    else if (flags & MS_STRICTATIME)
        a |= MOUNT_ATTR_STRICTATIME;
    if (flags & MS_NODIRATIME)
        a |= MOUNT_ATTR_NODIRATIME;
    return a;
}

/* A tmpfs attached at target; returns an fd naming its root. */
static int tmpfs_at(const char *target, unsigned long flags, int *out)
{
    _cleanup_close_ int fsfd = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (fsfd < 0)
        return err_set(errno, "cgroup: fsopen(tmpfs) for %s (needs Linux 5.2)", target);
    if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
        syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return err_set(errno, "cgroup: creating the tmpfs for %s", target);
    int mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, mount_attrs(flags));
    if (mfd < 0)
        return err_set(errno, "cgroup: fsmount of the tmpfs for %s", target);
    /* T_SYMLINKS: target is typically the magic link /proc/self/fd/N */
    if (syscall(SYS_move_mount, mfd, "", AT_FDCWD, target,
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0) {
        int e = errno;
        close(mfd);
        return err_set(e, "cgroup: attaching the tmpfs at %s", target);
    }
    *out = mfd;
    return 0;
}

/* mount_setattr(2)'s argument, under our own name: glibc's may or may not be declared. */
struct cg_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/*
 * Bind dir onto dst with the entry's flags. The bind is made detached
 * (open_tree), flagged there (mount_setattr) and then attached: a remount
 * through dst afterwards would reach the directory under the bind when dst
 * is a /proc/self/fd magic link.
 */
static int bind_dir(const char *dir, const char *dst, unsigned long flags)
{
    _cleanup_close_ int tfd =
            (int)syscall(SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tfd < 0)
        return err_set(errno, "cgroup: open_tree(%s) to bind it at %s (needs Linux 5.2)", dir, dst);
    unsigned attrs = mount_attrs(flags) | ((flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0);
    if (attrs) {
        struct cg_mount_attr a = {.attr_set = attrs};
        if (attrs & (MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME))
            a.attr_clr = MOUNT_ATTR__ATIME;
        if (syscall(SYS_mount_setattr, tfd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
            return err_set(errno, "cgroup: setting the flags of the bind of %s (needs Linux 5.12)",
                           dir);
    }
    if (syscall(SYS_move_mount, tfd, "", AT_FDCWD, dst,
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
        return err_set(errno, "cgroup: binding %s at %s", dir, dst);
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/*
 * A v1 hierarchy is shown by binding the container's own cgroup directory, with or without
 * a cgroup namespace: what the container sees is the same, while mounting a new v1 cgroupfs
 * makes the kernel drain the dying cgroups of the whole default hierarchy (O(cgroups on the
 * host), ten times per container on a hybrid host) and adds a superblock per container.
 */
static int mount_v1(const struct cg_hier *h, int mfd, unsigned long flags)
{
    const char *base = base_name(h->mountpoint);
    char path[PATH_MAX];
    if (mkdirat(mfd, base, 0755) < 0)
        return err_set(errno, "cgroup: creating %s in the container's cgroup tmpfs", base);
    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", mfd, base);
    int r = bind_dir(h->dir, path, flags);
    if (r < 0)
        return r;

    /* co-mounted controllers: "cpu" -> "cpu,cpuacct", as on the host */
    char names[256];
    snprintf(names, sizeof(names), "%s", h->name);
    char *save = NULL;
    for (char *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (startswith(t, "name=") || streq(t, base))
            continue;
        if (symlinkat(base, mfd, t) < 0 && errno != EEXIST)
            return err_set(errno, "cgroup: linking %s -> %s in the container's cgroup tmpfs", t,
                           base);
    }
    return 0;
}

int cgroup_mount_in_container(const struct cgroup *cg, const char *target, unsigned long flags,
                              bool cgroupns)
{
    const struct cg_hier *u = cg_unified(cg);
    int r;
    if (cg->mode == CGROUP_MODE_UNIFIED) {
        if (cgroupns)
            return do_mount("cgroup2", target, "cgroup2", flags & MOUNT_FLAGS, NULL);
        return bind_dir(u->dir, target, flags);
    }

    _cleanup_close_ int mfd = -1;
    r = tmpfs_at(target, flags, &mfd);
    if (r < 0)
        return r;
    for (size_t i = 0; i < cg->n_h; i++) {
        if (cg->h[i].unified)
            continue;
        r = mount_v1(&cg->h[i], mfd, flags);
        if (r < 0)
            return r;
    }
    if (u) {
        char path[PATH_MAX];
        if (mkdirat(mfd, "unified", 0755) < 0)
            return err_set(errno, "cgroup: creating unified in the container's cgroup tmpfs");
        snprintf(path, sizeof(path), "/proc/self/fd/%d/unified", mfd);
        r = cgroupns ? do_mount("cgroup2", path, "cgroup2", flags & MOUNT_FLAGS, NULL)
                     : bind_dir(u->dir, path, flags);
        if (r < 0)
            return r;
    }
    if (flags & MS_RDONLY) {
        /* read-only last: the directories above had to be made first */
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
        r = do_mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | (flags & MOUNT_FLAGS), NULL);
        if (r < 0)
            return r;
    }
    return 0;
}
