/*
 * Container state on disk: <root>/<id>/ holds state.json (the OCI state plus
 * what berth needs later), config.json (the config the container was created
 * from) and, between create and start, exec.fifo. Commands that change a
 * container hold an exclusive flock on its directory; readers need no lock
 * because state.json is only ever replaced by rename.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/arena.h"
#include "lib/json.h"

enum container_status {
    STATUS_CREATING,
    STATUS_CREATED,
    STATUS_RUNNING,
    STATUS_PAUSED,
    STATUS_STOPPED
};

const char *status_name(enum container_status s);

struct container_state {
    struct arena arena;
    char *id;
    char *bundle; /* absolute */
    char *rootfs; /* absolute */
    char *owner;
    uid_t file_uid;   /* owner of state.json as loaded: who made the container */
    char created[64]; /* RFC 3339 with nanoseconds, UTC */
    enum container_status recorded_status; /* as last written (created/running) */
    pid_t pid;
    uint64_t pid_start; /* /proc/<pid>/stat field 22: detects pid reuse */
    char boot_id[40];   /* detects a reboot with a persistent --root */
    struct json_kv *annotations;
    size_t n_annotations;
    /* Other modules' records, as JSON text when set by this process; a loaded state has the
     * parsed trees instead (not re-serialized: list reads every container's state), and
     * state_records_text() makes the text when a module needs it. Text wins over a tree. */
    char *cgroup_json; /* cgroup/ */
    char *net_json;    /* netns/ */
    char *image_json;  /* images/ */
    const struct json *cgroup_doc, *net_doc, *image_doc;
    char *freezer_file;   /* cgroup_freezer_file(), so that list can skip the cgroup record */
    bool records_skipped; /* loaded by state_load_entry without the records: never saved */
    bool detached_stdio;  /* informational */
};

/* Container ids: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes. */
int id_validate(const char *id);

/* The name of a container's directory under the root: the id, or "_<sha256>" for ids
 * longer than NAME_MAX. */
#define STATE_DIR_NAME_MAX 256
void state_dir_name(const char *id, char out[STATE_DIR_NAME_MAX]);
/* <root>/<directory name of id> (caller frees). */
char *state_dir_path(const char *root, const char *id);

/* Open (creating with mode 0700 if asked) the root directory. */
int state_root_open(const char *root, bool create, int *out);
/* Reserve <root>/<id> for a new container and lock it; EEXIST names the id. */
int state_dir_create(int rootfd, const char *id, int *out);
/* Open and lock an existing container's directory; ENOENT says the container does not exist. */
int state_dir_open_locked(int rootfd, const char *id, int *out);
/* Open without locking (readers). */
int state_dir_open(int rootfd, const char *id, int *out);
/* True when another process holds the directory lock (a create in progress). */
bool state_dir_busy(int dirfd);

int state_load(int dirfd, const char *id, struct container_state **out);
/* state_load of the directory `name` below the root without opening the directory itself
 * (list reads thousands); no symlink is followed. The other modules' records are not read
 * (cgroup_doc, net_doc and image_doc stay NULL, records_skipped is set) unless the state
 * lacks freezer_file. */
int state_load_entry(int rootfd, const char *name, struct container_state **out);
/* Fill cgroup_json, net_json and image_json from the parsed trees of a loaded state. */
void state_records_text(struct container_state *st);
int state_save(int dirfd, const struct container_state *st);
void state_free(struct container_state *st);

/* Remove the directory of a container (after everything else is cleaned up). */
int state_dir_remove(int rootfd, const char *id);

/* Liveness of the recorded process: 1 alive, 0 gone (exited, zombie, reused pid, reboot). */
int state_process_alive(const struct container_state *st);
/* created / running / stopped from the process and exec.fifo (paused is the cgroup's business). */
enum container_status state_status(const struct container_state *st, int dirfd);
/* Whether state_status looks into the directory for this state; when not, dirfd may be -1. */
bool state_status_needs_dir(const struct container_state *st);

/* The start time of a process (clock ticks since boot) from /proc/<pid>/stat. */
int proc_start_time(pid_t pid, uint64_t *out, char *state_char);
/* This boot's id (/proc/sys/kernel/random/boot_id). */
int read_boot_id(char out[40]);

/* The OCI state object (runc's field order) for `state`, `list --format json` and hooks. */
void state_write_oci(struct jw *w, const struct container_state *st, enum container_status s,
                     bool runc_fields);

static inline void state_freep(struct container_state **s)
{
    if (*s)
        state_free(*s);
}
#define _cleanup_state_ __attribute__((cleanup(state_freep)))
