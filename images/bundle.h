/*
 * Bundles of containers run from an image: <store>/containers/<id>/ holds
 *
 *   config.json   generated from the image config and the command line
 *   rootfs/       an empty mount point; the container mounts its overlay snapshot there
 *                 (or, where overlayfs cannot be used, a full copy of the layers)
 *   upper/ work/  the container's own writable layer (overlay snapshots)
 *   record.json   the record also kept in the container's state: store, id, image, root
 *   .lock         held while the bundle is being made
 *   output.log    stdout and stderr of a detached container (-d) or of `create --image`
 *
 * `berth delete` hands the record to images_release_container(), which removes the
 * directory; until then the container keeps its image from `image rm` and `image prune`.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/imgconfig.h"

#define SNAPSHOT_ENV "BERTH_IMAGE_SNAPSHOT" /* "copy" forces the copy fallback */

struct image_run_opts {
    const char *store_root;
    const char *runtime_root; /* berth --root, to tell stale bundles from live ones */
    const char *image;
    const char *id;
    struct run_overrides ov;
    bool read_only;
    char *const *volumes; /* SRC:DST[:ro] */
    size_t n_volumes;
    uint64_t memory;    /* bytes, 0: no limit */
    uint64_t cpu_quota; /* us per 100 ms, 0: no limit */
    int64_t pids_limit; /* 0: no limit */
    const char *network, *ip, *egress, *ingress;
    const char *publish; /* comma separated -p values, or NULL */
};

struct prepared {
    char *bundle; /* <store>/containers/<id> */
    char *record; /* JSON for create_opts.image_record */
    char *log;    /* <bundle>/output.log */
};

/* Resolve (importing the default image on first use), make the snapshot, write the bundle. */
int images_prepare_container(const struct image_run_opts *o, struct prepared *out);
void prepared_free(struct prepared *p);
