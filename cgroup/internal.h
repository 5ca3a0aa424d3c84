/*
 * Internals shared by the cgroup/ files (not part of the driver interface).
 *
 * One struct cg_hier per hierarchy the container uses: every mounted v1
 * hierarchy (including named ones such as name=systemd) and the cgroup2 one
 * (the only one on unified hosts, an extra one on hybrid hosts). A resource is
 * written to the hierarchy that carries its controller: the v1 one when the
 * controller is bound there, else the cgroup2 one when it offers it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>

#include "cgroup/cgroup.h"

/* Controllers berth knows; the bit positions index cg_ctrl_names. */
enum cg_ctrl {
    CG_CPU,
    CG_CPUACCT,
    CG_CPUSET,
    CG_MEMORY,
    CG_DEVICES,
    CG_FREEZER,
    CG_BLKIO, /* "blkio" on v1, "io" on v2 */
    CG_PIDS,
    CG_HUGETLB,
    CG_RDMA,
    CG_NET_CLS,
    CG_NET_PRIO,
    CG_MISC,
    CG_PERF_EVENT,
    CG__COUNT
};

#define CG_BIT(c) (1u << (c))

const char *cg_ctrl_name(enum cg_ctrl c, bool v2);
/* "memory" -> CG_MEMORY; v2 spells blkio "io". -1 when unknown. */
int cg_ctrl_from_name(const char *name, bool v2);

struct cg_hier {
    char *name;       /* v1: "cpu,cpuacct", "name=systemd"; v2: "" */
    char *mountpoint; /* "/sys/fs/cgroup/memory" */
    char *mount_root; /* the mount's root inside the hierarchy (mountinfo field 4), usually "/" */
    char *own;        /* the caller's cgroup in this hierarchy (from /proc/self/cgroup) */
    char *rel;        /* the container's cgroup, from the hierarchy root: "/a/b" */
    char *dir;        /* its directory: mountpoint + rel (minus mount_root) */
    char *top;        /* the highest directory cgroup_create made, or NULL */
    bool unified;
    uint32_t ctrls;   /* v1: bound controllers; v2: controllers offered to the leaf */
    bool ctrls_stale; /* v2: ctrls not read yet (loaded from state; read on first use) */
    bool created;     /* the leaf was made by this cgroup_create (for rollback) */
};

struct cgroup {
    enum cgroup_mode mode;
    char *path; /* rel of the main hierarchy */
    struct cg_hier *h;
    size_t n_h;
};

/* ---- discovery (cgroup.c) ---- */

/* Hierarchies from /proc/self/mountinfo and the caller's place from /proc/self/cgroup. */
int cg_discover(enum cgroup_mode mode, struct cgroup *cg);
struct cg_hier *cg_unified(const struct cgroup *cg);
/* Where a controller lives: its v1 hierarchy, else the cgroup2 one if it offers it, else NULL. */
struct cg_hier *cg_locate(const struct cgroup *cg, enum cg_ctrl c);
/* The hierarchy's name from mountinfo super options: "rw,cpu,cpuacct" -> "cpu,cpuacct". */
char *cg_v1_name_from_superopts(const char *opts, char *const *known);
/* The same comma-separated set in any order ("cpuacct,cpu" and "cpu,cpuacct"). */
bool cg_same_set(const char *a, const char *b);
/* Re-read the controllers a cgroup2 leaf is offered (its cgroup.controllers). */
int cg_v2_refresh(struct cg_hier *h);
uint32_t cg_v2_ctrls(struct cg_hier *h);
/* The controllers listed in a cgroup.controllers / cgroup.subtree_control file. */
int cg_v2_read_ctrls(const char *dir, const char *file, uint32_t *out);

/* ---- file access with messages (cgroup.c) ---- */

/* Write value to dir/file; on error the message names resource, value, file and mode. */
int cg_write(const struct cgroup *cg, const struct cg_hier *h, const char *resource,
             const char *file, const char *value);
int cg_writef(const struct cgroup *cg, const struct cg_hier *h, const char *resource,
              const char *file, const char *fmt, ...) _printf_(5, 6);
/* Read dir/file whole; -ENOENT is returned without a message so callers can probe. */
int cg_read(const struct cg_hier *h, const char *file, char **out);
int cg_read_u64(const struct cg_hier *h, const char *file, uint64_t *out);
bool cg_has_file(const struct cg_hier *h, const char *file);
/* The error for a resource this host cannot enforce. */
int cg_unsupported(const struct cgroup *cg, const char *resource, const char *why);

/* ---- resources (resources.c) ---- */

/* The controllers the resources need (CG_BIT mask), unified keys aside. */
uint32_t cg_resources_need(const struct spec_resources *r);
/* The controllers unified keys name ("memory.high" -> memory): needed on cgroup2 itself. */
uint32_t cg_resources_need_unified(const struct spec_resources *r);
/* Check every needed controller can be found on this host before creating anything. */
int cg_resources_check(const struct cgroup *cg, const struct spec_resources *r);
/* Write the set fields; `update` turns on checkBeforeUpdate and read-modify-write. */
int cg_resources_apply(struct cgroup *cg, const struct spec_resources *r, bool update);
/* Install the device policy (default deny, rules, the standard set). */
int cg_devices_apply(struct cgroup *cg, const struct spec_device_rule *rules, size_t n);

/* ---- pure conversions (convert.c) ---- */

/* cpu.shares (2..262144) -> cpu.weight (1..10000); 0 stays 0 (unset). */
uint64_t cg_shares_to_weight(uint64_t shares);
/* blkio.weight (10..1000) -> io.weight (1..10000); 0 stays 0. */
uint64_t cg_blkio_weight_to_io_weight(uint64_t weight);
/* cpu.max: "<quota|max>[ <period>]". quota < 0 (or unset) is "max"; period 0 = keep. */
void cg_format_cpu_max(char *buf, size_t size, bool quota_set, int64_t quota, uint64_t period);
/* Parse cpu.max back (quota -1 for "max"). */
int cg_parse_cpu_max(const char *s, int64_t *quota, uint64_t *period);

struct cg_io_max {
    int64_t major, minor;
    bool set[THROTTLE__COUNT];
    uint64_t rate[THROTTLE__COUNT];
};
/* One io.max line: "8:0 rbps=1048576 wiops=max"; a rate of 0 removes the limit ("max"). */
void cg_format_io_max(char *buf, size_t size, const struct cg_io_max *l);
/* Group per-device throttle lists into io.max lines (caller frees *out). */
size_t cg_io_max_collect(const struct spec_block_io *b, struct cg_io_max **out);

/* 2048 (kB) -> "2MB", 1048576 -> "1GB", 64 -> "64KB" (the names hugetlb files use). */
void cg_hugepage_size_name(uint64_t kb, char *buf, size_t size);
/* "2MB" -> bytes; -EINVAL when not <number><KB|MB|GB>. */
int cg_hugepage_size_parse(const char *name, uint64_t *bytes);

/* OCI swap (memory+swap total) -> memory.swap.max; *max_out true for "max". */
int cg_swap_to_v2(int64_t limit, int64_t swap, uint64_t *swap_only, bool *max_out);
/* v1 memsw must never drop below the memory limit: write memsw first when raising. */
bool cg_v1_swap_first(uint64_t current_limit, int64_t new_swap);

/* Resolve cgroupsPath against the caller's cgroup `own` (caller frees *out). */
int cg_resolve_path(const char *own, const char *cgroups_path, const char *id, char **out);
bool cg_is_systemd_path(const char *path);

/* A device rule as v1 devices.allow/deny lines ("c 1:3 rwm"); up to 2 lines. */
int cg_device_rule_v1(const struct spec_device_rule *r, char lines[2][64], size_t *n);
/* The devices every container may use (runc's set). */
extern const struct spec_device_rule cg_default_devices[];
extern const size_t cg_n_default_devices;
/* Access letters -> BPF_DEVCG_ACC_* bits; "" means all three; -EINVAL on others. */
int cg_device_access_bits(const char *access, uint32_t *bits);

/* ---- eBPF device filter (devices_bpf.c) ---- */

/*
 * Build the BPF_PROG_TYPE_CGROUP_DEVICE program for rules (then the standard
 * set when with_defaults): default deny, the last matching rule decides each
 * requested access bit. Caller frees *insns.
 */
int cg_bpf_devices_build(const struct spec_device_rule *rules, size_t n, bool with_defaults,
                         struct bpf_insn **insns, size_t *n_insns);
/* Load insns and attach them to the cgroup directory, replacing berth's earlier programs. */
int cg_bpf_devices_install(const char *cgroup_dir, const struct bpf_insn *insns, size_t n);

/* ---- small parsing helpers (stats.c) ---- */

/* Find "key value" in a flat keyed file (cpu.stat, memory.events); -ENOENT when absent. */
int cg_keyed_u64(const char *text, const char *key, uint64_t *out);

/* ---- helpers for removal (cgroup.c) ---- */
void cg_sleep_ms(unsigned ms);
uint64_t cg_now_ms(void);
