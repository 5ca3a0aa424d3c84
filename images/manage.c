/* image ls, inspect, rm, prune, export, and the built-in default image. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/archive_api.h"
#include "images/images.h"
#include "images/internal.h"
#include "images/store.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"

/* ---- containers that use images ---- */

struct user {
    char *id;
    struct digest image;
};

/* The containers of the store and the image each uses (stale dirs are skipped). */
static int container_users(struct imgstore *s, struct arena *a, struct user **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    _cleanup_close_ int cfd = openat(s->fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0)
        return err_set(errno, "open %s/containers", s->root);
    _cleanup_closedir_ DIR *d = fdopendir(cfd);
    if (!d)
        return err_set(errno, "read %s/containers", s->root);
    cfd = -1;
    struct dirent *de;
    size_t cap = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        _cleanup_free_ char *rel = xasprintf("%s/record.json", de->d_name);
        _cleanup_free_ char *text = NULL;
        struct json *v, *img;
        struct digest dg;
        if (read_file_at(dirfd(d), rel, 1 << 20, &text, NULL) < 0 ||
            json_parse(a, text, strlen(text), "record", &v) < 0 || !(img = json_get(v, "image")) ||
            img->type != JSON_STRING || digest_parse(img->string, "record", &dg) < 0) {
            err_clear();
            continue; /* being made: its image is pinned by the creator's store lock */
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            struct user *u = arena_alloc_array(a, cap, sizeof(*u));
            if (*n)
                memcpy(u, *out, *n * sizeof(*u));
            *out = u;
        }
        (*out)[(*n)++] = (struct user){arena_strdup(a, de->d_name), dg};
    }
    return 0;
}

/* ---- rm ---- */

int images_remove(struct imgstore *s, const char *what)
{
    struct digest d;
    int r = image_resolve(s, what, &d);
    if (r < 0)
        return r;
    struct arena a = {0};
    struct ref *refs;
    struct user *users;
    size_t n_refs, n_users;
    _cleanup_close_ int lock = -1;
    if ((r = imgstore_lock_refs(s, &lock)) < 0 || (r = refs_load(s, &a, &refs, &n_refs)) < 0 ||
        (r = container_users(s, &a, &users, &n_users)) < 0)
        goto out;
    /* the names to remove: the one given, or every name of a digest given */
    char name[IMAGE_NAME_MAX + 8] = "";
    bool by_name = false;
    for (size_t i = 0; i < n_refs; i++) {
        char norm[IMAGE_NAME_MAX + 8];
        if (image_name_normalize(what, norm, sizeof(norm)) == 0 && streq(norm, refs[i].name)) {
            snprintf(name, sizeof(name), "%s", norm);
            by_name = true;
        }
    }
    err_clear();
    size_t other_names = 0;
    for (size_t i = 0; i < n_refs; i++)
        if (digest_eq(&refs[i].manifest, &d) && !(by_name && streq(refs[i].name, name)))
            other_names++;
    if (!by_name || other_names == 0) {
        char ids[1024] = "";
        size_t count = 0;
        for (size_t i = 0; i < n_users; i++) {
            if (!digest_eq(&users[i].image, &d) || images_container_dirs_stale(s, users[i].id))
                continue;
            size_t l = strlen(ids);
            snprintf(ids + l, sizeof(ids) - l, "%s%s", l ? ", " : "", users[i].id);
            count++;
        }
        if (count) {
            r = err_setx(EBUSY,
                         "image %s is used by container%s %s: delete %s first (berth delete ID)",
                         what, count > 1 ? "s" : "", ids, count > 1 ? "them" : "it");
            goto out;
        }
    }
    for (size_t i = 0; i < n_refs && r == 0; i++)
        if (by_name ? streq(refs[i].name, name) : digest_eq(&refs[i].manifest, &d))
            r = refs_update(s, refs[i].name, NULL);
out:
    arena_free(&a);
    return r;
}

/* ---- prune ---- */

struct marks {
    char (*hex)[DIGEST_HEX_LEN + 1];
    size_t n, cap;
};

static void mark(struct marks *m, const struct digest *d)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->hex = xreallocarray(m->hex, m->cap, sizeof(*m->hex));
    }
    memcpy(m->hex[m->n++], d->hex, DIGEST_HEX_LEN + 1);
}

static bool marked(const struct marks *m, const char *hex)
{
    for (size_t i = 0; i < m->n; i++)
        if (streq(m->hex[i], hex))
            return true;
    return false;
}

static int mark_image(struct imgstore *s, const struct digest *d, struct marks *blobs,
                      struct marks *layers)
{
    mark(blobs, d);
    _cleanup_image_ struct image *img = NULL;
    int r = image_load(s, d, &img);
    if (r < 0)
        return r;
    mark(blobs, &img->config);
    for (size_t i = 0; i < img->n_layers; i++) {
        mark(blobs, &img->layers[i].blob);
        mark(layers, &img->layers[i].diff_id);
    }
    return 0;
}

static uint64_t tree_size(int dfd, const char *name)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return (uint64_t)st.st_blocks * 512;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    uint64_t sum = (uint64_t)st.st_blocks * 512;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
            sum += tree_size(dirfd(d), de->d_name);
    return sum;
}

static int sweep(struct imgstore *s, const char *dir, const struct marks *keep, size_t *count,
                 uint64_t *bytes)
{
    _cleanup_close_ int fd = openat(s->fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d)
        return err_set(errno, "read %s/%s", s->root, dir);
    fd = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || marked(keep, de->d_name))
            continue;
        uint64_t size = tree_size(dirfd(d), de->d_name);
        int r = rm_rf_at(dirfd(d), de->d_name);
        if (r < 0)
            return err_set(r, "remove %s/%s/%s", s->root, dir, de->d_name);
        log_debug("pruned %s/%s", dir, de->d_name);
        (*count)++;
        *bytes += size;
    }
    return 0;
}

int images_prune(struct imgstore *s, struct prune_stats *st)
{
    memset(st, 0, sizeof(*st));
    struct arena a = {0};
    struct marks blobs = {0}, layers = {0};
    struct ref *refs;
    struct user *users;
    size_t n_refs, n_users;
    int cfd = openat(s->fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = refs_load(s, &a, &refs, &n_refs);
    if (r < 0 || (r = container_users(s, &a, &users, &n_users)) < 0)
        goto out;
    /* bundles left by containers that no longer exist */
    for (size_t i = 0; i < n_users; i++) {
        if (cfd >= 0 && images_container_dirs_stale(s, users[i].id)) {
            st->bytes += tree_size(cfd, users[i].id);
            if (rm_rf_at(cfd, users[i].id) == 0) {
                st->containers++;
                continue;
            }
        }
        if ((r = mark_image(s, &users[i].image, &blobs, &layers)) < 0)
            log_warn("container %s: %s", users[i].id, err_msg());
    }
    for (size_t i = 0; i < n_refs; i++) {
        if (mark_image(s, &refs[i].manifest, &blobs, &layers) < 0) {
            /* keep what can still be found, never delete on a guess */
            r = err_prefix(-EIO, "image %s is damaged; not pruning", refs[i].name);
            goto out;
        }
    }
    r = sweep(s, "blobs/sha256", &blobs, &st->blobs, &st->bytes);
    if (r == 0)
        r = sweep(s, "layers", &layers, &st->layers, &st->bytes);
out:
    if (cfd >= 0)
        close(cfd);
    free(blobs.hex);
    free(layers.hex);
    arena_free(&a);
    return r;
}

/* ---- ls / inspect ---- */

static uint64_t unpacked_size(struct imgstore *s, const struct image *img)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < img->n_layers; i++) {
        char rel[128];
        layer_relpath(&img->layers[i].diff_id, rel, sizeof(rel));
        _cleanup_close_ int fd = openat(s->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct arena a = {0};
        struct layer_meta m;
        if (fd >= 0 && layer_meta_read(fd, &a, &m) == 0)
            sum += m.content_size;
        arena_free(&a);
    }
    err_clear();
    return sum;
}

static uint64_t blob_size(const struct image *img)
{
    uint64_t sum = img->manifest_len + img->config_len;
    for (size_t i = 0; i < img->n_layers; i++)
        sum += img->layers[i].size;
    return sum;
}

int images_list_json(struct imgstore *s, char **out)
{
    struct arena a = {0};
    struct ref *refs;
    size_t n;
    int r = refs_load(s, &a, &refs, &n);
    if (r < 0)
        goto out;
    struct jw w;
    char buf[DIGEST_STR_SIZE];
    jw_init(&w, NULL);
    jw_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        _cleanup_image_ struct image *img = NULL;
        jw_object_begin(&w);
        jw_kv_string(&w, "name", refs[i].name);
        jw_kv_string(&w, "digest", digest_str(&refs[i].manifest, buf));
        if (image_load(s, &refs[i].manifest, &img) == 0) {
            jw_kv_string(&w, "created", img->created ? img->created : "");
            jw_kv_uint(&w, "size", blob_size(img));
            jw_kv_uint(&w, "unpackedSize", unpacked_size(s, img));
            jw_kv_uint(&w, "layers", img->n_layers);
        } else {
            jw_kv_string(&w, "error", err_msg());
            err_clear();
        }
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_putc(&w, '\n');
    *out = jw_steal(&w, NULL);
out:
    arena_free(&a);
    return r;
}

static void human(uint64_t v, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    size_t u = 0;
    while (d >= 1024 && u + 1 < ARRAY_SIZE(units)) {
        d /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", d, units[u]);
}

int images_list_table(struct imgstore *s, char **out)
{
    struct arena a = {0};
    struct ref *refs;
    size_t n;
    int r = refs_load(s, &a, &refs, &n);
    if (r < 0) {
        arena_free(&a);
        return r;
    }
    size_t width = 4;
    for (size_t i = 0; i < n; i++)
        if (strlen(refs[i].name) > width)
            width = strlen(refs[i].name);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        die_oom();
    fprintf(f, "%-*s   %-12s   %-20s   %-10s   %s\n", (int)width, "NAME", "DIGEST", "CREATED",
            "SIZE", "LAYERS");
    for (size_t i = 0; i < n; i++) {
        _cleanup_image_ struct image *img = NULL;
        char size[32] = "?", created[32] = "?", layers[16] = "?";
        if (image_load(s, &refs[i].manifest, &img) == 0) {
            human(unpacked_size(s, img), size, sizeof(size));
            snprintf(created, sizeof(created), "%.19s", img->created ? img->created : "");
            snprintf(layers, sizeof(layers), "%zu", img->n_layers);
        }
        err_clear();
        fprintf(f, "%-*s   %.12s   %-20s   %-10s   %s\n", (int)width, refs[i].name,
                refs[i].manifest.hex, created, size, layers);
    }
    if (fclose(f) != 0)
        die_oom();
    *out = buf;
    arena_free(&a);
    return 0;
}

int images_inspect_json(struct imgstore *s, const char *what, char **out)
{
    struct digest d;
    int r = image_resolve(s, what, &d);
    if (r < 0)
        return r;
    _cleanup_image_ struct image *img = NULL;
    if ((r = image_load(s, &d, &img)) < 0)
        return r;
    struct arena a = {0};
    struct ref *refs;
    size_t n;
    if ((r = refs_load(s, &a, &refs, &n)) < 0) {
        arena_free(&a);
        return r;
    }
    struct jw w;
    char buf[DIGEST_STR_SIZE];
    jw_init(&w, "  ");
    jw_object_begin(&w);
    jw_key(&w, "names");
    jw_array_begin(&w);
    for (size_t i = 0; i < n; i++)
        if (digest_eq(&refs[i].manifest, &d))
            jw_string(&w, refs[i].name);
    jw_array_end(&w);
    jw_kv_string(&w, "digest", digest_str(&d, buf));
    jw_kv_string(&w, "configDigest", digest_str(&img->config, buf));
    jw_kv_string(&w, "created", img->created ? img->created : "");
    jw_kv_string(&w, "os", img->os ? img->os : "");
    jw_kv_string(&w, "architecture", img->architecture ? img->architecture : "");
    jw_kv_uint(&w, "size", blob_size(img));
    jw_kv_uint(&w, "unpackedSize", unpacked_size(s, img));
    jw_key(&w, "layers");
    jw_array_begin(&w);
    for (size_t i = 0; i < img->n_layers; i++) {
        jw_object_begin(&w);
        jw_kv_string(&w, "digest", digest_str(&img->layers[i].blob, buf));
        jw_kv_string(&w, "diffId", digest_str(&img->layers[i].diff_id, buf));
        jw_kv_string(&w, "mediaType", img->layers[i].media_type);
        jw_kv_uint(&w, "size", img->layers[i].size);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_key(&w, "config");
    jw_raw(&w, img->config_text, img->config_len);
    jw_object_end(&w);
    jw_putc(&w, '\n');
    *out = jw_steal(&w, NULL);
    arena_free(&a);
    return 0;
}

/* ---- export ---- */

static int add_member(struct archive *ar, const char *name, const void *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    int r = archive_write_header(ar, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK || (len && archive_write_data(ar, data, len) != (la_ssize_t)len))
        return err_setx(EIO, "write %s: %s", name, archive_error_string(ar));
    return 0;
}

static int add_dir(struct archive *ar, const char *name)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFDIR);
    archive_entry_set_perm(e, 0755);
    int r = archive_write_header(ar, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? 0 : err_setx(EIO, "write %s: %s", name, archive_error_string(ar));
}

static int add_blob(struct imgstore *s, struct archive *ar, const struct digest *d)
{
    char rel[128], name[128], buf[DIGEST_STR_SIZE];
    blob_relpath(d, rel, sizeof(rel));
    _cleanup_close_ int fd = openat(s->fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return err_set(errno, "open blob %s of %s (run 'berth image import' again to repair)",
                       digest_str(d, buf), s->root);
    struct archive_entry *e = archive_entry_new();
    snprintf(name, sizeof(name), "blobs/sha256/%s", d->hex);
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, st.st_size);
    int r = archive_write_header(ar, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return err_setx(EIO, "write %s: %s", name, archive_error_string(ar));
    _cleanup_free_ char *data = xmalloc(1 << 20);
    _cleanup_hasher_ struct hasher h = {0};
    hasher_init(&h);
    for (;;) {
        ssize_t n = RETRY_EINTR(read(fd, data, 1 << 20));
        if (n < 0)
            return err_set(errno, "read blob %s", digest_str(d, buf));
        if (n == 0)
            break;
        hasher_update(&h, data, (size_t)n);
        if (archive_write_data(ar, data, (size_t)n) != n)
            return err_setx(EIO, "write %s: %s", name, archive_error_string(ar));
    }
    struct digest got;
    hasher_final(&h, &got);
    if (!digest_eq(&got, d))
        return err_setx(EIO, "blob %s in %s is corrupt (it hashes to sha256:%s)",
                        digest_str(d, buf), s->root, got.hex);
    return 0;
}

static char *index_json(const struct image *img, const char *ref_name)
{
    struct jw w;
    char buf[DIGEST_STR_SIZE];
    jw_init(&w, NULL);
    jw_object_begin(&w);
    jw_kv_int(&w, "schemaVersion", 2);
    jw_kv_string(&w, "mediaType", MT_OCI_INDEX);
    jw_key(&w, "manifests");
    jw_array_begin(&w);
    jw_object_begin(&w);
    jw_kv_string(&w, "mediaType", MT_OCI_MANIFEST);
    jw_kv_string(&w, "digest", digest_str(&img->manifest, buf));
    jw_kv_uint(&w, "size", img->manifest_len);
    if (ref_name) {
        jw_key(&w, "annotations");
        jw_object_begin(&w);
        jw_kv_string(&w, "org.opencontainers.image.ref.name", ref_name);
        jw_object_end(&w);
    }
    jw_object_end(&w);
    jw_array_end(&w);
    jw_object_end(&w);
    jw_putc(&w, '\n');
    return jw_steal(&w, NULL);
}

static int write_layout(struct imgstore *s, const struct image *img, const char *ref_name, int fd)
{
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}\n";
    _cleanup_free_ char *index = index_json(img, ref_name);
    struct archive *ar = archive_write_new();
    if (!ar)
        die_oom();
    archive_write_set_format_pax_restricted(ar);
    int r = 0;
    if (archive_write_open_fd(ar, fd) != ARCHIVE_OK) {
        r = err_setx(EIO, "%s", archive_error_string(ar));
        goto out;
    }

    if ((r = add_member(ar, "oci-layout", layout, strlen(layout))) < 0 ||
        (r = add_member(ar, "index.json", index, strlen(index))) < 0 ||
        (r = add_dir(ar, "blobs/")) < 0 || (r = add_dir(ar, "blobs/sha256/")) < 0 ||
        (r = add_blob(s, ar, &img->manifest)) < 0 || (r = add_blob(s, ar, &img->config)) < 0)
        goto out;
    for (size_t i = 0; i < img->n_layers; i++) {
        bool dup = false;
        for (size_t k = 0; k < i; k++)
            dup = dup || digest_eq(&img->layers[k].blob, &img->layers[i].blob);
        if (!dup && (r = add_blob(s, ar, &img->layers[i].blob)) < 0)
            goto out;
    }
    if (archive_write_close(ar) != ARCHIVE_OK)
        r = err_setx(EIO, "%s", archive_error_string(ar));
out:
    archive_write_free(ar);
    return r;
}

int images_export(struct imgstore *s, const char *what, const char *file)
{
    int load = archive_api_load();
    if (load < 0)
        return load;
    struct digest d;
    int r = image_resolve(s, what, &d);
    if (r < 0)
        return r;
    _cleanup_image_ struct image *img = NULL;
    if ((r = image_load(s, &d, &img)) < 0)
        return r;
    /* the name to record: the one asked for when it is a name */
    char ref[IMAGE_NAME_MAX + 8];
    bool named = !startswith(what, "sha256:") && image_name_normalize(what, ref, sizeof(ref)) == 0;
    err_clear();
    if (streq(file, "-"))
        return err_prefix(write_layout(s, img, named ? ref : NULL, STDOUT_FILENO), "export %s",
                          what);
    _cleanup_free_ char *copy = xstrdup(file);
    char *slash = strrchr(copy, '/');
    const char *dir = slash ? (slash == copy ? "/" : copy) : ".";
    const char *base = slash ? slash + 1 : copy;
    if (slash)
        *slash = '\0';
    if (!*base)
        return err_setx(EINVAL, "export: %s names a directory, not a file", file);
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return err_set(errno, "export: open directory %s", dir);
    _cleanup_free_ char *tmp = xasprintf(".%s.%d.tmp", base, (int)getpid());
    _cleanup_close_ int fd =
            openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(errno, "export: create %s/%s", dir, tmp);
    r = write_layout(s, img, named ? ref : NULL, fd);
    if (r == 0 && fsync(fd) < 0)
        r = err_set(errno, "export: write %s", file);
    if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
        r = err_set(errno, "export: rename to %s", file);
    if (r < 0) {
        unlinkat(dfd, tmp, 0);
        return err_prefix(r, "export %s to %s", what, file);
    }
    return 0;
}

/* ---- the default image ---- */

int images_default_path(char **out)
{
    const char *env = getenv(IMAGES_DEFAULT_ENV);
    if (!str_empty(env)) {
        *out = xstrdup(env);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            _cleanup_free_ char *p = xasprintf("%s/images/default-image.tar", exe);
            if (access(p, R_OK) == 0) {
                *out = TAKE_PTR(p);
                return 0;
            }
        }
    }
    _cleanup_free_ char *p = xasprintf("%s/default-image.tar", BERTH_PKGDATADIR);
    if (access(p, R_OK) == 0) {
        *out = TAKE_PTR(p);
        return 0;
    }
    return err_setx(ENOENT,
                    "the built-in default image was not found (%s, images/default-image.tar "
                    "next to berth, or %s): build it with make, or set %s",
                    IMAGES_DEFAULT_ENV, p, IMAGES_DEFAULT_ENV);
}

int images_resolve_or_default(struct imgstore *s, const char *what, struct digest *out)
{
    int r = image_resolve(s, what, out);
    if (r != -ENOENT)
        return r;
    char norm[IMAGE_NAME_MAX + 8];
    if (image_name_normalize(what, norm, sizeof(norm)) < 0 || !streq(norm, IMAGES_DEFAULT_NAME)) {
        err_clear();
        return image_resolve(s, what, out);
    }
    _cleanup_free_ char *path = NULL;
    if ((r = images_default_path(&path)) < 0)
        return r;
    log_debug("importing the built-in default image from %s", path);
    char name[IMAGE_NAME_MAX + 8];
    r = images_import(s, path, IMAGES_DEFAULT_NAME, name, sizeof(name), out);
    return r < 0 ? err_prefix(r, "import the built-in default image") : 0;
}
