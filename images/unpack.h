/*
 * Layer unpacking, confined to the layer's own directory.
 *
 * Every layer is unpacked on its own into an empty directory, in the form
 * overlayfs reads as a lower layer: `.wh.NAME` becomes a 0:0 character device
 * NAME and `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its directory.
 * Nothing is ever written through a symlink: parent directories are opened
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) or walked one component
 * at a time with O_NOFOLLOW, and files are created with O_EXCL | O_NOFOLLOW.
 * Entries with absolute paths or `..`, hard links that do not name an earlier
 * entry of the same layer, and sizes beyond the limits are refused.
 *
 * Directories a layer needs but does not list are created implicitly and
 * recorded: when a lower layer has a symlink there, the layer would write
 * "through" it, and layer_chain_check() refuses the image.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/digest.h"

struct layer_unpack {
    /* in */
    const char *what;   /* "layer 2/3 (sha256:...)", for messages */
    int blob_fd;        /* the layer blob: tar, possibly gzip/zstd/xz compressed */
    int dest_fd;        /* an empty directory */
    uint64_t max_entry; /* largest size one file may claim */
    uint64_t max_total; /* largest sum of file sizes */
    int tee_fd;         /* -1, or receives the decompressed tar */
    int copy_fd;        /* -1, or receives the blob's bytes as read (a copy for the store) */
    bool hash_raw;      /* compute raw_digest; an uncompressed blob's is its diff-id too */
    /* out */
    struct digest diff_id;    /* sha256 of the decompressed tar */
    struct digest raw_digest; /* sha256 of the blob (hash_raw) */
    uint64_t raw_size;
    uint64_t tar_size;     /* decompressed bytes */
    uint64_t content_size; /* sum of regular file sizes */
    char **implicit_dirs;  /* directories created without an entry of their own */
    size_t n_implicit;
    bool compressed; /* the blob had a compression filter */
};

/* Unpack; 0 or -errno with err_msg() naming the layer, the entry and the reason. */
int layer_unpack(struct layer_unpack *u);
void layer_unpack_done(struct layer_unpack *u);

/* A layer as seen by the chain check: its fs directory and implicit dirs. */
struct layer_view {
    const char *what;
    int fs_fd;
    char **implicit_dirs;
    size_t n_implicit;
};
/* Refuse layers[k] when one of its implicit directories is, in the merged view of the
 * layers below it, a symlink (the layer would write through it). Bottom layer first. */
int layer_chain_check(const struct layer_view *layers, size_t n);

enum layer_lookup { LK_ABSENT, LK_HIDDEN, LK_SYMLINK, LK_OTHER };
/* Look a path up in one unpacked layer without following anything: absent, hidden (a
 * whiteout or a non-directory on the way), a symlink, or something else. *opaque is set
 * when a directory on the way is opaque (the layers below do not show through). */
enum layer_lookup layer_lookup(int fs_fd, const char *path, bool *opaque);

/* ---- pure helpers (unit tested) ---- */

/* Normalize a tar member name into a relative path without "." components, duplicate or
 * trailing slashes ("" is the layer root). -EINVAL for absolute paths, ".." components,
 * or names longer than size; *why says which. */
int layer_path_clean(const char *name, char *out, size_t size, const char **why);

enum whiteout {
    WH_NONE,   /* an ordinary entry */
    WH_FILE,   /* .wh.NAME: hide NAME of the lower layers; *target = dir/NAME */
    WH_OPAQUE, /* .wh..wh..opq: hide the lower layers' contents of the dir; *target = dir */
    WH_META,   /* other .wh..wh.* (aufs bookkeeping): ignored */
};
/* Classify a clean path; *target (size bytes) receives what the whiteout applies to. */
enum whiteout whiteout_parse(const char *clean, char *target, size_t size);

/* Extended attributes a layer may carry: user.* and security.capability. trusted.*
 * (overlayfs' own, which could redirect lookups) and the rest are dropped. */
bool layer_xattr_allowed(const char *name);
