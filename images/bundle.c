/*
 * Containers from images: the snapshot (overlayfs or a copy), the generated
 * bundle, and its release at `delete`. See bundle.h for the layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "images/bundle.h"
#include "images/images.h"
#include "images/internal.h"
#include "images/store.h"
#include "images/unpack.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runtime/state.h"

#define OVERLAY_OPTS_MAX 4000 /* a mount's data must fit a page */
#define ETC_FILE_MAX     (1 << 20)

void prepared_free(struct prepared *p)
{
    free(p->bundle);
    free(p->record);
    free(p->log);
    memset(p, 0, sizeof(*p));
}

/* ---- reading a file of the image (top layer first) ---- */

static int open_layer_fs(struct imgstore *s, const struct digest *diff_id, int *out)
{
    char rel[160];
    snprintf(rel, sizeof(rel), "layers/%s/fs", diff_id->hex);
    int fd = openat(s->fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_set(errno,
                       "open layer %s of the image store %s (run 'berth image import' "
                       "again to repair it)",
                       diff_id->hex, s->root);
    *out = fd;
    return 0;
}

static char *read_image_file(const int *fs, size_t n, const char *path)
{
    for (size_t i = n; i-- > 0;) {
        bool opaque = false;
        enum layer_lookup l = layer_lookup(fs[i], path, &opaque);
        if (l == LK_HIDDEN)
            return NULL;
        if (l == LK_SYMLINK) {
            log_debug("the image's /%s is a symlink; not following it", path);
            return NULL;
        }
        if (l == LK_OTHER) {
            struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
                                   .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
            _cleanup_close_ int fd = (int)syscall(SYS_openat2, fs[i], path, &how, sizeof(how));
            char *text = NULL;
            if (fd < 0 || read_all_fd(fd, ETC_FILE_MAX, &text, NULL) < 0)
                return NULL;
            return text;
        }
        if (opaque)
            return NULL;
    }
    return NULL;
}

/* ---- the container directory ---- */

static int record_json(const struct image_run_opts *o, const char *store, const struct digest *d,
                       const char *snapshot, char **out)
{
    struct jw w;
    char buf[DIGEST_STR_SIZE];
    jw_init(&w, NULL);
    jw_object_begin(&w);
    jw_kv_string(&w, "store", store);
    jw_kv_string(&w, "id", o->id);
    jw_kv_string(&w, "image", digest_str(d, buf));
    jw_kv_string(&w, "name", o->image);
    jw_kv_string(&w, "root", o->runtime_root ? o->runtime_root : "");
    jw_kv_string(&w, "snapshot", snapshot);
    jw_object_end(&w);
    *out = jw_steal(&w, NULL);
    return 0;
}

struct record {
    char *store, *id, *image, *root;
};

static int record_parse(struct arena *a, const char *text, struct record *r)
{
    struct json *v;
    struct jctx c = {"image record", a};
    memset(r, 0, sizeof(*r));
    int e = json_parse(a, text, strlen(text), "image record", &v);
    if (e < 0 || (e = jo_req_string(&c, v, NULL, "store", &r->store)) < 0 ||
        (e = jo_req_string(&c, v, NULL, "id", &r->id)) < 0 ||
        (e = jo_string(&c, v, NULL, "image", &r->image)) < 0 ||
        (e = jo_string(&c, v, NULL, "root", &r->root)) < 0)
        return e;
    if (r->store[0] != '/')
        return err_setx(EINVAL, "image record: the store path %s is not absolute", r->store);
    return id_validate(r->id);
}

/* A container dir whose container is gone (a crash between making it and `create`). */
static bool container_dir_stale(int cfd, const char *id)
{
    _cleanup_close_ int dfd = openat(cfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return false;
    _cleanup_close_ int lfd = openat(dfd, ".lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) < 0)
        return false; /* being set up right now */
    _cleanup_free_ char *text = NULL;
    if (read_file_at(dfd, "record.json", 1 << 20, &text, NULL) < 0)
        return true; /* never finished */
    struct arena a = {0};
    struct record rec;
    bool stale = false;
    if (record_parse(&a, text, &rec) == 0 && rec.root && *rec.root) {
        _cleanup_free_ char *st = xasprintf("%s/%s", rec.root, id);
        stale = access(st, F_OK) < 0 && errno == ENOENT;
    }
    arena_free(&a);
    err_clear();
    return stale;
}

int images_container_dirs_stale(struct imgstore *s, const char *id)
{
    _cleanup_close_ int cfd = openat(s->fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return cfd >= 0 && container_dir_stale(cfd, id);
}

static int make_container_dir(struct imgstore *s, const char *id, int *dfd, int *lfd)
{
    _cleanup_close_ int cfd = openat(s->fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0)
        return err_set(errno, "open %s/containers", s->root);
    if (mkdirat(cfd, id, 0700) < 0) {
        if (errno != EEXIST)
            return err_set(errno, "create %s/containers/%s", s->root, id);
        if (!container_dir_stale(cfd, id))
            return err_setx(EEXIST,
                            "container %s already exists (its bundle is %s/containers/%s): "
                            "delete it first (berth delete %s) or choose another id",
                            id, s->root, id, id);
        log_debug("removing %s/containers/%s, left by a container that no longer exists", s->root,
                  id);
        int r = rm_rf_at(cfd, id);
        if (r < 0 || mkdirat(cfd, id, 0700) < 0)
            return err_set(r < 0 ? r : errno, "replace %s/containers/%s", s->root, id);
    }
    *dfd = openat(cfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*dfd < 0)
        return err_set(errno, "open %s/containers/%s", s->root, id);
    *lfd = openat(*dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*lfd < 0 || flock(*lfd, LOCK_EX) < 0)
        return err_set(errno, "lock %s/containers/%s", s->root, id);
    return 0;
}

/* ---- snapshots ---- */

static bool path_overlay_safe(const char *p)
{
    return !strpbrk(p, ",:\\");
}

static bool overlay_usable(struct imgstore *s, size_t n_layers, char *why, size_t size)
{
    const char *force = getenv(SNAPSHOT_ENV);
    if (force && streq(force, "copy")) {
        snprintf(why, size, "%s=copy", SNAPSHOT_ENV);
        return false;
    }
    _cleanup_free_ char *fs = NULL;
    if (read_file_at(AT_FDCWD, "/proc/filesystems", 1 << 20, &fs, NULL) < 0 ||
        !strstr(fs, "\toverlay\n")) {
        snprintf(why, size, "the kernel has no overlay filesystem (modprobe overlay)");
        return false;
    }
    struct statfs sf;
    if (fstatfs(s->fd, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC) {
        snprintf(why, size, "the store %s is itself on overlayfs", s->root);
        return false;
    }
    if (!path_overlay_safe(s->root)) {
        snprintf(why, size, "the store path %s holds ',', ':' or '\\'", s->root);
        return false;
    }
    /* "<root>/layers/<64>/fs:" per layer plus upper and work */
    size_t len = n_layers * (strlen(s->root) + 8 + 64 + 4 + 1) + 2 * (strlen(s->root) + 200);
    if (len > OVERLAY_OPTS_MAX) {
        snprintf(why, size, "%zu layers under %s do not fit one overlay mount's options", n_layers,
                 s->root);
        return false;
    }
    return true;
}

static char *overlay_options(struct imgstore *s, const struct image *img, const char *id)
{
    size_t cap =
            256 + img->n_layers * (strlen(s->root) + 80) + 2 * strlen(s->root) + 2 * strlen(id);
    char *o = xmalloc(cap);
    size_t n = (size_t)snprintf(o, cap, "lowerdir=");
    for (size_t i = img->n_layers; i-- > 0;)
        n += (size_t)snprintf(o + n, cap - n, "%s/layers/%s/fs%s", s->root,
                              img->layers[i].diff_id.hex, i ? ":" : "");
    if (img->n_layers == 0)
        n += (size_t)snprintf(o + n, cap - n, "%s/containers/%s/empty", s->root, id);
    snprintf(o + n, cap - n, ",upperdir=%s/containers/%s/upper,workdir=%s/containers/%s/work",
             s->root, id, s->root, id);
    return o;
}

static void copy_xattrs(int from, int to)
{
    char names[8192], value[65536];
    ssize_t n = flistxattr(from, names, sizeof(names));
    for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
        const char *name = names + off;
        if (!layer_xattr_allowed(name))
            continue;
        ssize_t v = fgetxattr(from, name, value, sizeof(value));
        if (v >= 0)
            fsetxattr(to, name, value, (size_t)v, 0);
    }
}

static bool is_opaque(int dfd)
{
    char v;
    return fgetxattr(dfd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
}

static int clear_dir(int dfd)
{
    _cleanup_close_ int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    _cleanup_closedir_ DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d)
        return -errno;
    dup_fd = -1;
    struct dirent *de;
    int ret = 0;
    while ((de = readdir(d))) {
        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
            continue;
        int r = rm_rf_at(dfd, de->d_name);
        if (r < 0 && ret == 0)
            ret = r;
    }
    return ret;
}

static int copy_file(int sfd_dir, const char *name, int dfd, const struct stat *st)
{
    _cleanup_close_ int in = openat(sfd_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int out =
            openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (in < 0 || out < 0)
        return -errno;
    for (off_t left = st->st_size; left > 0;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
            char buf[65536];
            n = read(in, buf, sizeof(buf));
            if (n > 0 && write_all(out, buf, (size_t)n) < 0)
                return -errno;
        }
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        left -= n;
    }
    if (fchown(out, st->st_uid, st->st_gid) < 0 || fchmod(out, st->st_mode & 07777) < 0)
        return -errno;
    copy_xattrs(in, out);
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    futimens(out, ts);
    return 0;
}

/* Apply one unpacked layer (overlay form) onto a merged tree, as overlayfs would show it. */
static int apply_layer(int src, int dst)
{
    _cleanup_close_ int dup_fd = fcntl(src, F_DUPFD_CLOEXEC, 3);
    _cleanup_closedir_ DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d)
        return -errno;
    dup_fd = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        if (streq(name, ".") || streq(name, ".."))
            continue;
        struct stat st, old;
        if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
        bool exists = fstatat(dst, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
        int r;
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
            if (exists && (r = rm_rf_at(dst, name)) < 0)
                return r;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            _cleanup_close_ int s2 =
                    openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s2 < 0)
                return -errno;
            if (exists && !S_ISDIR(old.st_mode) && (r = rm_rf_at(dst, name)) < 0)
                return r;
            if ((!exists || !S_ISDIR(old.st_mode)) && mkdirat(dst, name, 0700) < 0)
                return -errno;
            _cleanup_close_ int d2 =
                    openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (d2 < 0)
                return -errno;
            if (exists && S_ISDIR(old.st_mode) && is_opaque(s2) && (r = clear_dir(d2)) < 0)
                return r;
            if (fchown(d2, st.st_uid, st.st_gid) < 0 || fchmod(d2, st.st_mode & 07777) < 0)
                return -errno;
            copy_xattrs(s2, d2);
            if ((r = apply_layer(s2, d2)) < 0)
                return r;
            struct timespec ts[2] = {st.st_atim, st.st_mtim};
            futimens(d2, ts);
            continue;
        }
        if (exists && (r = rm_rf_at(dst, name)) < 0)
            return r;
        if (S_ISREG(st.st_mode)) {
            if ((r = copy_file(src, name, dst, &st)) < 0)
                return r;
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
            if (n < 0)
                return -errno;
            target[n] = '\0';
            if (symlinkat(target, dst, name) < 0)
                return -errno;
        } else if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0) {
            return -errno;
        }
        if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
        if (!S_ISLNK(st.st_mode) && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
            return -errno;
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW);
    }
    return 0;
}

static int copy_snapshot(const int *fs, size_t n, int rootfs)
{
    for (size_t i = 0; i < n; i++) {
        if (is_opaque(fs[i])) {
            int r = clear_dir(rootfs);
            if (r < 0)
                return r;
        }
        int r = apply_layer(fs[i], rootfs);
        if (r < 0)
            return r;
    }
    /* the root directory's own metadata comes from the top layer */
    struct stat st;
    if (n && fstat(fs[n - 1], &st) == 0 &&
        (fchown(rootfs, st.st_uid, st.st_gid) < 0 || fchmod(rootfs, st.st_mode & 07777) < 0))
        return -errno;
    return 0;
}

/* ---- config.json ---- */

static const char *const default_caps[] = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE",
};

static void strv_array(struct jw *w, const char *key, const char *const *v, size_t n)
{
    jw_key(w, key);
    jw_array_begin(w);
    for (size_t i = 0; i < n; i++)
        jw_string(w, v[i]);
    jw_array_end(w);
}

static void write_process(struct jw *w, const struct image_run_opts *o,
                          const struct image_process *p)
{
    jw_key(w, "process");
    jw_object_begin(w);
    jw_kv_bool(w, "terminal", o->ov.terminal);
    jw_key(w, "user");
    jw_object_begin(w);
    jw_kv_uint(w, "uid", p->user.uid);
    jw_kv_uint(w, "gid", p->user.gid);
    if (p->user.n_gids) {
        jw_key(w, "additionalGids");
        jw_array_begin(w);
        for (size_t i = 0; i < p->user.n_gids; i++)
            jw_uint(w, p->user.gids[i]);
        jw_array_end(w);
    }
    jw_object_end(w);
    strv_array(w, "args", (const char *const *)p->args, p->n_args);
    strv_array(w, "env", (const char *const *)p->env, p->n_env);
    jw_kv_string(w, "cwd", p->cwd);
    jw_key(w, "capabilities");
    jw_object_begin(w);
    static const char *const sets[] = {"bounding", "effective", "permitted"};
    for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
        strv_array(w, sets[i], default_caps, ARRAY_SIZE(default_caps));
    jw_object_end(w);
    jw_kv_bool(w, "noNewPrivileges", false);
    jw_object_end(w);
}

static void mount_entry(struct jw *w, const char *dst, const char *type, const char *src,
                        const char *const *opts, size_t n)
{
    jw_object_begin(w);
    jw_kv_string(w, "destination", dst);
    jw_kv_string(w, "type", type);
    jw_kv_string(w, "source", src);
    strv_array(w, "options", opts, n);
    jw_object_end(w);
}

#define MOUNT(w, dst, type, src, ...)                       \
    do {                                                    \
        static const char *const _o[] = {__VA_ARGS__};      \
        mount_entry(w, dst, type, src, _o, ARRAY_SIZE(_o)); \
    } while (0)

static int write_volume(struct jw *w, const char *spec)
{
    _cleanup_free_ char *copy = xstrdup(spec);
    char *dst = strchr(copy, ':');
    if (!dst || dst == copy)
        return err_setx(EINVAL, "-v \"%s\": expected SRC:DST or SRC:DST:ro", spec);
    *dst++ = '\0';
    char *mode = strchr(dst, ':');
    bool ro = false;
    if (mode) {
        *mode++ = '\0';
        if (!streq(mode, "ro") && !streq(mode, "rw"))
            return err_setx(EINVAL, "-v \"%s\": the mode must be ro or rw, not \"%s\"", spec, mode);
        ro = streq(mode, "ro");
    }
    if (dst[0] != '/')
        return err_setx(EINVAL, "-v \"%s\": the destination %s must be an absolute path", spec,
                        dst);
    _cleanup_free_ char *src = realpath(copy, NULL);
    if (!src)
        return err_set(errno, "-v \"%s\": source %s", spec, copy);
    const char *opts[] = {"rbind", "rprivate", ro ? "ro" : "rw"};
    mount_entry(w, dst, "bind", src, opts, ARRAY_SIZE(opts));
    return 0;
}

static int write_mounts(struct jw *w, const struct image_run_opts *o)
{
    jw_key(w, "mounts");
    jw_array_begin(w);
    MOUNT(w, "/proc", "proc", "proc", "nosuid", "noexec", "nodev");
    MOUNT(w, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
    MOUNT(w, "/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666",
          "mode=0620", "gid=5");
    MOUNT(w, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k");
    MOUNT(w, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
    MOUNT(w, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
    MOUNT(w, "/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "ro");
    for (size_t i = 0; i < o->n_volumes; i++) {
        int r = write_volume(w, o->volumes[i]);
        if (r < 0)
            return r;
    }
    jw_array_end(w);
    return 0;
}

static void write_annotations(struct jw *w, const struct image_run_opts *o,
                              const struct image_process *p, const char *overlay,
                              const struct digest *d)
{
    char buf[DIGEST_STR_SIZE];
    jw_key(w, "annotations");
    jw_object_begin(w);
    for (size_t i = 0; i < p->n_labels; i++)
        jw_kv_string(w, p->labels[i].key, p->labels[i].value);
    if (p->stop_signal)
        jw_kv_string(w, STOP_SIGNAL_ANNOTATION, p->stop_signal);
    jw_kv_string(w, "org.berth.image.name", o->image);
    jw_kv_string(w, "org.berth.image.digest", digest_str(d, buf));
    if (overlay)
        jw_kv_string(w, IMAGES_OVERLAY_ANNOTATION, overlay);
    if (o->network)
        jw_kv_string(w, "org.berth.net.network", o->network);
    if (o->ip)
        jw_kv_string(w, "org.berth.net.ip", o->ip);
    if (o->publish)
        jw_kv_string(w, "org.berth.net.publish", o->publish);
    if (o->egress)
        jw_kv_string(w, "org.berth.net.egress", o->egress);
    if (o->ingress)
        jw_kv_string(w, "org.berth.net.ingress", o->ingress);
    jw_object_end(w);
}

static void write_linux(struct jw *w, const struct image_run_opts *o)
{
    jw_key(w, "linux");
    jw_object_begin(w);
    jw_key(w, "resources");
    jw_object_begin(w);
    jw_key(w, "devices");
    jw_array_begin(w);
    jw_object_begin(w);
    jw_kv_bool(w, "allow", false);
    jw_kv_string(w, "access", "rwm");
    jw_object_end(w);
    jw_array_end(w);
    if (o->memory) {
        jw_key(w, "memory");
        jw_object_begin(w);
        jw_kv_uint(w, "limit", o->memory);
        jw_object_end(w);
    }
    if (o->cpu_quota) {
        jw_key(w, "cpu");
        jw_object_begin(w);
        jw_kv_uint(w, "quota", o->cpu_quota);
        jw_kv_uint(w, "period", 100000);
        jw_object_end(w);
    }
    if (o->pids_limit) {
        jw_key(w, "pids");
        jw_object_begin(w);
        jw_kv_int(w, "limit", o->pids_limit);
        jw_object_end(w);
    }
    jw_object_end(w);
    jw_key(w, "namespaces");
    jw_array_begin(w);
    static const char *const ns[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
    for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
        jw_object_begin(w);
        jw_kv_string(w, "type", ns[i]);
        jw_object_end(w);
    }
    jw_array_end(w);
    static const char *const masked[] = {
            "/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
            "/sys/firmware",       "/proc/scsi"};
    static const char *const ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                     "/proc/sysrq-trigger"};
    strv_array(w, "maskedPaths", masked, ARRAY_SIZE(masked));
    strv_array(w, "readonlyPaths", ro, ARRAY_SIZE(ro));
    jw_object_end(w);
}

static int write_config(int dfd, const struct image_run_opts *o, const struct image_process *p,
                        const char *overlay, const struct digest *d)
{
    struct jw w;
    jw_init(&w, "\t");
    jw_object_begin(&w);
    jw_kv_string(&w, "ociVersion", "1.0.2");
    write_process(&w, o, p);
    jw_key(&w, "root");
    jw_object_begin(&w);
    jw_kv_string(&w, "path", "rootfs");
    jw_kv_bool(&w, "readonly", o->read_only);
    jw_object_end(&w);
    jw_kv_string(&w, "hostname", o->ov.hostname ? o->ov.hostname : o->id);
    int r = write_mounts(&w, o);
    if (r == 0) {
        write_annotations(&w, o, p, overlay, d);
        write_linux(&w, o);
        jw_object_end(&w);
        jw_putc(&w, '\n');
        r = write_file_atomic_at(dfd, "config.json", w.buf, w.len, 0600);
        if (r < 0)
            r = err_set(r, "write the bundle's config.json");
    }
    jw_free(&w);
    return r;
}

/* ---- prepare ---- */

struct prep {
    const struct image_run_opts *o;
    struct imgstore *s;
    struct image *img;
    int *fs;
    int dfd, lfd;
    bool made;
};

static int make_snapshot(struct prep *p, char **overlay, const char **kind)
{
    char why[512];
    int r;
    bool ov = overlay_usable(p->s, p->img->n_layers, why, sizeof(why));
    if (mkdirat(p->dfd, "rootfs", 0755) < 0)
        return err_set(errno, "create the rootfs mount point");
    if (ov) {
        if (mkdirat(p->dfd, "upper", 0755) < 0 || mkdirat(p->dfd, "work", 0700) < 0 ||
            (p->img->n_layers == 0 && mkdirat(p->dfd, "empty", 0755) < 0))
            return err_set(errno, "create the snapshot's upper and work dirs");
        *overlay = overlay_options(p->s, p->img, p->o->id);
        *kind = "overlay";
        /* the upper dir's root carries the image root's owner and mode */
        struct stat st;
        if (p->img->n_layers && fstat(p->fs[p->img->n_layers - 1], &st) == 0)
            if (fchownat(p->dfd, "upper", st.st_uid, st.st_gid, 0) < 0 ||
                fchmodat(p->dfd, "upper", st.st_mode & 07777, 0) < 0)
                return err_set(errno, "set up the snapshot's upper dir");
        return 0;
    }
    log_debug("container %s: overlayfs cannot be used (%s): copying the image's %zu layers "
              "into the bundle instead",
              p->o->id, why, p->img->n_layers);
    *kind = "copy";
    _cleanup_close_ int rootfs =
            openat(p->dfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfs < 0)
        return err_set(errno, "open the rootfs");
    r = copy_snapshot(p->fs, p->img->n_layers, rootfs);
    return r < 0 ? err_set(r, "copy the image's layers into %s/containers/%s/rootfs", p->s->root,
                           p->o->id)
                 : 0;
}

static int prepare(struct prep *p, const struct digest *d, struct prepared *out)
{
    const struct image_run_opts *o = p->o;
    int r = image_load(p->s, d, &p->img);
    if (r < 0)
        return r;
    p->fs = xcalloc(p->img->n_layers ? p->img->n_layers : 1, sizeof(int));
    for (size_t i = 0; i < p->img->n_layers; i++)
        p->fs[i] = -1;
    for (size_t i = 0; i < p->img->n_layers; i++)
        if ((r = open_layer_fs(p->s, &p->img->layers[i].diff_id, &p->fs[i])) < 0)
            return r;
    _cleanup_free_ char *passwd = read_image_file(p->fs, p->img->n_layers, "etc/passwd");
    _cleanup_free_ char *group = read_image_file(p->fs, p->img->n_layers, "etc/group");
    struct arena a = {0};
    struct image_process proc;
    struct run_overrides ov = o->ov;
    char *overlay = NULL;
    const char *kind = NULL;
    if (!ov.hostname)
        ov.hostname = o->id;
    r = image_process_build(&a, json_get(p->img->config_json, "config"), &ov, passwd, group, &proc);
    if (r < 0)
        goto out;
    if ((r = make_container_dir(p->s, o->id, &p->dfd, &p->lfd)) < 0)
        goto out;
    p->made = true;
    if ((r = make_snapshot(p, &overlay, &kind)) < 0)
        goto out;
    if ((r = write_config(p->dfd, o, &proc, overlay, d)) < 0)
        goto out;
    record_json(o, p->s->root, d, kind, &out->record);
    r = write_file_atomic_at(p->dfd, "record.json", out->record, strlen(out->record), 0600);
    if (r < 0) {
        r = err_set(r, "write the bundle's record.json");
        goto out;
    }
    out->bundle = xasprintf("%s/containers/%s", p->s->root, o->id);
    out->log = xasprintf("%s/output.log", out->bundle);
    log_debug("container %s: bundle %s (%s snapshot of %s)", o->id, out->bundle, kind, o->image);
out:
    free(overlay);
    arena_free(&a);
    return r;
}

int images_prepare_container(const struct image_run_opts *o, struct prepared *out)
{
    memset(out, 0, sizeof(*out));
    int r = id_validate(o->id);
    if (r < 0)
        return r;
    _cleanup_imgstore_ struct imgstore *s = NULL;
    if ((r = imgstore_open(o->store_root, false, &s)) < 0)
        return r;
    struct digest d;
    if ((r = images_resolve_or_default(s, o->image, &d)) < 0)
        return r;
    struct prep p = {.o = o, .s = s, .dfd = -1, .lfd = -1};
    r = prepare(&p, &d, out);
    if (r < 0 && p.made) {
        _cleanup_close_ int cfd = openat(s->fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cfd >= 0)
            rm_rf_at(cfd, o->id);
        prepared_free(out);
    }
    if (p.dfd >= 0)
        close(p.dfd);
    if (p.lfd >= 0)
        close(p.lfd);
    for (size_t i = 0; p.fs && p.img && i < p.img->n_layers; i++)
        if (p.fs[i] >= 0)
            close(p.fs[i]);
    free(p.fs);
    image_free(p.img);
    return r;
}

/* ---- release ---- */

static int release(const struct record *rec)
{
    struct stat st;
    if (stat(rec->store, &st) < 0 && errno == ENOENT)
        return 0; /* the store is gone: nothing left */
    _cleanup_imgstore_ struct imgstore *s = NULL;
    int r = imgstore_open(rec->store, false, &s);
    if (r < 0)
        return r;
    _cleanup_close_ int cfd = openat(s->fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0)
        return err_set(errno, "open %s/containers", s->root);
    r = rm_rf_at(cfd, rec->id);
    return r < 0 ? err_set(r, "remove the bundle %s/containers/%s", s->root, rec->id) : 0;
}

int images_release_container(const char *record)
{
    if (!record)
        return 0;
    struct arena a = {0};
    struct record rec;
    int r = record_parse(&a, record, &rec);
    if (r < 0)
        r = err_prefix(r, "release the image snapshot");
    else
        r = release(&rec);
    arena_free(&a);
    return r;
}
