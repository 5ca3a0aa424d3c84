/* Shared between the files of images/ only. */
#pragma once

#include <stddef.h>

#include "images/store.h"

/* Make <store>/tmp/<prefix>-<pid>-<n> and hold its .lock (stale ones are removed first). */
int staging_create(struct imgstore *s, const char *prefix, char *rel, size_t size, int *dirfd,
                   int *lockfd);
/* True when <store>/containers/<id> belongs to a container that no longer exists. */
int images_container_dirs_stale(struct imgstore *s, const char *id);
