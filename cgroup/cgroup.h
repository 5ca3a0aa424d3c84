/*
 * The cgroup driver interface: the only way runtime/ and cli/ touch cgroups.
 *
 * The host's layout is detected at run time: unified (cgroup v2 only), legacy
 * (v1 controllers) or hybrid (v1 controllers plus a cgroup2 mount, which may
 * offer a few controllers such as hugetlb). One struct cgroup stands for the
 * container's cgroup in every hierarchy it uses; drivers hide which files are
 * written. Every function returns 0 or -errno with err_msg() set to a message
 * naming the resource, the file and the host's mode.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/json.h"
#include "runtime/spec.h"

enum cgroup_mode { CGROUP_MODE_UNIFIED, CGROUP_MODE_LEGACY, CGROUP_MODE_HYBRID };

const char *cgroup_mode_name(enum cgroup_mode m); /* "unified (cgroup v2)", ... */
int cgroup_detect_mode(enum cgroup_mode *out);

struct cgroup_params {
    const char *id;   /* container id: the default cgroup name */
    const char *path; /* linux.cgroupsPath; NULL or "" = relative, named after id */
    const struct spec_resources *resources; /* may be NULL */
    bool systemd; /* systemd driver requested ("slice:prefix:name" or --systemd-cgroup) */
};

struct cgroup;

/*
 * Create the container's cgroup in every hierarchy and apply the resources
 * before any process is in it. An absolute path is taken from each hierarchy's
 * root; a relative or absent one goes below the caller's own cgroup in that
 * hierarchy. On v2 the needed controllers are enabled in the parents'
 * cgroup.subtree_control. A resource this host cannot enforce is an error.
 * Nothing is left behind on failure.
 */
int cgroup_create(const struct cgroup_params *p, struct cgroup **out);

/* v2 only: an O_DIRECTORY fd of the cgroup for clone3(CLONE_INTO_CGROUP); -1 otherwise. */
int cgroup_clone_fd(const struct cgroup *cg);

/* Move pid into the container's cgroup in every hierarchy. */
int cgroup_enter(const struct cgroup *cg, pid_t pid);

/* Move pid into the sub-cgroup `sub` of the container's cgroup (exec --cgroup): "name" for
 * every hierarchy, or "controller:name" for one v1 hierarchy. The sub-cgroup must exist. */
int cgroup_enter_sub(const struct cgroup *cg, const char *sub, pid_t pid);

/* Apply changed resources to a live cgroup (update); only fields that are set change. */
int cgroup_update(struct cgroup *cg, const struct spec_resources *r);

int cgroup_freeze(struct cgroup *cg, bool frozen);
int cgroup_is_frozen(const struct cgroup *cg, bool *frozen);

/* The pids in the cgroup (sorted, caller frees). */
int cgroup_pids(const struct cgroup *cg, pid_t **out, size_t *n);

/* Send sig to every process in the cgroup. */
int cgroup_kill(const struct cgroup *cg, int sig);

/*
 * Kill whatever is still inside (cgroup.kill on v2, a SIGKILL loop on v1) and
 * remove the cgroup from every hierarchy, retrying EBUSY for a bounded time.
 * Idempotent: a cgroup already gone is success.
 */
int cgroup_destroy(struct cgroup *cg);

/* Resource statistics in runc's `events` terms. */
struct cgroup_stats {
    uint64_t cpu_total, cpu_kernel, cpu_user; /* ns */
    uint64_t *percpu;
    size_t n_percpu;
    uint64_t throttle_periods, throttled_periods, throttled_time;
    uint64_t mem_usage, mem_limit, mem_max, mem_failcnt;
    uint64_t swap_usage, swap_limit, swap_max, swap_failcnt;
    uint64_t oom_kill;       /* OOM kills inside the cgroup so far */
    struct json_kv *mem_raw; /* memory.stat entries, value as text */
    size_t n_mem_raw;
    uint64_t pids_current, pids_limit; /* limit 0 = unlimited */
    struct cgroup_blkio_entry {
        uint64_t major, minor;
        char op[16];
        uint64_t value;
    } * blkio_bytes, *blkio_ios;
    size_t n_blkio_bytes, n_blkio_ios;
    struct cgroup_hugetlb_entry {
        char page_size[16]; /* "2MB" */
        uint64_t usage, max, failcnt;
    } * hugetlb;
    size_t n_hugetlb;
};

int cgroup_stats(const struct cgroup *cg, struct cgroup_stats *out);
void cgroup_stats_free(struct cgroup_stats *st);
/* The "data" object of runc's `events --stats` output. */
void cgroup_stats_to_json(const struct cgroup_stats *st, struct jw *w);

/*
 * Called by the container process in its mount namespace before pivot_root, for
 * a "cgroup" or "cgroup2" entry in mounts: mount what the container should see
 * at target (a path such as /proc/self/fd/N naming the directory in the rootfs),
 * as runc does: cgroup2 on a unified host; on legacy/hybrid hosts a tmpfs with
 * one mount per v1 hierarchy (co-mounted controllers get their symlinks, e.g.
 * cpu -> cpu,cpuacct) plus "unified" on hybrid hosts. With a new cgroup
 * namespace the fresh mounts show the namespace root; without one, the
 * container's own cgroup directories are bind-mounted. flags are the entry's
 * MS_* flags (ro, nosuid, ...), applied to every mount made here.
 */
int cgroup_mount_in_container(const struct cgroup *cg, const char *target, unsigned long flags,
                              bool cgroupns);

/* Persist the resolved cgroup in state.json (one JSON value) and read it back. */
void cgroup_state_write(const struct cgroup *cg, struct jw *w);
int cgroup_state_read(const struct json *v, struct cgroup **out);
/* cgroup_is_frozen for the cgroup a state record describes, reading only the freezer's
 * hierarchy of the record (list asks it of every running container). */
int cgroup_state_is_frozen(const struct json *v, bool *frozen);
/* The file that says whether cg is frozen, in cgroup_is_frozen's order (the v1 freezer's
 * freezer.state, else the unified cgroup.freeze), or NULL: kept in state.json so that list
 * need not read the cgroup record. Caller frees. */
char *cgroup_freezer_file(const struct cgroup *cg);
/* Whether the file cgroup_freezer_file named says frozen (a missing cgroup.freeze: no). */
int cgroup_freezer_file_frozen(const char *path, bool *frozen);

/* The cgroup path as seen in /proc/<pid>/cgroup of the container's main hierarchy. */
const char *cgroup_path(const struct cgroup *cg);
enum cgroup_mode cgroup_mode(const struct cgroup *cg);

void cgroup_free(struct cgroup *cg);

static inline void cgroup_freep(struct cgroup **cg)
{
    if (*cg)
        cgroup_free(*cg);
}
#define _cleanup_cgroup_ __attribute__((cleanup(cgroup_freep)))
