/*
 * Images: the content-addressed store (default /var/lib/berth), imports of OCI
 * layouts, docker archives and rootfs tarballs, layer unpacking, overlay
 * snapshots, and bundles generated from an image config for `run --image`.
 *
 * How a container runs from an image without a host mount to leak: the
 * generated config.json carries the annotation
 *   org.berth.rootfs.overlay = "lowerdir=A:B,upperdir=U,workdir=W"
 * and the container process mounts that overlayfs on root.path inside its own
 * mount namespace (runtime/rootfs.c). The store keeps the snapshot's upper and
 * work dirs until the container is deleted.
 *
 * The store's layout is described in images/store.h, bundles in images/bundle.h.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define IMAGES_OVERLAY_ANNOTATION "org.berth.rootfs.overlay"
#define IMAGES_DEFAULT_NAME       "default:latest"
#define IMAGES_DEFAULT_ENV        "BERTH_DEFAULT_IMAGE"

struct imgstore;
struct digest;

/* Called by `delete` with the record `run --image` left in the container's state
 * (create_opts.image_record): remove the generated bundle and the snapshot, and
 * drop the container's reference on the image. Idempotent. */
int images_release_container(const char *record);

/* Import FILE|DIR under NAME (NULL: from the source's own name or the file name);
 * name_out receives the normalized name. The store must be open (shared lock). */
int images_import(struct imgstore *s, const char *path, const char *name, char *name_out,
                  size_t name_size, struct digest *out);

/* Where the built-in default image is: $BERTH_DEFAULT_IMAGE, next to the berth binary
 * (images/default-image.tar of a build tree), or the installed data dir. */
int images_default_path(char **out);
/* Resolve `what`; the default image is imported on first use. */
int images_resolve_or_default(struct imgstore *s, const char *what, struct digest *out);

/* Write an OCI layout tar (FILE, or stdout for "-") that skopeo and podman can read. */
int images_export(struct imgstore *s, const char *what, const char *file);

/* Remove a name; refused while a container uses the image it names (exclusive store). */
int images_remove(struct imgstore *s, const char *what);

struct prune_stats {
    size_t blobs, layers, containers;
    uint64_t bytes;
};
/* Remove blobs and layers no named image or container uses (exclusive store). */
int images_prune(struct imgstore *s, struct prune_stats *st);

/* `image ls` and `image inspect` documents. */
int images_list_json(struct imgstore *s, char **out);
int images_list_table(struct imgstore *s, char **out);
int images_inspect_json(struct imgstore *s, const char *what, char **out);
