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
 */
#pragma once

#define IMAGES_OVERLAY_ANNOTATION "org.berth.rootfs.overlay"

/* Called by `delete` with the record `run --image` left in the container's state
 * (create_opts.image_record): remove the generated bundle and the snapshot, and
 * drop the container's reference on the image. Idempotent. */
int images_release_container(const char *record);
