/*
 * The container's root filesystem. Every target path is resolved inside the
 * rootfs with openat2(RESOLVE_IN_ROOT): a symlink in the image can never send
 * a mount outside it. Mounts are made on /proc/self/fd/N of the resolved fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runtime/init.h"
#include "images/images.h"

#define FD_PATH_MAX 32

static void fd_proc_path(int fd, char buf[FD_PATH_MAX])
{
    snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

int open_in_root(int rootfd, const char *path, int flags, int *out)
{
    struct open_how how = {
            .flags = (uint64_t)(flags | O_CLOEXEC),
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    while (*path == '/')
        path++;
    int fd = (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
    if (fd < 0)
        return -errno;
    *out = fd;
    return 0;
}

/* Create path (and missing parents) inside the root; the last part is a dir or an empty file. */
int create_in_root(int rootfd, const char *path, bool file, int *out)
{
    _cleanup_free_ char *p = xstrdup(path);
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    int r = open_in_root(rootfd, p, O_PATH, out);
    if (r != -ENOENT)
        return r;
    char *slash = strrchr(p, '/');
    const char *name = slash ? slash + 1 : p;
    _cleanup_close_ int parent = -1;
    if (slash && slash != p) {
        *slash = '\0';
        r = create_in_root(rootfd, p, false, &parent);
    } else {
        r = open_in_root(rootfd, "/", O_PATH, &parent);
    }
    if (r < 0)
        return r;
    if (!*name || streq(name, ".") || streq(name, ".."))
        return -EINVAL;
    if (file) {
        int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            return -errno;
        if (fd >= 0)
            close(fd);
    } else if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
        return -errno;
    }
    return open_in_root(parent, name, O_PATH, out);
}

static unsigned long locked_flags(const char *path)
{
    struct statvfs sv;
    unsigned long f = 0;
    if (statvfs(path, &sv) < 0)
        return 0;
    /* flags a user namespace cannot clear on mounts it inherited: keep them on remount */
    if (sv.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME)
        f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME)
        f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME)
        f |= MS_RELATIME;
    return f;
}

#define REMOUNT_FLAGS                                                                          \
    (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
     MS_STRICTATIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_LAZYTIME)

static int remount_bind(const char *path, unsigned long flags)
{
    unsigned long f = (flags & REMOUNT_FLAGS) | locked_flags(path);
    if (flags & MS_STRICTATIME)
        f &= ~(MS_RELATIME | MS_NOATIME);
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | f, NULL) < 0)
        return -errno;
    return 0;
}

static int set_propagation(const char *path, unsigned long prop)
{
    if (prop && mount(NULL, path, NULL, prop, NULL) < 0)
        return -errno;
    return 0;
}

static int set_recursive_attrs(int fd, const struct spec_mount *m)
{
    if (!m->rec_attr_set && !m->rec_attr_clr)
        return 0;
    struct mount_attr attr = {.attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr};
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
        return -errno;
    return 0;
}

static bool is_bind(const struct spec_mount *m)
{
    return m->bind || (m->type && streq(m->type, "bind"));
}

static char *bind_source(const struct init_ctx *c, const struct spec_mount *m)
{
    if (!m->source || m->source[0] == '/')
        return xstrdup(m->source ? m->source : "");
    return xasprintf("%s/%s", c->bundle, m->source);
}

/* After mounting on a path, reopen it: the old fd still names the covered directory. */
static int finish_mount(int rootfd, const struct spec_mount *m, bool bind)
{
    _cleanup_close_ int fd = -1;
    char p[FD_PATH_MAX];
    int r = open_in_root(rootfd, m->destination, O_PATH, &fd);
    if (r < 0)
        return r;
    fd_proc_path(fd, p);
    if (bind && (m->flags & REMOUNT_FLAGS) && (r = remount_bind(p, m->flags)) < 0)
        return r;
    if ((r = set_propagation(p, m->propagation)) < 0)
        return r;
    return set_recursive_attrs(fd, m);
}

static int mount_bind(const struct init_ctx *c, int rootfd, const struct spec_mount *m)
{
    _cleanup_free_ char *src = bind_source(c, m);
    struct stat st;
    if (stat(src, &st) < 0)
        return err_set(errno, "mount %s: bind source %s", m->destination, src);
    _cleanup_close_ int target = -1;
    int r = create_in_root(rootfd, m->destination, !S_ISDIR(st.st_mode), &target);
    if (r < 0)
        return err_set(r, "mount %s: create mount point in rootfs", m->destination);
    char p[FD_PATH_MAX];
    fd_proc_path(target, p);
    unsigned long f = MS_BIND | (m->recursive_bind ? MS_REC : 0);
    if (mount(src, p, NULL, f, NULL) < 0)
        return err_set(errno, "mount %s: bind %s", m->destination, src);
    r = finish_mount(rootfd, m, true);
    if (r < 0)
        return err_set(r, "mount %s: apply options to bind of %s", m->destination, src);
    return 0;
}

static int mount_fs(const struct init_ctx *c, int rootfd, const struct spec_mount *m)
{
    _cleanup_close_ int target = -1;
    int r = create_in_root(rootfd, m->destination, false, &target);
    if (r < 0)
        return err_set(r, "mount %s: create mount point in rootfs", m->destination);
    char p[FD_PATH_MAX];
    fd_proc_path(target, p);
    const char *type = m->type ? m->type : "none";
    if (streq(type, "cgroup") || streq(type, "cgroup2")) {
        if (!c->cgroup)
            return err_setx(EINVAL, "mount %s: no cgroup to show", m->destination);
        r = cgroup_mount_in_container(c->cgroup, p, m->flags, c->plan.new_cgroup);
        return r < 0 ? err_prefix(r, "mount %s", m->destination) : 0;
    }
    const char *src = m->source && *m->source ? m->source : type;
    if (mount(src, p, type, m->flags & ~(MS_REMOUNT | MS_BIND | MS_REC), m->data) < 0) {
        int e = errno;
        /* sysfs can't be mounted in a user namespace without its own network namespace */
        if (e == EPERM && streq(type, "sysfs") && c->plan.new_user) {
            if (mount("/sys", p, NULL, MS_BIND | MS_REC, NULL) == 0)
                return finish_mount(rootfd, m, true);
        }
        return err_set(e, "mount %s (type %s, options \"%s\")", m->destination, type,
                       m->data ? m->data : "");
    }
    if (m->propagation || m->rec_attr_set || m->rec_attr_clr) {
        r = finish_mount(rootfd, m, false);
        if (r < 0)
            return err_set(r, "mount %s: apply propagation/recursive options", m->destination);
    }
    return 0;
}

static bool dev_is_host_bind(const struct spec *s)
{
    for (size_t i = 0; i < s->n_mounts; i++)
        if (streq(s->mounts[i].destination, "/dev") && is_bind(&s->mounts[i]))
            return true;
    return false;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_mountpoint(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] && r[3]) {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* The mount point of the mount that holds path (the longest mount point prefixing it). */
static char *containing_mount(const char *path)
{
    _cleanup_free_ char *text = NULL;
    if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16 << 20, &text, NULL) < 0)
        return NULL;
    char *best = NULL;
    size_t best_len = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f = line;
        for (int i = 0; i < 4 && f; i++) /* field 5 is the mount point */
            f = strchr(f, ' ') ? strchr(f, ' ') + 1 : NULL;
        if (!f)
            continue;
        f[strcspn(f, " ")] = '\0';
        unescape_mountpoint(f);
        size_t n = strlen(f);
        bool prefix = streq(f, "/") || (strncmp(path, f, n) == 0 && (path[n] == '/' || !path[n]));
        if (prefix && n >= best_len) {
            free(best);
            best = xstrdup(f);
            best_len = n;
        }
    }
    return best;
}

static int prepare_propagation(const struct init_ctx *c)
{
    unsigned long prop = c->spec->linux_.rootfs_propagation;
    /* keep our mounts from reaching the host (and the host's from changing ours) */
    if (mount(NULL, "/", NULL, prop ? prop : MS_SLAVE | MS_REC, NULL) < 0)
        return err_set(errno, "set propagation of / in the container's mount namespace");
    if (prop & MS_SHARED) {
        /* pivot_root refuses a shared parent: make the mount holding the rootfs private; /
         * becomes shared again after the pivot (rootfs_finish) */
        _cleanup_free_ char *parent = containing_mount(c->rootfs);
        if (parent && mount(NULL, parent, NULL, MS_PRIVATE, NULL) < 0)
            return err_set(errno, "make %s private for pivot_root", parent);
    }
    /* pivot_root needs the new root to be a mount point: an image's overlay snapshot (mounted
     * here, in the container's own namespace, so nothing is left on the host) or a bind */
    const char *overlay = spec_annotation(c->spec, IMAGES_OVERLAY_ANNOTATION);
    if (overlay) {
        if (mount("overlay", c->rootfs, "overlay", 0, overlay) < 0)
            return err_set(errno, "mount the image snapshot (overlay %s) on %s", overlay,
                           c->rootfs);
    } else if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
        return err_set(errno, "bind rootfs %s onto itself", c->rootfs);
    }
    /* pivot_root refuses a new root whose parent mount is shared */
    if (mount(NULL, c->rootfs, NULL, MS_PRIVATE, NULL) < 0)
        return err_set(errno, "make rootfs %s private", c->rootfs);
    return 0;
}

int rootfs_prepare(struct init_ctx *c)
{
    const struct spec *s = c->spec;
    int r = prepare_propagation(c);
    if (r < 0)
        return r;
    _cleanup_close_ int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return err_set(errno, "open rootfs %s", c->rootfs);
    for (size_t i = 0; i < s->n_mounts; i++) {
        const struct spec_mount *m = &s->mounts[i];
        r = is_bind(m) ? mount_bind(c, rootfd, m) : mount_fs(c, rootfd, m);
        if (r < 0)
            return r;
    }
    if (!dev_is_host_bind(s))
        return devices_setup(c, rootfd, c->plan.new_user || c->plan.join_fd[NS_USER] >= 0);
    return 0;
}

static int pivot(const char *rootfs)
{
    _cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    _cleanup_close_ int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldroot < 0 || newroot < 0)
        return err_set(errno, "pivot_root: open / or %s", rootfs);
    if (fchdir(newroot) < 0)
        return err_set(errno, "pivot_root: chdir to %s", rootfs);
    /* pivot_root(".", ".") stacks the old root on the new one; then detach it */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return err_set(errno, "pivot_root to %s", rootfs);
    if (fchdir(oldroot) < 0)
        return err_set(errno, "pivot_root: chdir to old root");
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return err_set(errno, "pivot_root: make old root a slave");
    if (umount2(".", MNT_DETACH) < 0)
        return err_set(errno, "pivot_root: detach old root");
    if (chdir("/") < 0)
        return err_set(errno, "chdir /");
    return 0;
}

static int move_root(const char *rootfs)
{
    if (chdir(rootfs) < 0)
        return err_set(errno, "chdir to %s", rootfs);
    if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
        return err_set(errno, "move %s to / (--no-pivot)", rootfs);
    if (chroot(".") < 0)
        return err_set(errno, "chroot to %s (--no-pivot)", rootfs);
    if (chdir("/") < 0)
        return err_set(errno, "chdir /");
    return 0;
}

int rootfs_pivot(struct init_ctx *c)
{
    return c->no_pivot ? move_root(c->rootfs) : pivot(c->rootfs);
}

static int mask_path(int rootfd, const char *path)
{
    _cleanup_close_ int fd = -1;
    int r = open_in_root(rootfd, path, O_PATH, &fd);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return err_set(r, "linux.maskedPaths: %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_set(errno, "linux.maskedPaths: stat %s", path);
    char p[FD_PATH_MAX];
    fd_proc_path(fd, p);
    if (S_ISDIR(st.st_mode))
        r = mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0") < 0 ? -errno : 0;
    else
        r = mount("/dev/null", p, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
    return r < 0 ? err_set(r, "linux.maskedPaths: mask %s", path) : 0;
}

static int readonly_path(int rootfd, const char *path)
{
    _cleanup_close_ int fd = -1;
    int r = open_in_root(rootfd, path, O_PATH, &fd);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return err_set(r, "linux.readonlyPaths: %s", path);
    char p[FD_PATH_MAX];
    fd_proc_path(fd, p);
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
        return err_set(errno, "linux.readonlyPaths: bind %s", path);
    _cleanup_close_ int fd2 = -1;
    if ((r = open_in_root(rootfd, path, O_PATH, &fd2)) < 0)
        return err_set(r, "linux.readonlyPaths: reopen %s", path);
    fd_proc_path(fd2, p);
    if ((r = remount_bind(p, MS_RDONLY)) < 0)
        return err_set(r, "linux.readonlyPaths: make %s read-only", path);
    return 0;
}

int rootfs_finish(struct init_ctx *c)
{
    const struct spec_linux *l = &c->spec->linux_;
    _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return err_set(errno, "open /");
    int r;
    for (size_t i = 0; i < l->n_masked_paths; i++)
        if ((r = mask_path(rootfd, l->masked_paths[i])) < 0)
            return r;
    for (size_t i = 0; i < l->n_readonly_paths; i++)
        if ((r = readonly_path(rootfd, l->readonly_paths[i])) < 0)
            return r;
    if (c->spec->root_readonly && (r = remount_bind("/", MS_RDONLY)) < 0)
        return err_set(r, "root.readonly: remount / read-only");
    if (l->rootfs_propagation && (r = set_propagation("/", l->rootfs_propagation)) < 0)
        return err_set(r, "linux.rootfsPropagation");
    return 0;
}
