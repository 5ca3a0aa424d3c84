/*
 * The lifecycle operations behind berth's commands. cli/ parses arguments and
 * prints; everything else happens here. Every function returns 0 or -errno
 * with err_msg() describing the failure.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/json.h"
#include "runtime/state.h"

struct cgroup;

struct runtime_opts {
    const char *root; /* state directory root, default /run/berth */
    bool systemd_cgroup;
    char *const *argv; /* berth's own command line: to re-exec it protected (exe_protect) */
};

struct create_opts {
    const char *id;
    const char *bundle; /* default "." */
    const char *pid_file;
    const char *console_socket;
    unsigned preserve_fds;
    bool no_pivot;
    bool no_new_keyring;
    /* Annotations set on the command line; they override config.json's. */
    const struct json_kv *annotations;
    size_t n_annotations;
    /* JSON kept in state for images_release_container() at delete (run --image). */
    const char *image_record;
};

int container_create(const struct runtime_opts *rt, const struct create_opts *o);
int container_start(const struct runtime_opts *rt, const char *id);
/* create + start; in the foreground wait and set *exit_code (128+N for signal N), then delete
 * unless keep. Detached: return once started. */
int container_run(const struct runtime_opts *rt, const struct create_opts *o, bool detach,
                  bool keep, int *exit_code);
int container_kill(const struct runtime_opts *rt, const char *id, int sig, bool all);
int container_delete(const struct runtime_opts *rt, const char *id, bool force);

/* The OCI state of one container, indented like runc's `state` output. */
int container_state_json(const struct runtime_opts *rt, const char *id, char **out);

struct container_info {
    const struct container_state *st;
    enum container_status status;
};
/* Call fn for every container under the root, in id order, with one state in memory at a
 * time (a host with thousands of containers lists in flat memory). A negative return from
 * fn stops the walk and is returned. */
typedef int (*container_visit_fn)(const struct container_info *c, void *ctx);
int container_list(const struct runtime_opts *rt, container_visit_fn fn, void *ctx);

/* Apply an OCI resources JSON document (only the fields it sets) to a live container and
 * keep the result for later updates. */
int container_update(const struct runtime_opts *rt, const char *id, const char *json, size_t len);
/* Freeze (pause) or thaw (resume) every process of the container. */
int container_pause(const struct runtime_opts *rt, const char *id, bool pause);
/* {"type":"stats","id":..,"data":{..}} in runc's events format; *oom_kills if not NULL. */
int container_stats_json(const struct runtime_opts *rt, const char *id, char **out,
                         uint64_t *oom_kills);
/* The container's processes (from its cgroup), sorted. */
int container_pids(const struct runtime_opts *rt, const char *id, pid_t **pids, size_t *n);

struct exec_opts {
    const char *id;
    const char *process_file; /* --process: an OCI process JSON */
    char *const *args;        /* the command, when no --process */
    size_t n_args;
    char *const *env; /* -e NAME=VALUE */
    size_t n_env;
    char *const *caps; /* --cap CAP_X */
    size_t n_caps;
    const uint32_t *additional_gids;
    size_t n_additional_gids;
    const char *cwd, *user, *console_socket, *pid_file, *cgroup;
    const char *apparmor, *process_label;
    unsigned preserve_fds;
    bool tty, detach, no_new_privs, ignore_paused;
};

/* Run another process in a running container; in the foreground wait for it and set
 * *exit_code (128+N for signal N). */
int container_exec(const struct runtime_opts *rt, const struct exec_opts *o, int *exit_code);

/* The cgroup recorded in a container's state (*out NULL when it has none). */
int container_cgroup(const struct container_state *st, struct cgroup **out);

/* Load a container's state and live status (paused included). */
int container_load(const struct runtime_opts *rt, const char *id, bool lock, int *dirfd,
                   struct container_state **st, enum container_status *status);
