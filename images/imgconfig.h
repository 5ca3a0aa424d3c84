/*
 * From an image config (the "config" object of an OCI image config) and the
 * command line of `run --image` to the container's process: arguments, env,
 * working directory and user. Pure functions over text, unit tested.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/json.h"

#define STOP_SIGNAL_ANNOTATION "org.opencontainers.image.stopSignal"
#define DEFAULT_PATH_ENV       "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct resolved_user {
    uint32_t uid, gid;
    uint32_t *gids; /* supplementary groups from /etc/group membership */
    size_t n_gids;
    char *home; /* NULL when unknown */
};

/*
 * "", "name", "uid", "name:group", "uid:gid", "name:gid", "uid:group" resolved through the
 * image's /etc/passwd and /etc/group (either may be NULL when the image has none).
 * Numeric ids need no entry (gid defaults to the passwd entry's, else 0); names must
 * exist. Allocations in a.
 */
int user_resolve(struct arena *a, const char *spec, const char *passwd, const char *group,
                 struct resolved_user *out);

struct run_overrides {
    char *const *cmd; /* the command after the container id, replacing Cmd */
    size_t n_cmd;
    const char *entrypoint; /* --entrypoint: replaces Entrypoint and drops Cmd; "" clears */
    char *const *env;       /* -e KEY=VALUE, or KEY to copy from berth's environment */
    size_t n_env;
    const char *workdir; /* -w */
    const char *user;    /* -u */
    const char *hostname;
    bool terminal;
};

struct image_process {
    char **args;
    size_t n_args;
    char **env;
    size_t n_env;
    char *cwd;
    struct resolved_user user;
    char *stop_signal;      /* NULL when the image has none */
    struct json_kv *labels; /* image labels, for annotations */
    size_t n_labels;
};

/* config: the image config's "config" object (NULL or absent is fine). */
int image_process_build(struct arena *a, const struct json *config, const struct run_overrides *o,
                        const char *passwd, const char *group, struct image_process *out);

/* "512m", "1g", "1048576", "64k" (1024-based, b/k/m/g/t) -> bytes. */
int parse_size(const char *s, uint64_t *out);
/* "0.5", "2" -> CPU quota in microseconds per 100000 us period. */
int parse_cpus(const char *s, uint64_t *quota);
