/*
 * OCI linux.resources -> cgroup files. Each resource is written to the
 * hierarchy that carries its controller (cg_locate), with its v1 or its v2
 * file accordingly; on hybrid hosts that can differ per resource.
 *
 * Like runc, a value of 0 for memory limit/reservation/swap, cpu shares,
 * quota, period and realtime values means "not set": engines send zeros for
 * fields the user never gave, and writing them would e.g. set a limit of 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/internal.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"

/* ---- what is set ---- */

static bool mem_limit_set(const struct spec_memory *m)
{
    return m->limit.set && m->limit.v != 0;
}

static bool mem_reservation_set(const struct spec_memory *m)
{
    return m->reservation.set && m->reservation.v != 0;
}

static bool mem_swap_set(const struct spec_memory *m)
{
    return m->swap.set && m->swap.v != 0;
}

static bool memory_any(const struct spec_memory *m)
{
    return mem_limit_set(m) || mem_reservation_set(m) || mem_swap_set(m) || m->kernel_tcp.set ||
           m->swappiness.set || m->disable_oom_killer.set || m->use_hierarchy.set;
}

static bool cpu_rt_set(const struct spec_cpu *c)
{
    return (c->realtime_runtime.set && c->realtime_runtime.v != 0) ||
           (c->realtime_period.set && c->realtime_period.v != 0);
}

static bool cpu_any(const struct spec_cpu *c)
{
    return (c->shares.set && c->shares.v != 0) || (c->quota.set && c->quota.v != 0) ||
           (c->period.set && c->period.v != 0) || c->burst.set || c->idle.set || cpu_rt_set(c);
}

static bool blkio_any(const struct spec_block_io *b)
{
    if (b->weight.set || b->leaf_weight.set || b->n_weight_devices)
        return true;
    for (int k = 0; k < THROTTLE__COUNT; k++)
        if (b->n_throttle[k])
            return true;
    return false;
}

/* The controller a unified key belongs to ("memory.high" -> memory), or -1. */
static int unified_key_ctrl(const char *key)
{
    const char *dot = strchr(key, '.');
    if (!dot)
        return -1;
    char name[32];
    snprintf(name, sizeof(name), "%.*s", (int)(dot - key), key);
    return cg_ctrl_from_name(name, true);
}

uint32_t cg_resources_need(const struct spec_resources *r)
{
    if (!r)
        return 0;
    uint32_t m = 0;
    if (memory_any(&r->memory))
        m |= CG_BIT(CG_MEMORY);
    if (cpu_any(&r->cpu))
        m |= CG_BIT(CG_CPU);
    if (!str_empty(r->cpu.cpus) || !str_empty(r->cpu.mems))
        m |= CG_BIT(CG_CPUSET);
    if (r->pids.set)
        m |= CG_BIT(CG_PIDS);
    if (blkio_any(&r->block_io))
        m |= CG_BIT(CG_BLKIO);
    if (r->n_hugepage_limits)
        m |= CG_BIT(CG_HUGETLB);
    if (r->n_rdma)
        m |= CG_BIT(CG_RDMA);
    if (r->net_class_id.set)
        m |= CG_BIT(CG_NET_CLS);
    if (r->n_net_priorities)
        m |= CG_BIT(CG_NET_PRIO);
    return m;
}

uint32_t cg_resources_need_unified(const struct spec_resources *r)
{
    uint32_t m = 0;
    for (size_t i = 0; r && i < r->n_unified; i++) {
        int c = unified_key_ctrl(r->unified[i].key);
        if (c >= 0)
            m |= CG_BIT(c);
    }
    return m;
}

/* The OCI name of the first set field that needs controller c (for messages). */
static const char *resource_name(const struct spec_resources *r, enum cg_ctrl c)
{
    switch (c) {
    case CG_MEMORY: return "memory";
    case CG_CPU: return "cpu";
    case CG_CPUSET: return !str_empty(r->cpu.cpus) ? "cpu.cpus" : "cpu.mems";
    case CG_PIDS: return "pids.limit";
    case CG_BLKIO: return "blockIO";
    case CG_HUGETLB: return "hugepageLimits";
    case CG_RDMA: return "rdma";
    case CG_NET_CLS: return "network.classID";
    case CG_NET_PRIO: return "network.priorities";
    default: break;
    }
    for (size_t i = 0; i < r->n_unified; i++)
        if (unified_key_ctrl(r->unified[i].key) == (int)c)
            return r->unified[i].key;
    return cg_ctrl_name(c, false);
}

int cg_resources_check(const struct cgroup *cg, const struct spec_resources *r)
{
    uint32_t need = cg_resources_need(r);
    if (!need && !(r && r->n_unified))
        return 0;
    const struct cg_hier *u = cg_unified(cg);
    uint32_t v2_avail = 0;
    if (u && cg_v2_read_ctrls(u->mountpoint, "cgroup.controllers", &v2_avail) < 0)
        err_clear();
    for (int c = 0; c < CG__COUNT; c++) {
        if (!(need & CG_BIT(c)))
            continue;
        bool found = (v2_avail & CG_BIT(c)) != 0;
        for (size_t i = 0; i < cg->n_h && !found; i++)
            if (!cg->h[i].unified && (cg->h[i].ctrls & CG_BIT(c)))
                found = true;
        if (found)
            continue;
        char why[256];
        if (u)
            snprintf(why, sizeof(why),
                     "the %s controller is neither mounted as a v1 hierarchy nor listed in "
                     "%s/cgroup.controllers",
                     cg_ctrl_name(c, false), u->mountpoint);
        else
            snprintf(why, sizeof(why), "no v1 hierarchy carries the %s controller",
                     cg_ctrl_name(c, false));
        return cg_unsupported(cg, resource_name(r, c), why);
    }
    /* unified keys need a cgroup2 hierarchy, and their controller on it */
    if (r->n_unified && !u)
        return cg_unsupported(cg, "unified",
                              "unified keys are cgroup v2 files and this host has no cgroup2 "
                              "hierarchy");
    for (size_t i = 0; i < r->n_unified; i++) {
        int c = unified_key_ctrl(r->unified[i].key);
        if (c < 0 || (v2_avail & CG_BIT(c)))
            continue;
        char resource[128], why[256];
        snprintf(resource, sizeof(resource), "unified[%s]", r->unified[i].key);
        snprintf(why, sizeof(why),
                 "the %s controller is not in %s/cgroup.controllers (the cgroup2 hierarchy "
                 "offers only what no v1 hierarchy has taken)",
                 cg_ctrl_name(c, true), u->mountpoint);
        return cg_unsupported(cg, resource, why);
    }
    return 0;
}

/* The hierarchy of controller c, or the "unsupported" error naming resource. */
static int need(const struct cgroup *cg, enum cg_ctrl c, const char *resource, struct cg_hier **out)
{
    struct cg_hier *h = cg_locate(cg, c);
    if (!h) {
        char why[128];
        snprintf(why, sizeof(why), "no hierarchy offers the %s controller", cg_ctrl_name(c, false));
        return cg_unsupported(cg, resource, why);
    }
    *out = h;
    return 0;
}

static int v2_only_refused(const struct cgroup *cg, const char *resource, const char *why)
{
    return err_setx(EOPNOTSUPP,
                    "cgroup: %s: not supported on cgroup v2 (this host: %s, the controller is on "
                    "its cgroup2 hierarchy): %s",
                    resource, cgroup_mode_name(cg->mode), why);
}

/* ---- memory ---- */

static int mem_value(const struct cgroup *cg, const char *resource, int64_t v, bool v2, char *buf,
                     size_t size)
{
    if (v == -1) {
        snprintf(buf, size, "%s", v2 ? "max" : "-1");
        return 0;
    }
    if (v < 0)
        return err_setx(EINVAL, "cgroup: %s: invalid value %" PRId64 " (bytes, or -1 for no limit)",
                        resource, v);
    (void)cg;
    snprintf(buf, size, "%" PRId64, v);
    return 0;
}

static int check_usage(const struct cg_hier *h, const char *usage_file, const char *resource,
                       int64_t limit)
{
    uint64_t usage;
    if (limit < 0)
        return 0;
    int r = cg_read_u64(h, usage_file, &usage);
    if (r < 0)
        return r == -ENOENT
                       ? err_set(ENOENT, "cgroup: %s: reading %s/%s", resource, h->dir, usage_file)
                       : r;
    if ((uint64_t)limit < usage)
        return err_setx(EBUSY,
                        "cgroup: %s: the new limit %" PRId64 " is below the current usage %" PRIu64
                        " (%s/%s) and checkBeforeUpdate is set; free memory in the container or "
                        "choose a higher limit",
                        resource, limit, usage, h->dir, usage_file);
    return 0;
}

static int memory_v2(const struct cgroup *cg, struct cg_hier *h, const struct spec_memory *m,
                     bool update)
{
    char buf[32];
    int r;
    if (m->swappiness.set)
        return v2_only_refused(cg, "memory.swappiness", "cgroup v2 has no per-cgroup swappiness");
    if (m->disable_oom_killer.set && m->disable_oom_killer.v)
        return v2_only_refused(cg, "memory.disableOOMKiller",
                               "cgroup v2 cannot turn the OOM killer off for a cgroup");
    if (m->kernel_tcp.set)
        return v2_only_refused(cg, "memory.kernelTCP",
                               "cgroup v2 accounts TCP memory within memory.max");
    if (m->use_hierarchy.set && !m->use_hierarchy.v)
        return v2_only_refused(cg, "memory.useHierarchy",
                               "cgroup v2 memory accounting is always hierarchical");

    bool check = update && m->check_before_update.set && m->check_before_update.v;
    if (check && mem_limit_set(m)) {
        r = check_usage(h, "memory.current", "memory.limit", m->limit.v);
        if (r < 0)
            return r;
    }

    /* work out memory.swap.max before writing anything, so a bad swap changes nothing */
    bool swap_max = false;
    uint64_t swap_only = 0;
    if (mem_swap_set(m)) {
        int64_t limit;
        if (mem_limit_set(m)) {
            limit = m->limit.v;
        } else {
            uint64_t cur;
            r = cg_read_u64(h, "memory.max", &cur);
            if (r < 0)
                return r == -ENOENT ? err_set(ENOENT, "cgroup: memory.swap: reading %s/memory.max",
                                              h->dir)
                                    : r;
            limit = cur == UINT64_MAX ? -1 : (int64_t)cur;
        }
        r = cg_swap_to_v2(limit, m->swap.v, &swap_only, &swap_max);
        if (r == -EDOM)
            return err_setx(EINVAL,
                            "cgroup: memory.swap: %" PRId64 " needs a memory limit: OCI swap is "
                            "memory+swap, so memory.limit must be set (and not -1) as well",
                            m->swap.v);
        if (r == -ERANGE)
            return err_setx(EINVAL,
                            "cgroup: memory.swap (%" PRId64 ") is below memory.limit (%" PRId64
                            "): OCI swap is the memory+swap total and cannot be smaller",
                            m->swap.v, limit);
        if (r < 0)
            return err_setx(EINVAL, "cgroup: memory.swap: invalid value %" PRId64, m->swap.v);
        if (!cg_has_file(h, "memory.swap.max"))
            return cg_unsupported(cg, "memory.swap",
                                  "memory.swap.max is missing: the kernel has no swap accounting "
                                  "(CONFIG_MEMCG_SWAP, swapaccount=1)");
    }
    if (mem_limit_set(m)) {
        r = mem_value(cg, "memory.limit", m->limit.v, true, buf, sizeof(buf));
        if (r >= 0)
            r = cg_write(cg, h, "memory.limit", "memory.max", buf);
        if (r < 0)
            return r;
    }
    if (mem_swap_set(m)) {
        if (swap_max)
            snprintf(buf, sizeof(buf), "max");
        else
            snprintf(buf, sizeof(buf), "%" PRIu64, swap_only);
        r = cg_write(cg, h, "memory.swap", "memory.swap.max", buf);
        if (r < 0)
            return r;
    }
    if (mem_reservation_set(m)) {
        r = mem_value(cg, "memory.reservation", m->reservation.v, true, buf, sizeof(buf));
        if (r >= 0)
            r = cg_write(cg, h, "memory.reservation", "memory.low", buf);
        if (r < 0)
            return r;
    }
    return 0;
}

static int write_v1_limit(const struct cgroup *cg, struct cg_hier *h, int64_t v)
{
    char buf[32];
    int r = mem_value(cg, "memory.limit", v, false, buf, sizeof(buf));
    if (r < 0)
        return r;
    r = cg_write(cg, h, "memory.limit", "memory.limit_in_bytes", buf);
    if (r == -EBUSY)
        return err_setx(EBUSY,
                        "cgroup: memory.limit: writing \"%s\" to %s/memory.limit_in_bytes: the "
                        "cgroup uses more memory than that and the kernel could not reclaim "
                        "enough; free memory in the container or choose a higher limit",
                        buf, h->dir);
    if (r == -EINVAL)
        return err_setx(EINVAL,
                        "cgroup: memory.limit: writing \"%s\" to %s/memory.limit_in_bytes: "
                        "Invalid argument (it may not exceed memory.memsw.limit_in_bytes: raise "
                        "memory.swap as well)",
                        buf, h->dir);
    return r;
}

static int write_v1_memsw(const struct cgroup *cg, struct cg_hier *h, int64_t v)
{
    char buf[32];
    int r = mem_value(cg, "memory.swap", v, false, buf, sizeof(buf));
    if (r < 0)
        return r;
    r = cg_write(cg, h, "memory.swap", "memory.memsw.limit_in_bytes", buf);
    if (r == -EINVAL)
        return err_setx(EINVAL,
                        "cgroup: memory.swap: writing \"%s\" to %s/memory.memsw.limit_in_bytes: "
                        "Invalid argument (memory+swap may not be below memory.limit_in_bytes)",
                        buf, h->dir);
    return r;
}

static int memory_v1(const struct cgroup *cg, struct cg_hier *h, const struct spec_memory *m,
                     bool update)
{
    int r;
    bool check = update && m->check_before_update.set && m->check_before_update.v;
    if (check && mem_limit_set(m)) {
        r = check_usage(h, "memory.usage_in_bytes", "memory.limit", m->limit.v);
        if (r < 0)
            return r;
    }
    if (mem_swap_set(m) && !cg_has_file(h, "memory.memsw.limit_in_bytes"))
        return cg_unsupported(cg, "memory.swap",
                              "memory.memsw.limit_in_bytes is missing: the kernel has no swap "
                              "accounting (boot with swapaccount=1)");
    if (mem_limit_set(m) && mem_swap_set(m)) {
        if (m->swap.v != -1 && (m->limit.v == -1 || m->swap.v < m->limit.v))
            return err_setx(EINVAL,
                            "cgroup: memory.swap (%" PRId64 ") is below memory.limit (%" PRId64
                            "): OCI swap is the memory+swap total and cannot be smaller",
                            m->swap.v, m->limit.v);
        uint64_t cur;
        r = cg_read_u64(h, "memory.limit_in_bytes", &cur);
        if (r < 0)
            return r == -ENOENT
                           ? err_set(ENOENT, "cgroup: memory: reading %s/memory.limit_in_bytes",
                                     h->dir)
                           : r;
        if (cg_v1_swap_first(cur, m->swap.v)) {
            r = write_v1_memsw(cg, h, m->swap.v);
            if (r >= 0)
                r = write_v1_limit(cg, h, m->limit.v);
        } else {
            r = write_v1_limit(cg, h, m->limit.v);
            if (r >= 0)
                r = write_v1_memsw(cg, h, m->swap.v);
        }
        if (r < 0)
            return r;
    } else if (mem_limit_set(m)) {
        r = write_v1_limit(cg, h, m->limit.v);
        if (r < 0)
            return r;
    } else if (mem_swap_set(m)) {
        r = write_v1_memsw(cg, h, m->swap.v);
        if (r < 0)
            return r;
    }
    if (mem_reservation_set(m)) {
        char buf[32];
        r = mem_value(cg, "memory.reservation", m->reservation.v, false, buf, sizeof(buf));
        if (r >= 0)
            r = cg_write(cg, h, "memory.reservation", "memory.soft_limit_in_bytes", buf);
        if (r < 0)
            return r;
    }
    if (m->swappiness.set) {
        if (m->swappiness.v > 100)
            return err_setx(EINVAL, "cgroup: memory.swappiness: %" PRIu64 " is not in 0..100",
                            m->swappiness.v);
        r = cg_writef(cg, h, "memory.swappiness", "memory.swappiness", "%" PRIu64, m->swappiness.v);
        if (r < 0)
            return r;
    }
    if (m->disable_oom_killer.set) {
        r = cg_write(cg, h, "memory.disableOOMKiller", "memory.oom_control",
                     m->disable_oom_killer.v ? "1" : "0");
        if (r < 0)
            return r;
    }
    if (m->kernel_tcp.set) {
        char buf[32];
        r = mem_value(cg, "memory.kernelTCP", m->kernel_tcp.v, false, buf, sizeof(buf));
        if (r >= 0)
            r = cg_write(cg, h, "memory.kernelTCP", "memory.kmem.tcp.limit_in_bytes", buf);
        if (r < 0)
            return r;
    }
    if (m->use_hierarchy.set) {
        r = cg_write(cg, h, "memory.useHierarchy", "memory.use_hierarchy",
                     m->use_hierarchy.v ? "1" : "0");
        if (r < 0)
            return r;
    }
    return 0;
}

static int apply_memory(const struct cgroup *cg, const struct spec_memory *m, bool update)
{
    if (m->kernel.set)
        log_warn("linux.resources.memory.kernel is deprecated and ignored: kernels since 5.16 "
                 "have no separate kernel memory limit (it is part of memory.limit)");
    if (!memory_any(m))
        return 0;
    struct cg_hier *h;
    int r = need(cg, CG_MEMORY, "memory", &h);
    if (r < 0)
        return r;
    return h->unified ? memory_v2(cg, h, m, update) : memory_v1(cg, h, m, update);
}

/* ---- cpu ---- */

static int cpu_bandwidth_v2(const struct cgroup *cg, struct cg_hier *h, const struct spec_cpu *c,
                            bool update)
{
    bool quota = c->quota.set && c->quota.v != 0;
    bool period = c->period.set && c->period.v != 0;
    int r;
    if (quota || period) {
        int64_t q = quota ? c->quota.v : -1;
        if (!quota && update) {
            /* only the period changes: keep the quota in force */
            _cleanup_free_ char *cur = NULL;
            uint64_t p;
            if (cg_read(h, "cpu.max", &cur) == 0)
                cg_parse_cpu_max(cur, &q, &p);
        }
        char buf[64];
        cg_format_cpu_max(buf, sizeof(buf), true, q, period ? c->period.v : 0);
        r = cg_write(cg, h, "cpu.quota", "cpu.max", buf);
        if (r == -EINVAL && c->burst.set) {
            /* a burst above the new quota blocks it: lower the burst first */
            r = cg_writef(cg, h, "cpu.burst", "cpu.max.burst", "%" PRIu64, c->burst.v);
            if (r >= 0)
                r = cg_write(cg, h, "cpu.quota", "cpu.max", buf);
        }
        if (r < 0)
            return r;
    }
    if (c->burst.set)
        return cg_writef(cg, h, "cpu.burst", "cpu.max.burst", "%" PRIu64, c->burst.v);
    return 0;
}

static int cpu_bandwidth_v1(const struct cgroup *cg, struct cg_hier *h, const struct spec_cpu *c)
{
    bool quota = c->quota.set && c->quota.v != 0;
    bool period = c->period.set && c->period.v != 0;
    char q[32];
    int r = 0;
    snprintf(q, sizeof(q), "%" PRId64, c->quota.v < 0 ? (int64_t)-1 : c->quota.v);
    if (period) {
        r = cg_writef(cg, h, "cpu.period", "cpu.cfs_period_us", "%" PRIu64, c->period.v);
        if (r == -EINVAL && quota) {
            /* the old quota does not fit the new period; the new one may */
            r = cg_write(cg, h, "cpu.quota", "cpu.cfs_quota_us", q);
            if (r >= 0)
                r = cg_writef(cg, h, "cpu.period", "cpu.cfs_period_us", "%" PRIu64, c->period.v);
        }
        if (r < 0)
            return r;
    }
    if (quota) {
        r = cg_write(cg, h, "cpu.quota", "cpu.cfs_quota_us", q);
        if (r == -EINVAL && c->burst.set) {
            r = cg_writef(cg, h, "cpu.burst", "cpu.cfs_burst_us", "%" PRIu64, c->burst.v);
            if (r >= 0)
                r = cg_write(cg, h, "cpu.quota", "cpu.cfs_quota_us", q);
        }
        if (r < 0)
            return r;
    }
    if (c->burst.set)
        return cg_writef(cg, h, "cpu.burst", "cpu.cfs_burst_us", "%" PRIu64, c->burst.v);
    return 0;
}

static int apply_cpu(const struct cgroup *cg, const struct spec_cpu *c, bool update)
{
    int r;
    if (cpu_any(c)) {
        struct cg_hier *h;
        r = need(cg, CG_CPU, "cpu", &h);
        if (r < 0)
            return r;
        if (c->shares.set && c->shares.v != 0) {
            if (h->unified)
                r = cg_writef(cg, h, "cpu.shares", "cpu.weight", "%" PRIu64,
                              cg_shares_to_weight(c->shares.v));
            else
                r = cg_writef(cg, h, "cpu.shares", "cpu.shares", "%" PRIu64, c->shares.v);
            if (r < 0)
                return r;
        }
        r = h->unified ? cpu_bandwidth_v2(cg, h, c, update) : cpu_bandwidth_v1(cg, h, c);
        if (r < 0)
            return r;
        if (c->idle.set) {
            if (!cg_has_file(h, "cpu.idle"))
                return cg_unsupported(cg, "cpu.idle",
                                      "cpu.idle is missing (kernel < 5.15 or no fair group "
                                      "scheduling)");
            r = cg_writef(cg, h, "cpu.idle", "cpu.idle", "%" PRId64, c->idle.v);
            if (r < 0)
                return r;
        }
        if (cpu_rt_set(c)) {
            if (h->unified)
                return v2_only_refused(cg, "cpu.realtimeRuntime",
                                       "the cgroup v2 cpu controller has no realtime budget");
            if (c->realtime_period.set && c->realtime_period.v != 0) {
                r = cg_writef(cg, h, "cpu.realtimePeriod", "cpu.rt_period_us", "%" PRIu64,
                              c->realtime_period.v);
                if (r < 0)
                    return r;
            }
            if (c->realtime_runtime.set && c->realtime_runtime.v != 0) {
                r = cg_writef(cg, h, "cpu.realtimeRuntime", "cpu.rt_runtime_us", "%" PRId64,
                              c->realtime_runtime.v);
                if (r < 0)
                    return r;
            }
        }
    }
    if (!str_empty(c->cpus) || !str_empty(c->mems)) {
        struct cg_hier *h;
        r = need(cg, CG_CPUSET, !str_empty(c->cpus) ? "cpu.cpus" : "cpu.mems", &h);
        if (r < 0)
            return r;
        if (!str_empty(c->mems)) {
            r = cg_write(cg, h, "cpu.mems", "cpuset.mems", c->mems);
            if (r < 0)
                return r;
        }
        if (!str_empty(c->cpus)) {
            r = cg_write(cg, h, "cpu.cpus", "cpuset.cpus", c->cpus);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* ---- pids ---- */

static int apply_pids(const struct cgroup *cg, const struct spec_pids *p)
{
    if (!p->set)
        return 0;
    struct cg_hier *h;
    int r = need(cg, CG_PIDS, "pids.limit", &h);
    if (r < 0)
        return r;
    if (p->limit <= 0)
        return cg_write(cg, h, "pids.limit", "pids.max", "max");
    return cg_writef(cg, h, "pids.limit", "pids.max", "%" PRId64, p->limit);
}

/* ---- block I/O ---- */

static int blkio_v2(const struct cgroup *cg, struct cg_hier *h, const struct spec_block_io *b)
{
    int r;
    bool bfq = cg_has_file(h, "io.bfq.weight");
    if (b->leaf_weight.set)
        return v2_only_refused(cg, "blockIO.leafWeight", "cgroup v2 has no leaf weights");
    for (size_t i = 0; i < b->n_weight_devices; i++)
        if (b->weight_devices[i].leaf_weight.set)
            return v2_only_refused(cg, "blockIO.weightDevice.leafWeight",
                                   "cgroup v2 has no leaf weights");
    if (b->weight.set || b->n_weight_devices) {
        if (!bfq && !cg_has_file(h, "io.weight"))
            return cg_unsupported(cg, "blockIO.weight",
                                  "neither io.bfq.weight nor io.weight exists (no BFQ scheduler "
                                  "and no io.cost)");
    }
    if (b->weight.set) {
        if (bfq)
            r = cg_writef(cg, h, "blockIO.weight", "io.bfq.weight", "%" PRIu32, b->weight.v);
        else
            r = cg_writef(cg, h, "blockIO.weight", "io.weight", "default %" PRIu64,
                          cg_blkio_weight_to_io_weight(b->weight.v));
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < b->n_weight_devices; i++) {
        const struct spec_weight_device *d = &b->weight_devices[i];
        if (!d->weight.set)
            continue;
        if (bfq)
            r = cg_writef(cg, h, "blockIO.weightDevice", "io.bfq.weight",
                          "%" PRId64 ":%" PRId64 " %" PRIu32, d->major, d->minor, d->weight.v);
        else
            r = cg_writef(cg, h, "blockIO.weightDevice", "io.weight",
                          "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
                          cg_blkio_weight_to_io_weight(d->weight.v));
        if (r < 0)
            return r;
    }
    _cleanup_free_ struct cg_io_max *lines = NULL;
    size_t n = cg_io_max_collect(b, &lines);
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        cg_format_io_max(buf, sizeof(buf), &lines[i]);
        r = cg_write(cg, h, "blockIO.throttle", "io.max", buf);
        if (r < 0)
            return r;
    }
    return 0;
}

static const char *first_existing(const struct cg_hier *h, const char *a, const char *b)
{
    if (cg_has_file(h, a))
        return a;
    if (cg_has_file(h, b))
        return b;
    return NULL;
}

static int blkio_v1(const struct cgroup *cg, struct cg_hier *h, const struct spec_block_io *b)
{
    static const struct {
        const char *file, *resource;
    } throttle[THROTTLE__COUNT] = {
            [THROTTLE_READ_BPS] = {"blkio.throttle.read_bps_device",
                                   "blockIO.throttleReadBpsDevice"},
            [THROTTLE_WRITE_BPS] = {"blkio.throttle.write_bps_device",
                                    "blockIO.throttleWriteBpsDevice"},
            [THROTTLE_READ_IOPS] = {"blkio.throttle.read_iops_device",
                                    "blockIO.throttleReadIOPSDevice"},
            [THROTTLE_WRITE_IOPS] = {"blkio.throttle.write_iops_device",
                                     "blockIO.throttleWriteIOPSDevice"},
    };
    int r;
    if (b->weight.set) {
        const char *f = first_existing(h, "blkio.weight", "blkio.bfq.weight");
        if (!f)
            return cg_unsupported(cg, "blockIO.weight",
                                  "neither blkio.weight nor blkio.bfq.weight exists (proportional "
                                  "weights need the BFQ I/O scheduler)");
        r = cg_writef(cg, h, "blockIO.weight", f, "%" PRIu32, b->weight.v);
        if (r < 0)
            return r;
    }
    if (b->leaf_weight.set) {
        if (!cg_has_file(h, "blkio.leaf_weight"))
            return cg_unsupported(cg, "blockIO.leafWeight",
                                  "blkio.leaf_weight is missing (it went with the CFQ scheduler)");
        r = cg_writef(cg, h, "blockIO.leafWeight", "blkio.leaf_weight", "%" PRIu32,
                      b->leaf_weight.v);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < b->n_weight_devices; i++) {
        const struct spec_weight_device *d = &b->weight_devices[i];
        if (d->weight.set) {
            const char *f = first_existing(h, "blkio.weight_device", "blkio.bfq.weight_device");
            if (!f)
                return cg_unsupported(cg, "blockIO.weightDevice",
                                      "neither blkio.weight_device nor blkio.bfq.weight_device "
                                      "exists (per-device weights need the BFQ I/O scheduler)");
            r = cg_writef(cg, h, "blockIO.weightDevice", f, "%" PRId64 ":%" PRId64 " %" PRIu32,
                          d->major, d->minor, d->weight.v);
            if (r < 0)
                return r;
        }
        if (d->leaf_weight.set) {
            if (!cg_has_file(h, "blkio.leaf_weight_device"))
                return cg_unsupported(cg, "blockIO.weightDevice.leafWeight",
                                      "blkio.leaf_weight_device is missing");
            r = cg_writef(cg, h, "blockIO.weightDevice.leafWeight", "blkio.leaf_weight_device",
                          "%" PRId64 ":%" PRId64 " %" PRIu32, d->major, d->minor, d->leaf_weight.v);
            if (r < 0)
                return r;
        }
    }
    for (int k = 0; k < THROTTLE__COUNT; k++) {
        for (size_t i = 0; i < b->n_throttle[k]; i++) {
            const struct spec_throttle_device *t = &b->throttle[k][i];
            r = cg_writef(cg, h, throttle[k].resource, throttle[k].file,
                          "%" PRId64 ":%" PRId64 " %" PRIu64, t->major, t->minor, t->rate);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int apply_blkio(const struct cgroup *cg, const struct spec_block_io *b)
{
    if (!blkio_any(b))
        return 0;
    struct cg_hier *h;
    int r = need(cg, CG_BLKIO, "blockIO", &h);
    if (r < 0)
        return r;
    return h->unified ? blkio_v2(cg, h, b) : blkio_v1(cg, h, b);
}

/* ---- hugetlb ---- */

static void list_hugetlb_sizes(const struct cg_hier *h, char *buf, size_t size)
{
    (void)h;
    size_t n = 0;
    buf[0] = '\0';
    _cleanup_closedir_ DIR *d = opendir("/sys/kernel/mm/hugepages");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t kb;
        char num[32];
        if (sscanf(e->d_name, "hugepages-%31[0-9]kB", num) != 1 || parse_u64(num, &kb) < 0)
            continue;
        char name[16];
        cg_hugepage_size_name(kb, name, sizeof(name));
        if (n < size)
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", name);
    }
}

static int apply_hugetlb(const struct cgroup *cg, const struct spec_resources *res)
{
    if (!res->n_hugepage_limits)
        return 0;
    struct cg_hier *h;
    int r = need(cg, CG_HUGETLB, "hugepageLimits", &h);
    if (r < 0)
        return r;
    for (size_t i = 0; i < res->n_hugepage_limits; i++) {
        const struct spec_hugepage_limit *l = &res->hugepage_limits[i];
        char resource[64], file[96], rsvd[96];
        snprintf(resource, sizeof(resource), "hugepageLimits[%s]", l->page_size);
        uint64_t bytes;
        if (cg_hugepage_size_parse(l->page_size, &bytes) < 0)
            return err_setx(EINVAL,
                            "cgroup: %s: invalid page size \"%s\" (expected e.g. \"2MB\" or "
                            "\"1GB\")",
                            resource, l->page_size);
        if (h->unified) {
            snprintf(file, sizeof(file), "hugetlb.%s.max", l->page_size);
            snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.max", l->page_size);
        } else {
            snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", l->page_size);
            snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.limit_in_bytes", l->page_size);
        }
        if (!cg_has_file(h, file)) {
            char sizes[128];
            list_hugetlb_sizes(h, sizes, sizeof(sizes));
            return err_setx(EINVAL,
                            "cgroup: %s: this host has no %s huge pages (%s/%s missing; sizes "
                            "here: %s)",
                            resource, l->page_size, h->dir, file, *sizes ? sizes : "none");
        }
        r = cg_writef(cg, h, resource, file, "%" PRIu64, l->limit);
        /* reservations count too (kernel 5.7+): limit them alike or the limit leaks */
        if (r >= 0 && cg_has_file(h, rsvd))
            r = cg_writef(cg, h, resource, rsvd, "%" PRIu64, l->limit);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- rdma, network ---- */

static int apply_rdma(const struct cgroup *cg, const struct spec_resources *res)
{
    if (!res->n_rdma)
        return 0;
    struct cg_hier *h;
    int r = need(cg, CG_RDMA, "rdma", &h);
    if (r < 0)
        return r;
    for (size_t i = 0; i < res->n_rdma; i++) {
        const struct spec_rdma_limit *l = &res->rdma[i];
        char line[256];
        int n = snprintf(line, sizeof(line), "%s", l->device);
        if (l->hca_handles.set)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " hca_handle=%" PRIu32,
                          l->hca_handles.v);
        if (l->hca_objects.set)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " hca_object=%" PRIu32,
                          l->hca_objects.v);
        if (!l->hca_handles.set && !l->hca_objects.set)
            continue;
        char resource[96];
        snprintf(resource, sizeof(resource), "rdma[%s]", l->device);
        r = cg_write(cg, h, resource, "rdma.max", line);
        if (r < 0)
            return r;
    }
    return 0;
}

static int apply_network(const struct cgroup *cg, const struct spec_resources *res)
{
    int r;
    if (res->net_class_id.set) {
        struct cg_hier *h = cg_locate(cg, CG_NET_CLS);
        if (!h || h->unified)
            return cg_unsupported(cg, "network.classID",
                                  "net_cls is a v1 controller and no v1 hierarchy carries it");
        r = cg_writef(cg, h, "network.classID", "net_cls.classid", "%" PRIu32, res->net_class_id.v);
        if (r < 0)
            return r;
    }
    if (res->n_net_priorities) {
        struct cg_hier *h = cg_locate(cg, CG_NET_PRIO);
        if (!h || h->unified)
            return cg_unsupported(cg, "network.priorities",
                                  "net_prio is a v1 controller and no v1 hierarchy carries it");
        for (size_t i = 0; i < res->n_net_priorities; i++) {
            r = cg_writef(cg, h, "network.priorities", "net_prio.ifpriomap", "%s %" PRIu32,
                          res->net_priorities[i].name, res->net_priorities[i].priority);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* ---- unified ---- */

static int apply_unified(const struct cgroup *cg, const struct spec_resources *res)
{
    if (!res->n_unified)
        return 0;
    struct cg_hier *u = cg_unified(cg);
    if (!u)
        return cg_unsupported(cg, "unified",
                              "unified keys are cgroup v2 files and this host has no cgroup2 "
                              "hierarchy");
    for (size_t i = 0; i < res->n_unified; i++) {
        const char *key = res->unified[i].key, *value = res->unified[i].value;
        char resource[128];
        snprintf(resource, sizeof(resource), "unified[%s]", key);
        if (str_empty(key) || strchr(key, '/') || key[0] == '.')
            return err_setx(EINVAL,
                            "cgroup: %s: the key must name a file in the container's own cgroup, "
                            "not a path",
                            resource);
        if (streq(key, "cgroup.procs") || streq(key, "cgroup.threads"))
            return err_setx(EINVAL,
                            "cgroup: %s: moving processes is not a resource setting; refused",
                            resource);
        if (!cg_has_file(u, key)) {
            char offered[160];
            uint32_t m = 0;
            size_t n = 0;
            offered[0] = '\0';
            cg_v2_read_ctrls(u->mountpoint, "cgroup.controllers", &m);
            for (int c = 0; c < CG__COUNT; c++)
                if ((m & CG_BIT(c)) && n < sizeof(offered))
                    n += (size_t)snprintf(offered + n, sizeof(offered) - n, "%s%s", n ? " " : "",
                                          cg_ctrl_name(c, true));
            return err_setx(ENOENT,
                            "cgroup: %s: %s/%s does not exist on this host (%s; its cgroup2 "
                            "hierarchy offers: %s)",
                            resource, u->dir, key, cgroup_mode_name(cg->mode),
                            *offered ? offered : "no controllers");
        }
        int r = cg_write(cg, u, resource, key, value);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- devices ---- */

int cg_devices_apply(struct cgroup *cg, const struct spec_device_rule *rules, size_t n)
{
    struct cg_hier *h = NULL;
    for (size_t i = 0; i < cg->n_h; i++)
        if (!cg->h[i].unified && (cg->h[i].ctrls & CG_BIT(CG_DEVICES)))
            h = &cg->h[i];
    if (h) {
        /* check every rule before the first write, so a bad one changes nothing */
        for (size_t i = 0; i < n; i++) {
            char lines[2][64];
            size_t nl;
            int r = cg_device_rule_v1(&rules[i], lines, &nl);
            if (r < 0)
                return err_prefix(r, "linux.resources.devices[%zu]", i);
        }
        /* v1 can only start over by denying everything; on a live cgroup (update) that
         * leaves a short window where devices the new rules allow are refused (runc closes
         * it with an emulator that writes only the difference) */
        int r = cg_write(cg, h, "devices", "devices.deny", "a");
        for (size_t pass = 0; pass < 2 && r >= 0; pass++) {
            const struct spec_device_rule *list = pass == 0 ? rules : cg_default_devices;
            size_t count = pass == 0 ? n : cg_n_default_devices;
            for (size_t i = 0; i < count && r >= 0; i++) {
                char lines[2][64];
                size_t nl = 0;
                r = cg_device_rule_v1(&list[i], lines, &nl);
                for (size_t j = 0; j < nl && r >= 0; j++)
                    r = cg_write(cg, h, "devices", list[i].allow ? "devices.allow" : "devices.deny",
                                 lines[j]);
            }
        }
        return r;
    }
    struct cg_hier *u = cg_unified(cg);
    if (!u)
        return cg_unsupported(cg, "devices",
                              "there is no v1 devices hierarchy and no cgroup2 hierarchy for an "
                              "eBPF device filter");
    _cleanup_free_ struct bpf_insn *insns = NULL;
    size_t n_insns = 0;
    int r = cg_bpf_devices_build(rules, n, true, &insns, &n_insns);
    if (r < 0)
        return r;
    return cg_bpf_devices_install(u->dir, insns, n_insns);
}

int cg_resources_apply(struct cgroup *cg, const struct spec_resources *r, bool update)
{
    int ret;
    if ((ret = apply_cpu(cg, &r->cpu, update)) < 0)
        return ret;
    if ((ret = apply_memory(cg, &r->memory, update)) < 0)
        return ret;
    if ((ret = apply_pids(cg, &r->pids)) < 0)
        return ret;
    if ((ret = apply_blkio(cg, &r->block_io)) < 0)
        return ret;
    if ((ret = apply_hugetlb(cg, r)) < 0)
        return ret;
    if ((ret = apply_rdma(cg, r)) < 0)
        return ret;
    if ((ret = apply_network(cg, r)) < 0)
        return ret;
    /* last, so an explicit unified value overrides the mapped one (runc does the same) */
    return apply_unified(cg, r);
}
