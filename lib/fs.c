#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "fs.h"
#include "util.h"

int openat_beneath(int dirfd, const char *path, int flags, uint64_t extra_resolve)
{
    struct open_how how = {
            .flags = (uint64_t)flags,
            .resolve =
                    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | extra_resolve,
    };
    int fd = (int)syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof(how));
    return fd < 0 ? -errno : fd;
}

int read_all_fd(int fd, size_t max, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    _cleanup_free_ char *buf = xmalloc(cap + 1);

    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                /* exactly max bytes is fine: only data past it is too much */
                char probe;
                ssize_t extra = RETRY_EINTR(read(fd, &probe, 1));
                if (extra < 0)
                    return -errno;
                if (extra > 0)
                    return -EFBIG;
                break;
            }
            cap = cap * 2 > max ? max : cap * 2;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    *out = TAKE_PTR(buf);
    return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len)
{
    _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    return read_all_fd(fd, max, out, len);
}

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t r = write(fd, p, len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

int write_file_at(int dirfd, const char *path, const char *s, size_t len)
{
    _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    /* kernel interface files take one write; a short write is an error there */
    ssize_t r = RETRY_EINTR(write(fd, s, len));
    if (r < 0)
        return -errno;
    if ((size_t)r != len)
        return -EIO;
    return 0;
}

int write_string_at(int dirfd, const char *path, const char *s)
{
    return write_file_at(dirfd, path, s, strlen(s));
}

int write_file_atomic_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode)
{
    char tmp[NAME_MAX + 1];
    int n = snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -ENAMETOOLONG;
    _cleanup_close_ int fd =
            openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, data, len);
    if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
        r = -errno;
    if (r < 0)
        unlinkat(dirfd, tmp, 0);
    return r;
}

int mkdir_p(const char *path, mode_t mode)
{
    _cleanup_free_ char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int rm_rf_children(int dfd, dev_t dev)
{
    _cleanup_closedir_ DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -errno;
    }
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT && ret == 0)
                ret = -errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != dev) /* a mount point: never descend into it */
                continue;
            int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd >= 0) {
                int r = rm_rf_children(cfd, dev);
                if (r < 0 && ret == 0)
                    ret = r;
            }
            if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && ret == 0)
                ret = -errno;
        } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && ret == 0) {
            ret = -errno;
        }
    }
    return ret;
}

int rm_rf_at(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = rm_rf_children(fd, st.st_dev);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
        r = -errno;
    return r;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int close_range_fds(unsigned lo, unsigned hi)
{
    if (syscall(SYS_close_range, lo, hi, 0) == 0)
        return 0;
    if (errno != ENOSYS)
        return -errno;
    /* kernels before 5.9: close one by one up to the fd table size */
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = lo; fd <= (long)hi && fd < max; fd++)
        close((int)fd);
    return 0;
}

void close_fds_from(int from, const int *keep, size_t n_keep)
{
    int sorted[n_keep ? n_keep : 1];
    if (n_keep) {
        memcpy(sorted, keep, n_keep * sizeof(int));
        qsort(sorted, n_keep, sizeof(int), cmp_int);
    }
    unsigned lo = (unsigned)from;
    for (size_t i = 0; i < n_keep; i++) {
        if (sorted[i] < (int)lo)
            continue;
        if ((unsigned)sorted[i] > lo)
            close_range_fds(lo, (unsigned)sorted[i] - 1);
        lo = (unsigned)sorted[i] + 1;
    }
    close_range_fds(lo, ~0U);
}

int fd_set_cloexec(int fd, bool on)
{
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
        return -errno;
    int nflags = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
    if (nflags != flags && fcntl(fd, F_SETFD, nflags) < 0)
        return -errno;
    return 0;
}

int fd_move_above(int fd, int min)
{
    if (fd >= min)
        return fd;
    int nfd = fcntl(fd, F_DUPFD_CLOEXEC, min);
    if (nfd < 0)
        return -errno;
    close(fd);
    return nfd;
}

int fd_path(int fd, char **out)
{
    char proc[64], buf[PATH_MAX];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    *out = xstrdup(buf);
    return 0;
}
