/*
 * config.json -> struct spec. Every check that can be made without touching the
 * host happens here, before anything is created, and every error names the
 * JSON path it is about. Strings point into the parsed tree, which lives in the
 * spec's arena together with everything else.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>

#include "lib/err.h"
#include "lib/fs.h"
#include "lib/util.h"
#include "runtime/spec.h"
#include "runtime/spec_internal.h"

#define SPEC_MAX_SIZE   (32u << 20)
#define UTS_NAME_MAX    64 /* the kernel's __NEW_UTS_LEN */
#define IFNAME_MAX      15 /* IFNAMSIZ - 1 */
#define SCHED_ISO_VALUE (-2)

/* ---- generic readers ---- */

struct name_value {
    const char *name;
    long value;
};

static const struct name_value *name_find(const struct name_value *t, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (streq(t[i].name, s))
            return &t[i];
    return NULL;
}

/* A string that must be one of the names of table t; `what` names the kind in errors. */
static int jv_enum(const struct jctx *c, const struct json *v, const struct jpath *p,
                   const struct name_value *t, size_t n, const char *what, long *out)
{
    char *s;
    int r = jv_string(c, v, p, &s);
    if (r < 0)
        return r;
    const struct name_value *e = name_find(t, n, s);
    if (!e)
        return json_error(c, p, "unknown %s \"%s\"", what, s);
    *out = e->value;
    return 0;
}
#define JV_ENUM(c, v, p, table, what, out) jv_enum(c, v, p, table, ARRAY_SIZE(table), what, out)

/* A required member naming one entry of a table. */
static int req_enum(const struct jctx *c, const struct json *o, const struct jpath *p,
                    const char *key, const struct name_value *t, size_t n, const char *what,
                    long *out)
{
    struct json *v;
    int r = jo_require(c, o, p, key, &v);
    if (r < 0)
        return r;
    return jv_enum(c, v, JP_KEY(p, key), t, n, what, out);
}
#define REQ_ENUM(c, o, p, key, table, what, out) \
    req_enum(c, o, p, key, table, ARRAY_SIZE(table), what, out)

/* An array of names of table t, or-ed together into *out. */
static int flag_array(const struct jctx *c, const struct json *o, const struct jpath *p,
                      const char *key, const struct name_value *t, size_t n, const char *what,
                      unsigned long *out)
{
    struct json *a;
    int r = jo_array(c, o, p, key, &a);
    if (r <= 0)
        return r;
    const struct jpath *ap = JP_KEY(p, key);
    for (size_t i = 0; i < a->n; i++) {
        long v;
        if ((r = jv_enum(c, a->items[i], JP_IDX(ap, i), t, n, what, &v)) < 0)
            return r;
        *out |= (unsigned long)v;
    }
    return 1;
}
#define FLAG_ARRAY(c, o, p, key, table, what, out) \
    flag_array(c, o, p, key, table, ARRAY_SIZE(table), what, out)

static int req_u32(const struct jctx *c, const struct json *o, const struct jpath *p,
                   const char *key, uint32_t *out)
{
    uint64_t v;
    int r = jo_req_uint(c, o, p, key, UINT32_MAX, &v);
    if (r < 0)
        return r;
    *out = (uint32_t)v;
    return 0;
}

static bool path_is_absolute(const char *s)
{
    return s[0] == '/';
}

static int jv_abs_path(const struct jctx *c, const struct json *v, const struct jpath *p,
                       char **out)
{
    int r = jv_string(c, v, p, out);
    if (r < 0)
        return r;
    if (!path_is_absolute(*out))
        return json_error(c, p, "must be an absolute path, got \"%s\"", *out);
    return 0;
}

/* An optional absolute path; "" counts as absent (Go's omitempty). */
static int opt_abs_path(const struct jctx *c, const struct json *o, const struct jpath *p,
                        const char *key, char **out)
{
    char *s;
    int r = jo_string(c, o, p, key, &s);
    if (r <= 0 || !*s)
        return 0;
    if (!path_is_absolute(s))
        return json_error(c, JP_KEY(p, key), "must be an absolute path, got \"%s\"", s);
    *out = s;
    return 1;
}

static int abs_path_array(const struct jctx *c, const struct json *o, const struct jpath *p,
                          const char *key, char ***out, size_t *n)
{
    int r = jo_strv(c, o, p, key, out, n);
    if (r <= 0)
        return r;
    const struct jpath *ap = JP_KEY(p, key);
    for (size_t i = 0; i < *n; i++)
        if (!path_is_absolute((*out)[i]))
            return json_error(c, JP_IDX(ap, i), "must be an absolute path, got \"%s\"", (*out)[i]);
    return 1;
}

/* An optional cpu or node list; "" counts as absent. */
/* process.env and hooks[].env entries are NAME=VALUE with a non-empty NAME. */
static int env_array(const struct jctx *c, const struct json *o, const struct jpath *p, char ***out,
                     size_t *n)
{
    int r = jo_strv(c, o, p, "env", out, n);
    if (r <= 0)
        return r;
    const struct jpath *ap = JP_KEY(p, "env");
    for (size_t i = 0; i < *n; i++) {
        const char *e = (*out)[i];
        if (e[0] == '=' || !strchr(e, '='))
            return json_error(c, JP_IDX(ap, i), "expected NAME=VALUE, got \"%s\"", e);
    }
    return 1;
}

static int idmap_array(const struct jctx *c, const struct json *o, const struct jpath *p,
                       const char *key, struct spec_idmap **out, size_t *n)
{
    struct json *a;
    int r = jo_array(c, o, p, key, &a);
    if (r <= 0)
        return r;
    const struct jpath *ap = JP_KEY(p, key);
    struct spec_idmap *m = arena_alloc_array(c->arena, a->n, sizeof(*m));
    for (size_t i = 0; i < a->n; i++) {
        const struct json *v = a->items[i];
        const struct jpath *ip = JP_IDX(ap, i);
        if ((r = jv_object(c, v, ip)) < 0 ||
            (r = req_u32(c, v, ip, "containerID", &m[i].container_id)) < 0 ||
            (r = req_u32(c, v, ip, "hostID", &m[i].host_id)) < 0 ||
            (r = req_u32(c, v, ip, "size", &m[i].size)) < 0)
            return r;
        if (m[i].size == 0)
            return json_error(c, JP_KEY(ip, "size"), "must be greater than zero");
    }
    *out = m;
    *n = a->n;
    return 1;
}

/* ---- ociVersion ---- */

static const char *version_number(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = s;
    while (*s >= '0' && *s <= '9') {
        if (s - start >= 9)
            return NULL;
        v = v * 10 + (uint64_t)(*s++ - '0');
    }
    if (s == start)
        return NULL;
    *out = v;
    return s;
}

/* semver's pre-release and build parts: dot separated [0-9A-Za-z-] identifiers */
static const char *version_suffix(const char *s)
{
    const char *start = s;
    for (; *s; s++) {
        bool ident = (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
                     (*s >= 'A' && *s <= 'Z') || *s == '-';
        if (*s == '.' && s > start && s[-1] != '.')
            continue;
        if (!ident)
            break;
    }
    if (s == start || s[-1] == '.')
        return NULL;
    return s;
}

/* "MAJOR.MINOR[.PATCH][-PRE][+BUILD]" ("1.0" is found in the wild). */
static bool version_parse(const char *s, uint64_t *major)
{
    uint64_t minor, patch;
    if (!(s = version_number(s, major)) || *s++ != '.' || !(s = version_number(s, &minor)))
        return false;
    if (*s == '.' && !(s = version_number(s + 1, &patch)))
        return false;
    if (*s == '-' && !(s = version_suffix(s + 1)))
        return false;
    if (*s == '+' && !(s = version_suffix(s + 1)))
        return false;
    return *s == '\0';
}

static int parse_version(const struct jctx *c, const struct json *doc, struct spec *s)
{
    const struct jpath *p = JP_KEY(NULL, "ociVersion");
    uint64_t major;
    int r = jo_req_string(c, doc, NULL, "ociVersion", &s->oci_version);
    if (r < 0)
        return r;
    if (!version_parse(s->oci_version, &major))
        return json_error(c, p,
                          "invalid version \"%s\": expected a runtime-spec version such as %s",
                          s->oci_version, BERTH_SPEC_VERSION);
    if (major != 1)
        return json_error(c, p,
                          "unsupported version \"%s\": berth supports runtime-spec 1.x (up to %s)",
                          s->oci_version, BERTH_SPEC_VERSION);
    return 0;
}

/* ---- root, hostname ---- */

static int parse_root(const struct jctx *c, const struct json *doc, struct spec *s)
{
    const struct jpath *p = JP_KEY(NULL, "root");
    struct json *root;
    int r;
    if ((r = jo_require(c, doc, NULL, "root", &root)) < 0 || (r = jv_object(c, root, p)) < 0 ||
        (r = jo_req_string(c, root, p, "path", &s->root_path)) < 0 ||
        (r = jo_bool(c, root, p, "readonly", &s->root_readonly)) < 0)
        return r;
    if (!*s->root_path)
        return json_error(c, JP_KEY(p, "path"), "must not be empty");
    return 0;
}

static int uts_name(const struct jctx *c, const struct json *doc, const char *key, char **out)
{
    int r = jo_string(c, doc, NULL, key, out);
    if (r <= 0)
        return r;
    if (strlen(*out) > UTS_NAME_MAX)
        return json_error(c, JP_KEY(NULL, key), "longer than %d bytes", UTS_NAME_MAX);
    return 0;
}

/* ---- process ---- */

static int parse_user(const struct jctx *c, const struct json *o, const struct jpath *p,
                      struct spec_user *u)
{
    struct json *a;
    int r;
    if ((r = jv_object(c, o, p)) < 0 || (r = req_u32(c, o, p, "uid", &u->uid)) < 0 ||
        (r = req_u32(c, o, p, "gid", &u->gid)) < 0 ||
        (r = jo_opt_u32(c, o, p, "umask", &u->umask)) < 0 ||
        (r = jo_string(c, o, p, "username", &u->username)) < 0 ||
        (r = jo_array(c, o, p, "additionalGids", &a)) < 0)
        return r;
    if (r == 0)
        return 0;
    const struct jpath *ap = JP_KEY(p, "additionalGids");
    u->additional_gids = arena_alloc_array(c->arena, a->n, sizeof(uint32_t));
    for (size_t i = 0; i < a->n; i++) {
        uint64_t g;
        if ((r = jv_uint_max(c, a->items[i], JP_IDX(ap, i), UINT32_MAX, &g)) < 0)
            return r;
        u->additional_gids[i] = (uint32_t)g;
    }
    u->n_additional_gids = a->n;
    return 0;
}

static const char *const capset_keys[CAPSET__COUNT] = {
        [CAPSET_BOUNDING] = "bounding",       [CAPSET_EFFECTIVE] = "effective",
        [CAPSET_INHERITABLE] = "inheritable", [CAPSET_PERMITTED] = "permitted",
        [CAPSET_AMBIENT] = "ambient",
};

static int parse_capabilities(const struct jctx *c, const struct json *o, const struct jpath *p,
                              struct spec_capabilities *caps)
{
    for (int k = 0; k < CAPSET__COUNT; k++) {
        struct json *a;
        int r = jo_array(c, o, p, capset_keys[k], &a);
        if (r < 0)
            return r;
        if (r == 0)
            continue;
        const struct jpath *ap = JP_KEY(p, capset_keys[k]);
        for (size_t i = 0; i < a->n; i++) {
            char *name;
            if ((r = jv_string(c, a->items[i], JP_IDX(ap, i), &name)) < 0)
                return r;
            int cap = capability_from_name(name);
            if (cap < 0)
                return json_error(c, JP_IDX(ap, i), "unknown capability \"%s\"", name);
            caps->sets[k] |= UINT64_C(1) << cap;
        }
        caps->present[k] = true;
    }
    return 0;
}

static int parse_rlimits(const struct jctx *c, const struct json *a, const struct jpath *p,
                         struct spec_process *pr)
{
    /* RLIMIT_* numbers are small (RLIM_NLIMITS is 16): a bitmap finds duplicates */
    uint64_t seen = 0;
    size_t first[64] = {0};

    pr->rlimits = arena_alloc_array(c->arena, a->n, sizeof(*pr->rlimits));
    for (size_t i = 0; i < a->n; i++) {
        const struct json *v = a->items[i];
        const struct jpath *ip = JP_IDX(p, i);
        struct spec_rlimit *rl = &pr->rlimits[i];
        char *type;
        int r;
        if ((r = jv_object(c, v, ip)) < 0 || (r = jo_req_string(c, v, ip, "type", &type)) < 0)
            return r;
        rl->resource = rlimit_from_name(type);
        rl->name = type;
        if (rl->resource < 0 || rl->resource >= 64)
            return json_error(c, JP_KEY(ip, "type"), "unknown rlimit \"%s\"", type);
        if (seen & (UINT64_C(1) << rl->resource))
            return json_error(c, JP_KEY(ip, "type"),
                              "duplicate rlimit \"%s\" (already at index %zu)", type,
                              first[rl->resource]);
        seen |= UINT64_C(1) << rl->resource;
        first[rl->resource] = i;
        if ((r = jo_req_uint(c, v, ip, "soft", UINT64_MAX, &rl->soft)) < 0 ||
            (r = jo_req_uint(c, v, ip, "hard", UINT64_MAX, &rl->hard)) < 0)
            return r;
        if (rl->soft > rl->hard)
            return json_error(c, ip, "soft limit %" PRIu64 " is above hard limit %" PRIu64,
                              rl->soft, rl->hard);
    }
    pr->n_rlimits = a->n;
    return 0;
}

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

static const struct name_value sched_policies[] = {
        {"SCHED_OTHER", SCHED_OTHER},
        {"SCHED_FIFO", SCHED_FIFO},
        {"SCHED_RR", SCHED_RR},
        {"SCHED_BATCH", SCHED_BATCH},
        {"SCHED_ISO", SCHED_ISO_VALUE},
        {"SCHED_IDLE", SCHED_IDLE},
        {"SCHED_DEADLINE", SCHED_DEADLINE},
};

/* sched_setattr(2) flags (linux/sched.h, kernel ABI) */
#define SCHED_FLAG_KEEP_PARAMS_VALUE 0x10
static const struct name_value sched_flags[] = {
        {"SCHED_FLAG_RESET_ON_FORK", 0x01},
        {"SCHED_FLAG_RECLAIM", 0x02},
        {"SCHED_FLAG_DL_OVERRUN", 0x04},
        {"SCHED_FLAG_KEEP_POLICY", 0x08},
        {"SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS_VALUE},
        {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
        {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

static int parse_scheduler(const struct jctx *c, const struct json *o, const struct jpath *p,
                           struct spec_scheduler *s)
{
    struct opt_i32 nice = {0}, prio = {0};
    struct opt_u64 runtime = {0}, deadline = {0}, period = {0};
    unsigned long flags = 0;
    long policy;
    int r;
    if ((r = REQ_ENUM(c, o, p, "policy", sched_policies, "scheduler policy", &policy)) < 0)
        return r;
    if (policy == SCHED_ISO_VALUE)
        return json_error(
                c, JP_KEY(p, "policy"),
                "SCHED_ISO is not supported by Linux; use SCHED_OTHER, SCHED_BATCH or SCHED_IDLE");
    if ((r = jo_opt_i32_range(c, o, p, "nice", -20, 19, &nice)) < 0 ||
        (r = jo_opt_i32(c, o, p, "priority", &prio)) < 0 ||
        (r = FLAG_ARRAY(c, o, p, "flags", sched_flags, "scheduler flag", &flags)) < 0 ||
        (r = jo_opt_u64(c, o, p, "runtime", &runtime)) < 0 ||
        (r = jo_opt_u64(c, o, p, "deadline", &deadline)) < 0 ||
        (r = jo_opt_u64(c, o, p, "period", &period)) < 0)
        return r;

    /* what sched_setattr(2) would refuse, refused with the field's name; with
     * SCHED_FLAG_KEEP_PARAMS the kernel ignores the priority given */
    bool realtime = policy == SCHED_FIFO || policy == SCHED_RR;
    bool keep_params = flags & SCHED_FLAG_KEEP_PARAMS_VALUE;
    if (realtime && !keep_params && (prio.v < 1 || prio.v > 99))
        return json_error(c, JP_KEY(p, "priority"), "%s needs a priority from 1 to 99, got %d",
                          policy == SCHED_FIFO ? "SCHED_FIFO" : "SCHED_RR", prio.v);
    if (!realtime && prio.v != 0)
        return json_error(c, JP_KEY(p, "priority"), "only SCHED_FIFO and SCHED_RR take a priority");
    if (policy != SCHED_DEADLINE && (runtime.v || deadline.v || period.v))
        return json_error(c, p, "runtime, deadline and period are only for SCHED_DEADLINE");

    s->policy = (int)policy;
    s->nice = nice.v;
    s->priority = prio.v;
    s->flags = flags;
    s->runtime = runtime.v;
    s->deadline = deadline.v;
    s->period = period.v;
    return 0;
}

static const struct name_value ioprio_classes[] = {
        {"IOPRIO_CLASS_RT", 1},
        {"IOPRIO_CLASS_BE", 2},
        {"IOPRIO_CLASS_IDLE", 3},
};

static int parse_io_priority(const struct jctx *c, const struct json *o, const struct jpath *p,
                             struct spec_io_priority *io)
{
    long class;
    int64_t prio = 0;
    struct json *v;
    int r;
    if ((r = REQ_ENUM(c, o, p, "class", ioprio_classes, "I/O priority class", &class)) < 0)
        return r;
    if ((v = json_get(o, "priority")) &&
        (r = jv_int_range(c, v, JP_KEY(p, "priority"), 0, 7, &prio)) < 0)
        return r;
    io->class = (int)class;
    io->priority = (int)prio;
    return 0;
}

static int parse_process_extras(const struct jctx *c, const struct json *o, const struct jpath *p,
                                struct spec_process *pr)
{
    struct json *v;
    int r;
    if ((r = jo_object(c, o, p, "scheduler", &v)) < 0)
        return r;
    if (r > 0) {
        pr->scheduler = arena_alloc(c->arena, sizeof(*pr->scheduler));
        if ((r = parse_scheduler(c, v, JP_KEY(p, "scheduler"), pr->scheduler)) < 0)
            return r;
    }
    if ((r = jo_object(c, o, p, "ioPriority", &v)) < 0)
        return r;
    if (r > 0) {
        pr->io_priority = arena_alloc(c->arena, sizeof(*pr->io_priority));
        if ((r = parse_io_priority(c, v, JP_KEY(p, "ioPriority"), pr->io_priority)) < 0)
            return r;
    }
    if ((r = jo_object(c, o, p, "execCPUAffinity", &v)) < 0)
        return r;
    if (r > 0) {
        const struct jpath *ap = JP_KEY(p, "execCPUAffinity");
        pr->exec_cpu_affinity = arena_alloc(c->arena, sizeof(*pr->exec_cpu_affinity));
        if ((r = spec_opt_cpu_list(c, v, ap, "initial", &pr->exec_cpu_affinity->initial)) < 0 ||
            (r = spec_opt_cpu_list(c, v, ap, "final", &pr->exec_cpu_affinity->final)) < 0)
            return r;
    }
    return 0;
}

static int parse_process(const struct jctx *c, const struct json *o, const struct jpath *p,
                         struct spec_process *pr)
{
    struct json *v;
    int r;

    if ((r = jo_bool(c, o, p, "terminal", &pr->terminal)) < 0 ||
        (r = jo_object(c, o, p, "consoleSize", &v)) < 0)
        return r;
    if (r > 0) {
        const struct jpath *bp = JP_KEY(p, "consoleSize");
        uint32_t h, w;
        if ((r = req_u32(c, v, bp, "height", &h)) < 0 || (r = req_u32(c, v, bp, "width", &w)) < 0)
            return r;
        pr->has_console_size = true;
        pr->console_height = h;
        pr->console_width = w;
    }

    if ((r = jo_require(c, o, p, "user", &v)) < 0 ||
        (r = parse_user(c, v, JP_KEY(p, "user"), &pr->user)) < 0)
        return r;

    if ((r = jo_require(c, o, p, "args", &v)) < 0 ||
        (r = jv_strv(c, v, JP_KEY(p, "args"), &pr->args, &pr->n_args)) < 0)
        return r;
    if (pr->n_args == 0)
        return json_error(c, JP_KEY(p, "args"), "must contain at least one entry (the program)");

    if ((r = env_array(c, o, p, &pr->env, &pr->n_env)) < 0)
        return r;

    if ((r = jo_require(c, o, p, "cwd", &v)) < 0 ||
        (r = jv_abs_path(c, v, JP_KEY(p, "cwd"), &pr->cwd)) < 0)
        return r;

    if ((r = jo_object(c, o, p, "capabilities", &v)) < 0)
        return r;
    if (r > 0) {
        pr->capabilities = arena_alloc(c->arena, sizeof(*pr->capabilities));
        if ((r = parse_capabilities(c, v, JP_KEY(p, "capabilities"), pr->capabilities)) < 0)
            return r;
    }

    if ((r = jo_array(c, o, p, "rlimits", &v)) < 0 ||
        (r > 0 && (r = parse_rlimits(c, v, JP_KEY(p, "rlimits"), pr)) < 0))
        return r;

    if ((r = jo_bool(c, o, p, "noNewPrivileges", &pr->no_new_privileges)) < 0 ||
        (r = jo_string(c, o, p, "apparmorProfile", &pr->apparmor_profile)) < 0 ||
        (r = jo_string(c, o, p, "selinuxLabel", &pr->selinux_label)) < 0 ||
        (r = jo_opt_i32_range(c, o, p, "oomScoreAdj", -1000, 1000, &pr->oom_score_adj)) < 0)
        return r;

    return parse_process_extras(c, o, p, pr);
}

/* ---- mounts ---- */

static int parse_mount(const struct jctx *c, const struct json *o, const struct jpath *p,
                       struct spec_mount *m)
{
    int r;
    if ((r = jv_object(c, o, p)) < 0 ||
        (r = jo_req_string(c, o, p, "destination", &m->destination)) < 0)
        return r;
    if (!*m->destination)
        return json_error(c, JP_KEY(p, "destination"), "must not be empty");
    /* runtime-spec 1.2: a relative destination is relative to "/" */
    if (!path_is_absolute(m->destination)) {
        size_t n = strlen(m->destination);
        char *abs = arena_alloc(c->arena, n + 2);
        abs[0] = '/';
        memcpy(abs + 1, m->destination, n + 1);
        m->destination = abs;
    }
    if ((r = jo_string(c, o, p, "type", &m->type)) < 0 ||
        (r = jo_string(c, o, p, "source", &m->source)) < 0 ||
        (r = jo_strv(c, o, p, "options", &m->options, &m->n_options)) < 0 ||
        (r = idmap_array(c, o, p, "uidMappings", &m->uid_mappings, &m->n_uid_mappings)) < 0 ||
        (r = idmap_array(c, o, p, "gidMappings", &m->gid_mappings, &m->n_gid_mappings)) < 0)
        return r;
    if ((m->n_uid_mappings == 0) != (m->n_gid_mappings == 0))
        return json_error(c, p, "uidMappings and gidMappings must be given together");
    if ((r = mount_options_parse(c->arena, m)) < 0)
        return err_prefix(r, "%s: mount %s", c->what, m->destination);
    return 0;
}

static int parse_mounts(const struct jctx *c, const struct json *doc, struct spec *s)
{
    struct json *a;
    int r = jo_array(c, doc, NULL, "mounts", &a);
    if (r <= 0)
        return r;
    const struct jpath *p = JP_KEY(NULL, "mounts");
    s->mounts = arena_alloc_array(c->arena, a->n, sizeof(*s->mounts));
    for (size_t i = 0; i < a->n; i++)
        if ((r = parse_mount(c, a->items[i], JP_IDX(p, i), &s->mounts[i])) < 0)
            return r;
    s->n_mounts = a->n;
    return 0;
}

/* ---- hooks, annotations ---- */

static int parse_hook(const struct jctx *c, const struct json *o, const struct jpath *p,
                      struct spec_hook *h)
{
    struct json *v;
    int r;
    if ((r = jv_object(c, o, p)) < 0 || (r = jo_require(c, o, p, "path", &v)) < 0 ||
        (r = jv_abs_path(c, v, JP_KEY(p, "path"), &h->path)) < 0 ||
        (r = jo_strv(c, o, p, "args", &h->args, &h->n_args)) < 0 ||
        (r = env_array(c, o, p, &h->env, &h->n_env)) < 0)
        return r;
    if ((v = json_get(o, "timeout"))) {
        int64_t t;
        if ((r = jv_int_range(c, v, JP_KEY(p, "timeout"), INT32_MIN, INT32_MAX, &t)) < 0)
            return r;
        if (t <= 0)
            return json_error(c, JP_KEY(p, "timeout"), "must be greater than zero, got %" PRId64,
                              t);
        h->timeout = (int)t;
    }
    return 0;
}

static int parse_hooks(const struct jctx *c, const struct json *doc, struct spec *s)
{
    struct json *hooks;
    int r = jo_object(c, doc, NULL, "hooks", &hooks);
    if (r <= 0)
        return r;
    const struct jpath *p = JP_KEY(NULL, "hooks");
    for (int k = 0; k < HOOK__COUNT; k++) {
        struct json *a;
        const char *key = hook_kind_name(k);
        if ((r = jo_array(c, hooks, p, key, &a)) < 0)
            return r;
        if (r == 0)
            continue;
        const struct jpath *ap = JP_KEY(p, key);
        s->hooks.list[k] = arena_alloc_array(c->arena, a->n, sizeof(struct spec_hook));
        for (size_t i = 0; i < a->n; i++)
            if ((r = parse_hook(c, a->items[i], JP_IDX(ap, i), &s->hooks.list[k][i])) < 0)
                return r;
        s->hooks.n[k] = a->n;
    }
    return 0;
}

static int no_empty_keys(const struct jctx *c, const struct jpath *p, const struct json_kv *kv,
                         size_t n)
{
    /* sorted: an empty key comes first */
    if (n > 0 && !*kv[0].key)
        return json_error(c, p, "keys must not be empty");
    return 0;
}

static int parse_annotations(const struct jctx *c, const struct json *doc, struct spec *s)
{
    int r = jo_strmap(c, doc, NULL, "annotations", &s->annotations, &s->n_annotations);
    if (r <= 0)
        return r;
    return no_empty_keys(c, JP_KEY(NULL, "annotations"), s->annotations, s->n_annotations);
}

/* ---- linux.namespaces ---- */

static int parse_namespaces(const struct jctx *c, const struct json *a, const struct jpath *p,
                            struct spec *s, size_t index[NS__COUNT])
{
    struct spec_linux *l = &s->linux_;
    l->namespaces = arena_alloc_array(c->arena, a->n, sizeof(*l->namespaces));
    for (size_t i = 0; i < a->n; i++) {
        const struct json *v = a->items[i];
        const struct jpath *ip = JP_IDX(p, i);
        struct spec_namespace *ns = &l->namespaces[i];
        char *type;
        int r;
        if ((r = jv_object(c, v, ip)) < 0 || (r = jo_req_string(c, v, ip, "type", &type)) < 0)
            return r;
        int t = 0;
        while (t < NS__COUNT && !streq(ns_type_name(t), type))
            t++;
        if (t == NS__COUNT)
            return json_error(c, JP_KEY(ip, "type"), "unknown namespace type \"%s\"", type);
        if (s->ns[t])
            return json_error(c, JP_KEY(ip, "type"),
                              "duplicate namespace type \"%s\" (already at index %zu)", type,
                              index[t]);
        ns->type = t;
        if ((r = opt_abs_path(c, v, ip, "path", &ns->path)) < 0)
            return r;
        s->ns[t] = ns;
        index[t] = i;
    }
    l->n_namespaces = a->n;
    return 0;
}

/* ---- linux.devices ---- */

static int parse_device(const struct jctx *c, const struct json *o, const struct jpath *p,
                        struct spec_device *d)
{
    struct json *v;
    char *type;
    int r;
    if ((r = jv_object(c, o, p)) < 0 || (r = jo_require(c, o, p, "path", &v)) < 0 ||
        (r = jv_abs_path(c, v, JP_KEY(p, "path"), &d->path)) < 0 ||
        (r = jo_req_string(c, o, p, "type", &type)) < 0)
        return r;
    if (strlen(type) != 1 || !strchr("cbup", type[0]))
        return json_error(c, JP_KEY(p, "type"),
                          "unknown device type \"%s\" (expected c, b, u or p)", type);
    d->type = type[0];
    if (d->type != 'p') {
        if ((r = jo_req_int(c, o, p, "major", 0, INT64_MAX, &d->major)) < 0 ||
            (r = jo_req_int(c, o, p, "minor", 0, INT64_MAX, &d->minor)) < 0)
            return r;
    }
    if ((r = jo_opt_u32_max(c, o, p, "fileMode", 07777, &d->file_mode)) < 0 ||
        (r = jo_opt_u32(c, o, p, "uid", &d->uid)) < 0 ||
        (r = jo_opt_u32(c, o, p, "gid", &d->gid)) < 0)
        return r;
    return 0;
}

static int parse_devices(const struct jctx *c, const struct json *a, const struct jpath *p,
                         struct spec_linux *l)
{
    l->devices = arena_alloc_array(c->arena, a->n, sizeof(*l->devices));
    for (size_t i = 0; i < a->n; i++) {
        int r = parse_device(c, a->items[i], JP_IDX(p, i), &l->devices[i]);
        if (r < 0)
            return r;
    }
    l->n_devices = a->n;
    return 0;
}

/* ---- linux.seccomp ---- */

static const struct name_value seccomp_actions[] = {
        {"SCMP_ACT_KILL", SECCOMP_ACT_KILL},
        {"SCMP_ACT_KILL_PROCESS", SECCOMP_ACT_KILL_PROCESS},
        {"SCMP_ACT_KILL_THREAD", SECCOMP_ACT_KILL_THREAD},
        {"SCMP_ACT_TRAP", SECCOMP_ACT_TRAP},
        {"SCMP_ACT_ERRNO", SECCOMP_ACT_ERRNO},
        {"SCMP_ACT_TRACE", SECCOMP_ACT_TRACE},
        {"SCMP_ACT_ALLOW", SECCOMP_ACT_ALLOW},
        {"SCMP_ACT_LOG", SECCOMP_ACT_LOG},
        {"SCMP_ACT_NOTIFY", SECCOMP_ACT_NOTIFY},
};

static const char *const seccomp_archs[] = {
        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
        "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

static const struct name_value seccomp_flags[] = {
        {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FLAG_TSYNC},
        {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FLAG_LOG},
        {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FLAG_SPEC_ALLOW},
        {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FLAG_WAIT_KILLABLE_RECV},
};

static const struct name_value seccomp_ops[] = {
        {"SCMP_CMP_NE", SECCOMP_OP_NE},
        {"SCMP_CMP_LT", SECCOMP_OP_LT},
        {"SCMP_CMP_LE", SECCOMP_OP_LE},
        {"SCMP_CMP_EQ", SECCOMP_OP_EQ},
        {"SCMP_CMP_GE", SECCOMP_OP_GE},
        {"SCMP_CMP_GT", SECCOMP_OP_GT},
        {"SCMP_CMP_MASKED_EQ", SECCOMP_OP_MASKED_EQ},
};

static int parse_seccomp_args(const struct jctx *c, const struct json *a, const struct jpath *p,
                              struct spec_syscall_rule *rule)
{
    rule->args = arena_alloc_array(c->arena, a->n, sizeof(*rule->args));
    for (size_t i = 0; i < a->n; i++) {
        const struct json *v = a->items[i];
        const struct jpath *ip = JP_IDX(p, i);
        struct spec_seccomp_arg *arg = &rule->args[i];
        struct opt_u64 two = {0};
        uint64_t index;
        long op;
        int r;
        if ((r = jv_object(c, v, ip)) < 0 || (r = jo_req_uint(c, v, ip, "index", 5, &index)) < 0 ||
            (r = jo_req_uint(c, v, ip, "value", UINT64_MAX, &arg->value)) < 0 ||
            (r = jo_opt_u64(c, v, ip, "valueTwo", &two)) < 0 ||
            (r = REQ_ENUM(c, v, ip, "op", seccomp_ops, "seccomp operator", &op)) < 0)
            return r;
        arg->index = (unsigned)index;
        arg->value_two = two.v;
        arg->op = (enum seccomp_op)op;
    }
    rule->n_args = a->n;
    return 0;
}

static int parse_syscall_rule(const struct jctx *c, const struct json *o, const struct jpath *p,
                              const struct spec_seccomp *sc, struct spec_syscall_rule *rule)
{
    struct json *v;
    long action;
    int r;
    if ((r = jv_object(c, o, p)) < 0 || (r = jo_require(c, o, p, "names", &v)) < 0 ||
        (r = jv_strv(c, v, JP_KEY(p, "names"), &rule->names, &rule->n_names)) < 0)
        return r;
    if (rule->n_names == 0)
        return json_error(c, JP_KEY(p, "names"), "must name at least one system call");
    for (size_t i = 0; i < rule->n_names; i++)
        if (!*rule->names[i])
            return json_error(c, JP_IDX(JP_KEY(p, "names"), i), "must not be empty");

    if ((r = REQ_ENUM(c, o, p, "action", seccomp_actions, "seccomp action", &action)) < 0)
        return r;
    rule->action = (enum seccomp_action)action;
    if (rule->action == SECCOMP_ACT_NOTIFY && !sc->listener_path)
        return json_error(c, JP_KEY(p, "action"),
                          "SCMP_ACT_NOTIFY needs .linux.seccomp.listenerPath (the agent that "
                          "receives the notifications)");

    if ((r = jo_opt_u32(c, o, p, "errnoRet", &rule->errno_ret)) < 0)
        return r;
    if (rule->errno_ret.set && rule->action != SECCOMP_ACT_ERRNO &&
        rule->action != SECCOMP_ACT_TRACE)
        return json_error(c, JP_KEY(p, "errnoRet"),
                          "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");

    if ((r = jo_array(c, o, p, "args", &v)) < 0 ||
        (r > 0 && (r = parse_seccomp_args(c, v, JP_KEY(p, "args"), rule)) < 0))
        return r;
    return 0;
}

static int parse_seccomp_archs(const struct jctx *c, const struct json *o, const struct jpath *p,
                               struct spec_seccomp *sc)
{
    int r = jo_strv(c, o, p, "architectures", &sc->architectures, &sc->n_architectures);
    if (r <= 0)
        return r;
    const struct jpath *ap = JP_KEY(p, "architectures");
    for (size_t i = 0; i < sc->n_architectures; i++) {
        size_t k = 0;
        while (k < ARRAY_SIZE(seccomp_archs) && !streq(seccomp_archs[k], sc->architectures[i]))
            k++;
        if (k == ARRAY_SIZE(seccomp_archs))
            return json_error(c, JP_IDX(ap, i), "unknown seccomp architecture \"%s\"",
                              sc->architectures[i]);
    }
    return 0;
}

static int parse_seccomp(const struct jctx *c, const struct json *o, const struct jpath *p,
                         struct spec_seccomp *sc)
{
    unsigned long flags = 0;
    long action;
    struct json *a;
    int r;
    if ((r = REQ_ENUM(c, o, p, "defaultAction", seccomp_actions, "seccomp action", &action)) < 0)
        return r;
    sc->default_action = (enum seccomp_action)action;
    if (sc->default_action == SECCOMP_ACT_NOTIFY)
        return json_error(c, JP_KEY(p, "defaultAction"),
                          "SCMP_ACT_NOTIFY cannot be the default action (it would notify on every "
                          "system call)");
    if ((r = jo_opt_u32(c, o, p, "defaultErrnoRet", &sc->default_errno_ret)) < 0 ||
        (r = parse_seccomp_archs(c, o, p, sc)) < 0 ||
        (r = FLAG_ARRAY(c, o, p, "flags", seccomp_flags, "seccomp flag", &flags)) < 0 ||
        (r = opt_abs_path(c, o, p, "listenerPath", &sc->listener_path)) < 0 ||
        (r = jo_string(c, o, p, "listenerMetadata", &sc->listener_metadata)) < 0)
        return r;
    sc->flags = (unsigned)flags;

    if ((r = jo_array(c, o, p, "syscalls", &a)) <= 0)
        return r;
    const struct jpath *ap = JP_KEY(p, "syscalls");
    sc->syscalls = arena_alloc_array(c->arena, a->n, sizeof(*sc->syscalls));
    for (size_t i = 0; i < a->n; i++)
        if ((r = parse_syscall_rule(c, a->items[i], JP_IDX(ap, i), sc, &sc->syscalls[i])) < 0)
            return r;
    sc->n_syscalls = a->n;
    return 0;
}

/* ---- linux: propagation, intelRdt, personality, time, memory policy, net devices ---- */

static const struct name_value propagations[] = {
        {"shared", MS_SHARED},
        {"slave", MS_SLAVE},
        {"private", MS_PRIVATE},
        {"unbindable", MS_UNBINDABLE},
        {"rshared", MS_SHARED | MS_REC},
        {"rslave", MS_SLAVE | MS_REC},
        {"rprivate", MS_PRIVATE | MS_REC},
        {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int parse_propagation(const struct jctx *c, const struct json *o, const struct jpath *p,
                             struct spec_linux *l)
{
    struct json *v = json_get(o, "rootfsPropagation");
    long prop;
    if (!v || (v->type == JSON_STRING && v->n == 0))
        return 0;
    int r = JV_ENUM(c, v, JP_KEY(p, "rootfsPropagation"), propagations, "propagation", &prop);
    if (r < 0)
        return r;
    l->rootfs_propagation = (unsigned long)prop;
    return 0;
}

/* schemata: one line per entry (1.3), or a single string of lines (older drafts). */
static int parse_schemata(const struct jctx *c, const struct json *o, const struct jpath *p,
                          struct spec_intel_rdt *rdt)
{
    struct json *v = json_get(o, "schemata");
    const struct jpath *sp = JP_KEY(p, "schemata");
    int r;
    if (!v)
        return 0;
    if (v->type == JSON_STRING) {
        char *s;
        if ((r = jv_string(c, v, sp, &s)) < 0)
            return r;
        size_t lines = 1;
        for (const char *q = s; *q; q++)
            lines += *q == '\n';
        rdt->schemata = arena_alloc_array(c->arena, lines + 1, sizeof(char *));
        for (const char *q = s; *q;) {
            size_t n = strcspn(q, "\n");
            if (n > 0)
                rdt->schemata[rdt->n_schemata++] = arena_strndup(c->arena, q, n);
            q += n + (q[n] == '\n');
        }
        return 0;
    }
    if (v->type != JSON_ARRAY)
        return json_error(c, sp, "expected array of strings");
    if ((r = jv_strv(c, v, sp, &rdt->schemata, &rdt->n_schemata)) < 0)
        return r;
    for (size_t i = 0; i < rdt->n_schemata; i++)
        if (strchr(rdt->schemata[i], '\n'))
            return json_error(c, JP_IDX(sp, i), "must be a single line (one entry per line)");
    return 0;
}

static int parse_intel_rdt(const struct jctx *c, const struct json *o, const struct jpath *p,
                           struct spec_intel_rdt *rdt)
{
    int r;
    if ((r = jo_string(c, o, p, "closID", &rdt->clos_id)) < 0 ||
        (r = parse_schemata(c, o, p, rdt)) < 0 ||
        (r = jo_string(c, o, p, "l3CacheSchema", &rdt->l3_cache_schema)) < 0 ||
        (r = jo_string(c, o, p, "memBwSchema", &rdt->mem_bw_schema)) < 0 ||
        (r = jo_bool(c, o, p, "enableCMT", &rdt->enable_cmt)) < 0 ||
        (r = jo_bool(c, o, p, "enableMBM", &rdt->enable_mbm)) < 0 ||
        (r = jo_bool(c, o, p, "enableMonitoring", &rdt->enable_monitoring)) < 0)
        return r;
    /* closID names a directory in the resctrl filesystem; "" is Go's absent */
    if (rdt->clos_id && !*rdt->clos_id)
        rdt->clos_id = NULL;
    const char *id = rdt->clos_id;
    if (id && (strchr(id, '/') || strchr(id, '\n') || streq(id, ".") || streq(id, "..")))
        return json_error(c, JP_KEY(p, "closID"),
                          "invalid \"%s\": must be a plain directory name in resctrl", id);
    if (rdt->mem_bw_schema && *rdt->mem_bw_schema &&
        (!startswith(rdt->mem_bw_schema, "MB:") || strchr(rdt->mem_bw_schema, '\n')))
        return json_error(c, JP_KEY(p, "memBwSchema"),
                          "must be a single line starting with \"MB:\"");
    return 0;
}

static const struct name_value personality_domains[] = {
        {"LINUX", PER_LINUX},
        {"LINUX32", PER_LINUX32},
};

static int parse_personality(const struct jctx *c, const struct json *o, const struct jpath *p,
                             struct spec_personality *pers)
{
    struct json *a;
    long domain;
    int r;
    if ((r = REQ_ENUM(c, o, p, "domain", personality_domains, "personality domain", &domain)) < 0 ||
        (r = jo_array(c, o, p, "flags", &a)) < 0)
        return r;
    pers->domain = (unsigned long)domain;
    if (r > 0 && a->n > 0) {
        const struct jpath *ip = JP_IDX(JP_KEY(p, "flags"), 0);
        char *flag;
        if ((r = jv_string(c, a->items[0], ip, &flag)) < 0)
            return r;
        return json_error(c, ip, "unknown personality flag \"%s\" (runtime-spec defines none)",
                          flag);
    }
    return 0;
}

static int parse_time_offsets(const struct jctx *c, const struct json *o, const struct jpath *p,
                              struct spec_linux *l)
{
    for (size_t i = 0; i < o->n; i++) {
        const char *key = o->object.keys[i];
        const struct json *v = o->object.values[i];
        const struct jpath *kp = JP_KEY(p, key);
        struct opt_i64 secs = {0};
        struct opt_u32 nsecs = {0};
        int clock, r;
        if (v->type == JSON_NULL)
            continue;
        if (streq(key, "monotonic"))
            clock = 0;
        else if (streq(key, "boottime"))
            clock = 1;
        else
            return json_error(c, kp,
                              "unknown clock \"%s\" (expected \"monotonic\" or \"boottime\")", key);
        if ((r = jv_object(c, v, kp)) < 0 || (r = jo_opt_i64(c, v, kp, "secs", &secs)) < 0 ||
            (r = jo_opt_u32_max(c, v, kp, "nanosecs", 999999999, &nsecs)) < 0)
            return r;
        l->time_offsets[clock] = (struct spec_time_offset){true, secs.v, nsecs.v};
    }
    return 0;
}

/* linux/mempolicy.h: modes and mode flags (kernel ABI; numaif.h is not required) */
static const struct name_value mpol_modes[] = {
        {"MPOL_DEFAULT", 0},
        {"MPOL_PREFERRED", 1},
        {"MPOL_BIND", 2},
        {"MPOL_INTERLEAVE", 3},
        {"MPOL_LOCAL", 4},
        {"MPOL_PREFERRED_MANY", 5},
        {"MPOL_WEIGHTED_INTERLEAVE", 6},
};
#define MPOL_F_NUMA_BALANCING (1 << 13)
#define MPOL_F_RELATIVE_NODES (1 << 14)
#define MPOL_F_STATIC_NODES   (1 << 15)
static const struct name_value mpol_flags[] = {
        {"MPOL_F_NUMA_BALANCING", MPOL_F_NUMA_BALANCING},
        {"MPOL_F_RELATIVE_NODES", MPOL_F_RELATIVE_NODES},
        {"MPOL_F_STATIC_NODES", MPOL_F_STATIC_NODES},
};

static int parse_memory_policy(const struct jctx *c, const struct json *o, const struct jpath *p,
                               struct spec_memory_policy *mp)
{
    unsigned long flags = 0;
    long mode;
    int r;
    if ((r = REQ_ENUM(c, o, p, "mode", mpol_modes, "memory policy mode", &mode)) < 0 ||
        (r = spec_opt_cpu_list(c, o, p, "nodes", &mp->nodes)) < 0 ||
        (r = FLAG_ARRAY(c, o, p, "flags", mpol_flags, "memory policy flag", &flags)) < 0)
        return r;
    mp->mode = (int)mode;
    mp->flags = (unsigned)flags;

    /* set_mempolicy(2) rules, reported against the config instead of as EINVAL later */
    const char *name = mpol_modes[mode].name;
    bool no_nodes = mode == 0 || mode == 4;
    bool needs_nodes = mode == 2 || mode == 3 || mode == 5 || mode == 6;
    if (no_nodes && mp->nodes)
        return json_error(c, JP_KEY(p, "nodes"), "%s takes no nodes", name);
    if (needs_nodes && !mp->nodes)
        return json_error(c, JP_KEY(p, "nodes"), "%s needs at least one node", name);
    if ((flags & MPOL_F_RELATIVE_NODES) && (flags & MPOL_F_STATIC_NODES))
        return json_error(c, JP_KEY(p, "flags"),
                          "MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other");
    return 0;
}

static bool ifname_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > IFNAME_MAX || streq(s, ".") || streq(s, ".."))
        return false;
    for (; *s; s++)
        if (*s == '/' || *s == ':' || *s == ' ' || (*s >= '\t' && *s <= '\r'))
            return false;
    return true;
}

struct member {
    const char *key;
    const struct json *value;
    size_t order;
};

static int member_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int net_device_name_cmp(const void *a, const void *b)
{
    const struct spec_net_device *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int parse_net_devices(const struct jctx *c, const struct json *o, const struct jpath *p,
                             struct spec_linux *l)
{
    /* sorted by host name; a repeated key keeps its last value, as json_get does */
    _cleanup_free_ struct member *m = xcalloc(o->n, sizeof(*m));
    size_t k = 0, n = 0;
    for (size_t i = 0; i < o->n; i++)
        if (o->object.values[i]->type != JSON_NULL)
            m[k++] = (struct member){o->object.keys[i], o->object.values[i], i};
    qsort(m, k, sizeof(*m), member_cmp);

    l->net_devices = arena_alloc_array(c->arena, k, sizeof(*l->net_devices));
    for (size_t i = 0; i < k; i++) {
        if (i + 1 < k && streq(m[i].key, m[i + 1].key))
            continue;
        const struct jpath *kp = JP_KEY(p, m[i].key);
        struct spec_net_device *d = &l->net_devices[n];
        char *name = NULL;
        int r;
        if (!ifname_valid(m[i].key))
            return json_error(c, kp,
                              "invalid interface name \"%s\" (1 to %d bytes without \"/\", \":\" "
                              "or whitespace)",
                              m[i].key, IFNAME_MAX);
        if ((r = jv_object(c, m[i].value, kp)) < 0 ||
            (r = jo_string(c, m[i].value, kp, "name", &name)) < 0)
            return r;
        if (name && !*name)
            name = NULL; /* Go's omitempty: keep the host's name */
        if (name && !ifname_valid(name))
            return json_error(c, JP_KEY(kp, "name"),
                              "invalid interface name \"%s\" (1 to %d bytes without \"/\", \":\" "
                              "or whitespace)",
                              name, IFNAME_MAX);
        d->host_name = (char *)m[i].key;
        d->name = name ? name : d->host_name;
        n++;
    }
    l->n_net_devices = n;

    /* two interfaces cannot share a name inside the container: check on a sorted copy */
    _cleanup_free_ struct spec_net_device *byname = xcalloc(n, sizeof(*byname));
    if (n)
        memcpy(byname, l->net_devices, n * sizeof(*byname));
    qsort(byname, n, sizeof(*byname), net_device_name_cmp);
    for (size_t i = 1; i < n; i++)
        if (streq(byname[i - 1].name, byname[i].name))
            return json_error(c, p, "\"%s\" and \"%s\" would both be named \"%s\" in the container",
                              byname[i - 1].host_name, byname[i].host_name, byname[i].name);
    return 0;
}

/* ---- linux ---- */

static int parse_linux_optional(const struct jctx *c, const struct json *o, const struct jpath *p,
                                struct spec_linux *l)
{
    struct json *v;
    int r;
    if ((r = jo_object(c, o, p, "intelRdt", &v)) < 0)
        return r;
    if (r > 0) {
        l->intel_rdt = arena_alloc(c->arena, sizeof(*l->intel_rdt));
        if ((r = parse_intel_rdt(c, v, JP_KEY(p, "intelRdt"), l->intel_rdt)) < 0)
            return r;
    }
    if ((r = jo_object(c, o, p, "personality", &v)) < 0)
        return r;
    if (r > 0) {
        l->personality = arena_alloc(c->arena, sizeof(*l->personality));
        if ((r = parse_personality(c, v, JP_KEY(p, "personality"), l->personality)) < 0)
            return r;
    }
    if ((r = jo_object(c, o, p, "timeOffsets", &v)) < 0 ||
        (r > 0 && (r = parse_time_offsets(c, v, JP_KEY(p, "timeOffsets"), l)) < 0))
        return r;
    if ((r = jo_object(c, o, p, "memoryPolicy", &v)) < 0)
        return r;
    if (r > 0) {
        l->memory_policy = arena_alloc(c->arena, sizeof(*l->memory_policy));
        if ((r = parse_memory_policy(c, v, JP_KEY(p, "memoryPolicy"), l->memory_policy)) < 0)
            return r;
    }
    if ((r = jo_object(c, o, p, "netDevices", &v)) < 0 ||
        (r > 0 && (r = parse_net_devices(c, v, JP_KEY(p, "netDevices"), l)) < 0))
        return r;
    return 0;
}

/* Rules that tie namespaces to the settings that need them. */
static int check_namespaces(const struct jctx *c, const struct jpath *p, const struct spec *s,
                            const size_t index[NS__COUNT])
{
    const struct spec_linux *l = &s->linux_;
    const struct spec_namespace *user = s->ns[NS_USER], *time = s->ns[NS_TIME];
    bool mapped = l->n_uid_mappings || l->n_gid_mappings;
    const char *which = l->n_uid_mappings ? "uidMappings" : "gidMappings";

    if (mapped && !user)
        return json_error(
                c, JP_KEY(p, which),
                "mappings need a user namespace: add {\"type\": \"user\"} to .linux.namespaces");
    if (mapped && user->path)
        return json_error(c, JP_KEY(p, which),
                          "cannot be used when joining an existing user namespace "
                          "(.linux.namespaces[%zu].path)",
                          index[NS_USER]);
    if (user && !user->path) {
        if (!l->n_uid_mappings)
            return json_error(
                    c, JP_KEY(p, "uidMappings"),
                    "a new user namespace (.linux.namespaces[%zu]) needs at least one mapping",
                    index[NS_USER]);
        if (!l->n_gid_mappings)
            return json_error(
                    c, JP_KEY(p, "gidMappings"),
                    "a new user namespace (.linux.namespaces[%zu]) needs at least one mapping",
                    index[NS_USER]);
    }

    if (l->time_offsets[0].set || l->time_offsets[1].set) {
        if (!time)
            return json_error(
                    c, JP_KEY(p, "timeOffsets"),
                    "needs a new time namespace: add {\"type\": \"time\"} to .linux.namespaces");
        if (time->path)
            return json_error(c, JP_KEY(p, "timeOffsets"),
                              "cannot be set when joining an existing time namespace "
                              "(.linux.namespaces[%zu].path)",
                              index[NS_TIME]);
    }

    if (l->n_net_devices && !s->ns[NS_NET])
        return json_error(c, JP_KEY(p, "netDevices"),
                          "moving interfaces needs a network namespace: add {\"type\": "
                          "\"network\"} to .linux.namespaces");
    return 0;
}

static int parse_linux(const struct jctx *c, const struct json *o, const struct jpath *p,
                       struct spec *s)
{
    struct spec_linux *l = &s->linux_;
    size_t index[NS__COUNT] = {0};
    struct json *v;
    int r;

    if ((r = idmap_array(c, o, p, "uidMappings", &l->uid_mappings, &l->n_uid_mappings)) < 0 ||
        (r = idmap_array(c, o, p, "gidMappings", &l->gid_mappings, &l->n_gid_mappings)) < 0)
        return r;
    if ((r = jo_strmap(c, o, p, "sysctl", &l->sysctl, &l->n_sysctl)) < 0 ||
        (r > 0 && (r = no_empty_keys(c, JP_KEY(p, "sysctl"), l->sysctl, l->n_sysctl)) < 0))
        return r;
    if ((r = jo_object(c, o, p, "resources", &v)) < 0)
        return r;
    if (r > 0) {
        l->resources = arena_alloc(c->arena, sizeof(*l->resources));
        if ((r = spec_parse_resources(c, v, JP_KEY(p, "resources"), l->resources)) < 0)
            return r;
    }
    if ((r = jo_string(c, o, p, "cgroupsPath", &l->cgroups_path)) < 0)
        return r;
    if ((r = jo_array(c, o, p, "namespaces", &v)) < 0 ||
        (r > 0 && (r = parse_namespaces(c, v, JP_KEY(p, "namespaces"), s, index)) < 0))
        return r;
    if ((r = jo_array(c, o, p, "devices", &v)) < 0 ||
        (r > 0 && (r = parse_devices(c, v, JP_KEY(p, "devices"), l)) < 0))
        return r;
    if ((r = jo_object(c, o, p, "seccomp", &v)) < 0)
        return r;
    if (r > 0) {
        l->seccomp = arena_alloc(c->arena, sizeof(*l->seccomp));
        if ((r = parse_seccomp(c, v, JP_KEY(p, "seccomp"), l->seccomp)) < 0)
            return r;
    }
    if ((r = parse_propagation(c, o, p, l)) < 0 ||
        (r = abs_path_array(c, o, p, "maskedPaths", &l->masked_paths, &l->n_masked_paths)) < 0 ||
        (r = abs_path_array(c, o, p, "readonlyPaths", &l->readonly_paths, &l->n_readonly_paths)) <
                0 ||
        (r = jo_string(c, o, p, "mountLabel", &l->mount_label)) < 0 ||
        (r = parse_linux_optional(c, o, p, l)) < 0)
        return r;
    return check_namespaces(c, p, s, index);
}

/* ---- entry points ---- */

static int parse_document(const struct jctx *c, const struct json *doc, struct spec *s)
{
    struct json *v;
    int r;
    if ((r = jv_object(c, doc, NULL)) < 0 || (r = parse_version(c, doc, s)) < 0 ||
        (r = parse_root(c, doc, s)) < 0)
        return r;
    if ((r = jo_object(c, doc, NULL, "process", &v)) < 0)
        return r;
    if (r > 0) {
        s->process = arena_alloc(c->arena, sizeof(*s->process));
        if ((r = parse_process(c, v, JP_KEY(NULL, "process"), s->process)) < 0)
            return r;
    }
    if ((r = uts_name(c, doc, "hostname", &s->hostname)) < 0 ||
        (r = uts_name(c, doc, "domainname", &s->domainname)) < 0 ||
        (r = parse_mounts(c, doc, s)) < 0 || (r = parse_hooks(c, doc, s)) < 0 ||
        (r = parse_annotations(c, doc, s)) < 0)
        return r;
    if ((r = jo_object(c, doc, NULL, "linux", &v)) < 0)
        return r;
    if (r > 0) {
        s->has_linux = true;
        if ((r = parse_linux(c, v, JP_KEY(NULL, "linux"), s)) < 0)
            return r;
    }
    return 0;
}

int spec_parse_process(struct spec *s, const char *text, size_t len, const char *what,
                       struct spec_process **out)
{
    struct jctx c = {.what = what, .arena = &s->arena};
    struct json *doc;
    int r = json_parse(&s->arena, text, len, what, &doc);
    if (r < 0 || (r = jv_object(&c, doc, NULL)) < 0)
        return r;
    struct spec_process *pr = arena_alloc(&s->arena, sizeof(*pr));
    if ((r = parse_process(&c, doc, NULL, pr)) < 0)
        return r;
    *out = pr;
    return 0;
}

int spec_parse(const char *text, size_t len, const char *what, struct spec **out)
{
    _cleanup_spec_ struct spec *s = xzalloc(sizeof(*s));
    struct jctx c = {.what = what ? what : "config.json", .arena = &s->arena};
    struct json *doc;
    int r;

    if ((r = json_parse(&s->arena, text, len, c.what, &doc)) < 0 ||
        (r = parse_document(&c, doc, s)) < 0)
        return r;
    *out = TAKE_PTR(s);
    return 0;
}

int spec_load(const char *bundle, struct spec **out)
{
    _cleanup_free_ char *path = xasprintf("%s/config.json", str_empty(bundle) ? "." : bundle);
    _cleanup_free_ char *text = NULL;
    size_t len;
    struct stat st;

    /* O_NONBLOCK: a FIFO planted as config.json must not hang us */
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return err_set(errno, "config.json: open");
    if (fstat(fd, &st) < 0)
        return err_set(errno, "config.json: stat");
    if (!S_ISREG(st.st_mode))
        return err_setx(EINVAL, "config.json: not a regular file");
    /* read_all_fd() refuses a file that fills the whole limit, so allow one byte more */
    int r = read_all_fd(fd, SPEC_MAX_SIZE, &text, &len);
    if (r == -EFBIG)
        return err_setx(EFBIG, "config.json: larger than %u MiB, refusing to parse it",
                        SPEC_MAX_SIZE >> 20);
    if (r < 0)
        return err_set(-r, "config.json: read");
    return spec_parse(text, len, "config.json", out);
}

void spec_free(struct spec *s)
{
    if (!s)
        return;
    arena_free(&s->arena);
    free(s);
}

static int annotation_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct json_kv *)elem)->key);
}

const char *spec_annotation(const struct spec *s, const char *key)
{
    if (!s || !key || s->n_annotations == 0)
        return NULL;
    const struct json_kv *kv =
            bsearch(key, s->annotations, s->n_annotations, sizeof(*kv), annotation_cmp);
    return kv ? kv->value : NULL;
}
