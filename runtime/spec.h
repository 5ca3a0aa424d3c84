/*
 * The OCI runtime configuration (config.json, runtime-spec 1.0 - 1.3) as typed,
 * validated C structures. Everything lives in one arena owned by struct spec.
 *
 * Parsing validates types, required fields and ranges, and converts names to
 * numbers once (capabilities, rlimits, namespace types, mount options, seccomp
 * actions), so the rest of berth never re-reads strings it could get wrong.
 * Unknown fields are ignored, as the spec requires.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/arena.h"
#include "lib/json.h"

/* ---- namespaces ---- */

enum ns_type { NS_PID, NS_NET, NS_MNT, NS_IPC, NS_UTS, NS_USER, NS_CGROUP, NS_TIME, NS__COUNT };

const char *ns_type_name(enum ns_type t); /* the OCI name: "pid", "network", "mount", ... */
int ns_clone_flag(enum ns_type t);        /* CLONE_NEWPID, ... */
const char *ns_proc_name(enum ns_type t); /* the /proc/<pid>/ns/ entry: "pid", "net", "mnt", ... */

struct spec_namespace {
    enum ns_type type;
    char *path; /* join this namespace; NULL creates a new one */
};

struct spec_idmap {
    uint32_t container_id, host_id, size;
};

/* ---- process ---- */

struct spec_rlimit {
    int resource; /* RLIMIT_* */
    const char *name;
    uint64_t soft, hard;
};

enum cap_set {
    CAPSET_BOUNDING,
    CAPSET_EFFECTIVE,
    CAPSET_INHERITABLE,
    CAPSET_PERMITTED,
    CAPSET_AMBIENT,
    CAPSET__COUNT
};

struct spec_capabilities {
    uint64_t sets[CAPSET__COUNT]; /* bit n = capability n */
    bool present[CAPSET__COUNT];  /* the set was given (an absent set is empty) */
};

struct spec_user {
    uint32_t uid, gid;
    struct opt_u32 umask;
    uint32_t *additional_gids;
    size_t n_additional_gids;
    char *username; /* windows only; kept for completeness */
};

struct spec_scheduler {
    int policy; /* SCHED_* */
    int32_t nice, priority;
    uint64_t flags; /* SCHED_FLAG_* */
    uint64_t runtime, deadline, period;
};

struct spec_io_priority {
    int class; /* IOPRIO_CLASS_RT/BE/IDLE */
    int priority;
};

struct spec_cpu_affinity {
    char *initial, *final; /* cpu lists such as "0-3,7" */
};

struct spec_process {
    bool terminal;
    bool has_console_size;
    unsigned console_height, console_width;
    struct spec_user user;
    char **args;
    size_t n_args;
    char **env;
    size_t n_env;
    char *cwd;
    struct spec_capabilities *capabilities; /* NULL: none given (runc: keep nothing) */
    struct spec_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privileges;
    char *apparmor_profile;
    char *selinux_label;
    struct opt_i32 oom_score_adj;
    struct spec_scheduler *scheduler;
    struct spec_io_priority *io_priority;
    struct spec_cpu_affinity *exec_cpu_affinity;
};

/* ---- mounts ---- */

struct spec_mount {
    char *destination;
    char *type;
    char *source;
    char **options;
    size_t n_options;
    struct spec_idmap *uid_mappings, *gid_mappings;
    size_t n_uid_mappings, n_gid_mappings;

    /* derived from options */
    unsigned long flags;       /* MS_* to set */
    unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, | MS_REC */
    uint64_t rec_attr_set;     /* MOUNT_ATTR_* applied recursively (rro, rnosuid, ...) */
    uint64_t rec_attr_clr;
    bool bind;           /* bind or rbind */
    bool recursive_bind; /* rbind */
    bool idmap, ridmap;
    char *data; /* filesystem options, comma separated ("mode=755,size=65536k") */
};

/* Parse mount options into flags/propagation/data (exported for tests and `exec`). */
int mount_options_parse(struct arena *a, struct spec_mount *m);

/* ---- hooks ---- */

struct spec_hook {
    char *path;
    char **args;
    size_t n_args;
    char **env;
    size_t n_env;
    int timeout; /* seconds; 0 = none */
};

enum hook_kind {
    HOOK_PRESTART,
    HOOK_CREATE_RUNTIME,
    HOOK_CREATE_CONTAINER,
    HOOK_START_CONTAINER,
    HOOK_POSTSTART,
    HOOK_POSTSTOP,
    HOOK__COUNT
};

const char *hook_kind_name(enum hook_kind k); /* "prestart", "createRuntime", ... */

struct spec_hooks {
    struct spec_hook *list[HOOK__COUNT];
    size_t n[HOOK__COUNT];
};

/* ---- resources (also the payload of `update --resources`) ---- */

struct spec_device_rule {
    bool allow;
    char type;      /* 'a', 'b' or 'c' */
    int64_t major;  /* -1 = any */
    int64_t minor;  /* -1 = any */
    char access[4]; /* subset of "rwm" */
};

struct spec_memory {
    struct opt_i64 limit, reservation, swap, kernel, kernel_tcp;
    struct opt_u64 swappiness;
    struct opt_bool disable_oom_killer, use_hierarchy, check_before_update;
};

struct spec_cpu {
    struct opt_u64 shares, burst, period, realtime_period;
    struct opt_i64 quota, realtime_runtime, idle;
    char *cpus, *mems;
};

struct spec_pids {
    bool set;
    int64_t limit; /* <= 0: unlimited */
};

struct spec_weight_device {
    int64_t major, minor;
    struct opt_u32 weight, leaf_weight; /* uint16 range checked */
};

struct spec_throttle_device {
    int64_t major, minor;
    uint64_t rate;
};

enum throttle_kind {
    THROTTLE_READ_BPS,
    THROTTLE_WRITE_BPS,
    THROTTLE_READ_IOPS,
    THROTTLE_WRITE_IOPS,
    THROTTLE__COUNT
};

struct spec_block_io {
    struct opt_u32 weight, leaf_weight; /* uint16 range checked */
    struct spec_weight_device *weight_devices;
    size_t n_weight_devices;
    struct spec_throttle_device *throttle[THROTTLE__COUNT];
    size_t n_throttle[THROTTLE__COUNT];
};

struct spec_hugepage_limit {
    char *page_size; /* "2MB", "1GB", ... */
    uint64_t limit;
};

struct spec_rdma_limit {
    char *device;
    struct opt_u32 hca_handles, hca_objects;
};

struct spec_net_priority {
    char *name;
    uint32_t priority;
};

struct spec_resources {
    struct spec_device_rule *devices;
    size_t n_devices;
    struct spec_memory memory;
    struct spec_cpu cpu;
    struct spec_pids pids;
    struct spec_block_io block_io;
    bool has_memory, has_cpu, has_block_io;
    struct spec_hugepage_limit *hugepage_limits;
    size_t n_hugepage_limits;
    struct opt_u32 net_class_id;
    struct spec_net_priority *net_priorities;
    size_t n_net_priorities;
    struct spec_rdma_limit *rdma;
    size_t n_rdma;
    struct json_kv *unified;
    size_t n_unified;
};

/* ---- devices ---- */

struct spec_device {
    char *path;
    char type; /* 'c', 'b', 'u' (unbuffered char), 'p' (fifo) */
    int64_t major, minor;
    struct opt_u32 file_mode;
    struct opt_u32 uid, gid;
};

/* ---- seccomp ---- */

enum seccomp_action {
    SECCOMP_ACT_KILL,
    SECCOMP_ACT_KILL_PROCESS,
    SECCOMP_ACT_KILL_THREAD,
    SECCOMP_ACT_TRAP,
    SECCOMP_ACT_ERRNO,
    SECCOMP_ACT_TRACE,
    SECCOMP_ACT_ALLOW,
    SECCOMP_ACT_LOG,
    SECCOMP_ACT_NOTIFY
};

enum seccomp_op {
    SECCOMP_OP_NE,
    SECCOMP_OP_LT,
    SECCOMP_OP_LE,
    SECCOMP_OP_EQ,
    SECCOMP_OP_GE,
    SECCOMP_OP_GT,
    SECCOMP_OP_MASKED_EQ
};

/* seccomp filter flags (bit values are berth's own) */
enum {
    SECCOMP_FLAG_TSYNC = 1,
    SECCOMP_FLAG_LOG = 2,
    SECCOMP_FLAG_SPEC_ALLOW = 4,
    SECCOMP_FLAG_WAIT_KILLABLE_RECV = 8
};

struct spec_seccomp_arg {
    unsigned index;
    uint64_t value, value_two;
    enum seccomp_op op;
};

struct spec_syscall_rule {
    char **names;
    size_t n_names;
    enum seccomp_action action;
    struct opt_u32 errno_ret;
    struct spec_seccomp_arg *args;
    size_t n_args;
};

struct spec_seccomp {
    enum seccomp_action default_action;
    struct opt_u32 default_errno_ret;
    char **architectures; /* OCI names, validated: "SCMP_ARCH_X86_64", ... */
    size_t n_architectures;
    unsigned flags; /* SECCOMP_FLAG_* */
    char *listener_path;
    char *listener_metadata;
    struct spec_syscall_rule *syscalls;
    size_t n_syscalls;
};

/* ---- the rest of linux ---- */

struct spec_personality {
    unsigned long domain; /* PER_LINUX or PER_LINUX32 */
};

struct spec_time_offset {
    bool set;
    int64_t secs;
    uint32_t nanosecs;
};

struct spec_intel_rdt {
    char *clos_id;
    char **schemata; /* 1.3: one line each */
    size_t n_schemata;
    char *l3_cache_schema, *mem_bw_schema;
    bool enable_cmt, enable_mbm, enable_monitoring;
};

struct spec_memory_policy {
    int mode; /* MPOL_* */
    char *nodes;
    unsigned flags; /* MPOL_F_* */
};

struct spec_net_device {
    char *host_name; /* the key: interface in the runtime's netns */
    char *name;      /* name inside the container (default: same) */
};

struct spec_linux {
    struct spec_idmap *uid_mappings, *gid_mappings;
    size_t n_uid_mappings, n_gid_mappings;
    struct json_kv *sysctl;
    size_t n_sysctl;
    struct spec_resources *resources;
    char *cgroups_path;
    struct spec_namespace *namespaces;
    size_t n_namespaces;
    struct spec_device *devices;
    size_t n_devices;
    struct spec_seccomp *seccomp;
    unsigned long rootfs_propagation; /* MS_* | MS_REC, 0 = default */
    char **masked_paths, **readonly_paths;
    size_t n_masked_paths, n_readonly_paths;
    char *mount_label;
    struct spec_intel_rdt *intel_rdt;
    struct spec_personality *personality;
    struct spec_time_offset time_offsets[2]; /* [0] monotonic, [1] boottime */
    struct spec_memory_policy *memory_policy;
    struct spec_net_device *net_devices;
    size_t n_net_devices;
};

struct spec {
    struct arena arena;
    char *oci_version;
    char *root_path; /* as written (relative to the bundle or absolute) */
    bool root_readonly;
    struct spec_process *process; /* NULL when absent */
    char *hostname, *domainname;
    struct spec_mount *mounts;
    size_t n_mounts;
    struct spec_hooks hooks;
    struct json_kv *annotations; /* sorted by key */
    size_t n_annotations;
    struct spec_linux linux_; /* always present (zeroed when absent in the JSON) */
    bool has_linux;
    /* The namespace of each type, or NULL when the container shares the host's. */
    const struct spec_namespace *ns[NS__COUNT];
};

/*
 * Parse and validate config.json text. `what` names the document in errors
 * ("config.json"). On error returns -EINVAL with err_msg() like
 * "config.json: .process.rlimits[1].hard: expected unsigned integer".
 */
int spec_parse(const char *text, size_t len, const char *what, struct spec **out);
/* Read <bundle>/config.json and parse it. */
int spec_load(const char *bundle, struct spec **out);
void spec_free(struct spec *s);

/* A kernel cpu/memory-node list such as "0-3,7" (also "0-15:2/4"), as cpuset.cpus,
 * execCPUAffinity and memoryPolicy.nodes take it; "" is not a list. */
bool cpu_list_valid(const char *s);

/* Parse a standalone OCI process object (`exec --process FILE`) into s's arena. */
int spec_parse_process(struct spec *s, const char *text, size_t len, const char *what,
                       struct spec_process **out);

/* Parse the linux.resources object (also `update --resources` input). */
int spec_parse_resources(const struct jctx *c, const struct json *v, const struct jpath *p,
                         struct spec_resources *out);

/* Look up one annotation (NULL when absent). */
const char *spec_annotation(const struct spec *s, const char *key);

/* Names <-> numbers shared with other modules. */
int capability_from_name(const char *name); /* "CAP_SYS_ADMIN" -> 21, -1 if unknown */
const char *capability_name(int cap);
int rlimit_from_name(const char *name); /* "RLIMIT_NOFILE" -> RLIMIT_NOFILE, -1 if unknown */

/* Emit the default configuration `berth spec` writes (runc's layout). */
char *spec_default_json(bool rootless);

static inline void spec_freep(struct spec **s)
{
    if (*s)
        spec_free(*s);
}
#define _cleanup_spec_ __attribute__((cleanup(spec_freep)))
