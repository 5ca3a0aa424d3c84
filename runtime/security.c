/* The process's attributes, identity and privileges (capabilities, rlimits, ...). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runtime/init.h"

/* ---- sysctl ---- */

static bool ns_private(const struct spec *s, enum ns_type t)
{
    return s->ns[t] != NULL;
}

static int sysctl_allowed(const struct spec *s, const char *key)
{
    static const char *const ipc_keys[] = {
            "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
            "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    for (size_t i = 0; i < ARRAY_SIZE(ipc_keys); i++)
        if (streq(key, ipc_keys[i]))
            return ns_private(s, NS_IPC) ? 0 : -1;
    if (startswith(key, "fs.mqueue."))
        return ns_private(s, NS_IPC) ? 0 : -1;
    if (startswith(key, "net."))
        return ns_private(s, NS_NET) ? 0 : -1;
    if (streq(key, "kernel.hostname") || streq(key, "kernel.domainname"))
        return ns_private(s, NS_UTS) ? 0 : -1;
    return -1;
}

int security_set_sysctls(const struct spec *s)
{
    for (size_t i = 0; i < s->linux_.n_sysctl; i++) {
        const char *key = s->linux_.sysctl[i].key;
        if (strstr(key, "..") || key[0] == '/' || key[0] == '.' || sysctl_allowed(s, key) < 0)
            return err_setx(EINVAL,
                            "linux.sysctl: %s is not in a namespace of this container (only "
                            "net.*, IPC and UTS sysctls of namespaces the container owns can be "
                            "set)",
                            key);
        _cleanup_free_ char *path = xasprintf("/proc/sys/%s", key);
        for (char *p = path + strlen("/proc/sys/"); *p; p++)
            if (*p == '.')
                *p = '/';
        int r = write_string_at(AT_FDCWD, path, s->linux_.sysctl[i].value);
        if (r < 0)
            return err_set(r, "linux.sysctl: set %s to \"%s\"", key, s->linux_.sysctl[i].value);
    }
    return 0;
}

/* ---- process attributes ---- */

static int set_rlimits(const struct spec_process *p)
{
    for (size_t i = 0; i < p->n_rlimits; i++) {
        const struct spec_rlimit *l = &p->rlimits[i];
        struct rlimit nl = {.rlim_cur = l->soft, .rlim_max = l->hard}, cur;
        if (prlimit(0, l->resource, &nl, NULL) == 0)
            continue;
        int e = errno;
        if (e == EPERM && prlimit(0, l->resource, NULL, &cur) == 0 && l->hard > cur.rlim_max)
            return err_set(e,
                           "process.rlimits: %s: raising the hard limit to %" PRIu64
                           " above the current %" PRIu64 " needs CAP_SYS_RESOURCE, which berth "
                           "does not have here",
                           l->name, l->hard, (uint64_t)cur.rlim_max);
        return err_set(e, "process.rlimits: set %s to soft %" PRIu64 " hard %" PRIu64, l->name,
                       l->soft, l->hard);
    }
    return 0;
}

/* "0-3,7" -> bits; returns -EINVAL on bad syntax or a number past nbits. */
static int parse_list(const char *s, unsigned long *mask, size_t nbits)
{
    memset(mask, 0, (nbits + 63) / 64 * sizeof(unsigned long));
    while (*s) {
        char *end;
        unsigned long a = strtoul(s, &end, 10), b = a;
        if (end == s)
            return -EINVAL;
        if (*end == '-') {
            const char *t = end + 1;
            b = strtoul(t, &end, 10);
            if (end == t || b < a)
                return -EINVAL;
        }
        if (b >= nbits)
            return -EINVAL;
        for (unsigned long i = a; i <= b; i++)
            mask[i / (8 * sizeof(long))] |= 1UL << (i % (8 * sizeof(long)));
        if (*end == ',')
            end++;
        else if (*end)
            return -EINVAL;
        s = end;
    }
    return 0;
}

static int set_affinity(const struct spec_process *p)
{
    const struct spec_cpu_affinity *a = p->exec_cpu_affinity;
    const char *list = a ? (a->final ? a->final : a->initial) : NULL;
    if (!list)
        return 0;
    cpu_set_t set;
    if (parse_list(list, (unsigned long *)&set, CPU_SETSIZE) < 0)
        return err_setx(EINVAL, "process.execCPUAffinity: bad cpu list \"%s\"", list);
    if (sched_setaffinity(0, sizeof(set), &set) < 0)
        return err_set(errno, "process.execCPUAffinity: set affinity to %s", list);
    return 0;
}

struct sched_attr_v1 {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

static int set_scheduler(const struct spec_process *p)
{
    const struct spec_scheduler *s = p->scheduler;
    if (!s)
        return 0;
    struct sched_attr_v1 a = {.size = sizeof(a),
                              .sched_policy = (uint32_t)s->policy,
                              .sched_flags = s->flags,
                              .sched_nice = s->nice,
                              .sched_priority = (uint32_t)s->priority,
                              .sched_runtime = s->runtime,
                              .sched_deadline = s->deadline,
                              .sched_period = s->period};
    if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
        return err_set(errno, "process.scheduler: sched_setattr");
    return 0;
}

static int set_ioprio(const struct spec_process *p)
{
    if (!p->io_priority)
        return 0;
    int v = (p->io_priority->class << 13) | p->io_priority->priority;
    if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, v) < 0)
        return err_set(errno, "process.ioPriority: ioprio_set");
    return 0;
}

static int set_mempolicy(const struct spec_linux *l)
{
    const struct spec_memory_policy *m = l->memory_policy;
    if (!m)
        return 0;
    unsigned long nodes[1024 / (8 * sizeof(long))] = {0};
    size_t maxnode = 0;
    if (m->nodes && *m->nodes) {
        if (parse_list(m->nodes, nodes, 1024) < 0)
            return err_setx(EINVAL, "linux.memoryPolicy: bad node list \"%s\"", m->nodes);
        maxnode = 1024 + 1;
    }
    if (syscall(SYS_set_mempolicy, m->mode | (int)m->flags, maxnode ? nodes : NULL, maxnode) < 0)
        return err_set(errno, "linux.memoryPolicy: set_mempolicy");
    return 0;
}

int security_apply_process_attrs(const struct init_ctx *c)
{
    const struct spec *s = c->spec;
    const struct spec_process *p = s->process;
    int r;
    if (s->linux_.personality && personality(s->linux_.personality->domain) < 0)
        return err_set(errno, "linux.personality");
    if ((r = set_scheduler(p)) < 0 || (r = set_ioprio(p)) < 0 ||
        (r = set_mempolicy(&s->linux_)) < 0 || (r = set_affinity(p)) < 0)
        return r;
    return set_rlimits(p);
}

int security_join_session_keyring(const char *id)
{
    char name[64];
    snprintf(name, sizeof(name), "_ses.%.58s", id);
    /* KEYCTL_JOIN_SESSION_KEYRING: a fresh session keyring keeps the host's keys out */
    long r = syscall(SYS_keyctl, 1, name);
    if (r < 0) {
        if (errno == ENOSYS || errno == EACCES || errno == EPERM) {
            log_debug("session keyring not available (%s): continuing", strerror(errno));
            return 0;
        }
        return err_set(errno, "join a new session keyring (use --no-new-keyring to skip)");
    }
    /* KEYCTL_SETPERM: possessor all, user view/read/write/search/link/setattr */
    syscall(SYS_keyctl, 5, r, 0x3f3f0000);
    return 0;
}

/* ---- identity and capabilities ---- */

static uint64_t kernel_caps_mask(void)
{
    int last = (int)cap_max_bits() - 1;
    return last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
}

/* The bounding set can only shrink: a requested capability berth lacks itself is a warning
 * (the spec: runtimes should warn about capabilities they cannot grant). */
static void warn_missing_bounding(uint64_t want)
{
    int last = (int)cap_max_bits() - 1;
    for (int cap = 0; cap <= last && cap < 64; cap++)
        if ((want & (1ULL << cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0)
            log_warn("capabilities: %s is not in berth's own bounding set on this host; the "
                     "container's bounding set cannot have it",
                     capability_name(cap));
}

static int drop_bounding(uint64_t keep)
{
    int last = (int)cap_max_bits() - 1;
    warn_missing_bounding(keep);
    for (int cap = 0; cap <= last; cap++) {
        if (keep & (1ULL << cap))
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return err_set(errno, "capabilities: drop %s from the bounding set",
                           capability_name(cap));
    }
    return 0;
}

static int set_ids(const struct spec_process *p)
{
    const struct spec_user *u = &p->user;
    if (setgroups(u->n_additional_gids, u->additional_gids) < 0 && errno != EPERM)
        return err_set(errno, "process.user.additionalGids: setgroups");
    if (setresgid(u->gid, u->gid, u->gid) < 0)
        return err_set(errno, "process.user: set gid %u", u->gid);
    if (setresuid(u->uid, u->uid, u->uid) < 0)
        return err_set(errno, "process.user: set uid %u", u->uid);
    return 0;
}

static void add_set(cap_t c, cap_flag_t flag, uint64_t bits)
{
    cap_value_t list[64];
    int n = 0;
    for (int cap = 0; cap < 64; cap++)
        if (bits & (1ULL << cap))
            list[n++] = cap;
    if (n)
        cap_set_flag(c, flag, n, list, CAP_SET);
}

static void name_missing(uint64_t want, char *buf, size_t size)
{
    cap_t own = cap_get_proc();
    size_t len = 0;
    buf[0] = '\0';
    for (int cap = 0; cap < 64 && own; cap++) {
        cap_flag_value_t v = CAP_CLEAR;
        if (!(want & (1ULL << cap)))
            continue;
        cap_get_flag(own, cap, CAP_PERMITTED, &v);
        if (v != CAP_SET && len < size)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                                    capability_name(cap));
    }
    if (own)
        cap_free(own);
}

static int set_caps(uint64_t eff, uint64_t perm, uint64_t inh)
{
    cap_t c = cap_init();
    if (!c)
        die_oom();
    add_set(c, CAP_EFFECTIVE, eff);
    add_set(c, CAP_PERMITTED, perm);
    add_set(c, CAP_INHERITABLE, inh);
    int r = cap_set_proc(c) < 0 ? -errno : 0;
    cap_free(c);
    return r;
}

static int set_ambient(uint64_t amb)
{
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return err_set(errno, "capabilities: clear the ambient set");
    for (int cap = 0; cap < 64; cap++)
        if ((amb & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            return err_set(errno,
                           "capabilities: raise ambient %s (it must also be permitted and "
                           "inheritable)",
                           capability_name(cap));
    return 0;
}

static void wanted_caps(const struct spec_process *p, uint64_t sets[CAPSET__COUNT])
{
    uint64_t mask = kernel_caps_mask();
    memset(sets, 0, CAPSET__COUNT * sizeof(uint64_t));
    if (!p->capabilities)
        return;
    for (int i = 0; i < CAPSET__COUNT; i++) {
        sets[i] = p->capabilities->sets[i] & mask;
        if (p->capabilities->sets[i] & ~mask)
            log_warn("capabilities: this kernel lacks some requested capabilities; ignoring them");
    }
}

int security_set_user_and_caps(const struct spec_process *p, bool keep_sys_admin)
{
    uint64_t w[CAPSET__COUNT];
    wanted_caps(p, w);
    int r = drop_bounding(w[CAPSET_BOUNDING]);
    if (r < 0)
        return r;
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return err_set(errno, "prctl(PR_SET_KEEPCAPS)");
    if ((r = set_ids(p)) < 0)
        return r;
    uint64_t extra = keep_sys_admin ? 1ULL << CAP_SYS_ADMIN : 0;
    r = set_caps(w[CAPSET_EFFECTIVE] | extra, w[CAPSET_PERMITTED] | extra, w[CAPSET_INHERITABLE]);
    if (r < 0) {
        char missing[512];
        name_missing(w[CAPSET_PERMITTED] | w[CAPSET_EFFECTIVE] | w[CAPSET_INHERITABLE], missing,
                     sizeof(missing));
        if (*missing)
            return err_set(r, "capabilities: %s not available to berth on this host", missing);
        return err_set(r, "capabilities: set effective/permitted/inheritable (effective must be "
                          "a subset of permitted)");
    }
    if ((r = set_ambient(w[CAPSET_AMBIENT])) < 0)
        return r;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return err_set(errno, "prctl(PR_SET_KEEPCAPS)");
    return 0;
}

int security_final_caps(const struct spec_process *p)
{
    uint64_t w[CAPSET__COUNT];
    wanted_caps(p, w);
    int r = set_caps(w[CAPSET_EFFECTIVE], w[CAPSET_PERMITTED], w[CAPSET_INHERITABLE]);
    return r < 0 ? err_set(r, "capabilities: drop CAP_SYS_ADMIN after loading seccomp") : 0;
}
