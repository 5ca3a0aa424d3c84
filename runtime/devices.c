/* /dev inside the container: the standard nodes, linux.devices, and the usual links. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/util.h"
#include "runtime/init.h"

struct default_dev {
    const char *path;
    unsigned major, minor;
};

static const struct default_dev default_devs[] = {
        {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
        {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static const struct {
    const char *target, *name;
} dev_links[] = {
        {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
};

static mode_t type_bits(char type)
{
    switch (type) {
    case 'b': return S_IFBLK;
    case 'p': return S_IFIFO;
    default: return S_IFCHR; /* 'c' and 'u' */
    }
}

static int split_parent(int rootfd, const char *path, int *parent, const char **name)
{
    const char *slash = strrchr(path, '/');
    *name = slash ? slash + 1 : path;
    _cleanup_free_ char *dir =
            slash && slash != path ? xstrndup(path, (size_t)(slash - path)) : xstrdup("/");
    /* /dev/net/tun and the like: the directories come with the device, as runc does */
    return create_in_root(rootfd, dir, false, parent);
}

/* A user namespace can't mknod: bind the host's node onto an empty file instead. */
static int bind_host_device(int parent, const char *name, const char *host_path)
{
    int fd = openat(parent, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    _cleanup_close_ int target = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (target < 0)
        return -errno;
    char p[32];
    snprintf(p, sizeof(p), "/proc/self/fd/%d", target);
    return mount(host_path, p, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

static int existing_matches(int parent, const char *name, mode_t type, dev_t dev)
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    return (st.st_mode & S_IFMT) == type && (type == S_IFIFO || st.st_rdev == dev);
}

static int make_node(int rootfd, const struct spec_device *d, bool in_userns, bool is_default)
{
    _cleanup_close_ int parent = -1;
    const char *name;
    int r = split_parent(rootfd, d->path, &parent, &name);
    if (r < 0)
        return err_set(r, "device %s: parent directory in rootfs", d->path);
    mode_t type = type_bits(d->type);
    dev_t dev = makedev((unsigned)d->major, (unsigned)d->minor);
    r = existing_matches(parent, name, type, dev);
    if (r == 1)
        return 0;
    if (r == 0) {
        if (is_default)
            return 0; /* the image brought its own: leave it */
        return err_setx(EEXIST, "device %s: a different file already exists at that path", d->path);
    }
    if (in_userns)
        r = bind_host_device(parent, name, d->path);
    else
        r = mknodat(parent, name, type | (d->file_mode.set ? d->file_mode.v & 07777 : 0666),
                    type == S_IFIFO ? 0 : dev) < 0
                    ? -errno
                    : 0;
    if (r < 0)
        return err_set(r, "device %s: create (%c %lld:%lld)", d->path, d->type, (long long)d->major,
                       (long long)d->minor);
    if (in_userns)
        return 0;
    if ((d->uid.set || d->gid.set) &&
        fchownat(parent, name, d->uid.set ? d->uid.v : (uid_t)-1, d->gid.set ? d->gid.v : (gid_t)-1,
                 AT_SYMLINK_NOFOLLOW) < 0)
        return err_set(errno, "device %s: chown", d->path);
    if (d->file_mode.set && fchmodat(parent, name, d->file_mode.v & 07777, 0) < 0)
        return err_set(errno, "device %s: chmod", d->path);
    return 0;
}

int devices_setup(struct init_ctx *c, int rootfd, bool in_userns)
{
    const struct spec *s = c->spec;
    _cleanup_close_ int devfd = -1;
    int r = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, &devfd);
    if (r == -ENOENT) {
        if (mkdirat(rootfd, "dev", 0755) < 0 && errno != EEXIST)
            return err_set(errno, "create /dev in rootfs");
        r = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, &devfd);
    }
    if (r < 0)
        return err_set(r, "open /dev in rootfs");
    mode_t old_umask = umask(0);
    for (size_t i = 0; i < ARRAY_SIZE(default_devs) && r == 0; i++) {
        struct spec_device d = {.path = (char *)default_devs[i].path,
                                .type = 'c',
                                .major = default_devs[i].major,
                                .minor = default_devs[i].minor};
        r = make_node(rootfd, &d, in_userns, true);
    }
    for (size_t i = 0; i < s->linux_.n_devices && r == 0; i++)
        r = make_node(rootfd, &s->linux_.devices[i], in_userns, false);
    umask(old_umask);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
        if (symlinkat(dev_links[i].target, devfd, dev_links[i].name) < 0 && errno != EEXIST)
            return err_set(errno, "create /dev/%s", dev_links[i].name);
    if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", devfd, "core") < 0 &&
        errno != EEXIST)
        return err_set(errno, "create /dev/core");
    static const char *const dirs[] = {"pts", "shm"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
        if (mkdirat(devfd, dirs[i], 0755) < 0 && errno != EEXIST)
            return err_set(errno, "create /dev/%s", dirs[i]);
    if (s->process && s->process->terminal) {
        int fd = openat(devfd, "console", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return err_set(errno, "create /dev/console");
        if (fd >= 0)
            close(fd);
    }
    return 0;
}
