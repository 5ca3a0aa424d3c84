#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "images/store.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"

const char *imgstore_root_choose(const char *option)
{
    if (!str_empty(option))
        return option;
    const char *env = getenv(STORE_ROOT_ENV);
    return str_empty(env) ? STORE_DEFAULT_ROOT : env;
}

static int flock_wait(int fd, int op, const char *what)
{
    if (flock(fd, op | LOCK_NB) == 0)
        return 0;
    if (errno != EWOULDBLOCK)
        return err_set(errno, "lock %s", what);
    log_debug("waiting for the lock on %s", what);
    if (RETRY_EINTR(flock(fd, op)) < 0)
        return err_set(errno, "lock %s", what);
    return 0;
}

static int make_layout(int fd, const char *root)
{
    static const char *const dirs[] = {"blobs", "blobs/sha256", "layers", "containers", "tmp"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
        if (mkdirat(fd, dirs[i], 0700) < 0 && errno != EEXIST)
            return err_set(errno, "create %s/%s", root, dirs[i]);
    return 0;
}

int imgstore_open(const char *root, bool exclusive, struct imgstore **out)
{
    if (root[0] != '/')
        return err_setx(EINVAL, "image store %s: the path must be absolute", root);
    int r = mkdir_p(root, 0700);
    if (r < 0)
        return err_set(r, "create the image store %s (choose another with --image-root or %s)",
                       root, STORE_ROOT_ENV);
    struct imgstore *s = xzalloc(sizeof(*s));
    s->root = xstrdup(root);
    s->lock_fd = -1;
    s->fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->fd < 0) {
        r = err_set(errno, "open the image store %s", root);
        goto fail;
    }
    s->lock_fd = openat(s->fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lock_fd < 0) {
        r = err_set(errno, "open %s/lock", root);
        goto fail;
    }
    char what[PATH_MAX + 32];
    snprintf(what, sizeof(what), "the image store %s", root);
    if ((r = flock_wait(s->lock_fd, exclusive ? LOCK_EX : LOCK_SH, what)) < 0 ||
        (r = make_layout(s->fd, root)) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    imgstore_close(s);
    return r;
}

void imgstore_close(struct imgstore *s)
{
    if (!s)
        return;
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    if (s->fd >= 0)
        close(s->fd);
    free(s->root);
    free(s);
}

int imgstore_lock_refs(struct imgstore *s, int *fd)
{
    _cleanup_close_ int lfd =
            openat(s->fd, "refs.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lfd < 0)
        return err_set(errno, "open %s/refs.lock", s->root);
    _cleanup_free_ char *what = xasprintf("%s/refs.lock", s->root);
    int r = flock_wait(lfd, LOCK_EX, what);
    if (r < 0)
        return r;
    *fd = TAKE_FD(lfd);
    return 0;
}

uint64_t imgstore_free_bytes(struct imgstore *s)
{
    struct statvfs sv;
    if (fstatvfs(s->fd, &sv) < 0)
        return UINT64_MAX;
    return (uint64_t)sv.f_bavail * sv.f_frsize;
}

/* ---- names ---- */

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' || c == '/' || c == ':';
}

int image_name_normalize(const char *in, char *out, size_t size)
{
    const char *slash = strrchr(in, '/');
    const char *colon = strrchr(slash ? slash : in, ':');
    size_t name_len = colon ? (size_t)(colon - in) : strlen(in);
    const char *tag = colon ? colon + 1 : "latest";
    if (name_len == 0 || !isalnum((unsigned char)in[0]))
        return err_setx(EINVAL, "image name \"%s\": must start with a letter or digit", in);
    for (size_t i = 0; i < name_len; i++)
        if (!name_char(in[i]))
            return err_setx(EINVAL, "image name \"%s\": character '%c' is not allowed", in, in[i]);
    size_t tag_len = strlen(tag);
    if (tag_len == 0 || tag_len > 128)
        return err_setx(EINVAL, "image name \"%s\": the tag must have 1 to 128 characters", in);
    for (size_t i = 0; i < tag_len; i++)
        if (!isalnum((unsigned char)tag[i]) && tag[i] != '_' && tag[i] != '.' && tag[i] != '-')
            return err_setx(EINVAL, "image name \"%s\": character '%c' is not allowed in a tag", in,
                            tag[i]);
    if (name_len + 1 + tag_len + 1 > size || name_len + 1 + tag_len >= IMAGE_NAME_MAX)
        return err_setx(ENAMETOOLONG, "image name \"%s\" is too long", in);
    snprintf(out, size, "%.*s:%s", (int)name_len, in, tag);
    return 0;
}

static int cmp_ref(const void *a, const void *b)
{
    return strcmp(((const struct ref *)a)->name, ((const struct ref *)b)->name);
}

int refs_load(struct imgstore *s, struct arena *a, struct ref **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_file_at(s->fd, "refs.json", 16 << 20, &text, &len);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return err_set(r, "read %s/refs.json", s->root);
    struct json *v;
    _cleanup_free_ char *what = xasprintf("%s/refs.json", s->root);
    if ((r = json_parse(a, text, len, what, &v)) < 0)
        return r;
    if (v->type != JSON_OBJECT)
        return err_setx(EINVAL, "%s: expected an object", what);
    struct ref *refs = arena_alloc_array(a, v->n ? v->n : 1, sizeof(*refs));
    for (size_t i = 0; i < v->n; i++) {
        const struct json *d = v->object.values[i];
        if (d->type != JSON_STRING || digest_parse(d->string, what, &refs[*n].manifest) < 0) {
            log_warn("%s: ignoring the entry \"%s\" (not a digest)", what, v->object.keys[i]);
            continue;
        }
        refs[*n].name = arena_strdup(a, v->object.keys[i]);
        (*n)++;
    }
    qsort(refs, *n, sizeof(*refs), cmp_ref);
    *out = refs;
    return 0;
}

int refs_update(struct imgstore *s, const char *name, const struct digest *manifest)
{
    struct arena a = {0};
    struct ref *refs;
    size_t n;
    int r = refs_load(s, &a, &refs, &n);
    if (r < 0)
        goto out;
    struct jw w;
    jw_init(&w, "  ");
    jw_object_begin(&w);
    char buf[DIGEST_STR_SIZE];
    for (size_t i = 0; i < n; i++)
        if (!streq(refs[i].name, name))
            jw_kv_string(&w, refs[i].name, digest_str(&refs[i].manifest, buf));
    if (manifest)
        jw_kv_string(&w, name, digest_str(manifest, buf));
    jw_object_end(&w);
    jw_putc(&w, '\n');
    r = write_file_atomic_at(s->fd, "refs.json", w.buf, w.len, 0600);
    jw_free(&w);
    if (r < 0)
        r = err_set(r, "write %s/refs.json", s->root);
out:
    arena_free(&a);
    return r;
}

int image_resolve(struct imgstore *s, const char *what, struct digest *out)
{
    if (startswith(what, "sha256:"))
        return digest_parse(what, "image", out);
    struct arena a = {0};
    struct ref *refs;
    size_t n;
    int r = refs_load(s, &a, &refs, &n);
    char name[IMAGE_NAME_MAX + 8];
    bool named = r == 0 && image_name_normalize(what, name, sizeof(name)) == 0;
    err_clear();
    size_t hex_len = strlen(what), found = 0;
    bool hex = hex_len >= 6 && hex_len <= DIGEST_HEX_LEN;
    for (size_t i = 0; hex && what[i]; i++)
        hex = isxdigit((unsigned char)what[i]) && !isupper((unsigned char)what[i]);
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (named && streq(refs[i].name, name)) {
            *out = refs[i].manifest;
            arena_free(&a);
            return 0;
        }
    }
    for (size_t i = 0; r == 0 && hex && i < n; i++) {
        if (strncmp(refs[i].manifest.hex, what, hex_len) != 0)
            continue;
        if (found && !digest_eq(out, &refs[i].manifest)) {
            arena_free(&a);
            return err_setx(EINVAL, "image \"%s\": the digest prefix matches several images", what);
        }
        *out = refs[i].manifest;
        found++;
    }
    arena_free(&a);
    if (r < 0)
        return r;
    if (found)
        return 0;
    return err_setx(ENOENT,
                    "image \"%s\" not found in %s: import it first (berth image import FILE %s)",
                    what, s->root, what);
}

/* ---- images ---- */

void blob_relpath(const struct digest *d, char *buf, size_t size)
{
    snprintf(buf, size, "blobs/sha256/%s", d->hex);
}

void layer_relpath(const struct digest *diff_id, char *buf, size_t size)
{
    snprintf(buf, size, "layers/%s", diff_id->hex);
}

int blob_read(struct imgstore *s, const struct digest *d, size_t max, char **out, size_t *len)
{
    char rel[128], buf[DIGEST_STR_SIZE];
    blob_relpath(d, rel, sizeof(rel));
    _cleanup_free_ char *text = NULL;
    int r = read_file_at(s->fd, rel, max, &text, len);
    if (r == -EFBIG)
        return err_setx(EFBIG, "blob %s in %s is larger than %zu bytes", digest_str(d, buf),
                        s->root, max);
    if (r < 0)
        return err_set(r, "read blob %s from %s", digest_str(d, buf), s->root);
    struct digest got;
    digest_buf(text, *len, &got);
    if (!digest_eq(&got, d))
        return err_setx(EIO, "blob %s in %s is corrupt (its content hashes to sha256:%s)",
                        digest_str(d, buf), s->root, got.hex);
    *out = TAKE_PTR(text);
    return 0;
}

static bool layer_type_supported(const char *mt)
{
    static const char *const ok[] = {
            MT_OCI_LAYER,
            MT_OCI_LAYER_GZ,
            MT_OCI_LAYER_ZST,
            "application/vnd.docker.image.rootfs.diff.tar",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.docker.image.rootfs.diff.tar.zstd",
    };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
        if (streq(mt, ok[i]))
            return true;
    return false;
}

static int parse_descriptor(const struct jctx *c, const struct json *o, const struct jpath *p,
                            struct digest *d, char **mt, uint64_t *size)
{
    char *digest = NULL;
    int r = jv_object(c, o, p);
    if (r < 0 || (r = jo_req_string(c, o, p, "mediaType", mt)) < 0 ||
        (r = jo_req_string(c, o, p, "digest", &digest)) < 0 ||
        (r = jo_req_uint(c, o, p, "size", UINT64_MAX, size)) < 0)
        return r;
    char where[256];
    jpath_format(JP_KEY(p, "digest"), where, sizeof(where));
    _cleanup_free_ char *w = xasprintf("%s: %s", c->what, where);
    return digest_parse(digest, w, d);
}

static int parse_manifest(struct image *img, const char *what)
{
    struct jctx c = {what, &img->arena};
    const struct json *m = img->manifest_json;
    struct json *cfg, *layers;
    char *cfg_mt;
    uint64_t cfg_size;
    if (m->type != JSON_OBJECT)
        return err_setx(EINVAL, "%s: the manifest is not a JSON object", what);
    int r = jo_require(&c, m, NULL, "config", &cfg);
    if (r < 0 || (r = parse_descriptor(&c, cfg, JP_KEY(NULL, "config"), &img->config, &cfg_mt,
                                       &cfg_size)) < 0)
        return r;
    if ((r = jo_array(&c, m, NULL, "layers", &layers)) < 0)
        return r;
    img->n_layers = r ? layers->n : 0;
    img->layers =
            arena_alloc_array(&img->arena, img->n_layers ? img->n_layers : 1, sizeof(*img->layers));
    for (size_t i = 0; i < img->n_layers; i++) {
        struct image_layer *l = &img->layers[i];
        const struct jpath *p = JP_IDX(JP_KEY(NULL, "layers"), i);
        if ((r = parse_descriptor(&c, layers->items[i], p, &l->blob, &l->media_type, &l->size)) < 0)
            return r;
        if (!layer_type_supported(l->media_type))
            return err_setx(ENOTSUP, "%s: layer %zu has media type %s, which berth cannot unpack",
                            what, i + 1, l->media_type);
    }
    return 0;
}

static int parse_config(struct image *img, const char *what)
{
    struct jctx c = {what, &img->arena};
    const struct json *v = img->config_json;
    struct json *rootfs, *ids;
    if (v->type != JSON_OBJECT)
        return err_setx(EINVAL, "%s: the image config is not a JSON object", what);
    int r = jo_require(&c, v, NULL, "rootfs", &rootfs);
    if (r < 0 || (r = jo_require(&c, rootfs, JP_KEY(NULL, "rootfs"), "diff_ids", &ids)) < 0 ||
        (r = jv_array(&c, ids, JP_KEY(JP_KEY(NULL, "rootfs"), "diff_ids"))) < 0)
        return r;
    if (ids->n != img->n_layers)
        return err_setx(EINVAL, "%s: the config lists %zu diff_ids for %zu layers", what, ids->n,
                        img->n_layers);
    for (size_t i = 0; i < ids->n; i++) {
        char *s;
        const struct jpath *p = JP_IDX(JP_KEY(JP_KEY(NULL, "rootfs"), "diff_ids"), i);
        if ((r = jv_string(&c, ids->items[i], p, &s)) < 0 ||
            (r = digest_parse(s, "config rootfs.diff_ids", &img->layers[i].diff_id)) < 0)
            return r;
    }
    if (jo_string(&c, v, NULL, "created", &img->created) < 0 ||
        jo_string(&c, v, NULL, "os", &img->os) < 0 ||
        jo_string(&c, v, NULL, "architecture", &img->architecture) < 0)
        return -EINVAL;
    if (img->os && !streq(img->os, "linux"))
        return err_setx(ENOTSUP, "%s: the image is for %s, not linux", what, img->os);
    return 0;
}

int image_parse(const char *what, const struct digest *manifest, const char *manifest_text,
                size_t manifest_len, const char *config_text, size_t config_len, struct image **out)
{
    struct image *img = xzalloc(sizeof(*img));
    img->manifest = *manifest;
    img->manifest_text = arena_strndup(&img->arena, manifest_text, manifest_len);
    img->manifest_len = manifest_len;
    _cleanup_free_ char *mwhat = xasprintf("%s: manifest", what);
    _cleanup_free_ char *cwhat = xasprintf("%s: config", what);
    int r = json_parse(&img->arena, manifest_text, manifest_len, mwhat, &img->manifest_json);
    if (r < 0 || (r = parse_manifest(img, mwhat)) < 0)
        goto fail;
    img->config_text = arena_strndup(&img->arena, config_text, config_len);
    img->config_len = config_len;
    if ((r = json_parse(&img->arena, config_text, config_len, cwhat, &img->config_json)) < 0 ||
        (r = parse_config(img, cwhat)) < 0)
        goto fail;
    *out = img;
    return 0;
fail:
    image_free(img);
    return r;
}

int image_load(struct imgstore *s, const struct digest *manifest, struct image **out)
{
    _cleanup_free_ char *mtext = NULL, *ctext = NULL;
    size_t mlen, clen;
    char buf[DIGEST_STR_SIZE];
    int r = blob_read(s, manifest, MANIFEST_MAX, &mtext, &mlen);
    if (r < 0)
        return r;
    /* the config digest is in the manifest: parse it once to find it */
    struct arena a = {0};
    struct json *m, *cfg;
    struct digest cd;
    r = json_parse(&a, mtext, mlen, "manifest", &m);
    if (r == 0) {
        cfg = json_get(m, "config");
        const struct json *d = cfg ? json_get(cfg, "digest") : NULL;
        r = d && d->type == JSON_STRING ? digest_parse(d->string, "manifest config", &cd)
                                        : err_setx(EINVAL, "manifest %s has no config digest",
                                                   digest_str(manifest, buf));
    }
    arena_free(&a);
    if (r < 0 || (r = blob_read(s, &cd, CONFIG_MAX, &ctext, &clen)) < 0)
        return r;
    _cleanup_free_ char *what = xasprintf("image %s", digest_str(manifest, buf));
    return image_parse(what, manifest, mtext, mlen, ctext, clen, out);
}

void image_free(struct image *img)
{
    if (!img)
        return;
    arena_free(&img->arena);
    free(img);
}

/* ---- layer metadata ---- */

int layer_meta_read(int layer_dirfd, struct arena *a, struct layer_meta *m)
{
    memset(m, 0, sizeof(*m));
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_file_at(layer_dirfd, "meta.json", 16 << 20, &text, &len);
    if (r < 0)
        return err_set(r, "read the layer's meta.json");
    struct json *v;
    struct jctx c = {"layer meta.json", a};
    if ((r = json_parse(a, text, len, "layer meta.json", &v)) < 0)
        return r;
    struct opt_u64 ts = {0}, cs = {0};
    if ((r = jo_opt_u64(&c, v, NULL, "size", &ts)) < 0 ||
        (r = jo_opt_u64(&c, v, NULL, "contentSize", &cs)) < 0 ||
        (r = jo_strv(&c, v, NULL, "implicitDirs", &m->implicit_dirs, &m->n_implicit)) < 0)
        return r;
    m->tar_size = ts.v;
    m->content_size = cs.v;
    return 0;
}

int layer_meta_write(int layer_dirfd, const struct digest *diff_id, const struct layer_meta *m)
{
    struct jw w;
    char buf[DIGEST_STR_SIZE];
    jw_init(&w, "  ");
    jw_object_begin(&w);
    jw_kv_string(&w, "diffId", digest_str(diff_id, buf));
    jw_kv_uint(&w, "size", m->tar_size);
    jw_kv_uint(&w, "contentSize", m->content_size);
    jw_key(&w, "implicitDirs");
    jw_array_begin(&w);
    for (size_t i = 0; i < m->n_implicit; i++)
        jw_string(&w, m->implicit_dirs[i]);
    jw_array_end(&w);
    jw_object_end(&w);
    jw_putc(&w, '\n');
    int r = write_file_atomic_at(layer_dirfd, "meta.json", w.buf, w.len, 0600);
    jw_free(&w);
    return r < 0 ? err_set(r, "write the layer's meta.json") : 0;
}
