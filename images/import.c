/*
 * `berth image import`: OCI layouts (directory or tar), skopeo `dir:` directories, docker
 * archives (`docker save`, directory or tar) and plain rootfs tarballs.
 *
 * Everything is staged in <store>/tmp/import-*: blobs are copied there while their
 * sha256 is computed (a mismatch stops the import and names the blob), layers are
 * unpacked there (in parallel, one process per layer), and only when everything is
 * verified does the commit move blobs and layers into place with
 * renameat2(RENAME_NOREPLACE) and then point the name at the manifest. A failed
 * import removes its staging directory; a killed one leaves it locked by nobody, and
 * the next import removes it. Names never point at anything incomplete.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <signal.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "images/archive_api.h"
#include "images/images.h"
#include "images/internal.h"
#include "images/store.h"
#include "images/unpack.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"

#define COPY_BLOCK    (256 * 1024)
#define SMALL_MAX     (4 << 20)
#define MAX_WORKERS   4
#define MAX_LINK_HOPS 8

enum source_kind { SRC_OCI, SRC_SKOPEO_DIR, SRC_DOCKER, SRC_ROOTFS };

struct member_link {
    char *name, *target;
};

struct import {
    struct imgstore *s;
    const char *path;     /* what the user gave */
    const char *name_arg; /* NAME[:TAG] or NULL */
    enum source_kind kind;
    bool is_tar;
    int src_fd;                /* the source directory, or staging/src for archives */
    bool src_owned;            /* src_fd is ours: blobs may be moved instead of copied */
    struct member_link *links; /* symlinks and hard links of an archive */
    size_t n_links;
    /* staging */
    char stage_rel[64];
    int stage_fd, stage_lock, blobs_fd, layers_fd;
    unsigned partial_seq;
    /* result */
    char *manifest_text;
    size_t manifest_len;
    struct digest manifest;
    char *ref_name; /* from the source (annotation, RepoTags) */
};

/* ---- staging ---- */

static int open_dir_at(int dfd, const char *name, bool create, int *out)
{
    if (create && mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
        return -errno;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    *out = fd;
    return 0;
}

/* Remove staging directories of imports that died (nobody holds their lock). */
static void remove_stale_staging(struct imgstore *s)
{
    int tfd;
    if (open_dir_at(s->fd, "tmp", false, &tfd) < 0)
        return;
    _cleanup_closedir_ DIR *d = fdopendir(tfd);
    if (!d) {
        close(tfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        /* ".import-..." is one being made (see staging_create): stale only when old */
        const char *n = de->d_name + (de->d_name[0] == '.');
        if (!startswith(n, "import-") && !startswith(n, "export-"))
            continue;
        _cleanup_close_ int fd = -1, lfd = -1;
        struct stat st;
        if (open_dir_at(dirfd(d), de->d_name, false, &fd) < 0 || fstat(fd, &st) < 0 ||
            (n != de->d_name && st.st_mtime > time(NULL) - 600))
            continue;
        lfd = openat(fd, ".lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) < 0)
            continue; /* alive */
        log_debug("removing %s/tmp/%s, left by an interrupted import", s->root, de->d_name);
        int r = rm_rf_at(dirfd(d), de->d_name);
        if (r < 0)
            log_warn("could not remove %s/tmp/%s: %s", s->root, de->d_name, strerror(-r));
    }
}

int staging_create(struct imgstore *s, const char *prefix, char *rel, size_t size, int *dirfd,
                   int *lockfd)
{
    remove_stale_staging(s);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(rel, size, "tmp/%s-%d-%lx", prefix, (int)getpid(),
             (unsigned long)(ts.tv_nsec ^ ts.tv_sec));
    /* made under a hidden name and renamed once locked: another import's sweep must never
     * see it unlocked and take it for one left by a killed import */
    char hidden[PATH_MAX];
    snprintf(hidden, sizeof(hidden), "tmp/.%s", rel + 4);
    if (mkdirat(s->fd, hidden, 0700) < 0)
        return err_set(errno, "create %s/%s", s->root, hidden);
    int fd = openat(s->fd, hidden, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        unlinkat(s->fd, hidden, AT_REMOVEDIR);
        return err_set(e, "open %s/%s", s->root, hidden);
    }
    int lfd = openat(fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) < 0 || renameat(s->fd, hidden, s->fd, rel) < 0) {
        int e = errno;
        close(fd);
        if (lfd >= 0)
            close(lfd);
        rm_rf_at(s->fd, hidden);
        return err_set(e, "lock %s/%s", s->root, rel);
    }
    *dirfd = fd;
    *lockfd = lfd;
    return 0;
}

static void import_free(struct import *im)
{
    if (im->stage_fd >= 0) {
        close(im->stage_fd);
        int r = rm_rf_at(im->s->fd, im->stage_rel);
        if (r < 0)
            log_warn("could not remove %s/%s: %s", im->s->root, im->stage_rel, strerror(-r));
    }
    if (im->stage_lock >= 0)
        close(im->stage_lock);
    if (im->blobs_fd >= 0)
        close(im->blobs_fd);
    if (im->layers_fd >= 0)
        close(im->layers_fd);
    if (im->src_fd >= 0)
        close(im->src_fd);
    for (size_t i = 0; i < im->n_links; i++) {
        free(im->links[i].name);
        free(im->links[i].target);
    }
    free(im->links);
    free(im->manifest_text);
    free(im->ref_name);
}

static int stage_init(struct import *im)
{
    int r = staging_create(im->s, "import", im->stage_rel, sizeof(im->stage_rel), &im->stage_fd,
                           &im->stage_lock);
    if (r < 0)
        return r;
    if ((r = open_dir_at(im->stage_fd, "blobs", true, &im->blobs_fd)) < 0 ||
        (r = open_dir_at(im->stage_fd, "layers", true, &im->layers_fd)) < 0)
        return err_set(r, "create %s/%s", im->s->root, im->stage_rel);
    return 0;
}

/* ---- blobs ---- */

static bool have_blob(struct import *im, const struct digest *d)
{
    char rel[128];
    blob_relpath(d, rel, sizeof(rel));
    return faccessat(im->s->fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
           faccessat(im->blobs_fd, d->hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Open a blob of the store or of the staging area. */
static int import_open_blob(struct import *im, const struct digest *d, int *out)
{
    char rel[128];
    int fd = openat(im->blobs_fd, d->hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        blob_relpath(d, rel, sizeof(rel));
        fd = openat(im->s->fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    *out = fd;
    return 0;
}

static int read_blob(struct import *im, const struct digest *d, size_t max, char **out, size_t *len)
{
    _cleanup_close_ int fd = -1;
    char buf[DIGEST_STR_SIZE];
    int r = import_open_blob(im, d, &fd);
    if (r < 0)
        return err_set(r, "open blob %s", digest_str(d, buf));
    r = read_all_fd(fd, max, out, len);
    if (r == -EFBIG)
        return err_setx(EFBIG, "blob %s is larger than %zu bytes", digest_str(d, buf), max);
    return r < 0 ? err_set(r, "read blob %s", digest_str(d, buf)) : 0;
}

/* Copy (or hash in place) from fd into a partial file of the staging area. */
static int hash_copy(struct import *im, int fd, bool move, struct digest *got, uint64_t *size,
                     char *partial, size_t psize)
{
    snprintf(partial, psize, ".partial-%u", im->partial_seq++);
    _cleanup_close_ int out = -1;
    if (!move) {
        out = openat(im->blobs_fd, partial, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600);
        if (out < 0)
            return err_set(errno, "create %s/%s/blobs/%s", im->s->root, im->stage_rel, partial);
    }
    _cleanup_free_ char *buf = xmalloc(COPY_BLOCK);
    _cleanup_hasher_ struct hasher h = {0};
    hasher_init(&h);
    for (;;) {
        ssize_t n = RETRY_EINTR(read(fd, buf, COPY_BLOCK));
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        hasher_update(&h, buf, (size_t)n);
        int r = out >= 0 ? write_all(out, buf, (size_t)n) : 0;
        if (r < 0)
            return err_set(r, "write %s/%s/blobs/%s", im->s->root, im->stage_rel, partial);
    }
    *size = h.bytes;
    hasher_final(&h, got);
    return 0;
}

static const char *link_target(struct import *im, const char *name)
{
    for (size_t i = 0; i < im->n_links; i++)
        if (streq(im->links[i].name, name))
            return im->links[i].target;
    return NULL;
}

static void resolve_links(struct import *im, const char *path, char *out, size_t size)
{
    snprintf(out, size, "%s", path);
    for (int hop = 0; im->n_links && hop < MAX_LINK_HOPS; hop++) {
        const char *t = link_target(im, out);
        if (!t)
            break;
        snprintf(out, size, "%s", t);
    }
}

/* Open path of the source; inside archives, follow the archive's own links. */
static int open_source(struct import *im, const char *path, int *out)
{
    char cur[PATH_MAX];
    resolve_links(im, path, cur, sizeof(cur));
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, im->src_fd, cur, &how, sizeof(how));
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    *out = fd;
    return 0;
}

static int publish_partial(struct import *im, const char *partial, const struct digest *d)
{
    if (have_blob(im, d)) {
        unlinkat(im->blobs_fd, partial, 0);
        return 0;
    }
    if (renameat(im->blobs_fd, partial, im->blobs_fd, d->hex) < 0)
        return err_set(errno, "stage blob sha256:%s", d->hex);
    return 0;
}

/*
 * Bring the blob at `path` of the source into the staging area, verifying it against
 * `expected` (NULL: just compute it) and expected_size (UINT64_MAX: unknown).
 */
static int fetch_blob(struct import *im, const char *path, const struct digest *expected,
                      uint64_t expected_size, const char *what, struct digest *out)
{
    char buf[DIGEST_STR_SIZE];
    if (expected && have_blob(im, expected)) {
        *out = *expected;
        return 0;
    }
    _cleanup_close_ int fd = -1;
    int r = open_source(im, path, &fd);
    if (r == -ENOENT)
        return err_setx(ENOENT, "%s: blob %s (%s) is missing from %s", im->path,
                        expected ? digest_str(expected, buf) : path, what, im->path);
    if (r < 0)
        return err_set(r, "%s: open %s (%s)", im->path, path, what);
    struct digest got;
    uint64_t size;
    char partial[64];
    bool move = im->src_owned;
    r = hash_copy(im, fd, move, &got, &size, partial, sizeof(partial));
    if (r < 0)
        return r;
    if (expected && !digest_eq(&got, expected)) {
        if (!move)
            unlinkat(im->blobs_fd, partial, 0);
        return err_setx(EIO,
                        "%s: blob %s (%s) does not match its digest: its content hashes to "
                        "sha256:%s; the image is corrupt",
                        im->path, digest_str(expected, buf), what, got.hex);
    }
    if (expected_size != UINT64_MAX && size != expected_size) {
        if (!move)
            unlinkat(im->blobs_fd, partial, 0);
        return err_setx(EIO, "%s: blob %s (%s) has %llu bytes, its descriptor says %llu", im->path,
                        digest_str(&got, buf), what, (unsigned long long)size,
                        (unsigned long long)expected_size);
    }
    if (move) {
        /* the source is our own extraction of an archive: link it into blobs/ */
        char src[PATH_MAX];
        resolve_links(im, path, src, sizeof(src));
        if (!have_blob(im, &got) && linkat(im->src_fd, src, im->blobs_fd, got.hex, 0) < 0 &&
            errno != EEXIST)
            r = err_set(errno, "stage blob %s", digest_str(&got, buf));
    } else {
        r = publish_partial(im, partial, &got);
    }
    if (r == 0)
        *out = got;
    return r;
}

static int stage_text_blob(struct import *im, const char *text, size_t len, struct digest *out)
{
    digest_buf(text, len, out);
    if (have_blob(im, out))
        return 0;
    int r = write_file_atomic_at(im->blobs_fd, out->hex, text, len, 0600);
    return r < 0 ? err_set(r, "stage blob sha256:%s", out->hex) : 0;
}

static int read_source_small(struct import *im, const char *path, char **out, size_t *len)
{
    _cleanup_close_ int fd = -1;
    int r = open_source(im, path, &fd);
    if (r < 0)
        return r;
    r = read_all_fd(fd, SMALL_MAX, out, len);
    return r;
}

/* ---- archives: extract what matters into staging/src, blobs straight into blobs/ ---- */

static int mkdir_parents(int root, const char *path, int *out)
{
    _cleanup_close_ int cur = fcntl(root, F_DUPFD_CLOEXEC, 3);
    if (cur < 0)
        return -errno;
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash)
            break;
        char comp[NAME_MAX + 1];
        snprintf(comp, sizeof(comp), "%.*s", (int)(slash - p), p);
        int next;
        int r = open_dir_at(cur, comp, true, &next);
        if (r < 0)
            return r;
        close(cur);
        cur = next;
        p = slash + 1;
    }
    *out = TAKE_FD(cur);
    return 0;
}

static int extract_member(struct import *im, struct archive *a, struct archive_entry *e,
                          const char *name)
{
    char hex[DIGEST_HEX_LEN + 1];
    bool blob = startswith(name, "blobs/sha256/") && strlen(name) == 13 + DIGEST_HEX_LEN;
    if (blob) {
        memcpy(hex, name + 13, DIGEST_HEX_LEN);
        hex[DIGEST_HEX_LEN] = '\0';
        struct digest d;
        memcpy(d.hex, hex, sizeof(hex));
        if (!digest_hex_valid(hex))
            blob = false;
        else if (have_blob(im, &d))
            return 0; /* already here: skip its data */
    }
    int dfd;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    _cleanup_close_ int parent = -1;
    char partial[64];
    if (blob) {
        snprintf(partial, sizeof(partial), ".partial-%u", im->partial_seq++);
        dfd = im->blobs_fd;
        base = partial;
    } else {
        int r = mkdir_parents(im->src_fd, name, &parent);
        if (r < 0)
            return err_set(r, "%s: extract %s", im->path, name);
        dfd = parent;
    }
    _cleanup_close_ int out =
            openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return err_set(errno, "%s: extract %s", im->path, name);
    _cleanup_hasher_ struct hasher h = {0};
    hasher_init(&h);
    const void *block;
    size_t len;
    la_int64_t off;
    int ar;
    while ((ar = archive_read_data_block(a, &block, &len, &off)) == ARCHIVE_OK) {
        if (blob)
            hasher_update(&h, block, len);
        int r = pwrite(out, block, len, off) == (ssize_t)len ? 0 : -EIO;
        if (r < 0)
            return err_set(errno ? errno : EIO, "%s: extract %s", im->path, name);
    }
    if (ar != ARCHIVE_EOF)
        return err_setx(EIO, "%s: read %s: %s", im->path, name, archive_error_string(a));
    if (!blob)
        return 0;
    struct digest got;
    hasher_final(&h, &got);
    if (!streq(got.hex, hex)) {
        unlinkat(im->blobs_fd, partial, 0);
        return err_setx(EIO,
                        "%s: blob sha256:%s does not match its digest: its content hashes to "
                        "sha256:%s; the image is corrupt",
                        im->path, hex, got.hex);
    }
    return publish_partial(im, partial, &got);
}

static void add_link(struct import *im, const char *name, const char *target, bool hard)
{
    char clean[PATH_MAX], joined[PATH_MAX];
    const char *why;
    if (!hard) {
        /* a symlink's target is relative to its directory */
        const char *slash = strrchr(name, '/');
        if (target[0] == '/')
            snprintf(joined, sizeof(joined), "%s", target + 1);
        else
            snprintf(joined, sizeof(joined), "%.*s%s%s", slash ? (int)(slash - name) : 0, name,
                     slash ? "/" : "", target);
        target = joined;
    }
    /* resolve ".." lexically; whatever still leaves the archive is dropped */
    char parts[PATH_MAX];
    size_t n = 0;
    const char *p = target;
    while (*p) {
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (n == 0)
                return;
            while (n > 0 && parts[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
        } else if (len && !(len == 1 && p[0] == '.') && n + len + 2 < sizeof(parts)) {
            if (n)
                parts[n++] = '/';
            memcpy(parts + n, p, len);
            n += len;
        }
        p = *end ? end + 1 : end;
    }
    parts[n] = '\0';
    if (layer_path_clean(parts, clean, sizeof(clean), &why) < 0 || !*clean)
        return;
    im->links = xreallocarray(im->links, im->n_links + 1, sizeof(*im->links));
    im->links[im->n_links++] = (struct member_link){xstrdup(name), xstrdup(clean)};
}

static int open_archive(const char *path, struct archive **out)
{
    struct archive *a = archive_read_new();
    if (!a)
        die_oom();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, path, COPY_BLOCK) != ARCHIVE_OK) {
        int r = err_setx(EINVAL, "%s: not a readable tar archive: %s", path,
                         archive_error_string(a));
        archive_read_free(a);
        return r;
    }
    *out = a;
    return 0;
}

static int extract_archive(struct import *im)
{
    int r = open_dir_at(im->stage_fd, "src", true, &im->src_fd);
    if (r < 0)
        return err_set(r, "create %s/%s/src", im->s->root, im->stage_rel);
    im->src_owned = true;
    struct archive *a;
    if ((r = open_archive(im->path, &a)) < 0)
        return r;
    struct archive_entry *e;
    int ar;
    while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
        char name[PATH_MAX];
        const char *why;
        const char *raw = archive_entry_pathname(e);
        if (layer_path_clean(raw, name, sizeof(name), &why) < 0) {
            r = err_setx(EINVAL, "%s: archive member \"%s\": %s", im->path, raw ? raw : "?", why);
            break;
        }
        if (!*name)
            continue;
        if (archive_entry_hardlink(e))
            add_link(im, name, archive_entry_hardlink(e), true);
        else if (archive_entry_filetype(e) == AE_IFLNK)
            add_link(im, name, archive_entry_symlink(e), false);
        else if (archive_entry_filetype(e) == AE_IFREG && (r = extract_member(im, a, e, name)) < 0)
            break;
    }
    if (r == 0 && ar != ARCHIVE_EOF)
        r = err_setx(EINVAL, "%s: %s", im->path, archive_error_string(a));
    archive_read_free(a);
    return r;
}

/* ---- detection ---- */

static bool hex_name(const char *s, size_t len)
{
    if (len != DIGEST_HEX_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* Could this member belong to an OCI or docker archive? */
static bool image_member(const char *name, bool *oci, bool *docker)
{
    if (!*name || streq(name, "repositories") || startswith(name, "blobs"))
        return true;
    if (streq(name, "oci-layout") || streq(name, "index.json")) {
        *oci = true;
        return true;
    }
    if (streq(name, "manifest.json")) {
        *docker = true;
        return true;
    }
    const char *slash = strchr(name, '/');
    size_t first = slash ? (size_t)(slash - name) : strlen(name);
    if (hex_name(name, first))
        return true;
    const char *dot = strchr(name, '.');
    return dot && hex_name(name, (size_t)(dot - name)); /* <hex>.json, <hex>.tar */
}

static int detect_archive(struct import *im)
{
    struct archive *a;
    int r = open_archive(im->path, &a);
    if (r < 0)
        return r;
    bool oci = false, docker = false, other = false;
    struct archive_entry *e;
    int ar;
    while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
        char name[PATH_MAX];
        const char *why;
        if (layer_path_clean(archive_entry_pathname(e), name, sizeof(name), &why) < 0 ||
            !image_member(name, &oci, &docker)) {
            other = true;
            break;
        }
    }
    if (!other && ar != ARCHIVE_EOF)
        r = err_setx(EINVAL, "%s: not a readable tar archive: %s", im->path,
                     archive_error_string(a));
    archive_read_free(a);
    if (r < 0)
        return r;
    im->kind = other ? SRC_ROOTFS : oci ? SRC_OCI : docker ? SRC_DOCKER : SRC_ROOTFS;
    return 0;
}

static int detect_dir(struct import *im)
{
    im->src_fd = open(im->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (im->src_fd < 0)
        return err_set(errno, "open %s", im->path);
    if (faccessat(im->src_fd, "oci-layout", F_OK, 0) == 0 ||
        faccessat(im->src_fd, "index.json", F_OK, 0) == 0) {
        im->kind = SRC_OCI;
        return 0;
    }
    _cleanup_free_ char *text = NULL;
    size_t len;
    if (read_source_small(im, "manifest.json", &text, &len) == 0) {
        const char *p = text;
        while (isspace((unsigned char)*p))
            p++;
        im->kind = *p == '[' ? SRC_DOCKER : SRC_SKOPEO_DIR;
        return 0;
    }
    return err_setx(EINVAL,
                    "%s: not an image directory (no oci-layout/index.json of an OCI layout, no "
                    "manifest.json of a skopeo dir: or docker archive); to import a root "
                    "filesystem, tar it first",
                    im->path);
}

/* ---- manifests ---- */

static const char *host_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "386";
#elif defined(__powerpc64__)
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv)
    return "riscv64";
#else
    return "unknown";
#endif
}

static const char *oci_layer_type(const char *mt)
{
    if (strstr(mt, "gzip"))
        return MT_OCI_LAYER_GZ;
    if (strstr(mt, "zstd"))
        return MT_OCI_LAYER_ZST;
    return MT_OCI_LAYER;
}

struct desc {
    struct digest digest;
    const char *media_type;
    uint64_t size;
};

static char *oci_manifest_json(const struct desc *config, const struct desc *layers, size_t n,
                               size_t *len)
{
    struct jw w;
    char buf[DIGEST_STR_SIZE];
    jw_init(&w, NULL);
    jw_object_begin(&w);
    jw_kv_int(&w, "schemaVersion", 2);
    jw_kv_string(&w, "mediaType", MT_OCI_MANIFEST);
    jw_key(&w, "config");
    jw_object_begin(&w);
    jw_kv_string(&w, "mediaType", MT_OCI_CONFIG);
    jw_kv_string(&w, "digest", digest_str(&config->digest, buf));
    jw_kv_uint(&w, "size", config->size);
    jw_object_end(&w);
    jw_key(&w, "layers");
    jw_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jw_object_begin(&w);
        jw_kv_string(&w, "mediaType", oci_layer_type(layers[i].media_type));
        jw_kv_string(&w, "digest", digest_str(&layers[i].digest, buf));
        jw_kv_uint(&w, "size", layers[i].size);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w);
    return jw_steal(&w, len);
}

/* A docker schema 2 manifest (skopeo dir: of a docker image) -> the same image as OCI. */
static int normalize_manifest(struct import *im, const char *text, size_t len,
                              const struct digest *digest)
{
    struct arena a = {0};
    struct json *m;
    int r = json_parse(&a, text, len, "manifest", &m);
    if (r < 0)
        goto out;
    const struct json *mt = json_get(m, "mediaType");
    if (!mt || mt->type != JSON_STRING || !strstr(mt->string, "docker")) {
        im->manifest = *digest;
        im->manifest_text = xstrndup(text, len);
        im->manifest_len = len;
        goto out;
    }
    if (!streq(mt->string, "application/vnd.docker.distribution.manifest.v2+json")) {
        r = err_setx(ENOTSUP, "%s: manifest type %s is not supported", im->path, mt->string);
        goto out;
    }
    struct jctx c = {"docker manifest", &a};
    struct json *cfg, *layers;
    struct desc config;
    char *cmt, *digest_s;
    if ((r = jo_require(&c, m, NULL, "config", &cfg)) < 0 ||
        (r = jo_req_string(&c, cfg, NULL, "digest", &digest_s)) < 0 ||
        (r = jo_req_string(&c, cfg, NULL, "mediaType", &cmt)) < 0 ||
        (r = jo_req_uint(&c, cfg, NULL, "size", UINT64_MAX, &config.size)) < 0 ||
        (r = digest_parse(digest_s, "docker manifest config", &config.digest)) < 0 ||
        (r = jo_require(&c, m, NULL, "layers", &layers)) < 0 ||
        (r = jv_array(&c, layers, JP_KEY(NULL, "layers"))) < 0)
        goto out;
    struct desc *ls = arena_alloc_array(&a, layers->n ? layers->n : 1, sizeof(*ls));
    for (size_t i = 0; i < layers->n; i++) {
        const struct json *l = layers->items[i];
        char *lmt, *ld;
        const struct jpath *p = JP_IDX(JP_KEY(NULL, "layers"), i);
        if ((r = jo_req_string(&c, l, p, "digest", &ld)) < 0 ||
            (r = jo_req_string(&c, l, p, "mediaType", &lmt)) < 0 ||
            (r = jo_req_uint(&c, l, p, "size", UINT64_MAX, &ls[i].size)) < 0 ||
            (r = digest_parse(ld, "docker manifest layer", &ls[i].digest)) < 0)
            goto out;
        ls[i].media_type = lmt;
    }
    im->manifest_text = oci_manifest_json(&config, ls, layers->n, &im->manifest_len);
    r = stage_text_blob(im, im->manifest_text, im->manifest_len, &im->manifest);
out:
    arena_free(&a);
    return r;
}

struct candidate {
    struct digest digest;
    uint64_t size;
    const char *ref_name, *os, *arch;
};

static void name_tag(const char *name, const char **tag)
{
    const char *slash = strrchr(name, '/');
    const char *colon = strrchr(slash ? slash : name, ':');
    *tag = colon ? colon + 1 : "latest";
}

static bool candidate_matches(const struct candidate *c, const char *want)
{
    if (!c->ref_name || !want)
        return false;
    if (streq(c->ref_name, want))
        return true;
    const char *tag;
    name_tag(want, &tag);
    return streq(c->ref_name, tag);
}

static int collect_candidates(struct import *im, struct arena *a, const struct json *index,
                              int depth, struct candidate **list, size_t *n)
{
    const struct json *ms = json_get(index, "manifests");
    if (!ms || ms->type != JSON_ARRAY)
        return err_setx(EINVAL, "%s: index.json has no manifests array", im->path);
    for (size_t i = 0; i < ms->n; i++) {
        const struct json *d = ms->items[i];
        const struct json *mt = json_get(d, "mediaType"), *dg = json_get(d, "digest");
        const struct json *sz = json_get(d, "size");
        struct candidate c = {0};
        if (!dg || dg->type != JSON_STRING || digest_parse(dg->string, "index.json", &c.digest) < 0)
            return -EINVAL;
        uint64_t size;
        c.size = sz && sz->type == JSON_NUMBER && parse_u64(sz->number, &size) == 0 ? size
                                                                                    : UINT64_MAX;
        const struct json *ann = json_get(d, "annotations");
        const struct json *rn = ann ? json_get(ann, "org.opencontainers.image.ref.name") : NULL;
        c.ref_name = rn && rn->type == JSON_STRING ? rn->string : NULL;
        const struct json *pl = json_get(d, "platform");
        const struct json *os = pl ? json_get(pl, "os") : NULL;
        const struct json *ar = pl ? json_get(pl, "architecture") : NULL;
        c.os = os && os->type == JSON_STRING ? os->string : NULL;
        c.arch = ar && ar->type == JSON_STRING ? ar->string : NULL;
        if (mt && mt->type == JSON_STRING &&
            (streq(mt->string, MT_OCI_INDEX) || strstr(mt->string, "manifest.list"))) {
            if (depth > 2)
                return err_setx(EINVAL, "%s: image indexes nested too deep", im->path);
            char path[128];
            _cleanup_free_ char *text = NULL;
            size_t len;
            struct digest got;
            snprintf(path, sizeof(path), "blobs/sha256/%s", c.digest.hex);
            int r = fetch_blob(im, path, &c.digest, c.size, "image index", &got);
            if (r < 0 || (r = read_blob(im, &got, MANIFEST_MAX, &text, &len)) < 0)
                return r;
            struct json *sub;
            if ((r = json_parse(a, text, len, "image index", &sub)) < 0)
                return r;
            size_t before = *n;
            if ((r = collect_candidates(im, a, sub, depth + 1, list, n)) < 0)
                return r;
            for (size_t j = before; j < *n; j++)
                if (!(*list)[j].ref_name)
                    (*list)[j].ref_name = c.ref_name;
            continue;
        }
        *list = xreallocarray(*list, *n + 1, sizeof(**list));
        (*list)[(*n)++] = c;
    }
    return 0;
}

static int pick_candidate(struct import *im, struct candidate *list, size_t n, size_t *pick)
{
    size_t found = n, count = 0;
    for (size_t i = 0; im->name_arg && i < n; i++)
        if (candidate_matches(&list[i], im->name_arg)) {
            found = found == n ? i : found;
            count++;
        }
    if (count == 0) {
        for (size_t i = 0; i < n; i++) {
            bool os_ok = !list[i].os || streq(list[i].os, "linux");
            bool arch_ok = !list[i].arch || streq(list[i].arch, host_arch());
            if (os_ok && arch_ok) {
                found = found == n ? i : found;
                count++;
            }
        }
    }
    if (count == 1 || (count > 1 && n == count && n > 0 && false)) {
        *pick = found;
        return 0;
    }
    if (count == 0)
        return err_setx(ENOENT, "%s: no image for linux/%s%s%s in the index", im->path, host_arch(),
                        im->name_arg ? " named " : "", im->name_arg ? im->name_arg : "");
    char names[1024] = "";
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names);
        snprintf(names + l, sizeof(names) - l, "%s%s", l ? ", " : "",
                 list[i].ref_name ? list[i].ref_name : list[i].digest.hex);
    }
    return err_setx(EINVAL,
                    "%s holds %zu images (%s): name the one to import (berth image "
                    "import %s NAME)",
                    im->path, n, names, im->path);
}

static int load_oci(struct import *im)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_source_small(im, "index.json", &text, &len);
    if (r < 0)
        return err_set(r, "%s: read index.json", im->path);
    struct arena a = {0};
    struct json *index;
    struct candidate *list = NULL;
    size_t n = 0, pick = 0;
    _cleanup_free_ char *mtext = NULL;
    size_t mlen;
    struct digest got;
    char path[128];
    _cleanup_free_ char *what = xasprintf("%s: index.json", im->path);
    if ((r = json_parse(&a, text, len, what, &index)) < 0 ||
        (r = collect_candidates(im, &a, index, 0, &list, &n)) < 0 ||
        (r = pick_candidate(im, list, n, &pick)) < 0)
        goto out;
    snprintf(path, sizeof(path), "blobs/sha256/%s", list[pick].digest.hex);
    if ((r = fetch_blob(im, path, &list[pick].digest, list[pick].size, "manifest", &got)) < 0 ||
        (r = read_blob(im, &got, MANIFEST_MAX, &mtext, &mlen)) < 0)
        goto out;
    if (list[pick].ref_name)
        im->ref_name = xstrdup(list[pick].ref_name);
    r = normalize_manifest(im, mtext, mlen, &got);
out:
    free(list);
    arena_free(&a);
    return r;
}

static int load_skopeo_dir(struct import *im)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_source_small(im, "manifest.json", &text, &len);
    if (r < 0)
        return err_set(r, "%s: read manifest.json", im->path);
    struct digest d;
    digest_buf(text, len, &d);
    if ((r = stage_text_blob(im, text, len, &d)) < 0)
        return r;
    return normalize_manifest(im, text, len, &d);
}

static const char *sniff_layer_type(int fd)
{
    unsigned char m[6] = {0};
    ssize_t n = pread(fd, m, sizeof(m), 0);
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        return MT_OCI_LAYER_GZ;
    if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        return MT_OCI_LAYER_ZST;
    if (n >= 6 && m[0] == 0xfd && m[1] == '7' && m[2] == 'z' && m[3] == 'X' && m[4] == 'Z')
        return "xz";
    if (n >= 3 && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h')
        return "bzip2";
    return MT_OCI_LAYER;
}

static int load_docker(struct import *im)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_source_small(im, "manifest.json", &text, &len);
    if (r < 0)
        return err_set(r, "%s: read manifest.json", im->path);
    struct arena a = {0};
    struct json *m;
    _cleanup_free_ char *what = xasprintf("%s: manifest.json", im->path);
    struct jctx c = {what, &a};
    if ((r = json_parse(&a, text, len, what, &m)) < 0)
        goto out;
    if (m->type != JSON_ARRAY || m->n == 0) {
        r = err_setx(EINVAL, "%s: expected a non-empty array", what);
        goto out;
    }
    size_t pick = m->n;
    for (size_t i = 0; i < m->n && im->name_arg; i++) {
        const struct json *tags = json_get(m->items[i], "RepoTags");
        for (size_t j = 0; tags && tags->type == JSON_ARRAY && j < tags->n; j++)
            if (tags->items[j]->type == JSON_STRING &&
                (streq(tags->items[j]->string, im->name_arg) ||
                 (endswith(tags->items[j]->string, im->name_arg))))
                pick = i;
    }
    if (pick == m->n) {
        if (m->n > 1) {
            r = err_setx(EINVAL,
                         "%s holds %zu images: name the one to import by one of its "
                         "RepoTags (berth image import %s NAME)",
                         im->path, m->n, im->path);
            goto out;
        }
        pick = 0;
    }
    const struct json *entry = m->items[pick];
    const struct jpath *ep = JP_IDX(NULL, pick);
    char *config_path;
    char **layers;
    size_t n_layers;
    if ((r = jo_req_string(&c, entry, ep, "Config", &config_path)) < 0 ||
        (r = jo_strv(&c, entry, ep, "Layers", &layers, &n_layers)) < 0)
        goto out;
    if (r == 0)
        n_layers = 0;
    const struct json *tags = json_get(entry, "RepoTags");
    if (tags && tags->type == JSON_ARRAY && tags->n && tags->items[0]->type == JSON_STRING)
        im->ref_name = xstrdup(tags->items[0]->string);
    struct desc config = {.media_type = MT_OCI_CONFIG};
    if ((r = fetch_blob(im, config_path, NULL, UINT64_MAX, "image config", &config.digest)) < 0)
        goto out;
    _cleanup_close_ int cfd = -1;
    if ((r = import_open_blob(im, &config.digest, &cfd)) < 0) {
        r = err_set(r, "open the staged config");
        goto out;
    }
    struct stat st;
    config.size = fstat(cfd, &st) == 0 ? (uint64_t)st.st_size : 0;
    struct desc *ls = arena_alloc_array(&a, n_layers ? n_layers : 1, sizeof(*ls));
    for (size_t i = 0; i < n_layers; i++) {
        char lwhat[64];
        snprintf(lwhat, sizeof(lwhat), "layer %zu", i + 1);
        if ((r = fetch_blob(im, layers[i], NULL, UINT64_MAX, lwhat, &ls[i].digest)) < 0)
            goto out;
        _cleanup_close_ int lfd = -1;
        if ((r = import_open_blob(im, &ls[i].digest, &lfd)) < 0 || fstat(lfd, &st) < 0) {
            r = err_set(r < 0 ? r : errno, "open the staged %s", lwhat);
            goto out;
        }
        ls[i].size = (uint64_t)st.st_size;
        ls[i].media_type = sniff_layer_type(lfd);
        if (!startswith(ls[i].media_type, "application/")) {
            r = err_setx(ENOTSUP, "%s: %s is %s compressed; layers must be tar, gzip or zstd",
                         im->path, layers[i], ls[i].media_type);
            goto out;
        }
    }
    im->manifest_text = oci_manifest_json(&config, ls, n_layers, &im->manifest_len);
    r = stage_text_blob(im, im->manifest_text, im->manifest_len, &im->manifest);
out:
    arena_free(&a);
    return r;
}

/* ---- layers ---- */

struct job {
    size_t index;
    struct digest blob, diff_id;
    bool have_diff_id; /* verify against it */
    char what[160];
    char tmp[32]; /* staging/layers/<tmp> while unpacking */
    pid_t pid;
    int err_pipe;
    int tee_fd;
    int src_fd;              /* >= 0: unpack from this fd instead of the blob */
    char src_path[PATH_MAX]; /* else non-empty: from this file of the source, copying it */
    char label[64];          /* "layer N" */
    uint64_t blob_size;      /* expected size with src_path (UINT64_MAX: unknown) */
};

static bool have_layer(struct import *im, const struct digest *diff_id)
{
    char rel[128];
    layer_relpath(diff_id, rel, sizeof(rel));
    return faccessat(im->s->fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
           faccessat(im->layers_fd, diff_id->hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Unpack one layer into staging/layers/<tmp>/fs, then rename to its diff-id. */
static int run_job(struct import *im, struct job *j, struct digest *got)
{
    _cleanup_close_ int dir = -1, fs = -1, blob = -1;
    int r = open_dir_at(im->layers_fd, j->tmp, true, &dir);
    if (r < 0 || (r = open_dir_at(dir, "fs", true, &fs)) < 0)
        return err_set(r, "create %s/%s/layers/%s", im->s->root, im->stage_rel, j->tmp);
    char buf[DIGEST_STR_SIZE], buf2[DIGEST_STR_SIZE], partial[64] = "";
    _cleanup_close_ int copy = -1;
    if (j->src_fd >= 0) {
        blob = fcntl(j->src_fd, F_DUPFD_CLOEXEC, 3);
    } else if (j->src_path[0]) {
        /* straight from the source: copy and verify the blob while unpacking it */
        r = open_source(im, j->src_path, &blob);
        if (r == -ENOENT)
            return err_setx(ENOENT, "%s: blob %s (%s) is missing from %s", im->path,
                            digest_str(&j->blob, buf), j->label, im->path);
        if (r < 0)
            return err_set(r, "%s: open %s", im->path, j->src_path);
        snprintf(partial, sizeof(partial), ".partial-layer-%zu", j->index);
        copy = openat(im->blobs_fd, partial, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600);
        if (copy < 0)
            return err_set(errno, "create %s/%s/blobs/%s", im->s->root, im->stage_rel, partial);
    } else if ((r = import_open_blob(im, &j->blob, &blob)) < 0) {
        return err_set(r, "%s: open the blob", j->what);
    }
    if (blob < 0)
        return err_set(errno, "%s: dup", j->what);
    uint64_t free_bytes = imgstore_free_bytes(im->s);
    struct layer_unpack u = {.what = j->what,
                             .blob_fd = blob,
                             .dest_fd = fs,
                             .max_entry = free_bytes,
                             .max_total = free_bytes,
                             .tee_fd = j->tee_fd,
                             .copy_fd = copy,
                             .hash_raw = copy >= 0};
    r = layer_unpack(&u);
    if (r < 0 && copy >= 0) {
        /* a damaged blob fails as a tar first: say what is wrong with it, if that is it */
        char saved[4200];
        snprintf(saved, sizeof(saved), "%s", err_msg());
        struct digest whole;
        uint64_t size;
        char p2[64];
        if (lseek(blob, 0, SEEK_SET) == 0 &&
            hash_copy(im, blob, true, &whole, &size, p2, sizeof(p2)) == 0 &&
            !digest_eq(&whole, &j->blob)) {
            u.raw_digest = whole;
            r = 0;
        } else {
            err_setx(-r, "%s", saved);
        }
    }
    if (r == 0 && copy >= 0 && !digest_eq(&u.raw_digest, &j->blob))
        r = err_setx(EIO,
                     "%s: blob %s (%s) does not match its digest: its content hashes to "
                     "sha256:%s; the image is corrupt",
                     im->path, digest_str(&j->blob, buf), j->label, u.raw_digest.hex);
    if (r == 0 && copy >= 0 && j->blob_size != UINT64_MAX && u.raw_size != j->blob_size)
        r = err_setx(EIO, "%s: blob %s (%s) has %llu bytes, its descriptor says %llu", im->path,
                     digest_str(&j->blob, buf), j->label, (unsigned long long)u.raw_size,
                     (unsigned long long)j->blob_size);
    if (r == 0 && copy >= 0)
        r = publish_partial(im, partial, &j->blob);
    if (r < 0) {
        layer_unpack_done(&u);
        return r;
    }
    if (j->have_diff_id && !digest_eq(&u.diff_id, &j->diff_id)) {
        layer_unpack_done(&u);
        return err_setx(EIO,
                        "%s: its uncompressed content hashes to %s, but the image config says "
                        "%s; the image is corrupt",
                        j->what, digest_str(&u.diff_id, buf), digest_str(&j->diff_id, buf2));
    }
    struct layer_meta meta = {.tar_size = u.tar_size,
                              .content_size = u.content_size,
                              .implicit_dirs = u.implicit_dirs,
                              .n_implicit = u.n_implicit};
    r = layer_meta_write(dir, &u.diff_id, &meta);
    layer_unpack_done(&u);
    if (r < 0)
        return r;
    *got = u.diff_id;
    if (renameat(im->layers_fd, j->tmp, im->layers_fd, u.diff_id.hex) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY)
            return err_set(errno, "%s: stage the unpacked layer", j->what);
        rm_rf_at(im->layers_fd, j->tmp); /* the same layer twice in one image */
    }
    return 0;
}

static int start_job(struct import *im, struct job *j)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return err_set(errno, "pipe");
    pid_t parent = getpid();
    fflush(NULL);
    j->pid = fork();
    if (j->pid < 0) {
        close(p[0]);
        close(p[1]);
        return err_set(errno, "fork a layer unpacker");
    }
    if (j->pid == 0) {
        /* a killed import takes its unpackers with it */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(1);
        close(p[0]);
        struct digest got;
        int r = run_job(im, j, &got);
        if (r < 0)
            write_all(p[1], err_msg(), strlen(err_msg()));
        else
            write_all(p[1], got.hex, DIGEST_HEX_LEN);
        _exit(r < 0 ? 1 : 0);
    }
    close(p[1]);
    j->err_pipe = p[0];
    return 0;
}

static int finish_job(struct job *j, struct digest *got)
{
    char msg[4096];
    size_t n = 0;
    for (;;) {
        ssize_t k = RETRY_EINTR(read(j->err_pipe, msg + n, sizeof(msg) - 1 - n));
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    msg[n] = '\0';
    close(j->err_pipe);
    j->err_pipe = -1;
    int status = 0;
    RETRY_EINTR(waitpid(j->pid, &status, 0));
    j->pid = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == DIGEST_HEX_LEN) {
        memcpy(got->hex, msg, DIGEST_HEX_LEN + 1);
        return 0;
    }
    if (n)
        return err_setx(EIO, "%s", msg);
    return err_setx(EIO, "%s: the unpacking process died (status 0x%x)", j->what, status);
}

static int run_jobs(struct import *im, struct job *jobs, size_t n)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t workers = ncpu > 0 ? (size_t)ncpu : 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    if (n <= 1 || workers <= 1) {
        for (size_t i = 0; i < n; i++) {
            struct digest got;
            int r = run_job(im, &jobs[i], &got);
            if (r < 0)
                return r;
            jobs[i].diff_id = got;
        }
        return 0;
    }
    size_t next = 0, done = 0, running = 0;
    int ret = 0;
    char first[4200] = "";
    while (done < n) {
        while (ret == 0 && running < workers && next < n) {
            int r = start_job(im, &jobs[next]);
            if (r < 0) {
                ret = r;
                snprintf(first, sizeof(first), "%s", err_msg());
                break;
            }
            next++;
            running++;
        }
        if (running == 0)
            break;
        /* finish the oldest running job (they are started in order) */
        for (size_t i = 0; i < next; i++) {
            if (jobs[i].pid <= 0)
                continue;
            struct digest got;
            int r = finish_job(&jobs[i], &got);
            if (r < 0 && ret == 0) {
                ret = r;
                snprintf(first, sizeof(first), "%s", err_msg());
                /* stop the others: their work is thrown away with the staging dir */
                for (size_t k = 0; k < next; k++)
                    if (jobs[k].pid > 0)
                        kill(jobs[k].pid, SIGKILL);
            }
            if (r == 0)
                jobs[i].diff_id = got;
            running--;
            done++;
            break;
        }
        if (ret < 0 && running == 0)
            break;
    }
    /* the first failure is the story; the others were stopped because of it */
    return ret < 0 ? err_setx(-ret, "%s", first) : 0;
}

static void layer_what(const struct image *img, size_t i, char *buf, size_t size)
{
    char d[DIGEST_STR_SIZE];
    snprintf(buf, size, "layer %zu/%zu (%s)", i + 1, img->n_layers,
             digest_str(&img->layers[i].blob, d));
}

static int unpack_layers(struct import *im, const struct image *img)
{
    struct job *jobs = xcalloc(img->n_layers ? img->n_layers : 1, sizeof(*jobs));
    size_t n = 0;
    int r = 0;
    for (size_t i = 0; i < img->n_layers; i++) {
        const struct image_layer *l = &img->layers[i];
        char path[128], lwhat[64];
        struct digest got;
        snprintf(path, sizeof(path), "blobs/sha256/%s", l->blob.hex);
        snprintf(lwhat, sizeof(lwhat), "layer %zu", i + 1);
        const char *src = im->kind == SRC_SKOPEO_DIR ? l->blob.hex : path;
        bool from_source = im->kind == SRC_OCI || im->kind == SRC_SKOPEO_DIR;
        bool unpacked = have_layer(im, &l->diff_id), dup = false;
        for (size_t k = 0; k < n; k++)
            dup = dup || digest_eq(&jobs[k].diff_id, &l->diff_id);
        /* the blob comes along with the unpacking when a job reads the source anyway */
        bool copy_in_job =
                from_source && !im->src_owned && !unpacked && !dup && !have_blob(im, &l->blob);
        if (from_source && !copy_in_job &&
            (r = fetch_blob(im, src, &l->blob, l->size, lwhat, &got)) < 0)
            goto out;
        if (unpacked || dup) {
            log_debug("layer %s is already unpacked", l->diff_id.hex);
            continue;
        }
        struct job *j = &jobs[n++];
        snprintf(j->label, sizeof(j->label), "%s", lwhat);
        if (copy_in_job) {
            snprintf(j->src_path, sizeof(j->src_path), "%s", src);
            j->blob_size = l->size;
        }
        j->index = i;
        j->blob = l->blob;
        j->diff_id = l->diff_id;
        j->have_diff_id = true;
        j->tee_fd = -1;
        j->src_fd = -1;
        j->err_pipe = -1;
        layer_what(img, i, j->what, sizeof(j->what));
        snprintf(j->tmp, sizeof(j->tmp), ".unpack-%zu", i);
    }
    r = run_jobs(im, jobs, n);
out:
    for (size_t k = 0; k < n; k++) {
        if (jobs[k].pid > 0) {
            kill(jobs[k].pid, SIGKILL);
            waitpid(jobs[k].pid, NULL, 0);
        }
        if (jobs[k].err_pipe >= 0)
            close(jobs[k].err_pipe);
    }
    free(jobs);
    return r;
}

/* Open the unpacked layer (staging or store) as a directory fd of its fs/. */
static int open_layer_dir(struct import *im, const struct digest *diff_id, int *dir)
{
    char rel[128];
    int fd = openat(im->layers_fd, diff_id->hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        layer_relpath(diff_id, rel, sizeof(rel));
        fd = openat(im->s->fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    *dir = fd;
    return 0;
}

static int check_chain(struct import *im, const struct image *img)
{
    size_t n = img->n_layers;
    struct layer_view *views = xcalloc(n ? n : 1, sizeof(*views));
    int *dirs = xcalloc(n ? n : 1, sizeof(int));
    char(*whats)[160] = xcalloc(n ? n : 1, sizeof(*whats));
    struct arena a = {0};
    int r = 0;
    for (size_t i = 0; i < n; i++)
        dirs[i] = views[i].fs_fd = -1;
    for (size_t i = 0; i < n && r == 0; i++) {
        struct layer_meta m;
        layer_what(img, i, whats[i], sizeof(whats[i]));
        views[i].what = whats[i];
        if ((r = open_layer_dir(im, &img->layers[i].diff_id, &dirs[i])) < 0) {
            r = err_set(r, "%s: open the unpacked layer", whats[i]);
            break;
        }
        if ((r = layer_meta_read(dirs[i], &a, &m)) < 0) {
            r = err_prefix(r, "%s", whats[i]);
            break;
        }
        views[i].implicit_dirs = m.implicit_dirs;
        views[i].n_implicit = m.n_implicit;
        views[i].fs_fd = openat(dirs[i], "fs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (views[i].fs_fd < 0)
            r = err_set(errno, "%s: open the unpacked layer", whats[i]);
    }
    if (r == 0)
        r = layer_chain_check(views, n);
    for (size_t i = 0; i < n; i++) {
        if (dirs[i] >= 0)
            close(dirs[i]);
        if (views[i].fs_fd >= 0)
            close(views[i].fs_fd);
    }
    arena_free(&a);
    free(views);
    free(dirs);
    free(whats);
    return r;
}

/* ---- rootfs tarballs ---- */

static char *basename_stem(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *b = slash && slash[1] ? slash + 1 : path;
    char *s = xstrdup(b);
    size_t len = strlen(s);
    while (len > 1 && s[len - 1] == '/')
        s[--len] = '\0';
    static const char *const exts[] = {".gz",  ".tgz", ".zst", ".zstd",   ".xz",     ".txz",
                                       ".bz2", ".tar", ".oci", ".docker", ".archive"};
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
            if (endswith(s, exts[i]) && strlen(s) > strlen(exts[i])) {
                s[strlen(s) - strlen(exts[i])] = '\0';
                again = true;
            }
        }
    }
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

static char *rootfs_config(const struct digest *diff_id, const char *source)
{
    struct jw w;
    char created[64], buf[DIGEST_STR_SIZE];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_nsec = 0;
    format_rfc3339nano(&now, created);
    jw_init(&w, NULL);
    jw_object_begin(&w);
    jw_kv_string(&w, "created", created);
    jw_kv_string(&w, "architecture", host_arch());
    jw_kv_string(&w, "os", "linux");
    jw_key(&w, "config");
    jw_object_begin(&w);
    jw_key(&w, "Env");
    jw_array_begin(&w);
    jw_string(&w, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    jw_array_end(&w);
    jw_key(&w, "Cmd");
    jw_array_begin(&w);
    jw_string(&w, "/bin/sh");
    jw_array_end(&w);
    jw_object_end(&w);
    jw_key(&w, "rootfs");
    jw_object_begin(&w);
    jw_kv_string(&w, "type", "layers");
    jw_key(&w, "diff_ids");
    jw_array_begin(&w);
    jw_string(&w, digest_str(diff_id, buf));
    jw_array_end(&w);
    jw_object_end(&w);
    jw_key(&w, "history");
    jw_array_begin(&w);
    jw_object_begin(&w);
    jw_kv_string(&w, "created", created);
    _cleanup_free_ char *by = xasprintf("berth image import %s", source);
    jw_kv_string(&w, "created_by", by);
    jw_object_end(&w);
    jw_array_end(&w);
    jw_object_end(&w);
    return jw_steal(&w, NULL);
}

static int load_rootfs(struct import *im)
{
    _cleanup_close_ int fd = open(im->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(errno, "open %s", im->path);
    const char *type = sniff_layer_type(fd);
    bool recompress = !startswith(type, "application/");
    struct desc layer = {.media_type = recompress ? MT_OCI_LAYER : type};
    struct job j = {.have_diff_id = false, .tee_fd = -1, .src_fd = fd, .err_pipe = -1};
    _cleanup_free_ char *stem = basename_stem(im->path);
    snprintf(j.what, sizeof(j.what), "rootfs tarball %s", im->path);
    snprintf(j.tmp, sizeof(j.tmp), ".unpack-0");
    char partial[64];
    uint64_t size;
    int r;
    if (!recompress) {
        /* the file as it is becomes the layer blob */
        if ((r = hash_copy(im, fd, false, &layer.digest, &size, partial, sizeof(partial))) < 0 ||
            (r = publish_partial(im, partial, &layer.digest)) < 0)
            return r;
        layer.size = size;
        if (lseek(fd, 0, SEEK_SET) < 0)
            return err_set(errno, "rewind %s", im->path);
    } else {
        /* xz, bzip2...: OCI has no media type for them, keep the plain tar */
        snprintf(partial, sizeof(partial), ".partial-tar");
        j.tee_fd = openat(im->blobs_fd, partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (j.tee_fd < 0)
            return err_set(errno, "create %s/%s/blobs/%s", im->s->root, im->stage_rel, partial);
    }
    struct digest diff_id;
    r = run_job(im, &j, &diff_id);
    if (j.tee_fd >= 0)
        close(j.tee_fd);
    if (r < 0)
        return r;
    if (recompress) {
        /* the plain tar's digest is the diff-id */
        struct stat st;
        if (fstatat(im->blobs_fd, partial, &st, 0) < 0 ||
            (r = publish_partial(im, partial, &diff_id)) < 0)
            return r < 0 ? r : err_set(errno, "stage the decompressed rootfs");
        layer.digest = diff_id;
        layer.size = (uint64_t)st.st_size;
    }
    _cleanup_free_ char *cfg = rootfs_config(&diff_id, stem);
    struct desc config = {.media_type = MT_OCI_CONFIG, .size = strlen(cfg)};
    if ((r = stage_text_blob(im, cfg, config.size, &config.digest)) < 0)
        return r;
    im->manifest_text = oci_manifest_json(&config, &layer, 1, &im->manifest_len);
    return stage_text_blob(im, im->manifest_text, im->manifest_len, &im->manifest);
}

/* ---- naming and commit ---- */

static int choose_name(struct import *im, char *out, size_t size)
{
    if (im->name_arg)
        return image_name_normalize(im->name_arg, out, size);
    _cleanup_free_ char *stem = basename_stem(im->path);
    if (im->ref_name) {
        const char *slash = strrchr(im->ref_name, '/');
        bool full = slash || strchr(im->ref_name, ':');
        if (full)
            return image_name_normalize(im->ref_name, out, size);
        _cleanup_free_ char *n = xasprintf("%s:%s", stem, im->ref_name);
        if (image_name_normalize(n, out, size) == 0)
            return 0;
    }
    if (image_name_normalize(stem, out, size) == 0)
        return 0;
    return err_setx(EINVAL,
                    "%s: cannot make an image name from the file name: give one (berth "
                    "image import %s NAME[:TAG])",
                    im->path, im->path);
}

static int commit_dir_entries(struct import *im, int from, int to, const char *to_name, bool dirs)
{
    _cleanup_close_ int dup_fd = fcntl(from, F_DUPFD_CLOEXEC, 3);
    if (dup_fd < 0)
        return err_set(errno, "dup");
    _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
    if (!d)
        return err_set(errno, "read the staging area");
    dup_fd = -1;
    rewinddir(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (!digest_hex_valid(de->d_name))
            continue;
        if (renameat2(from, de->d_name, to, de->d_name, RENAME_NOREPLACE) == 0)
            continue;
        if (errno != EEXIST)
            return err_set(errno, "move %s into %s/%s", de->d_name, im->s->root, to_name);
        /* another import brought the same content first: keep theirs */
        if (dirs)
            rm_rf_at(from, de->d_name);
        else
            unlinkat(from, de->d_name, 0);
    }
    return 0;
}

static int commit(struct import *im, const char *name)
{
    _cleanup_close_ int lock = -1, blobs = -1, layers = -1;
    int r = imgstore_lock_refs(im->s, &lock);
    if (r < 0)
        return r;
    if ((r = open_dir_at(im->s->fd, "blobs/sha256", false, &blobs)) < 0 ||
        (r = open_dir_at(im->s->fd, "layers", false, &layers)) < 0)
        return err_set(r, "open %s", im->s->root);
    if ((r = commit_dir_entries(im, im->blobs_fd, blobs, "blobs/sha256", false)) < 0 ||
        (r = commit_dir_entries(im, im->layers_fd, layers, "layers", true)) < 0)
        return r;
    return refs_update(im->s, name, &im->manifest);
}

static int do_import(struct import *im, char *name_out, size_t name_size, struct digest *out)
{
    struct stat st;
    if (stat(im->path, &st) < 0)
        return err_set(errno, "image import: %s", im->path);
    int r = stage_init(im);
    if (r < 0)
        return r;
    if (S_ISDIR(st.st_mode)) {
        r = detect_dir(im);
    } else {
        im->is_tar = true;
        r = detect_archive(im);
        if (r == 0 && im->kind != SRC_ROOTFS)
            r = extract_archive(im);
    }
    if (r < 0)
        return r;
    static const char *const kinds[] = {"OCI layout", "skopeo dir", "docker archive",
                                        "rootfs tarball"};
    log_debug("importing %s as %s%s", im->path,
              im->is_tar && im->kind != SRC_ROOTFS ? "tar of " : "", kinds[im->kind]);
    switch (im->kind) {
    case SRC_OCI: r = load_oci(im); break;
    case SRC_SKOPEO_DIR: r = load_skopeo_dir(im); break;
    case SRC_DOCKER: r = load_docker(im); break;
    case SRC_ROOTFS: r = load_rootfs(im); break;
    }
    if (r < 0)
        return r;
    /* the config */
    struct arena a = {0};
    struct json *m;
    r = json_parse(&a, im->manifest_text, im->manifest_len, "manifest", &m);
    const struct json *cfg = r == 0 ? json_get(m, "config") : NULL;
    const struct json *cd = cfg ? json_get(cfg, "digest") : NULL;
    const struct json *cs = cfg ? json_get(cfg, "size") : NULL;
    struct digest config, got;
    uint64_t csize = UINT64_MAX;
    if (r == 0 && (!cd || cd->type != JSON_STRING))
        r = err_setx(EINVAL, "%s: the manifest has no config digest", im->path);
    if (r == 0)
        r = digest_parse(cd->string, "manifest config", &config);
    if (r == 0 && cs && cs->type == JSON_NUMBER)
        parse_u64(cs->number, &csize);
    arena_free(&a);
    if (r < 0)
        return r;
    char path[128];
    snprintf(path, sizeof(path), im->kind == SRC_SKOPEO_DIR ? "%s" : "blobs/sha256/%s", config.hex);
    if (im->kind == SRC_OCI || im->kind == SRC_SKOPEO_DIR) {
        if ((r = fetch_blob(im, path, &config, csize, "image config", &got)) < 0)
            return r;
    }
    _cleanup_free_ char *ctext = NULL;
    size_t clen;
    if ((r = read_blob(im, &config, CONFIG_MAX, &ctext, &clen)) < 0)
        return r;
    _cleanup_image_ struct image *img = NULL;
    if ((r = image_parse(im->path, &im->manifest, im->manifest_text, im->manifest_len, ctext, clen,
                         &img)) < 0)
        return r;
    if (im->kind != SRC_ROOTFS && (r = unpack_layers(im, img)) < 0)
        return r;
    if ((r = check_chain(im, img)) < 0 || (r = choose_name(im, name_out, name_size)) < 0 ||
        (r = commit(im, name_out)) < 0)
        return r;
    *out = im->manifest;
    return 0;
}

int images_import(struct imgstore *s, const char *path, const char *name, char *name_out,
                  size_t name_size, struct digest *out)
{
    int load = archive_api_load();
    if (load < 0)
        return load;
    struct import im = {.s = s,
                        .path = path,
                        .name_arg = name,
                        .src_fd = -1,
                        .stage_fd = -1,
                        .stage_lock = -1,
                        .blobs_fd = -1,
                        .layers_fd = -1};
    if (name) {
        char norm[IMAGE_NAME_MAX + 8];
        int r = image_name_normalize(name, norm, sizeof(norm));
        if (r < 0)
            return r;
    }
    int r = do_import(&im, name_out, name_size, out);
    import_free(&im);
    return r;
}
