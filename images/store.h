/*
 * The image store: a directory (default /var/lib/berth; --image-root or
 * BERTH_IMAGE_ROOT) laid out as
 *
 *   lock                    flock: shared by imports and container setup, exclusive for rm/prune
 *   refs.lock               flock: serializes changes to refs.json and commits of imports
 *   refs.json               {"name:tag": "sha256:<manifest>"}, replaced by rename
 *   blobs/sha256/<hex>      verified blobs: manifests, configs, layers as imported
 *   layers/<diff-id hex>/   one unpacked layer: fs/ (overlayfs lower dir form) and meta.json
 *   containers/<id>/        bundle of a container run from an image (see images.h)
 *   tmp/                    staging of imports in progress (each holds a lock while alive)
 *
 * Nothing appears under blobs/, layers/ or refs.json that is not complete and
 * verified: imports stage in tmp/ and commit by rename(2) (RENAME_NOREPLACE, so two
 * imports of the same layer keep the first and drop the second).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/digest.h"
#include "lib/arena.h"
#include "lib/json.h"

#define STORE_DEFAULT_ROOT "/var/lib/berth"
#define STORE_ROOT_ENV     "BERTH_IMAGE_ROOT"
#define IMAGE_NAME_MAX     256
#define MANIFEST_MAX       (4 << 20)
#define CONFIG_MAX         (8 << 20)

#define MT_OCI_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX     "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG    "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER     "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZ  "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZST "application/vnd.oci.image.layer.v1.tar+zstd"

struct imgstore {
    char *root;
    int fd;      /* the root directory */
    int lock_fd; /* <root>/lock, flocked */
};

/* The store root to use: the option if given, else $BERTH_IMAGE_ROOT, else the default. */
const char *imgstore_root_choose(const char *option);
/* Open (creating the layout if needed) and lock: shared, or exclusive for rm/prune. */
int imgstore_open(const char *root, bool exclusive, struct imgstore **out);
void imgstore_close(struct imgstore *s);
static inline void imgstore_closep(struct imgstore **s)
{
    if (*s)
        imgstore_close(*s);
}
#define _cleanup_imgstore_ __attribute__((cleanup(imgstore_closep)))

/* Take <root>/refs.lock exclusively; returns the fd to close. */
int imgstore_lock_refs(struct imgstore *s, int *fd);
/* Free bytes of the store's filesystem. */
uint64_t imgstore_free_bytes(struct imgstore *s);

/* ---- names ---- */

/* "name" or "name:tag" -> "name:tag" (tag "latest" by default). Names are
 * [a-z0-9] with . _ - / inside; tags [A-Za-z0-9_.-], at most 128. */
int image_name_normalize(const char *in, char *out, size_t size);

struct ref {
    char *name;
    struct digest manifest;
};
/* Every name in refs.json, sorted; the array and names are allocated in arena. */
int refs_load(struct imgstore *s, struct arena *a, struct ref **out, size_t *n);
/* Set or (manifest NULL) remove a name; the caller holds imgstore_lock_refs(). */
int refs_update(struct imgstore *s, const char *name, const struct digest *manifest);

/* A name, a full digest "sha256:..." or a unique prefix of 6+ hex digits of a manifest
 * digest -> manifest digest. -ENOENT with a message when there is no such image. */
int image_resolve(struct imgstore *s, const char *what, struct digest *out);

/* ---- images ---- */

struct image_layer {
    struct digest blob;    /* as stored in blobs/ */
    struct digest diff_id; /* uncompressed: the name of the unpacked layer */
    char *media_type;
    uint64_t size;
};

struct image {
    struct arena arena;
    struct digest manifest, config;
    char *manifest_text, *config_text;
    size_t manifest_len, config_len;
    struct json *manifest_json, *config_json;
    struct image_layer *layers;
    size_t n_layers;
    char *created, *os, *architecture;
};

/* Parse an OCI manifest and its config into an image; both texts are already verified.
 * `what` names the source for errors. Checks that the config has one diff-id per layer
 * and that media types are ones berth can unpack. */
int image_parse(const char *what, const struct digest *manifest, const char *manifest_text,
                size_t manifest_len, const char *config_text, size_t config_len,
                struct image **out);
/* Load an image of the store by manifest digest. */
int image_load(struct imgstore *s, const struct digest *manifest, struct image **out);
void image_free(struct image *img);
static inline void image_freep(struct image **i)
{
    if (*i)
        image_free(*i);
}
#define _cleanup_image_ __attribute__((cleanup(image_freep)))

/* "blobs/sha256/<hex>" and "layers/<hex>" (relative to the store root). */
void blob_relpath(const struct digest *d, char *buf, size_t size);
void layer_relpath(const struct digest *diff_id, char *buf, size_t size);
/* Read a whole blob of the store, verifying it again (max bytes). */
int blob_read(struct imgstore *s, const struct digest *d, size_t max, char **out, size_t *len);

/* A layer's meta.json. */
struct layer_meta {
    uint64_t tar_size, content_size;
    char **implicit_dirs;
    size_t n_implicit;
};
int layer_meta_read(int layer_dirfd, struct arena *a, struct layer_meta *m);
int layer_meta_write(int layer_dirfd, const struct digest *diff_id, const struct layer_meta *m);
