/*
 * Layer unpacking. Two libarchive readers are chained: the outer one only
 * decompresses (format "raw"), the inner one reads tar from the outer one's
 * data through a callback that hashes every byte, so the diff-id is computed
 * over exactly the bytes that were unpacked, in the same pass.
 *
 * Writes are done here with *at() calls rather than archive_write_disk, so that
 * every decision about a path is ours: see unpack.h for the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "images/archive_api.h"
#include "images/unpack.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"

#define READ_BLOCK      (256 * 1024)
#define OPAQUE_XATTR    "trusted.overlay.opaque"
#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_NAME     ".wh..wh..opq"

/* ---- pure helpers ---- */

int layer_path_clean(const char *name, char *out, size_t size, const char **why)
{
    *why = NULL;
    if (!name) {
        *why = "the entry has no name";
        return -EINVAL;
    }
    if (name[0] == '/') {
        *why = "absolute path";
        return -EINVAL;
    }
    size_t n = 0;
    const char *p = name;
    while (*p) {
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
            /* empty or "." component */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            *why = "\"..\" component (the path leaves the layer)";
            return -EINVAL;
        } else {
            if (n + (n ? 1 : 0) + len + 1 > size) {
                *why = "path too long";
                return -EINVAL;
            }
            if (n)
                out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p = *end ? end + 1 : end;
    }
    if (size == 0) {
        *why = "path too long";
        return -EINVAL;
    }
    out[n] = '\0';
    return 0;
}

enum whiteout whiteout_parse(const char *clean, char *target, size_t size)
{
    const char *slash = strrchr(clean, '/');
    const char *base = slash ? slash + 1 : clean;
    size_t dir_len = slash ? (size_t)(slash - clean) : 0;
    if (!startswith(base, WHITEOUT_PREFIX))
        return WH_NONE;
    if (streq(base, OPAQUE_NAME)) {
        snprintf(target, size, "%.*s", (int)dir_len, clean);
        return WH_OPAQUE;
    }
    const char *hidden = base + strlen(WHITEOUT_PREFIX);
    if (startswith(hidden, WHITEOUT_PREFIX) || !*hidden || streq(hidden, ".") ||
        streq(hidden, ".."))
        return WH_META;
    if (dir_len)
        snprintf(target, size, "%.*s/%s", (int)dir_len, clean, hidden);
    else
        snprintf(target, size, "%s", hidden);
    return WH_FILE;
}

bool layer_xattr_allowed(const char *name)
{
    return startswith(name, "user.") || streq(name, "security.capability");
}

/* ---- the unpacker ---- */

struct dir_time {
    char *path;
    struct timespec ts[2];
};

struct unpacker {
    struct layer_unpack *u;
    struct archive *outer, *inner;
    struct hasher hash, raw;
    bool hash_tar; /* hash the decompressed stream (not needed: uncompressed and hash_raw) */
    char *buf, *rawbuf;
    const char *entry; /* current member name, for messages */
    /* the parent directory of the previous entry, kept open: members come sorted */
    char parent_path[PATH_MAX];
    int parent_fd;
    bool parent_valid;
    struct dir_time *dirs;
    size_t n_dirs, cap_dirs;
    size_t cap_implicit;
    uint64_t declared;
    int read_error;
};

static int entry_error(struct unpacker *k, int err, const char *fmt, ...) _printf_(3, 4);

static int entry_error(struct unpacker *k, int err, const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (err > 0)
        return err_setx(err, "%s: entry \"%s\": %s: %s", k->u->what, k->entry, reason,
                        strerror(err));
    return err_setx(-err, "%s: entry \"%s\": %s", k->u->what, k->entry, reason);
}

/* The blob as read: hashed (hash_raw) and copied (copy_fd) on the way. */
static ssize_t raw_read_fd(struct unpacker *k, void *buf, size_t size)
{
    ssize_t n = RETRY_EINTR(read(k->u->blob_fd, buf, size));
    if (n <= 0)
        return n;
    if (k->u->hash_raw)
        hasher_update(&k->raw, buf, (size_t)n);
    if (k->u->copy_fd >= 0 && write_all(k->u->copy_fd, buf, (size_t)n) < 0)
        return -1;
    return n;
}

static ssize_t outer_read(struct archive *a, void *data, const void **out)
{
    struct unpacker *k = data;
    ssize_t n = raw_read_fd(k, k->rawbuf, READ_BLOCK);
    if (n < 0) {
        archive_set_error(a, errno, "read the blob");
        return -1;
    }
    *out = k->rawbuf;
    return n;
}

static ssize_t inner_read(struct archive *a, void *data, const void **out)
{
    struct unpacker *k = data;
    la_ssize_t n = archive_read_data(k->outer, k->buf, READ_BLOCK);
    if (n < 0) {
        k->read_error = 1;
        archive_set_error(a, EIO, "%s", archive_error_string(k->outer));
        return -1;
    }
    if (k->hash_tar)
        hasher_update(&k->hash, k->buf, (size_t)n);
    else
        k->hash.bytes += (uint64_t)n;
    if (k->u->tee_fd >= 0 && n > 0 && write_all(k->u->tee_fd, k->buf, (size_t)n) < 0) {
        archive_set_error(a, errno, "write the decompressed layer");
        return -1;
    }
    *out = k->buf;
    return n;
}

static void invalidate_parent(struct unpacker *k)
{
    if (k->parent_valid && k->parent_fd >= 0 && k->parent_fd != k->u->dest_fd)
        close(k->parent_fd);
    k->parent_fd = -1;
    k->parent_valid = false;
}

static int open_beneath(int rootfd, const char *path, int flags, int *out)
{
    int fd = openat_beneath(rootfd, path, flags | O_CLOEXEC | O_NOFOLLOW, RESOLVE_NO_XDEV);
    if (fd < 0)
        return fd;
    *out = fd;
    return 0;
}

static bool is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static int set_opaque_fd(int fd)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    return setxattr(p, OPAQUE_XATTR, "y", 1, 0) < 0 ? -errno : 0;
}

static void add_implicit(struct unpacker *k, const char *path)
{
    struct layer_unpack *u = k->u;
    if (u->n_implicit == k->cap_implicit) {
        k->cap_implicit = k->cap_implicit ? 2 * k->cap_implicit : 8;
        u->implicit_dirs = xreallocarray(u->implicit_dirs, k->cap_implicit, sizeof(char *));
    }
    u->implicit_dirs[u->n_implicit++] = xstrdup(path);
}

/* Walk path one component at a time, creating missing directories (recorded as implicit).
 * Refuses symlinks and non-directories on the way. */
static int walk_create(struct unpacker *k, const char *path, int *out)
{
    _cleanup_close_ int cur = fcntl(k->u->dest_fd, F_DUPFD_CLOEXEC, 3);
    if (cur < 0)
        return err_set(errno, "%s: dup", k->u->what);
    char sofar[PATH_MAX];
    size_t n = 0;
    const char *p = path;
    while (*p) {
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        char comp[NAME_MAX + 1];
        if (len > NAME_MAX)
            return entry_error(k, -EINVAL, "path component too long");
        memcpy(comp, p, len);
        comp[len] = '\0';
        if (n)
            sofar[n++] = '/';
        memcpy(sofar + n, comp, len + 1);
        n += len;
        struct stat st;
        bool replaced_whiteout = false, missing = false;
        if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISLNK(st.st_mode))
                return entry_error(k, -ELOOP,
                                   "its parent \"%s\" is a symlink: refusing to write through it",
                                   sofar);
            if (is_whiteout(&st)) {
                if (unlinkat(cur, comp, 0) < 0)
                    return entry_error(k, errno, "remove whiteout \"%s\"", sofar);
                replaced_whiteout = true;
            } else if (!S_ISDIR(st.st_mode)) {
                return entry_error(k, -ENOTDIR, "its parent \"%s\" is not a directory", sofar);
            }
        } else if (errno == ENOENT) {
            missing = true;
        } else {
            return entry_error(k, errno, "stat \"%s\"", sofar);
        }
        if (replaced_whiteout || missing) {
            if (mkdirat(cur, comp, 0755) < 0)
                return entry_error(k, errno, "create directory \"%s\"", sofar);
            add_implicit(k, sofar);
        }
        int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return entry_error(k, errno, "open directory \"%s\"", sofar);
        if (replaced_whiteout && set_opaque_fd(next) < 0) {
            int e = errno;
            close(next);
            return entry_error(k, e, "mark \"%s\" opaque", sofar);
        }
        close(cur);
        cur = next;
        p = *end ? end + 1 : end;
    }
    *out = TAKE_FD(cur);
    return 0;
}

/* The directory `path` (relative to the layer root) as an O_PATH fd owned by the cache. */
static int open_parent(struct unpacker *k, const char *path, int *out)
{
    if (!*path) {
        *out = k->u->dest_fd;
        return 0;
    }
    if (k->parent_valid && streq(k->parent_path, path)) {
        *out = k->parent_fd;
        return 0;
    }
    invalidate_parent(k);
    int fd = -1;
    int r = open_beneath(k->u->dest_fd, path, O_PATH | O_DIRECTORY, &fd);
    if (r < 0 && (r = walk_create(k, path, &fd)) < 0)
        return r;
    snprintf(k->parent_path, sizeof(k->parent_path), "%s", path);
    k->parent_fd = fd;
    k->parent_valid = true;
    *out = fd;
    return 0;
}

static void split(const char *path, char *dir, size_t size, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash) {
        snprintf(dir, size, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    } else {
        dir[0] = '\0';
        *base = path;
    }
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (archive_entry_atime_is_set(e)) {
        ts[0].tv_sec = archive_entry_atime(e);
        ts[0].tv_nsec = archive_entry_atime_nsec(e);
    } else {
        ts[0] = ts[1];
    }
}

static void defer_dir_time(struct unpacker *k, const char *path, struct archive_entry *e)
{
    if (k->n_dirs == k->cap_dirs) {
        k->cap_dirs = k->cap_dirs ? 2 * k->cap_dirs : 64;
        k->dirs = xreallocarray(k->dirs, k->cap_dirs, sizeof(*k->dirs));
    }
    struct dir_time *d = &k->dirs[k->n_dirs++];
    d->path = xstrdup(path);
    entry_times(e, d->ts);
}

/* xattrs of the entry on pfd/base (fd >= 0: on that open file instead). */
static int apply_xattrs(struct unpacker *k, struct archive_entry *e, int fd, int pfd,
                        const char *base)
{
    const char *name;
    const void *value;
    size_t size;
    if (archive_entry_xattr_reset(e) == 0)
        return 0;
    char p[PATH_MAX + 64];
    if (fd < 0)
        snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", pfd, base);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        if (!layer_xattr_allowed(name)) {
            log_debug("%s: entry \"%s\": dropping xattr %s", k->u->what, k->entry, name);
            continue;
        }
        int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(p, name, value, size, 0);
        if (r < 0) {
            if (errno == ENOTSUP || errno == EPERM) {
                log_debug("%s: entry \"%s\": xattr %s not kept: %s", k->u->what, k->entry, name,
                          strerror(errno));
                continue;
            }
            return entry_error(k, errno, "set xattr %s", name);
        }
    }
    return 0;
}

static int write_data(struct unpacker *k, int fd, uint64_t size)
{
    const void *block;
    size_t len;
    la_int64_t offset;
    uint64_t pos = 0;
    for (;;) {
        int r = archive_read_data_block(k->inner, &block, &len, &offset);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return entry_error(k, -EIO, "read: %s", archive_error_string(k->inner));
        if (offset < 0 || (uint64_t)offset + len > size)
            return entry_error(k, -EINVAL, "data beyond the declared size");
        if ((uint64_t)offset != pos && lseek(fd, offset, SEEK_SET) < 0)
            return entry_error(k, errno, "seek");
        int w = write_all(fd, block, len);
        if (w < 0)
            return entry_error(k, -w, "write");
        pos = (uint64_t)offset + len;
    }
    if (pos != size && ftruncate(fd, (off_t)size) < 0)
        return entry_error(k, errno, "set the size");
    return 0;
}

static int check_size(struct unpacker *k, struct archive_entry *e, uint64_t *size)
{
    la_int64_t s = archive_entry_size(e);
    *size = s > 0 ? (uint64_t)s : 0;
    if (*size > k->u->max_entry)
        return entry_error(k, -EFBIG,
                           "claims %llu bytes, more than the %llu a file may have here "
                           "(free space of the store): refusing an absurd size",
                           (unsigned long long)*size, (unsigned long long)k->u->max_entry);
    k->declared += *size;
    if (k->declared > k->u->max_total)
        return entry_error(k, -EFBIG,
                           "the layer's files add up to more than %llu bytes (free space of the "
                           "store)",
                           (unsigned long long)k->u->max_total);
    return 0;
}

static int make_regular(struct unpacker *k, struct archive_entry *e, int pfd, const char *base)
{
    uint64_t size;
    int r = check_size(k, e, &size);
    if (r < 0)
        return r;
    _cleanup_close_ int fd =
            openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return entry_error(k, errno, "create");
    if ((r = write_data(k, fd, size)) < 0)
        return r;
    k->u->content_size += size;
    if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
        return entry_error(k, errno, "chown");
    /* after chown, which clears setuid/setgid */
    if (fchmod(fd, archive_entry_mode(e) & 07777) < 0)
        return entry_error(k, errno, "chmod");
    if ((r = apply_xattrs(k, e, fd, pfd, base)) < 0)
        return r;
    struct timespec ts[2];
    entry_times(e, ts);
    if (futimens(fd, ts) < 0)
        return entry_error(k, errno, "set times");
    return 0;
}

static int make_hardlink(struct unpacker *k, const char *target, int pfd, const char *base)
{
    char clean[PATH_MAX], tdir[PATH_MAX];
    const char *why, *tbase;
    if (layer_path_clean(target, clean, sizeof(clean), &why) < 0)
        return entry_error(k, -EINVAL, "hard link to \"%s\": %s", target, why);
    if (!*clean)
        return entry_error(k, -EINVAL, "hard link to the layer root");
    split(clean, tdir, sizeof(tdir), &tbase);
    _cleanup_close_ int tpfd = -1;
    int r = open_beneath(k->u->dest_fd, tdir, O_PATH | O_DIRECTORY, &tpfd);
    if (r < 0)
        return entry_error(k, -r,
                           "hard link to \"%s\": its directory is not a directory of this layer",
                           target);
    struct stat st;
    if (fstatat(tpfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_error(k, errno,
                           "hard link to \"%s\", which is not an earlier entry of this layer",
                           target);
    if (S_ISDIR(st.st_mode))
        return entry_error(k, -EPERM, "hard link to the directory \"%s\"", target);
    if (linkat(tpfd, tbase, pfd, base, 0) < 0)
        return entry_error(k, errno, "hard link to \"%s\"", target);
    return 0;
}

/* chown, chmod (not for symlinks), xattrs and times of a non-regular, non-directory entry */
static int finish_special(struct unpacker *k, struct archive_entry *e, int pfd, const char *base,
                          bool symlink)
{
    if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                 AT_SYMLINK_NOFOLLOW) < 0)
        return entry_error(k, errno, "chown");
    if (!symlink && fchmodat(pfd, base, archive_entry_mode(e) & 07777, 0) < 0)
        return entry_error(k, errno, "chmod");
    int r = apply_xattrs(k, e, -1, pfd, base);
    if (r < 0)
        return r;
    struct timespec ts[2];
    entry_times(e, ts);
    if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_error(k, errno, "set times");
    return 0;
}

static int make_directory(struct unpacker *k, struct archive_entry *e, const char *path, int pfd,
                          const char *base, const struct stat *old, bool exists)
{
    if (!exists || !S_ISDIR(old->st_mode)) {
        bool was_whiteout = exists && is_whiteout(old);
        if (exists && unlinkat(pfd, base, 0) < 0)
            return entry_error(k, errno, "replace");
        if (mkdirat(pfd, base, 0700) < 0)
            return entry_error(k, errno, "create directory");
        if (was_whiteout) {
            /* whiteout + directory in one layer: a new directory hiding the old one */
            _cleanup_close_ int dfd =
                    openat(pfd, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (dfd < 0 || set_opaque_fd(dfd) < 0)
                return entry_error(k, errno, "mark opaque");
        }
    }
    if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                 AT_SYMLINK_NOFOLLOW) < 0)
        return entry_error(k, errno, "chown");
    if (fchmodat(pfd, base, archive_entry_mode(e) & 07777, 0) < 0)
        return entry_error(k, errno, "chmod");
    int r = apply_xattrs(k, e, -1, pfd, base);
    if (r < 0)
        return r;
    defer_dir_time(k, path, e);
    return 0;
}

static int make_root(struct unpacker *k, struct archive_entry *e)
{
    int fd = k->u->dest_fd;
    if (archive_entry_filetype(e) != AE_IFDIR)
        return entry_error(k, -EINVAL, "the layer root must be a directory");
    if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0 ||
        fchmod(fd, archive_entry_mode(e) & 07777) < 0)
        return entry_error(k, errno, "set owner and mode of the layer root");
    defer_dir_time(k, "", e);
    return 0;
}

static int apply_whiteout(struct unpacker *k, enum whiteout wh, const char *target)
{
    if (wh == WH_META)
        return 0;
    if (wh == WH_OPAQUE) {
        int dfd;
        int r = open_parent(k, target, &dfd);
        if (r < 0)
            return r;
        r = set_opaque_fd(dfd);
        return r < 0 ? entry_error(k, -r, "mark \"%s\" opaque", target) : 0;
    }
    char dir[PATH_MAX];
    const char *base;
    split(target, dir, sizeof(dir), &base);
    int pfd;
    int r = open_parent(k, dir, &pfd);
    if (r < 0)
        return r;
    struct stat st;
    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0; /* this layer has the file itself: a whiteout hides only lower layers */
    if (mknodat(pfd, base, S_IFCHR | 0, makedev(0, 0)) < 0)
        return entry_error(k, errno, "create the overlay whiteout for \"%s\"", target);
    return 0;
}

static int unpack_entry(struct unpacker *k, struct archive_entry *e)
{
    char path[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];
    const char *why, *base;
    k->entry = archive_entry_pathname(e);
    if (!k->entry)
        k->entry = "?";
    if (layer_path_clean(k->entry, path, sizeof(path), &why) < 0)
        return entry_error(k, -EINVAL, "%s", why);
    const char *hardlink = archive_entry_hardlink(e);
    if (!*path)
        return hardlink ? entry_error(k, -EINVAL, "the layer root as a hard link")
                        : make_root(k, e);
    enum whiteout wh = whiteout_parse(path, target, sizeof(target));
    if (wh != WH_NONE)
        return apply_whiteout(k, wh, target);

    split(path, dir, sizeof(dir), &base);
    int pfd;
    int r = open_parent(k, dir, &pfd);
    if (r < 0)
        return r;
    struct stat old;
    bool exists = fstatat(pfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
    mode_t type = archive_entry_filetype(e);
    if (!hardlink && type == AE_IFDIR)
        return make_directory(k, e, path, pfd, base, &old, exists);
    if (!hardlink && type == AE_IFSOCK)
        return 0;
    if (exists) {
        if (S_ISDIR(old.st_mode)) {
            invalidate_parent(k);
            if ((r = rm_rf_at(pfd, base)) < 0)
                return entry_error(k, -r, "replace the directory");
            if ((r = open_parent(k, dir, &pfd)) < 0)
                return r;
        } else if (unlinkat(pfd, base, 0) < 0) {
            return entry_error(k, errno, "replace");
        }
    }
    if (hardlink)
        return make_hardlink(k, hardlink, pfd, base);
    switch (type) {
    case AE_IFREG: return make_regular(k, e, pfd, base);
    case AE_IFLNK: {
        const char *to = archive_entry_symlink(e);
        if (!to || symlinkat(to, pfd, base) < 0)
            return entry_error(k, to ? errno : EINVAL, "create symlink");
        return finish_special(k, e, pfd, base, true);
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
        if (mknodat(pfd, base, type | (archive_entry_mode(e) & 07777), archive_entry_rdev(e)) < 0)
            return entry_error(k, errno, "create device node");
        return finish_special(k, e, pfd, base, false);
    default: return entry_error(k, -EINVAL, "unsupported file type 0%o", (unsigned)type);
    }
}

static void apply_dir_times(struct unpacker *k)
{
    for (size_t i = k->n_dirs; i-- > 0;) {
        struct dir_time *d = &k->dirs[i];
        int fd = -1;
        if (open_beneath(k->u->dest_fd, d->path, O_RDONLY | O_DIRECTORY, &fd) < 0)
            continue; /* replaced by a later entry */
        if (futimens(fd, d->ts) < 0)
            log_debug("%s: set times of \"%s\": %s", k->u->what, d->path, strerror(errno));
        close(fd);
    }
}

static int open_readers(struct unpacker *k)
{
    struct archive_entry *e;
    k->outer = archive_read_new();
    k->inner = archive_read_new();
    if (!k->outer || !k->inner)
        die_oom();
    archive_read_support_filter_all(k->outer);
    archive_read_support_format_raw(k->outer);
    if (archive_read_open(k->outer, k, NULL, outer_read, NULL) != ARCHIVE_OK ||
        archive_read_next_header(k->outer, &e) != ARCHIVE_OK)
        return err_setx(EINVAL, "%s: not a readable layer: %s", k->u->what,
                        archive_error_string(k->outer) ? archive_error_string(k->outer) : "empty");
    k->u->compressed = archive_filter_count(k->outer) > 1;
    k->hash_tar = k->u->compressed || !k->u->hash_raw;
    archive_read_support_format_tar(k->inner);
    if (archive_read_open(k->inner, k, NULL, inner_read, NULL) != ARCHIVE_OK)
        return err_setx(EINVAL, "%s: not a tar archive: %s", k->u->what,
                        archive_error_string(k->inner));
    return 0;
}

static int drain(struct unpacker *k)
{
    for (;;) {
        la_ssize_t n = archive_read_data(k->outer, k->buf, READ_BLOCK);
        if (n < 0)
            return err_setx(EIO, "%s: %s", k->u->what, archive_error_string(k->outer));
        if (n == 0)
            break;
        if (k->hash_tar)
            hasher_update(&k->hash, k->buf, (size_t)n);
        else
            k->hash.bytes += (uint64_t)n;
        if (k->u->tee_fd >= 0 && write_all(k->u->tee_fd, k->buf, (size_t)n) < 0)
            return err_set(errno, "%s: write the decompressed layer", k->u->what);
    }
    /* whatever follows the compressed stream is part of the blob too */
    for (;;) {
        ssize_t n = raw_read_fd(k, k->rawbuf, READ_BLOCK);
        if (n < 0)
            return err_set(errno, "%s: read the blob", k->u->what);
        if (n == 0)
            return 0;
    }
}

static int unpack_all(struct unpacker *k)
{
    int r = open_readers(k);
    if (r < 0)
        return r;
    for (;;) {
        struct archive_entry *e;
        int ar = archive_read_next_header(k->inner, &e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar < ARCHIVE_WARN) {
            const char *msg = archive_error_string(k->inner);
            return err_setx(EINVAL, "%s: %s: %s", k->u->what,
                            k->read_error ? "reading the blob" : "malformed tar",
                            msg ? msg : "unknown error");
        }
        if ((r = unpack_entry(k, e)) < 0)
            return r;
    }
    if ((r = drain(k)) < 0)
        return r;
    apply_dir_times(k);
    return 0;
}

int layer_unpack(struct layer_unpack *u)
{
    struct unpacker k = {.u = u, .parent_fd = -1};
    u->implicit_dirs = NULL;
    u->n_implicit = 0;
    u->content_size = 0;
    hasher_init(&k.hash);
    hasher_init(&k.raw);
    k.buf = xmalloc(READ_BLOCK);
    k.rawbuf = xmalloc(READ_BLOCK);
    int r = unpack_all(&k);
    if (r == 0) {
        u->tar_size = k.hash.bytes;
        u->raw_size = k.raw.bytes;
        if (u->hash_raw)
            hasher_final(&k.raw, &u->raw_digest);
        if (k.hash_tar)
            hasher_final(&k.hash, &u->diff_id);
        else
            u->diff_id = u->raw_digest;
    }
    invalidate_parent(&k);
    if (k.inner)
        archive_read_free(k.inner);
    if (k.outer)
        archive_read_free(k.outer);
    for (size_t i = 0; i < k.n_dirs; i++)
        free(k.dirs[i].path);
    free(k.dirs);
    free(k.buf);
    free(k.rawbuf);
    hasher_free(&k.hash);
    hasher_free(&k.raw);
    return r;
}

void layer_unpack_done(struct layer_unpack *u)
{
    for (size_t i = 0; i < u->n_implicit; i++)
        free(u->implicit_dirs[i]);
    free(u->implicit_dirs);
    u->implicit_dirs = NULL;
    u->n_implicit = 0;
}

/* ---- the chain check ---- */

enum layer_lookup layer_lookup(int fs_fd, const char *path, bool *opaque)
{
    _cleanup_close_ int cur = fcntl(fs_fd, F_DUPFD_CLOEXEC, 3);
    if (cur < 0)
        return LK_ABSENT;
    const char *p = path;
    for (;;) {
        const char *end = strchrnul(p, '/');
        char comp[NAME_MAX + 1];
        snprintf(comp, sizeof(comp), "%.*s", (int)(end - p), p);
        struct stat st;
        if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return LK_ABSENT;
        if (is_whiteout(&st))
            return LK_HIDDEN;
        if (!*end)
            return S_ISLNK(st.st_mode) ? LK_SYMLINK : LK_OTHER;
        if (!S_ISDIR(st.st_mode))
            return LK_HIDDEN; /* an ancestor replaced by a non-directory */
        int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return LK_ABSENT;
        char v;
        if (fgetxattr(next, OPAQUE_XATTR, &v, 1) == 1 && v == 'y')
            *opaque = true;
        close(cur);
        cur = next;
        p = end + 1;
    }
}

int layer_chain_check(const struct layer_view *layers, size_t n)
{
    for (size_t k = 1; k < n; k++) {
        for (size_t i = 0; i < layers[k].n_implicit; i++) {
            const char *path = layers[k].implicit_dirs[i];
            for (size_t j = k; j-- > 0;) {
                bool opaque = false;
                enum layer_lookup l = layer_lookup(layers[j].fs_fd, path, &opaque);
                if (l == LK_SYMLINK)
                    return err_setx(ELOOP,
                                    "%s writes into \"%s\", which %s made a symlink: refusing to "
                                    "write through it",
                                    layers[k].what, path, layers[j].what);
                if (l != LK_ABSENT || opaque)
                    break;
            }
        }
    }
    return 0;
}
